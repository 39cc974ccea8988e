"""kiln build / kiln check end to end: each kind of mismatch gives the right verdict and
exit code, and under --on-mismatch auto (or --rebuild) a rebuilt engine that then checks 0.
GPUs and library versions are simulated with KILN_ENV_OVERRIDE (CI has no GPU)."""
import hashlib
import json
import os
import shutil
import struct
import tempfile

from kiln_cli import ASSETS, Checks, run_kiln

OSNET = os.path.join(ASSETS, "models/reid/osnet_x0_25_msmt17.onnx")
YOLO11N = os.path.join(ASSETS, "models/yolo11n.onnx")
YOLOV8N = os.path.join(ASSETS, "models/yolov8n.onnx")
EXIT_OK, EXIT_ERROR, EXIT_REBUILD = 0, 2, 3

H100 = {"gpus": [{"name": "Simulated H100", "compute_capability": "9.0", "memory_bytes": 85899345920}],
        "driver": "12.4", "cuda_runtime": "12.4", "cudnn": "9.1.0", "cublaslt": "12.4.5"}
checks = Checks()


def kiln(*args, env_override=None, tmp=None):
    env = dict(os.environ)
    env.pop("KILN_ENV_OVERRIDE", None)
    if env_override is not None:
        path = os.path.join(tmp, "env-%d.json" % len(os.listdir(tmp)))
        with open(path, "w") as f:
            json.dump(env_override, f)
        env["KILN_ENV_OVERRIDE"] = path
    return run_kiln(args, timeout=300, env=env)


def with_fields(base, **kw):
    d = json.loads(json.dumps(base))
    for k, v in kw.items():
        if k == "compute_capability":
            d["gpus"][0]["compute_capability"] = v
        elif k == "gpu_name":
            d["gpus"][0]["name"] = v
        else:
            d[k] = v
    return d


