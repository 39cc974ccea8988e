"""kiln pipeline (CPU): each stage's output equals running that stage by hand, i.e. cropping
the frame in Python (Ultralytics' save_one_box arithmetic with the stage's padding), fitting
the crop, running the stage model alone (kiln predict on the crop; OSNet through ONNX
Runtime with BoxMOT's preprocessing) and mapping the results back; embed vectors are cached
per track for `every` frames, or feed BoT-SORT's with_reid; the MOT rows are the JSON lines'
tracks; --save-crop writes Ultralytics' crops; a truncated video keeps the frames decoded
before the damage and exits 2 with one line; every config mistake is one line naming the
key, exit 2, nothing run."""
import json
import os
import shutil
import tempfile

import cv2
import numpy as np
import onnxruntime as ort

from kiln_cli import ASSETS, Checks, run_kiln

checks = Checks()
check = checks.check
MODELS = os.path.join(ASSETS, "models")
DETECTOR = os.path.join(MODELS, "yolo11n-dynamic.onnx")
POSE = os.path.join(MODELS, "yolo11n-pose.onnx")
CLS = os.path.join(MODELS, "yolo11n-cls-random.onnx")
OSNET = os.path.join(MODELS, "reid", "osnet_x0_25_msmt17.onnx")
ZIDANE = os.path.join(ASSETS, "images", "zidane.jpg")
DOG = os.path.join(ASSETS, "images", "dog.jpg")
CLIP = os.path.join(ASSETS, "video", "person_walking_office_720p_6s.mp4")

CONFIG = f"""
models:
  detector: {{source: {DETECTOR}, imgsz: 320}}
  small: {{source: {DETECTOR}, imgsz: 160}}
pipelines:
  people:
    detector: detector
    classes: person
    tracker: bytetrack.yaml
    stages:
      - {{name: pose, model: {POSE}, role: pose, padding: 0.1}}
      - {{name: reid, model: {OSNET}, role: embed, every: 2}}
  parts:
    detector: detector
    stages:
      - {{name: parts, model: {DETECTOR}, role: detect, classes: [bicycle, 7], crop: resize, imgsz: 160, conf: 0.1}}
  light:
    detector: small
    tracker: bytetrack.yaml
  reid:
    detector: small
    classes: person
    tracker: botsort_reid.yaml
    stages:
      - {{name: reid, model: {OSNET}, role: embed}}
"""
MOT_FRAMES = os.path.join(ASSETS, "datasets", "MOT17-mini", "train", "MOT17-09-FRCNN", "img1")


def region(box, w, h, padding, pad=0.0):
    """save_one_box's region: float32 xywh, size times gain (1 + 2 * padding) plus `pad`,
    truncated, clipped."""
    b = np.array(box, dtype=np.float32)
    c, s = (b[:2] + b[2:]) / np.float32(2), (b[2:] - b[:2]) * np.float32(1 + 2 * padding) + np.float32(pad)
    x1, y1 = (c - s / np.float32(2)).astype(np.int64)
    x2, y2 = (c + s / np.float32(2)).astype(np.int64)
    return int(np.clip(x1, 0, w)), int(np.clip(y1, 0, h)), int(np.clip(x2, 0, w)), int(np.clip(y2, 0, h))


def save_one_box_region(box, w, h):
    """Ultralytics' save_crop: gain 1.02, pad 10."""
    return region(box, w, h, 0.01, 10.0)


def predict_crops(model, crops, tmp, extra=()):
    """kiln predict of `model` on each crop (saved losslessly); their detection lists."""
    folder = os.path.join(tmp, "crops_in")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for i, c in enumerate(crops):
        cv2.imwrite(os.path.join(folder, f"{i:03d}.png"), c)
    out = os.path.join(tmp, "by_hand.json")
    r = run_kiln(["predict", "--model", model, "--source", folder, "--json", out, *extra])
    check(f"by hand: kiln predict {os.path.basename(model)} on {len(crops)} crops exits 0", r.returncode == 0, r.stderr.strip())
    return [e["detections"] for e in json.load(open(out))["results"]] if r.returncode == 0 else []


