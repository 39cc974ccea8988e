"""kiln val on the small task datasets beside Ultralytics 8.4.50's val of the same ONNX files
(ONNX Runtime, CPU, batch 1, measured 2026-11-21): segment box and mask figures on
coco8-seg, pose box and OKS figures on coco8-pose (both equal to 1e-12 when measured), and
OBB on dota8 with the random-weight yolo11n-obb (both find nothing: 0 everywhere; the
metric itself is covered by tests/eval/rotated_boxes_test.cpp), with obb's default conf
of 0.01."""
import json
import os

from kiln_cli import ASSETS, Checks, run_kiln

checks = Checks()
TOL = 1e-6  # P and R: 1e-6 too (the F1 peak reads the same curve point)

# model, dataset, second group of figures, reference (P, R, mAP50, mAP50-95) for box and second.
CASES = [
    ("yolov8n-seg.onnx", "coco8-seg", "mask", 17,
     (0.7605133, 0.5, 0.7052047, 0.4851753), (0.7605133, 0.5, 0.6279520, 0.4178996)),
    ("yolo11n-pose.onnx", "coco8-pose", "pose", 14,
     (0.8061156, 0.7857143, 0.8491762, 0.6722134), (0.8416336, 0.5, 0.5170597, 0.2690547)),
]
for model, data, second, instances, box_ref, second_ref in CASES:
    r = run_kiln(["val", "--model", os.path.join(ASSETS, "models", model), "--data",
                  os.path.join(ASSETS, "datasets", data, f"{data}.yaml"), "--json"])
    if not checks.check(f"{model} runs", r.returncode == 0, r.stderr.strip()):
        continue
    j = json.loads(r.stdout)
    checks.check(f"{model} counts", (j["all"]["images"], j["all"]["instances"]) == (4, instances), str(j["all"]))
    for group, got, ref in (("box", j["all"], box_ref), (second, j[second]["all"], second_ref)):
        figures = (got["precision"], got["recall"], got["map50"], got["map50_95"])
        checks.check(f"{model} {group} figures", all(abs(k - w) <= TOL for k, w in zip(figures, ref)),
                     f"kiln {[round(x, 7) for x in figures]} ultralytics {list(ref)}")
table = run_kiln(["val", "--model", os.path.join(ASSETS, "models", "yolov8n-seg.onnx"), "--data",
                  os.path.join(ASSETS, "datasets", "coco8-seg", "coco8-seg.yaml")])
checks.check("segment table header", table.stdout.splitlines()[0].split()[-4:] == ["Mask(P", "R", "mAP50", "mAP50-95)"],
             table.stdout.splitlines()[0] if table.stdout else table.stderr)

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
