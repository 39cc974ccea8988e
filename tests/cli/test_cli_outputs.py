"""Outputs as `yolo predict` / `yolo val` users expect them: segment masks as polygons in
image pixels or COCO RLE (--masks), kiln val --save-json in COCO results format (91-category ids for COCO
classes, xywh boxes matching kiln predict's), --agnostic-nms, --line-width / --hide-labels /
--hide-conf on the saved image, --vid-stride keeping the saved video's real time, and
runs/predict, runs/predict2 when --save names no folder."""
import json
import os
import shutil
import tempfile

import cv2
import numpy as np
from pycocotools import mask as coco_mask

from kiln_cli import ASSETS, Checks, run_kiln

checks = Checks()
check = checks.check
MODELS = os.path.join(ASSETS, "models")
DETECT = os.path.join(MODELS, "yolo11n.onnx")
SEG = os.path.join(MODELS, "yolov8n-seg.onnx")
BUS = os.path.join(ASSETS, "images", "bus.jpg")
COCO8 = os.path.join(ASSETS, "datasets", "coco8")
CLIP = os.path.join(ASSETS, "video", "person_walking_office_720p_6s.mp4")
COCO91 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32, 33, 34,
          35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
          64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90]


def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def predict(args, out):
    r = run_kiln(["predict", "--json", out] + args)
    checks.expect(r.returncode == 0, f"predict {' '.join(args[-4:])} exits 0", r)
    return json.load(open(out))["results"] if r.returncode == 0 else []


def check_polygons(tmp, cache):
    res = predict(["--model", SEG, "--source", BUS, "--cache-dir", cache], os.path.join(tmp, "seg.json"))
    dets = res[0]["detections"] if res else []
    ok = bool(dets)
    worst = 1.0
    for d in dets:
        x1, y1, x2, y2 = d["box_xyxy"]
        polys = d.get("polygons", [])
        pts = [p for poly in polys for p in poly]
        # Masks are cut to the box at the prototypes' 1/4 resolution, then upsampled.
        inside = all(x1 - 8 <= x <= x2 + 8 and y1 - 8 <= y <= y2 + 8 for x, y in pts)
        # The mask drawn back from its polygons covers about as many pixels as the mask.
        canvas = np.zeros((1080, 810), np.uint8)
        for poly in polys:
            cv2.fillPoly(canvas, [np.array(poly, np.int32)], 1)
        ratio = canvas.sum() / max(d["mask_area"], 1)
        worst = min(worst, ratio) if ratio <= 1 else min(worst, 2 - ratio)
        ok &= bool(polys) and inside and 0.9 <= ratio <= 1.1
    check("segment JSON: each mask's polygons in image pixels, inside its box, filling its area",
          ok, f"{len(dets)} masks, worst area ratio {worst:.3f}")


def check_rle(tmp, cache):
    """--masks rle|both: COCO RLE decoded by pycocotools is the mask the polygons fill and
    has the mask's area; on giraffe.jpg (letterboxed alike by both) its area is
    Ultralytics'; the default writes polygons only, rle writes no polygons."""
    res = predict(["--model", SEG, "--source", BUS, "--masks", "both", "--cache-dir", cache], os.path.join(tmp, "rle.json"))
    dets = res[0]["detections"] if res else []
    ok, worst = bool(dets), 1.0
    for d in dets:
        rle = d.get("rle", {})
        if rle.get("size") != [1080, 810]:
            ok = False
            continue
        decoded = coco_mask.decode({"size": rle["size"], "counts": rle["counts"].encode()})
        filled = np.zeros((1080, 810), np.uint8)
        for poly in d["polygons"]:
            cv2.fillPoly(filled, [np.array(poly, np.int32)], 1)
        iou = (decoded & filled).sum() / max((decoded | filled).sum(), 1)
        worst = min(worst, iou)
        ok &= int(decoded.sum()) == d["mask_area"] and iou >= 0.9
    check("--masks both: each RLE (pycocotools) has the mask's area and is the mask its polygons fill", ok,
          f"{len(dets)} masks, worst IoU with the polygons {worst:.3f}")

    only = predict(["--model", SEG, "--source", BUS, "--masks", "rle", "--cache-dir", cache], os.path.join(tmp, "r.json"))
    default = predict(["--model", SEG, "--source", BUS, "--cache-dir", cache], os.path.join(tmp, "p.json"))
    check("--masks rle: RLE without polygons; default: polygons without RLE",
          only and default and all("rle" in d and "polygons" not in d for d in only[0]["detections"])
          and all("polygons" in d and "rle" not in d for d in default[0]["detections"]))
    checks.expect_error("--masks with an unknown format names it", ["predict", "--model", SEG, "--source", BUS,
                                                                    "--masks", "bitmap"], ["--masks", "bitmap"])

    ref = json.load(open(os.path.join(ASSETS, "reference", "yolov8n-seg.images.json")))["predictions"]
    ref = next(p for p in ref if p["image"] == "giraffe.jpg")["detections"]
    giraffe = os.path.join(ASSETS, "images", "giraffe.jpg")
    res = predict(["--model", SEG, "--source", giraffe, "--masks", "rle", "--cache-dir", cache], os.path.join(tmp, "g.json"))
    mine = res[0]["detections"] if res else []
    errors = []
    for want in ref:
        got = min(mine, key=lambda d: sum(abs(a - b) for a, b in zip(d["box_xyxy"], want["box_xyxy"])), default=None)
        if got is None or got["class_id"] != want["class_id"]:
            errors.append(1.0)
            continue
        area = coco_mask.area({"size": got["rle"]["size"], "counts": got["rle"]["counts"].encode()}) * (640 / 500) ** 2
        errors.append(abs(area - want["mask_area_px"]) / want["mask_area_px"])
    check("giraffe.jpg: RLE areas within 3% of Ultralytics' masks", errors and max(errors) <= 0.03,
          f"relative errors {[round(e, 4) for e in errors]}")


