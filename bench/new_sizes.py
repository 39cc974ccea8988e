#!/usr/bin/env python3
"""How long a dynamic model's new input size takes before its first result: runs `kiln predict`
(any arguments; not --quiet), time-stamps each per-image line as it arrives, and reports the gap
before each image whose letterbox size ("image i/n name: HxW ...") is new, against the gaps of
sizes already seen. The first image is left out (its gap includes loading the model).

  python3 bench/new_sizes.py [--json out.json] -- kiln predict --model yolo11n-dynamic.onnx \\
      --source coco128/images/train2017 --device cuda --precision fp16

kiln predict's own lines pass through; the summary follows them, and the exit code is kiln's.
"""
import argparse
import json
import re
import statistics
import subprocess
import sys
import time

SIZE = re.compile(r"^image \d+/\d+ .*: (\d+x\d+) ")


def gaps(lines):
    """(new, seen, sizes, results) from (time, line) pairs: the gaps before images of a new
    size and of a size seen before, in ms, the first result left out."""
    new, seen, sizes, results, last = [], [], set(), 0, None
    for t, line in lines:
        m = SIZE.match(line)
        if not m:
            continue
        results += 1
        if last is not None:
            (seen if m.group(1) in sizes else new).append((t - last) * 1000.0)
        sizes.add(m.group(1))
        last = t
    return new, seen, sizes, results


def summary(values):
    if not values:
        return {"count": 0}
    return {"count": len(values), "median_ms": round(statistics.median(values), 1), "max_ms": round(max(values), 1)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", help="write the figures here too")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- kiln predict ...")
    a = p.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        p.error("give the kiln predict command after --")
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    except OSError as e:
        print(f"new_sizes.py: {cmd[0]}: {e.strerror}", file=sys.stderr)
        return 2
    stamped = []
    for line in proc.stdout:
        stamped.append((time.monotonic(), line))
        sys.stdout.write(line)
    rc = proc.wait()
    wall = time.monotonic() - t0
    new, seen, sizes, results = gaps(stamped)
    out = {"results": results, "sizes": len(sizes), "wall_s": round(wall, 3), "new_size": summary(new),
           "seen_size": summary(seen)}
    print(f"new sizes: {results} results, {len(sizes)} sizes in {wall:.2f} s; before a new size's result "
          f"median {out['new_size'].get('median_ms', '-')} max {out['new_size'].get('max_ms', '-')} ms "
          f"(n={len(new)}): " + " ".join(f"{g:.0f}" for g in new))
    print(f"new sizes: before a seen size's result median {out['seen_size'].get('median_ms', '-')} "
          f"max {out['seen_size'].get('max_ms', '-')} ms (n={len(seen)})")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return rc


if __name__ == "__main__":
    sys.exit(main())
