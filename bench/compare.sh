#!/usr/bin/env bash
# The whole kiln-vs-PyTorch comparison on the GPU machine in one run: accuracy (mAP on
# coco128) and speed (GPU ms per image, batch 1) of kiln's CUDA engine at FP32 and FP16
# beside Ultralytics' PyTorch model at FP32 and FP16, for yolo11n and yolov8n. Writes
# bench/results/<date>-<gpu>-compare.md (date and GPU name from nvidia-smi) and keeps every
# raw log and JSON under $OUT.
#
# Prepare here: a CUDA build of kiln (cmake -DKILN_CUDA=ON), then
#   scripts/gpu-check.sh --prepare BUILD_DIR CARRY_DIR
# and an assets dir with models/{yolo11n,yolov8n}.onnx, models/pt/{yolo11n,yolov8n}.pt and
# datasets/coco128/ (the layout of ../shared/assets). There, from the repo root, carrying
# CARRY_DIR, ASSETS_DIR and .whl (the ultralytics wheels):
#   bench/compare.sh ASSETS_DIR CARRY_DIR
#
# kiln validates the static exports (square 640 letterbox, as Ultralytics validates them);
# Ultralytics validates the .pt with its defaults (batch 32, rectangular batches), so the
# two accuracy columns differ by the input shapes as well (bench/val/README.md).
set -uo pipefail
assets=$(realpath "${1:?usage: bench/compare.sh ASSETS_DIR CARRY_DIR}")
carry=$(realpath "${2:?usage: bench/compare.sh ASSETS_DIR CARRY_DIR}")
out=${OUT:-/tmp/compare}
mkdir -p "$out" /tmp/kiln-libs
tar -C /tmp/kiln-libs -xJf "$carry/libs.tar.xz"
cudnn_lib=$(python3 -c 'import os, nvidia.cudnn as m; print(os.path.join(list(m.__path__)[0], "lib"))' 2>/dev/null ||
            echo /opt/torch/.venv/lib/python3.12/site-packages/nvidia/cudnn/lib)
export LD_LIBRARY_PATH="/tmp/kiln-libs:$cudnn_lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export KILN_CACHE_DIR=/tmp/kiln-cache YOLO_OFFLINE=1 YOLO_CONFIG_DIR=/tmp/ycfg PYTHONUNBUFFERED=1
kiln="$carry/kiln"
data="$assets/datasets/coco128/coco128.yaml"

step() {  # name timeout command...: logs to $out/name.log, reports its exit code and time
  local name=$1 limit=$2 t0=$SECONDS
  shift 2
  echo "== $name ($(date -u +%T))"
  timeout "$limit" "$@" > "$out/$name.log" 2> "$out/$name.err"
  echo "== $name: rc $?, $((SECONDS - t0)) s"
}

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
for m in yolo11n yolov8n; do
  step "kiln_val_$m" 100 "$kiln" val --model "$assets/models/$m.onnx" --data "$data" --device cuda \
    --precision fp32,fp16 --json
  step "kiln_bench_$m" 60 "$kiln" bench --model "$assets/models/$m.onnx" --precision fp32,fp16 --batch 1 \
    --iters 200 --json
done
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site
step ultralytics_val 150 python3 bench/val/ultralytics_val.py "$assets/models/pt" "$assets/datasets/coco128" \
  "$out/ultralytics" --pt-only --half
step torch_peer 90 python3 bench/peers/torch_peer.py --assets "$assets" --models yolo11n,yolov8n --batch 1 \
  --iters 200 --compile-models "" --out "$out/torch_peer.md" --json "$out/torch_peer.json"

python3 - "$out" "$gpu" "$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)" <<'EOF'
import datetime, json, sys
from pathlib import Path

out, gpu, driver = Path(sys.argv[1]), sys.argv[2], sys.argv[3]

def load(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None

rows = []  # model, engine, precision, P, R, mAP50, mAP50-95, ms, FPS, build s, note
for m in ("yolo11n", "yolov8n"):
    val, bench = load(out / f"kiln_val_{m}.log"), load(out / f"kiln_bench_{m}.log")
    runs = {r["precision"]: r for r in (val or {}).get("runs", [])}
    timing = {r["precision"]: r for r in (bench or {}).get("runs", []) if not r.get("skipped")}
    for prec in ("fp32", "fp16"):
        v, t = runs.get(prec), timing.get(prec)
        a = v["all"] if v else {}
        d = v.get("delta_to_baseline", {}).get("mAP50-95") if v else None
        rows.append((m, "kiln (CUDA engine, static 640)", prec, a.get("precision"), a.get("recall"), a.get("map50"),
                     a.get("map50_95"), t and t["median_ms"], t and 1000 / t["median_ms"], t and t["build_s"],
                     (f"ΔmAP50-95 vs fp32 {d:+.5f}; " if d is not None and prec != "fp32" else "") +
                     (f"arena {t['arena_bytes'] / 2**20:.1f} MiB" if t else "")))
    ul = load(out / "ultralytics" / "results.json") or {}
    peer = load(out / "torch_peer.json") or {}
    for prec, key in (("fp32", f"{m}.pt"), ("fp16", f"{m}.pt fp16")):
        r = ul.get(key, {})
        t = next((x for x in peer.get("rows", []) if x["model"] == m and x["precision"] == prec and x["batch"] == 1
                  and x["mode"] == "eager" and x["median_ms"]), None)
        rows.append((m, "Ultralytics PyTorch (.pt, rect b32 val)", prec, r.get("p"), r.get("r"), r.get("map50"),
                     r.get("map50_95"), t and t["median_ms"], t and 1000 / t["median_ms"], None, "eager, fused"))

def f(x, fmt):
    return "" if x is None else format(x, fmt)

day = datetime.date.today().isoformat()
lines = [f"# kiln vs Ultralytics PyTorch on {gpu}", "",
         f"{day}, driver {driver}, written by bench/compare.sh. Accuracy: coco128 (128 images, 929 instances), "
         "imgsz 640, conf 0.001, iou 0.7. Speed: GPU time of one batch-1 forward (CUDA events, median of 200 "
         "after warm-up; kiln: `kiln bench`, PyTorch: bench/peers/torch_peer.py eager), no pre/post-processing.",
         "", "| model | engine | precision | P | R | mAP50 | mAP50-95 | ms/img | FPS | build s | note |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    lines.append("| " + " | ".join([r[0], r[1], r[2], f(r[3], ".5f"), f(r[4], ".5f"), f(r[5], ".5f"), f(r[6], ".5f"),
                                     f(r[7], ".3f"), f(r[8], ".0f"), f(r[9], ".1f"), r[10]]) + " |")
lines += ["", "kiln validates the static exports with their fixed 640x640 input (square letterbox); Ultralytics "
          "validates the .pt with rectangular batches, whose shapes also depend on numpy's unstable sort of equal "
          "aspect ratios (bench/val/README.md), so the accuracy columns of the two engines are not the same "
          "experiment: compare each engine's FP16 with its own FP32."]
name = f"{day}-{gpu.replace('NVIDIA ', '').split()[0]}-compare.md"
(out / name).write_text("\n".join(lines) + "\n")
print("\n".join(lines))
print(f"wrote {name}")
EOF
