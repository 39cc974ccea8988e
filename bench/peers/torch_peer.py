#!/usr/bin/env python3
"""PyTorch peer for `kiln bench`: the Ultralytics model (fused Conv+BN, as Ultralytics
predicts) timed on the same GPU, the same way: CUDA events around each forward after
warm-up, median / p95 / p99 ms per batch, images/s. Modes: eager, eager replayed as a CUDA
graph, torch.compile; FP32 and FP16; several batch sizes.

usage: torch_peer.py --assets DIR [--models yolo11n,yolov8n] [--batch 1,32] [--iters 200]
                     [--compile-models yolo11n] [--out FILE.md] [--json FILE.json]
"""
import argparse
import datetime
import json
import statistics
import sys
import time
from pathlib import Path

import torch


def percentile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))]


def time_fn(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(iters)]
    for start, stop in events:
        start.record()
        fn()
        stop.record()
    torch.cuda.synchronize()
    ms = [s.elapsed_time(e) for s, e in events]
    return statistics.median(ms), percentile(ms, 0.95), percentile(ms, 0.99)


def load(pt_path, half):
    from ultralytics import YOLO

    model = YOLO(str(pt_path)).model.fuse(verbose=False).eval().cuda()
    # Ultralytics checkpoints hold FP16 weights; make the precision explicit either way.
    return model.half() if half else model.float()


def input_sizes(spec):
    """'640' or '640,yolo11n-obb-random=1024,yolo11n-cls-random=224': a default and per-model sizes."""
    default, per_model = 640, {}
    for item in filter(None, spec.split(",")):
        if "=" in item:
            name, size = item.split("=", 1)
            per_model[name] = int(size)
        else:
            default = int(item)
    return lambda name: per_model.get(name, default)


def bench_model(name, pt_path, imgsz, batches, iters, warmup, with_compile, rows):
    for half in (False, True):
        precision = "fp16" if half else "fp32"
        dtype = torch.float16 if half else torch.float32
        model = load(pt_path, half)
        for batch in batches:
            x = torch.rand(batch, 3, imgsz, imgsz, device="cuda", dtype=dtype)
            modes = []
            with torch.inference_mode():
                modes.append(("eager", lambda: model(x)))
                # Eager forward captured once into a CUDA graph, then replayed.
                try:
                    static_x = x.clone()
                    s = torch.cuda.Stream()
                    s.wait_stream(torch.cuda.current_stream())
                    with torch.cuda.stream(s):
                        for _ in range(3):
                            model(static_x)
                    torch.cuda.current_stream().wait_stream(s)
                    graph = torch.cuda.CUDAGraph()
                    with torch.cuda.graph(graph):
                        model(static_x)
                    modes.append(("eager+cudagraph", graph.replay))
                except Exception as e:  # report, do not hide
                    rows.append((name, precision, batch, "eager+cudagraph", None, None, None, f"failed: {e}"))
                if with_compile:
                    t0 = time.time()
                    compiled = torch.compile(model)
                    compiled(x)
                    torch.cuda.synchronize()
                    modes.append((f"torch.compile (compile {time.time() - t0:.0f}s)", lambda: compiled(x)))
                for mode, fn in modes:
                    med, p95, p99 = time_fn(fn, warmup, iters)
                    rows.append((name, precision, batch, mode, med, p95, p99, ""))
                    print(f"{name} {precision} b{batch} {mode}: median {med:.3f} ms", flush=True)
            del x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--assets", default=".assets")
    ap.add_argument("--models", default="yolo11n,yolov8n")
    ap.add_argument("--batch", default="1,32")
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--compile-models", default="yolo11n")
    ap.add_argument("--imgsz", default="640", help="640 or 640,NAME=SIZE,... (obb 1024, cls 224)")
    ap.add_argument("--out", default="")
    ap.add_argument("--json", default="", help="also write the rows as JSON (bench/compare.sh reads it)")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("torch_peer: no CUDA device")
    torch.backends.cudnn.benchmark = True
    batches = [int(b) for b in a.batch.split(",")]
    compile_models = set(filter(None, a.compile_models.split(",")))
    size_of = input_sizes(a.imgsz)
    rows = []
    for name in a.models.split(","):
        pt = Path(a.assets) / "models" / "pt" / f"{name}.pt"
        if not pt.exists():
            print(f"torch_peer: {pt} missing, skipped", file=sys.stderr)
            continue
        bench_model(name, pt, size_of(name), batches, a.iters, a.warmup, name in compile_models, rows)
    gpu = torch.cuda.get_device_name(0)
    lines = [
        f"# PyTorch peer (Ultralytics, fused) on {gpu}",
        "",
        f"{datetime.date.today().isoformat()}, torch {torch.__version__}, cuDNN {torch.backends.cudnn.version()}, "
        f"imgsz {a.imgsz}, {a.iters} timed iterations after {a.warmup} warm-up, CUDA events, ms per batch.",
        "",
        "| model | precision | batch | mode | median ms | p95 ms | p99 ms | images/s | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, prec, batch, mode, med, p95, p99, note in rows:
        if med is None:
            lines.append(f"| {name} | {prec} | {batch} | {mode} | | | | | {note} |")
        else:
            lines.append(f"| {name} | {prec} | {batch} | {mode} | {med:.3f} | {p95:.3f} | {p99:.3f} | "
                         f"{batch * 1000 / med:.1f} | {note} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        Path(a.out).write_text(text)
    if a.json:
        keys = ("model", "precision", "batch", "mode", "median_ms", "p95_ms", "p99_ms", "note")
        Path(a.json).write_text(json.dumps({"gpu": gpu, "torch": torch.__version__,
                                            "rows": [dict(zip(keys, r)) for r in rows]}, indent=1))


if __name__ == "__main__":
    main()
