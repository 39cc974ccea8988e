#!/usr/bin/env python3
"""Independent numpy re-implementation of Ultralytics 8.4.50's detection metrics
(BaseValidator.match_predictions without scipy, metrics.ap_per_class / compute_ap /
smooth), used to check kiln's src/eval.

stdin: {"images": [{"pred_cls": [...], "conf": [...], "target_cls": [...],
                    "iou": [[...] per target]}, ...]}
stdout: {"classes": [{"class", "p", "r", "ap": [10]}], "mp", "mr", "map50", "map"}
"""
import json
import sys

import numpy as np

EPS = 1e-16


def iou_thresholds():
    # torch.linspace(0.5, 0.95, 10) in float32: first half from the start, second from the end.
    start, end = np.float32(0.5), np.float32(0.95)
    step = (end - start) / np.float32(9)
    return [float(start + step * np.float32(i)) if i < 5 else float(end - step * np.float32(9 - i)) for i in range(10)]


def match(pred_cls, target_cls, iou):
    correct = np.zeros((len(pred_cls), 10), dtype=bool)
    if len(pred_cls) == 0 or len(target_cls) == 0:
        return correct
    iou = iou * (target_cls[:, None] == pred_cls[None, :])
    for t, thr in enumerate(iou_thresholds()):
        pairs = np.argwhere(iou >= np.float32(thr))  # (target, pred), row-major
        if not len(pairs):
            continue
        # highest IoU first, ties in reverse row-major order
        order = np.argsort(iou[pairs[:, 0], pairs[:, 1]], kind="stable")[::-1]
        pairs = pairs[order]
        _, first_per_pred = np.unique(pairs[:, 1], return_index=True)
        pairs = pairs[first_per_pred]  # one pair per prediction, by prediction index
        _, first_per_target = np.unique(pairs[:, 0], return_index=True)
        pairs = pairs[first_per_target]
        correct[pairs[:, 1], t] = True
    return correct


def ap_of_curve(recall, precision):
    mrec = np.concatenate(([0.0], recall, [recall[-1] if len(recall) else 1.0], [1.0]))
    mpre = np.concatenate(([1.0], precision, [0.0], [0.0]))
    mpre = np.flip(np.maximum.accumulate(np.flip(mpre)))
    x = np.linspace(0, 1, 101)
    y = np.interp(x, mrec, mpre)
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))


def box_smooth(y, f):
    nf = round(len(y) * f * 2) // 2 + 1
    pad = np.ones(nf // 2)
    yp = np.concatenate((pad * y[0], y, pad * y[-1]))
    return np.convolve(yp, np.ones(nf) / nf, mode="valid")


def per_class(tp, conf, pred_cls, target_cls):
    order = np.argsort(-conf, kind="stable")
    tp, conf, pred_cls = tp[order], conf[order], pred_cls[order]
    classes, counts = np.unique(target_cls, return_counts=True)
    x = np.linspace(0, 1, 1000)
    ap = np.zeros((len(classes), 10))
    pc, rc = np.zeros((len(classes), 1000)), np.zeros((len(classes), 1000))
    for ci, c in enumerate(classes):
        sel = pred_cls == c
        if not sel.any():
            continue
        tpc = tp[sel].cumsum(0)
        fpc = (1 - tp[sel]).cumsum(0)
        recall = tpc / (counts[ci] + EPS)
        precision = tpc / (tpc + fpc)
        rc[ci] = np.interp(-x, -conf[sel], recall[:, 0], left=0)
        pc[ci] = np.interp(-x, -conf[sel], precision[:, 0], left=1)
        for t in range(10):
            ap[ci, t] = ap_of_curve(recall[:, t], precision[:, t])
    f1 = 2 * pc * rc / (pc + rc + EPS)
    best = box_smooth(f1.mean(0), 0.1).argmax() if len(classes) else 0
    return classes, pc[:, best], rc[:, best], ap


def main():
    data = json.load(sys.stdin)
    tps, confs, pcls, tcls = [], [], [], []
    for im in data["images"]:
        p = np.array(im["pred_cls"], dtype=np.int64)
        t = np.array(im["target_cls"], dtype=np.int64)
        iou = np.array(im["iou"], dtype=np.float32).reshape(len(t), len(p))
        tps.append(match(p, t, iou))
        confs.append(np.array(im["conf"], dtype=np.float32))
        pcls.append(p)
        tcls.append(t)
    tp = np.concatenate(tps) if tps else np.zeros((0, 10), bool)
    conf = np.concatenate(confs) if confs else np.zeros(0, np.float32)
    pred_cls = np.concatenate(pcls) if pcls else np.zeros(0, np.int64)
    target_cls = np.concatenate(tcls) if tcls else np.zeros(0, np.int64)
    classes, p, r, ap = per_class(tp.astype(np.float64), conf, pred_cls, target_cls)
    out = {
        "classes": [{"class": int(c), "p": float(p[i]), "r": float(r[i]), "ap": ap[i].tolist()}
                    for i, c in enumerate(classes)],
        "mp": float(p.mean()) if len(p) else 0.0,
        "mr": float(r.mean()) if len(r) else 0.0,
        "map50": float(ap[:, 0].mean()) if len(ap) else 0.0,
        "map": float(ap.mean()) if len(ap) else 0.0,
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
