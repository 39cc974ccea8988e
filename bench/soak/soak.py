#!/usr/bin/env python3
"""Soak: many inferences in one process while its host RSS and device memory are sampled
from outside; each measure is judged flat (no growth beyond --tolerance, default 1%) from
just after warm-up to the end.

  bench/soak/soak.py loop --model M [--device cuda:0] [--precision fp16] [--count 1000000] [--batch B]
      kiln_soak (bench/soak/soak_predict.cpp): one kiln::Model, predict() on one decoded
      image --count times (B at a time);
  bench/soak/soak.py folder --model M [--device cuda:0] [--images 10000]
      `kiln predict --source DIR --json FILE` on a folder of --images links to the asset
      images; every result must be written. predict writes each image's results as they
      come; the JSON's size is printed beside the RSS growth (they grew together when predict
      held the results for the end).

Samples: VmRSS from /proc/PID/status; device memory from nvidia-smi for the PID (or the
GPU's used memory when the process is not listed, as in containers); without nvidia-smi
only RSS is judged. They count from the child's first prediction (a model load or engine
build is not the steady state). Baseline: the median of the samples between 10% and 20% of
them (after allocators and caches settle); end: the median of the last 10%.
The child writes into a file, never an unread pipe. Every --report seconds one progress line
(elapsed, predictions so far, RSS, device memory). --seconds S stops the child after S
seconds; SIGTERM / SIGINT (`timeout`, Ctrl-C) stop it too: either way the samples taken so
far are judged and the summary says "complete": false with the predictions done.
Prints one line per measure and a JSON summary; exit 1 when any measure grew beyond the
tolerance, 2 when the run itself failed."""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ASSETS = os.environ.get("KILN_ASSETS_DIR", os.path.join(HERE, "../../../shared/assets"))
IMAGES = ("bus.jpg", "zidane.jpg")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise OSError(f"no VmRSS for {pid}")


def device_mib(pid):
    """nvidia-smi's memory for `pid`, else the GPU's used memory, else None (no nvidia-smi)."""
    if not shutil.which("nvidia-smi"):
        return None
    apps = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                          capture_output=True, text=True).stdout
    for line in apps.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if len(fields) == 2 and fields[0] == str(pid):
            return float(fields[1])
    used = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"],
                          capture_output=True, text=True).stdout.split()
    return float(used[0]) if used else None


