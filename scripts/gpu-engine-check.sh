#!/usr/bin/env bash
# Engine portability on a real GPU: build an FP16 CUDA engine, `kiln check` says
# compatible (0); the same engine with its fingerprint edited to another compute capability
# needs a rebuild (3); `kiln check --rebuild` rebuilds it from the source and it checks 0.
# usage: scripts/gpu-engine-check.sh KILN_BINARY MODEL.onnx   (bench/gpu_run.sh stage engine)
set -uo pipefail
kiln=$1 model=$2
dir=$(mktemp -d) engine=$dir/yolo11n-fp16.kiln
failures=0
step() {  # label expected-exit command...
  local label=$1 want=$2
  shift 2
  "$@"
  local rc=$?
  if [[ $rc == "$want" ]]; then echo "ok   $label (exit $rc)"; else echo "FAIL $label: exit $rc, want $want"; failures=$((failures + 1)); fi
}
step "build FP16 on cuda:0"              0 "$kiln" build "$model" --device cuda:0 --precision fp16 -o "$engine"
step "check: compatible"                 0 "$kiln" check "$engine"
python3 "$(dirname "$0")/edit_engine_fingerprint.py" "$engine" compute_capability=8.6
step "check: edited to cc 8.6"           3 "$kiln" check "$engine"
step "check --rebuild"                   0 "$kiln" check --rebuild "$engine"
step "check after rebuild: compatible"   0 "$kiln" check "$engine"
"$kiln" info "$engine" | head -20
rm -rf "$dir"
echo "gpu-engine-check: $failures failure(s)"
exit $((failures > 0))
