"""kiln val --precision with a list: bad lists are one-line errors before any work, and a
precision the device cannot run (fp16 on the CPU) fails cleanly. The GPU run of
bench/compare.sh exercises fp32,fp16 itself (table with deltas, --json runs)."""
import os

from kiln_cli import ASSETS, Checks

MODEL = os.path.join(ASSETS, "models", "yolo11n.onnx")
DATA = os.path.join(ASSETS, "datasets", "coco8", "coco8.yaml")

checks = Checks()
base = ["val", "--model", MODEL, "--data", DATA, "--precision"]
checks.expect_error("duplicate precision", base + ["fp32,fp32"], ["--precision: fp32 given twice"])
checks.expect_error("empty entry", base + ["fp32,,fp16"], ["--precision: empty entry"])
checks.expect_error("fp16 on the CPU", base + ["fp16", "--device", "cpu"], ["fp16"])
checks.finish("OK")
