#!/usr/bin/env python3
"""Runs ONNX Runtime (CPUExecutionProvider) on a raw float32 input and writes each output.

Usage: ort_reference.py MODEL.onnx INPUT.raw N,C,H,W OUT_DIR
Writes OUT_DIR/output<i>.raw (float32) and OUT_DIR/outputs.json:
  {"outputs": [{"name": ..., "shape": [...], "file": "output0.raw"}, ...]}
"""
import json
import os
import sys

import numpy as np
import onnxruntime as ort


def main():
    model_path, input_path, shape_text, out_dir = sys.argv[1:5]
    shape = [int(s) for s in shape_text.split(",")]
    x = np.fromfile(input_path, dtype=np.float32).reshape(shape)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
    results = sess.run(None, {sess.get_inputs()[0].name: x})
    os.makedirs(out_dir, exist_ok=True)
    outputs = []
    for i, (meta, value) in enumerate(zip(sess.get_outputs(), results)):
        name = f"output{i}.raw"
        np.ascontiguousarray(value, dtype=np.float32).tofile(os.path.join(out_dir, name))
        outputs.append({"name": meta.name, "shape": list(value.shape), "file": name})
    with open(os.path.join(out_dir, "outputs.json"), "w") as f:
        json.dump({"outputs": outputs}, f)


if __name__ == "__main__":
    main()
