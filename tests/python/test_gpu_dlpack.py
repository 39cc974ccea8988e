"""A torch CUDA tensor predicted in place (no copy to the host) gives exactly what the same
image as a numpy array gives, on a CUDA model (yolo11n, FP16): whole images, an image written
on a side stream, a crop (rows with a pitch); a non-contiguous view is refused. Skips without
torch or a CUDA device (the GPU carry runs it: bench/gpu_run.sh python)."""
import pytest

import kiln

torch = pytest.importorskip("torch", reason="torch is not installed (the GPU image has it)")
if not torch.cuda.is_available():
    pytest.skip("no CUDA device for torch", allow_module_level=True)


@pytest.fixture(scope="module")
def model(assets):
    return kiln.YOLO(assets / "models" / "yolo11n.onnx", device="cuda:0", precision="fp16", strict_gpu=True)


@pytest.fixture(scope="module")
def images(assets):
    paths = sorted((assets / "images").glob("*.jpg"))
    assert paths, f"no .jpg in {assets / 'images'}"
    return [(p.name, kiln._kiln.load_image(str(p))) for p in paths]  # as cv2.imread decodes


def test_cuda_tensor_equals_numpy(model, images):
    for name, image in images:
        want = model.predict(image)[0]
        tensor = torch.from_numpy(image).cuda()
        got = model.predict(tensor)[0]
        assert got.to_json() == want.to_json(), name
        assert got.orig_img is tensor and got.orig_shape == image.shape[:2]
    assert len(want.boxes) > 0
    with pytest.raises(kiln.UnsupportedError, match=r"plot\(img=\.\.\.\)"):
        got.plot()
    assert (got.plot(img=tensor.cpu().numpy()) == want.plot()).all()


def test_tensor_written_on_a_side_stream(model, images):
    """__dlpack__(stream=1) makes torch order the legacy default stream after its own."""
    name, image = images[0]
    want = model.predict(image)[0]
    host = torch.from_numpy(image).pin_memory()
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        torch.cuda._sleep(50_000_000)  # keeps the copy below from being done when predict starts
        tensor = host.to("cuda", non_blocking=True)
        got = model.predict(tensor)[0]
    assert got.to_json() == want.to_json(), name


def test_crop_is_read_with_its_pitch(model, images):
    name, image = images[0]
    crop = image[40:-40, 60:-60]
    got = model.predict(torch.from_numpy(image).cuda()[40:-40, 60:-60])[0]
    assert got.to_json() == model.predict(crop.copy())[0].to_json(), name


def test_non_contiguous_views_are_refused(model, images):
    tensor = torch.from_numpy(images[0][1]).cuda()
    h, w, _ = tensor.shape
    with pytest.raises(kiln.InvalidArgumentError, match=r"^image 0: a CUDA tensor must hold packed BGR rows") as e:
        model.predict(tensor[:, ::2])
    assert f"strides ({w * 3}, 6, 1)" in str(e.value)
    with pytest.raises(kiln.InvalidArgumentError, match=rf"got uint8 \(3, {h}, {w}\)$"):
        model.predict(tensor.permute(2, 0, 1))
