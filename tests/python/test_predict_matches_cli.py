"""YOLO.predict equals `kiln predict --json` on the assets' images for all five tasks (CPU
backend): the same detections in the same order, every number equal as float32, and
Results.to_json() the CLI's object for the image."""
import json

import numpy as np
import pytest

import kiln
from conftest import cli_json

# model, source (relative to the assets), extra predict arguments (the random-weight obb
# model scores every anchor around 8e-4, hence its low threshold).
CASES = [
    ("yolo11n.onnx", "images/[bz]*.jpg", {}),
    ("yolov8n-seg.onnx", "images/bus.jpg", {}),
    ("yolo11n-pose.onnx", "images/zidane.jpg", {}),
    ("yolo11n-obb-random.onnx", "datasets/dota8/images/train/P0861__1024__0___1648.jpg", {"conf": 0.0005}),
    ("yolo11n-cls-random.onnx", "images/dog.jpg", {}),
]


def cli_args(model, source, extra):
    args = ["predict", "--model", model, "--source", source]
    for k, v in extra.items():
        args += [f"--{k}", v]
    return args


@pytest.mark.parametrize("model_name,source,extra", CASES, ids=[c[0] for c in CASES])
def test_predict_equals_cli(assets, kiln_bin, tmp_path, model_name, source, extra):
    model_path, source_path = assets / "models" / model_name, assets / source
    if not list(assets.glob(source)):
        pytest.skip(f"{source_path} not in the assets")
    want = cli_json(kiln_bin, cli_args(model_path, source_path, extra), tmp_path)
    model = kiln.YOLO(model_path)
    results = model.predict(str(source_path), **extra)
    assert [r.path.split("/")[-1] for r in results] == [w["image"] for w in want]
    for r, w in zip(results, want):
        w.pop("image")
        assert json.loads(r.to_json()) == w
        dets = w["detections"]
        if model.task == "classify":
            assert r.probs.top5 == [t["class_id"] for t in w["top5"]]
            assert r.probs.top1conf == np.float32(w["top5"][0]["confidence"])
            continue
        if model.task == "obb":
            assert len(dets) > 0
            np.testing.assert_array_equal(r.obb.xywhr, np.array([d["box_xywhr"] for d in dets], np.float32).reshape(-1, 5))
            np.testing.assert_array_equal(r.obb.cls, [d["class_id"] for d in dets])
            continue
        assert len(dets) > 0
        np.testing.assert_array_equal(r.boxes.xyxy, np.array([d["box_xyxy"] for d in dets], np.float32))
        np.testing.assert_array_equal(r.boxes.conf, np.array([d["confidence"] for d in dets], np.float32))
        np.testing.assert_array_equal(r.boxes.cls, [d["class_id"] for d in dets])
        assert [r.names[int(c)] for c in r.boxes.cls] == [d["class_name"] for d in dets]
        if model.task == "segment":
            assert r.masks.data.shape == (len(dets),) + r.orig_shape
            assert r.masks.data.sum(axis=(1, 2)).tolist() == [d["mask_area"] for d in dets]
            assert len(r.masks.xy) == len(dets) and all(p.shape[1] == 2 and len(p) > 2 for p in r.masks.xy)
        if model.task == "pose":
            kpts = np.array([d["keypoints_xyc"] for d in dets], np.float32)
            np.testing.assert_array_equal(r.keypoints.xy, kpts[..., :2])
            np.testing.assert_array_equal(r.keypoints.conf, kpts[..., 2])


def test_results_views(assets):
    """xywh and the normalized forms follow from xyxy; plot() draws on a copy."""
    r = kiln.YOLO(assets / "models" / "yolo11n.onnx").predict(str(assets / "images" / "bus.jpg"))[0]
    b = r.boxes
    np.testing.assert_allclose(b.xywh[:, :2], (b.xyxy[:, :2] + b.xyxy[:, 2:]) / 2)
    np.testing.assert_allclose(b.xywh[:, 2:], b.xyxy[:, 2:] - b.xyxy[:, :2])
    h, w = r.orig_shape
    assert (h, w) == (1080, 810)
    np.testing.assert_allclose(b.xyxyn * [w, h, w, h], b.xyxy, rtol=1e-6)
    plotted = r.plot()
    assert plotted.shape == r.orig_img.shape and plotted.dtype == np.uint8
    assert (plotted != r.orig_img).any()
    assert set(r.speed) == {"preprocess", "inference", "postprocess"} and r.speed["inference"] > 0
    assert r.verbose() == "4 persons, 1 bus, "
