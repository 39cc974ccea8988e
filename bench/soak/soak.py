#!/usr/bin/env python3
"""Soak: many inferences in one process while its host RSS and device memory are sampled
from outside; each measure is judged flat (no growth beyond --tolerance, default 1%) from
just after warm-up to the end.

  bench/soak/soak.py loop --model M [--device cuda:0] [--precision fp16] [--count 1000000] [--batch B]
      kiln_soak (bench/soak/soak_predict.cpp): one kiln::Model, predict() on one decoded
      image --count times (B at a time);
  bench/soak/soak.py folder --model M [--device cuda:0] [--images 10000]
      `kiln predict --source DIR --json FILE` on a folder of --images links to the asset
      images; every result must be written. predict keeps each image's results for the JSON
      it writes at the end, so the JSON's size is printed beside the RSS growth.

Samples: VmRSS from /proc/PID/status; device memory from nvidia-smi for the PID (or the
GPU's used memory when the process is not listed, as in containers); without nvidia-smi
only RSS is judged. Baseline: the median of the samples between 10% and 20% of the run
(after allocators, caches and engine builds settle); end: the median of the last 10%.
Prints one line per measure and a JSON summary; exit 1 when any measure grew beyond the
tolerance, 2 when the run itself failed."""
import argparse
import json
import os
import shutil
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


def sample_while_running(cmd, interval):
    """Runs cmd; returns (seconds, stdout, [(t, rss)], [(t, device)]); exits 2 if it fails."""
    start = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rss, dev = [], []
    while p.poll() is None:
        try:
            rss.append((time.time() - start, rss_mib(p.pid)))
        except OSError:
            break
        d = device_mib(p.pid)
        if d is not None:
            dev.append((time.time() - start, d))
        time.sleep(interval)
    out, err = p.communicate()
    if p.returncode != 0:
        sys.exit(print(f"soak: {' '.join(cmd)} exited {p.returncode}: {err.strip()[-500:]}", file=sys.stderr) or 2)
    return time.time() - start, out, rss, dev


def soak_loop(a):
    binary = a.soak_bin or os.path.join(HERE, "../../build/kiln_soak")
    cmd = [binary, a.model, os.path.join(ASSETS, "images", IMAGES[0]), str(a.count), "--device", a.device]
    cmd += ["--precision", a.precision] if a.precision else []
    cmd += ["--imgsz", str(a.imgsz)] if a.imgsz else []
    cmd += ["--batch", str(a.batch)] if a.batch > 1 else []
    seconds, out, rss, dev = sample_while_running(cmd, a.interval)
    print(out.strip())
    return {"mode": "loop", "count": a.count, "device": a.device, "seconds": seconds}, rss, dev


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
        seconds, _, rss, dev = sample_while_running(cmd, a.interval)
        json_mib = os.path.getsize(out) / 2**20
        with open(out) as f:
            written = len(json.load(f)["results"])
    print(f"{a.images} images through kiln predict in {seconds:.0f} s, {written} results written "
          f"({json_mib:.1f} MiB of JSON)")
    if written != a.images:
        sys.exit(print(f"soak: {written} results written for {a.images} images", file=sys.stderr) or 2)
    return {"mode": "folder", "images": a.images, "device": a.device, "seconds": seconds,
            "json_mib": json_mib}, rss, dev


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
    ap.add_argument("--tolerance", type=float, default=0.01)
    ap.add_argument("--json", default=None, help="also write the summary here")
    a = ap.parse_args()
    run, rss, dev = (soak_loop if a.mode == "loop" else soak_folder)(a)
    run["measures"] = [judge("host RSS", rss, a.tolerance)]
    if dev:
        run["measures"].append(judge("device memory", dev, a.tolerance))
    print(json.dumps(run))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(run, f, indent=1)
    sys.exit(0 if all(m["flat"] for m in run["measures"]) else 1)


if __name__ == "__main__":
    main()
