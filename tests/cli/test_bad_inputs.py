"""Bad input never crashes kiln: one line on stderr naming the file and the problem,
exit code 2, nothing half-written. Covers the foundation's acceptance list."""
import os
import shutil
import subprocess
import sys
import tempfile

import onnx
from onnx import helper, TensorProto

KILN = os.environ["KILN_BIN"]
ASSETS = os.environ["KILN_ASSETS_DIR"]
MODEL = os.path.join(ASSETS, "models", "yolo11n.onnx")
IMAGES = os.path.join(ASSETS, "images")
failures = []


def run(args):
    return subprocess.run([KILN] + args, capture_output=True, text=True, timeout=300)


def expect_error(label, args, must_mention, out_json=None):
    r = run(args)
    err_lines = [l for l in r.stderr.splitlines() if l.strip()]
    problems = []
    if r.returncode != 2:
        problems.append(f"exit code {r.returncode}, want 2")
    if len(err_lines) != 1:
        problems.append(f"{len(err_lines)} stderr lines, want 1: {r.stderr!r}")
    for word in must_mention:
        if word not in r.stderr:
            problems.append(f"stderr does not mention {word!r}: {r.stderr!r}")
    if out_json and os.path.exists(out_json):
        problems.append(f"{out_json} was written despite the error")
    status = "FAIL" if problems else "ok"
    print(f"[{status}] {label}: {err_lines[0] if err_lines else '(no stderr)'}")
    if problems:
        failures.append((label, problems))


def write_unsupported_op_model(path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    node = helper.make_node("Hardmax", ["x"], ["y"], name="my_hardmax")
    model = helper.make_model(helper.make_graph([node], "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, path)


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-bad-")
    try:
        data = open(MODEL, "rb").read()
        truncated = os.path.join(tmp, "truncated.onnx")
        open(truncated, "wb").write(data[: len(data) // 2])
        garbage = os.path.join(tmp, "random.onnx")
        open(garbage, "wb").write(os.urandom(4096))
        unsupported = os.path.join(tmp, "unsupported.onnx")
        write_unsupported_op_model(unsupported)
        ext_dir = os.path.join(tmp, "extdata")
        os.makedirs(ext_dir)
        ext_model = os.path.join(ext_dir, "osnet.onnx")
        shutil.copy(os.path.join(ASSETS, "models/reid/osnet_x0_25_msmt17_extdata/osnet_x0_25_msmt17.onnx"), ext_model)
        not_image = os.path.join(tmp, "notes.jpg")
        open(not_image, "w").write("this is not a JPEG\n")
        missing = os.path.join(tmp, "does-not-exist.onnx")
        out_json = os.path.join(tmp, "out.json")

        expect_error("info truncated onnx", ["info", truncated], ["truncated.onnx"])
        expect_error("info random bytes", ["info", garbage], ["random.onnx"])
        expect_error("info unsupported op", ["info", unsupported],
                     ["unsupported.onnx", "Hardmax", "my_hardmax", "17"])
        expect_error("info missing external data", ["info", ext_model],
                     ["osnet.onnx", "osnet_x0_25_msmt17.onnx.data"])
        expect_error("info missing path", ["info", missing], ["does-not-exist.onnx"])
        expect_error("predict truncated model",
                     ["predict", "--model", truncated, "--source", IMAGES, "--json", out_json],
                     ["truncated.onnx"], out_json)
        expect_error("predict non-image source",
                     ["predict", "--model", MODEL, "--source", not_image, "--json", out_json],
                     ["notes.jpg"], out_json)
        expect_error("predict missing source",
                     ["predict", "--model", MODEL, "--source", os.path.join(tmp, "nope.jpg"), "--json", out_json],
                     ["nope.jpg"], out_json)
        expect_error("predict missing model",
                     ["predict", "--model", missing, "--source", IMAGES, "--json", out_json],
                     ["does-not-exist.onnx"], out_json)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        for label, problems in failures:
            print(f"FAILED {label}: " + "; ".join(problems))
        sys.exit(1)
    print("all bad-input cases give one-line errors with exit 2")


if __name__ == "__main__":
    main()
