"""The same image as a path, a numpy array (cv2.imread), a host DLPack tensor, or in a list,
gives the same results; stream=True yields them one at a time; video frames come through
VideoReader as the CLI decodes them."""
import cv2
import numpy as np
import pytest

import kiln
from conftest import cli_json


def same(a, b):
    assert a.to_json() == b.to_json()


class HostTensor:
    """A minimal DLPack producer in host memory (what a CPU torch tensor offers)."""

    def __init__(self, array):
        self._array = array

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


@pytest.fixture(scope="module")
def model(assets):
    """The dynamic-size export at 320: each image letterboxed to its own size, cheap on a CPU."""
    return kiln.YOLO(assets / "models" / "yolo11n-dynamic.onnx", imgsz=320)


def test_numpy_dlpack_and_path_agree(model, assets):
    path = str(assets / "images" / "bus.jpg")
    from_path = model.predict(path)[0]
    image = cv2.imread(path)
    assert np.array_equal(from_path.orig_img, image)
    same(model.predict(image)[0], from_path)
    same(model.predict(HostTensor(image))[0], from_path)
    # A non-contiguous view (every column reversed twice) is copied, not misread.
    same(model.predict(image[:, ::-1][:, ::-1])[0], from_path)
    # plot(img=...) draws on the image given, as Ultralytics' does: boxes on a black image.
    on_black = from_path.plot(img=np.zeros_like(image)[:, ::-1])
    assert on_black.shape == image.shape and 0 < on_black.any(axis=2).mean() < 0.5
    assert len(from_path.boxes) >= 4


def test_list_and_stream(model, assets):
    paths = [str(assets / "images" / n) for n in ("bus.jpg", "zidane.jpg")]
    one_by_one = [model.predict(p)[0] for p in paths]
    listed = model.predict([paths[0], cv2.imread(paths[1])])
    streamed = model.predict(paths, stream=True)
    assert not isinstance(streamed, list)
    for a, b, c in zip(one_by_one, listed, streamed):
        same(a, b)
        same(a, c)
    assert listed[1].path == "image1.jpg" and listed[0].path == paths[0]


def test_batched_equals_one_at_a_time(assets):
    """Three images through a batch-2 engine (a full batch, then a partial one) give each
    image what it gets alone."""
    paths = [str(assets / "images" / n) for n in ("bus.jpg", "zidane.jpg", "dog.jpg")]
    two = kiln.YOLO(assets / "models" / "yolo11n-dynamic.onnx", batch=2, imgsz=320)
    assert two.info()["batch"] == 2
    for path, r in zip(paths, two.predict(paths)):
        same(r, two.predict(path)[0])


def test_video_stream_equals_cli(model, assets, kiln_bin, tmp_path):
    video = assets / "video" / "person_walking_office_720p_6s.mp4"
    want = cli_json(kiln_bin, ["predict", "--model", assets / "models" / "yolo11n-dynamic.onnx", "--imgsz", 320,
                               "--source", video, "--max-frames", 3], tmp_path)[0]["frames"]
    frames = model.predict(str(video), stream=True)
    got = [next(frames) for _ in range(3)]
    assert all(r.orig_shape == (720, 1280) and r.path == str(video) for r in got)
    for r, w in zip(got, want):
        assert r.to_dict()["detections"] == w["detections"]


def test_imgsz_reloads_the_model(model, assets):
    r = model.predict(str(assets / "images" / "bus.jpg"), imgsz=256)[0]
    assert model.info()["imgsz"] == (256, 256)
    assert max(r._prediction.input_shape) == 256
    model.predict(str(assets / "images" / "bus.jpg"), imgsz=320)  # back, for the tests after
