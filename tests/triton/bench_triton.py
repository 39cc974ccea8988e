"""Load figures for Triton with the kiln backend: writes a repository with `kiln triton-repo`,
starts tritonserver on 127.0.0.1 (stopped by PID), and for each concurrency sends requests of
one encoded image from that many clients; prints images/s, p50/p99 latency and the server's
mean time per request in each phase (queue; input: reading and decoding the batch's images;
infer: Model::predict; output: the responses) per level as JSON lines.

  python3 tests/triton/bench_triton.py --kiln build/kiln --backend-dir build/triton/backends \\
      --model ../shared/assets/models/yolo11n.onnx --device cpu --concurrency 1,8
"""
import argparse
import http.client
import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import triton_server as ts  # noqa: E402


def image_request(image):
    """One IMAGE request in the KServe v2 HTTP protocol with Triton's binary-data extension (a
    JSON header, then the BYTES element: 4-byte length + the file), asking for COUNT only, so
    no client library is needed (the GPU machine has none)."""
    header = json.dumps({"inputs": [{"name": "IMAGE", "shape": [1, 1], "datatype": "BYTES",
                                     "parameters": {"binary_data_size": len(image) + 4}}],
                         "outputs": [{"name": "COUNT", "parameters": {"binary_data": False}}]}).encode()
    return header + struct.pack("<I", len(image)) + image, len(header)


def run_level(url, model, image, clients, requests):
    body, header_size = image_request(image)
    host, port = url.split(":")
    latencies = [[] for _ in range(clients)]

    def loop(c):
        conn = http.client.HTTPConnection(host, int(port), timeout=300)
        for _ in range(requests):
            t0 = time.perf_counter()
            conn.request("POST", f"/v2/models/{model}/infer", body,
                         {"Inference-Header-Content-Length": str(header_size), "Content-Type": "application/octet-stream"})
            r = conn.getresponse()
            reply = r.read()
            if r.status != 200:
                raise RuntimeError(f"request failed ({r.status}): {reply[:300]!r}")
            latencies[c].append(time.perf_counter() - t0)

    threads = [threading.Thread(target=loop, args=(c,)) for c in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = np.array([x for l in latencies for x in l]) * 1000
    return {"concurrency": clients, "requests": int(lat.size), "images_per_s": round(lat.size / wall, 1),
            "p50_ms": round(float(np.percentile(lat, 50)), 2), "p99_ms": round(float(np.percentile(lat, 99)), 2)}


def phase_totals(url, model):
    """{phase: (count, ns)} from the server's cumulative statistics for `model`, and "batch":
    (executions, images)."""
    with urllib.request.urlopen(f"http://{url}/v2/models/{model}/stats") as r:
        stats = json.load(r)["model_stats"][0]
    phases = stats["inference_stats"]
    out = {k: (phases[k]["count"], phases[k]["ns"]) for k in ("queue", "compute_input", "compute_infer", "compute_output")}
    out["batch"] = (stats["execution_count"], stats["inference_count"])
    return out


def server_ms(before, after):
    """Mean ms per request in each phase between two phase_totals, and the mean images per
    execution ("batch")."""
    names = {"queue": "queue", "compute_input": "input", "compute_infer": "infer", "compute_output": "output",
             "batch": "batch"}
    out = {}
    for k, name in names.items():
        count, total = after[k][0] - before[k][0], after[k][1] - before[k][1]
        out[name] = round(total / count / (1 if k == "batch" else 1e6), 2) if count else None
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kiln", required=True)
    p.add_argument("--backend-dir", required=True, help="folder holding kiln/libtriton_kiln.so")
    p.add_argument("--model", required=True)
    p.add_argument("--image", default=None, help="encoded image to send (default: assets' bus.jpg)")
    p.add_argument("--device", default="cpu", help="kiln triton-repo --device (cpu, cuda, cuda:0,1)")
    p.add_argument("--repo-args", default="", help="more kiln triton-repo arguments, e.g. '--precision fp16'")
    p.add_argument("--concurrency", default="1,8")
    p.add_argument("--requests", type=int, default=50, help="requests per client per level")
    p.add_argument("--warmup", type=int, default=10)
    a = p.parse_args()
    binary = ts.tritonserver_binary()
    if not binary:
        sys.exit("bench_triton: no tritonserver (pip install --no-deps nvidia-pytriton)")
    image_path = a.image or os.path.join(os.environ.get("KILN_ASSETS_DIR", "../shared/assets"), "images", "bus.jpg")
    image = open(image_path, "rb").read()
    tmp = tempfile.mkdtemp(prefix="kiln-triton-bench-")
    repo = os.path.join(tmp, "repo")
    cmd = [a.kiln, "triton-repo", "--model", a.model, "--name", "m", "--out", repo, "--device", a.device,
           *a.repo_args.split()]
    if subprocess.run(cmd).returncode != 0:
        sys.exit("bench_triton: kiln triton-repo failed")
    with ts.Server(binary, repo, a.backend_dir, os.path.join(tmp, "server.log"), ready_timeout=600) as server:
        run_level(server.url, "m", image, 1, a.warmup)
        for c in [int(x) for x in a.concurrency.split(",")]:
            before = phase_totals(server.url, "m")
            level = run_level(server.url, "m", image, c, a.requests)
            print(json.dumps({"model": os.path.basename(a.model), "device": a.device, "repo_args": a.repo_args,
                              **level, "server_ms": server_ms(before, phase_totals(server.url, "m"))}), flush=True)


if __name__ == "__main__":
    main()