def close_lists(a, b, tol):
    return len(a) == len(b) and all(abs(x - y) <= tol for x, y in zip(a, b))


def same_detections(got, want, tol):
    return len(got) == len(want) and all(
        g["class_id"] == w["class_id"] and abs(g["confidence"] - w["confidence"]) < 1e-4
        and close_lists(g["box_xyxy"], w["box_xyxy"], tol)
        and close_lists(sum(g.get("keypoints_xyc", []), []), sum(w.get("keypoints_xyc", []), []), tol)
        for g, w in zip(got, want))


def shifted(dets, x0, y0, sx=1.0, sy=1.0):
    """Crop-input coordinates -> frame: / scale, + the region's origin."""
    out = []
    for d in dets:
        d = dict(d)
        b = d["box_xyxy"]
        d["box_xyxy"] = [b[0] / sx + x0, b[1] / sy + y0, b[2] / sx + x0, b[3] / sy + y0]
        if "keypoints_xyc" in d:
            d["keypoints_xyc"] = [[x / sx + x0, y / sy + y0, c] for x, y, c in d["keypoints_xyc"]]
        out.append(d)
    return out


def osnet_by_hand(crops):
    """BoxMOT's OSNet preprocessing (resize 128x256, RGB, ImageNet mean/std) in ONNX Runtime, L2-normalised."""
    sess = ort.InferenceSession(OSNET, providers=["CPUExecutionProvider"])
    mean, std = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)
    out = []
    for c in crops:
        x = cv2.resize(c, (128, 256), interpolation=cv2.INTER_LINEAR)[:, :, ::-1].astype(np.float32) / np.float32(255)
        x = ((x - mean) / std).transpose(2, 0, 1)[None]
        v = sess.run(None, {sess.get_inputs()[0].name: x})[0][0]
        out.append(v / np.linalg.norm(v))
    return out


def read_lines(path):
    lines = [json.loads(l) for l in open(path)]
    return [l for l in lines if "frame" in l], [l for l in lines if "summary" in l]


