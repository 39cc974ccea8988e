"""kiln.build and kiln.check: the `kiln build` and `kiln check` commands as functions."""

from __future__ import annotations

import json
import os
from typing import Any, Optional, Union

from . import _kiln

PathLike = Union[str, "os.PathLike[str]"]


def build(model: PathLike, output: Optional[PathLike] = None, *, device: Optional[str] = None,
          precision: Optional[str] = None, batch: Union[int, str, None] = None, imgsz: Optional[int] = None,
          workspace: Optional[float] = None, force: bool = False, verify: bool = True,
          cache_dir: Optional[PathLike] = None, models_dir: Optional[PathLike] = None) -> dict[str, Any]:
    """Builds an engine from an ONNX model, into the engine cache unless `output` is given.

    `batch` is N or "MIN:OPT:MAX". Returns what `kiln build --json` prints: the engine's
    path, whether it was built now (False: reused from the cache), its size and metadata.
    """
    summary = _kiln.build(os.fspath(model), os.fspath(output) if output else "", device, precision,
                          None if batch is None else str(batch), imgsz, workspace, force, verify,
                          os.fspath(cache_dir) if cache_dir else "", os.fspath(models_dir) if models_dir else "")
    return json.loads(summary)


def check(engine: PathLike) -> dict[str, Any]:
    """Whether an engine file can run on this machine: {"engine", "reasons": [{"severity",
    "message"}], "needs_rebuild"} as `kiln check --json` reports it."""
    return json.loads(_kiln.check(os.fspath(engine)))
