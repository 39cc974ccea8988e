"""kiln.build / kiln.check equal the CLI's, an engine file predicts as its ONNX does, and
YOLO.val's figures equal `kiln val --json`'s."""
import json

import pytest

import kiln
from conftest import run_cli


def test_build_check_and_predict_engine(assets, tmp_path):
    onnx = assets / "models" / "yolo11n.onnx"
    engine = tmp_path / "yolo11n.kiln"
    summary = kiln.build(onnx, engine)
    assert summary["engine"] == str(engine) and summary["built"] and engine.exists()
    assert summary["metadata"]["build"]["device"] == "cpu"
    verdict = kiln.check(engine)
    assert verdict["needs_rebuild"] is False and verdict["engine"] == str(engine)
    image = str(assets / "images" / "bus.jpg")
    from_engine = kiln.YOLO(engine).predict(image)[0]
    from_onnx = kiln.YOLO(onnx).predict(image)[0]
    assert from_engine.to_json() == from_onnx.to_json()
    with pytest.raises(kiln.InvalidArgumentError, match="engine built for imgsz 640x640, not 320"):
        kiln.YOLO(engine).predict(image, imgsz=320)


def test_check_corrupt_engine(tmp_path):
    bad = tmp_path / "bad.kiln"
    bad.write_bytes(b"KILN but not really")
    with pytest.raises(kiln.CorruptError, match="bad.kiln"):
        kiln.check(bad)


def test_val_equals_cli(assets, kiln_bin):
    model, data = assets / "models" / "yolo11n.onnx", assets / "datasets" / "coco8" / "coco8.yaml"
    r = run_cli(kiln_bin, ["val", "--model", model, "--data", data, "--json"])
    assert r.returncode == 0, r.stderr
    want = json.loads(r.stdout)
    metrics = kiln.YOLO(model).val(data=data)
    assert metrics.box.map == want["all"]["map50_95"] and metrics.box.map50 == want["all"]["map50"]
    assert metrics.box.mp == want["all"]["precision"] and metrics.box.mr == want["all"]["recall"]
    assert metrics.box.map > 0.3
    per_class = {c["class"]: c["map50_95"] for c in want["classes"]}
    assert {c["class"]: c["map50_95"] for c in metrics.box.classes} == per_class
    for cls, value in per_class.items():
        assert metrics.box.maps[cls] == value


def test_int8_val_equals_cli(assets, kiln_bin):
    """YOLO(..., precision="int8", calib=...) builds the INT8 engine the CLI's flags build, and
    its val gives `kiln val --precision int8`'s figures."""
    model, data = assets / "models" / "yolo11n-dynamic.onnx", assets / "datasets" / "coco8" / "coco8.yaml"
    r = run_cli(kiln_bin, ["val", "--model", model, "--data", data, "--imgsz", 160, "--precision", "int8", "--calib",
                           data, "--calib-images", 2, "--calib-method", "percentile=99.9", "--json"])
    assert r.returncode == 0, r.stderr
    want = json.loads(r.stdout)
    yolo = kiln.YOLO(model, imgsz=160, precision="int8", calib=data, calib_images=2, calib_method="percentile=99.9")
    info = yolo.info()
    assert info["precision"] == "int8" and info["device"] == "cpu"
    metrics = yolo.val(data=data, imgsz=160)
    assert metrics.results_dict["precision"] == want["precision"] == "int8"
    assert metrics.box.map == want["all"]["map50_95"] and metrics.box.map50 == want["all"]["map50"]
    assert {c["class"]: c["map50_95"] for c in metrics.box.classes} == {c["class"]: c["map50_95"] for c in want["classes"]}
    assert metrics.box.map > 0.2


def test_names_reach_val_as_the_cli_passes_them(assets, kiln_bin):
    """names= is the CLI's --names: two names for an 80-class model fail val the same way."""
    model, data = assets / "models" / "yolo11n-dynamic.onnx", assets / "datasets" / "coco8" / "coco8.yaml"
    r = run_cli(kiln_bin, ["val", "--model", model, "--data", data, "--imgsz", 64, "--names", "a,b"])
    assert r.returncode == 2
    with pytest.raises(kiln.InvalidArgumentError) as e:
        kiln.YOLO(model, imgsz=64, task="detect", names={0: "a", 1: "b"}).val(data=data, imgsz=64)
    assert str(e.value) == r.stderr.strip().split(": error: ", 1)[1]
    assert "predicts 80 classes" not in str(e.value) and "has 80" in str(e.value)
