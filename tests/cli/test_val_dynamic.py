"""kiln val of a dynamic-size export on coco8 (4 images) with Ultralytics' rectangular batch
shapes, pinned to Ultralytics 8.4.50's own val of the same file (ONNX Runtime, CPU) at
--batch 2 (two rect batches: 512x672 and 672x544) and --batch 32 (one square 672 batch).
coco8's val images have distinct aspect ratios, so numpy's unstable argsort in Ultralytics'
set_rectangle cannot reorder them (bench/val/README.md: on coco128 it does)."""
import json
import os

from kiln_cli import ASSETS, Checks, run_kiln

MODEL = os.path.join(ASSETS, "models", "yolo11n-dynamic.onnx")
DATA = os.path.join(ASSETS, "datasets", "coco8", "coco8.yaml")
# batch -> (P, R, mAP50, mAP50-95), measured with tests' assets on 2026-11-21.
REFERENCE = {
    2: (0.6733523, 0.9298330, 0.8524632, 0.5850174),
    32: (0.7493921, 0.9173954, 0.9283451, 0.6107789),
}
TOLERANCE = (1e-4, 1e-4, 1e-5, 1e-5)

checks = Checks()
for batch, ref in REFERENCE.items():
    r = run_kiln(["val", "--model", MODEL, "--data", DATA, "--batch", str(batch), "--json"])
    if not checks.check(f"batch {batch} runs", r.returncode == 0, r.stderr.strip()):
        continue
    got = json.loads(r.stdout)
    a = got["all"]
    figures = (a["precision"], a["recall"], a["map50"], a["map50_95"])
    checks.check(f"batch {batch} rect input", got["input"] == "rect", got["input"])
    for name, k, want, tol in zip(("P", "R", "mAP50", "mAP50-95"), figures, ref, TOLERANCE):
        checks.check(f"batch {batch} {name}", abs(k - want) <= tol, f"kiln {k:.7f} ultralytics {want:.7f}")
checks.finish("OK")
