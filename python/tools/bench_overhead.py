"""Python's cost per predict over the C++ API, at batch 1 on one numpy image:

  python layer   YOLO.predict + results[0].boxes.xyxy with the compiled call replaced by one
                 that returns a prediction made beforehand (kiln/model.py, sources.py,
                 results.py alone)
  binding        kiln._kiln.Model.predict on an empty list (argument conversion, GIL release
                 and re-acquire, the lock, the result list)
  end to end     YOLO.predict on the image, beside the C++ predictor's own stage times
                 (Prediction.speed: preprocess + inference + postprocess)

    PYTHONPATH=build/python python3 python/tools/bench_overhead.py MODEL IMAGE [--device cuda:0 --precision fp16]
"""
import argparse
import statistics
import time

import kiln


def p50_us(fn, iters):
    samples = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1e6


class Replay:
    """Stands in for the compiled model: returns the predictions it was given."""

    def __init__(self, predictions):
        self._predictions = predictions

    def predict(self, images, *options):
        return self._predictions


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
    compiled = model._model

    def predict():
        r = model.predict(image)[0]
        return r.boxes.xyxy if r.boxes is not None else None

    for _ in range(20):
        predict()
    stages = []
    end_to_end = p50_us(lambda: stages.append(sum(model.predict(image)[0].speed.values()) * 1e3), a.iters)
    binding = p50_us(lambda: compiled.predict([]), 10 * a.iters)
    model._model = Replay(compiled.predict([image]))
    python_layer = p50_us(predict, 10 * a.iters)
    model._model = compiled
    print(f"{a.model} on {a.image} ({model.device}, {model.info()['precision']}), p50 us:")
    print(f"  python layer {python_layer:8.1f}\n  binding      {binding:8.1f}\n"
          f"  end to end   {end_to_end:8.1f} (C++ stages {statistics.median(stages):.1f})")


if __name__ == "__main__":
    main()