def check_people(tmp, yaml):
    """pose (letterbox, padding) and reid (embed, cached every 2 frames) on two frames."""
    frames_dir = os.path.join(tmp, "frames")
    os.makedirs(frames_dir)
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(ZIDANE, os.path.join(frames_dir, name))
    out, mot, save = os.path.join(tmp, "people.jsonl"), os.path.join(tmp, "people.txt"), os.path.join(tmp, "save")
    r = run_kiln(["pipeline", "people", "--config", yaml, "--source", frames_dir, "--json", out, "--mot", mot,
                  "--save", save, "--save-crop"])
    if not check("people: exit 0", r.returncode == 0, r.stderr.strip()):
        return
    frames, summary = read_lines(out)
    check("people: two frame lines and one summary", [f["frame"] for f in frames] == [1, 2] and len(summary) == 1,
          str([f.get("frame") for f in frames]))
    check("people: summary has FPS and per-stage times",
          summary and summary[0]["summary"]["end_to_end_fps"] > 0 and set(summary[0]["summary"]["stages"]) == {"pose", "reid"},
          str(summary)[:300])
    # On the CPU the stages run one after the other: their time together is at least the sum.
    speeds = [f["speed"] for f in frames]
    check("people: stages_ms covers every stage's ms, one after the other on the CPU", all(
        s["stages_ms"] >= sum(st["ms"] for st in s["stages"].values()) > 0 for s in speeds), str(speeds))
    objects = frames[0]["objects"]
    check("people: frame 1 has tracked persons", len(objects) >= 2 and all(o["class_name"] == "person" and o["track_id"] > 0
                                                                          for o in objects), str(objects)[:300])
    image = cv2.imread(ZIDANE)
    h, w = image.shape[:2]
    regions = [region(o["box_xyxy"], w, h, 0.1) for o in objects]
    crops = [image[y1:y2, x1:x2] for x1, y1, x2, y2 in regions]
    by_hand = predict_crops(POSE, crops, tmp)
    check("pose: every crop has a person with keypoints", len(by_hand) == len(crops) and all(by_hand), str(by_hand)[:200])
    for i, (o, (x1, y1, _, _)) in enumerate(zip(objects, regions)):
        got = o["stages"].get("pose", {}).get("detections")
        want = shifted(by_hand[i], x1, y1) if i < len(by_hand) else None
        checks.expect(got is not None and same_detections(got, want, 1e-3),
                      f"pose of object {i}: the stage's output == kiln predict on its crop, shifted by the crop's origin",
                      f"\n  pipeline {str(got)[:300]}\n  by hand  {str(want)[:300]}")
    for i, (o, v) in enumerate(zip(objects, osnet_by_hand(crops_for(image, objects, 0.0)))):
        e = o["stages"].get("reid", {})
        got = np.array(e.get("embedding", []), np.float32)
        ok = got.shape == v.shape and float(np.abs(got - v).max()) < 1e-4 and e.get("embedded_at") == 1
        check(f"reid of object {i}: unit vector == ONNX Runtime on its resized crop", ok,
              f"max diff {float(np.abs(got - v).max()) if got.shape == v.shape else got.shape}")
    second = {o["track_id"]: o["stages"]["reid"] for o in frames[1]["objects"] if "reid" in o["stages"]}
    first = {o["track_id"]: o["stages"]["reid"] for o in objects}
    check("reid every 2: frame 2 reuses each track's vector from frame 1",
          second and all(v["embedded_at"] == 1 and v["embedding"] == first[t]["embedding"] for t, v in second.items()),
          str({t: v["embedded_at"] for t, v in second.items()}))
    check("reid every 2: frame 2 ran no ReID crop", frames[1]["speed"]["stages"]["reid"]["crops"] == 0,
          str(frames[1]["speed"]))
    rows = [l.strip().split(",") for l in open(mot) if l.strip()]
    want = [(f["frame"], o["track_id"]) for f in frames for o in f["objects"]]
    check("MOT rows: frame and track id of every tracked object, in order",
          [(int(r[0]), int(r[1])) for r in rows] == want and all(len(r) == 10 for r in rows), f"{rows[:3]} vs {want[:3]}")
    check("MOT rows: left, top, width, height of the JSON boxes", all(
        abs(float(r[2]) - o["box_xyxy"][0]) <= 0.005 and abs(float(r[5]) - (o["box_xyxy"][3] - o["box_xyxy"][1])) <= 0.01
        for r, o in zip(rows, [o for f in frames for o in f["objects"]])), str(rows[:2]))
    saved = sorted(os.listdir(os.path.join(save, "crops", "person")))
    check("--save-crop: crops/person/<stem>.jpg, <stem>2.jpg, ... per image", saved[:2] == ["a.jpg", "a2.jpg"]
          and "b.jpg" in saved and len(saved) == sum(len(f["objects"]) for f in frames), str(saved))
    crop = cv2.imread(os.path.join(save, "crops", "person", "a.jpg"))
    x1, y1, x2, y2 = save_one_box_region(objects[0]["box_xyxy"], w, h)
    check("--save-crop: save_one_box's region (gain 1.02, pad 10)", crop is not None and crop.shape[:2] == (y2 - y1, x2 - x1),
          f"{None if crop is None else crop.shape} vs {(y2 - y1, x2 - x1)}")
    check("--save: annotated frames", sorted(f for f in os.listdir(save) if f.endswith(".jpg")) == ["a.jpg", "b.jpg"])


def crops_for(image, objects, padding):
    h, w = image.shape[:2]
    return [image[y1:y2, x1:x2] for x1, y1, x2, y2 in (region(o["box_xyxy"], w, h, padding) for o in objects)]


