"""Triton Inference Server with the kiln backend, on the CPU (KIND_CPU): repositories written
by `kiln triton-repo` for detect, segment and pose; every response equals `kiln predict --json`
with the same options (imgsz, batch) on the assets' images, through IMAGE (encoded bytes) and
FRAME (BGR pixels), and TENSOR (preprocessed) equal to FRAME; 8 concurrent clients x 50
requests under dynamic batching all answered and equal while bad requests (undecodable bytes,
a good and an undecodable image in one request, wrong dtype, wrong shape, two inputs, a tensor
of the wrong size) get error responses; in one dynamic batch of good requests and an
undecodable one, the good ones are answered and the bad one alone refused; the server keeps
serving. Skips (77) without the nvidia-pytriton wheel or tritonclient."""
import json
import os
import sys
import tempfile
import threading
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from kiln_cli import ASSETS, Checks, run_kiln  # noqa: E402
import triton_server as ts  # noqa: E402

MODELS = {"detect": "yolo11n-dynamic.onnx", "segment": "yolov8n-seg.onnx", "pose": "yolo11n-pose.onnx"}
# The CLI reference runs with the same options as the server. The detect model (dynamic
# export) takes small inputs, to keep the load test fast on a CPU, and a batch of 8: a dynamic
# batch is one inference. The static exports run at 640, one image per inference.
OPTIONS = {"detect": ["--imgsz", "160", "--batch", "8"], "segment": [], "pose": []}
# The input each model's engine takes (its letterbox of an image of this size is the identity).
INPUT_SIDE = {"detect": 160, "segment": 640, "pose": 640}
CLIENTS, REQUESTS = 8, 50
UNDECODABLE = b"not an image at all"
# The model of the mixed batch waits this long for its batch of 8 to fill: a batch that ran
# sooner was filled by all the requests sent, the undecodable one included.
MIXED_QUEUE_DELAY_S = 10

checks = Checks()
check = checks.check


def cli_reference(tmp, task, env):
    out = os.path.join(tmp, f"{task}.json")
    r = run_kiln(["predict", "--model", os.path.join(ASSETS, "models", MODELS[task]), "--source",
                  os.path.join(ASSETS, "images"), "--json", out, *OPTIONS[task]], env=env)
    if not checks.expect(r.returncode == 0, f"{task}: kiln predict --json", r):
        return {}
    return {e["image"]: ts.cli_detections(e, task) for e in json.load(open(out))["results"]}


def write_repo(tmp, task, name=None, extra=()):
    r = run_kiln(["triton-repo", "--model", os.path.join(ASSETS, "models", MODELS[task]), "--name", name or task,
                  "--out", os.path.join(tmp, "repo"), "--device", "cpu", "--max-batch", "8", *OPTIONS[task], *extra])
    checks.expect(r.returncode == 0, f"{name or task}: kiln triton-repo", r)


def infer(client, httpclient, task, inputs):
    return ts.as_cli_detections(client.infer(task, inputs), task)


def check_equal_to_cli(client, httpclient, task, refs, images):
    import cv2
    for name, data in images.items():
        got = infer(client, httpclient, task, [ts.image_input(httpclient, [data])])
        check(f"{task}: IMAGE {name} equals kiln predict ({len(refs[name])} detections)", got == [refs[name]])
    # Two images in one request: each answered in order, padded rows cut by COUNT.
    names = sorted(images)[:2]
    got = infer(client, httpclient, task, [ts.image_input(httpclient, [images[n] for n in names])])
    check(f"{task}: one request with 2 images equals kiln predict", got == [refs[n] for n in names])
    frame = cv2.imread(os.path.join(ASSETS, "images", "bus.jpg"))
    got = infer(client, httpclient, task, [ts.frame_input(httpclient, [frame])])
    check(f"{task}: FRAME bus.jpg equals kiln predict", got == [refs["bus.jpg"]])
    # TENSOR: an image of the model's input size letterboxes to itself, so its preprocessed
    # tensor must be answered exactly as the image itself, alone and two in one request.
    side = INPUT_SIDE[task]
    small = [cv2.resize(cv2.imread(os.path.join(ASSETS, "images", n)), (side, side)) for n in ("bus.jpg", "zidane.jpg")]
    as_frames = infer(client, httpclient, task, [ts.frame_input(httpclient, small)])
    as_tensor = infer(client, httpclient, task, [ts.tensor_input(httpclient, small[:1])])
    check(f"{task}: TENSOR of a {side}x{side} image equals its FRAME ({len(as_frames[0])} detections)",
          as_tensor == as_frames[:1] and len(as_frames[0]) > 0)
    as_tensors = infer(client, httpclient, task, [ts.tensor_input(httpclient, small)])
    check(f"{task}: TENSOR with 2 images equals their FRAMEs", as_tensors == as_frames)


