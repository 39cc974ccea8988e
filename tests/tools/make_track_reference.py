#!/usr/bin/python3
"""Reference tracks for kiln's trackers: per-frame detections (conf 0.1, as `yolo track`
predicts) on the assets' videos and MOT17-mini, and the tracks Ultralytics 8.4.50's
BYTETracker and BOTSORT (ultralytics.trackers) make of them, written to
tests/data/track/<name>.json; plus lap.lapjv results on small cost matrices with ties
(lapjv_cases.json). The detections come from Ultralytics' predict with models/pt/yolo11n.pt,
except kiln_<name>.json: there from `kiln predict --json` with models/yolo11n.onnx, the
reference of `kiln track` in tests/cli/test_track.py.

`bytetrack`, `botsort` and `botsort_reid` give the trackers the detections without the image,
so BOTSORT runs without global motion compensation (as gmc_method: none); `botsort_reid`
adds synthetic 8-d appearance features: one random direction per object (the ByteTrack id
of the detection) plus noise. On folders of frames (MOT17-mini), `botsort_gmc` is BOTSORT
with botsort.yaml's sparseOptFlow motion compensation on each frame as cv2.imread reads it
(the frames' file names under `frames_dir`).

Needs Debian's python3 with python3-torch, python3-opencv, python3-scipy, python3-yaml and
`pip install --no-deps --break-system-packages ultralytics==8.4.50 lap`:
  YOLO_OFFLINE=1 YOLO_AUTOINSTALL=false /usr/bin/python3 tests/tools/make_track_reference.py \
      --kiln build/kiln --assets ../shared/assets
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")

import cv2  # noqa: E402
import lap  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import ultralytics  # noqa: E402
from ultralytics.engine.results import Boxes  # noqa: E402
from ultralytics.trackers import BOTSORT, BYTETracker  # noqa: E402
from ultralytics.utils import YAML  # noqa: E402

KILN_MODEL = "models/yolo11n.onnx"
ULTRALYTICS_MODEL = "models/pt/yolo11n.pt"
CONF = 0.1
FEATURE_DIM = 8
# (name, detector, source under the assets, vid_stride, max_frames; 0: all)
SOURCES = [
    ("person_walking", "ultralytics", "video/person_walking_office_720p_6s.mp4", 1, 40),
    ("traffic_highway", "ultralytics", "video/traffic_highway_720p_30s.mp4", 3, 60),
    ("kiln_person_walking", "kiln", "video/person_walking_office_720p_6s.mp4", 2, 12),
    ("kiln_mot17_05", "kiln", "datasets/MOT17-mini/train/MOT17-05-FRCNN/img1", 1, 0),
] + [
    (f"mot17_{seq}", "ultralytics", f"datasets/MOT17-mini/train/MOT17-{seq}-FRCNN/img1", 1, 0)
    for seq in ("02", "04", "05", "09", "10", "11", "13")
]


def f32(v):
    """The shortest decimal of a float32 value, as a Python float (small JSON, exact float32)."""
    return float(str(np.float32(v)))


def kiln_detections(kiln, assets, source, vid_stride, max_frames):
    """Per frame: float32 array (N, 6) of x1, y1, x2, y2, score, class."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pred.json"
        cmd = [kiln, "predict", "--model", str(assets / KILN_MODEL), "--source", str(assets / source), "--conf", str(CONF),
               "--json", str(out), "--vid-stride", str(vid_stride), "--max-frames", str(max_frames)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        entries = json.loads(out.read_text())["results"]
    frames = entries[0]["frames"] if "frames" in entries[0] else entries  # a video, or a folder of images
    dets = []
    for f in frames:
        rows = [[*d["box_xyxy"], d["confidence"], d["class_id"]] for d in f["detections"]]
        dets.append(np.asarray(rows, dtype=np.float32).reshape(-1, 6))
    return dets


def ultralytics_detections(assets, source, vid_stride, max_frames):
    from ultralytics import YOLO

    model = YOLO(str(assets / ULTRALYTICS_MODEL))
    dets = []
    for result in model.predict(str(assets / source), conf=CONF, vid_stride=vid_stride, stream=True, verbose=False):
        if max_frames and len(dets) == max_frames:
            break
        b = result.boxes
        rows = np.concatenate([b.xyxy.numpy(), b.conf.numpy()[:, None], b.cls.numpy()[:, None]], axis=1)
        dets.append(rows.astype(np.float32).reshape(-1, 6))
    return dets


def tracker_config(name):
    cfg = YAML.load(Path(ultralytics.__file__).parent / "cfg" / "trackers" / name)
    return SimpleNamespace(**cfg)


def run_tracker(tracker, dets, feats=None, images=None):
    """Per frame: the tracker's output rows (x1, y1, x2, y2, id, score, cls, idx) as float32."""
    out = []
    for i, d in enumerate(dets):
        boxes = Boxes(d.copy(), (720, 1280))
        f = None if feats is None else torch.from_numpy(feats[i].copy())
        img = None if images is None else cv2.imread(str(images[i]))
        out.append(tracker.update(boxes, img, f))
    return out


def tracks_json(frames):
    return [[[int(r[4]), f32(r[0]), f32(r[1]), f32(r[2]), f32(r[3]), f32(r[5]), int(r[6])] for r in rows] for rows in frames]


def synthetic_features(dets, byte_frames, high, low, rng):
    """One random direction per ByteTrack id (plus noise) for the detections it tracked; a
    random vector for the others. Ultralytics' idx indexes the high- or low-score subset."""
    directions = {}
    feats = []
    for d, rows in zip(dets, byte_frames):
        f = rng.standard_normal((len(d), FEATURE_DIM))
        first = np.nonzero(d[:, 4] >= np.float32(high))[0]
        second = np.nonzero((d[:, 4] > np.float32(low)) & (d[:, 4] < np.float32(high)))[0]
        for r in rows:
            subset = first if r[5] >= np.float32(high) else second
            k = subset[int(r[7])]
            tid = int(r[4])
            if tid not in directions:
                directions[tid] = rng.standard_normal(FEATURE_DIM) * 2
            f[k] = directions[tid] + 0.3 * rng.standard_normal(FEATURE_DIM)
        feats.append(np.asarray([[f32(round(v, 3)) for v in row] for row in f], dtype=np.float32).reshape(-1, FEATURE_DIM))
    return feats


def lapjv_cases(rng):
    """Small matrices with many equal costs, solved by lap.lapjv as Ultralytics calls it."""
    cases = []
    for k in range(40):
        rows, cols = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        cost = rng.integers(0, 6, size=(rows, cols)) / 5.0 if k % 2 == 0 else rng.random((rows, cols)).round(6)
        limit = float(rng.choice([0.5, 0.7, 0.8, 1.1]))
        _, x, y = lap.lapjv(cost, extend_cost=True, cost_limit=limit)
        cases.append({"cost": cost.tolist(), "cost_limit": limit, "x": x.tolist(), "y": y.tolist()})
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", help="the kiln binary; without it the kiln_* references are left as they are")
    ap.add_argument("--assets", required=True, type=Path)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "track")
    args = ap.parse_args()
    assert ultralytics.__version__ == "8.4.50", ultralytics.__version__
    args.out.mkdir(parents=True, exist_ok=True)
    for name, detector, source, stride, max_frames in SOURCES:
        if detector == "kiln" and not args.kiln:
            continue
        if detector == "kiln":
            dets = kiln_detections(args.kiln, args.assets, source, stride, max_frames)
        else:
            dets = ultralytics_detections(args.assets, source, stride, max_frames)
        byte_cfg, bot_cfg = tracker_config("bytetrack.yaml"), tracker_config("botsort.yaml")
        byte = run_tracker(BYTETracker(byte_cfg), dets)
        bot = run_tracker(BOTSORT(bot_cfg), dets)
        rng = np.random.default_rng(zlib.crc32(name.encode()))  # each file on its own seed
        feats = synthetic_features(dets, byte, byte_cfg.track_high_thresh, byte_cfg.track_low_thresh, rng)
        reid_cfg = tracker_config("botsort.yaml")
        reid_cfg.with_reid, reid_cfg.model = True, "auto"
        bot_reid = run_tracker(BOTSORT(reid_cfg), dets, feats)
        frames_dir = args.assets / source
        frames = sorted(p.name for p in frames_dir.iterdir()) if frames_dir.is_dir() else []
        if frames:
            assert len(frames) == len(dets), (source, len(frames), len(dets))
            bot_gmc = run_tracker(BOTSORT(bot_cfg), dets, images=[frames_dir / f for f in frames])
        ref = {
            "source": source,
            "model": KILN_MODEL if detector == "kiln" else ULTRALYTICS_MODEL,
            "detector": detector,
            "conf": CONF,
            "vid_stride": stride,
            "max_frames": max_frames,
            "made_with": f"ultralytics {ultralytics.__version__}, lap {lap.__version__}, opencv {cv2.__version__}",
            "detections": [[[f32(v) for v in row[:5]] + [int(row[5])] for row in d] for d in dets],
            "features": [[[f32(v) for v in row] for row in f] for f in feats],
            "tracks": {"bytetrack": tracks_json(byte), "botsort": tracks_json(bot), "botsort_reid": tracks_json(bot_reid)},
        }
        if frames:
            ref["frames_dir"], ref["frames"] = source, frames
            ref["tracks"]["botsort_gmc"] = tracks_json(bot_gmc)
        path = args.out / f"{name}.json"
        path.write_text(json.dumps(ref, separators=(",", ":")) + "\n")
        n_ids = {k: len({t[0] for f in v for t in f}) for k, v in ref["tracks"].items()}
        print(f"{path}: {len(dets)} frames, {sum(len(d) for d in dets)} detections, track ids {n_ids}")
    path = args.out / "lapjv_cases.json"
    path.write_text(json.dumps(lapjv_cases(np.random.default_rng(0)), separators=(",", ":")) + "\n")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
