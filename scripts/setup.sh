#!/usr/bin/env bash
# Installs everything kiln needs to build and test on a Debian/Ubuntu machine.
# Used by `make demo`, `make test` and .ci/run, so every path sets up the same way.
set -euo pipefail

APT_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libprotobuf-dev protobuf-compiler   # ONNX protobuf
  libonnx-dev                         # onnx.proto (compiled by our build with protoc)
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  libjpeg62-turbo-dev libstb-dev      # JPEG decode (libjpeg-turbo), PNG/encode (stb)
  libopenblas-dev                     # CPU backend GEMM
  libavformat-dev libavcodec-dev libswscale-dev libavutil-dev libavdevice-dev  # video I/O (FFmpeg; cameras)
  ffmpeg                              # tests: serves live streams on 127.0.0.1
  libopencv-dev                       # BoT-SORT motion compensation (optional: KILN_OPENCV)
  libssl-dev                          # SHA-256 (engine checksums, cache keys) via libcrypto
  zlib1g-dev                          # .npz tensors (kiln run): crc32, inflate
  libgtest-dev libgmock-dev
  python3 python3-pip
)
# Test references only: ONNX Runtime (numerics), OpenCV (letterbox pixels), Pillow, pycocotools
# (COCO RLE masks). The Python
# package: nanobind and scikit-build-core build it (KILN_PYTHON, pip install .), pytest tests it.
PIP_PACKAGES=(numpy onnx onnxruntime opencv-python-headless pillow pycocotools nanobind scikit-build-core pytest)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! python3 -c "import numpy, onnx, onnxruntime, cv2, PIL, pycocotools, nanobind, scikit_build_core, pytest" 2>/dev/null; then
  echo "setup: installing python packages ${PIP_PACKAGES[*]}"
  python3 -m pip install -q "${PIP_PACKAGES[@]}" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "${PIP_PACKAGES[@]}"
fi
# Serving test (tests/triton): Triton Inference Server 2.51's tritonserver binary and its
# libraries, from the nvidia-pytriton wheel alone (--no-deps: its Python side is not used),
# and the HTTP client. Optional: without them the triton test skips.
if ! python3 -c "import tritonclient.http, importlib.util as u; assert u.find_spec('pytriton')" 2>/dev/null; then
  echo "setup: installing nvidia-pytriton (tritonserver binary) and tritonclient[http]"
  triton_pip() { python3 -m pip install -q "$@" 2>/dev/null || python3 -m pip install -q --break-system-packages "$@"; }
  { triton_pip --no-deps nvidia-pytriton==0.7.0 && triton_pip "tritonclient[http]"; } 2>/dev/null \
    || echo "setup: could not install the Triton test server; the triton test will skip"
fi
# CUDA builds: the header-only cuDNN frontend (PyPI) into third_party/ (gitignored).
if command -v nvcc > /dev/null 2>&1; then
  fe_dir="$(cd "$(dirname "$0")/.." && pwd)/third_party/cudnn_frontend"
  if [ ! -f "$fe_dir/include/cudnn_frontend.h" ]; then
    echo "setup: installing nvidia-cudnn-frontend headers into $fe_dir"
    python3 -m pip install -q --no-deps --target "$fe_dir" nvidia-cudnn-frontend==1.32.0 2>/dev/null \
      || python3 -m pip install -q --no-deps --break-system-packages --target "$fe_dir" nvidia-cudnn-frontend==1.32.0
  fi
fi
echo "setup: ok"
