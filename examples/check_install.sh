#!/usr/bin/env bash
# Installs a kiln build tree into a prefix, builds examples/ against it twice (find_package(kiln)
# and pkg-config) and checks that the example's detections on bus.jpg equal `kiln predict`'s.
#   examples/check_install.sh BUILD_DIR ASSETS_DIR
set -euo pipefail
build="$(cd "$1" && pwd)"
assets="$(cd "$2" && pwd)"
here="$(cd "$(dirname "$0")" && pwd)"
prefix="$build/install-check"
rm -rf "$prefix" "$build/examples-check"
cmake --install "$build" --prefix "$prefix" --component sdk > /dev/null

cmake -S "$here" -B "$build/examples-check" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" > /dev/null
cmake --build "$build/examples-check" > /dev/null
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" \
  g++ -O1 "$here/detect.cpp" -o "$build/examples-check/detect-pc" $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs kiln)

model="$assets/models/yolo11n.onnx"
image="$assets/images/bus.jpg"
export KILN_CACHE_DIR="$build/examples-check/cache"
"$prefix/bin/kiln" predict --model "$model" --source "$image" --json "$build/examples-check/cli.json" > /dev/null
for exe in detect detect-pc; do
  "$build/examples-check/$exe" "$model" "$image" > "$build/examples-check/$exe.txt"
  python3 - "$build/examples-check/cli.json" "$build/examples-check/$exe.txt" <<'PY'
import json, sys
cli = json.load(open(sys.argv[1]))["results"][0]["detections"]
lines = [l.split() for l in open(sys.argv[2]).read().splitlines()]
assert len(lines) == len(cli) > 0, f"{sys.argv[2]}: {len(lines)} detections, kiln predict: {len(cli)}"
for got, want in zip(lines, cli):
    assert int(got[0]) == want["class_id"] and abs(float(got[1]) - want["confidence"]) < 1e-4, (got, want)
    assert all(abs(float(g) - w) < 0.06 for g, w in zip(got[2:], want["box_xyxy"])), (got, want)
PY
done
echo "check_install: 2 passed, 0 failed (find_package(kiln) and pkg-config examples match kiln predict)"
