"""Bad model files never crash kiln: one line on stderr naming the file and the problem,
exit code 2, nothing half-written. Covers the foundation's acceptance list (bad images and
paths given to predict: test_predict_bad_inputs.py)."""
import os
import shutil
import tempfile

import onnx
from onnx import helper, TensorProto

from kiln_cli import ASSETS, Checks

MODEL = os.path.join(ASSETS, "models", "yolo11n.onnx")
IMAGES = os.path.join(ASSETS, "images")
checks = Checks()


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
        missing = os.path.join(tmp, "does-not-exist.onnx")
        out_json = os.path.join(tmp, "out.json")

        checks.expect_error("info truncated onnx", ["info", truncated], ["truncated.onnx"])
        checks.expect_error("info random bytes", ["info", garbage], ["random.onnx"])
        checks.expect_error("info unsupported op", ["info", unsupported],
                            ["unsupported.onnx", "Hardmax", "my_hardmax", "17"])
        checks.expect_error("info missing external data", ["info", ext_model],
                            ["osnet.onnx", "osnet_x0_25_msmt17.onnx.data"])
        checks.expect_error("info missing path", ["info", missing], ["does-not-exist.onnx"])
        checks.expect_error("predict truncated model",
                            ["predict", "--model", truncated, "--source", IMAGES, "--json", out_json],
                            ["truncated.onnx"], out_json)
        # An output path that is a folder is refused before the model loads (no engine is
        # built into the empty cache), let alone any image predicted.
        model = os.path.join(ASSETS, "models", "yolo11n.onnx")
        cache = os.path.join(tmp, "cache")
        os.makedirs(cache)
        cache_before = os.environ.get("KILN_CACHE_DIR")
        os.environ["KILN_CACHE_DIR"] = cache
        try:
            config = os.path.join(tmp, "kiln.yaml")
            open(config, "w").write(f"pipelines:\n  people:\n    detector: {model}\n    tracker: bytetrack.yaml\n")
            runs = [(f"{cmd} {flag}", [cmd, "--model", model, "--source", IMAGES, flag, tmp])
                    for cmd, flag in (("predict", "--json"), ("track", "--json"), ("track", "--mot"))]
            runs += [(f"pipeline {flag}", ["pipeline", "people", "--config", config, "--source", IMAGES, flag, tmp])
                     for flag in ("--json", "--mot")]
            for label, args in runs:
                checks.expect_error(f"{label} naming a folder", args, [tmp, "is a folder"])
                checks.check(f"{label} naming a folder builds no engine", not os.listdir(cache), str(os.listdir(cache)))
        finally:
            if cache_before is None:
                del os.environ["KILN_CACHE_DIR"]
            else:
                os.environ["KILN_CACHE_DIR"] = cache_before
        coco8 = os.path.join(ASSETS, "datasets", "coco8", "coco8.yaml")
        checks.expect_error("val --save-json naming a folder",
                            ["val", "--model", model, "--data", coco8, "--save-json", tmp], [tmp, "is a folder"])
        checks.expect_error("build -o naming a folder", ["build", model, "--device", "cpu", "-o", tmp], [tmp, "is a folder"])
        nowhere = os.path.join(tmp, "no", "such", "yolo11n.kiln")
        checks.expect_error("build -o in a missing folder", ["build", model, "--device", "cpu", "-o", nowhere],
                            [nowhere, "no folder"], nowhere)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("all bad-model cases give one-line errors with exit 2")


if __name__ == "__main__":
    main()
