"""kiln: fast, portable engines for Ultralytics YOLO models, from Python.

    import kiln
    model = kiln.YOLO("yolo11n.onnx")            # device="cuda:0", precision="fp16", batch=8
    results = model.predict("bus.jpg", conf=0.25)
    print(results[0].boxes.xyxy, results[0].boxes.cls)

Errors raise kiln.Error subclasses whose message is the one line `kiln` prints.
"""

from ._kiln import (
    CancelledError,
    CorruptError,
    Error,
    IncompatibleError,
    InternalError,
    InvalidArgumentError,
    IoError,
    NotFoundError,
    UnsupportedError,
    __version__,
)
from .engine import build, check
from .model import YOLO
from .results import OBB, Boxes, Keypoints, Masks, Probs, Results

__all__ = [
    "YOLO", "Results", "Boxes", "Masks", "Keypoints", "OBB", "Probs", "build", "check",
    "Error", "InvalidArgumentError", "NotFoundError", "UnsupportedError", "CorruptError",
    "IoError", "IncompatibleError", "InternalError", "CancelledError", "__version__",
]
