"""What Ultralytics 8.4.50's predictors do with ONNX segment / pose / obb / classify
exports, in numpy (float32 throughout, as the torch code computes): the reference kiln's
task decoders are checked against. Results use kiln's JSON layout (src/vision/results_json.h).

  vision_task_ref.py run TASK MODEL CONF IMAGE...
      cv2.imread, square letterbox (static exports) or classify_transforms, ONNX Runtime,
      postprocessing; prints a JSON list, one entry per image.
  vision_task_ref.py post TASK CONF IN_H IN_W ORIG_H ORIG_W NC RAW0:1x116x8400 [RAW1:1x32x160x160]
      postprocessing only, of raw float32 outputs written by kiln; prints one image's entry
      (without "image"). NC: number of classes (pose: also the keypoint layout comes from RAW0).
  vision_task_ref.py classify_input IMAGE SIZE OUT.raw
      classify_transforms pixels (RGB HWC uint8, before ToTensor) written to OUT.raw.
"""
import ast
import json
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vision_letterbox_ref import letterbox  # noqa: E402
from vision_predict_ref import nms  # noqa: E402

F32 = np.float32
MAX_WH = 7680.0


def select(p, nc, conf, max_nms=30000):
    """non_max_suppression up to NMS: best class (first maximum), score > conf, max_nms cap."""
    scores = p[4:4 + nc]
    cls = scores.argmax(0)
    score = scores.max(0)
    idx = np.nonzero(score > conf)[0]
    if len(idx) > max_nms:
        idx = idx[np.argsort(-score[idx], kind="stable")[:max_nms]]
    return idx, cls[idx], score[idx]


def xyxy_of(p, idx):
    xywh = p[:4, idx].T
    half = xywh[:, 2:] / F32(2)
    return np.concatenate([xywh[:, :2] - half, xywh[:, :2] + half], 1)


def detect_keep(p, nc, conf, iou, max_det=300):
    idx, cls, score = select(p, nc, conf)
    xyxy = xyxy_of(p, idx)
    keep = nms(xyxy + (cls[:, None] * MAX_WH).astype(F32), score, iou)[:max_det]
    return [(int(idx[i]), int(cls[i]), float(score[i]), xyxy[i]) for i in keep]


def geometry(in_hw, orig_hw):
    (ih, iw), (oh, ow) = in_hw, orig_hw
    gain = min(ih / oh, iw / ow)
    return gain, round((iw - round(ow * gain)) / 2 - 0.1), round((ih - round(oh * gain)) / 2 - 0.1)


def scale_box(b, in_hw, orig_hw):
    """ops.scale_boxes (xyxy, clipped)."""
    gain, pad_x, pad_y = geometry(in_hw, orig_hw)
    b = b.copy()
    b[[0, 2]] -= F32(pad_x)
    b[[1, 3]] -= F32(pad_y)
    b /= F32(gain)
    b[[0, 2]] = b[[0, 2]].clip(0, orig_hw[1])
    b[[1, 3]] = b[[1, 3]].clip(0, orig_hw[0])
    return [float(v) for v in b]


def det_json(cls, score, box, names):
    return {"class_id": cls, "class_name": names.get(cls, str(cls)), "confidence": score, "box_xyxy": box}


def upsample_bilinear(x, out_h, out_w):
    """F.interpolate(mode="bilinear", align_corners=False) of one float32 plane."""
    def taps(n_in, n_out):
        scale = F32(n_in) / F32(n_out)
        src = np.maximum(scale * (np.arange(n_out, dtype=F32) + F32(0.5)) - F32(0.5), F32(0))
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        l1 = np.clip(src - i0.astype(F32), F32(0), F32(1))
        i1 = i0 + (i0 < n_in - 1)
        return i0, i1, F32(1) - l1, l1
    y0, y1, wy0, wy1 = taps(x.shape[0], out_h)
    x0, x1, wx0, wx1 = taps(x.shape[1], out_w)
    top = x[y0][:, x0] * wx0 + x[y0][:, x1] * wx1
    bottom = x[y1][:, x0] * wx0 + x[y1][:, x1] * wx1
    return top * wy0[:, None] + bottom * wy1[:, None]


