"""Make a static Ultralytics detect export (fixed 1x3x640x640 input) dynamic in batch, height
and width, as `export(dynamic=True)` would: the head's anchor points and strides, baked in as
constants for 640x640, are computed from the feature maps' shapes instead, and its Reshapes
keep the batch and let the anchor count follow.

The assets hold a dynamic export of yolo11n only; this lets the tests validate yolov8n the way
Ultralytics validates its .pt (rectangular batches) without torch. The anchors follow
ultralytics.utils.tal.make_anchors: per level, x + 0.5 and y + 0.5 over the feature map in
row-major order, the level's stride alongside.

usage: make_dynamic_detect.py STATIC.onnx OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper


def constant_value(graph, name):
    for n in graph.node:
        if n.op_type == "Constant" and n.output[0] == name:
            return numpy_helper.to_array(n.attribute[0].t)
    for t in graph.initializer:
        if t.name == name:
            return numpy_helper.to_array(t)
    return None


def set_constant(graph, name, value):
    for n in graph.node:
        if n.op_type == "Constant" and n.output[0] == name:
            n.attribute[0].t.CopyFrom(numpy_helper.from_array(np.asarray(value), name))
            return
    raise ValueError(f"no Constant node makes {name}")


def level_inputs(graph, head):
    """The feature maps the head's box branches read (P3, P4, P5), in order."""
    inputs = []
    for i in range(3):
        conv = next(n for n in graph.node if n.name == f"{head}/cv2.{i}/cv2.{i}.0/conv/Conv")
        inputs.append(conv.input[0])
    return inputs


def anchor_nodes(head, feature, stride, i):
    """Nodes computing this level's anchors [2, h*w] (rows x, y) and strides [h*w]."""
    p = f"{head}/dyn{i}"
    c = lambda name, value: helper.make_node("Constant", [], [f"{p}/{name}"], value=numpy_helper.from_array(
        np.asarray(value), f"{p}/{name}"))
    n = helper.make_node
    return [
        n("Shape", [feature], [f"{p}/shape"]),
        c("hw_idx", np.array([2, 3], dtype=np.int64)),
        n("Gather", [f"{p}/shape", f"{p}/hw_idx"], [f"{p}/hw"]),
        c("h_idx", np.array(2, dtype=np.int64)),
        c("w_idx", np.array(3, dtype=np.int64)),
        n("Gather", [f"{p}/shape", f"{p}/h_idx"], [f"{p}/h"]),
        n("Gather", [f"{p}/shape", f"{p}/w_idx"], [f"{p}/w"]),
        n("Cast", [f"{p}/h"], [f"{p}/hf"], to=onnx.TensorProto.FLOAT),
        n("Cast", [f"{p}/w"], [f"{p}/wf"], to=onnx.TensorProto.FLOAT),
        c("zero", np.array(0.0, dtype=np.float32)),
        c("one", np.array(1.0, dtype=np.float32)),
        c("half", np.array(0.5, dtype=np.float32)),
        n("Range", [f"{p}/zero", f"{p}/hf", f"{p}/one"], [f"{p}/ry"]),
        n("Range", [f"{p}/zero", f"{p}/wf", f"{p}/one"], [f"{p}/rx"]),
        n("Add", [f"{p}/ry", f"{p}/half"], [f"{p}/sy"]),
        n("Add", [f"{p}/rx", f"{p}/half"], [f"{p}/sx"]),
        c("col", np.array([-1, 1], dtype=np.int64)),
        c("row", np.array([1, -1], dtype=np.int64)),
        n("Reshape", [f"{p}/sy", f"{p}/col"], [f"{p}/sy_col"]),
        n("Reshape", [f"{p}/sx", f"{p}/row"], [f"{p}/sx_row"]),
        n("Expand", [f"{p}/sy_col", f"{p}/hw"], [f"{p}/gy"]),
        n("Expand", [f"{p}/sx_row", f"{p}/hw"], [f"{p}/gx"]),
        c("flat", np.array([1, -1], dtype=np.int64)),
        n("Reshape", [f"{p}/gx", f"{p}/flat"], [f"{p}/x"]),
        n("Reshape", [f"{p}/gy", f"{p}/flat"], [f"{p}/y"]),
        n("Concat", [f"{p}/x", f"{p}/y"], [f"{p}/anchors"], axis=0),
        n("Mul", [f"{p}/h", f"{p}/w"], [f"{p}/count"]),
        c("unsq", np.array([0], dtype=np.int64)),
        n("Unsqueeze", [f"{p}/count", f"{p}/unsq"], [f"{p}/count1"]),
        n("ConstantOfShape", [f"{p}/count1"], [f"{p}/strides"],
          value=numpy_helper.from_array(np.array([stride], dtype=np.float32))),
    ]


