"""What YOLO.predict accepts, turned into frames (HWC BGR uint8 images with a path): files,
folders and globs as `kiln predict --source` expands them (kiln._kiln.list_sources), video
frames, numpy arrays, DLPack tensors (torch, CuPy) and lists of these.

A host tensor is read as a numpy array; a CUDA tensor becomes a kiln._kiln.DeviceImage, which
the model predicts where its pixels are, without a copy to the host (on CUDA's legacy default
stream: the binding asks the producer, through `__dlpack__(stream=1)`, to order that stream
after the work that wrote them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterator, Union

import numpy as np

from . import _kiln

_DLPACK_CPU = 1
_DLPACK_CUDA = 2

Image = Union[np.ndarray, _kiln.DeviceImage]


@dataclass
class Frame:
    image: Image  # HWC, BGR, uint8: a C-contiguous array, or a CUDA tensor's DeviceImage
    path: str
    tensor: Any = None  # the CUDA tensor a DeviceImage reads (Results.orig_img)

    @property
    def orig_img(self) -> Any:
        return self.image if self.tensor is None else self.tensor


def as_image(array: Any, index: int) -> Image:
    """A C-contiguous HWC uint8 3-channel array or a CUDA tensor's DeviceImage, or
    InvalidArgumentError naming the input."""
    if not isinstance(array, np.ndarray):
        device = array.__dlpack_device__()[0]
        if device == _DLPACK_CUDA:
            return _kiln.DeviceImage(array, index)
        if device != _DLPACK_CPU:
            raise _kiln.UnsupportedError(
                f"image {index}: a tensor on DLPack device type {device}; kiln reads host (1) and CUDA (2) tensors")
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
            image = as_image(item, index)
            yield Frame(image, f"image{index}.jpg", item if isinstance(image, _kiln.DeviceImage) else None)
        else:
            raise _kiln.InvalidArgumentError(
                f"source {index}: {type(item).__name__} is not a path, numpy array or DLPack tensor")
