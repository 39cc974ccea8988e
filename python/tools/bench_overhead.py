"""Python's cost per predict over the C++ API, at batch 1 on one image:

  python layer   YOLO.predict + results[0].boxes.xyxy with the compiled call replaced by one
                 that returns a prediction made beforehand (kiln/model.py, sources.py,
                 results.py alone)
  binding        kiln._kiln.Model.predict on an empty list (argument conversion, GIL release
                 and re-acquire, the lock, the result list)
  end to end     YOLO.predict on the numpy image, beside the C++ predictor's own stage times
                 (Prediction.speed: preprocess + inference + postprocess)

and, on a CUDA model with torch installed, the same image as a torch CUDA tensor (uploaded
once, then read in place as a device frame, the C++ device-memory path):

  tensor end to end   YOLO.predict(tensor), beside its C++ stage times
  tensor binding      kiln._kiln.Model.predict_device on the tensor's DeviceImage made
                      beforehand (the C++ call and the binding's conversions alone)

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


def stage_us(prediction):
    return sum(prediction.speed.values()) * 1e3


class Replay:
    """Stands in for the compiled model: returns the predictions it was given."""

    def __init__(self, predictions):
        self._predictions = predictions

    def predict(self, images, *options):
        return self._predictions


def timed_predict(model, source, iters):
    """p50 of YOLO.predict(source) and the median of its C++ stage times, in us."""
    stages = []
    end_to_end = p50_us(lambda: stages.append(stage_us(model.predict(source)[0])), iters)
    return end_to_end, statistics.median(stages)


def tensor_rows(model, image, iters):
    """The torch CUDA tensor figures, or a line saying why there are none."""
    if not model.device.startswith("cuda"):
        return ["  (no torch CUDA tensor figures: the model runs on " + model.device + ")"]
    try:
        import torch
    except ImportError:
        return ["  (no torch CUDA tensor figures: torch is not installed)"]
    tensor = torch.from_numpy(image).to(model.device)
    torch.cuda.synchronize()
    for _ in range(20):
        model.predict(tensor)
    end_to_end, stages = timed_predict(model, tensor, iters)
    device_image = kiln._kiln.DeviceImage(tensor, 0)
    binding = p50_us(lambda: model._model.predict_device([device_image]), iters)
    return [f"  tensor end to end {end_to_end:8.1f} (C++ stages {stages:.1f})",
            f"  tensor binding    {binding:8.1f} (predict_device alone)"]


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
    end_to_end, stages = timed_predict(model, image, a.iters)
    binding = p50_us(lambda: compiled.predict([]), 10 * a.iters)
    model._model = Replay(compiled.predict([image]))
    python_layer = p50_us(predict, 10 * a.iters)
    model._model = compiled
    print(f"{a.model} on {a.image} ({model.device}, {model.info()['precision']}), p50 us:")
    print(f"  python layer      {python_layer:8.1f}\n  binding           {binding:8.1f}\n"
          f"  end to end        {end_to_end:8.1f} (C++ stages {stages:.1f})")
    print("\n".join(tensor_rows(model, image, a.iters)))


if __name__ == "__main__":
    main()
