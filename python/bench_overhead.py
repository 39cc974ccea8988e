"""Python's cost per predict over the C++ API: times YOLO.predict on one numpy image against
the C++ predictor's own stage times (Prediction.speed: preprocess + inference + postprocess)
and against the bare binding call (kiln._kiln.Model.predict).

    PYTHONPATH=build/python python3 python/bench_overhead.py MODEL IMAGE [--device cuda:0 --precision fp16]

Prints p50 microseconds of each and the differences: `python` is what kiln/model.py and
results.py add over the binding, `binding` what the binding adds over the C++ stages."""
import argparse
import statistics
import time

import numpy as np

import kiln


def p50_us(samples):
    return statistics.median(samples) * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("image")
    ap.add_argument("--device")
    ap.add_argument("--precision")
    ap.add_argument("--imgsz", type=int)
    ap.add_argument("--iters", type=int, default=300)
    a = ap.parse_args()
    model = kiln.YOLO(a.model, device=a.device, precision=a.precision, imgsz=a.imgsz)
    image = kiln._kiln.load_image(a.image)
    raw = model._model
    for _ in range(20):
        model.predict(image)
    full, bare, stages = [], [], []
    for _ in range(a.iters):
        t0 = time.perf_counter()
        r = model.predict(image)[0]
        _ = r.boxes.xyxy if r.boxes is not None else None
        t1 = time.perf_counter()
        p = raw.predict([image])[0]
        t2 = time.perf_counter()
        full.append(t1 - t0)
        bare.append(t2 - t1)
        stages.append(sum(p.speed) / 1e3)
    f, b, s = p50_us(full), p50_us(bare), p50_us(stages)
    print(f"{a.model} on {a.image} ({model.device}, {model.info()['precision']}), {a.iters} predicts, p50 us:")
    print(f"  YOLO.predict + boxes.xyxy {f:9.1f}\n  _kiln.Model.predict      {b:9.1f}\n  C++ stages (speed)        {s:9.1f}")
    print(f"  python overhead {f - b:7.1f} us   binding overhead {b - s:7.1f} us   total {f - s:7.1f} us")


if __name__ == "__main__":
    main()