def post_segment(out0, protos, in_hw, orig_hw, names, conf, iou=0.7):
    p = out0[0]
    c, mh, mw = protos.shape[1:]
    nc = p.shape[0] - 4 - c
    dets = []
    for anchor, cls, score, box in detect_keep(p, nc, conf, iou):
        logits = (p[4 + nc:, anchor] @ protos[0].reshape(c, -1)).reshape(mh, mw)
        ratios = np.array([mw / in_hw[1], mh / in_hw[0]] * 2, dtype=F32)
        x1, y1, x2, y2 = np.round(np.maximum(box * ratios, F32(0))).astype(int)
        logits[:y1] = 0
        logits[y2:] = 0
        logits[:, :x1] = 0
        logits[:, x2:] = 0
        area = int((upsample_bilinear(logits, *in_hw) > 0).sum())
        if area == 0:
            continue
        d = det_json(cls, score, scale_box(box, in_hw, orig_hw), names)
        d["mask_area"] = area
        dets.append(d)
    return dets


def post_pose(out0, in_hw, orig_hw, names, conf, iou=0.7, nc=1):
    p = out0[0]
    nk = (p.shape[0] - 4 - nc) // 3
    (ih, iw), (oh, ow) = in_hw, orig_hw
    gain = min(ih / oh, iw / ow)
    pad = ((iw - round(ow * gain)) / 2, (ih - round(oh * gain)) / 2)
    dets = []
    for anchor, cls, score, box in detect_keep(p, nc, conf, iou):
        k = p[4 + nc:, anchor].reshape(nk, 3).copy()
        k[:, 0] = ((k[:, 0] - F32(pad[0])) / F32(gain)).clip(0, ow)
        k[:, 1] = ((k[:, 1] - F32(pad[1])) / F32(gain)).clip(0, oh)
        d = det_json(cls, score, scale_box(box, in_hw, orig_hw), names)
        d["keypoints"] = [[float(v) for v in row] for row in k]
        dets.append(d)
    return dets


def covariance(b):
    a, bb = b[:, 2] ** 2 / F32(12), b[:, 3] ** 2 / F32(12)
    cos, sin = np.cos(b[:, 4]), np.sin(b[:, 4])
    return a * cos ** 2 + bb * sin ** 2, a * sin ** 2 + bb * cos ** 2, (a - bb) * cos * sin


def batch_probiou(b1, b2, eps=1e-7):
    """metrics.batch_probiou, float32."""
    eps = F32(eps)
    x1, y1 = b1[:, 0:1], b1[:, 1:2]
    x2, y2 = b2[None, :, 0], b2[None, :, 1]
    a1, bb1, c1 = (v[:, None] for v in covariance(b1))
    a2, bb2, c2 = (v[None] for v in covariance(b2))
    a, b, c = a1 + a2, bb1 + bb2, c1 + c2
    denom = a * b - c ** 2 + eps
    t1 = (a * (y1 - y2) ** 2 + b * (x1 - x2) ** 2) / denom * F32(0.25)
    t2 = (c * (x2 - x1) * (y1 - y2)) / denom * F32(0.5)
    dets = np.maximum(a1 * bb1 - c1 ** 2, F32(0)) * np.maximum(a2 * bb2 - c2 ** 2, F32(0))
    t3 = np.log((a * b - c ** 2) / (F32(4) * np.sqrt(dets) + eps) + eps) * F32(0.5)
    bd = np.clip(t1 + t2 + t3, eps, F32(100))
    return F32(1) - np.sqrt(F32(1) - np.exp(-bd) + eps)


def fast_nms(boxes, scores, iou):
    """TorchNMS.fast_nms: dropped when any higher-scoring box has IoU >= iou (float32)."""
    order = np.argsort(-scores, kind="stable")
    ious = np.triu(batch_probiou(boxes[order], boxes[order]), 1)
    return order[(ious >= F32(iou)).sum(0) <= 0]