def bad_requests(httpclient, images):
    """(label, inputs, text the error must contain) for requests the server must refuse."""
    import numpy as np
    wrong_dtype = httpclient.InferInput("IMAGE", [1, 1], "FP32")
    wrong_dtype.set_data_from_numpy(np.zeros((1, 1), np.float32))
    wrong_shape = httpclient.InferInput("FRAME", [1, 8, 8, 4], "UINT8")
    wrong_shape.set_data_from_numpy(np.zeros((1, 8, 8, 4), np.uint8))
    frame = ts.frame_input(httpclient, [np.zeros((8, 8, 3), np.uint8)])
    tiny_tensor = ts.tensor_input(httpclient, [np.zeros((8, 8, 3), np.uint8)])
    return [("tensor of a size the model does not take", [tiny_tensor], "[1,3,8,8]"),
            ("undecodable bytes", [ts.image_input(httpclient, [UNDECODABLE])], "IMAGE[0]: not a decodable image"),
            ("a good and an undecodable image in one request",
             [ts.image_input(httpclient, [images["bus.jpg"], UNDECODABLE])], "IMAGE[1]: not a decodable image"),
            ("wrong dtype", [wrong_dtype], "FP32"),
            ("wrong shape", [wrong_shape], "FRAME"),
            ("two inputs", [ts.image_input(httpclient, [images["bus.jpg"]]), frame], "exactly one input")]


def check_bad_requests(client, httpclient, task, images):
    from tritonclient.utils import InferenceServerException
    for label, inputs, must_mention in bad_requests(httpclient, images):
        try:
            client.infer(task, inputs)
            check(f"{task}: {label} refused", False, "(answered)")
        except InferenceServerException as e:
            check(f"{task}: {label} refused with an error naming it", must_mention in str(e), str(e))


def check_mixed_batch(url, httpclient, refs, images):
    """7 requests of one good image and 1 of undecodable bytes sent at once to a model that
    waits MIXED_QUEUE_DELAY_S for a batch of 8: they run as one batch, in which the good ones
    are answered as kiln predict and the bad one is refused, naming its image."""
    import time
    from tritonclient.utils import InferenceServerException
    names = sorted(images)
    sent = [images[names[i % len(names)]] for i in range(7)] + [UNDECODABLE]
    got = [None] * len(sent)

    def send(i):
        client = httpclient.InferenceServerClient(url, network_timeout=300)
        try:
            got[i] = infer(client, httpclient, "mixed", [ts.image_input(httpclient, [sent[i]])])
        except InferenceServerException as e:
            got[i] = e

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(sent))]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    elapsed = time.monotonic() - t0
    check("mixed batch: ran as one full batch before the queue delay", elapsed < MIXED_QUEUE_DELAY_S / 2 and
          batch_sizes(url, "mixed") == {7: 1}, f"{elapsed:.1f} s, batches {batch_sizes(url, 'mixed')}")
    good = sum(got[i] == [refs[names[i % len(names)]]] for i in range(7))
    check("mixed batch: the 7 good requests answered as kiln predict", good == 7, f"{good}/7")
    check("mixed batch: the undecodable request refused, naming its image",
          isinstance(got[7], InferenceServerException) and "IMAGE[0]: not a decodable image" in str(got[7]),
          str(got[7]))


