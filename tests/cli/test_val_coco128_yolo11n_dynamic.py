"""kiln val on coco128 with yolo11n-dynamic.onnx (CPU backend, batch 32, rectangular batches)
within 0.002 mAP50-95 and 0.003 mAP50 of Ultralytics' val of yolo11n.pt with the same batches
(tests/tools/val_coco128_check.py)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from val_coco128_check import check  # noqa: E402

sys.exit(check("yolo11n-dynamic", ["--batch", "32"]))
