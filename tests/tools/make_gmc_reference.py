#!/usr/bin/python3
"""Reference camera-motion warps for kiln's BoT-SORT motion compensation (src/track/gmc*):
Ultralytics 8.4.50's GMC (ultralytics/trackers/utils/gmc.py) with each method on frames of
MOT17-mini, called as BOTSORT calls it: the BGR frame from cv2.imread and the frame's
high-score boxes (score >= track_high_thresh of botsort.yaml, from the Ultralytics
detections in tests/data/track/mot17_<seq>.json), an exception giving the identity.
Written to tests/data/track/gmc_warps.json.

Needs Debian's python3 with python3-opencv (the libopencv kiln links) and
`pip install --no-deps --break-system-packages ultralytics==8.4.50`:
  YOLO_OFFLINE=1 YOLO_AUTOINSTALL=false /usr/bin/python3 tests/tools/make_gmc_reference.py \
      --assets ../shared/assets
"""
import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import ultralytics  # noqa: E402
from ultralytics.trackers.utils.gmc import GMC  # noqa: E402

HIGH_THRESH = 0.25  # botsort.yaml's track_high_thresh
# (method, MOT17 sequence): sparseOptFlow (BoT-SORT's default) on three moving-camera
# sequences, the others on fewer frames (sift and ecc are slow at 1080p).
CASES = [("sparseOptFlow", "05"), ("sparseOptFlow", "10"), ("sparseOptFlow", "13"), ("orb", "05"), ("orb", "10"),
         ("sift", "05"), ("ecc", "05")]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--assets", required=True, type=Path)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "track" / "gmc_warps.json")
    args = ap.parse_args()
    assert ultralytics.__version__ == "8.4.50", ultralytics.__version__
    cases = []
    for method, seq in CASES:
        frames_dir = f"datasets/MOT17-mini/train/MOT17-{seq}-FRCNN/img1"
        frames = sorted(p.name for p in (args.assets / frames_dir).iterdir())
        ref = json.loads((args.out.parent / f"mot17_{seq}.json").read_text())
        gmc = GMC(method=method)
        warps = []
        for name, rows in zip(frames, ref["detections"]):
            dets = np.asarray(rows, dtype=np.float32).reshape(-1, 6)
            high = dets[dets[:, 4] >= np.float32(HIGH_THRESH)][:, :4]
            try:
                warp = gmc.apply(cv2.imread(str(args.assets / frames_dir / name)), high)
            except Exception:
                warp = np.eye(2, 3)
            warps.append([float(v) for v in np.asarray(warp, dtype=np.float64).reshape(6)])
        cases.append({"method": method, "frames_dir": frames_dir, "frames": frames, "detections_from": f"mot17_{seq}.json",
                      "warps": warps})
        print(method, seq, len(frames), "frames; last warp", warps[-1])
    doc = {"made_with": f"ultralytics {ultralytics.__version__}, opencv {cv2.__version__}", "high_thresh": HIGH_THRESH,
           "cases": cases}
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
