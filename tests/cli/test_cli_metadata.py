"""Models without Ultralytics metadata: --task and --names supply it (names from a comma
list or a data yaml), the file name's task is used with a note when neither is given, and
kiln run feeds any model raw tensors from .npy/.npz and writes its outputs (.npz), checked
against ONNX Runtime."""
import json
import os
import shutil
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

from kiln_cli import ASSETS, Checks, run_kiln

checks = Checks()
check = checks.check
MODEL = os.path.join(ASSETS, "models", "yolo11n.onnx")
REID = os.path.join(ASSETS, "models", "reid", "osnet_x0_25_msmt17.onnx")
BUS = os.path.join(ASSETS, "images", "bus.jpg")
COCO8_YAML = os.path.join(ASSETS, "datasets", "coco8", "coco8.yaml")


def strip_metadata(path):
    m = onnx.load(MODEL)
    m.ClearField("metadata_props")
    onnx.save(m, path)


def predict(args, out, cache):
    r = run_kiln(["predict", "--source", BUS, "--json", out, "--cache-dir", cache] + args)
    return r, (json.load(open(out)) if r.returncode == 0 else {})


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-metadata-")
    cache = os.path.join(tmp, "cache")
    out = os.path.join(tmp, "out.json")
    try:
        r, ref = predict(["--model", MODEL], out, cache)
        checks.expect(r.returncode == 0, "reference run with metadata", r)
        ref_dets = ref["results"][0]["detections"] if ref else []

        bare = os.path.join(tmp, "mymodel.onnx")
        strip_metadata(bare)
        checks.expect_error("no metadata, no task in the name: asks for --task",
                            ["predict", "--model", bare, "--source", BUS, "--cache-dir", cache, "--quiet"],
                            ["mymodel.onnx", "--task"])

        r, doc = predict(["--model", bare, "--task", "detect", "--names", COCO8_YAML], out, cache)
        dets = doc["results"][0]["detections"] if doc else []
        same = [(d["class_name"], d["box_xyxy"]) for d in dets] == [(d["class_name"], d["box_xyxy"]) for d in ref_dets]
        checks.expect(r.returncode == 0 and same and dets, "--task detect --names coco8.yaml: the metadata's results", r)

        r, doc = predict(["--model", bare, "--task", "detect", "--names", ",".join(f"c{i}" for i in range(80))], out, cache)
        names = sorted({d["class_name"] for d in doc["results"][0]["detections"]}) if doc else []
        checks.expect(r.returncode == 0 and names == ["c0", "c5"], "--names as a comma list", r)
        check("--names comma list names the classes", names == ["c0", "c5"], str(names))

        named = os.path.join(tmp, "yolo11n-custom.onnx")
        shutil.copy(bare, named)
        r, doc = predict(["--model", named], out, cache)
        note = [e["message"] for e in doc.get("events", []) if e["event"] == "note"]
        checks.expect(r.returncode == 0 and doc["task"] == "detect" and "file name" in r.stderr and note
                      and len(doc["results"][0]["detections"]) == len(ref_dets),
                      "file-name fallback: task detect from yolo11n-custom, with a note", r)

        # kiln run: raw tensors through OSNet (no task) against ONNX Runtime.
        x = np.random.default_rng(0).random((1, 3, 256, 128), dtype=np.float32)
        want = ort.InferenceSession(REID, providers=["CPUExecutionProvider"]).run(None, {"images": x})[0]
        np.save(os.path.join(tmp, "x.npy"), x)
        np.savez(os.path.join(tmp, "x.npz"), images=x)
        for inputs in ("x.npy", "x.npz"):
            res = os.path.join(tmp, "y.npz")
            r = run_kiln(["run", "--model", REID, "--inputs", os.path.join(tmp, inputs), "--outputs", res,
                          "--cache-dir", cache])
            if checks.expect(r.returncode == 0 and os.path.exists(res), f"kiln run --inputs {inputs} exits 0", r):
                got = np.load(res)
                arr = got[got.files[0]]
                err = float(np.abs(arr - want).max() / np.abs(want).max())
                check(f"kiln run --inputs {inputs}: ONNX Runtime's output", arr.shape == want.shape and err < 1e-4,
                      f"shape {arr.shape}, max rel err {err:.2e}")
            os.remove(res) if os.path.exists(res) else None
        np.save(os.path.join(tmp, "bad.npy"), np.zeros((1, 3, 64, 64), np.float32))
        checks.expect_error("kiln run: a wrong input shape names both shapes",
                            ["run", "--model", REID, "--inputs", os.path.join(tmp, "bad.npy"), "--cache-dir", cache],
                            ["[1, 3, 64, 64]", "[1, 3, 256, 128]"])
        np.savez_compressed(os.path.join(tmp, "z.npz"), other=x)
        checks.expect_error("kiln run: an .npz without the input's name",
                            ["run", "--model", REID, "--inputs", os.path.join(tmp, "z.npz"), "--cache-dir", cache],
                            ["'images'"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("--task / --names supply metadata, the file name is a noted fallback, kiln run matches ONNX Runtime")


if __name__ == "__main__":
    main()
