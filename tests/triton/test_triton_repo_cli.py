"""kiln triton-repo: the repository it writes (config.pbtxt per task, the model copied, a
fixed-batch export's own batch as the engine batch) and its one-line errors (exit 2, nothing
written). Needs no Triton."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from kiln_cli import ASSETS, Checks, run_kiln  # noqa: E402

checks = Checks()
check = checks.check


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-triton-repo-")
    out = os.path.join(tmp, "repo")
    model = os.path.join(ASSETS, "models", "yolov8n-seg.onnx")
    r = run_kiln(["triton-repo", "--model", model, "--out", out, "--device", "cuda:0,2", "--instances", "2",
                  "--conf", "0.3", "--precision", "fp16"])
    checks.expect(r.returncode == 0, "segment repository written", r)
    config = open(os.path.join(out, "yolov8n-seg", "config.pbtxt")).read() if r.returncode == 0 else ""
    for want in ['name: "yolov8n-seg"', 'backend: "kiln"', 'default_model_filename: "model.onnx"', 'name: "MASKS"',
                 "kind: KIND_GPU", "gpus: [ 0, 2 ]", "count: 2", 'string_value: "0.3"', 'string_value: "fp16"',
                 'key: "batch"\n  value: { string_value: "1:1:1" }']:  # the export's fixed batch of 1
        check(f"config.pbtxt has {want!r}", want in config)
    copied = os.path.join(out, "yolov8n-seg", "1", "model.onnx")
    check("model copied", os.path.exists(copied) and os.path.getsize(copied) == os.path.getsize(model))

    dyn = os.path.join(ASSETS, "models", "yolo11n-dynamic.onnx")
    r = run_kiln(["triton-repo", "--model", dyn, "--name", "d", "--out", out, "--device", "cpu"])
    config = open(os.path.join(out, "d", "config.pbtxt")).read() if r.returncode == 0 else ""
    check("dynamic export: engine batch left to max_batch_size", r.returncode == 0 and 'key: "batch"' not in config
          and "kind: KIND_CPU" in config and 'name: "KEYPOINTS"' not in config)

    checks.expect_error("existing model folder refused", ["triton-repo", "--model", model, "--out", out],
                        ["yolov8n-seg", "already exists"])
    checks.expect_error("missing model", ["triton-repo", "--model", os.path.join(tmp, "nope.onnx"), "--out", out],
                        ["nope.onnx", "no such file"], os.path.join(out, "nope"))
    checks.expect_error("bad device", ["triton-repo", "--model", model, "--name", "x", "--out", out, "--device",
                                       "cuda:a"], ["--device", "not a GPU index"], os.path.join(out, "x"))
    checks.expect_error("model without a task", ["triton-repo", "--model", os.path.join(
        ASSETS, "models", "reid", "osnet_x0_25_msmt17.onnx"), "--out", out], ["no YOLO task"],
        os.path.join(out, "osnet_x0_25_msmt17"))
    check("no staging folders left", sorted(os.listdir(out)) == ["d", "yolov8n-seg"], str(os.listdir(out)))
    checks.finish("kiln triton-repo writes repositories and refuses bad input")


if __name__ == "__main__":
    main()
