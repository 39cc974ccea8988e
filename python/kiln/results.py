"""Results of one image, shaped like Ultralytics' (ultralytics.engine.results) with numpy
arrays: boxes.xyxy / xywh / conf / cls, masks.data / xy, keypoints.xy / conf, obb.xywhr,
probs.top1 / top5, names, orig_shape, speed, plot(), to_json().

Coordinates are in the original image's pixels. Arrays are read from the C++ results the
first time they are asked for.
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any, Optional

import numpy as np

from . import _kiln


class _Data:
    """An [n, ...] array of per-object rows, with the image's (height, width)."""

    def __init__(self, data: np.ndarray, orig_shape: tuple[int, int]) -> None:
        self.data = data
        self.orig_shape = orig_shape

    def __len__(self) -> int:
        return len(self.data)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def __repr__(self) -> str:
        return f"{type(self).__name__}(data={self.data!r}, orig_shape={self.orig_shape})"


class Boxes(_Data):
    """data: float32 [n, 6] = x1, y1, x2, y2, conf, cls."""

    id = None  # no tracking yet

    @property
    def xyxy(self) -> np.ndarray:
        return self.data[:, :4]

    @property
    def conf(self) -> np.ndarray:
        return self.data[:, 4]

    @property
    def cls(self) -> np.ndarray:
        return self.data[:, 5]

    @property
    def xywh(self) -> np.ndarray:
        x1, y1, x2, y2 = self.data[:, 0], self.data[:, 1], self.data[:, 2], self.data[:, 3]
        return np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], axis=1)

    @property
    def xyxyn(self) -> np.ndarray:
        h, w = self.orig_shape
        return self.xyxy / np.array([w, h, w, h], dtype=np.float32)

    @property
    def xywhn(self) -> np.ndarray:
        h, w = self.orig_shape
        return self.xywh / np.array([w, h, w, h], dtype=np.float32)


class Masks(_Data):
    """data: uint8 [n, height, width] at the original image size (1 inside the instance)."""

    def __init__(self, prediction: _kiln.Prediction, orig_shape: tuple[int, int]) -> None:
        super().__init__(prediction.masks, orig_shape)
        self._prediction = prediction

    @cached_property
    def xy(self) -> list[np.ndarray]:
        """One float32 [points, 2] polygon per mask, in pixels (as Ultralytics' Masks.xy)."""
        return self._prediction.mask_polygons()

    @property
    def xyn(self) -> list[np.ndarray]:
        h, w = self.orig_shape
        return [p / np.array([w, h], dtype=np.float32) for p in self.xy]


class Keypoints(_Data):
    """data: float32 [n, k, 3] = x, y, confidence (1 where the model predicts no visibility)."""

    def __init__(self, data: np.ndarray, orig_shape: tuple[int, int], has_visible: bool) -> None:
        super().__init__(data, orig_shape)
        self.has_visible = has_visible

    @property
    def xy(self) -> np.ndarray:
        return self.data[..., :2]

    @property
    def xyn(self) -> np.ndarray:
        h, w = self.orig_shape
        return self.xy / np.array([w, h], dtype=np.float32)

    @property
    def conf(self) -> Optional[np.ndarray]:
        return self.data[..., 2] if self.has_visible else None


class OBB(_Data):
    """data: float32 [n, 7] = cx, cy, w, h, angle (radians), conf, cls."""

    id = None

    @property
    def xywhr(self) -> np.ndarray:
        return self.data[:, :5]

    @property
    def conf(self) -> np.ndarray:
        return self.data[:, 5]

    @property
    def cls(self) -> np.ndarray:
        return self.data[:, 6]

    @property
    def xyxyxyxy(self) -> np.ndarray:
        """Corners [n, 4, 2] in Ultralytics' order (ops.xywhr2xyxyxyxy)."""
        cx, cy, w, h, r = (self.data[:, i] for i in range(5))
        c, s = np.cos(r), np.sin(r)
        v1 = np.stack([w / 2 * c, w / 2 * s], axis=1)
        v2 = np.stack([-h / 2 * s, h / 2 * c], axis=1)
        ctr = np.stack([cx, cy], axis=1)
        return np.stack([ctr + v1 + v2, ctr + v1 - v2, ctr - v1 - v2, ctr - v1 + v2], axis=1)

    @property
    def xyxy(self) -> np.ndarray:
        corners = self.xyxyxyxy
        return np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)


