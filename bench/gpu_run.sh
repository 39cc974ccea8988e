#!/usr/bin/env bash
# One device run of the CUDA benchmarks and GPU tests, in stages, each under its own time
# limit, logs under $OUT. Prepare here first:
#   cmake --build build-cuda -j2 --target kiln kiln_cuda_tests
#   scripts/gpu-check.sh --prepare build-cuda build-gpu
# then run on the GPU machine from the repo root (carry build-gpu, .assets, .whl):
#   bench/gpu_run.sh STAGE...     stages: env, cold, warm, coldn, fp32, notune, v8, tests, int8, int8bench, int8ncu, int8val, api, fp16, vision, videogpu, pipelinetests, pipeline, reid, track, tritongpu, strict, soak, soakloop, soakfolder, engine, engines, predict, predref, e2e, video, tasks, val, valn, peer, trackpeer, drift, folder, python
# cold: yolo11n-dynamic FP16 batches 1,32 on an empty timing cache, with --profile;
# warm: the same model FP16 batches 1,8,32 again on the now warm cache (build time warm);
# coldn: cold then warm with $TUNE_CANDIDATES (default 3) timed candidates per conv signature (own cache);
# fp16: kiln_api_gpu_tests' CUDA FP16 vs CPU predictions three times, each tuned afresh;
# val: kiln val on coco128, CUDA FP32 and FP16 (mAP delta), yolo11n, yolov8n, yolo11n-dynamic and
# yolov8n-dynamic (those in the assets; the last made by tests/tools/make_dynamic_detect.py);
# valn: their FP16 val $VAL_RUNS more times, each with a fresh tuning;
# predref: the CLI reference tests with kiln predict on CUDA at FP16 and FP32: test_predict.py
# (yolo11n-dynamic, yolo11n, yolov8n) and test_predict_tasks_reference.py (yolov8n-seg,
# yolo11n-pose), each when its models are in the assets (with images/ and reference/);
# fp32: strict FP32 and TF32, batches 1,32; notune: FP16 with cuDNN's heuristic choices
# (no timing); v8: yolov8n FP16 + FP32 batch 1;
# engine: build FP16, check, fingerprint edited to another compute capability, --rebuild;
# engines: the engine-file tests (replay bit for bit, unrestorable plans, batch profiles,
# 8 threads on one Model), then kiln bench --json of yolo11n FP16 batches 1,32 on the warm
# cache (load time, memory per context, bit-identical replay);
# folder: kiln predict of coco128 at batch 1 on yolo11n-dynamic FP16, twice (cold, then warm
# timing cache), with the time before each new input size's first result (bench/new_sizes.py),
# and kiln val of yolo11n-dynamic FP32 (wall times);
# tasks: kiln bench + PyTorch peer, batch 1, on whichever of yolov8n-seg, yolo11n-pose,
# yolo11n-obb-random (1024), yolo11n-cls-random (224) are in .assets;
# predict: kiln predict on the images with CUDA FP16 (end-to-end speed split per image);
# tests: kiln_cuda_tests; int8: its INT8 tests alone (QConvInt8 / Q / DQ vs the CPU integer
# kernels, quantized yolo11n vs CPU INT8 and FP32, calibration on the GPU vs the CPU); int8bench: yolo11n-dynamic FP16 beside INT8
# (calibrated on $INT8_CALIB, default the assets' images) at batches 1 and 32; int8ncu: Nsight
# Compute on the first $NCU_KERNELS (default 16) tensor-core conv launches of the INT8 engine at
# batch 32 (throughput, occupancy, warp stalls, instruction mix: what bounds them; after int8bench,
# whose cached engine leaves no tuning launches before the model's); int8val: kiln val
# on coco128 at fp32,fp16,int8 (calibration: coco128, $INT8_CALIB_IMAGES images, default 128);
# api: kiln_api_gpu_tests (predict on CUDA vs CPU); videogpu: kiln_video_gpu_tests (NVDEC);
# tritongpu: kiln_triton_gpu_tests (Triton instances placed on every GPU, one Model per cuda:N);
# pipelinetests: kiln_pipeline_gpu_tests (pipelines on device frames vs host frames);
# reid: OSNet x0.25 FP16 at batch 1, 20 (one frame's crops) and 32, then its per-step
# profile at batch 20 and, with the CUPTI probe carried, one graph replay at batch 20 kernel by
# kernel (trace_summary.py --graph-timeline; trace_osnet.tsv.xz);
# pipeline: kiln pipeline person -> ByteTrack -> pose + OSNet, every model FP16, on the NVDEC
# frames of each video in $assets/video (FPS and per-stage times), then again under the CUPTI
# probe (bench/cupti: the copies by direction, how many device-to-host copies were
# frame-sized, and the run's timeline: trace_<video>.tsv.xz, its graphs summarized); track
# and pipeline detect with $KILN_DETECTOR (default the assets' yolo11n.onnx);
# strict: tests/cli/test_strict_gpu.py (NVDEC, the CPU-decoder fallback line, --strict-gpu;
# its 4:4:4 clip from $assets/video/yuv444.mp4 and its 4:2:0-then-4:4:4 clips from
# $assets/video/mixed/{head,tail,mixed}.ts where there is no ffmpeg); soak = soakloop then
# soakfolder, host RSS and device memory sampled, a progress line every 30 s, each run ended by
# its own --seconds budget (judged over what ran, "complete": false in its JSON) well before
# the stage's timeout: soakloop: kiln_soak, $SOAK_COUNT (default 1000000) predictions of
# yolo11n-dynamic FP16, $SOAK_BATCH (32) per call, for at most $SOAK_SECONDS (300) s;
# soakfolder: kiln predict over a folder of $SOAK_IMAGES (10000) images for at most
# $SOAK_FOLDER_SECONDS (200) s. Sizing: at ~3,000 images/s end to end at batch 32 (H100,
# bench_vs_ultralytics.py: 2,982) 1,000,000 predictions take ~335 s plus the engine build
# (10-35 s cold), so `soak` (300 + 200 s, one 600 s call) reaches ~850,000; the whole million
# takes a call of its own: SOAK_SECONDS=420 bench/gpu_run.sh soakloop;
# peer: bench/peers/torch_peer.py (PyTorch, same GPU); trackpeer: Ultralytics `yolo track` on the
# track stage's videos (bench/peers/yolo_track_peer.py; .whl/ holds the ultralytics and lap wheels);
# python: the Python package of $carry/python.tar.xz (scripts/gpu-check.sh --prepare with a
# -DKILN_PYTHON=ON CUDA build for the image's Python 3.12) under $KILN_PY (default
# /opt/torch/.venv/bin/python3, with torch and numpy): tests/python/test_gpu_dlpack.py (torch
# CUDA tensors read in place vs numpy images, yolo11n FP16) and test_dlpack_device.py, then
# python/tools/bench_overhead.py (Python overhead over the C++ API at batch 1, numpy input; a
# torch CUDA tensor beside the C++ device-frame path) and bench_vs_ultralytics.py (end to end
# beside Ultralytics' predict(half=True) in the same process: ms/img at batch 1, images/s at
# batch 32; the peer stage times the bare forward);
# base: the cold stage again with $carry/kiln-base (a build of an earlier commit, own empty
# timing cache), for before/after figures from one machine.
# KILN_GPU_ASSETS and KILN_GPU_CARRY name other assets/carry dirs (default .assets, build-gpu).
set -uo pipefail
assets=${KILN_GPU_ASSETS:-.assets}
carry=${KILN_GPU_CARRY:-build-gpu}
out=${OUT:-/tmp/gpu-run}
mkdir -p "$out" /tmp/kiln-libs
tar -C /tmp/kiln-libs -xJf "$carry/libs.tar.xz"
[[ -f "$carry/bins.tar.xz" ]] && tar -C "$carry" -xJf "$carry/bins.tar.xz"
cudnn_lib=$(python3 -c 'import os, nvidia.cudnn as m; print(os.path.join(list(m.__path__)[0], "lib"))' 2>/dev/null ||
            echo /opt/torch/.venv/lib/python3.12/site-packages/nvidia/cudnn/lib)
