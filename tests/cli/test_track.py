"""kiln track on the first frames of a clip (CPU): the tracks of every frame (ids, classes,
scores, boxes) equal those Ultralytics 8.4.50's BYTETracker and BOTSORT made of kiln
predict's detections of the same frames (tests/data/track/kiln_person_walking.json, from
tests/tools/make_track_reference.py); BoT-SORT with botsort.yaml's sparseOptFlow motion
compensation on MOT17-05's frames equals BOTSORT given the same frames (kiln_mot17_05.json;
built without OpenCV: refused with one line); the JSON lines, MOTChallenge rows and annotated
video agree with each other; a folder of frames is one sequence; bad tracker files, ReID
settings and untrackable models fail with one line, exit 2, nothing written."""
import json
import os
import tempfile

import cv2

from kiln_cli import ASSETS, Checks, run_kiln

checks = Checks()
check = checks.check
HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "..", "data", "track", "kiln_person_walking.json")
GMC_REFERENCE = os.path.join(HERE, "..", "data", "track", "kiln_mot17_05.json")
MODEL = os.path.join(ASSETS, "models", "yolo11n.onnx")


def close(a, b):
    return abs(a - b) <= 1e-3 * max(abs(b), 1.0)


def read_jsonl(path):
    return [json.loads(line) for line in open(path)]


def compare_tracks(label, lines, want_frames):
    got = [[[d["track_id"], *d["box_xyxy"], d["confidence"], d["class_id"]] for d in line["detections"]] for line in lines]
    check(f"{label}: {len(want_frames)} frames", len(got) == len(want_frames), f"{len(got)}")
    for f, (g, w) in enumerate(zip(got, want_frames)):
        ids_ok = [t[0] for t in g] == [t[0] for t in w] and [t[6] for t in g] == [t[6] for t in w]
        boxes_ok = ids_ok and all(close(a, b) for gt, wt in zip(g, w) for a, b in zip(gt[1:6], wt[1:6]))
        if not checks.expect(boxes_ok, f"{label} frame {f + 1}: ids, classes, boxes and scores as Ultralytics'",
                             f"\n  kiln {g}\n  want {w}"):
            return


def check_mot(path, lines):
    rows = [line.strip().split(",") for line in open(path) if line.strip()]
    fields_ok = all(len(r) == 10 and r[7:] == ["-1", "-1", "-1"] for r in rows)
    checks.expect(fields_ok, "MOT txt: 10 fields per row, the last three -1", str(rows[:2]))
    want = [(line["frame"], d["track_id"], d["box_xyxy"], d["confidence"]) for line in lines for d in line["detections"]]
    same = len(rows) == len(want) and all(
        int(r[0]) == f and int(r[1]) == i and abs(float(r[2]) - b[0]) <= 0.005 and abs(float(r[3]) - b[1]) <= 0.005
        and abs(float(r[4]) - (b[2] - b[0])) <= 0.01 and abs(float(r[5]) - (b[3] - b[1])) <= 0.01 and abs(float(r[6]) - c) < 1e-5
        for r, (f, i, b, c) in zip(rows, want))
    checks.expect(same, f"MOT txt: frame,id,left,top,width,height,conf of each of the {len(want)} tracked objects",
                  f"{rows[:2]} vs {want[:2]}")