def judge(name, samples, tolerance):
    """[(seconds, MiB)] -> summary; flat when the end median is within tolerance of the baseline."""
    values = [v for _, v in samples]
    n = len(values)
    if n < 20:
        print(f"{name}: only {n} samples (a longer run or a shorter --interval is needed)")
        return {"measure": name, "samples": n, "flat": False}
    base = statistics.median(values[n // 10: n // 5])
    end = statistics.median(values[-(n // 10):])
    growth = (end - base) / base
    flat = growth <= tolerance
    print(f"{name}: baseline {base:.1f} MiB, end {end:.1f} MiB, max {max(values):.1f} MiB, "
          f"growth {100 * growth:+.2f}% over {n} samples ({'flat' if flat else 'GROWS'} within {100 * tolerance:g}%)")
    return {"measure": name, "samples": n, "baseline_mib": base, "end_mib": end, "max_mib": max(values),
            "growth": growth, "flat": flat}


def latest_count(log, pattern):
    """The highest count `pattern` (one group) finds in the last 16 KiB of the child's log."""
    size = os.fstat(log.fileno()).st_size
    tail = os.pread(log.fileno(), 16384, max(0, size - 16384)).decode(errors="replace")
    return max((int(m) for m in pattern.findall(tail)), default=None)


def sample_while_running(cmd, a, count_pattern, env=None):
    """Runs cmd with its output in a file (a chatty child blocks on an unread pipe), samples
    its memory every --interval s, prints a progress line every --report s, and stops it
    after --seconds or when this process gets SIGTERM / SIGINT. Returns a dict: seconds,
    complete, stopped (why, when not complete), predictions (the latest count the child
    printed, `count_pattern`), ready ((seconds, count) at its first count), output, rss and dev
    ([(seconds, MiB)]); exits 2 when the child fails on its own."""
    stopped = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _: stopped.append(signal.Signals(signum).name))
    rss, dev, ready = [], [], None
    with tempfile.TemporaryFile() as log:
        start = time.time()
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        next_report = a.report
        while p.poll() is None and not stopped:
            now = time.time() - start
            if a.seconds and now >= a.seconds:
                stopped.append(f"--seconds {a.seconds:g}")
                break
            try:
                rss.append((now, rss_mib(p.pid)))
            except OSError:
                pass  # it ended between poll() and the read
            d = device_mib(p.pid) if a.device != "cpu" else None
            if d is not None:
                dev.append((now, d))
            done = latest_count(log, count_pattern)
            if ready is None and done:
                ready = (now, done)
            if now >= next_report:
                print(f"soak: {now:.0f} s, {'?' if done is None else f'{done:,}'} predictions, host RSS "
                      f"{rss[-1][1] if rss else float('nan'):.1f} MiB, device "
                      f"{f'{dev[-1][1]:.0f} MiB' if dev else 'n/a'}", flush=True)
                next_report += a.report
            time.sleep(a.interval)
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        seconds = time.time() - start
        done = latest_count(log, count_pattern)
        log.seek(0)
        output = log.read().decode(errors="replace").strip()
    if p.returncode != 0 and not stopped:
        sys.exit(print(f"soak: {' '.join(cmd)} exited {p.returncode}: {output[-500:]}", file=sys.stderr) or 2)
    return {"seconds": seconds, "complete": not stopped, "stopped": stopped[0] if stopped else None,
            "predictions": done, "ready": ready, "output": output, "rss": rss, "dev": dev}


def soak_loop(a):
    binary = a.soak_bin or os.path.join(HERE, "../../build/kiln_soak")
    cmd = [binary, a.model, os.path.join(ASSETS, "images", IMAGES[0]), str(a.count), "--device", a.device,
           "--report", str(max(1, round(a.report)))]
    cmd += ["--precision", a.precision] if a.precision else []
    cmd += ["--imgsz", str(a.imgsz)] if a.imgsz else []
    cmd += ["--batch", str(a.batch)] if a.batch > 1 else []
    run = sample_while_running(cmd, a, re.compile(r"^(\d+) predictions", re.M))
    print(run["output"].splitlines()[-1] if run["output"] else "kiln_soak printed nothing")
    return {"mode": "loop", "count": a.count, "device": a.device}, run


def soak_folder(a):
    kiln_bin = a.kiln or os.path.join(HERE, "../../build/kiln")
    with tempfile.TemporaryDirectory(prefix="kiln-soak-") as tmp:
        folder = os.path.join(tmp, "images")
        os.makedirs(folder)
        for i in range(a.images):
            os.symlink(os.path.abspath(os.path.join(ASSETS, "images", IMAGES[i % len(IMAGES)])),
                       os.path.join(folder, f"{i:06d}.jpg"))
        out = os.path.join(tmp, "results.json")
        cmd = [kiln_bin, "predict", "--model", a.model, "--source", folder, "--json", out, "--device", a.device]
        cmd += ["--precision", a.precision] if a.precision else []
        cmd += ["--imgsz", str(a.imgsz)] if a.imgsz else []
        # predict's own progress line ("kiln predict: 1234/10000 images") at each sample
        env = dict(os.environ, KILN_PROGRESS_INTERVAL=str(a.interval))
        run = sample_while_running(cmd, a, re.compile(r"^(?:image |kiln predict: )(\d+)/", re.M), env)
        summary = {"mode": "folder", "images": a.images, "device": a.device}
        if not run["complete"]:  # predict writes its JSON at the end
            print(f"{run['predictions'] or 0} of {a.images} images through kiln predict in {run['seconds']:.0f} s")
            return summary, run
        summary["json_mib"] = os.path.getsize(out) / 2**20
        with open(out) as f:
            written = len(json.load(f)["results"])
    print(f"{a.images} images through kiln predict in {run['seconds']:.0f} s, {written} results written "
          f"({summary['json_mib']:.1f} MiB of JSON)")
    if written != a.images:
        sys.exit(print(f"soak: {written} results written for {a.images} images", file=sys.stderr) or 2)
    run["predictions"] = written
    return summary, run


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=("loop", "folder"))
    ap.add_argument("--model", required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default=None)
    ap.add_argument("--imgsz", type=int, default=None, help="input size (a dynamic model: the soak's own size)")
    ap.add_argument("--count", type=int, default=1_000_000, help="loop: predictions")
    ap.add_argument("--batch", type=int, default=1, help="loop: images per predict call (a dynamic export)")
    ap.add_argument("--soak-bin", default=None, help="loop: the kiln_soak binary (default build/kiln_soak)")
    ap.add_argument("--images", type=int, default=10_000, help="folder: images in the folder")
    ap.add_argument("--kiln", default=None, help="folder: the kiln binary (default build/kiln)")
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
    ap.add_argument("--report", type=float, default=30.0, help="seconds between progress lines")
    ap.add_argument("--seconds", type=float, default=None,
                    help="stop the run after this many seconds and judge what ran (the summary says complete: false)")
    ap.add_argument("--tolerance", type=float, default=0.01)
    ap.add_argument("--json", default=None, help="also write the summary here")
    a = ap.parse_args()
    summary, run = (soak_loop if a.mode == "loop" else soak_folder)(a)
    done = run["predictions"]
    summary.update(complete=run["complete"], stopped=run["stopped"], seconds=run["seconds"], predictions=done)
    ready, first = run["ready"] or (0.0, 0)
    if done and run["ready"]:  # per second after the first count: no model load or engine build
        summary["rate"] = (done - first) / (run["seconds"] - ready)
    if not run["complete"]:
        print(f"stopped by {run['stopped']} after {run['seconds']:.0f} s and "
              f"{'an unknown number of' if done is None else f'{done:,}'} predictions: judging what ran")
    # from the first prediction on: a model load or engine build is not the steady state
    summary["measures"] = [judge("host RSS", [s for s in run["rss"] if s[0] >= ready], a.tolerance)]
    if run["dev"]:
        summary["measures"].append(judge("device memory", [s for s in run["dev"] if s[0] >= ready], a.tolerance))
    print(json.dumps(summary))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(summary, f, indent=1)
    sys.exit(0 if all(m["flat"] for m in summary["measures"]) else 1)


if __name__ == "__main__":
    main()