def rewrite_checksum(path):
    with open(path, "rb") as f:
        body = f.read()[:-32]
    with open(path, "wb") as f:
        f.write(body + hashlib.sha256(body).digest())


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-engine-check-")
    try:
        model = os.path.join(tmp, "osnet.onnx")
        shutil.copy(OSNET, model)
        eng = os.path.join(tmp, "osnet.kiln")

        # A CUDA engine built on a simulated H100: recorded, numeric verification skipped.
        r = kiln("build", model, "-o", eng, "--device", "cuda:0", "--precision", "fp16", env_override=H100, tmp=tmp)
        checks.expect(r.returncode == EXIT_OK and "no CUDA backend" in r.stdout, "build for simulated cuda:0 fp16", r)
        r = kiln("check", eng, env_override=H100, tmp=tmp)
        checks.expect(r.returncode == EXIT_OK and "compatible" in r.stdout, "same environment checks 0", r)
        r = kiln("check", eng, tmp=tmp)
        checks.expect(r.returncode == EXIT_REBUILD and "critical" in r.stdout, "cuda engine on a machine without GPU -> 3", r)

        # Soft: driver and GPU name (same compute capability) only warn.
        r = kiln("check", eng, env_override=with_fields(H100, driver="12.6", gpu_name="H100 PCIe"), tmp=tmp)
        checks.expect(r.returncode == EXIT_OK and "warning: CUDA driver 12.4 at build, 12.6 now" in r.stdout
                      and "same compute capability" in r.stdout, "driver / GPU name -> warnings, exit 0", r)

        # Hard: compute capability, cuDNN major.
        for field, value, text in [("compute_capability", "8.9", "critical: compute capability 9.0"),
                                   ("cudnn", "10.0.0", "critical: cuDNN 9.1.0 at build, 10.0.0 now")]:
            changed = with_fields(H100, **{field: value})
            r = kiln("check", eng, env_override=changed, tmp=tmp)
            checks.expect(r.returncode == EXIT_REBUILD and text in r.stdout, "%s mismatch -> exit 3" % field, r)
            r = kiln("check", eng, "--json", env_override=changed, tmp=tmp)
            verdict = json.loads(r.stdout)[0] if r.stdout.strip() else {}
            checks.expect(r.returncode == EXIT_REBUILD and verdict.get("needs_rebuild") is True
                          and any(x["severity"] == "critical" for x in verdict.get("reasons", [])), "%s --json" % field, r)
            r = kiln("check", eng, "--on-mismatch", "prompt", env_override=changed, tmp=tmp)
            checks.expect(r.returncode == EXIT_REBUILD, "prompt without a terminal behaves as fail (%s)" % field, r)
            r = kiln("check", eng, "--on-mismatch", "auto", env_override=changed, tmp=tmp)
            checks.expect(r.returncode == EXIT_OK and "rebuilt" in r.stdout, "auto rebuilds on %s mismatch" % field, r)
            r = kiln("check", eng, env_override=changed, tmp=tmp)
            checks.expect(r.returncode == EXIT_OK, "rebuilt engine checks 0 in the new environment (%s)" % field, r)
            r = kiln("check", eng, "--rebuild", env_override=H100, tmp=tmp)  # back to the original env
            checks.expect(r.returncode == EXIT_OK, "--rebuild back to the H100 (%s)" % field, r)

        # Format version: patch the u32 after the magic, with a valid checksum.
        with open(eng, "r+b") as f:
            f.seek(4)
            f.write(struct.pack("<I", 99))
        rewrite_checksum(eng)
        r = kiln("check", eng, env_override=H100, tmp=tmp)
        checks.expect(r.returncode == EXIT_REBUILD and "format version 99" in r.stdout, "format version -> exit 3", r)
        r = kiln("check", eng, "--rebuild", env_override=H100, tmp=tmp)
        checks.expect(r.returncode == EXIT_OK, "format version: --rebuild then 0", r)

        # Checksum: flip one byte in the weights.
        size = os.path.getsize(eng)
        with open(eng, "r+b") as f:
            f.seek(size // 2)
            b = f.read(1)
            f.seek(size // 2)
            f.write(bytes([b[0] ^ 0xFF]))
        r = kiln("check", eng, env_override=H100, tmp=tmp)
        checks.expect(r.returncode == EXIT_REBUILD and "checksum mismatch" in r.stdout, "flipped byte -> exit 3", r)
        r = kiln("check", eng, "--rebuild", env_override=H100, tmp=tmp)
        checks.expect(r.returncode == EXIT_OK, "checksum: --rebuild then 0", r)

        # Truncated and random files: one-line error naming the file, exit 2.
        trunc = os.path.join(tmp, "trunc.kiln")
        with open(eng, "rb") as f, open(trunc, "wb") as g:
            g.write(f.read()[: os.path.getsize(eng) // 3])
        rnd = os.path.join(tmp, "random.kiln")
        with open(rnd, "wb") as g:
            g.write(os.urandom(4096))
        for bad in (trunc, rnd):
            r = kiln("check", bad, tmp=tmp)
            lines = r.stderr.strip().splitlines()
            checks.expect(r.returncode == EXIT_ERROR and len(lines) == 1 and bad in lines[0], "%s -> one-line error, exit 2"
                          % os.path.basename(bad), r)
        r = kiln("check", eng, trunc, env_override=H100, tmp=tmp)
        checks.expect(r.returncode == EXIT_ERROR and "compatible" in r.stdout, "good + bad engine -> exit 2, good still reported", r)

        # Source model changed since the build: the copy is replaced by yolov8n.
        src = os.path.join(tmp, "detector.onnx")
        shutil.copy(YOLO11N, src)
        det = os.path.join(tmp, "detector.kiln")
        r = kiln("build", src, "-o", det, tmp=tmp)
        checks.expect(r.returncode == EXIT_OK and "max relative error" in r.stdout, "build yolo11n on cpu with verification", r)
        r = kiln("check", det, tmp=tmp)
        checks.expect(r.returncode == EXIT_OK, "fresh cpu engine checks 0", r)
        shutil.copy(YOLOV8N, src)
        r = kiln("check", det, tmp=tmp)
        checks.expect(r.returncode == EXIT_REBUILD and "changed since the build" in r.stdout, "source changed -> exit 3", r)
        # An engine is rebuilt only from the very model it was built from: a changed source
        # (or a path altered in a damaged file) is refused, and the engine is left as it was.
        before = open(det, "rb").read()
        r = kiln("check", det, "--on-mismatch", "auto", tmp=tmp)
        checks.expect(r.returncode == EXIT_REBUILD and "changed since the engine was built" in r.stderr
                      and len(r.stderr.strip().splitlines()) == 1, "source changed: no rebuild from another model, exit 3", r)
        checks.expect(open(det, "rb").read() == before, "source changed: the engine file is untouched")
        r = kiln("build", src, "-o", det, tmp=tmp)
        checks.expect(r.returncode == EXIT_OK, "kiln build from the new source", r)
        with open(det, "rb") as f:
            checks.expect(hashlib.sha256(open(YOLOV8N, "rb").read()).hexdigest().encode() in f.read(),
                          "the new engine records the new source's SHA-256")

        # Source gone: --rebuild says so clearly.
        os.remove(src)
        with open(det, "r+b") as f:
            f.seek(os.path.getsize(det) // 2)
            f.write(b"\x00\x01\x02\x03")
        r = kiln("check", det, "--rebuild", tmp=tmp)
        checks.expect(r.returncode == EXIT_REBUILD and "no longer exists" in r.stderr and "cannot rebuild" in r.stderr,
                      "source gone: --rebuild explains, exit 3", r)

        # Precision the CPU cannot run.
        r = kiln("build", model, "-o", os.path.join(tmp, "x.kiln"), "--precision", "fp16", tmp=tmp)
        checks.expect(r.returncode == EXIT_ERROR and "fp16" in r.stderr and len(r.stderr.strip().splitlines()) == 1,
                      "fp16 on cpu -> one-line InvalidArgument", r)
        r = kiln("build", model, "-o", os.path.join(tmp, "x.kiln"), "--device", "cuda:0", tmp=tmp)
        checks.expect(r.returncode == EXIT_ERROR and "cuda:0" in r.stderr, "cuda without a GPU -> error", r)
        checks.expect(not os.path.exists(os.path.join(tmp, "x.kiln")), "failed builds write nothing")

        # kiln env under simulation.
        r = kiln("env", "--json", env_override=H100, tmp=tmp)
        env = json.loads(r.stdout)
        checks.expect(env["gpus"][0]["compute_capability"] == "9.0" and env["cudnn"] == "9.1.0", "env --json shows simulated GPU", r)
        r = kiln("env", tmp=tmp)
        checks.expect(r.returncode == EXIT_OK and "GPU           none" in r.stdout, "env says clearly there is no GPU", r)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("OK")


if __name__ == "__main__":
    main()