def post_obb(out0, in_hw, orig_hw, names, conf, iou=0.7, max_det=300):
    p = out0[0]
    nc = p.shape[0] - 5
    idx, cls, score = select(p, nc, conf)
    rb = np.concatenate([p[:4, idx].T, p[-1:, idx].T], 1)
    off = (cls * MAX_WH).astype(F32)
    shifted = rb.copy()
    shifted[:, 0] += off
    shifted[:, 1] += off
    keep = fast_nms(shifted, score, iou)[:max_det]
    gain, pad_x, pad_y = geometry(in_hw, orig_hw)
    dets = []
    for i in keep:
        b = rb[i].copy()
        b[0] -= F32(pad_x)
        b[1] -= F32(pad_y)
        b[:4] /= F32(gain)
        c = int(cls[i])
        dets.append({"class_id": c, "class_name": names.get(c, str(c)), "confidence": float(score[i]),
                     "box_xywhr": [float(v) for v in b]})
    return dets


def top5(probs, names):
    order = np.argsort(-probs, kind="stable")[:5]
    return [{"class_id": int(i), "class_name": names.get(int(i), str(int(i))), "confidence": float(probs[i])}
            for i in order]


def classify_input(bgr, size):
    """classify_transforms(size): torchvision Resize(size) (PIL bilinear) + CenterCrop(size)."""
    from PIL import Image
    img = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(size * long / short)
    new_w, new_h = (size, new_long) if w <= h else (new_long, size)
    if (new_w, new_h) != (w, h):
        img = img.resize((new_w, new_h), Image.BILINEAR)
    top, left = int(round((new_h - size) / 2.0)), int(round((new_w - size) / 2.0))
    return np.asarray(img)[top:top + size, left:left + size]


def run(task, model_path, conf, image_paths):
    import onnxruntime as ort
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    names = ast.literal_eval(sess.get_modelmeta().custom_metadata_map.get("names", "{}"))
    inp = sess.get_inputs()[0]
    in_hw = (inp.shape[2], inp.shape[3])
    results = []
    for path in image_paths:
        img = cv2.imread(path)
        orig_hw = img.shape[:2]
        if task == "classify":
            rgb = classify_input(img, in_hw[0])
            x = (rgb.transpose(2, 0, 1)[None].astype(F32) / F32(255))
            out = sess.run(None, {inp.name: np.ascontiguousarray(x)})
            results.append({"image": os.path.basename(path), "top5": top5(out[0][0], names)})
            continue
        lb = letterbox(img, in_hw)
        x = np.ascontiguousarray(lb[..., ::-1].transpose(2, 0, 1)[None]).astype(F32) / F32(255)
        out = sess.run(None, {inp.name: x})
        if task == "segment":
            dets = post_segment(out[0], out[1], in_hw, orig_hw, names, conf)
        elif task == "pose":
            dets = post_pose(out[0], in_hw, orig_hw, names, conf)
        else:
            dets = post_obb(out[0], in_hw, orig_hw, names, conf)
        results.append({"image": os.path.basename(path), "detections": dets})
    return results


def load_raw(spec):
    path, shape = spec.rsplit(":", 1)
    return np.fromfile(path, dtype=F32).reshape([int(d) for d in shape.split("x")])


def main():
    mode = sys.argv[1]
    if mode == "run":
        print(json.dumps(run(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5:])))
    elif mode == "post":
        task, conf = sys.argv[2], float(sys.argv[3])
        in_hw = (int(sys.argv[4]), int(sys.argv[5]))
        orig_hw = (int(sys.argv[6]), int(sys.argv[7]))
        nc = int(sys.argv[8])
        raws = [load_raw(s) for s in sys.argv[9:]]
        names = {i: str(i) for i in range(nc)}
        if task == "segment":
            out = {"detections": post_segment(raws[0], raws[1], in_hw, orig_hw, names, conf)}
        elif task == "pose":
            out = {"detections": post_pose(raws[0], in_hw, orig_hw, names, conf, nc=nc)}
        elif task == "obb":
            out = {"detections": post_obb(raws[0], in_hw, orig_hw, names, conf)}
        else:
            out = {"top5": top5(raws[0][0], names)}
        print(json.dumps(out))
    elif mode == "classify_input":
        rgb = classify_input(cv2.imread(sys.argv[2]), int(sys.argv[3]))
        np.ascontiguousarray(rgb).tofile(sys.argv[4])
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
