"""Models without Ultralytics metadata: --task and --names supply it (names from a comma
list or a data yaml) to predict, val and bench, the file name's task is used with a note
when neither is given, and kiln run feeds any model raw tensors from .npy/.npz and writes its outputs (.npz), checked
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
SEG = os.path.join(ASSETS, "models", "yolov8n-seg.onnx")
COCO8_SEG = os.path.join(ASSETS, "datasets", "coco8-seg", "coco8-seg.yaml")
REID = os.path.join(ASSETS, "models", "reid", "osnet_x0_25_msmt17.onnx")
BUS = os.path.join(ASSETS, "images", "bus.jpg")
COCO8_YAML = os.path.join(ASSETS, "datasets", "coco8", "coco8.yaml")


def strip_metadata(path, source=MODEL):
    m = onnx.load(source)
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

        # --task / --names reach kiln val: a segment export without metadata validates as
        # the export with it does; names are checked against the dataset's.
        def val(args):
            r = run_kiln(["val", "--json", "--cache-dir", cache] + args)
            return r, (json.loads(r.stdout) if r.returncode == 0 else {})

        seg_bare = os.path.join(tmp, "bareseg.onnx")
        strip_metadata(seg_bare, SEG)
        r, want = val(["--model", SEG, "--data", COCO8_SEG])
        checks.expect(r.returncode == 0 and want.get("task") == "segment", "val of the segment export with metadata", r)
        r, got = val(["--model", seg_bare, "--data", COCO8_SEG, "--task", "segment"])
        same = {k: v for k, v in got.items() if k not in ("model", "events", "speed_ms")} == \
               {k: v for k, v in want.items() if k not in ("model", "events", "speed_ms")}
        checks.expect(r.returncode == 0 and got.get("task") == "segment" and same,
                      "val --task segment on a bare export: the figures with metadata", r)
        check("val --task segment: box and mask figures equal", same,
              f"{ {k: got.get(k) for k in ('all', 'mask')} } vs { {k: want.get(k) for k in ('all', 'mask')} }")
        checks.expect_error("val --names reaches the model (checked against the dataset's classes)",
                            ["val", "--model", bare, "--data", COCO8_YAML, "--names", "a,b", "--cache-dir", cache],
                            ["2 classes", "80"])

        # ... and kiln bench's end-to-end timing, which predicts.
        bench = ["bench", "--model", bare, "--source", BUS, "--precision", "fp32", "--iters", "1", "--warmup", "0"]
        r = run_kiln(bench + ["--task", "detect"])
        row = [l for l in r.stdout.splitlines() if l.startswith("| fp32 |")]
        cells = row[0].split("|") if row else []
        checks.expect(r.returncode == 0 and len(cells) > 3 and int(cells[3]) == len(ref_dets),
                      "bench --source --task detect: the metadata's detections", r)
        checks.expect_error("bench --source without a task asks for one", bench, ["mymodel.onnx", "task"])

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
        # A missing or malformed --inputs file is one line before any model is loaded (on a
        # machine without a GPU, no CPU-fallback line comes first).
        with open(os.path.join(tmp, "junk.npy"), "w") as f:
            f.write("not numpy")
        for name, words in (("missing.npy", ["missing.npy", "no such file"]), ("junk.npy", ["junk.npy", "not a .npy"])):
            checks.expect_error(f"kiln run: {name} reported before the model loads",
                                ["run", "--model", REID, "--device", "cuda", "--inputs", os.path.join(tmp, name),
                                 "--cache-dir", cache], words)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("--task / --names supply metadata, the file name is a noted fallback, kiln run matches ONNX Runtime")


if __name__ == "__main__":
    main()
