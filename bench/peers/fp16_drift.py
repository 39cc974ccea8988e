"""How far Ultralytics' own FP16 predictions drift from its FP32 ones (PyTorch, same GPU).

The yardstick for kiln's FP16-vs-FP32 tolerances: for each image, the detections of
model.predict(half=True) are matched to those of half=False (same class, best IoU), and the
largest confidence and box-corner differences are printed.

usage: python3 fp16_drift.py MODEL.pt IMAGE...
"""
import sys

import numpy as np
from ultralytics import YOLO


def iou(a, b):
    x1, y1 = np.maximum(a[:2], b[:2])
    x2, y2 = np.minimum(a[2:], b[2:])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])
    return inter / (area(a) + area(b) - inter + 1e-9)


def main():
    # One model object per precision: Ultralytics keeps its first predictor (and its dtype).
    models = [YOLO(sys.argv[1]) for _ in range(2)]
    worst_conf = worst_box = 0.0
    for image in sys.argv[2:]:
        runs = [m.predict(image, half=h, verbose=False)[0].boxes for m, h in zip(models, (False, True))]
        full, half = [(b.xyxy.cpu().numpy(), b.conf.cpu().numpy(), b.cls.cpu().numpy()) for b in runs]
        conf_dev = box_dev = 0.0
        for box, conf, cls in zip(*full):
            same = [i for i in range(len(half[2])) if half[2][i] == cls]
            if not same:
                continue
            j = max(same, key=lambda i: iou(half[0][i], box))
            conf_dev = max(conf_dev, abs(float(half[1][j] - conf)))
            box_dev = max(box_dev, float(np.abs(half[0][j] - box).max()))
        print(f"{image}: {len(full[1])} fp32 / {len(half[1])} fp16 detections, max conf dev {conf_dev:.5f}, "
              f"max box corner dev {box_dev:.3f} px")
        worst_conf, worst_box = max(worst_conf, conf_dev), max(worst_box, box_dev)
    print(f"all images: max conf dev {worst_conf:.5f}, max box corner dev {worst_box:.3f} px")


if __name__ == "__main__":
    main()
