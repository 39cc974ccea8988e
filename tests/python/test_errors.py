"""Bad inputs raise the kiln.Error subclass for the failure, with the one-line message the
CLI prints after "kiln predict: error: "."""
import numpy as np
import pytest

import kiln
from conftest import run_cli


MODEL = "yolo11n-dynamic.onnx"


@pytest.fixture(scope="module")
def model(assets):
    return kiln.YOLO(assets / "models" / MODEL, imgsz=64)


def cli_error(kiln_bin, args):
    r = run_cli(kiln_bin, args)
    assert r.returncode == 2
    return r.stderr.strip().split(": error: ", 1)[1]


def test_missing_model(tmp_path):
    with pytest.raises(kiln.NotFoundError) as e:
        kiln.YOLO(tmp_path / "nope.onnx")
    assert isinstance(e.value, FileNotFoundError) and isinstance(e.value, kiln.Error)
    assert "nope.onnx" in str(e.value) and "\n" not in str(e.value)


def test_not_a_model(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf at all")
    with pytest.raises(kiln.Error) as e:
        kiln.YOLO(bad)
    assert "bad.onnx" in str(e.value)


def test_missing_and_corrupt_images_say_what_the_cli_says(model, assets, kiln_bin, tmp_path):
    missing = tmp_path / "missing.jpg"
    with pytest.raises(kiln.NotFoundError) as e:
        model.predict(str(missing))
    assert str(e.value) == cli_error(kiln_bin, ["predict", "--model", assets / "models" / MODEL, "--imgsz", 64,
                                                "--source", missing])
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(kiln.CorruptError) as e:
        model.predict(str(corrupt))
    assert str(e.value) == cli_error(kiln_bin, ["predict", "--model", assets / "models" / MODEL, "--imgsz", 64,
                                                "--source", corrupt])


@pytest.mark.parametrize("array,what", [
    (np.zeros((64, 64, 3), np.float32), "float32 (64, 64, 3)"),
    (np.zeros((64, 64), np.uint8), "uint8 (64, 64)"),
    (np.zeros((64, 64, 4), np.uint8), "uint8 (64, 64, 4)"),
    (np.zeros((0, 64, 3), np.uint8), "empty image (0, 64, 3)"),
])
def test_bad_arrays(model, array, what):
    with pytest.raises(kiln.InvalidArgumentError, match="image 0: ") as e:
        model.predict(array)
    assert what in str(e.value) and isinstance(e.value, ValueError)


def test_bad_options(model):
    image = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(kiln.InvalidArgumentError, match=r"conf must be in \[0, 1\], got 2"):
        model.predict(image, conf=2)
    with pytest.raises(kiln.InvalidArgumentError, match="max_det must be at least 1"):
        model.predict(image, max_det=0)
    with pytest.raises(kiln.InvalidArgumentError, match="not a path, numpy array or DLPack tensor"):
        model.predict(42)


def test_bad_precision_on_cpu(assets):
    with pytest.raises(kiln.InvalidArgumentError, match="fp16"):
        kiln.YOLO(assets / "models" / "yolo11n.onnx", device="cpu", precision="fp16")


@pytest.mark.parametrize("kwargs, flags", [
    ({"calib": "x"}, ["--calib", "x"]),
    ({"precision": "int8", "calib": "x", "calib_method": "kl"}, ["--precision", "int8", "--calib", "x", "--calib-method", "kl"]),
    ({"precision": "int8", "calib": "x", "calib_images": 0}, ["--precision", "int8", "--calib", "x", "--calib-images", "0"]),
    ({"precision": "int8", "calib": "x", "int8_target_drop": 2.0},
     ["--precision", "int8", "--calib", "x", "--int8-target-drop", "2"]),
])
def test_int8_options_refused_as_the_cli_refuses_them(assets, kiln_bin, kwargs, flags):
    model = assets / "models" / MODEL
    with pytest.raises(kiln.InvalidArgumentError) as e:
        kiln.YOLO(model, imgsz=64, **kwargs)
    assert str(e.value) == cli_error(kiln_bin, ["predict", "--model", model, "--source", assets / "images" / "bus.jpg",
                                                "--imgsz", 64] + flags)
