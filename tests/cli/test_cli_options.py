"""Options kiln accepts are honoured or refused with a line that says why: --imgsz on a
static engine, --classes ids the model lacks or on a classifier, --save-txt without --save,
an unknown command, a PyTorch .pt model, kiln bench's options (checked before any GPU is
looked for); and --json works on every command (predict's "--json -" on stdout)."""
import json
import os
import shutil
import tempfile
import zipfile

from kiln_cli import ASSETS, Checks, run_kiln

checks = Checks()
check = checks.check
MODELS = os.path.join(ASSETS, "models")
DETECT = os.path.join(MODELS, "yolo11n.onnx")
CLASSIFY = os.path.join(MODELS, "yolo11n-cls-random.onnx")
BUS = os.path.join(ASSETS, "images", "bus.jpg")
COCO8 = os.path.join(ASSETS, "datasets", "coco8", "coco8.yaml")


def json_stdout(label, args):
    """kiln `args` exits 0 and prints one JSON document on stdout; returns it (None if not)."""
    r = run_kiln(args)
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        doc = None
    checks.expect(r.returncode == 0 and doc is not None, f"--json: {label} prints JSON on stdout", r)
    return doc


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-options-")
    cache = os.path.join(tmp, "cache")
    try:
        engine = os.path.join(tmp, "yolo11n.kiln")
        r = run_kiln(["build", DETECT, "-o", engine, "--skip-verify"])
        checks.expect(r.returncode == 0, "build a static 640 engine", r)
        checks.expect_error("--imgsz on a static engine names the engine's size",
                            ["predict", "--model", engine, "--source", BUS, "--imgsz", "320"],
                            ["--imgsz 320", "640x640", "kiln build"])
        checks.expect_error("--imgsz on a static ONNX export",
                            ["predict", "--model", DETECT, "--source", BUS, "--imgsz", "320", "--cache-dir", cache],
                            ["static", "640"])
        checks.expect_error("--classes with an id the model lacks",
                            ["predict", "--model", engine, "--source", BUS, "--classes", "0,80"],
                            ["--classes 80", "0..79"])
        checks.expect_error("--classes on a classifier",
                            ["predict", "--model", CLASSIFY, "--source", BUS, "--classes", "1", "--cache-dir", cache, "--quiet"],
                            ["--classes", "classifier"])
        checks.expect_error("--save-txt without --save", ["predict", "--model", engine, "--source", BUS, "--save-txt"],
                            ["--save-txt", "--save"])
        checks.expect_error("--hide-conf without --save", ["predict", "--model", engine, "--source", BUS, "--hide-conf"],
                            ["--hide-conf", "--save"])
        checks.expect_error("unknown command names the word and the commands", ["predcit", "--model", DETECT],
                            ["'predcit'", "predict", "val", "build", "run"])
        # kiln bench checks its options before the device: the same error with or without a GPU.
        for label, extra, words in [
                ("an unknown precision", ["--precision", "fp16,fp9"], ["--precision", "'fp9'", "fp32", "int8"]),
                ("a precision given twice", ["--precision", "fp16,fp32,fp16"], ["--precision", "fp16 given twice"]),
                ("a batch size of 0", ["--batch", "1,0"], ["--batch", "got 0"]),
                ("a profile with MIN > MAX", ["--engine-batch", "4:2:1"], ["--engine-batch", "4:2:1"]),
                ("no timed iterations", ["--iters", "0"], ["--iters", ">= 1"]),
                ("negative warm-up", ["--warmup", "-1"], ["--warmup", "-1"]),
                ("an unknown calibration method", ["--precision", "int8", "--calib-method", "foo"],
                 ["--calib-method", "'foo'", "mse"])]:
            checks.expect_error(f"bench: {label} is refused on any machine", ["bench", "--model", DETECT] + extra,
                                words)
        # Number ranges read as written, the value quoted.
        checks.expect_error("cache prune --older-than of a word", ["cache", "prune", "--older-than", "xyz",
                                                                   "--cache-dir", cache],
                            ["--older-than", "from 0 to 36500", "got 'xyz'"])
        checks.expect_error("--timeout below its range", ["predict", "--model", engine, "--source", BUS,
                                                          "--timeout", "0"],
                            ["--timeout", "from 0.1 to 3600", "got '0'"])

        # A PyTorch checkpoint (a zip archive): refused with the export command, by name
        # and by content (a checkpoint renamed to .onnx).
        pt = os.path.join(tmp, "yolo11n.pt")
        with zipfile.ZipFile(pt, "w") as z:
            z.writestr("yolo11n/data.pkl", b"\x80\x02}q\x00.")
        checks.expect_error(".pt model: export it to ONNX", ["predict", "--model", pt, "--source", BUS],
                            ["PyTorch", "yolo export model=" + pt + " format=onnx"])
        renamed = os.path.join(tmp, "renamed.onnx")
        shutil.copy(pt, renamed)
        checks.expect_error("checkpoint renamed .onnx", ["build", renamed, "-o", os.path.join(tmp, "x.kiln")],
                            ["PyTorch", "yolo export"])

        # --json everywhere.
        doc = json_stdout("predict --json -", ["predict", "--model", engine, "--source", BUS, "--json", "-"])
        if doc:
            check("predict --json -: results on stdout, the lines on stderr",
                  doc["results"][0]["image"] == "bus.jpg" and doc["failures"] == [] and doc["task"] == "detect",
                  str(doc)[:200])
        doc = json_stdout("val", ["val", "--model", engine, "--data", COCO8, "--json"])
        check("val --json: figures", doc is not None and 0 < doc["all"]["map50_95"] <= 1, str(doc)[:200])
        json_stdout("build", ["build", DETECT, "--cache-dir", cache, "--skip-verify", "--json"])
        json_stdout("info", ["info", engine, "--json"])
        json_stdout("check", ["check", engine, "--json"])
        json_stdout("env", ["env", "--json"])
        json_stdout("cache ls", ["cache", "ls", "--cache-dir", cache, "--json"])
        doc = json_stdout("triton-repo", ["triton-repo", "--model", DETECT, "--out", os.path.join(tmp, "repo"),
                                          "--device", "cpu", "--json"])
        check("triton-repo --json: the config it wrote", doc is not None and os.path.isfile(doc["config"])
              and doc["task"] == "detect" and doc["kind"] == "KIND_CPU", str(doc))
        npy = os.path.join(tmp, "x.npy")
        import numpy as np
        np.save(npy, np.zeros((1, 3, 640, 640), np.float32))
        json_stdout("run", ["run", "--model", engine, "--inputs", npy, "--json"])
        doc = json_stdout("cache prune", ["cache", "prune", "--all", "--cache-dir", cache, "--json"])
        check("cache prune --json lists the removed engines", doc is not None and len(doc["removed"]) >= 1, str(doc))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("options are honoured or refused with a reason; --json on every command")


if __name__ == "__main__":
    main()
