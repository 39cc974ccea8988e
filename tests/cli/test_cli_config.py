"""kiln.yaml as docs/CONFIG.md describes it: models used by name (--config, or ./kiln.yaml
by default; predict and val) with their own imgsz, an unknown key refused with the valid ones listed, bad
int8 keys refused as their flags are, and
cached engines named <model>-<precision>-<imgsz>-b<batch>-<key>.kiln, listed by cache ls
with imgsz, precision and batch, with no .lock files left after a run."""
import glob
import json
import os
import re
import shutil
import tempfile

from kiln_cli import ASSETS, Checks, run_kiln

checks = Checks()
check = checks.check
MODELS = os.path.join(ASSETS, "models")
BUS = os.path.join(ASSETS, "images", "bus.jpg")
COCO8 = os.path.join(ASSETS, "datasets", "coco8", "coco8.yaml")

CONFIG = f"""# the example of docs/CONFIG.md
cache_dir: cache
models:
  vehicle:
    source: {os.path.join(MODELS, "yolo11n.onnx")}
    imgsz: 640
    precision: fp32
  plate:
    source: {os.path.join(MODELS, "yolo11n-dynamic.onnx")}
    imgsz: 416
"""


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-config-")
    try:
        config = os.path.join(tmp, "kiln.yaml")
        open(config, "w").write(CONFIG)
        out = os.path.join(tmp, "out.json")
        r = run_kiln(["predict", "--model", "vehicle", "--config", config, "--source", BUS, "--json", out])
        doc = json.load(open(out)) if r.returncode == 0 else {}
        checks.expect(r.returncode == 0 and doc["source"].endswith("yolo11n.onnx")
                      and doc["results"][0]["detections"], "--model vehicle --config kiln.yaml", r)
        cache = os.path.join(tmp, "cache")
        engines = [os.path.basename(p) for p in glob.glob(os.path.join(cache, "*.kiln"))]
        check("the config's cache_dir holds a readable engine name",
              len(engines) == 1 and re.fullmatch(r"yolo11n-fp32-640-b1-[0-9a-f]{16}\.kiln", engines[0]) is not None,
              str(engines))
        check("no .lock file left after the run", not glob.glob(os.path.join(cache, "*.lock")),
              str(os.listdir(cache)) if os.path.isdir(cache) else "no cache")

        # ./kiln.yaml by default; plate runs at its own 416 (a dynamic export: 416x320 for bus.jpg).
        r = run_kiln(["predict", "--model", "plate", "--source", BUS, "--json", out], cwd=tmp)
        doc = json.load(open(out)) if r.returncode == 0 else {}
        checks.expect(r.returncode == 0 and doc["imgsz"] == [416, 416], "--model plate from ./kiln.yaml at imgsz 416", r)
        check("plate: bus.jpg letterboxed to 416x320", "416x320" in r.stdout, r.stdout[:200])
        # kiln val by name: the config's model at the config's imgsz (plate: 416).
        def val(args, **kw):
            r = run_kiln(["val", "--data", COCO8, "--json"] + args, **kw)
            return r, (json.loads(r.stdout) if r.returncode == 0 else {})
        r, by_name = val(["--model", "plate"], cwd=tmp)
        r2, direct = val(["--model", os.path.join(MODELS, "yolo11n-dynamic.onnx"), "--imgsz", "416",
                          "--cache-dir", os.path.join(tmp, "cache")])
        checks.expect(r.returncode == 0 and r2.returncode == 0 and by_name.get("all") == direct.get("all")
                      and by_name["all"]["map50_95"] > 0, "val --model plate (./kiln.yaml): the model at imgsz 416", r)
        checks.expect_error("val: a name the config does not have",
                            ["val", "--model", "truck", "--config", config, "--data", COCO8], ["truck", "vehicle, plate"])
        checks.expect_error("a name the config does not have lists the ones it has",
                            ["predict", "--model", "truck", "--config", config, "--source", BUS], ["truck", "vehicle, plate"])

        r = run_kiln(["cache", "ls", "--cache-dir", cache])
        checks.expect(r.returncode == 0 and "fp32 imgsz 640x640 batch 1:1:1" in r.stdout, "cache ls: precision, imgsz, batch", r)
        r = run_kiln(["cache", "ls", "--cache-dir", cache, "--json"])
        ls = json.loads(r.stdout) if r.returncode == 0 else []
        check("cache ls --json: imgsz", len(ls) == 1 and ls[0].get("imgsz") == [640, 640], str(ls)[:300])

        bad = os.path.join(tmp, "bad.yaml")
        open(bad, "w").write(CONFIG.replace("    precision: fp32", "    precison: fp32"))
        checks.expect_error("unknown model key lists the valid ones",
                            ["predict", "--model", "vehicle", "--config", bad, "--source", BUS],
                            ["bad.yaml", "'precison'", "source, imgsz, precision, batch, workspace, device"])
        # A model's int8 keys are checked as the flags are, named as kiln.yaml spells them.
        open(bad, "w").write(CONFIG.replace("    precision: fp32", "    precision: int8\n    calib: .\n    calib_images: 0"))
        checks.expect_error("calib_images: 0 in a model entry",
                            ["predict", "--model", "vehicle", "--config", bad, "--source", BUS],
                            ["bad.yaml", "calib_images 0: expected at least 1", "model 'vehicle'"])
        open(bad, "w").write(CONFIG.replace("    precision: fp32", "    precision: fp32\n    int8_target_drop: 0.01"))
        checks.expect_error("an int8 key on a model that is not int8",
                            ["predict", "--model", "vehicle", "--config", bad, "--source", BUS],
                            ["int8_target_drop applies to precision: int8 only", "model 'vehicle'"])
        open(bad, "w").write("cache: x\n" + CONFIG)
        checks.expect_error("unknown top-level key lists the valid ones", ["rebuild", "--config", bad],
                            ["'cache'", "cache_dir, models_dir, engine_key, on_mismatch, device, models"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("kiln.yaml models by name, readable engine names, cache ls details, no stale locks")


if __name__ == "__main__":
    main()