def make_dynamic(model):
    g = model.graph
    dims = g.input[0].type.tensor_type.shape.dim
    for d, name in zip(dims, ("batch", None, "height", "width")):
        if name:
            d.ClearField("dim_value")
            d.dim_param = name
    for out in g.output:
        for d, name in zip(out.type.tensor_type.shape.dim, ("batch", None, "anchors")):
            if name:
                d.ClearField("dim_value")
                d.dim_param = name
    # The head's node-name prefix ("/model.22"), from the node that writes output0.
    head = next(n for n in g.node if n.output[0] == g.output[0].name).name.rsplit("/", 1)[0]
    for n in g.node:
        if n.op_type != "Reshape" or not n.name.startswith(head):
            continue
        shape = constant_value(g, n.input[1])
        if shape is None:
            continue
        new = shape.copy()
        new[0] = 0          # keep the batch
        new[-1] = -1        # the anchors follow the input size
        set_constant(g, n.input[1], new)

    # The constants holding anchor points [1, 2, A] and strides [1, A].
    anchor_consts, stride_consts = [], []
    for n in g.node:
        if n.op_type != "Constant" or not n.name.startswith(head):
            continue
        v = numpy_helper.to_array(n.attribute[0].t)
        if v.ndim == 3 and v.shape[:2] == (1, 2):
            anchor_consts.append(n)
        elif v.ndim == 2 and v.shape[0] == 1 and v.shape[1] > 3 and v.dtype == np.float32:
            stride_consts.append(n)
    if not anchor_consts or len(stride_consts) != 1:
        raise ValueError("not an Ultralytics detect head: anchor/stride constants not found")

    strides = sorted(set(numpy_helper.to_array(stride_consts[0].attribute[0].t).ravel().tolist()))
    new_nodes = []
    for i, (feature, stride) in enumerate(zip(level_inputs(g, head), strides)):
        new_nodes += anchor_nodes(head, feature, stride, i)
    n = helper.make_node
    new_nodes += [
        n("Concat", [f"{head}/dyn{i}/anchors" for i in range(3)], [f"{head}/dyn/anchors"], axis=1),
        helper.make_node("Constant", [], [f"{head}/dyn/axes0"],
                         value=numpy_helper.from_array(np.array([0], dtype=np.int64), f"{head}/dyn/axes0")),
        n("Unsqueeze", [f"{head}/dyn/anchors", f"{head}/dyn/axes0"], [f"{head}/dyn/anchor_points"]),
        n("Concat", [f"{head}/dyn{i}/strides" for i in range(3)], [f"{head}/dyn/strides"], axis=0),
        n("Unsqueeze", [f"{head}/dyn/strides", f"{head}/dyn/axes0"], [f"{head}/dyn/stride_row"]),
    ]
    renames = {c.output[0]: f"{head}/dyn/anchor_points" for c in anchor_consts}
    renames[stride_consts[0].output[0]] = f"{head}/dyn/stride_row"
    for node in g.node:
        for k, name in enumerate(node.input):
            if name in renames:
                node.input[k] = renames[name]
    kept = [node for node in g.node if node.output[0] not in renames]
    # Put the new nodes right before the first node that reads them (topological order).
    first = next(k for k, node in enumerate(kept) if any(x in renames.values() for x in node.input))
    del g.node[:]
    g.node.extend(kept[:first] + new_nodes + kept[first:])
    del g.value_info[:]
    return model


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    model = make_dynamic(onnx.load(sys.argv[1]))
    onnx.checker.check_model(model)
    onnx.save(model, sys.argv[2])


if __name__ == "__main__":
    main()
