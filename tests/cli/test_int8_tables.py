"""kiln val --precision fp32,int8 and kiln bench --source --precision fp32,fp16,int8 --data on
the CPU backend put the precisions in one table: val's runs carry their deltas to fp32, bench's
rows carry the mAP50-95 val computes for the same precision, and a precision the CPU does not
run (fp16) is a row that says why. The dynamic export at imgsz 160 with 2 calibration images
keeps it to seconds."""
import json
import os
import re
import tempfile

from kiln_cli import ASSETS, Checks, run_kiln

MODEL = os.path.join(ASSETS, "models", "yolo11n-dynamic.onnx")
COCO8 = os.path.join(ASSETS, "datasets", "coco8", "coco8.yaml")
IMAGE = os.path.join(ASSETS, "images", "bus.jpg")
INT8 = ["--calib", COCO8, "--calib-images", "2", "--calib-method", "minmax"]

checks = Checks()
with tempfile.TemporaryDirectory() as tmp:
    env = dict(os.environ, KILN_CACHE_DIR=os.path.join(tmp, "cache"))
    val = run_kiln(["val", "--model", MODEL, "--data", COCO8, "--imgsz", "160", "--precision", "fp32,int8", "--json"]
                   + INT8, env=env)
    runs = {}
    if checks.expect(val.returncode == 0, "val fp32,int8 exits 0", val):
        out = json.loads(val.stdout)
        runs = {r["precision"]: r for r in out["runs"]}
        checks.expect(out["baseline"] == "fp32" and list(runs) == ["fp32", "int8"], "runs fp32 then int8, fp32 the base",
                      val.stdout[:300])
        # A broken quantization collapses int8 far below fp32.
        fp32, q = runs["fp32"]["all"]["map50_95"], runs["int8"]["all"]["map50_95"]
        checks.expect(fp32 > 0.25 and abs(fp32 - q) <= 0.08, "int8 mAP50-95 near fp32's", f"fp32 {fp32}, int8 {q}")
        checks.expect(runs["int8"]["delta_to_baseline"]["mAP50-95"] == q - fp32, "int8 delta is int8 - fp32",
                      str(runs["int8"]["delta_to_baseline"]))
        checks.expect(runs["fp32"]["delta_to_baseline"]["mAP50-95"] == 0, "fp32 delta is 0")

    table = run_kiln(["val", "--model", MODEL, "--data", COCO8, "--imgsz", "160", "--precision", "fp32,int8"] + INT8,
                     env=env)
    if checks.expect(table.returncode == 0, "val fp32,int8 table exits 0", table):
        summary = [l.split() for l in table.stdout.splitlines() if l.split()[:1] in (["fp32"], ["int8"])]
        checks.expect(len(summary) == 2 and summary[1][0] == "int8" and len(summary[1]) >= 9,
                      "summary table: a row per precision, int8 with deltas", table.stdout)

    bench = run_kiln(["bench", "--model", MODEL, "--source", IMAGE, "--device", "cpu", "--imgsz", "160",
                      "--precision", "fp32,fp16,int8", "--data", COCO8, "--iters", "2", "--warmup", "1"] + INT8, env=env)
    if checks.expect(bench.returncode == 0, "bench --source --device cpu fp32,fp16,int8 exits 0", bench):
        rows = {l.split("|")[1].strip(): [c.strip() for c in l.split("|")[2:-1]]
                for l in bench.stdout.splitlines() if re.match(r"\| (fp32|fp16|int8) \|", l)}
        checks.expect(list(rows) == ["fp32", "fp16", "int8"], "a row per precision", bench.stdout)
        checks.expect("skipped (precision fp16 needs a CUDA device" in rows.get("fp16", ["", ""])[1],
                      "fp16 row says why the CPU does not run it", bench.stdout)
        for p in ("fp32", "int8"):
            if p in rows and p in runs:
                checks.expect(rows[p][0] == "cpu" and float(rows[p][3]) > 0, f"{p} row timed on the cpu", bench.stdout)
                checks.expect(rows[p][-1] == f"{runs[p]['all']['map50_95']:.4f}", f"{p} row's mAP50-95 is val's",
                              f"{rows[p][-1]} vs {runs[p]['all']['map50_95']}")

    bad = run_kiln(["bench", "--model", MODEL, "--device", "cpu"], env=env)
    checks.expect(bad.returncode == 2 and "--device applies to --source runs" in bad.stderr,
                  "--device without --source is refused", bad)
checks.finish("OK")
