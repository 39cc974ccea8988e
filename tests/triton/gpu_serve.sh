#!/usr/bin/env bash
# Triton with the kiln backend on a GPU machine, beside kiln bench, in one device call.
#
# Here (machine that builds, nvidia-pytriton installed):
#   tests/triton/gpu_serve.sh --prepare BUILD_DIR CARRY_DIR
#   CARRY_DIR gets server.tar.xz (the wheel's tritonserver and the libraries it links),
#   kiln.tar.xz (kiln + libtriton_kiln.so of a CUDA build, stripped) and libs.tar.xz (their
#   non-system libraries, scripts/pack_runtime_libs.py).
# There (repo root): tests/triton/gpu_serve.sh ASSETS_DIR CARRY_DIR
#   ASSETS_DIR holds models/yolo11n-dynamic.onnx and images/bus.jpg (one model keeps the call
#   under its 64 MiB: server ~27 MB, kiln + backend + libraries ~25 MB, the model 10.6 MB). Prints
#   kiln bench (engine and end to end) and, through Triton (KIND_GPU, FP16; one image per
#   inference, dynamic batches of 8 with one and with two instances on the GPU), images/s and
#   p50/p99 latency at concurrency 1, 8, 32 as JSON lines; logs under $OUT (or /tmp/triton-gpu).
set -uo pipefail

if [[ "${1:-}" == "--prepare" ]]; then
  set -e
  build=$2
  carry=$3
  rm -rf "$carry" && mkdir -p "$carry/stage/bin" "$carry/stage/backends/kiln" "$carry/lib" "$carry/server/bin"
  cp "$build/kiln" "$carry/stage/bin/"
  cp "$build/triton/backends/kiln/libtriton_kiln.so" "$carry/stage/backends/kiln/"
  strip "$carry/stage/bin/kiln" "$carry/stage/backends/kiln/libtriton_kiln.so"
  python3 "$(dirname "$0")/../../scripts/pack_runtime_libs.py" "$carry/lib" "$carry/stage/bin/kiln" \
    "$carry/stage/backends/kiln/libtriton_kiln.so"
  server=$(python3 -c "import sys; sys.path.insert(0, '$(dirname "$0")'); import triton_server as t; print(t.tritonserver_binary() or '')")
  [[ -n "$server" ]] || { echo "no tritonserver: pip install --no-deps nvidia-pytriton==0.7.0" >&2; exit 2; }
  cp "$server" "$carry/server/bin/"
  # The wheel's own libraries (hashed names) that tritonserver links; no backends or Python stubs.
  ldd "$server" | awk '/nvidia_pytriton.libs/ {print $3}' | xargs -I{} cp {} "$carry/server/bin/"
  tar -C "$carry/server" -cf - . | xz -6 -T2 > "$carry/server.tar.xz"
  tar -C "$carry/stage" -cf - . | xz -6 -T2 > "$carry/kiln.tar.xz"
  tar -C "$carry/lib" -cJf "$carry/libs.tar.xz" .
  rm -rf "$carry/server" "$carry/stage" "$carry/lib"
  du -sh "$carry"/*
  exit 0
fi

assets=$(realpath "${1:-.assets}")
carry=${2:-build-triton}
out=${OUT:-/tmp/triton-gpu}
root=/tmp/triton-gpu-run
mkdir -p "$out" "$root/server" "$root/kiln" "$root/libs"
tar -C "$root/server" -xJf "$carry/server.tar.xz"
tar -C "$root/kiln" -xJf "$carry/kiln.tar.xz"
tar -C "$root/libs" -xJf "$carry/libs.tar.xz"
cudnn_lib=$(python3 -c 'import os, nvidia.cudnn as m; print(os.path.join(list(m.__path__)[0], "lib"))' 2>/dev/null ||
            echo /opt/torch/.venv/lib/python3.12/site-packages/nvidia/cudnn/lib)
export LD_LIBRARY_PATH="$root/libs:$root/server/bin:$cudnn_lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export TRITONSERVER_BIN=$root/server/bin/tritonserver KILN_ASSETS_DIR=$assets KILN_CACHE_DIR=$root/cache
kiln=$root/kiln/bin/kiln
bench="python3 $(dirname "$0")/bench_triton.py --kiln $kiln --backend-dir $root/kiln/backends --concurrency 1,8,32 --requests 200"

nvidia-smi -L | tee "$out/gpu.txt"
model=$assets/models/yolo11n-dynamic.onnx
echo "== kiln bench (engine, FP16, batch 1 and 8)"
timeout 300 "$kiln" bench --model "$model" --precision fp16 --batch 1,8 2>&1 | tee "$out/kiln-bench.log"
echo "== kiln bench end to end (bus.jpg, FP16)"
timeout 300 "$kiln" bench --model "$model" --source "$assets/images/bus.jpg" --precision fp16 2>&1 \
  | tee "$out/kiln-bench-e2e.log"
echo "== Triton: yolo11n FP16, one image per inference (each at its own letterbox size)"
timeout 300 $bench --model "$model" --device cuda:0 --repo-args "--precision fp16 --batch 1" \
  2>&1 | tee "$out/triton-batch1.jsonl"
echo "== Triton: yolo11n FP16, dynamic batches of up to 8 as one inference (640x640)"
timeout 300 $bench --model "$model" --device cuda:0 --repo-args "--precision fp16 --max-batch 8" \
  2>&1 | tee "$out/triton-batch8.jsonl"
echo "== Triton: as above, two instances on the GPU (one decodes while the other infers)"
timeout 300 $bench --model "$model" --device cuda:0 --repo-args "--precision fp16 --max-batch 8 --instances 2" \
  2>&1 | tee "$out/triton-batch8-2instances.jsonl"
