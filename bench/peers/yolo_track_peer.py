#!/usr/bin/env python3
"""Ultralytics `yolo track` on a video, timed the way `kiln track` reports it: frames over the
wall time of the whole run (model load, decode, inference, tracker), and again over the run
after its first frame (start-up excluded). The peer of gpu_run.sh's `track` stage.

  YOLO_OFFLINE=1 python3 bench/peers/yolo_track_peer.py --model yolo11n.pt --source VIDEO \
      [--tracker bytetrack.yaml] [--device 0] [--half] [--imgsz 640]
Ultralytics decodes with OpenCV on the CPU; no video is written (save=False), as the kiln
run writes JSON lines and MOT txt only.
"""
import argparse
import json
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--tracker", default="bytetrack.yaml")
    p.add_argument("--device", default="0")
    p.add_argument("--half", action="store_true")
    p.add_argument("--imgsz", type=int, default=640)
    p.add_argument("--max-frames", type=int, default=0, help="stop after this many frames (0: all)")
    a = p.parse_args()

    t0 = time.perf_counter()
    from ultralytics import YOLO  # imported inside the timing: part of what a `yolo track` run costs

    model = YOLO(a.model)
    frames, first, ids = 0, None, set()
    for r in model.track(source=a.source, tracker=a.tracker, device=a.device, half=a.half, imgsz=a.imgsz,
                         stream=True, save=False, verbose=False, persist=True):
        frames += 1
        if first is None:
            first = time.perf_counter()
        if r.boxes is not None and r.boxes.id is not None:
            ids.update(int(i) for i in r.boxes.id.tolist())
        if a.max_frames and frames >= a.max_frames:
            break
    end = time.perf_counter()
    steady = (frames - 1) / (end - first) if frames > 1 and end > first else 0.0
    print(json.dumps({"peer": "ultralytics track", "model": a.model, "source": a.source, "tracker": a.tracker,
                      "half": a.half, "frames": frames, "wall_s": round(end - t0, 3),
                      "fps_end_to_end": round(frames / (end - t0), 1), "fps_after_first_frame": round(steady, 1),
                      "tracks": len(ids)}))


if __name__ == "__main__":
    main()
