"""The rule that makes kiln's dependent launches safe (src/backends/cuda/dependent_launch.cuh):
every kernel of the CUDA backend's ops calls begin_kernel() and is launched through
launch_kernel(), never with <<<>>>. A kernel launched as a dependent launch that forgot the wait would read
its inputs while the previous kernel still writes them: a race that GPU tests catch only by
chance, so the sources are checked here, on every machine."""
import os
import re

from kiln_cli import Checks

checks = Checks()
OPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../src/backends/cuda/ops")
COMMENT = re.compile(r"//[^\n]*")
KERNEL = re.compile(r"__global__\s+void\s+(?:__launch_bounds__\([^)]*\)\s+)?(\w+)\s*\(")


def body_after(text, start):
    """The text of the brace block that opens first after `start`."""
    open_at = text.index("{", start)
    depth = 0
    for i in range(open_at, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[open_at:i + 1]
    raise ValueError("unbalanced braces")


def rule_breaks(text):
    """Kernels of `text` without begin_kernel() in their body, and its <<<>>> launches."""
    text = COMMENT.sub("", text)
    kernels = [m.group(1) for m in KERNEL.finditer(text) if "begin_kernel();" not in body_after(text, m.end())]
    return kernels, text.count("<<<")


# The checker itself, on a hand-written file: it must see a missing wait and a <<<>>> launch.
SAMPLE = """
// <<< in a comment is no launch
__global__ void good(int* x) { begin_kernel(); if (x) { x[0] = 1; } }
__global__ void __launch_bounds__(256, 2) bad(int* x) { if (x) { x[0] = 1; } }
void host() { bad<<<1, 1>>>(nullptr); }
"""
kernels, launches = rule_breaks(SAMPLE)
checks.check("checker: a kernel without begin_kernel() is found", kernels == ["bad"], str(kernels))
checks.check("checker: a <<<>>> launch is found", launches == 1, str(launches))

count = 0
for root, _, files in os.walk(OPS):
    for name in sorted(files):
        if not name.endswith((".cu", ".cuh")):
            continue
        path = os.path.join(root, name)
        with open(path) as f:
            text = f.read()
        count += len(KERNEL.findall(text))
        kernels, launches = rule_breaks(text)
        rel = os.path.relpath(path, OPS)
        checks.check(f"{rel}: every kernel calls begin_kernel()", not kernels, str(kernels))
        checks.check(f"{rel}: no <<<>>> launch", launches == 0, str(launches))
checks.check("the ops' kernels were found", count >= 30, str(count))
checks.finish(f"kernel launch rule: {count} kernels checked")
