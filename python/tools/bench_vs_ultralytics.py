"""kiln's Python package beside Ultralytics' YOLO(...).predict(half=True), end to end (decoded
BGR numpy images, as cv2 gives, to boxes in host memory), in one process on the same GPU and
images: ms per image at batch 1 (median over the images and iterations) and images/s at batch
32 (the images repeated to 32, one predict call each side).

  kiln         models/yolo11n.onnx (batch 1) and models/yolo11n-dynamic.onnx (batch 32, 640),
               CUDA FP16
  Ultralytics  models/pt/yolo11n.pt, predict(half=True, verbose=False), boxes copied to the host

    PYTHONPATH=build/python:/tmp/site YOLO_OFFLINE=1 python3 python/tools/bench_vs_ultralytics.py --assets DIR
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

import kiln


def median_s(fn, iters, warmup=5):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def per_image_ms(predict, images, iters):
    return statistics.median(median_s(lambda: predict([image]), iters) for image in images) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--assets", required=True)
    ap.add_argument("--iters", type=int, default=50)
    a = ap.parse_args()
    import torch
    from ultralytics import YOLO as UltralyticsYOLO

    if not torch.cuda.is_available():
        sys.exit("bench_vs_ultralytics: no CUDA device")
    assets = Path(a.assets)
    images = [kiln._kiln.load_image(str(p)) for p in sorted((assets / "images").glob("*.jpg"))]
    batch32 = (images * (32 // len(images) + 1))[:32]

    one = kiln.YOLO(assets / "models" / "yolo11n.onnx", device="cuda:0", precision="fp16", strict_gpu=True)
    many = kiln.YOLO(assets / "models" / "yolo11n-dynamic.onnx", device="cuda:0", precision="fp16", batch=32,
                     imgsz=640, strict_gpu=True)

    def kiln_predict(model):
        return lambda batch: [r.boxes.xyxy for r in model.predict(batch)]

    ultralytics = UltralyticsYOLO(str(assets / "models" / "pt" / "yolo11n.pt"))

    def ultralytics_predict(batch):
        return [r.boxes.xyxy.cpu().numpy() for r in ultralytics.predict(batch, half=True, verbose=False)]

    rows = []
    for name, predict1, predict32 in (("kiln", kiln_predict(one), kiln_predict(many)),
                                      ("Ultralytics", ultralytics_predict, ultralytics_predict)):
        ms = per_image_ms(predict1, images, a.iters)
        per_batch = median_s(lambda: predict32(batch32), max(5, a.iters // 5))
        rows.append(f"| {name} | {ms:.2f} | {32 / per_batch:.0f} |")
    print(f"yolo11n FP16 end to end on {torch.cuda.get_device_name(0)}, {len(images)} images "
          f"(kiln batch-32 engine: {many.info()['batch']}), torch {torch.__version__}\n")
    print("| predict | ms/img at batch 1 | images/s at batch 32 |\n|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
