#!/usr/bin/env bash
# CUDA backend check on a GPU machine, in one invocation: GPU tests, kiln bench, PyTorch peer.
#
# Here (machine that builds):   scripts/gpu-check.sh --prepare [BUILD_DIR] [CARRY_DIR] [PYTHON_BUILD_DIR]
#   copies the kiln binary and those of kiln_cuda_tests, kiln_api_gpu_tests, kiln_vision_cuda_tests, kiln_video_gpu_tests, kiln_pipeline_gpu_tests, kiln_triton_gpu_tests and kiln_soak built (stripped) from BUILD_DIR (default build-cuda)
#   into CARRY_DIR (default build-gpu) with libs.tar.xz: the non-system, non-CUDA shared
#   libraries they need (OpenBLAS, protobuf, libjpeg, ...), which the GPU image lacks.
#   A CUDA build with -DKILN_PYTHON=ON in PYTHON_BUILD_DIR (default BUILD_DIR) adds
#   python.tar.xz: its kiln package (the extension for that build's Python, the GPU image's
#   3.12 for bench/gpu_run.sh python) and pytest from that Python, which the image may lack.
# There (GPU machine, repo root): scripts/gpu-check.sh [ASSETS_DIR] [CARRY_DIR]
#   ASSETS_DIR (default .assets) holds models/*.onnx, models/pt/*.pt, images/; .whl/ holds the
#   ultralytics wheels for the peer. Logs and result tables go to $OUT (or /tmp/gpu-check).
# The test binary is run directly rather than through ctest: ctest files carry the build
# machine's absolute paths. kiln_cuda_tests holds exactly the tests labelled gpu.
set -uo pipefail

if [[ "${1:-}" == "--prepare" ]]; then
  set -e
  build=${2:-build-cuda}
  carry=${3:-build-gpu}
  rm -rf "$carry" && mkdir -p "$carry/lib"
  bins=("$build/kiln")
  for t in kiln_cuda_tests kiln_api_gpu_tests kiln_vision_cuda_tests kiln_video_gpu_tests kiln_pipeline_gpu_tests \
           triton/kiln_triton_gpu_tests; do
    [[ -x "$build/tests/$t" ]] && bins+=("$build/tests/$t")
  done
  [[ -x "$build/kiln_soak" ]] && bins+=("$build/kiln_soak")
  cp "${bins[@]}" "$carry/"
  # The CUPTI probe the pipeline stage injects (bench/cupti: copy census, KILN_TRACE timeline),
  # with libcupti packed below.
  [[ -f "$build/libkiln_cupti_probe.so" ]] && cp "$build/libkiln_cupti_probe.so" "$carry/kiln_cupti_probe.so"
  strip "$carry"/kiln*
  pybuild=${4:-$build}
  modules=()
  if compgen -G "$pybuild/python/kiln/_kiln.*.so" > /dev/null; then
    mkdir -p "$carry/python/deps"
    cp -r "$pybuild/python/kiln" "$carry/python/"
    rm -rf "$carry/python/kiln/__pycache__"
    strip --strip-unneeded "$carry"/python/kiln/_kiln.*.so
    modules=("$carry"/python/kiln/_kiln.*.so)
    # pytest's distributions, files and metadata, as that Python installed them.
    py=$(sed -n 's/^_\?Python_EXECUTABLE:[A-Z]*=//p' "$pybuild/CMakeCache.txt" | head -1)
    "$py" -c 'import importlib.metadata as md
print(md.distribution("pytest").locate_file(""))
for name in ("pytest", "pluggy", "iniconfig", "packaging", "pygments"):
    d = md.distribution(name)
    for f in d.files:
        if not str(f).startswith("..") and "__pycache__" not in str(f): print(f)' |
      { read -r site; deps=$(realpath "$carry/python/deps"); (cd "$site" && xargs cp --parents -t "$deps"); }
    find "$carry/python" -name __pycache__ -prune -exec rm -rf {} +
  fi
  # The non-system, non-CUDA libraries they need, FFmpeg's unused codec libraries as stubs
  # (scripts/pack_runtime_libs.py says why).
  python3 "$(dirname "$0")/pack_runtime_libs.py" "$carry/lib" "$carry"/kiln* "${modules[@]}"
  tar -C "$carry/lib" -cJf "$carry/libs.tar.xz" . && rm -rf "$carry/lib"
  if [[ -d "$carry/python" ]]; then
    (cd "$carry" && tar -cf - python | xz -9 -T2 > python.tar.xz && rm -rf python)
  fi
  # Binaries travel compressed too (a device call carries at most 64 MiB, models included);
  # the GPU side unpacks them next to libs.tar.xz.
  (cd "$carry" && tar -cf - kiln* | xz -9 -T2 > bins.tar.xz && rm -f kiln*)
  du -sh "$carry"
  exit 0
fi

assets=${1:-.assets}
carry=${2:-build-gpu}
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
export NCCL_NVLS_ENABLE=0

mkdir -p /tmp/kiln-libs && tar -C /tmp/kiln-libs -xJf "$carry/libs.tar.xz"
[[ -f "$carry/bins.tar.xz" ]] && tar -C "$carry" -xJf "$carry/bins.tar.xz"
cudnn_lib=$(python3 -c 'import os, nvidia.cudnn as m; print(os.path.join(list(m.__path__)[0], "lib"))' 2>/dev/null ||
            echo /opt/torch/.venv/lib/python3.12/site-packages/nvidia/cudnn/lib)
export LD_LIBRARY_PATH="/tmp/kiln-libs:$cudnn_lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export KILN_ASSETS_DIR=$(realpath "$assets") KILN_SOURCE_DIR=$PWD KILN_BINARY_DIR=/tmp/kiln-bin
mkdir -p "$KILN_BINARY_DIR"

{ nvidia-smi; echo; echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; ldd "$carry/kiln_cuda_tests" | grep -i "not found"; } \
  2>&1 | tee "$out/nvidia-smi.txt"

echo "== GPU tests (kiln_cuda_tests, label gpu)"
timeout 300 "$carry/kiln_cuda_tests" --gtest_output="xml:$out/gtest.xml" 2>&1 | tee "$out/tests.log"
tests_rc=${PIPESTATUS[0]}

echo "== kiln bench"
{
  for spec in "yolo11n-dynamic.onnx 1,8,32" "yolov8n.onnx 1" "yolo11n.onnx 1"; do
    set -- $spec
    [[ -f "$assets/models/$1" ]] || { echo "(skipped $1: not carried)"; continue; }
    timeout 150 "$carry/kiln" bench --model "$assets/models/$1" --precision fp32,fp16 --batch "$2" --iters 200
  done
} 2>&1 | tee "$out/bench.md"

echo "== PyTorch peer"
if ls .whl/*.whl > /dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
PYTHONUNBUFFERED=1 YOLO_OFFLINE=1 timeout 240 python3 bench/peers/torch_peer.py --assets "$assets" \
  --models yolo11n,yolov8n --batch 1,32 --iters 200 --out "$out/torch_peer.md" 2>&1 | tail -n 40 > "$out/peer.log"
cat "$out/peer.log"

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | tr ' ' '-')
{
  echo "# kiln CUDA backend vs PyTorch on ${gpu} ($(date -u +%F))"
  echo
  echo "## kiln bench"; echo; cat "$out/bench.md"; echo
  [[ -f "$out/torch_peer.md" ]] && cat "$out/torch_peer.md"
  echo; echo "GPU tests exit code: $tests_rc"
} > "$out/results-${gpu}-$(date -u +%F).md"
echo "gpu-check: tests rc=$tests_rc; results in $out"
exit "$tests_rc"
