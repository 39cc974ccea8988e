"""Independent facts about an ONNX model, read with the `onnx` package, as JSON on stdout.

Used by tests/onnx to check kiln's importer: usage `python3 onnx_facts.py MODEL.onnx`.
"""
import ast
import json
import sys
from collections import Counter

import numpy as np
import onnx
from onnx import numpy_helper


def dims_of(value_info):
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    out = []
    for d in t.shape.dim:
        if d.HasField("dim_value"):
            out.append(d.dim_value)
        elif d.HasField("dim_param") and d.dim_param:
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def tensor_stats(tensor):
    a = numpy_helper.to_array(tensor).astype(np.float64).ravel()
    return {"name": tensor.name, "sum": float(a.sum()), "first": [float(x) for x in a[:4]]}


def literal_metadata(props):
    """Ultralytics metadata read with Python's own literal parser (what kiln's must match)."""
    out = {}
    if "names" in props:
        names = ast.literal_eval(props["names"])
        out["names"] = [names[i] for i in range(len(names))]
    if "imgsz" in props:
        size = ast.literal_eval(props["imgsz"])
        out["imgsz"] = list(size) if isinstance(size, (list, tuple)) else [size, size]
    if "stride" in props:
        out["stride"] = int(float(props["stride"]))
    if "kpt_shape" in props:
        out["kpt_shape"] = list(ast.literal_eval(props["kpt_shape"]))
    return out


def main(path):
    model = onnx.load(path, load_external_data=True)
    g = model.graph
    init_names = {t.name for t in g.initializer}
    nodes = [n for n in g.node if n.op_type != "Constant"]
    # onnx.load resolves external data in place, so the data_location marks are gone: re-read them.
    raw = onnx.load(path, load_external_data=False)
    ext_names = [t.name for t in raw.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    by_name = {t.name: t for t in g.initializer}
    sampled = [by_name[n] for n in ext_names[:3]] or [t for t in g.initializer if t.data_type == 1][:3]
    facts = {
        "opset": next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
        "node_count": len(nodes),
        "constant_outputs": [n.output[0] for n in g.node if n.op_type == "Constant"],
        "op_histogram": dict(Counter(n.op_type for n in nodes)),
        "initializers": {t.name: list(t.dims) for t in g.initializer},
        "initializer_elements": int(sum(int(np.prod(t.dims)) for t in g.initializer)),
        "external_initializers": len(ext_names),
        "inputs": [{"name": i.name, "dims": dims_of(i)} for i in g.input if i.name not in init_names],
        "outputs": [{"name": o.name, "dims": dims_of(o)} for o in g.output],
        "metadata": {p.key: p.value for p in model.metadata_props},
        "parsed_metadata": literal_metadata({p.key: p.value for p in model.metadata_props}),
        "samples": [tensor_stats(t) for t in sampled],
    }
    json.dump(facts, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
