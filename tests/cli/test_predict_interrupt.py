"""Ctrl-C on a folder run: kiln predict stops after the images in hand and writes their results
as after a normal end (exit 0, a "stopped by Ctrl-C" note in the JSON's events, no temp file
left beside it); the results written equal an uninterrupted run's first ones. SIGKILL leaves no
JSON (only a temp file named by the killed pid). kiln track stops the same way, its JSON lines
the uninterrupted run's first ones."""
import json
import os
import signal
import subprocess
import tempfile

from kiln_cli import ASSETS, KILN, Checks, run_kiln

checks = Checks()
MODEL = os.path.join(ASSETS, "models", "yolo11n-dynamic.onnx")
IMAGES = sorted(f for f in os.listdir(os.path.join(ASSETS, "images")) if f.endswith(".jpg"))
COUNT = 600
ARGS = ["--imgsz", "64", "--device", "cpu"]


def started(tmp, out, command="predict"):
    """kiln `command` over the folder, once it has printed its 20th image line."""
    p = subprocess.Popen([KILN, command, "--model", MODEL, "--source", os.path.join(tmp, "images"), "--json", out,
                          *ARGS], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         stdin=subprocess.DEVNULL)
    for line in p.stdout:
        if line.startswith("image 20/"):
            break
    return p


def main():
    with tempfile.TemporaryDirectory(prefix="kiln-interrupt-") as tmp:
        folder = os.path.join(tmp, "images")
        os.makedirs(folder)
        for i in range(COUNT):
            os.symlink(os.path.join(ASSETS, "images", IMAGES[i % len(IMAGES)]), os.path.join(folder, f"{i:04d}.jpg"))
        whole = os.path.join(tmp, "whole.json")
        r = run_kiln(["predict", "--model", MODEL, "--source", folder, "--json", whole, "--quiet", *ARGS])
        full = json.load(open(whole))["results"] if r.returncode == 0 else []
        checks.expect(len(full) == COUNT, f"uninterrupted: {COUNT} results", r)

        out = os.path.join(tmp, "out.json")
        p = started(tmp, out)
        p.send_signal(signal.SIGINT)
        rest, err = p.communicate(timeout=300)
        doc = json.load(open(out)) if os.path.exists(out) else {}
        results = doc.get("results", [])
        checks.expect(p.returncode == 0 and 20 <= len(results) < COUNT,
                      f"Ctrl-C: exit 0 with the results so far ({len(results)} of {COUNT})", err[-500:])
        checks.check("Ctrl-C: they equal the uninterrupted run's first ones", results == full[:len(results)])
        notes = [e for e in doc.get("events", []) if "stopped by Ctrl-C" in e.get("message", "")]
        checks.check("Ctrl-C: a note says where it stopped", len(notes) == 1 and f"of {COUNT} images" in notes[0]["message"],
                     str(doc.get("events")))
        checks.check("Ctrl-C: no temp file left", [f for f in os.listdir(tmp) if ".tmp." in f] == [], str(os.listdir(tmp)))

        for f in os.listdir(tmp):
            if f.startswith("out.json"):
                os.remove(os.path.join(tmp, f))
        p = started(tmp, out)
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=60)
        left = [f for f in os.listdir(tmp) if ".tmp." in f]
        checks.check("SIGKILL: no JSON, only a temp file named by the killed pid",
                     not os.path.exists(out) and left == [f for f in left if f".tmp.{p.pid}." in f] and len(left) == 1,
                     str(os.listdir(tmp)))

        whole = os.path.join(tmp, "whole.jsonl")
        r = run_kiln(["track", "--model", MODEL, "--source", folder, "--json", whole, "--quiet", *ARGS])
        full = open(whole).read().splitlines() if r.returncode == 0 else []
        checks.expect(len(full) == COUNT, f"track, uninterrupted: {COUNT} lines", r)
        out = os.path.join(tmp, "tracks.jsonl")
        p = started(tmp, out, "track")
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=300)
        lines = open(out).read().splitlines() if os.path.exists(out) else []
        checks.expect(p.returncode == 0 and 20 <= len(lines) < COUNT and lines == full[:len(lines)],
                      f"track, Ctrl-C: exit 0, the uninterrupted run's first {len(lines)} lines", err[-500:])
        checks.check("track, Ctrl-C: no temp file left", [f for f in os.listdir(tmp) if f.startswith("tracks.jsonl.tmp")] == [],
                     str(os.listdir(tmp)))
    checks.finish("Ctrl-C ends a folder run with its results written")


if __name__ == "__main__":
    main()
