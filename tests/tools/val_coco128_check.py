"""kiln val on coco128 (CPU backend) against Ultralytics 8.4.50's own val figures.

The references were measured by bench/val/ultralytics_val.py on the GPU machine (results in
bench/val/results/coco128-ultralytics-8.4.50.json): Ultralytics validating the same ONNX
file through ONNX Runtime on the CPU (static 640x640 input, batch 1, square letterbox:
the input shapes kiln uses for a static model), and validating the .pt checkpoint on the
GPU (FP32, batch 32, rectangular batches), whose gap is printed for information only.
A dynamic export is validated like the .pt (batch 32, rectangular batches) and checked
against Ultralytics' val of the .pt with a stable sort of the images by aspect ratio
(bench/val/README.md: numpy's default sort orders equal ratios differently per machine).
"""
import json
import os
import subprocess
import sys
import time

MAP50_95_TOL = 0.002
MAP50_TOL = 0.003
PR_TOL = 0.01  # P and R are read at one confidence on a smoothed curve: looser

# (precision, recall, mAP50, mAP50-95), coco128: 128 images, 929 instances.
REFERENCE = {
    "yolo11n": {"onnx": (0.7295006, 0.5514062, 0.6614294, 0.4759949),
                ".pt": (0.7379344, 0.5532982, 0.6569135, 0.4801493)},
    "yolov8n": {"onnx": (0.6811402, 0.5264432, 0.6025129, 0.4518869),
                ".pt": (0.6561858, 0.5446675, 0.6201934, 0.4627400)},
    # yolo11n.pt, CPU, batch 32, stable rectangular batches (bench/val/README.md).
    "yolo11n-dynamic": {"onnx": (0.72828, 0.55701, 0.65854, 0.47514),
                        ".pt": (0.7379344, 0.5532982, 0.6569135, 0.4801493)},
    # yolov8n.pt likewise; the model is yolov8n.onnx made dynamic by make_dynamic_detect.py.
    "yolov8n-dynamic": {"onnx": (0.64085, 0.56210, 0.61942, 0.46521),
                        ".pt": (0.6561858, 0.5446675, 0.6201934, 0.4627400)},
}


def check(stem: str, extra_args=(), model=None) -> int:
    kiln = os.environ["KILN_BIN"]
    assets = os.environ["KILN_ASSETS_DIR"]
    model = model or os.path.join(assets, "models", f"{stem}.onnx")
    data = os.path.join(assets, "datasets", "coco128", "coco128.yaml")
    t0 = time.time()
    proc = subprocess.run([kiln, "val", "--model", model, "--data", data, "--json", *extra_args],
                          capture_output=True, text=True)
    seconds = time.time() - t0
    if proc.returncode != 0:
        print(f"kiln val failed ({proc.returncode}): {proc.stderr}")
        return 1
    got = json.loads(proc.stdout)
    a = got["all"]
    figures = (a["precision"], a["recall"], a["map50"], a["map50_95"])
    ref, pt = REFERENCE[stem]["onnx"], REFERENCE[stem][".pt"]
    names = ("P", "R", "mAP50", "mAP50-95")
    print(f"{stem}: kiln val {seconds:.0f} s, {a['images']} images, {a['instances']} instances")
    for name, k, r, p in zip(names, figures, ref, pt):
        print(f"  {name:9s} kiln {k:.5f}  ultralytics {r:.5f} (gap {k - r:+.5f})  .pt default {p:.5f} (gap {k - p:+.5f})")
    failures = []
    if a["images"] != 128 or a["instances"] != 929:
        failures.append(f"expected 128 images and 929 instances, got {a['images']} and {a['instances']}")
    for name, k, r, tol in zip(names, figures, ref, (PR_TOL, PR_TOL, MAP50_TOL, MAP50_95_TOL)):
        if abs(k - r) > tol:
            failures.append(f"{name} {k:.5f} is {k - r:+.5f} from Ultralytics' {r:.5f} (tolerance {tol})")
    if len(got["classes"]) != 71:  # classes present in coco128's labels
        failures.append(f"{len(got['classes'])} class rows, expected 71")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(check(sys.argv[1]))
