#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz harnesses (fuzz/) from the test assets.

    python3 bench/fuzz/make_corpus.py OUT_DIR [--assets DIR] [--kiln BIN]

OUT_DIR/<harness>/ gets small valid inputs, so the fuzzers start from the formats' real
structure: ONNX graphs (the asset models with their weights turned into graph inputs, so the
whole YOLO graph is imported and shape-inferred in a few KB, plus one-op models with
window attributes), .kiln engines of the one-op models (with --kiln), images (the asset
photos shrunk to JPEG baseline/progressive with EXIF orientations, PNG of every colour type,
BMP), kiln.yaml files and dataset yaml + label files. Nothing is committed: the corpora are
made where they are used.
"""
import argparse
import io
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def weights_as_inputs(model):
    """The model's graph with every initializer made a declared graph input (no data)."""
    g = model.graph
    for init in list(g.initializer):
        g.input.append(helper.make_tensor_value_info(init.name, init.data_type, list(init.dims)))
    del g.initializer[:]
    return model


def one_op_models():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = helper.make_tensor("w", TensorProto.FLOAT, [2, 2, 3, 3], np.linspace(-1, 1, 36).astype(np.float32))
    cases = {
        "conv": (helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1]), [w]),
        "conv_same": (helper.make_node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER", dilations=[2, 2]), [w]),
        "convt": (helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], output_padding=[1, 1]), [w]),
        "maxpool": (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1), []),
        "avgpool": (helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], pads=[1, 1, 0, 0]), []),
        "resize": (helper.make_node("Resize", ["x", "", "s"], ["y"], mode="nearest"),
                   [helper.make_tensor("s", TensorProto.FLOAT, [4], [1, 1, 2, 2])]),
    }
    for name, (node, inits) in cases.items():
        graph = helper.make_graph([node], name, [x], [y], initializer=inits)
        yield name, helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def images(assets):
    out = {}
    for name in ("bus.jpg", "zidane.jpg"):
        img = Image.open(os.path.join(assets, "images", name)).convert("RGB")
        img.thumbnail((48, 48))
        stem = name.split(".")[0]
        for orientation in (1, 3, 6, 8):
            exif = Image.Exif()
            exif[0x0112] = orientation
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=80, exif=exif.tobytes())
            out[f"{stem}_o{orientation}.jpg"] = buf.getvalue()
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=60, progressive=True)
        out[f"{stem}_progressive.jpg"] = buf.getvalue()
        buf = io.BytesIO()
        img.convert("CMYK").save(buf, "JPEG")
        out[f"{stem}_cmyk.jpg"] = buf.getvalue()
        for mode in ("RGB", "RGBA", "L", "P", "I;16"):
            buf = io.BytesIO()
            (img.convert("I").convert(mode) if mode == "I;16" else img.convert(mode)).save(buf, "PNG")
            out[f"{stem}_{mode.replace(';', '')}.png"] = buf.getvalue()
        buf = io.BytesIO()
        img.save(buf, "BMP")
        out[f"{stem}.bmp"] = buf.getvalue()
    return out


CONFIGS = [
    b"cache_dir: cache\non_mismatch: auto\ndevice: cpu\nmodels:\n"
    b"  vehicle: {source: yolo11n.onnx, imgsz: 640, precision: fp32, batch: 1, workspace: 2}\n"
    b"  plate:   {source: plates.onnx, imgsz: 416, batch: \"1:4:8\"}\n",
    b"models:\n  a:\n    source: a.onnx\n    device: cuda:0\n    precision: fp16\n",
    b"models_dir: models\nmodels: {}\n",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--assets", default=os.environ.get("KILN_ASSETS_DIR", os.path.join(HERE, "../../../shared/assets")))
    ap.add_argument("--kiln", help="kiln binary, to build .kiln seeds of the one-op models")
    a = ap.parse_args()

    for name in ("yolo11n.onnx", "yolov8n-seg.onnx", "yolo11n-pose.onnx", "yolo11n-dynamic.onnx"):
        path = os.path.join(a.assets, "models", name)
        if os.path.exists(path):
            m = weights_as_inputs(onnx.load(path))
            write(os.path.join(a.out, "onnx_import", name), m.SerializeToString())
    os.makedirs(os.path.join(a.out, "engine_reader"), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, m in one_op_models():
            data = m.SerializeToString()
            write(os.path.join(a.out, "onnx_import", name + ".onnx"), data)
            if a.kiln:
                src = os.path.join(tmp, name + ".onnx")
                write(src, data)
                eng = os.path.join(a.out, "engine_reader", name + ".kiln")
                r = subprocess.run([a.kiln, "build", src, "-o", eng, "--device", "cpu"], capture_output=True, text=True)
                if r.returncode != 0:
                    print(f"make_corpus: no engine seed for {name}: {r.stderr.strip()}", file=sys.stderr)
    for name, data in images(a.assets).items():
        write(os.path.join(a.out, "image_decode", name), data)
    for i, data in enumerate(CONFIGS):
        write(os.path.join(a.out, "config_yaml", f"kiln{i}.yaml"), data)
    for ds in ("coco8", "coco8-pose", "coco8-seg", "dota8"):
        root = os.path.join(a.assets, "datasets", ds)
        if not os.path.isdir(root):
            continue
        yaml = open(os.path.join(root, ds + ".yaml"), "rb").read()
        # The harness's folder has images/ and labels/ beside the yaml.
        # (without comments: the harness skips any yaml naming '/', which would leave its folder).
        lines = [l for l in yaml.splitlines()
                 if not l.lstrip().startswith((b"#", b"path:", b"train:", b"val:", b"test:", b"download:"))]
        yaml = b"\n".join([b"val: images"] + lines) + b"\n"
        labels = os.path.join(root, "labels", "val")
        for k, txt in enumerate(sorted(os.listdir(labels))[:2]):
            write(os.path.join(a.out, "dataset", f"{ds}_{k}"), yaml + b"\0" + open(os.path.join(labels, txt), "rb").read())
    for d in sorted(os.listdir(a.out)):
        print(f"{d}: {len(os.listdir(os.path.join(a.out, d)))} seeds")


if __name__ == "__main__":
    main()
