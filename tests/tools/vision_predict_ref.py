"""What Ultralytics' predictor does with an ONNX detect model, in Python: cv2.imread,
LetterBox (square for static models, minimal stride padding for dynamic ones), ONNX
Runtime, non_max_suppression (class offsets, torchvision.ops.nms semantics), scale_boxes.
Results use kiln predict's JSON layout. Importable, or:
  vision_predict_ref.py MODEL.onnx IMAGE... > out.json
"""
import ast
import json
import os
import sys

import cv2
import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vision_letterbox_ref import letterbox, letterbox_min_pad  # noqa: E402


def nms(boxes, scores, iou_thres):
    order = np.argsort(-scores, kind="stable")
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    suppressed = np.zeros(len(scores), bool)
    keep = []
    for n, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(i)
        rest = order[n + 1:]
        w = np.clip(np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]), 0, None)
        h = np.clip(np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]), 0, None)
        inter = w * h
        suppressed[rest[inter / (area[i] + area[rest] - inter) > iou_thres]] = True
    return keep


def postprocess(out, in_hw, orig_hw, names, conf=0.25, iou=0.7, max_det=300, max_wh=7680.0):
    p = out[0]
    scores_all = p[4:]
    cls = scores_all.argmax(0)
    score = scores_all.max(0)
    k = score > conf
    xywh, score, cls = p[:4, k].T, score[k], cls[k]
    half = xywh[:, 2:] / np.float32(2)
    xyxy = np.concatenate([xywh[:, :2] - half, xywh[:, :2] + half], 1)
    keep = nms(xyxy + (cls[:, None] * max_wh).astype(np.float32), score, iou)[:max_det]
    (ih, iw), (oh, ow) = in_hw, orig_hw
    gain = min(ih / oh, iw / ow)
    pad_x, pad_y = round((iw - round(ow * gain)) / 2 - 0.1), round((ih - round(oh * gain)) / 2 - 0.1)
    dets = []
    for i in keep:
        b = xyxy[i].copy()
        b[[0, 2]] -= pad_x
        b[[1, 3]] -= pad_y
        b /= np.float32(gain)
        b[[0, 2]] = b[[0, 2]].clip(0, ow)
        b[[1, 3]] = b[[1, 3]].clip(0, oh)
        c = int(cls[i])
        dets.append({"class_id": c, "class_name": names.get(c, str(c)), "confidence": float(score[i]),
                     "box_xyxy": [float(v) for v in b]})
    return dets


def predict(model_path, image_paths, imgsz=640, iou=0.7):
    """iou=1 suppresses nothing: every candidate above the confidence threshold."""
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    names = ast.literal_eval(meta.get("names", "{}"))
    stride = int(meta.get("stride", 32))
    inp = sess.get_inputs()[0]
    dynamic = not all(isinstance(d, int) for d in inp.shape[2:])
    results = []
    for path in image_paths:
        img = cv2.imread(path)
        if dynamic:
            lb = letterbox_min_pad(img, imgsz, imgsz, stride)
        else:
            lb = letterbox(img, (inp.shape[2], inp.shape[3]))
        x = np.ascontiguousarray(lb[..., ::-1].transpose(2, 0, 1)[None]).astype(np.float32) / np.float32(255)
        out = sess.run(None, {inp.name: x})[0]
        results.append({"image": os.path.basename(path),
                        "detections": postprocess(out, lb.shape[:2], img.shape[:2], names, iou=iou)})
    return results


if __name__ == "__main__":
    json.dump(predict(sys.argv[1], sys.argv[2:]), sys.stdout, indent=1)