def check_parts(tmp, yaml):
    """A detect stage with crop: resize at 160 on bicycles and trucks (classes by name and id)."""
    out = os.path.join(tmp, "parts.jsonl")
    r = run_kiln(["pipeline", "parts", "--config", yaml, "--source", DOG, "--json", out])
    if not check("parts: exit 0", r.returncode == 0, r.stderr.strip()):
        return
    frames, _ = read_lines(out)
    objects = frames[0]["objects"]
    image = cv2.imread(DOG)
    h, w = image.shape[:2]
    chosen = [o for o in objects if o["class_id"] in (1, 7)]
    check("parts: the stage ran on the bicycle and the truck only",
          len(chosen) >= 2 and all(("parts" in o["stages"]) == (o in chosen) for o in objects),
          str([(o["class_name"], list(o["stages"])) for o in objects]))
    regions = [region(o["box_xyxy"], w, h, 0.0) for o in chosen]
    crops = [cv2.resize(image[y1:y2, x1:x2], (160, 160), interpolation=cv2.INTER_LINEAR) for x1, y1, x2, y2 in regions]
    by_hand = predict_crops(DETECTOR, crops, tmp, ["--imgsz", "160", "--conf", "0.1"])
    check("parts: the stage found boxes in the crops", sum(len(d) for d in by_hand) > 0, str(by_hand)[:200])
    for i, (o, (x1, y1, x2, y2)) in enumerate(zip(chosen, regions)):
        got = o["stages"]["parts"]["detections"]
        want = shifted(by_hand[i], x1, y1, 160 / (x2 - x1), 160 / (y2 - y1)) if i < len(by_hand) else None
        checks.expect(same_detections(got, want, 1e-2), f"parts of {o['class_name']}: the stage's output == kiln predict "
                      "on its crop resized to 160, scaled back", f"\n  pipeline {str(got)[:300]}\n  by hand  {str(want)[:300]}")


def check_with_reid(tmp, yaml):
    """BoT-SORT with_reid takes the embed stage's vectors: every detection is embedded every
    frame and each tracked object carries its detection's vector."""
    out = os.path.join(tmp, "reid.jsonl")
    r = run_kiln(["pipeline", "reid", "--config", yaml, "--source", MOT_FRAMES, "--json", out])
    if not check("with_reid: exit 0", r.returncode == 0, r.stderr.strip()):
        return
    frames, _ = read_lines(out)
    check("with_reid: every tracked object has a vector of its frame", frames and all(
        o["stages"].get("reid", {}).get("embedded_at") == f["frame"] for f in frames for o in f["objects"]),
        str([[o["stages"].get("reid", {}).get("embedded_at") for o in f["objects"]] for f in frames]))
    check("with_reid: every detection embedded (at least the tracked ones)", all(
        f["speed"]["stages"]["reid"]["crops"] >= len(f["objects"]) > 0 for f in frames), str([f["speed"] for f in frames]))
    image = cv2.imread(os.path.join(MOT_FRAMES, sorted(os.listdir(MOT_FRAMES))[0]))
    objects = frames[0]["objects"]
    for i, (o, v) in enumerate(zip(objects, osnet_by_hand(crops_for(image, objects, 0.0)))):
        got = np.array(o["stages"]["reid"]["embedding"], np.float32)
        check(f"with_reid: frame 1 object {i}'s vector == ONNX Runtime on its crop",
              got.shape == v.shape and float(np.abs(got - v).max()) < 1e-4)


def check_predict_save_crop(tmp):
    """kiln predict --save-crop: crops/<class>/<stem>.jpg, <stem>2.jpg, ... in box order, each
    save_one_box's region of its box."""
    bus = os.path.join(ASSETS, "images", "bus.jpg")
    save, out = os.path.join(tmp, "predict_save"), os.path.join(tmp, "predict.json")
    r = run_kiln(["predict", "--model", DETECTOR, "--imgsz", "320", "--source", bus, "--save", save, "--save-crop",
                  "--json", out])
    if not check("predict --save-crop: exit 0", r.returncode == 0, r.stderr.strip()):
        return
    dets = json.load(open(out))["results"][0]["detections"]
    h, w = cv2.imread(bus).shape[:2]
    want, seen = {}, {}
    for d in dets:
        n = seen[d["class_name"]] = seen.get(d["class_name"], 0) + 1
        x1, y1, x2, y2 = save_one_box_region(d["box_xyxy"], w, h)
        want[os.path.join(d["class_name"], "bus.jpg" if n == 1 else f"bus{n}.jpg")] = (y2 - y1, x2 - x1)
    got = {}
    for cls in os.listdir(os.path.join(save, "crops")):
        for f in os.listdir(os.path.join(save, "crops", cls)):
            got[os.path.join(cls, f)] = cv2.imread(os.path.join(save, "crops", cls, f)).shape[:2]
    check("predict --save-crop: one crop per detection, named and sized as Ultralytics' save_crop",
          len(dets) >= 4 and got == want, f"{got} vs {want}")


