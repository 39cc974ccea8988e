"""What the engine-cache tests share: a private copy of a small model (OSNet x0.25, which
builds in well under a second on a CPU) in a scratch folder, and kiln's environment
pointed at a given cache (without any GPU override of the caller's)."""
import contextlib
import os
import shutil
import tempfile

from kiln_cli import ASSETS

OSNET = os.path.join(ASSETS, "models/reid/osnet_x0_25_msmt17.onnx")


def env_for(cache, **extra):
    env = dict(os.environ)
    env.pop("KILN_ENV_OVERRIDE", None)
    env["KILN_CACHE_DIR"] = cache
    env.update(extra)
    return env


@contextlib.contextmanager
def osnet_copy(prefix):
    """Yields (scratch folder, path of osnet.onnx inside it); removes the folder after."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        model = os.path.join(tmp, "osnet.onnx")
        shutil.copy(OSNET, model)
        yield tmp, model
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
