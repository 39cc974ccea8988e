"""kiln rebuild --config kiln.yaml: two models (vehicle, plate) built into the cache_dir
the yaml names, reused on the next run, --models / --force / flag overrides, and an
unknown key rejected with the key and file named."""
import json
import os
import shutil
import tempfile

from kiln_cli import ASSETS, Checks, run_kiln

OSNET = os.path.join(ASSETS, "models/reid/osnet_x0_25_msmt17.onnx")
checks = Checks()


def kiln(*args):
    env = {k: v for k, v in os.environ.items() if k not in ("KILN_ENV_OVERRIDE", "KILN_CACHE_DIR")}
    return run_kiln(args, timeout=300, env=env)


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-config-")
    try:
        os.makedirs(os.path.join(tmp, "models"))
        shutil.copy(OSNET, os.path.join(tmp, "models", "reid.onnx"))
        yaml = os.path.join(tmp, "kiln.yaml")
        with open(yaml, "w") as f:
            f.write("cache_dir: engines\non_mismatch: auto\ndevice: cpu\nmodels:\n"
                    "  vehicle: {source: models/reid.onnx, precision: fp32, batch: 1, workspace: 2}\n"
                    "  plate:\n    source: models/reid.onnx\n    batch: 2\n")
        cache = os.path.join(tmp, "engines")

        r = kiln("rebuild", "--config", yaml, "--json")
        rows = json.loads(r.stdout) if r.returncode == 0 else []
        checks.expect(r.returncode == 0 and [x["model"] for x in rows] == ["vehicle", "plate"]
                      and all(x["status"] == "built" for x in rows), "both models built", r)
        checks.expect(all(x["engine"].startswith(cache) for x in rows) and len({x["engine"] for x in rows}) == 2,
                      "engines in the yaml's cache_dir, one per model", r)

        r = kiln("rebuild", "--config", yaml)
        checks.expect(r.returncode == 0 and r.stdout.count("cached") == 2 and "vehicle" in r.stdout and "plate" in r.stdout
                      and "precision" in r.stdout, "second run reuses both (table)", r)
        checks.expect([(x["imgsz"], x["batch"], x["precision"]) for x in rows] == [([256, 128], "1:1:1", "fp32"),
                                                                                  ([256, 128], "2:2:2", "fp32")],
                      "--json rows: imgsz, batch and precision of each engine", rows)
        table = {l.split()[0]: l.split() for l in r.stdout.splitlines()[1:] if l.strip()}
        checks.expect("imgsz" in r.stdout.splitlines()[0] and "batch" in r.stdout.splitlines()[0]
                      and table.get("vehicle", [])[6:9] == ["fp32", "256x128", "1:1:1"]
                      and table.get("plate", [])[6:9] == ["fp32", "256x128", "2:2:2"],
                      "table: precision, imgsz and batch columns", r)

        # A damaged engine is rebuilt, and the summary says so and why.
        with open(rows[0]["engine"], "r+b") as f:
            f.truncate(100)
        r = kiln("rebuild", "--config", yaml, "--models", "vehicle", "--json")
        rows2 = json.loads(r.stdout) if r.returncode == 0 else []
        checks.expect(len(rows2) == 1 and rows2[0]["status"] == "rebuilt" and "unreadable" in rows2[0]["reason"]
                      and "kiln rebuild: rebuilt: vehicle" in r.stderr, "damaged engine: status rebuilt, with the reason", r)

        r = kiln("rebuild", "--config", yaml, "--models", "plate", "--force", "--json")
        rows = json.loads(r.stdout) if r.returncode == 0 else []
        checks.expect([(x["model"], x["status"]) for x in rows] == [("plate", "built")], "--models plate --force", r)

        r = kiln("rebuild", "--config", yaml, "--models", "vehicle", "--batch", "4", "--json")
        rows = json.loads(r.stdout) if r.returncode == 0 else []
        checks.expect(len(rows) == 1 and rows[0]["status"] == "built", "a flag override (--batch 4) makes a new engine", r)
        r = kiln("check", rows[0]["engine"], "--json") if rows else r
        checks.expect(r.returncode == 0, "overridden engine checks 0", r)

        other = os.path.join(tmp, "elsewhere")
        r = kiln("rebuild", "--config", yaml, "--models", "vehicle", "--cache-dir", other, "--json")
        checks.expect(r.returncode == 0 and json.loads(r.stdout)[0]["engine"].startswith(other), "--cache-dir overrides cache_dir", r)

        r = kiln("rebuild", "--config", yaml, "--models", "truck")
        checks.expect(r.returncode == 2 and "truck" in r.stderr, "unknown model name -> exit 2", r)

        bad = os.path.join(tmp, "bad.yaml")
        with open(bad, "w") as f:
            f.write("models:\n  vehicle: {source: models/reid.onnx, imgsize: 640}\n")
        r = kiln("rebuild", "--config", bad)
        checks.expect(r.returncode == 2 and "imgsize" in r.stderr and "bad.yaml" in r.stderr
                      and len(r.stderr.strip().splitlines()) == 1, "unknown key -> one line naming key and file", r)

        missing = os.path.join(tmp, "missing.yaml")
        with open(missing, "w") as f:
            f.write("models:\n  vehicle: {source: models/nothing.onnx}\n")
        r = kiln("rebuild", "--config", missing, "--json")
        checks.expect(r.returncode == 2 and "nothing" in r.stderr and json.loads(r.stdout)[0]["status"] == "failed",
                      "missing source -> failed row, exit 2", r)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("OK")


if __name__ == "__main__":
    main()
