#!/usr/bin/env python3
"""Ultralytics' own val figures on coco128: the references `kiln val` is pinned against.

Runs on the GPU machine (torch + onnxruntime there, ultralytics from wheels):
  - each .pt checkpoint on the GPU (half=False, batch 32, rect batches: Ultralytics' default);
  - each ONNX export on the CPU through onnxruntime (static 640x640 input: batch 1, square
    letterbox) -- the same input shapes `kiln val` feeds a static model.
Writes results.json (overall and per-class P, R, mAP50, mAP50-95 for every run) and each
ONNX run's predictions (COCO-style json, boxes in original-image pixels) into OUT_DIR.

  - with MODELS_DIR/yolo11n-dynamic.onnx or yolov8n-dynamic.onnx present: those exports too, batch 32,
    rect batches (the assets hold yolo11n's; yolov8n's: README.md says how it was exported).
--cpu runs the .pt on the CPU; --stable-rect sorts images by aspect ratio with a stable sort
in set_rectangle (numpy's default argsort leaves equal ratios in a CPU-dependent order; kiln
sorts stably: README.md).

--pt-only skips the ONNX runs; --half adds each .pt at FP16 (half=True, GPU only).

usage: ultralytics_val.py MODELS_DIR COCO128_DIR OUT_DIR [--cpu] [--stable-rect] [--pt-only] [--half]
"""
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path


def write_dataset_yaml(coco_dir: Path, work: Path) -> Path:
    # coco128.yaml says `path: .`, which Ultralytics resolves against the working directory,
    # not the yaml's folder: write an absolute copy.
    import yaml

    src = yaml.safe_load((coco_dir / "coco128.yaml").read_text())
    src["path"] = str(coco_dir.resolve())
    out = work / "coco128_abs.yaml"
    out.write_text(yaml.safe_dump(src, sort_keys=False))
    return out


def use_stable_rect_order():
    """Ultralytics' BaseDataset.set_rectangle with argsort(kind="stable"), all else as 8.4.50."""
    import numpy as np
    import ultralytics.data.base as base

    def set_rectangle(self):
        bi = np.floor(np.arange(self.ni) / self.batch_size).astype(int)
        nb = bi[-1] + 1
        s = np.array([x.pop("shape") for x in self.labels])
        ar = s[:, 0] / s[:, 1]
        irect = ar.argsort(kind="stable")
        self.im_files = [self.im_files[i] for i in irect]
        self.labels = [self.labels[i] for i in irect]
        ar = ar[irect]
        shapes = [[1, 1]] * nb
        for i in range(nb):
            ari = ar[bi == i]
            mini, maxi = ari.min(), ari.max()
            if maxi < 1:
                shapes[i] = [maxi, 1]
            elif mini > 1:
                shapes[i] = [1, 1 / mini]
        self.batch_shapes = np.ceil(np.array(shapes) * self.imgsz / self.stride + self.pad).astype(int) * self.stride
        self.batch = bi

    base.BaseDataset.set_rectangle = set_rectangle


def run_val(model_path: Path, data: Path, device, batch: int, project: Path, name: str, save_json: bool,
            half: bool = False):
    from ultralytics import YOLO

    model = YOLO(str(model_path), task="detect")
    m = model.val(data=str(data), imgsz=640, batch=batch, conf=0.001, iou=0.7, max_det=300, half=half,
                  device=device, plots=False, save_json=save_json, project=str(project), name=name,
                  exist_ok=True, verbose=True, workers=0)
    box = m.box
    names = m.names
    per_class = []
    for i, c in enumerate(box.ap_class_index):
        c = int(c)
        p, r, ap50, ap = box.class_result(i)
        per_class.append({"class": c, "name": names[c], "images": int(m.nt_per_image[c]),
                          "instances": int(m.nt_per_class[c]), "p": float(p), "r": float(r),
                          "map50": float(ap50), "map50_95": float(ap)})
    mp, mr, map50, map_ = box.mean_results()
    return {"model": model_path.name, "device": str(device), "batch": batch, "half": half,
            "instances": int(m.nt_per_class.sum()), "p": float(mp), "r": float(mr),
            "map50": float(map50), "map50_95": float(map_), "speed_ms": m.speed, "per_class": per_class}


def main() -> int:
    models, coco_dir, out_dir = (Path(a) for a in sys.argv[1:4])
    pt_device = "cpu" if "--cpu" in sys.argv[4:] else 0
    if "--stable-rect" in sys.argv[4:]:
        use_stable_rect_order()
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ulval"))
    data = write_dataset_yaml(coco_dir, work)
    results = {}
    flags = sys.argv[4:]
    for stem in ("yolo11n", "yolov8n"):
        results[f"{stem}.pt"] = run_val(models / f"{stem}.pt", data, pt_device, 32, work, f"{stem}_pt", False)
        print(json.dumps({k: v for k, v in results[f"{stem}.pt"].items() if k != "per_class"}))
        if "--half" in flags:
            results[f"{stem}.pt fp16"] = run_val(models / f"{stem}.pt", data, pt_device, 32, work, f"{stem}_pt16",
                                                 False, half=True)
            print(json.dumps({k: v for k, v in results[f"{stem}.pt fp16"].items() if k != "per_class"}))
        if "--pt-only" in flags:
            continue
        results[f"{stem}.onnx"] = run_val(models / f"{stem}.onnx", data, "cpu", 1, work, f"{stem}_onnx", True)
        shutil.copy(work / f"{stem}_onnx" / "predictions.json", out_dir / f"pred_{stem}_onnx.json")
        print(json.dumps({k: v for k, v in results[f"{stem}.onnx"].items() if k != "per_class"}))
    for stem in ("yolo11n", "yolov8n"):
        dynamic = models / f"{stem}-dynamic.onnx"
        if dynamic.exists() and "--pt-only" not in flags:
            results[dynamic.name] = run_val(dynamic, data, "cpu", 32, work, f"{stem}_dynamic", False)
            print(json.dumps({k: v for k, v in results[dynamic.name].items() if k != "per_class"}))
    import ultralytics
    import torch
    results["_env"] = {"ultralytics": ultralytics.__version__, "torch": torch.__version__,
                       "stable_rect": "--stable-rect" in sys.argv[4:],
                       "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
    (out_dir / "results.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