export LD_LIBRARY_PATH="/tmp/kiln-libs:$cudnn_lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export KILN_ASSETS_DIR=$(realpath "$assets") KILN_SOURCE_DIR=$PWD KILN_BINARY_DIR=/tmp/kiln-bin
export KILN_BIN=$(realpath "$carry/kiln")
# OpenBLAS (the CPU reference in the tests) must not start more threads than the CPUs the
# container may use: the cgroup quota, not the host's core count.
cpus=$(nproc)
if [[ -r /sys/fs/cgroup/cpu.max ]]; then
  read -r quota period < /sys/fs/cgroup/cpu.max
  [[ "$quota" != max ]] && cpus=$(( quota / period > 0 ? quota / period : 1 ))
fi
export OPENBLAS_NUM_THREADS=$cpus
cache=/tmp/kiln-timing-cache.tsv
kiln="$carry/kiln"
det=${KILN_DETECTOR:-$assets/models/yolo11n.onnx}  # track's and pipeline's detector
m11=$assets/models/yolo11n-dynamic.onnx
m8=$assets/models/yolov8n.onnx

stage() {  # name timeout command...
  local name=$1 limit=$2
  shift 2
  echo "== $name ($(date -u +%T))"
  local t0=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee "$out/$name.log"
  echo "== $name: rc ${PIPESTATUS[0]}, ${SECONDS}s total, $((SECONDS - t0))s for this stage"
}

