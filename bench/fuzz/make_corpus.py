#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz harnesses (fuzz/) from the test assets.

    python3 bench/fuzz/make_corpus.py OUT_DIR [--assets DIR] [--kiln BIN]

OUT_DIR/<harness>/ gets small valid inputs, so the fuzzers start from the formats' real
structure: ONNX graphs (a tiny YOLO-shaped graph of the ops the exports use, static and
dynamic, and one-op models with window attributes: a few KB each, so every execution is
fast), .kiln engines of them (with --kiln), images (the asset photos shrunk to JPEG
baseline/progressive with EXIF orientations, PNG of every colour type, BMP), kiln.yaml files,
dataset yaml + label files, and videos of a few 32x24 frames (MPEG-4 in MP4, MJPEG and Xvid
in AVI, animated GIF; H.264 MP4 written by `kiln predict --save` with --kiln). Nothing is
committed: the corpora are made where they are used.
"""
import argparse
import io
import os
import subprocess
import sys
import tempfile

import numpy as np
from onnx import TensorProto, helper
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def const(name, shape, values=None, dtype=np.float32):
    data = np.asarray(values if values is not None else np.linspace(-1, 1, int(np.prod(shape))), dtype).reshape(shape)
    return helper.make_tensor(name, helper.np_dtype_to_tensor_dtype(data.dtype), list(shape), data.flatten().tolist())


def tiny_yolo(dynamic):
    """A YOLO-shaped graph in a few KB: Conv + SiLU, C2f's Split / Concat, SPPF's MaxPool,
    the neck's Resize, and the head's Reshape / Transpose / Softmax / Slice / Add."""
    dims = ["batch", 3, "height", "width"] if dynamic else [1, 3, 32, 32]
    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, dims)
    y = helper.make_tensor_value_info("output0", TensorProto.FLOAT, None)
    n = helper.make_node
    nodes = [
        n("Conv", ["images", "w1", "b1"], ["c1"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        n("Sigmoid", ["c1"], ["s1"]), n("Mul", ["c1", "s1"], ["a1"]),
        n("Split", ["a1", "split"], ["p", "q"], axis=1),
        n("MaxPool", ["q"], ["m"], kernel_shape=[5, 5], strides=[1, 1], pads=[2, 2, 2, 2]),
        n("Concat", ["p", "q", "m"], ["cat"], axis=1),
        n("Resize", ["cat", "", "scales"], ["up"], mode="nearest"),
        n("Conv", ["up", "w2"], ["c2"], kernel_shape=[1, 1]),
        n("Reshape", ["c2", "shape"], ["r"]), n("Transpose", ["r"], ["t"], perm=[0, 2, 1]),
        n("Softmax", ["t"], ["sm"], axis=-1), n("Transpose", ["sm"], ["tb"], perm=[0, 2, 1]),
        n("Slice", ["tb", "starts", "ends", "axes"], ["sl"]), n("Add", ["sl", "bias"], ["output0"]),
    ]
    # output0: [batch, 4 box + 2 class rows, anchors], a detect head's layout.
    inits = [const("w1", [4, 3, 3, 3]), const("b1", [4]), const("split", [2], [2, 2], np.int64),
             const("scales", [4], [1, 1, 2, 2]), const("w2", [6, 6, 1, 1]), const("shape", [3], [0, 6, -1], np.int64),
             const("starts", [1], [0], np.int64), const("ends", [1], [6], np.int64), const("axes", [1], [1], np.int64),
             const("bias", [6, 1], [8, 8, 4, 4, 0.2, 0.1])]
    graph = helper.make_graph(nodes, "tiny_yolo", [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    for k, v in {"task": "detect", "stride": "32", "imgsz": "[32, 32]", "names": "{0: 'a', 1: 'b'}"}.items():
        model.metadata_props.add(key=k, value=v)
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
    yield "tiny_yolo", tiny_yolo(dynamic=False)
    yield "tiny_yolo_dynamic", tiny_yolo(dynamic=True)


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


def videos(kiln, tmp):
    """A few 32x24 frames in the containers and codecs kiln meets most."""
    import cv2  # opencv-python: the tests' reference for video frames

    out = {}
    frames = [np.full((24, 32, 3), (i * 60, 255 - i * 60, 128), np.uint8) for i in range(3)]
    for fourcc, name in (("mp4v", "mpeg4.mp4"), ("MJPG", "mjpeg.avi"), ("XVID", "xvid.avi")):
        path = os.path.join(tmp, name)
        w = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), 10, (32, 24))
        for f in frames:
            w.write(f)
        w.release()
        if os.path.exists(path):
            out[name] = open(path, "rb").read()
    buf = io.BytesIO()
    imgs = [Image.fromarray(f[:, :, ::-1]) for f in frames]
    imgs[0].save(buf, "GIF", save_all=True, append_images=imgs[1:], duration=100, loop=0)
    out["anim.gif"] = buf.getvalue()
    if kiln and "mjpeg.avi" in out:  # kiln's own writer: H.264 where libavcodec has it
        src = os.path.join(tmp, "mjpeg.avi")
        model = os.path.join(tmp, "tiny_yolo.onnx")
        save = os.path.join(tmp, "saved")
        r = subprocess.run([kiln, "predict", "--model", model, "--source", src, "--save", save, "--quiet"],
                           capture_output=True, text=True)
        saved = [os.path.join(save, f) for f in os.listdir(save)] if os.path.isdir(save) else []
        if r.returncode == 0 and saved:
            out["kiln_h264.mp4"] = open(saved[0], "rb").read()
        else:
            print(f"make_corpus: no H.264 seed: {r.stderr.strip()}", file=sys.stderr)
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
        if a.kiln:  # signed with the engine_reader harness's key (32 bytes of 'k')
            key = os.path.join(tmp, "fuzz.key")
            write(key, b"k" * 32)
            eng = os.path.join(a.out, "engine_reader", "tiny_yolo_signed.kiln")
            subprocess.run([a.kiln, "build", os.path.join(tmp, "tiny_yolo.onnx"), "-o", eng, "--sign-key", key],
                           capture_output=True)
        for name, data in videos(a.kiln, tmp).items():
            write(os.path.join(a.out, "video_demux", name), data)
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
