# Two entry points (see README.md): `make demo` and `make test`.
BUILD_DIR ?= build
JOBS      ?= 2
ASSETS    ?= $(abspath ../shared/assets)
KILN_MODEL  ?= $(ASSETS)/models/yolo11n.onnx
KILN_SOURCE ?= $(ASSETS)/images/bus.jpg
CMAKE_FLAGS ?=

.PHONY: setup configure build demo test clean

setup:
	@bash scripts/setup.sh

configure: setup
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DKILN_ASSETS_DIR=$(ASSETS) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	$(BUILD_DIR)/kiln predict --model $(KILN_MODEL) --source $(KILN_SOURCE) \
	  --save out/demo --json out/demo/predictions.json

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD_DIR) out
