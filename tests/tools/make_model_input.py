#!/usr/bin/env python3
"""Writes a model's input tensor for bus.jpg as raw float32 (NCHW, RGB, /255).

The image is resized keeping its aspect ratio and padded with 114 to the model's input
H x W (letterbox, centered); symbolic dims become batch 1 and 640 x 640.
Usage: make_model_input.py MODEL.onnx IMAGE OUT.raw  -> prints the shape as JSON.
"""
import json
import sys

import numpy as np
import onnx
from PIL import Image


def input_shape(model_path):
    model = onnx.load(model_path, load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}
    inp = next(i for i in model.graph.input if i.name not in initializers)
    dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
    defaults = [1, 3, 640, 640]
    return [d if d else defaults[k] for k, d in enumerate(dims)]


def letterbox(image_path, height, width):
    img = Image.open(image_path).convert("RGB")
    r = min(height / img.height, width / img.width)
    new_w, new_h = round(img.width * r), round(img.height * r)
    img = img.resize((new_w, new_h), Image.BILINEAR)
    canvas = Image.new("RGB", (width, height), (114, 114, 114))
    canvas.paste(img, ((width - new_w) // 2, (height - new_h) // 2))
    return np.asarray(canvas, dtype=np.float32).transpose(2, 0, 1) / 255.0


def main():
    model_path, image_path, out_path = sys.argv[1:4]
    n, c, h, w = input_shape(model_path)
    chw = letterbox(image_path, h, w)
    x = np.ascontiguousarray(np.broadcast_to(chw[None], (n, c, h, w)), dtype=np.float32)
    x.tofile(out_path)
    print(json.dumps({"shape": list(x.shape)}))


if __name__ == "__main__":
    main()
