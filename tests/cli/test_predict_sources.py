"""kiln predict sources and label files: a quoted glob and a directory expand to the same
sorted images; --batch 2 on a static model gives the batch-1 results; --save-txt writes
Ultralytics' YOLO txt lines, checked token for token against the same formatting
(Results.save_txt: "%g" of float32 values normalised by the image size) applied to the
JSON results, for detect, pose, obb and classify, and the segment polygons for their shape;
a file name that is not UTF-8 still gets its JSON."""
import json
import os
import shutil
import tempfile

import cv2
import numpy as np

from kiln_cli import ASSETS, Checks, run_kiln

checks = Checks()
check = checks.check
IMAGES = os.path.join(ASSETS, "images")


def model(name):
    return os.path.join(ASSETS, "models", name)


def predict(label, args):
    r = run_kiln(["predict"] + args)
    check(f"{label}: exit 0", r.returncode == 0, r.stderr.strip())
    return r


def g(*values):
    """Ultralytics' ("%g " * len(line)).rstrip() % line."""
    return ("%g " * len(values)).rstrip() % values


def labels(save, stem):
    path = os.path.join(save, "labels", stem + ".txt")
    return open(path).read().splitlines() if os.path.exists(path) else []


def expected_detect_lines(dets, w, h, conf=True, kpt_visible=None):
    lines = []
    f = np.float32
    for d in dets:
        x1, y1, x2, y2 = (f(v) for v in d["box_xyxy"])
        vals = [d["class_id"], (x1 + x2) / f(2) / f(w), (y1 + y2) / f(2) / f(h), (x2 - x1) / f(w), (y2 - y1) / f(h)]
        for kx, ky, kc in d.get("keypoints_xyc", []):
            vals += [f(kx) / f(w), f(ky) / f(h)] + ([f(kc)] if kpt_visible else [])
        if conf:
            vals.append(f(d["confidence"]))
        lines.append(g(*[float(v) for v in vals]))
    return lines


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-sources-")
    try:
        # Glob and directory: same images, same order (full path, byte order).
        r = predict("glob", ["--model", model("yolo11n.onnx"), "--source", os.path.join(IMAGES, "[bdg]*.jpg"),
                             "--json", os.path.join(tmp, "glob.json"), "--save", os.path.join(tmp, "det"),
                             "--save-txt", "--save-conf"])
        if r.returncode == 0:
            got = json.load(open(os.path.join(tmp, "glob.json")))["results"]
            check("glob expands sorted", [e["image"] for e in got] == ["bus.jpg", "dog.jpg", "giraffe.jpg"],
                  str([e["image"] for e in got]))
            for e in got:
                h, w = cv2.imread(os.path.join(IMAGES, e["image"])).shape[:2]
                want = expected_detect_lines(e["detections"], w, h)
                mine = labels(os.path.join(tmp, "det"), e["image"][:-4])
                check(f"detect txt {e['image']}: Ultralytics lines", mine == want and len(mine) > 0,
                      f"\n  got  {mine[:2]}\n  want {want[:2]}")
            # --batch 2: the dynamic export becomes a static 2x3x640x640 engine; the same
            # detections as the static batch-1 export.
            r = predict("--batch 2", ["--model", model("yolo11n-dynamic.onnx"), "--source", os.path.join(IMAGES, "[bd]*.jpg"),
                                      "--batch", "2", "--json", os.path.join(tmp, "b2.json")])
            if r.returncode == 0:
                b2 = json.load(open(os.path.join(tmp, "b2.json")))["results"]
                ok = [e["image"] for e in b2] == ["bus.jpg", "dog.jpg"]
                for a, b in zip(got, b2):
                    ok &= len(a["detections"]) == len(b["detections"]) and all(
                        abs(x["confidence"] - y["confidence"]) < 1e-4 for x, y in zip(a["detections"], b["detections"]))
                check("--batch 2 matches batch 1", ok, "" if ok else json.dumps(b2)[:300])
                check("--batch 2 runs at batch shape 2", "at shape (2, 3, 640, 640)" in r.stdout, r.stdout[-200:])

        d = os.path.join(tmp, "dir")
        os.makedirs(d)
        for n in ("zidane.jpg", "bus.jpg"):
            shutil.copy(os.path.join(IMAGES, n), os.path.join(d, n))
        open(os.path.join(d, "notes.txt"), "w").write("skipped\n")
        r = predict("directory", ["--model", model("yolo11n.onnx"), "--source", d, "--json", os.path.join(tmp, "d.json")])
        if r.returncode == 0:
            names = [e["image"] for e in json.load(open(os.path.join(tmp, "d.json")))["results"]]
            check("directory sorted, non-images skipped", names == ["bus.jpg", "zidane.jpg"], str(names))
        checks.expect_error("glob without matches", ["predict", "--model", model("yolo11n.onnx"), "--source",
                                                      os.path.join(IMAGES, "*.nothing")], ["*.nothing"])
        checks.expect_error("--save-txt without --save", ["predict", "--model", model("yolo11n.onnx"), "--source",
                                                           os.path.join(IMAGES, "bus.jpg"), "--save-txt"], ["--save"])

        # Pose: box + 17 keypoints with visibility; obb: 4 corners; classify: "0.61 name".
        zid = os.path.join(IMAGES, "zidane.jpg")
        h, w = cv2.imread(zid).shape[:2]
        save = os.path.join(tmp, "pose")
        if predict("pose", ["--model", model("yolo11n-pose.onnx"), "--source", zid, "--save", save, "--save-txt",
                            "--json", os.path.join(tmp, "p.json")]).returncode == 0:
            dets = json.load(open(os.path.join(tmp, "p.json")))["results"][0]["detections"]
            mine = labels(save, "zidane")
            want = expected_detect_lines(dets, w, h, conf=False, kpt_visible=True)
            check("pose txt: box + 17 x y v", mine == want and len(mine[0].split()) == 5 + 51, f"{mine[:1]} vs {want[:1]}")

        # OBB (random weights: every anchor scores ~8e-4, hence the low threshold).
        dota_dir = os.path.join(ASSETS, "datasets", "dota8", "images", "train")
        dota = os.path.join(dota_dir, sorted(os.listdir(dota_dir))[0])
        h, w = cv2.imread(dota).shape[:2]
        save = os.path.join(tmp, "obb")
        if predict("obb", ["--model", model("yolo11n-obb-random.onnx"), "--source", dota, "--save", save, "--save-txt",
                           "--conf", "0.0005", "--json", os.path.join(tmp, "o.json")]).returncode == 0:
            dets = json.load(open(os.path.join(tmp, "o.json")))["results"][0]["detections"]
            f = np.float32
            want = []
            for dd in dets:
                cx, cy, bw, bh, a = (f(v) for v in dd["box_xywhr"])
                c, s = np.cos(a), np.sin(a)
                v1, v2 = (bw / f(2) * c, bw / f(2) * s), (-bh / f(2) * s, bh / f(2) * c)
                pts = [(cx + v1[0] + v2[0], cy + v1[1] + v2[1]), (cx + v1[0] - v2[0], cy + v1[1] - v2[1]),
                       (cx - v1[0] - v2[0], cy - v1[1] - v2[1]), (cx - v1[0] + v2[0], cy - v1[1] + v2[1])]
                want.append([dd["class_id"]] + [float(q) for x, y in pts for q in (x / f(w), y / f(h))])
            mine = [[float(t) for t in line.split()] for line in labels(save, os.path.basename(dota)[:-4])]
            ok = len(mine) == len(want) and len(mine) > 0 and all(
                m[0] == e[0] and len(m) == 9 and max(abs(a - b) for a, b in zip(m, e)) < 2e-6 for m, e in zip(mine, want))
            check("obb txt: cls + 4 normalised corners", ok, f"{len(mine)} lines vs {len(want)}")

        save = os.path.join(tmp, "cls")
        h, w = cv2.imread(zid).shape[:2]
        if predict("classify", ["--model", model("yolo11n-cls-random.onnx"), "--source", zid, "--save", save,
                                "--save-txt", "--json", os.path.join(tmp, "c.json")]).returncode == 0:
            top = json.load(open(os.path.join(tmp, "c.json")))["results"][0]["top5"]
            want = [f"{t['confidence']:.2f} {t['class_name']}" for t in top]
            check("classify txt: top-5 '0.61 name'", labels(save, "zidane") == want, f"{labels(save, 'zidane')} vs {want}")

        # Segment: one polygon per detection, normalised, inside its (normalised) box.
        gir = os.path.join(IMAGES, "giraffe.jpg")
        h, w = cv2.imread(gir).shape[:2]
        save = os.path.join(tmp, "seg")
        if predict("segment", ["--model", model("yolov8n-seg.onnx"), "--source", gir, "--save", save, "--save-txt",
                               "--json", os.path.join(tmp, "s.json")]).returncode == 0:
            dets = json.load(open(os.path.join(tmp, "s.json")))["results"][0]["detections"]
            mine = labels(save, "giraffe")
            ok = len(mine) == len(dets) > 0
            for line, dd in zip(mine, dets):
                t = [float(v) for v in line.split()]
                xs, ys = np.array(t[1::2]) * w, np.array(t[2::2]) * h
                x1, y1, x2, y2 = dd["box_xyxy"]
                ok &= int(t[0]) == dd["class_id"] and len(t) % 2 == 1 and len(xs) >= 4
                # Masks are cropped to the box at the 160x160 prototype resolution, so they may
                # overhang it by a few pixels after upsampling.
                ok &= xs.min() >= x1 - 4 and xs.max() <= x2 + 4 and ys.min() >= y1 - 4 and ys.max() <= y2 + 4
                # The polygon's area is close to the mask's pixel count.
                area = 0.5 * abs(np.dot(xs, np.roll(ys, 1)) - np.dot(ys, np.roll(xs, 1)))
                ok &= abs(area - dd["mask_area"]) < 0.1 * dd["mask_area"]
            check("segment txt: cls + polygon within the box, area ~ mask", ok, f"{len(mine)} lines, {len(dets)} dets")
        # A file name that is not UTF-8 (Latin-1 bytes, as Linux allows) is written to the
        # JSON with U+FFFD in place of the bad byte; it used to end kiln with an exception.
        latin1 = os.path.join(tmp, "latin1")
        os.makedirs(latin1)
        shutil.copy(os.path.join(IMAGES, "bus.jpg"), os.path.join(latin1, os.fsdecode(b"b\xe9s.jpg")))
        out = os.path.join(tmp, "latin1.json")
        if predict("a Latin-1 file name", ["--model", model("yolo11n.onnx"), "--source", latin1, "--json", out]).returncode == 0:
            got = json.load(open(out, encoding="utf-8"))["results"]
            check("a Latin-1 file name: its result, named with U+FFFD",
                  len(got) == 1 and got[0]["image"] == "b\ufffds.jpg" and len(got[0]["detections"]) > 0, str(got)[:200])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("predict expands globs/directories, batches, and writes Ultralytics YOLO txt labels")


if __name__ == "__main__":
    main()
