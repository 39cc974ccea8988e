"""kiln predict on bad input: exit code 2, one line on stderr naming the offending path,
and no JSON written (a source that fails to decode is listed in the JSON instead). Also checks --classes, --max-det and --save on bus.jpg."""
import json
import os
import shutil
import tempfile

import cv2

from kiln_cli import ASSETS, Checks, run_kiln

MODEL = os.path.join(ASSETS, "models", "yolo11n.onnx")
BUS = os.path.join(ASSETS, "images", "bus.jpg")
checks = Checks()
check = checks.check


def predict(args):
    return run_kiln(["predict"] + args)


def expect_error(label, args, must_mention, out_json):
    checks.expect_error(label, ["predict"] + args + ["--json", out_json], must_mention, out_json)


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-predict-bad-")
    try:
        out = os.path.join(tmp, "out.json")
        notes = os.path.join(tmp, "notes.jpg")
        open(notes, "w").write("this is not a JPEG\n")
        # One bad source: one error line, exit 2, and the JSON still lists it as failed.
        checks.expect_error("non-image source file", ["predict", "--model", MODEL, "--source", notes, "--json", out],
                            [notes])
        failed = json.load(open(out)).get("failures", []) if os.path.exists(out) else []
        check("non-image source file listed under failures", [f["source"] for f in failed] == [notes], str(failed))
        os.remove(out) if os.path.exists(out) else None
        expect_error("missing source", ["--model", MODEL, "--source", os.path.join(tmp, "nope.jpg")], ["nope.jpg"], out)
        expect_error("missing model", ["--model", os.path.join(tmp, "nope.onnx"), "--source", BUS], ["nope.onnx"], out)

        # A bad image among good ones does not end the run: test_predict_failures.py.

        empty = os.path.join(tmp, "empty")
        os.makedirs(empty)
        expect_error("directory without images", ["--model", MODEL, "--source", empty], [empty], out)
        expect_error("model without a YOLO task", ["--model", os.path.join(ASSETS, "models", "reid",
                                                  "osnet_x0_25_msmt17.onnx"), "--source", BUS, "--quiet"],
                     ["osnet_x0_25_msmt17.onnx", "no YOLO task"], out)

        # Options on a good image.
        save = os.path.join(tmp, "annotated")
        r = predict(["--model", MODEL, "--source", BUS, "--classes", "5,7", "--json", out, "--save", save])
        check("--classes 5,7 exit 0", r.returncode == 0, r.stderr.strip())
        if r.returncode == 0:
            dets = json.load(open(out))["results"][0]["detections"]
            check("--classes keeps only bus/truck", len(dets) == 1 and dets[0]["class_name"] == "bus",
                  str([d["class_name"] for d in dets]))
            img = cv2.imread(os.path.join(save, "bus.jpg"))
            check("--save writes a decodable annotated image", img is not None and img.shape == (1080, 810, 3))
            check("stdout names the image and its detections", "image 1/1 bus.jpg: 640x640 1 bus," in r.stdout,
                  repr(r.stdout.splitlines()[:1]))
        full = os.path.join(tmp, "full.json")
        r1 = predict(["--model", MODEL, "--source", BUS, "--json", full])
        r2 = predict(["--model", MODEL, "--source", BUS, "--max-det", "2", "--json", out])
        if r1.returncode == 0 and r2.returncode == 0:
            best = [d["confidence"] for d in json.load(open(full))["results"][0]["detections"]]
            got = [d["confidence"] for d in json.load(open(out))["results"][0]["detections"]]
            check("--max-det 2 keeps the 2 best", len(best) > 2 and got == best[:2], f"{got} vs all {best}")
        else:
            check("--max-det 2 exit 0", False, r1.stderr.strip() + r2.stderr.strip())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("predict rejects bad input cleanly and honours --classes, --max-det, --save")


if __name__ == "__main__":
    main()