def check_truncated(tmp, yaml):
    cut = os.path.join(tmp, "cut.mp4")
    open(cut, "wb").write(open(CLIP, "rb").read()[:400000])
    out = os.path.join(tmp, "cut.jsonl")
    r = run_kiln(["pipeline", "light", "--config", yaml, "--source", cut, "--json", out])
    errors = [l for l in r.stderr.splitlines() if "error" in l]
    check("truncated video: exit 2, one error line naming the file", r.returncode == 2 and len(errors) == 1
          and "cut.mp4" in errors[0], r.stderr.strip()[-400:])
    if os.path.exists(out):
        frames, summary = read_lines(out)
        check("truncated video: the frames decoded before the damage are kept",
              len(frames) > 0 and [f["frame"] for f in frames] == list(range(1, len(frames) + 1)) and len(summary) == 1,
              f"{len(frames)} frames")
    else:
        check("truncated video: JSON lines written", False)


def check_config_errors(tmp):
    base = f"models: {{d: {{source: {DETECTOR}, imgsz: 160}}}}\npipelines:\n  p:\n"
    cases = [
        ("a classifier as detector", f"    detector: {CLS}\n", ["pipelines.p.detector", "classify", "detect"]),
        ("a classifier in a detect stage", f"    detector: d\n    stages: [{{name: s, model: {CLS}, role: detect}}]\n",
         ["pipelines.p.stages[0].model", "classify", "detect stage"]),
        ("a detector as embed model", f"    detector: d\n    stages: [{{name: s, model: d, role: embed}}]\n",
         ["pipelines.p.stages[0].model", "embed", "[N, dim]"]),
        ("a class the detector lacks", "    detector: d\n    classes: [person, plate]\n", ["pipelines.p.classes", "'plate'"]),
        ("a stage class the pipeline drops", "    detector: d\n    classes: [car]\n    stages: [{name: s, model: d, role: "
         "detect, classes: [person]}]\n", ["pipelines.p.stages[0].classes", "person"]),
        ("an unknown key", "    detector: d\n    stage: []\n", ["unknown key 'stage'", "valid: detector"]),
        ("with_reid without an embed stage", f"    detector: d\n    tracker: {os.path.join(tmp, 'reid.yaml')}\n",
         ["pipelines.p.tracker", "with_reid", "embed"]),
        ("a missing stage model", "    detector: d\n    stages: [{name: s, model: nope.onnx, role: pose}]\n",
         ["pipelines.p.stages[0].model", "nope.onnx"]),
    ]
    with open(os.path.join(tmp, "reid.yaml"), "w") as f:
        f.write("tracker_type: botsort\nwith_reid: True\n")
    out = os.path.join(tmp, "never.jsonl")
    for label, body, mentions in cases:
        yaml = os.path.join(tmp, "bad.yaml")
        open(yaml, "w").write(base + body)
        checks.expect_error(f"config error, {label}", ["pipeline", "p", "--config", yaml, "--source", ZIDANE, "--json", out],
                            ["bad.yaml", *mentions], out)
    checks.expect_error("config error, no such pipeline", ["pipeline", "q", "--config", yaml, "--source", ZIDANE],
                        ["no pipeline 'q'", "it has: p"])


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-pipeline-")
    try:
        yaml = os.path.join(tmp, "kiln.yaml")
        open(yaml, "w").write(CONFIG)
        open(os.path.join(tmp, "botsort_reid.yaml"), "w").write("tracker_type: botsort\nwith_reid: True\n")
        check_config_errors(tmp)
        check_predict_save_crop(tmp)
        check_truncated(tmp, yaml)
        check_parts(tmp, yaml)
        check_with_reid(tmp, yaml)
        check_people(tmp, yaml)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if checks.failures:
        raise SystemExit(f"{len(checks.failures)} check(s) failed")


if __name__ == "__main__":
    main()