def load(url, httpclient, refs, images):
    """CLIENTS threads x REQUESTS requests (images in turn) plus one thread sending bad requests
    meanwhile; returns (answered, equal, bad_refused)."""
    from tritonclient.utils import InferenceServerException
    names = sorted(images)
    answered, equal, refused = [0] * CLIENTS, [0] * CLIENTS, [0]
    done = threading.Event()

    def client_loop(c):
        client = httpclient.InferenceServerClient(url, network_timeout=300)
        for r in range(REQUESTS):
            name = names[(c + r) % len(names)]
            got = infer(client, httpclient, "detect", [ts.image_input(httpclient, [images[name]])])
            answered[c] += 1
            equal[c] += got == [refs[name]]

    def bad_loop():
        client = httpclient.InferenceServerClient(url, network_timeout=300)
        while not done.is_set():
            for _, inputs, _ in bad_requests(httpclient, images):
                try:
                    client.infer("detect", inputs)
                except InferenceServerException:
                    refused[0] += 1

    threads = [threading.Thread(target=client_loop, args=(c,)) for c in range(CLIENTS)]
    bad = threading.Thread(target=bad_loop)
    bad.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    done.set()
    bad.join(timeout=60)
    return sum(answered), sum(equal), refused[0]


def batch_sizes(url, model):
    """{batch size: executions} from the server's statistics for `model`."""
    with urllib.request.urlopen(f"http://{url}/v2/models/{model}/stats") as r:
        stats = json.load(r)["model_stats"][0]
    return {b["batch_size"]: b["compute_infer"]["count"] for b in stats.get("batch_stats", [])}


def main():
    binary = ts.tritonserver_binary()
    try:
        import tritonclient.http as httpclient
    except ImportError:
        httpclient = None
    if not binary or not httpclient:
        print("SKIP: needs the nvidia-pytriton wheel (tritonserver) and tritonclient[http] (scripts/setup.sh)")
        sys.exit(ts.SKIP)
    backend_dir = os.path.join(os.environ["KILN_BINARY_DIR"], "triton", "backends")
    if not os.path.exists(os.path.join(backend_dir, "kiln", "libtriton_kiln.so")):
        print(f"SKIP: {backend_dir}/kiln/libtriton_kiln.so not built (KILN_TRITON=OFF)")
        sys.exit(ts.SKIP)

    tmp = tempfile.mkdtemp(prefix="kiln-triton-")
    # Engines built once (by kiln predict) and shared; one inference thread, as two cores are
    # shared with the clients.
    env = dict(os.environ, KILN_CACHE_DIR=os.path.join(tmp, "cache"), OMP_NUM_THREADS="1")
    images = {n: open(os.path.join(ASSETS, "images", n), "rb").read() for n in sorted(os.listdir(
        os.path.join(ASSETS, "images")))}
    refs = {}
    for task in MODELS:
        refs[task] = cli_reference(tmp, task, env)
        write_repo(tmp, task)
    write_repo(tmp, "detect", "mixed", ["--queue-delay-us", str(MIXED_QUEUE_DELAY_S * 1000000)])
    if checks.failures:
        checks.finish("")

    with ts.Server(binary, os.path.join(tmp, "repo"), backend_dir, os.path.join(tmp, "server.log"), env=env) as server:
        client = httpclient.InferenceServerClient(server.url, network_timeout=300)
        for task in MODELS:
            check_equal_to_cli(client, httpclient, task, refs[task], images)
            check_bad_requests(client, httpclient, task, images)
        check_mixed_batch(server.url, httpclient, refs["detect"], images)
        answered, equal, refused = load(server.url, httpclient, refs["detect"], images)
        total = CLIENTS * REQUESTS
        check(f"load: {CLIENTS} clients x {REQUESTS} requests all answered", answered == total, f"{answered}/{total}")
        check("load: every answer equals kiln predict", equal == total, f"{equal}/{total}")
        check("load: bad requests sent meanwhile refused", refused > 0, f"{refused} refused")
        sizes = batch_sizes(server.url, "detect")
        check("load: dynamic batching ran batches of several requests", any(b > 1 for b in sizes), str(sizes))
        got = infer(client, httpclient, "detect", [ts.image_input(httpclient, [images["bus.jpg"]])])
        check("server still serves after the load", got == [refs["detect"]["bus.jpg"]])
        check("server still running", server.proc.poll() is None)
    checks.finish("Triton with the kiln backend answers like kiln predict")


if __name__ == "__main__":
    main()