def check_coco_json(tmp, cache):
    out = os.path.join(tmp, "coco.json")
    r = run_kiln(["val", "--model", DETECT, "--data", os.path.join(COCO8, "coco8.yaml"), "--save-json", out])
    if not checks.expect(r.returncode == 0 and os.path.exists(out), "val --save-json writes the file", r):
        return
    preds = json.load(open(out))
    keys_ok = all(set(p) == {"image_id", "category_id", "bbox", "score"} and len(p["bbox"]) == 4 for p in preds)
    ids = {p["image_id"] for p in preds}
    check("COCO results: image_id (numeric stems as ints), category_id, bbox, score", keys_ok and preds and
          ids <= {9, 25, 30, 34, 36, 42, 49, 61} and all(isinstance(i, int) for i in ids), str(preds[:2]))
    check("COCO 91-category ids", all(p["category_id"] in COCO91 for p in preds),
          str(sorted({p["category_id"] for p in preds})))
    # The best box of each image is kiln predict's box (xywh vs xyxy) of the same class.
    images = os.path.join(COCO8, "images", "val")
    res = predict(["--model", DETECT, "--source", images, "--cache-dir", cache], os.path.join(tmp, "p.json"))
    matched, total = 0, 0
    for e in res:
        if not e["detections"]:
            continue
        image_id = int(os.path.splitext(e["image"])[0])
        best = max((p for p in preds if p["image_id"] == image_id), key=lambda p: p["score"])
        x, y, w, h = best["bbox"]
        top = e["detections"][0]
        total += 1
        matched += COCO91[top["class_id"]] == best["category_id"] and iou([x, y, x + w, y + h], top["box_xyxy"]) > 0.95
    check("COCO boxes are kiln predict's boxes", total > 0 and matched == total, f"{matched}/{total} images")


def changed_pixels(path, original):
    return int((np.abs(cv2.imread(path).astype(int) - original.astype(int)).sum(axis=2) > 30).sum())


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-outputs-")
    cache = os.path.join(tmp, "cache")
    try:
        check_polygons(tmp, cache)
        check_rle(tmp, cache)
        check_coco_json(tmp, cache)

        dog = os.path.join(ASSETS, "images", "dog.jpg")
        full = predict(["--model", DETECT, "--source", dog, "--conf", "0.01", "--cache-dir", cache],
                       os.path.join(tmp, "a.json"))
        agn = predict(["--model", DETECT, "--source", dog, "--conf", "0.01", "--agnostic-nms", "--cache-dir", cache],
                      os.path.join(tmp, "b.json"))
        if full and agn:
            boxes = [d["box_xyxy"] for d in agn[0]["detections"]]
            overlap = max((iou(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]), default=0)
            check("--agnostic-nms: fewer boxes, none overlapping another above IoU 0.7",
                  len(boxes) < len(full[0]["detections"]) and overlap <= 0.7,
                  f"{len(boxes)} vs {len(full[0]['detections'])}, max IoU {overlap:.2f}")

        original = cv2.imread(BUS)
        counts = {}
        for name, extra in (("default", []), ("wide", ["--line-width", "8"]), ("no-labels", ["--hide-labels"]),
                            ("no-conf", ["--hide-conf"])):
            save = os.path.join(tmp, name)
            predict(["--model", DETECT, "--source", BUS, "--save", save, "--cache-dir", cache] + extra,
                    os.path.join(tmp, "s.json"))
            counts[name] = changed_pixels(os.path.join(save, "bus.jpg"), original)
        check("--line-width 8 draws more, --hide-labels and --hide-conf less",
              counts["wide"] > counts["default"] > counts["no-conf"] > counts["no-labels"] > 0, str(counts))

        src = cv2.VideoCapture(CLIP)
        fps = src.get(cv2.CAP_PROP_FPS)
        src.release()
        save = os.path.join(tmp, "video")
        predict(["--model", DETECT, "--source", CLIP, "--vid-stride", "3", "--max-frames", "4", "--save", save,
                 "--cache-dir", cache], os.path.join(tmp, "v.json"))
        cap = cv2.VideoCapture(os.path.join(save, os.path.basename(CLIP)))
        got = cap.get(cv2.CAP_PROP_FPS)
        check("--vid-stride 3: the saved video plays at fps / 3", abs(got - fps / 3) < 0.01, f"{got} vs {fps}/3")

        work = os.path.join(tmp, "work")
        os.makedirs(work)
        for _ in range(2):
            r = run_kiln(["predict", "--model", DETECT, "--source", BUS, "--save", "--cache-dir", cache], cwd=work)
            checks.expect(r.returncode == 0, "--save without a folder exits 0", r)
        check("--save without a folder: runs/predict, then runs/predict2",
              all(os.path.exists(os.path.join(work, "runs", d, "bus.jpg")) for d in ("predict", "predict2")),
              str(os.listdir(os.path.join(work, "runs"))) if os.path.isdir(os.path.join(work, "runs")) else "no runs/")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("polygons, RLE masks, COCO JSON, agnostic NMS, drawing options, vid-stride timing and run folders")


if __name__ == "__main__":
    main()
