"""kiln.YOLO: Ultralytics' YOLO(...).predict / val, run by kiln's C++ API."""

from __future__ import annotations

import json
import os
from typing import Any, Iterable, Iterator, Optional, Union

import numpy as np

from . import _kiln
from .metrics import ValMetrics
from .results import Results
from .sources import Frame, iter_frames

PathLike = Union[str, "os.PathLike[str]"]


def _device_text(device: Union[str, int, None]) -> str:
    """Ultralytics spells a GPU as 0 or "0" too; kiln as "cuda:0"."""
    if device is None:
        return ""
    text = str(device)
    return f"cuda:{text}" if text.isdigit() else text


def _on_device(frame: Frame) -> bool:
    return isinstance(frame.image, _kiln.DeviceImage)


class YOLO:
    """A YOLO model (an Ultralytics ONNX export or a .kiln engine) run by kiln.

        model = kiln.YOLO("yolo11n.onnx", device="cuda:0", precision="fp16", batch=8)
        for r in model.predict("video.mp4", stream=True):
            print(r.boxes.xyxy)

    An .onnx file is built into an engine through the engine cache on first use (the next
    load reuses it). Without a usable GPU the model runs on the CPU unless strict_gpu.
    precision: fp32, fp16, tf32 or int8; batch: N or a profile "MIN:OPT:MAX"; task and names
    (a list, or a dict by class id) supply what a model's metadata lacks, as the CLI's --task
    and --names. precision="int8" (CPU backend) takes the CLI's int8 options: calib (a folder,
    glob or dataset YAML of calibration images), calib_images (the first N, default 512),
    calib_method (minmax, entropy, percentile[=P], mse), int8_exclude (node name patterns kept
    float) and int8_target_drop (the mAP50-95 a sensitivity analysis must hold).

        model = kiln.YOLO("yolo11n.onnx", precision="int8", calib="coco128.yaml", calib_images=128)
    """

    def __init__(self, model: PathLike, *, device: Union[str, int, None] = None, precision: Optional[str] = None,
                 batch: Union[int, str] = 1, imgsz: Optional[int] = None, cache_dir: Optional[PathLike] = None,
                 strict_gpu: bool = False, task: Optional[str] = None,
                 names: Union[list[str], dict[int, str], None] = None, calib: Optional[PathLike] = None,
                 calib_images: Optional[int] = None, calib_method: Optional[str] = None,
                 int8_exclude: Iterable[str] = (), int8_target_drop: Optional[float] = None) -> None:
        self.model_path = os.fspath(model)
        if isinstance(names, dict):
            names = [names[i] for i in sorted(names)]
        self._options: dict[str, Any] = {
            "device": _device_text(device), "precision": precision or "", "batch": str(batch),
            "cache_dir": os.fspath(cache_dir) if cache_dir else "", "strict_gpu": strict_gpu,
            "task": task or "", "names": list(names or []), "calib": os.fspath(calib) if calib else "",
            "calib_images": calib_images, "calib_method": calib_method or "", "int8_exclude": list(int8_exclude),
            "int8_target_drop": int8_target_drop,
        }
        self._load(imgsz)

    def _load(self, imgsz: Optional[int]) -> None:
        self._model = _kiln.Model(self.model_path, imgsz=imgsz or 0, **self._options)
        self._info = self._model.info()
        self._imgsz = imgsz
        self.names: dict[int, str] = dict(enumerate(self._info["names"]))
        self.task: str = self._info["task"]

    def _ensure_imgsz(self, imgsz: Optional[int]) -> None:
        """predict(imgsz=N) on an .onnx model reloads it at that size (an engine-cache hit
        after the first time); an engine file is fixed at the size it was built for."""
        if imgsz is None or imgsz == self._imgsz or self._info["imgsz"] == (imgsz, imgsz):
            return
        if self.model_path.endswith(".kiln"):
            h, w = self._info["imgsz"]
            raise _kiln.InvalidArgumentError(
                f"{self.model_path}: engine built for imgsz {h}x{w}, not {imgsz}; build one with kiln.build(..., imgsz={imgsz})")
        self._load(imgsz)

    def info(self, verbose: bool = False) -> dict[str, Any]:
        """task, names, stride, imgsz, dynamic_input, kpt_shape, batch, device, precision,
        engine_path, engine_built, note, inputs, outputs."""
        if verbose:
            i = self._info
            print(f"{self.model_path}: {i['task'] or 'no task'}, {len(i['names'])} classes, imgsz {i['imgsz']}, "
                  f"batch {i['batch']}, {i['device']} {i['precision']}")
        return dict(self._info)

    @property
    def device(self) -> str:
        return self._info["device"]

    def predict(self, source: Any, *, conf: float = 0.25, iou: float = 0.7, classes: Optional[Iterable[int]] = None,
                max_det: int = 300, imgsz: Optional[int] = None, agnostic_nms: bool = False, stream: bool = False,
                vid_stride: int = 1) -> Union[list[Results], Iterator[Results]]:
        """Predicts `source`: an image, video, folder or glob path; an HWC BGR uint8 numpy array
        (as cv2 gives); a tensor with __dlpack__ in the same layout, on the host or (read in
        place, no copy) on the model's GPU; or a list of them. stream=True yields Results one
        image or frame at a time (use it for videos)."""
        if vid_stride < 1:
            raise _kiln.InvalidArgumentError(f"vid_stride must be at least 1, got {vid_stride}")
        self._ensure_imgsz(imgsz)
        options = (float(conf), float(iou), int(max_det), [int(c) for c in classes or ()], bool(agnostic_nms))
        results = self._stream(iter_frames(source, vid_stride), options)
        return results if stream else list(results)

    __call__ = predict

    def _stream(self, frames: Iterator[Frame], options: tuple) -> Iterator[Results]:
        batch = 1 if self._info["dynamic_input"] else max(1, self._info["batch"])
        pending: list[Frame] = []
        for frame in frames:
            if pending and _on_device(frame) != _on_device(pending[0]):  # one call takes one kind
                yield from self._predict_frames(pending, options)
                pending = []
            pending.append(frame)
            if len(pending) == batch:
                yield from self._predict_frames(pending, options)
                pending = []
        if pending:
            yield from self._predict_frames(pending, options)

    def _predict_frames(self, frames: list[Frame], options: tuple) -> list[Results]:
        predict = self._model.predict_device if _on_device(frames[0]) else self._model.predict
        predictions = predict([f.image for f in frames], *options)
        kpt_shape = self._info["kpt_shape"]
        return [Results(p, f.orig_img, f.path, self.names, self.task, kpt_shape, f.image.shape[:2])
                for p, f in zip(predictions, frames)]

    def val(self, data: PathLike, *, split: str = "val", imgsz: Optional[int] = None, batch: int = 32,
            conf: Optional[float] = None, iou: float = 0.7, max_det: int = 300) -> ValMetrics:
        """Ultralytics' val figures on a dataset yaml (classify: a class-folder dataset), as
        `kiln val` computes them, with this model loaded as it was (device, precision, task,
        names, int8 options). imgsz: the size for a dynamic-size model (default 640); conf:
        default 0.001 (obb 0.01)."""
        figures = _kiln.val(self._model, os.fspath(data), split, imgsz or 640, imgsz is not None, batch,
                            0.001 if conf is None else conf, conf is not None, iou, max_det)
        return ValMetrics(json.loads(figures))

    def __repr__(self) -> str:
        return f"YOLO({self.model_path!r}, task={self.task!r}, device={self.device!r})"
