"""kiln predict on a video (the first frames only, to keep CPU CI short): the annotated mp4
has every predicted frame at the source's size and frame rate (read back with cv2), the
JSON carries per-frame results and the end-to-end FPS with its stage split, labels are
named <stem>_<frame>.txt; --vid-stride numbers frames like Ultralytics; a truncated video, a
file without its index and a non-video are each listed as failed in the JSON (a truncated
video keeps the frames before the damage) and kiln exits 2."""
import json
import os
import shutil
import tempfile

import cv2

from kiln_cli import ASSETS, Checks, run_kiln

checks = Checks()
check = checks.check
MODEL = os.path.join(ASSETS, "models", "yolo11n.onnx")
CLIP = os.path.join(ASSETS, "video", "person_walking_office_720p_6s.mp4")  # index (moov) first
TRAFFIC = os.path.join(ASSETS, "video", "traffic_highway_720p_30s.mp4")     # index (moov) last


def expect_failed_source(label, args, path, must_mention, out_json):
    """kiln predict on one broken video: exit 2, stderr names the file, and the JSON is
    written with the video listed under failures. Returns the JSON (None on failure)."""
    if os.path.exists(out_json):
        os.remove(out_json)
    r = run_kiln(["predict", "--model", MODEL, "--json", out_json] + args)
    ok = checks.expect(r.returncode == 2 and path in r.stderr and must_mention in r.stderr,
                       f"{label}: exit 2 naming the file", r)
    doc = json.load(open(out_json)) if os.path.exists(out_json) else {}
    failures = doc.get("failures", [])
    ok = check(f"{label}: JSON written, the video listed as failed",
               [f["source"] for f in failures] == [path] and "error" in doc["results"][0], str(doc)[:300]) and ok
    return doc if ok else None


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-video-")
    try:
        src = cv2.VideoCapture(CLIP)
        src_fps, src_w, src_h = src.get(cv2.CAP_PROP_FPS), src.get(cv2.CAP_PROP_FRAME_WIDTH), src.get(cv2.CAP_PROP_FRAME_HEIGHT)
        src.release()
        save, out = os.path.join(tmp, "save"), os.path.join(tmp, "v.json")
        r = run_kiln(["predict", "--model", MODEL, "--source", CLIP, "--max-frames", "3", "--save", save,
                      "--save-txt", "--json", out])
        check("video: exit 0", r.returncode == 0, r.stderr.strip())
        if r.returncode == 0:
            video = os.path.join(save, "person_walking_office_720p_6s.mp4")
            cap = cv2.VideoCapture(video)
            n = 0
            while cap.read()[0]:
                n += 1
            got = (n, cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT), cap.get(cv2.CAP_PROP_FPS))
            check("output mp4: 3 frames, source size and fps", got[:3] == (3, src_w, src_h) and abs(got[3] - src_fps) < 1e-3,
                  f"{got} vs fps {src_fps}")
            check("no temp file left", not os.path.exists(video + ".tmp"))
            res = json.load(open(out))["results"]
            entry = res[0] if len(res) == 1 else {}
            frames = entry.get("frames", [])
            check("JSON: one video entry with frames 1..3", [f["frame"] for f in frames] == [1, 2, 3], str(entry)[:200])
            speed = entry.get("speed", {})
            stages = ("decode_ms", "preprocess_ms", "inference_ms", "postprocess_ms", "annotate_ms", "encode_ms")
            check("JSON: end-to-end FPS and stage split", speed.get("frames") == 3 and speed.get("end_to_end_fps", 0) > 0
                  and all(speed.get(k, 0) > 0 for k in stages), str(speed))
            check("stdout: per-frame lines and the FPS summary", "(frame 3/182)" in r.stdout and "FPS end to end" in r.stdout,
                  r.stdout[-300:])
            with_dets = [f["frame"] for f in frames if f["detections"]]
            names = sorted(os.listdir(os.path.join(save, "labels")))
            check("labels <stem>_<frame>.txt for frames with detections",
                  names == sorted(f"person_walking_office_720p_6s_{k}.txt" for k in with_dets), str(names))

        r = run_kiln(["predict", "--model", MODEL, "--source", CLIP, "--vid-stride", "5", "--max-frames", "2",
                      "--json", out])
        check("--vid-stride 5: exit 0", r.returncode == 0, r.stderr.strip())
        if r.returncode == 0:
            check("--vid-stride 5: frames numbered 1, 2 of 182/5", "(frame 2/36)" in r.stdout
                  and [f["frame"] for f in json.load(open(out))["results"][0]["frames"]] == [1, 2], r.stdout[-300:])

        data = open(CLIP, "rb").read()
        cut = os.path.join(tmp, "cut.mp4")
        open(cut, "wb").write(data[:60000])
        bad_save, bad_json = os.path.join(tmp, "bad"), os.path.join(tmp, "bad.json")
        # A broken video is listed as failed, the JSON is still written, and kiln exits 2.
        doc = expect_failed_source("truncated video", ["--source", cut, "--save", bad_save], cut, "truncated", bad_json)
        if doc:
            frames = doc["results"][0].get("frames", [])
            check("truncated video: the frames before the damage are kept",
                  [f["frame"] for f in frames] == list(range(1, len(frames) + 1)), str(frames)[:200])
            check("truncated video: no temp file left", not os.path.exists(os.path.join(bad_save, "cut.mp4.tmp")))
        no_index = os.path.join(tmp, "no_index.mp4")
        open(no_index, "wb").write(open(TRAFFIC, "rb").read()[:1_000_000])
        expect_failed_source("video without its index", ["--source", no_index, "--save", bad_save], no_index, "",
                             bad_json)
        notes = os.path.join(tmp, "notes.mp4")
        open(notes, "w").write("not a video\n")
        expect_failed_source("non-video .mp4", ["--source", notes, "--save", bad_save], notes, "", bad_json)
        check("no video written for the unopenable sources",
              not [f for f in os.listdir(bad_save) if f.startswith(("no_index", "notes")) or f.endswith(".tmp")]
              if os.path.isdir(bad_save) else True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("predict on video: annotated mp4 with every frame, FPS split, clean errors on broken videos")


if __name__ == "__main__":
    main()
