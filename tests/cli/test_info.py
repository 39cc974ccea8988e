"""kiln info --json against the python onnx package: ops, inputs/outputs, parameters,
metadata, FLOPs of yolo11n (Ultralytics publishes 6.5 GFLOPs at 640), and a missing file."""
import ast
import collections
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

KILN = os.environ.get("KILN_BIN", "kiln")
ASSETS = os.environ.get("KILN_ASSETS_DIR", "")
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)


def onnx_dims(value_info):
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in value_info.type.tensor_type.shape.dim]


def kiln_info(path):
    r = subprocess.run([KILN, "info", path, "--json"], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        failures.append(f"{path}: kiln info exited {r.returncode}: {r.stderr.strip()}")
        return None
    return json.loads(r.stdout)


def compare_tensors(model_name, kind, ours, theirs, inferred_ok):
    check([t["name"] for t in ours] == [t.name for t in theirs],
          f"{model_name}: {kind} names {[t['name'] for t in ours]} != {[t.name for t in theirs]}")
    for o, t in zip(ours, theirs):
        want = onnx_dims(t)
        got = o["shape"]
        if got is None or len(got) != len(want):
            failures.append(f"{model_name}: {kind} {t.name} shape {got} != {want}")
            continue
        for g, w in zip(got, want):
            # A symbolic ONNX dim may come back inferred as a number (outputs only).
            ok = g == w or (inferred_ok and isinstance(w, str) and isinstance(g, int))
            check(ok, f"{model_name}: {kind} {t.name} shape {got} != {want}")


def check_model(file_name, expect_flops_bound):
    path = os.path.join(ASSETS, "models", file_name)
    info = kiln_info(path)
    if info is None:
        return None
    m = onnx.load(path)
    hist = collections.Counter(n.op_type for n in m.graph.node if n.op_type != "Constant")
    check(info["ops"] == dict(hist), f"{file_name}: op histogram {info['ops']} != onnx {dict(hist)}")
    check(info["nodes"] == sum(hist.values()), f"{file_name}: nodes {info['nodes']} != {sum(hist.values())}")
    init_names = {i.name for i in m.graph.initializer}
    compare_tensors(file_name, "input", info["inputs"], [i for i in m.graph.input if i.name not in init_names], False)
    compare_tensors(file_name, "output", info["outputs"], list(m.graph.output), True)
    params = sum(numpy_helper.to_array(i).size for i in m.graph.initializer
                 if numpy_helper.to_array(i).dtype == np.float32)
    check(info["parameters"] == params, f"{file_name}: parameters {info['parameters']} != onnx float initializers {params}")
    props = {p.key: p.value for p in m.metadata_props}
    check(info["metadata_props"] == props, f"{file_name}: raw metadata differs")
    meta = info["metadata"] or {}
    names = ast.literal_eval(props["names"])
    check(meta.get("names") == [names[i] for i in range(len(names))], f"{file_name}: class names differ")
    check(meta.get("task") == props["task"], f"{file_name}: task {meta.get('task')} != {props['task']}")
    check(meta.get("imgsz") == ast.literal_eval(props["imgsz"]), f"{file_name}: imgsz {meta.get('imgsz')} != {props['imgsz']}")
    check(meta.get("stride") == int(props["stride"]), f"{file_name}: stride differs")
    if expect_flops_bound:
        check(info["flops_bound_dims"] == {"batch": 1, "height": 640, "width": 640},
              f"{file_name}: FLOPs bound dims {info['flops_bound_dims']}")
    else:
        check(info["flops_bound_dims"] == {}, f"{file_name}: static model reports bound dims {info['flops_bound_dims']}")
    check(info["flops_uncounted_nodes"] == 0, f"{file_name}: {info['flops_uncounted_nodes']} nodes without FLOPs")
    return info


def main():
    if not ASSETS or not os.path.isdir(ASSETS):
        print(f"FAIL: assets not found (KILN_ASSETS_DIR={ASSETS!r})")
        return 1
    static = check_model("yolo11n.onnx", False)
    dynamic = check_model("yolo11n-dynamic.onnx", True)
    if static:
        g = static["gflops"]
        check(abs(g - 6.5) <= 0.05 * 6.5, f"yolo11n: {g:.3f} GFLOPs not within 5% of Ultralytics' 6.5")
    if static and dynamic:
        check(abs(static["flops"] - dynamic["flops"]) <= 0.01 * static["flops"],
              f"dynamic model at 640 has {dynamic['gflops']:.3f} GFLOPs, static {static['gflops']:.3f}")

    missing = os.path.join(tempfile.gettempdir(), "kiln-no-such-model.onnx")
    r = subprocess.run([KILN, "info", missing], capture_output=True, text=True, timeout=60)
    check(r.returncode != 0, "missing file: exit code 0")
    lines = r.stderr.strip().splitlines()
    check(len(lines) == 1 and missing in lines[0], f"missing file: stderr not one line naming the file: {r.stderr!r}")
    check(r.stdout == "", f"missing file: unexpected stdout {r.stdout!r}")

    if failures:
        for f in failures:
            print("FAIL:", f)
        return 1
    print("ok: kiln info matches onnx for yolo11n and yolo11n-dynamic"
          f" ({static['gflops']:.2f} GFLOPs, {static['parameters']} parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
