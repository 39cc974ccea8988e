"""What YOLO.predict accepts, turned into frames (HWC BGR uint8 arrays with a path): files,
folders and globs as `kiln predict --source` expands them (kiln._kiln.list_sources), video
frames, numpy arrays, host DLPack tensors (torch, CuPy on the CPU...) and lists of these.

A device (CUDA) DLPack tensor is refused with UnsupportedError until the C++ API predicts
from device memory; it will then be passed through without a copy to the host.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from . import _kiln

_DLPACK_CPU = 1


@dataclass
class Frame:
    image: np.ndarray  # HWC, BGR, uint8, C-contiguous
    path: str


def as_image(array: Any, index: int) -> np.ndarray:
    """A C-contiguous HWC uint8 3-channel array, or InvalidArgumentError naming the input."""
    if not isinstance(array, np.ndarray):
        device = array.__dlpack_device__()[0]
        if device != _DLPACK_CPU:
            raise _kiln.UnsupportedError(
                f"image {index}: a tensor in device memory (DLPack device type {device}) needs kiln's "
                "device-memory predict, which this version lacks; pass a host array")
        array = np.from_dlpack(array)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise _kiln.InvalidArgumentError(
            f"image {index}: expected an HWC BGR uint8 array with 3 channels, got {array.dtype} {tuple(array.shape)}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise _kiln.InvalidArgumentError(f"image {index}: empty image {tuple(array.shape)}")
    return np.ascontiguousarray(array)


def _video_frames(path: str, vid_stride: int) -> Iterator[Frame]:
    reader = _kiln.VideoReader(path)
    index = 0
    while (frame := reader.read()) is not None:
        if index % vid_stride == 0:
            yield Frame(frame, path)
        index += 1


def _path_frames(source: str, vid_stride: int) -> Iterator[Frame]:
    images, videos = _kiln.list_sources(source)
    for path in images:
        yield Frame(_kiln.load_image(path), path)
    for path in videos:
        yield from _video_frames(path, vid_stride)


def iter_frames(source: Any, vid_stride: int = 1) -> Iterator[Frame]:
    """The frames of `source`, lazily (a video is decoded as it is predicted)."""
    items = source if isinstance(source, (list, tuple)) else [source]
    for index, item in enumerate(items):
        if isinstance(item, (str, os.PathLike)):
            yield from _path_frames(os.fspath(item), vid_stride)
        elif isinstance(item, np.ndarray) or hasattr(item, "__dlpack__"):
            yield Frame(as_image(item, index), f"image{index}.jpg")
        else:
            raise _kiln.InvalidArgumentError(
                f"source {index}: {type(item).__name__} is not a path, numpy array or DLPack tensor")
