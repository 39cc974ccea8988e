#!/usr/bin/env bash
# Builds kiln with its CUDA kernels for every architecture this nvcc supports
# (-DKILN_CUDA_ARCHS=all) and checks that each kernel object of the kernel libraries
# (kiln_cuda, kiln_vision_cuda) and the kiln binary carry SASS for every one of them plus
# PTX of the newest (cuobjdump --list-elf / --list-ptx), and that `kiln env --json` names
# the same list. Prints the build time and the sizes. Needs nvcc and cuobjdump, no GPU.
#   scripts/check-all-archs.sh [BUILD_DIR]      (default build-allarch; JOBS=2)
# cuobjdump comes with a full CUDA toolkit, or: pip install nvidia-cuda-cuobjdump
# (then CUOBJDUMP=<site-packages>/nvidia/cu13/bin/cuobjdump).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-allarch}
jobs=${JOBS:-2}
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
cuobjdump=${CUOBJDUMP:-$(command -v cuobjdump || echo "$(dirname "$nvcc")/cuobjdump")}
[ -x "$cuobjdump" ] || { echo "check-all-archs: no cuobjdump (set CUOBJDUMP; pip install nvidia-cuda-cuobjdump)" >&2; exit 2; }

# What `all` must give: SASS for each sm_ nvcc lists, PTX of the newest.
sass=$("$nvcc" --list-gpu-code | sed -n 's/^sm_\([0-9]*\)$/sm_\1/p' | sort -t_ -k2 -n | tr '\n' ' ')
newest=${sass% }; newest=${newest##* }
want_ptx=$newest
echo "nvcc $("$nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'): SASS ${sass}+ PTX ${want_ptx}"

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKILN_CUDA=ON -DKILN_CUDA_ARCHS=all \
  -DKILN_ASSETS_DIR="$(pwd)/../shared/assets" > /dev/null
start=$(date +%s)
nice -n 10 cmake --build "$build" -j "$jobs" --target kiln_cuda kiln_vision_cuda kiln > "$build/check-all-archs.build.log"
echo "build (kiln_cuda, kiln_vision_cuda, kiln; -j$jobs): $(( $(date +%s) - start )) s wall"
# Per kernel file, from ninja's log (compare with a default build's to see the cost of `all`).
awk -F'\t' '$4 ~ /\.cu\.o$/ { n++; s += ($2 - $1) / 1000 } END { printf "kernel files: %d, %.0f s of compile in all\n", n, s }' \
  "$build/.ninja_log"

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# "<member> <arch>" lines from cuobjdump's listing of an archive or a binary.
list() {  # list elf|ptx FILE
  "$cuobjdump" --list-"$1" "$2" 2>/dev/null | awk -v f="$(basename "$2")" '
    /^member / { m = $2; sub(/:$/, "", m); sub(/.*:/, "", m) }
    / file / { a = $NF; sub(/\.(cubin|ptx)$/, "", a); sub(/.*\./, "", a); print (m ? m : f), a }'
}
check() {  # check FILE CU_COUNT: each of the CU_COUNT kernel objects carries each SASS and the PTX
  local file=$1 cu_count=$2 elf ptx members
  elf=$(list elf "$file"); ptx=$(list ptx "$file")
  members=$(echo "$elf" | awk '{print $1}' | sort -u)
  [ "$(echo "$members" | wc -l)" -eq "$cu_count" ] || fail "$file: $(echo "$members" | wc -l) objects with device code, want $cu_count"
  for m in $members; do
    got=$(echo "$elf" | awk -v m="$m" '$1 == m {print $2}' | sort -t_ -k2 -n -u | tr '\n' ' ')
    [ "$got" = "$sass" ] || fail "$file:$m SASS '$got', want '$sass'"
    got=$(echo "$ptx" | awk -v m="$m" '$1 == m {print $2}' | sort -u | tr '\n' ' ')
    [ "$got" = "$want_ptx " ] || fail "$file:$m PTX '$got', want '$want_ptx'"
  done
  echo "$file: $cu_count kernel objects x SASS $(echo $sass | wc -w) archs + PTX $want_ptx, $(du -h "$file" | cut -f1)"
}
check "$build/src/backends/cuda/libkiln_cuda.a" "$(find src/backends/cuda -name '*.cu' | wc -l)"
check "$build/src/vision_cuda/libkiln_vision_cuda.a" "$(find src/vision_cuda -name '*.cu' | wc -l)"

# The binary: every arch present, and `kiln env` names exactly what was compiled.
cus=$(find src/backends/cuda src/vision_cuda -name '*.cu' | wc -l)
bin_sass=$(list elf "$build/kiln" | awk '{print $2}' | sort | uniq -c | awk -v n="$cus" '$1 >= n {print $2}' | sort -t_ -k2 -n | tr '\n' ' ')
[ "$bin_sass" = "$sass" ] || fail "kiln: SASS carried by all $cus kernel files '$bin_sass', want '$sass'"
names=$(echo "$sass" | sed "s/ *$/ compute_${newest#sm_}/")
env_names=$("$build/kiln" env --json | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["cuda_architectures"]))')
[ "$env_names" = "$names" ] || fail "kiln env lists '$env_names', want '$names'"
fatbin=$(size -A "$build/kiln" | awk '$1 == ".nv_fatbin" {print $2}')
echo "kiln: $(du -h "$build/kiln" | cut -f1) (.nv_fatbin $((fatbin / 1024)) KiB); kiln env: $env_names"
[ "$failures" -eq 0 ] && echo "check-all-archs: OK" || { echo "check-all-archs: $failures failure(s)"; exit 1; }