class Probs:
    """Classification: the five best classes (kiln keeps only the top 5)."""

    def __init__(self, top5: list[tuple[int, float]]) -> None:
        self._top5 = top5

    @property
    def top1(self) -> int:
        return self._top5[0][0]

    @property
    def top5(self) -> list[int]:
        return [c for c, _ in self._top5]

    @property
    def top1conf(self) -> float:
        return self._top5[0][1]

    @property
    def top5conf(self) -> np.ndarray:
        return np.array([s for _, s in self._top5], dtype=np.float32)

    def __repr__(self) -> str:
        return f"Probs(top5={self._top5!r})"


class Results:
    """One image's (or video frame's) predictions."""

    def __init__(self, prediction: _kiln.Prediction, orig_img: Any, path: str, names: dict[int, str],
                 task: str, kpt_shape: list[int], orig_shape: tuple[int, int]) -> None:
        self._prediction = prediction
        self.orig_img = orig_img  # the numpy image, or the CUDA tensor predicted in place
        self.orig_shape = (int(orig_shape[0]), int(orig_shape[1]))
        self.path = path
        self.names = names
        self.task = task
        self._kpt_shape = kpt_shape
        pre, inf, post = prediction.speed
        self.speed = {"preprocess": pre, "inference": inf, "postprocess": post}

    @cached_property
    def boxes(self) -> Optional[Boxes]:
        if self.task not in ("detect", "segment", "pose"):
            return None
        return Boxes(self._prediction.boxes, self.orig_shape)

    @cached_property
    def masks(self) -> Optional[Masks]:
        if self.task != "segment" or not len(self.boxes):
            return None
        return Masks(self._prediction, self.orig_shape)

    @cached_property
    def keypoints(self) -> Optional[Keypoints]:
        if self.task != "pose":
            return None
        has_visible = len(self._kpt_shape) == 2 and self._kpt_shape[1] == 3
        return Keypoints(self._prediction.keypoints, self.orig_shape, has_visible)

    @cached_property
    def obb(self) -> Optional[OBB]:
        return OBB(self._prediction.obb, self.orig_shape) if self.task == "obb" else None

    @cached_property
    def probs(self) -> Optional[Probs]:
        return Probs(self._prediction.top5) if self.task == "classify" else None

    def __len__(self) -> int:
        for r in (self.boxes, self.obb):
            if r is not None:
                return len(r)
        return 0 if self.probs is None else 1

    def _name_list(self) -> list[str]:
        return [self.names[i] for i in range(len(self.names))]

    def plot(self, img: Optional[np.ndarray] = None) -> np.ndarray:
        """A copy of the image (HWC BGR uint8; `img` instead where given, as Ultralytics' img=)
        with the results drawn as Ultralytics draws them."""
        img = self.orig_img if img is None else img
        if not isinstance(img, np.ndarray):
            raise _kiln.UnsupportedError(
                f"{self.path}: plot() draws on host pixels and this image is a CUDA tensor; "
                "pass a host copy as plot(img=...), e.g. tensor.cpu().numpy()")
        return self._prediction.plot(np.ascontiguousarray(img), self._name_list())

    def to_json(self) -> str:
        """The object `kiln predict --json` writes for this image (without its "image" key)."""
        return self._prediction.to_json(self._name_list())

    def to_dict(self) -> dict[str, Any]:
        return json.loads(self.to_json())

    def verbose(self) -> str:
        """Ultralytics' log line: "4 persons, 1 bus, " (classify: its top 5)."""
        if self.probs is not None:
            return "".join(f"{self.names[c]} {s:.2f}, " for c, s in self._prediction.top5)
        rows = self.boxes if self.boxes is not None else self.obb
        if not len(rows):
            return "(no detections), "
        classes, counts = np.unique(rows.cls.astype(int), return_counts=True)
        return "".join(f"{n} {self.names[c]}{'s' if n > 1 else ''}, " for c, n in zip(classes, counts))

    def __repr__(self) -> str:
        return f"Results(path={self.path!r}, orig_shape={self.orig_shape}, task={self.task!r}, {self.verbose()})"
