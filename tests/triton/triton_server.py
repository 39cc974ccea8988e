"""Runs Triton Inference Server (the tritonserver binary of the nvidia-pytriton wheel) with
kiln's backend for the tests and the load tool: free ports on 127.0.0.1, a bounded wait for
readiness, stopped by its PID. Also turns the backend's outputs into `kiln predict --json`'s
per-detection form, so the two can be compared."""
import importlib.util
import os
import socket
import subprocess
import time
import urllib.request

import numpy as np

SKIP = 77  # ctest SKIP_RETURN_CODE


def tritonserver_binary():
    """The wheel's tritonserver, or None when nvidia-pytriton is not installed."""
    env = os.environ.get("TRITONSERVER_BIN")
    if env:
        return env
    spec = importlib.util.find_spec("pytriton")
    if not spec or not spec.submodule_search_locations:
        return None
    path = os.path.join(spec.submodule_search_locations[0], "tritonserver", "bin", "tritonserver")
    return path if os.access(path, os.X_OK) else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """tritonserver on 127.0.0.1 serving `repo` with the backends in `backend_dir` (which holds
    kiln/libtriton_kiln.so). Use as a context manager; the log is kept in `log_path`."""

    def __init__(self, binary, repo, backend_dir, log_path, env=None, ready_timeout=300):
        self.binary, self.repo, self.backend_dir, self.log_path = binary, repo, backend_dir, log_path
        self.env, self.ready_timeout = env, ready_timeout
        self.port = free_port()
        self.url = f"127.0.0.1:{self.port}"
        self.proc = None

    def __enter__(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [self.binary, "--model-repository", self.repo, "--backend-directory", self.backend_dir,
             "--http-address", "127.0.0.1", "--http-port", str(self.port), "--allow-grpc", "false",
             "--allow-metrics", "false", "--exit-timeout-secs", "5", "--strict-readiness", "true"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env)
        deadline = time.time() + self.ready_timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tritonserver exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"http://{self.url}/v2/health/ready", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"tritonserver not ready within {self.ready_timeout} s:\n{self.tail()}")

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        """SIGTERM to our PID, then SIGKILL if it has not exited within 30 s."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()

    def tail(self, lines=40):
        with open(self.log_path) as f:
            return "".join(f.readlines()[-lines:])


def image_input(httpclient, encoded_images):
    """IMAGE: the encoded files as a BYTES tensor [N, 1]."""
    t = httpclient.InferInput("IMAGE", [len(encoded_images), 1], "BYTES")
    t.set_data_from_numpy(np.array([[b] for b in encoded_images], dtype=np.object_))
    return t


def frame_input(httpclient, frames):
    """FRAME: same-size HWC uint8 BGR frames as [N, H, W, 3]."""
    batch = np.stack(frames)
    t = httpclient.InferInput("FRAME", list(batch.shape), "UINT8")
    t.set_data_from_numpy(batch)
    return t


def tensor_input(httpclient, frames):
    """TENSOR: same-size BGR frames as kiln predict preprocesses an image whose letterbox is
    the identity (its size is the model's input): RGB planes in [0, 1], FP32 [N, 3, H, W]."""
    batch = np.ascontiguousarray(np.stack(frames)[..., ::-1].transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
    t = httpclient.InferInput("TENSOR", list(batch.shape), "FP32")
    t.set_data_from_numpy(batch.astype(np.float32))
    return t


def as_cli_detections(result, task):
    """Per image of a response, the detections as `kiln predict --json` writes them (the keys
    the backend can give: class_id, confidence, box_xyxy, mask_area, keypoints_xyc)."""
    counts = result.as_numpy("COUNT")[:, 0]
    scores, classes, boxes = result.as_numpy("SCORES"), result.as_numpy("CLASSES"), result.as_numpy("BOXES")
    masks = result.as_numpy("MASKS") if task == "segment" else None
    kpts = result.as_numpy("KEYPOINTS") if task == "pose" else None
    images = []
    for i, n in enumerate(counts):
        dets = []
        for k in range(int(n)):
            d = {"class_id": int(classes[i, k]), "confidence": float(scores[i, k]),
                 "box_xyxy": [float(v) for v in boxes[i, k]]}
            if masks is not None:
                d["mask_area"] = int(np.count_nonzero(masks[i, k] == 1))
            if kpts is not None:
                d["keypoints_xyc"] = [[float(v) for v in p] for p in kpts[i, k]]
            dets.append(d)
        images.append(dets)
    return images


def cli_detections(entry, task):
    """The same keys from one image of `kiln predict --json`."""
    keys = ["class_id", "confidence", "box_xyxy"] + {"segment": ["mask_area"], "pose": ["keypoints_xyc"]}.get(task, [])
    return [{k: d[k] for k in keys} for d in entry["detections"]]
