"""kiln predict on obb and classify models (random weights: no reference to match): the CLI
writes each task's results (rotated boxes, top-5). KILN_PREDICT_ARGS adds arguments to every kiln
predict (the GPU machine runs this with "--device cuda --precision fp16" and "... fp32")."""
import os
import tempfile

from kiln_cli import ASSETS, Checks

checks = Checks()
check = checks.check
predict = checks.predict


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-tasks-")
    out = os.path.join(tmp, "out.json")

    # OBB (random weights: every anchor scores ~8e-4, hence the low threshold).
    dota = os.path.join(ASSETS, "datasets", "dota8", "images", "train")
    res = predict("yolo11n-obb-random.onnx", dota, out, ["--conf", "0.0005"])
    check("obb: one result per dota8 image", len(res) == len(os.listdir(dota)), str(len(res)))
    dets = [d for r in res for d in r["detections"]]
    check("obb: rotated boxes with 5 numbers", dets and all(len(d["box_xywhr"]) == 5 and d["box_xywhr"][2] > 0 for d in dets))

    # Classify: top-5 best first, probabilities.
    cls_dir = os.path.join(ASSETS, "datasets", "imagenet10", "val")
    first = os.path.join(cls_dir, sorted(os.listdir(cls_dir))[0])
    res = predict("yolo11n-cls-random.onnx", first, out)
    if res:
        top = [t["confidence"] for t in res[0].get("top5", [])]
        check("classify: 5 scores, descending, in [0,1]", len(top) == 5 and top == sorted(top, reverse=True)
              and all(0 <= t <= 1 for t in top), str(top))
    checks.finish("obb and classify predictions check out")


if __name__ == "__main__":
    main()
