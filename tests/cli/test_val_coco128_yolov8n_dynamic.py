"""kiln val on coco128 with yolov8n made dynamic (tests/tools/make_dynamic_detect.py; the
assets hold only its static export), CPU backend, batch 32, rectangular batches: within 0.002
mAP50-95 and 0.003 mAP50 of Ultralytics' val of yolov8n.pt with the same batches
(tests/tools/val_coco128_check.py)."""
import os
import subprocess
import sys
import tempfile

tools = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools")
sys.path.insert(0, tools)
from val_coco128_check import check  # noqa: E402

with tempfile.TemporaryDirectory() as tmp:
    model = os.path.join(tmp, "yolov8n-dynamic.onnx")
    subprocess.run([sys.executable, os.path.join(tools, "make_dynamic_detect.py"),
                    os.path.join(os.environ["KILN_ASSETS_DIR"], "models", "yolov8n.onnx"), model], check=True)
    sys.exit(check("yolov8n-dynamic", ["--batch", "32"], model=model))
