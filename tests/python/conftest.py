"""Shared fixtures for the Python package's tests.

The package under test is whatever `import kiln` finds: the build tree's (PYTHONPATH=
<build>/python, as .ci/run runs it) or a pip-installed one. The CLI it is compared with is
$KILN_BIN, else the `kiln` on PATH; the assets are $KILN_ASSETS_DIR, else ../shared/assets.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ASSETS = Path(os.environ.get("KILN_ASSETS_DIR", REPO.parent / "shared" / "assets"))


@pytest.fixture(scope="session", autouse=True)
def engine_cache(tmp_path_factory):
    """One engine cache for the session, shared by the package and the CLI."""
    cache = tmp_path_factory.mktemp("kiln-cache")
    os.environ["KILN_CACHE_DIR"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def assets():
    if not (ASSETS / "models" / "yolo11n.onnx").exists():
        pytest.skip(f"test assets not found at {ASSETS} (set KILN_ASSETS_DIR)")
    return ASSETS


@pytest.fixture(scope="session")
def kiln_bin():
    path = os.environ.get("KILN_BIN") or shutil.which("kiln")
    if not path:
        pytest.skip("no kiln CLI to compare with (set KILN_BIN or put kiln on PATH)")
    return path


def run_cli(kiln_bin, args):
    """Runs the kiln CLI; returns the finished process (stdin closed)."""
    return subprocess.run([kiln_bin] + [str(a) for a in args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)


def cli_json(kiln_bin, args, tmp_path):
    """`kiln <args> --json FILE` (predict) -> the parsed JSON."""
    out = tmp_path / "cli.json"
    r = run_cli(kiln_bin, list(args) + ["--json", out])
    assert r.returncode == 0, r.stderr
    return json.loads(out.read_text())
