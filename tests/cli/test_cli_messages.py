"""kiln says what happens: a first-use engine build, an automatic rebuild of a damaged
cached engine and a CPU fallback each print one line on stderr and appear in the JSON
events; --verbose adds build phases with their times, cache hits, tactics and per-image
stage times; --quiet leaves only results; progress is a periodic line when stderr is
piped (val, folders)."""
import glob
import json
import os
import re
import shutil
import tempfile

from kiln_cli import ASSETS, Checks, run_kiln

checks = Checks()
check = checks.check
MODEL = os.path.join(ASSETS, "models", "yolo11n.onnx")
BUS = os.path.join(ASSETS, "images", "bus.jpg")
IMAGES = os.path.join(ASSETS, "images")
COCO8 = os.path.join(ASSETS, "datasets", "coco8", "coco8.yaml")


def lines_with(text, word):
    return [l for l in text.splitlines() if word in l]


def events(path):
    return [e["event"] for e in json.load(open(path))["events"]] if os.path.exists(path) else None


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-messages-")
    cache = os.path.join(tmp, "cache")
    out = os.path.join(tmp, "out.json")
    try:
        args = ["predict", "--model", MODEL, "--source", BUS, "--cache-dir", cache, "--json", out]
        r = run_kiln(args)
        built = lines_with(r.stderr, "kiln predict: built: built engine")
        checks.expect(r.returncode == 0 and len(built) == 1 and "first use" in built[0] and cache in built[0],
                      "first use: one line saying the engine was built, where and why", r)
        check("first use: 'built' in the JSON events", events(out) == ["built"], str(events(out)))

        r = run_kiln(args)
        checks.expect(r.returncode == 0 and r.stderr == "", "second run: the cached engine, nothing said", r)
        check("second run: no events", events(out) == [], str(events(out)))
        r = run_kiln(args + ["--verbose"])
        checks.expect(r.returncode == 0 and "engine cache hit" in r.stderr, "--verbose: the cache hit is said", r)
        stages = re.search(r"kiln predict: bus\.jpg: preprocess ([0-9.]+) ms, inference ([0-9.]+) ms, "
                           r"postprocess ([0-9.]+) ms", r.stderr)
        checks.expect(stages is not None and float(stages.group(2)) > 0, "--verbose: the image's stage times", r)
        check("--verbose: the engine's tactics", "kiln predict: tactics: none to choose (CPU engine" in r.stderr, r.stderr)

        engines = glob.glob(os.path.join(cache, "*.kiln"))
        if check("one engine in the cache", len(engines) == 1, str(engines)):
            data = open(engines[0], "rb").read()
            open(engines[0], "wb").write(data[: len(data) // 2])
            r = run_kiln(args + ["--verbose"])
            rebuilt = lines_with(r.stderr, "kiln predict: rebuilt: rebuilt engine")
            checks.expect(r.returncode == 0 and len(rebuilt) == 1 and "unreadable" in rebuilt[0],
                          "damaged cached engine: one line saying it was rebuilt and why", r)
            check("rebuild: 'rebuilt' in the JSON events", events(out) == ["rebuilt"], str(events(out)))
            check("--verbose: the build's phases with their times",
                  re.search(r"kiln predict: optimizing \(at [0-9.]+ s\)", r.stderr) is not None
                  and re.search(r"kiln predict: build phases: .*importing [0-9.]+ s, optimizing", r.stderr), r.stderr)

        env = json.loads(run_kiln(["env", "--json"]).stdout or "{}")
        if env.get("gpus"):
            print("skip: CPU fallback (this machine has a GPU)")
        else:
            r = run_kiln(args + ["--device", "cuda"])
            fallback = lines_with(r.stderr, "kiln predict: fallback:")
            checks.expect(r.returncode == 0 and len(fallback) == 1 and "cuda:0" in fallback[0] and "CPU" in fallback[0],
                          "--device cuda without a GPU: one fallback line", r)
            check("fallback in the JSON events", events(out) == ["fallback"], str(events(out)))
            r = run_kiln(args + ["--device", "cuda", "--quiet"])
            checks.expect(r.returncode == 0 and r.stderr == "" and r.stdout == "", "--quiet: nothing printed", r)
            check("--quiet: the fallback still in the JSON", events(out) == ["fallback"], str(events(out)))
            # The test's own cache, which holds this engine by now: the fallback is the only event.
            r = run_kiln(["val", "--model", MODEL, "--data", COCO8, "--device", "cuda:99", "--json", "--cache-dir", cache])
            doc = json.loads(r.stdout) if r.returncode == 0 else {}
            checks.expect(r.returncode == 0 and "cuda:99" in r.stderr and "CPU" in r.stderr
                          and [e["event"] for e in doc.get("events", [])] == ["fallback"],
                          "val --device cuda:99 without a GPU: a fallback line and event", r)

        # Progress when stderr is piped: a line at the end (and every few seconds).
        r = run_kiln(["val", "--model", MODEL, "--data", COCO8, "--cache-dir", cache])
        checks.expect(r.returncode == 0 and lines_with(r.stderr, "kiln val: 4/4 images (100%)") != [],
                      "val: progress line on piped stderr", r)
        r = run_kiln(["predict", "--model", MODEL, "--source", IMAGES, "--cache-dir", cache])
        checks.expect(r.returncode == 0 and lines_with(r.stderr, "kiln predict: 7/7 images (100%)") != []
                      and len([l for l in r.stdout.splitlines() if l.startswith("image ")]) == 7, "predict folder: progress on stderr, lines on stdout", r)
        r = run_kiln(["predict", "--model", MODEL, "--source", IMAGES, "--cache-dir", cache, "--quiet"])
        checks.expect(r.returncode == 0 and r.stdout == "" and r.stderr == "", "predict --quiet: silent", r)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("builds, rebuilds and fallbacks are said once and recorded; --verbose, --quiet and progress work")


if __name__ == "__main__":
    main()
