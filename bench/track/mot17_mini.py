#!/usr/bin/python3
"""MOTA / IDF1 of `kiln track` and Ultralytics 8.4.50's `track` on MOT17-mini (the first 4-8
frames of 7 MOT17 training sequences), same detector weights (kiln: models/yolo11n.onnx,
Ultralytics: models/pt/yolo11n.pt), persons only, conf 0.1, ByteTrack and BoT-SORT.

Both trackers take each sequence's frames as one sequence (Ultralytics with persist=True);
both BoT-SORTs apply botsort.yaml's sparseOptFlow motion compensation. Scoring with
py-motmetrics (CLEAR MOT and ID metrics, IoU >= 0.5): ground truth rows marked for
evaluation (flag 1) of class 1 (pedestrian); predictions matched to other ground-truth rows
(static persons, distractors, reflections...) are dropped first, as the MOTChallenge kit
does. The sequences are very short, so the figures compare the two trackers, not MOT17 scores.

Needs Debian's python3 with python3-torch, python3-opencv, python3-scipy, python3-yaml,
python3-pandas and `pip install --no-deps --break-system-packages ultralytics==8.4.50 lap
motmetrics==1.4.0`:
  YOLO_OFFLINE=1 YOLO_AUTOINSTALL=false /usr/bin/python3 bench/track/mot17_mini.py \
      --kiln build/kiln --assets ../shared/assets [--out DIR] [--only kiln|ultralytics] [--tracker botsort.yaml]
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")

import motmetrics as mm  # noqa: E402
import numpy as np  # noqa: E402

SEQUENCES = ("02", "04", "05", "09", "10", "11", "13")
TRACKERS = ("bytetrack.yaml", "botsort.yaml")
EVAL_CLASSES = {1}                     # pedestrian
DISTRACTOR_CLASSES = {2, 7, 8, 12}     # person on vehicle, static person, distractor, reflection


def read_rows(path):
    """frame -> list of (id, x, y, w, h, flag, class) rows of a MOT txt file."""
    rows = {}
    if os.path.getsize(path) == 0:
        return rows
    for r in np.loadtxt(path, delimiter=",", ndmin=2):
        rows.setdefault(int(r[0]), []).append(r[1:])
    return rows


def evaluate(gt_path, pred_path, frames, name):
    gt, pred = read_rows(gt_path), read_rows(pred_path)
    acc = mm.MOTAccumulator(auto_id=True)
    for f in range(1, frames + 1):
        g = np.asarray(gt.get(f, []), dtype=float).reshape(-1, 8)
        p = np.asarray(pred.get(f, []), dtype=float).reshape(-1, 9)
        keep_gt = (g[:, 5] == 1) & np.isin(g[:, 6], list(EVAL_CLASSES))
        # Drop predictions overlapping a distractor (IoU >= 0.5), as the MOT devkit drops the ones matched to one.
        distract = np.isin(g[:, 6], list(DISTRACTOR_CLASSES))
        if len(p) and distract.any():
            d = mm.distances.iou_matrix(g[distract, 1:5], p[:, 1:5], max_iou=0.5)
            p = p[~np.isfinite(d).any(axis=0)]
        g = g[keep_gt]
        acc.update(g[:, 0].astype(int).tolist(), p[:, 0].astype(int).tolist(),
                   mm.distances.iou_matrix(g[:, 1:5], p[:, 1:5], max_iou=0.5))
    return acc


def ultralytics_mot(assets, seq_dir, tracker, out):
    from ultralytics import YOLO

    model = YOLO(str(assets / "models" / "pt" / "yolo11n.pt"))
    lines = []
    results = model.track(source=str(seq_dir), tracker=tracker, persist=True, classes=[0], conf=0.1, stream=True,
                          verbose=False)
    for frame, r in enumerate(results, start=1):
        b = r.boxes
        if b.id is None:
            continue
        for (x1, y1, x2, y2), tid, c in zip(b.xyxy.tolist(), b.id.int().tolist(), b.conf.tolist()):
            lines.append(f"{frame},{tid},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{c:.6f},-1,-1,-1\n")
    out.write_text("".join(lines))


def kiln_mot(kiln, assets, seq_dir, tracker, out):
    subprocess.run([kiln, "track", "--model", str(assets / "models" / "yolo11n.onnx"), "--source", str(seq_dir),
                    "--tracker", tracker, "--classes", "0", "--mot", str(out)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--assets", required=True, type=Path)
    ap.add_argument("--out", type=Path, help="keep the MOT txt files here")
    ap.add_argument("--only", choices=("kiln", "ultralytics"), help="run one side only (the other's rows are unchanged)")
    ap.add_argument("--tracker", choices=TRACKERS, help="run one tracker only")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="kiln-mot17-"))
    mh = mm.metrics.create()
    rows = []
    for tracker in [args.tracker] if args.tracker else TRACKERS:
        for runner, label in ((kiln_mot, "kiln"), (ultralytics_mot, "ultralytics")):
            if args.only and label != args.only:
                continue
            accs, names = [], []
            for seq in SEQUENCES:
                seq_root = args.assets / "datasets" / "MOT17-mini" / "train" / f"MOT17-{seq}-FRCNN"
                frames = len(list((seq_root / "img1").iterdir()))
                pred = out / label / tracker.replace(".yaml", "") / f"MOT17-{seq}.txt"
                pred.parent.mkdir(parents=True, exist_ok=True)
                if runner is kiln_mot:
                    runner(args.kiln, args.assets, seq_root / "img1", tracker, pred)
                else:
                    runner(args.assets, seq_root / "img1", tracker, pred)
                accs.append(evaluate(seq_root / "gt" / "gt.txt", pred, frames, seq))
                names.append(seq)
            summary = mh.compute_many(accs, names=names, metrics=["mota", "idf1", "num_switches", "num_false_positives",
                                                                   "num_misses", "num_objects"], generate_overall=True)
            o = summary.loc["OVERALL"]
            rows.append((label, tracker, o["mota"], o["idf1"], int(o["num_switches"]), int(o["num_false_positives"]),
                         int(o["num_misses"]), int(o["num_objects"])))
    print("| tracker | config | MOTA | IDF1 | ID switches | FP | FN | GT boxes |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2] * 100:.1f} | {r[3] * 100:.1f} | {r[4]} | {r[5]} | {r[6]} | {r[7]} |")
    print(f"MOT txt files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
