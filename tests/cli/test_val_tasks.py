"""kiln val on the small task datasets beside Ultralytics 8.4.50's val of the same ONNX files
(ONNX Runtime, CPU, batch 1, measured 2026-11-21): OBB on dota8 with the random-weight
yolo11n-obb (both find nothing: 0 everywhere; the metric itself is covered by
tests/eval/rotated_boxes_test.cpp), with obb's default conf of 0.01."""
import json
import os

from kiln_cli import ASSETS, Checks, run_kiln

checks = Checks()

obb = run_kiln(["val", "--model", os.path.join(ASSETS, "models", "yolo11n-obb-random.onnx"), "--data",
                os.path.join(ASSETS, "datasets", "dota8", "dota8.yaml"), "--json"])
if checks.check("obb runs", obb.returncode == 0, obb.stderr.strip()):
    j = json.loads(obb.stdout)
    a = j["all"]
    checks.check("obb task and conf", j["task"] == "obb" and abs(j["conf"] - 0.01) < 1e-6, f"{j['task']} {j['conf']}")
    checks.check("obb counts", (a["images"], a["instances"], len(j["classes"])) == (4, 8, 3),
                 f"{a['images']} images, {a['instances']} instances, {len(j['classes'])} classes")
    checks.check("obb figures (Ultralytics: 0, 0, 0, 0)",
                 (a["precision"], a["recall"], a["map50"], a["map50_95"]) == (0, 0, 0, 0), str(a))
checks.finish("OK")
