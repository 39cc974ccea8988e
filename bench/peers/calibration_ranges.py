"""Entropy (KL) INT8 ranges of a model's calibration points, from ONNX Runtime
activations: to see which activations a method clips and why, without a kiln build.

The |x| histograms are kiln's (src/quant/activation_histogram.h: bins of a power-of-two width,
2049-4096 of them; entropy searches them merged down to at most 2048). The points are those of
a kiln calibration cache file (calibration-<key>.json), whose ranges are printed beside.
--crop center-crops each image to the square input instead of letterboxing it (no padding).

  python3 bench/peers/calibration_ranges.py MODEL.onnx CACHE/calibration-KEY.json IMAGES_DIR [--crop]
"""
import argparse
import glob
import json

import cv2
import numpy as np
import onnx
import onnxruntime as ort

FINE = 2.0**-11  # histograms are gathered this fine, then merged to kiln's bins


def square(path, size, crop):
    im = cv2.imread(path)
    h, w = im.shape[:2]
    r = (max if crop else min)(size / h, size / w)
    nh, nw = round(h * r), round(w * r)
    im = cv2.resize(im, (nw, nh), interpolation=cv2.INTER_LINEAR)
    if crop:
        top, left = (nh - size) // 2, (nw - size) // 2
        im = im[top:top + size, left:left + size]
    else:
        top, left = (size - nh) // 2, (size - nw) // 2
        im = cv2.copyMakeBorder(im, top, size - nh - top, left, size - nw - left, cv2.BORDER_CONSTANT,
                                value=(114, 114, 114))
    return (im[:, :, ::-1].transpose(2, 0, 1)[None] / 255.0).astype(np.float32)


def kiln_bins(fine, max_abs, most):
    """The fine histogram on the power-of-two bins of at most `most` bins that cover max_abs."""
    width = 2.0 ** np.floor(np.log2(max_abs / most) + 1)
    n = int(max_abs / width) + 1
    idx = np.minimum(((np.arange(len(fine)) + 0.5) * FINE / width).astype(np.int64), n - 1)
    return np.bincount(idx, weights=fine, minlength=n), width


def entropy_bin(c, first=128, levels=128):
    """TensorRT's KL search (tests/tools/calibration_reference.py) from prefix sums."""
    c = c.copy()
    c[0] = c[1]
    s = np.concatenate([[0], np.cumsum(c)])
    nz = np.concatenate([[0], np.cumsum(c != 0)])
    clogc = np.concatenate([[0], np.cumsum(np.where(c > 0, c * np.log(np.maximum(c, 1)), 0))])
    total, best, best_i = s[-1], np.inf, len(c)
    for i in range(first, len(c) + 1):
        outliers = total - s[i]
        if c[i - 1] == 0 and outliers > 0:
            continue
        k = np.arange(levels)
        b, e = (k * i + levels - 1) // levels, ((k + 1) * i + levels - 1) // levels
        mass, count = s[e] - s[b], nz[e] - nz[b]
        avg = np.where(count > 0, mass / np.maximum(count, 1), 1)
        mass[-1] -= c[i - 1]
        kl = (clogc[i - 1] - s[i - 1] * np.log(total / s[i]) - np.sum(np.where(count > 0, mass * np.log(avg), 0))) / total
        p_last = (c[i - 1] + outliers) / total
        if p_last > 0:
            kl += p_last * np.log(p_last / (avg[-1] / s[i]))
        if kl <= best:
            best, best_i = kl, i
    return best_i


def noise_to_signal(fine, amax):
    x = (np.arange(len(fine)) + 0.5) * FINE
    scale = amax / 127
    q = np.minimum(np.round(x / scale), 127) * scale
    return np.sum(fine * (x - q) ** 2) / np.sum(fine * x * x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("cache")
    ap.add_argument("images")
    ap.add_argument("--crop", action="store_true")
    ap.add_argument("--size", type=int, default=640)
    args = ap.parse_args()
    cached = json.load(open(args.cache))["activations"]
    model = onnx.load(args.model)
    inner = [p for p in sorted(cached) if p != model.graph.input[0].name]
    model.graph.output.extend(onnx.ValueInfoProto(name=p) for p in inner)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    hist = {p: np.zeros(1) for p in cached}
    max_abs = dict.fromkeys(cached, 0.0)
    for path in sorted(glob.glob(args.images + "/*"))[:64]:
        x = square(path, args.size, args.crop)
        values = dict(zip(inner, session.run(inner, {model.graph.input[0].name: x})))
        values[model.graph.input[0].name] = x
        for p, v in values.items():
            a = np.abs(v.ravel().astype(np.float64))
            max_abs[p] = max(max_abs[p], a.max())
            b = np.bincount((a / FINE).astype(np.int64)).astype(np.float64)
            hist[p] = np.pad(hist[p], (0, max(0, len(b) - len(hist[p]))))
            hist[p][:len(b)] += b
    print("activation\tmax\tkiln amax\tentropy amax\tnoise-to-signal")
    for p in sorted(cached):
        c, width = kiln_bins(hist[p], max_abs[p], 2048)
        amax = entropy_bin(c) * width
        print(f"{p}\t{max_abs[p]:.3f}\t{cached[p]['amax']:.3f}\t{amax:.3f}\t{noise_to_signal(hist[p], amax):.4f}")


if __name__ == "__main__":
    main()
