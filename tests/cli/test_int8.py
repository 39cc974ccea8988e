"""kiln --precision int8 on the CPU backend: bad calibration input is a one-line error (exit
2), a build calibrates once and reuses the cached calibration, the engine lists every layer's
precision with its reason, and the sensitivity analysis keeps layers float only when the
target asks for it."""
import glob
import json
import os
import tempfile

import numpy as np

from kiln_cli import ASSETS, Checks, run_kiln

MODEL = os.path.join(ASSETS, "models", "yolo11n-dynamic.onnx")
STATIC = os.path.join(ASSETS, "models", "yolo11n.onnx")
COCO8 = os.path.join(ASSETS, "datasets", "coco8")
TRAIN = os.path.join(COCO8, "images", "train")

checks = Checks()
with tempfile.TemporaryDirectory() as tmp:
    cache = os.path.join(tmp, "cache")
    build = ["build", MODEL, "--imgsz", "160", "--cache-dir", cache]
    int8 = build + ["--precision", "int8"]

    # Bad input: one line, exit 2, nothing written.
    out = os.path.join(tmp, "bad.kiln")
    checks.expect_error("int8 without --calib", int8 + ["-o", out],
                        ["--precision int8 needs calibration data: pass --calib DIR|GLOB|DATA.yaml"], out)
    empty = os.path.join(tmp, "empty")
    os.makedirs(empty)
    checks.expect_error("empty calibration folder", int8 + ["--calib", empty, "-o", out], [empty, "no images"], out)
    checks.expect_error("glob matching nothing", int8 + ["--calib", os.path.join(empty, "*.jpg"), "-o", out],
                        ["no images match"], out)
    broken = os.path.join(tmp, "broken")
    os.makedirs(broken)
    with open(os.path.join(broken, "a.jpg"), "w") as f:
        f.write("not a jpeg")
    checks.expect_error("unreadable image", int8 + ["--calib", broken, "-o", out], ["a.jpg"], out)
    tensors = os.path.join(tmp, "tensors")
    os.makedirs(tensors)
    np.save(os.path.join(tensors, "x.npy"), np.zeros((1, 3, 64, 64), np.float32))
    checks.expect_error("tensor of the wrong size", int8 + ["--calib", tensors, "-o", out],
                        ["x.npy: tensor of shape [1,3,64,64], expected [1,3,160,160]"], out)
    yaml = os.path.join(empty, "data.yaml")
    with open(yaml, "w") as f:
        f.write("path: .\ntrain: .\nval: .\nnames: [a]\n")
    checks.expect_error("dataset yaml without images", int8 + ["--calib", yaml, "-o", out],
                        ["data.yaml: no images in the dataset's train or val split"], out)
    checks.expect_error("unknown method", int8 + ["--calib", TRAIN, "--calib-method", "kl"], ["--calib-method", "kl"])
    checks.expect_error("--calib without int8", build + ["--calib", TRAIN], ["--calib applies to --precision int8 only"])
    # int8 on CUDA: built where a GPU runs it; elsewhere refused in one line (no driver, or a
    # kiln built without CUDA).
    gpu = run_kiln(int8 + ["--calib", TRAIN, "--calib-images", "2", "--device", "cuda", "-o", os.path.join(tmp, "g.kiln")])
    if json.loads(run_kiln(["env", "--json"]).stdout or "{}").get("gpus"):
        checks.expect(gpu.returncode == 0, "int8 on a GPU builds", gpu)
        where = json.loads(run_kiln(["info", os.path.join(tmp, "g.kiln"), "--json"]).stdout or "{}")
        where = where.get("build", {}).get("int8", {}).get("calibration_device", "")
        checks.expect(where.startswith("cuda:0 ("), "int8 on a GPU calibrates on the GPU", where)
    else:
        checks.expect(gpu.returncode == 2 and len(gpu.stderr.strip().splitlines()) == 1 and
                      ("cuda:0: no NVIDIA driver" in gpu.stderr or "built without CUDA" in gpu.stderr),
                      "int8 on CUDA without a GPU is refused in one line", gpu)

    # A build calibrates, a second one with other float layers reuses the calibration.
    calib = ["--calib", TRAIN, "--calib-images", "3", "--calib-method", "entropy"]
    first = run_kiln(int8 + calib + ["-o", os.path.join(tmp, "a.kiln")])
    checks.expect(first.returncode == 0, "int8 build exits 0", first)
    checks.expect("quantizable layers in INT8 (entropy calibration on 3 images)" in first.stdout, "build says what it quantized",
                  first.stdout)
    cached = glob.glob(os.path.join(cache, "calibration-*.json"))
    checks.expect(len(cached) == 1, "one calibration cached", str(cached))
    second = run_kiln(int8 + calib + ["--int8-exclude", "*model.2*", "-o", os.path.join(tmp, "b.kiln")])
    checks.expect(second.returncode == 0 and "images, reused)" in second.stdout, "second build reuses the calibration", second)
    checks.expect("excluded by --int8-exclude '*model.2*'" in second.stdout, "excluded layers are listed", second.stdout)
    info = run_kiln(["info", os.path.join(tmp, "a.kiln"), "--json"])
    checks.expect(info.returncode == 0, "kiln info exits 0", info)
    if info.returncode == 0:
        meta = json.loads(info.stdout)["build"]["int8"]
        layers = meta["layers"]
        by_precision = {p: [l for l in layers if l["precision"] == p] for p in ("int8", "float")}
        checks.expect(len(by_precision["int8"]) > 50 and len(by_precision["float"]) >= 4,
                      "most convs run in INT8, the sensitive ones float",
                      f"{len(by_precision['int8'])} int8, {len(by_precision['float'])} float")
        checks.expect(any(l["reason"] == "sensitive: first conv" for l in by_precision["float"]), "first conv stays float",
                      str(by_precision["float"]))
        checks.expect(meta["method"] == "entropy" and meta["images"] == 3 and len(meta["calibration_key"]) == 64,
                      "metadata records method, images and key", str(meta))
        checks.expect(meta["calibration_device"] == "cpu", "a CPU build calibrates on the CPU", str(meta))
        text = run_kiln(["info", os.path.join(tmp, "a.kiln")]).stdout
        checks.expect("int8        " in text and "sensitive: first conv" in text, "kiln info lists the float layers", text)
        checks.expect("statistics gathered on cpu" in text, "kiln info says where the statistics were gathered", text)

    # Sensitivity analysis on coco8 (8 images: 6 calibrate, 2 held back) at 256.
    sens = ["build", MODEL, "--imgsz", "256", "--cache-dir", cache, "--precision", "int8", "--calib", COCO8,
            "--calib-method", "minmax", "--json"]
    tight = run_kiln(sens + ["--int8-target-drop", "0", "-o", os.path.join(tmp, "tight.kiln")])
    loose = run_kiln(sens + ["--int8-target-drop", "1", "-o", os.path.join(tmp, "loose.kiln")])
    for name, r, want_float in (("target 0", tight, True), ("target 1", loose, False)):
        if not checks.expect(r.returncode == 0, f"sensitivity {name} exits 0", r):
            continue
        meta = json.loads(r.stdout)["metadata"]["build"]["int8"]
        kept = [l for l in meta["layers"] if l["reason"].startswith("kept float by sensitivity analysis")]
        checks.expect(bool(kept) == want_float, f"sensitivity {name}: {len(kept)} layers kept float", meta["sensitivity"])
        checks.expect("2 held-back images" in meta["sensitivity"], f"sensitivity {name} holds back 2 images",
                      meta["sensitivity"])

    # kiln val at fp32 and int8 on coco8 (the static export: both letterbox to 640 square),
    # calibrated on its 4 train images. Measured: mAP50-95 0.6048 fp32, 0.5720 int8 (mse, the
    # default, integer convs; 0.5747 as fake-quantized float); a broken quantization collapses it.
    env = dict(os.environ, KILN_CACHE_DIR=cache)
    val = run_kiln(["val", "--model", STATIC, "--data", os.path.join(COCO8, "coco8.yaml"), "--precision", "fp32,int8",
                    "--calib", os.path.join(COCO8, "coco8.yaml"), "--json"], env=env)
    if checks.expect(val.returncode == 0, "val fp32,int8 exits 0", val):
        runs = {r["precision"]: r for r in json.loads(val.stdout)["runs"]}
        fp32, q = runs["fp32"]["all"]["map50_95"], runs["int8"]["all"]["map50_95"]
        checks.expect(fp32 > 0.55 and abs(fp32 - q) <= 0.06, "int8 mAP50-95 within 0.06 of fp32",
                      f"fp32 {fp32:.4f}, int8 {q:.4f}")
checks.finish("OK")