install_wheels() {  # the Ultralytics wheels of .whl/ into /tmp/site (the image has torch, not them)
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
}

for s in "$@"; do
  case $s in
    env) { nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw --format=csv
           echo "nproc $(nproc), cgroup cpu.max $(cat /sys/fs/cgroup/cpu.max 2>/dev/null), OPENBLAS_NUM_THREADS $cpus"
           ldd "$carry/kiln" | grep -i "not found"; } 2>&1 | tee "$out/env.log" ;;
    cold) rm -f "$cache"
          stage cold 150 "$kiln" bench --model "$m11" --precision fp16 --batch 1,32 --iters 200 \
            --timing-cache "$cache" --profile --profile-top 30 ;;
    base) rm -f "$cache.base"
          stage base 150 "$carry/kiln-base" bench --model "$m11" --precision fp16 --batch 1,32 --iters 200 \
            --timing-cache "$cache.base" --profile --profile-top 30 ;;
    warm) stage warm 100 "$kiln" bench --model "$m11" --precision fp16 --batch 1,8,32 --iters 300 --timing-cache "$cache" ;;
    fp32) stage fp32 150 "$kiln" bench --model "$m11" --precision fp32,tf32 --batch 1,32 --iters 50 \
            --timing-cache "$cache" --profile --profile-top 12 ;;
    notune) stage notune 100 "$kiln" bench --model "$m11" --precision fp16 --batch 1,32 --iters 200 --no-tune ;;
    v8) stage v8 100 "$kiln" bench --model "$m8" --precision fp16,fp32 --batch 1 --iters 300 --timing-cache "$cache" ;;
    tests) stage tests 200 "$carry/kiln_cuda_tests" --gtest_output="xml:$out/gtest.xml" ;;
    int8) stage int8 200 "$carry/kiln_cuda_tests" --gtest_filter='*QConvInt8*:*Quantize*:CudaInt8Model.*:CudaCalibration.*' \
            --gtest_output="xml:$out/gtest_int8.xml" ;;
    int8bench) KILN_CACHE_DIR=/tmp/kiln-int8 stage int8bench 300 "$kiln" bench --model "$m11" --precision fp16,int8 \
                 --batch 1,32 --iters 300 --timing-cache "$cache" --calib "${INT8_CALIB:-$assets/images}" --profile \
                 --profile-top 20 ;;
    int8ncu) # the GPU image has ncu under /opt/nvidia/nsight-compute/<version>/, not on PATH
             ncu=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
             [[ -x "$ncu" ]] || { echo "int8ncu: no ncu (PATH, /usr/local/cuda/bin, /opt/nvidia/nsight-compute)"; continue; }
             KILN_CACHE_DIR=/tmp/kiln-int8 stage int8ncu 400 "$ncu" --clock-control none -k regex:implicit_gemm_kernel \
               -c "${NCU_KERNELS:-16}" --section SpeedOfLight --section Occupancy --section WarpStateStats \
               --section InstructionStats --section LaunchStats "$kiln" bench --model "$m11" --precision int8 --batch 32 \
               --iters 1 --timing-cache "$cache" --calib "${INT8_CALIB:-$assets/images}" ;;
    int8val) data=$assets/datasets/coco128/coco128.yaml
             for m in yolo11n-dynamic yolov8n; do
               [[ -f "$assets/models/$m.onnx" ]] && KILN_CACHE_DIR=/tmp/kiln-int8val stage "int8val-$m" 300 "$kiln" val \
                 --model "$assets/models/$m.onnx" --data "$data" --device cuda --precision fp32,fp16,int8 --batch 32 \
                 --calib "$data" --calib-images "${INT8_CALIB_IMAGES:-128}"
             done ;;
    tritongpu) stage tritongpu 200 "$carry/kiln_triton_gpu_tests" --gtest_output="xml:$out/gtest_triton.xml" ;;
    videogpu) stage videogpu 200 "$carry/kiln_video_gpu_tests" --gtest_output="xml:$out/gtest_video.xml" ;;
    strict) KILN_YUV444_VIDEO=$(realpath "$assets/video/yuv444.mp4" 2>/dev/null) \
            KILN_MIXED_VIDEO_DIR=$(realpath "$assets/video/mixed" 2>/dev/null) stage strict 200 \
              python3 tests/cli/test_strict_gpu.py ;;
    soak|soakloop|soakfolder)
      if [[ $s != soakfolder ]]; then
        stage soak-loop $((${SOAK_SECONDS:-300} + 30)) python3 bench/soak/soak.py loop --model "$m11" --device cuda:0 \
          --precision fp16 --count "${SOAK_COUNT:-1000000}" --batch "${SOAK_BATCH:-32}" --soak-bin "$carry/kiln_soak" \
          --seconds "${SOAK_SECONDS:-300}" --json "$out/soak_loop.json"
      fi
      if [[ $s != soakloop ]]; then
        stage soak-folder $((${SOAK_FOLDER_SECONDS:-200} + 30)) python3 bench/soak/soak.py folder \
          --model "$assets/models/yolo11n.onnx" --device cuda:0 --precision fp16 --images "${SOAK_IMAGES:-10000}" \
          --kiln "$kiln" --seconds "${SOAK_FOLDER_SECONDS:-200}" --json "$out/soak_folder.json"
      fi ;;
    engine) stage engine 200 scripts/gpu-engine-check.sh "$kiln" "$assets/models/yolo11n.onnx" ;;
    api) stage api 400 "$carry/kiln_api_gpu_tests" --gtest_filter='-EngineV2Gpu.*' --gtest_output="xml:$out/gtest_api.xml" ;;
    track)  # kiln track (ByteTrack) on every video in $assets/video, CUDA FP16, JSON lines + MOT txt
      # The engine first (into the cache the runs read), so that no run's FPS includes a build:
      # one frame of each video, which builds a dynamic detector at the video's letterbox size.
      for v in "$assets"/video/*.mp4; do
        stage "track-build-$(basename "$v" .mp4)" 200 "$kiln" track --model "$det" --source "$v" --device cuda \
          --precision fp16 --max-frames 1 --quiet
      done
      for v in "$assets"/video/*.mp4; do
        stage "track-$(basename "$v" .mp4)" 200 "$kiln" track --model "$det" --source "$v" --device cuda --precision fp16 \
          --json /tmp/kiln-track.jsonl --mot /tmp/kiln-track.txt
      done ;;
    trackpeer)  # Ultralytics `yolo track` (ByteTrack, FP16, OpenCV decode) on the track stage's videos
      install_wheels  # ultralytics and lap
      for v in "$assets"/video/*.mp4; do
        PYTHONPATH=/tmp/site YOLO_OFFLINE=1 YOLO_AUTOINSTALL=false stage "trackpeer-$(basename "$v" .mp4)" 250 \
          python3 bench/peers/yolo_track_peer.py --model "$assets/models/pt/${TRACK_PEER_MODEL:-yolo11n}.pt" \
          --source "$v" --half
      done ;;
    engines)
      KILN_CACHE_DIR=/tmp/kiln-engines stage engines 300 "$carry/kiln_api_gpu_tests" \
        --gtest_filter='EngineV2Gpu.*'
      stage engines-bench 150 "$kiln" bench --model "$assets/models/yolo11n.onnx" --precision fp16 --batch 1 \
        --iters 200 --timing-cache "$cache" --json
      stage engines-bench32 150 "$kiln" bench --model "$m11" --precision fp16 --batch 32 --iters 200 \
        --timing-cache "$cache" --json ;;
    folder)
      for i in cold warm; do
        [[ $i == cold ]] && rm -rf /tmp/kiln-folder
        KILN_CACHE_DIR=/tmp/kiln-folder stage "folder-$i" "${FOLDER_LIMIT:-200}" python3 bench/new_sizes.py \
          --json "$out/folder-$i-sizes.json" -- "$kiln" predict --model "$m11" \
          --source "$assets/datasets/coco128/images/train2017" --device cuda --precision fp16 --json /tmp/folder.json
      done
      [[ -n "${FOLDER_VAL:-1}" ]] && KILN_CACHE_DIR=/tmp/kiln-folder stage folder-val 250 "$kiln" val --model "$m11" \
        --data "$assets/datasets/coco128/coco128.yaml" --device cuda --precision fp32 --batch 1 ;;
    fp16)  # CUDA FP16 vs CPU predictions, three times, each tuned afresh (own timing cache)
      for i in 1 2 3; do
        KILN_CACHE_DIR=/tmp/kiln-fp16-$i stage "fp16-$i" 120 "$carry/kiln_api_gpu_tests" \
          --gtest_filter='*CudaPredictionsEqualCpuPredictions/1'
      done ;;
    predref)  # the CLI reference tests with kiln predict on CUDA, FP16 and FP32, for the models carried
      for p in fp16 fp32; do
        export KILN_BIN=$(realpath "$kiln") KILN_PREDICT_ARGS="--device cuda --precision $p --cache-dir /tmp/kiln-pred-$p"
        [[ -f "$assets/models/yolo11n-dynamic.onnx" && -f "$assets/models/yolo11n.onnx" && -f "$assets/models/yolov8n.onnx" ]] &&
          stage "predref-$p" 200 python3 tests/cli/test_predict.py
        [[ -f "$assets/models/yolov8n-seg.onnx" && -f "$assets/models/yolo11n-pose.onnx" ]] &&
          stage "predtasks-$p" 200 python3 tests/cli/test_predict_tasks_reference.py
      done
      unset KILN_PREDICT_ARGS ;;
    coldn) n=${TUNE_CANDIDATES:-3}; rm -f "$cache.$n"
           stage "cold$n" 150 "$kiln" bench --model "$m11" --precision fp16 --batch 1,32 --iters 200 \
             --timing-cache "$cache.$n" --tune-candidates "$n"
           stage "warm$n" 100 "$kiln" bench --model "$m11" --precision fp16 --batch 1,32 --iters 300 \
             --timing-cache "$cache.$n" ;;
    val)  # static (640x640) and dynamic (rectangular batch-32 shapes) exports
      for m in yolo11n yolov8n yolo11n-dynamic yolov8n-dynamic; do
        [[ -f "$assets/models/$m.onnx" ]] && KILN_CACHE_DIR=/tmp/kiln-val-cache stage "val-$m" 250 "$kiln" val \
          --model "$assets/models/$m.onnx" --data "$assets/datasets/coco128/coco128.yaml" --device cuda \
          --precision fp32,fp16 --batch 32
      done ;;
    valn)  # FP16 val again, $VAL_RUNS times (default 2), each tuned afresh: how far tactics move mAP
      for m in yolo11n yolov8n yolo11n-dynamic yolov8n-dynamic; do
        [[ -f "$assets/models/$m.onnx" ]] || continue
        for i in $(seq "${VAL_RUNS:-2}"); do
          KILN_CACHE_DIR=/tmp/kiln-valn-$m-$i stage "valn-$m-$i" 150 "$kiln" val --model "$assets/models/$m.onnx" \
            --data "$assets/datasets/coco128/coco128.yaml" --device cuda --precision fp16 --batch 32 --json
          python3 -c 'import json, sys; t = open(sys.argv[1]).read(); a = json.JSONDecoder().raw_decode(t[t.index("{"):])[0]["all"]
print("valn", sys.argv[2], "mAP50", round(a["map50"], 5), "mAP50-95", round(a["map50_95"], 5))' \
            "$out/valn-$m-$i.log" "$m-$i" 2>&1 | tee -a "$out/valn.log"
        done
      done ;;
    peer)
      install_wheels
      PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 YOLO_OFFLINE=1 stage peer 200 python3 bench/peers/torch_peer.py \
        --assets "$assets" --models "${PEER_MODELS:-yolo11n,yolov8n}" --compile-models "${PEER_COMPILE-yolo11n}" \
        --batch 1,32 --iters 200 --out "$out/torch_peer.md" ;;
    python)
      rm -rf /tmp/kiln-py && mkdir -p /tmp/kiln-py && tar -C /tmp/kiln-py -xJf "$carry/python.tar.xz"
      py=${KILN_PY:-/opt/torch/.venv/bin/python3}
      [[ -x "$py" ]] || py=python3
      pypath=/tmp/kiln-py/python
      "$py" -c 'import pytest' 2> /dev/null || pypath+=:/tmp/kiln-py/python/deps  # pytest from the carry
      PYTHONPATH=$pypath stage python-tests 400 "$py" -m pytest -rs -p no:cacheprovider \
        tests/python/test_gpu_dlpack.py tests/python/test_dlpack_device.py
      PYTHONPATH=$pypath KILN_CACHE_DIR=/tmp/kiln-py-cache stage python-bench 200 "$py" python/tools/bench_overhead.py \
        "$assets/models/yolo11n.onnx" "$assets/images/bus.jpg" --device cuda:0 --precision fp16
      install_wheels
      PYTHONPATH=$pypath:/tmp/site KILN_CACHE_DIR=/tmp/kiln-py-cache YOLO_OFFLINE=1 stage python-vs-ultralytics 300 \
        "$py" python/tools/bench_vs_ultralytics.py --assets "$assets" ;;
    predict) stage predict 120 "$kiln" predict --model "$assets/models/yolo11n.onnx" --source "$assets/images" \
               --device cuda --precision fp16 --cache-dir /tmp/kiln-cache --json "$out/predict_cuda_fp16.json" ;;
    tasks)  # the other tasks' static exports, batch 1, beside PyTorch on the same inputs
      for m in yolov8n-seg yolo11n-pose yolo11n-obb-random yolo11n-cls-random; do
        [[ -f "$assets/models/$m.onnx" ]] || continue
        stage "tasks-$m" 120 "$kiln" bench --model "$assets/models/$m.onnx" --precision fp16,fp32 --batch 1 \
          --iters 300 --timing-cache "$cache"
      done
      install_wheels
      models=$(cd "$assets/models/pt" && ls *.pt | sed 's/\.pt$//' | paste -sd, -)
      PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 YOLO_OFFLINE=1 stage tasks-peer 200 python3 bench/peers/torch_peer.py \
        --assets "$assets" --models "$models" --compile-models "" --batch 1 --iters 300 \
        --imgsz 640,yolo11n-obb-random=1024,yolo11n-cls-random=224 --out "$out/torch_peer_tasks.md" ;;
    pipelinetests) stage pipelinetests 300 "$carry/kiln_pipeline_gpu_tests" --gtest_output="xml:$out/gtest_pipeline.xml" ;;
    pipeline)  # every model FP16; ReID planned for batches 1..32
      models=$(realpath "$assets/models")
      # A dynamic pose export (Ultralytics' export(dynamic=True)) runs all crops of a frame
      # batched, at 320; the static one runs them one by one at 640.
      pose=$models/yolo11n-pose.onnx pose_profile=
      [[ -f $models/yolo11n-pose-dynamic.onnx ]] && pose=$models/yolo11n-pose-dynamic.onnx pose_profile=', imgsz: 320, batch: "1:8:32"'
      cat > /tmp/kiln-pipeline.yaml <<YAML
models:
  detector: {source: $(realpath "$det"), precision: fp16}
  pose: {source: $pose, precision: fp16$pose_profile}
  reid: {source: $models/reid/osnet_x0_25_msmt17.onnx, precision: fp16, batch: "1:8:32"}
pipelines:
  people:
    detector: detector
    classes: person
    tracker: bytetrack.yaml
    stages:
      - {name: pose, model: pose, role: pose}
      - {name: reid, model: reid, role: embed}
YAML
      # The engines first, so that no run's FPS includes a build.
      first=$(ls "$assets"/video/*.mp4 | head -1)
      stage pipeline-build 300 "$kiln" pipeline people --config /tmp/kiln-pipeline.yaml --device cuda \
        --cache-dir /tmp/kiln-cache --source "$first" --max-frames 1 --quiet
      for v in "$assets"/video/*.mp4; do
        name=$(basename "$v" .mp4)
        run_pipeline=("$kiln" pipeline people --config /tmp/kiln-pipeline.yaml --device cuda --cache-dir /tmp/kiln-cache
                      --source "$v")
        stage "pipeline-$name" 200 "${run_pipeline[@]}" --json "$out/pipeline_$name.jsonl"
        # Every copy the run makes, counted by CUPTI (bench/cupti; Nsight Systems is not
        # usable here): a 720p NV12 frame is 1,382,400 bytes, and no device-to-host copy of
        # 1 MiB or more should happen ("dtoh_large": 0). The same run's timeline (slowed by
        # the tracing: compare traced runs with traced runs) gives each model graph's GPU
        # span per launch and the host time of its launches.
        if [[ -f "$carry/kiln_cupti_probe.so" ]]; then
          CUDA_INJECTION64_PATH=$(realpath "$carry/kiln_cupti_probe.so") KILN_MEMCPY_REPORT="$out/memcpy_$name.json" \
            KILN_TRACE="/tmp/trace_$name.tsv" stage "pipelinememcpy-$name" 200 "${run_pipeline[@]}" --quiet
          cat "$out/memcpy_$name.json"
          python3 "$(dirname "$0")/cupti/trace_summary.py" "/tmp/trace_$name.tsv" --graphs | sed -n '/^GPU busy/p; /^CUDA graphs/,$p'
          xz -T4 -c "/tmp/trace_$name.tsv" > "$out/trace_$name.tsv.xz"
        fi
      done ;;
    reid) osnet="$assets/models/reid/osnet_x0_25_msmt17.onnx"
      stage reid 150 "$kiln" bench --model "$osnet" --precision fp16 --batch 1,20,32 --iters 300
      stage reidprofile 100 "$kiln" bench --model "$osnet" --precision fp16 --batch 20 --iters 100 --profile --profile-top 30
      if [[ -f "$carry/kiln_cupti_probe.so" ]]; then
        CUDA_INJECTION64_PATH=$(realpath "$carry/kiln_cupti_probe.so") KILN_TRACE=/tmp/trace_osnet.tsv \
          stage reidtrace 100 "$kiln" bench --model "$osnet" --precision fp16 --batch 20 --iters 50
        python3 "$(dirname "$0")/cupti/trace_summary.py" /tmp/trace_osnet.tsv --graph-timeline | sed -n '/^graph /,$p' |
          tee "$out/reid_timeline.txt"
        xz -T4 -c /tmp/trace_osnet.tsv > "$out/trace_osnet.tsv.xz"
      fi ;;
    vision) stage vision 100 "$carry/kiln_vision_cuda_tests" --gtest_output="xml:$out/gtest_vision.xml" ;;
    e2e)  # the end-to-end benchmark: bus.jpg decoded in (pinned) host memory -> detections in host memory
      stage e2e 100 "$kiln" bench --model "$assets/models/yolo11n.onnx" --precision fp16 --batch 1 --iters 500 \
        --source "$assets/images/bus.jpg" --timing-cache "$cache" ;;
    video)  # every frame of the first video in $assets/video, annotated, on CUDA FP16
      v=$(ls "$assets"/video/*.mp4 | head -1)
      stage video 200 "$kiln" predict --model "$assets/models/yolo11n.onnx" --source "$v" --device cuda \
        --precision fp16 --cache-dir /tmp/kiln-cache --save /tmp/kiln-video --json /tmp/kiln-video.json
      python3 - "$v" /tmp/kiln-video/"$(basename "$v")" <<'PY' 2>&1 | tee -a "$out/video.log"
import sys, cv2
for p in sys.argv[1:]:
    c = cv2.VideoCapture(p)
    n = 0
    while c.read()[0]: n += 1
    print(p, "frames decoded:", n, "size", int(c.get(3)), "x", int(c.get(4)), "fps", round(c.get(5), 3))
PY
      ;;
    drift)  # Ultralytics' own FP16-vs-FP32 drift on the images (the yardstick for FP16 tolerances)
      install_wheels
      PYTHONPATH=/tmp/site YOLO_OFFLINE=1 stage drift 120 python3 bench/peers/fp16_drift.py \
        "$assets/models/pt/yolo11n.pt" "$assets"/images/*.jpg ;;
    *) echo "unknown stage $s" ;;
  esac
done
