"""kiln val on coco128 with yolo11n.onnx (CPU backend) within 0.002 mAP50-95 and 0.003 mAP50
of Ultralytics' val of the same model and input shapes (tests/tools/val_coco128_check.py)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from val_coco128_check import check  # noqa: E402

sys.exit(check("yolo11n"))
