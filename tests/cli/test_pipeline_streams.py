"""kiln pipeline on a .streams list (CPU): the list's videos run side by side, each with its
own tracker and embed cache over the shared models, so each source's frames (objects, track
ids, boxes, ReID vectors and when they were computed) equal running that source alone, and
each gets its own saved video; a list with one broken entry writes the good source's frames,
says what failed in one line naming the bad file, and exits 2."""
import json
import os
import shutil
import tempfile

import cv2

from kiln_cli import ASSETS, Checks, run_kiln
from test_pipeline import CLIP, CONFIG, read_lines

checks = Checks()
check = checks.check
TRAFFIC = os.path.join(ASSETS, "video", "traffic_highway_720p_30s.mp4")
FRAMES = 3
# Every class tracked (people in one clip, vehicles in the other), a ReID vector per track
# refreshed every 2 frames: both per-sequence states, the tracker's ids and the embed cache.
STREAMS_PIPELINE = """
  streams:
    detector: detector
    tracker: bytetrack.yaml
    stages:
      - {name: reid, model: %s, role: embed, every: 2}
""" % os.path.join(ASSETS, "models", "reid", "osnet_x0_25_msmt17.onnx")


def pipeline(yaml, source, out, extra=()):
    return run_kiln(["pipeline", "streams", "--config", yaml, "--source", source, "--max-frames", str(FRAMES),
                     "--json", out, "--quiet", *extra], timeout=300)


def frames_of(path):
    """{source (the file's name): [(frame, objects)]} of a JSON lines file, in order."""
    frames, _ = read_lines(path)
    out = {}
    for f in frames:
        out.setdefault(f["source"], []).append((f["frame"], f["objects"]))
    return out


def write_list(path, entries):
    with open(path, "w") as f:
        f.write("".join(e + "\n" for e in entries))


def check_side_by_side(tmp, yaml):
    alone = {}
    for clip in (CLIP, TRAFFIC):
        out = os.path.join(tmp, os.path.basename(clip) + ".jsonl")
        r = pipeline(yaml, clip, out)
        if not check(f"{os.path.basename(clip)} alone: exit 0", r.returncode == 0, r.stderr.strip()[-300:]):
            return
        alone[clip] = frames_of(out).get(os.path.basename(clip), [])
    streams, out, save = os.path.join(tmp, "two.streams"), os.path.join(tmp, "two.jsonl"), os.path.join(tmp, "save")
    write_list(streams, [CLIP, TRAFFIC])
    r = pipeline(yaml, streams, out, ["--save", save])
    if not check(".streams of two videos: exit 0", r.returncode == 0, r.stderr.strip()[-300:]):
        return
    got = frames_of(out)
    _, summaries = read_lines(out)
    names = [os.path.basename(CLIP), os.path.basename(TRAFFIC)]
    check(".streams: frame lines of both sources, in the list's order, then one summary each",
          list(got) == names and [s["source"] for s in summaries] == names, str(list(got)))
    for clip in (CLIP, TRAFFIC):
        want, have = alone[clip], got.get(os.path.basename(clip), [])
        name = os.path.basename(clip)
        check(f"{name}: {FRAMES} frames with objects, some with ReID vectors",
              [f for f, _ in want] == list(range(1, FRAMES + 1)) and all(objs for _, objs in want)
              and any("reid" in o["stages"] for _, objs in want for o in objs), str([len(o) for _, o in want]))
        checks.expect(have == want, f"{name} in the list: every frame's objects, track ids, boxes and ReID vectors "
                      "equal the source run alone",
                      f"\n  list  {str(have)[:400]}\n  alone {str(want)[:400]}")
    for clip in (CLIP, TRAFFIC):
        path = os.path.join(save, os.path.splitext(os.path.basename(clip))[0] + ".mp4")
        video = cv2.VideoCapture(path)
        count = int(video.get(cv2.CAP_PROP_FRAME_COUNT)) if video.isOpened() else 0
        check(f"--save: {os.path.basename(path)} of {FRAMES} frames", count == FRAMES, f"{count} frames")


def check_bad_entry(tmp, yaml):
    bad = os.path.join(tmp, "broken.mp4")
    with open(bad, "wb") as f:
        f.write(b"not a video at all" * 100)
    streams, out = os.path.join(tmp, "bad.streams"), os.path.join(tmp, "bad.jsonl")
    write_list(streams, [bad, CLIP])
    r = pipeline(yaml, streams, out)
    errors = [l for l in r.stderr.splitlines() if l.strip()]
    check("a broken entry: exit 2, one stderr line naming it", r.returncode == 2 and len(errors) == 1
          and "broken.mp4" in errors[0] and os.path.basename(CLIP) not in errors[0], r.stderr.strip()[-400:])
    if not check("a broken entry: JSON lines written", os.path.exists(out)):
        return
    got = frames_of(out)
    check("a broken entry: the good source's frames are written, none of the broken one's",
          list(got) == [os.path.basename(CLIP)] and [f for f, _ in got[os.path.basename(CLIP)]] == list(range(1, FRAMES + 1)),
          str(list(got)))


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-pipeline-streams-")
    try:
        yaml = os.path.join(tmp, "kiln.yaml")
        with open(yaml, "w") as f:
            f.write(CONFIG.rstrip("\n") + "\n" + STREAMS_PIPELINE)
        check_side_by_side(tmp, yaml)
        check_bad_entry(tmp, yaml)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("pipeline .streams: each source as alone, a broken entry reported")


if __name__ == "__main__":
    main()
