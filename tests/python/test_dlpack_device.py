"""CUDA DLPack tensors without a GPU: a producer that describes CUDA memory (its pixels are
never read) shows what the binding asks of it (the stream), which layouts it takes and the
one-line errors for the rest. tests/python/test_gpu_dlpack.py predicts real torch tensors."""
import ctypes

import numpy as np
import pytest

import kiln

KDL_CUDA = 2


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int32), ("dtype", DLDataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p)]


_capsule_new = ctypes.pythonapi.PyCapsule_New
_capsule_new.restype = ctypes.py_object
_capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]

DTYPES = {"uint8": (1, 8), "float32": (2, 32), "float16": (2, 16)}

# The capsules' memory, for the whole session: the consumer may release a capsule (writing
# to it, with no deleter to call) after the producer object is gone.
_KEEP = []


class FakeCudaTensor:
    """A DLPack producer of a tensor "on" cuda:`device` at an address nothing may read."""

    def __init__(self, shape, dtype="uint8", strides=None, device=0):
        self.shape = tuple(shape)
        self.kwargs = None
        n = len(shape)
        self._shape = (ctypes.c_int64 * n)(*shape)
        self._strides = (ctypes.c_int64 * n)(*strides) if strides else None
        code, bits = DTYPES[dtype]
        tensor = DLTensor(ctypes.c_void_p(0x10000), DLDevice(KDL_CUDA, device), n, DLDataType(code, bits, 1),
                          self._shape, self._strides, 0)
        self._managed = DLManagedTensor(tensor, None, None)
        _KEEP.append((self._shape, self._strides, self._managed))
        self._device = device

    def __dlpack__(self, **kwargs):
        self.kwargs = kwargs
        return _capsule_new(ctypes.addressof(self._managed), b"dltensor", None)

    def __dlpack_device__(self):
        return (KDL_CUDA, self._device)


@pytest.fixture(scope="module")
def model(assets):
    return kiln.YOLO(assets / "models" / "yolo11n-dynamic.onnx", device="cpu", imgsz=64)


def test_asks_for_the_legacy_default_stream_and_a_cpu_model_refuses(model):
    tensor = FakeCudaTensor((64, 48, 3))
    with pytest.raises(kiln.InvalidArgumentError) as e:
        model.predict(tensor)
    assert tensor.kwargs == {"stream": 1}  # DLPack's name for CUDA's legacy default stream
    assert str(e.value) == "image 0: a CUDA tensor (cuda:0) needs a model on a GPU; this one runs on cpu"


def test_packed_and_padded_rows_are_taken_as_they_are():
    image = kiln._kiln.DeviceImage(FakeCudaTensor((64, 48, 3)), 0)
    assert image.shape == (64, 48, 3) and image.pitch == 48 * 3 and image.device == 0
    crop = kiln._kiln.DeviceImage(FakeCudaTensor((20, 10, 3), strides=(640 * 3, 3, 1), device=1), 0)
    assert crop.shape == (20, 10, 3) and crop.pitch == 640 * 3 and crop.device == 1


@pytest.mark.parametrize("shape,dtype,what", [
    ((64, 64, 3), "float32", "expected an HWC BGR uint8 tensor with 3 channels, got float32 (64, 64, 3)"),
    ((3, 64, 64), "uint8", "expected an HWC BGR uint8 tensor with 3 channels, got uint8 (3, 64, 64)"),
    ((1, 3, 64, 64), "float16", "expected an HWC BGR uint8 tensor with 3 channels, got float16 (1, 3, 64, 64)"),
    ((2, 64, 64, 3), "uint8", "expected an HWC BGR uint8 tensor with 3 channels, got uint8 (2, 64, 64, 3)"),
    ((0, 64, 3), "uint8", "empty image (0, 64, 3)"),
])
def test_other_layouts_are_refused(model, shape, dtype, what):
    with pytest.raises(kiln.InvalidArgumentError) as e:
        model.predict(FakeCudaTensor(shape, dtype))
    assert str(e.value) == f"image 0: {what}"


@pytest.mark.parametrize("strides", [
    (3, 64 * 3, 1),      # transposed (W and H swapped)
    (64 * 3, -3, 1),     # columns reversed
    (64 * 3, 6, 1),      # every other column
    (64, 1, 64 * 64),    # planar channels
])
def test_unpacked_pixels_are_refused_naming_shape_and_strides(model, strides):
    with pytest.raises(kiln.InvalidArgumentError) as e:
        model.predict([np.zeros((64, 64, 3), np.uint8), FakeCudaTensor((64, 64, 3), strides=strides)])
    s = ", ".join(map(str, strides))
    assert str(e.value) == ("image 1: a CUDA tensor must hold packed BGR rows, strides (>= 3 * width, 3, 1); "
                            f"got shape (64, 64, 3) strides ({s}) (pass tensor.contiguous())")


def test_other_dlpack_devices_are_refused(model):
    class ManagedTensor:
        def __dlpack__(self, **kwargs):
            raise AssertionError("must not be read")

        def __dlpack_device__(self):
            return (13, 0)  # kDLCUDAManaged

    with pytest.raises(kiln.UnsupportedError, match=r"^image 0: a tensor on DLPack device type 13; "):
        model.predict(ManagedTensor())