def main():
    ref = json.load(open(REFERENCE))
    clip = os.path.join(ASSETS, ref["source"])
    args = ["--model", MODEL, "--source", clip, "--vid-stride", str(ref["vid_stride"]), "--max-frames", str(ref["max_frames"])]
    with tempfile.TemporaryDirectory(prefix="kiln-track-") as tmp:
        out, mot, save = os.path.join(tmp, "t.jsonl"), os.path.join(tmp, "t.txt"), os.path.join(tmp, "save")
        r = run_kiln(["track", *args, "--json", out, "--mot", mot, "--save", save])
        if check("bytetrack: exit 0", r.returncode == 0, r.stderr.strip()):
            lines = read_jsonl(out)
            compare_tracks("bytetrack", lines, ref["tracks"]["bytetrack"])
            check_mot(mot, lines)
            cap = cv2.VideoCapture(os.path.join(save, os.path.basename(clip)))
            n = 0
            while cap.read()[0]:
                n += 1
            check("annotated video has every tracked frame", n == ref["max_frames"], f"{n}")

        # BoT-SORT on the first half of the frames keeps the test short; the reference ran
        # without the frames, i.e. without motion compensation.
        half = ref["max_frames"] // 2
        no_gmc = os.path.join(tmp, "botsort_no_gmc.yaml")
        with open(no_gmc, "w") as f:
            f.write("tracker_type: botsort\ngmc_method: none\n")
        r = run_kiln(["track", *args[:-1], str(half), "--tracker", no_gmc, "--json", out])
        if check("botsort, gmc_method none: exit 0", r.returncode == 0, r.stderr.strip()):
            compare_tracks("botsort", read_jsonl(out), ref["tracks"]["botsort"][:half])

        gmc_ref = json.load(open(GMC_REFERENCE))
        r = run_kiln(["track", "--model", MODEL, "--source", os.path.join(ASSETS, gmc_ref["frames_dir"]), "--tracker",
                      "botsort.yaml", "--json", out + "3"])
        if "needs kiln built with OpenCV" in r.stderr:
            check("botsort.yaml without OpenCV: one line naming the file and method, exit 2, nothing written",
                  r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "botsort.yaml: gmc_method sparseOptFlow"
                  in r.stderr and not os.path.exists(out + "3"), r.stderr.strip())
        elif check("botsort.yaml (sparseOptFlow) on MOT17-05 frames: exit 0", r.returncode == 0, r.stderr.strip()):
            compare_tracks("botsort sparseOptFlow", read_jsonl(out + "3"), gmc_ref["tracks"]["botsort_gmc"])

        frames = os.path.join(ASSETS, "datasets", "MOT17-mini", "train", "MOT17-09-FRCNN", "img1")
        r = run_kiln(["track", "--model", MODEL, "--source", frames, "--json", out, "--mot", mot])
        if check("folder of frames: exit 0", r.returncode == 0, r.stderr.strip()):
            lines = read_jsonl(out)
            check("folder of frames: one sequence, frames 1..4", [l["frame"] for l in lines] == [1, 2, 3, 4], str(len(lines)))
            ids = [{d["track_id"] for d in l["detections"]} for l in lines]
            check("folder of frames: tracks keep their ids across frames", len(ids[0] & ids[3]) >= 3, str(ids))
            check_mot(mot, lines)

        bad = os.path.join(tmp, "bad.yaml")
        with open(bad, "w") as f:
            f.write("tracker_type: bytetrack\nmatch_thres: 0.8\n")
        checks.expect_error("unknown tracker key", ["track", *args, "--tracker", bad, "--mot", mot + "2"],
                            [bad, "match_thres"], mot + "2")
        reid = os.path.join(tmp, "reid.yaml")
        with open(reid, "w") as f:
            f.write("tracker_type: botsort\nwith_reid: True\n")
        checks.expect_error("with_reid", ["track", *args, "--tracker", reid, "--json", out + "2"], [reid, "with_reid"],
                            out + "2")
        checks.expect_error("missing tracker file", ["track", *args, "--tracker", os.path.join(tmp, "none.yaml")],
                            ["none.yaml", "no such tracker file"])
        checks.expect_error("classifier", ["track", "--model", os.path.join(ASSETS, "models", "yolo11n-cls-random.onnx"),
                                           "--source", clip, "--max-frames", "1"], ["cannot be tracked"])
    checks.finish("kiln track matches Ultralytics' trackers")


if __name__ == "__main__":
    main()
