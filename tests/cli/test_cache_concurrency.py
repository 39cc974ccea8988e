"""The engine cache under concurrency and crashes: 8 simultaneous `kiln build` of one key
build once and all succeed; a builder SIGKILLed mid-build leaves the previous engine
intact (KILN_TEST_PAUSE_BEFORE_WRITE_MS holds the writer just before it writes); cache ls
and prune."""
import glob
import hashlib
import json
import os
import random
import signal
import subprocess
import time

from kiln_cli import KILN, Checks, run_kiln
from osnet_cache import env_for, osnet_copy

checks = Checks()


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    with osnet_copy("kiln-cache-") as (tmp, model):

        # 8 concurrent builders of one key.
        cache = os.path.join(tmp, "cache")
        procs = [subprocess.Popen([KILN, "build", model, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env_for(cache)) for _ in range(8)]
        results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]
        checks.expect(all(rc == 0 for rc, _, _ in results), "all 8 concurrent builds succeed", results)
        summaries = [json.loads(out) for rc, out, _ in results if rc == 0]
        built = [s["built"] for s in summaries]
        checks.expect(built.count(True) == 1, "exactly one of them built (the others reused it)", built)
        checks.expect(len({s["engine"] for s in summaries}) == 1, "all name the same engine")
        with open(os.path.join(cache, "builds.log")) as f:
            log = f.read().splitlines()
        checks.expect(len(log) == 1, "builds.log has exactly one build", log)
        engines = glob.glob(os.path.join(cache, "*.kiln"))
        checks.expect(len(engines) == 1 and os.path.basename(engines[0]).startswith("osnet-"), "one engine, named after the model", engines)
        checks.expect(not glob.glob(os.path.join(cache, "*.tmp*")), "no temp files left")
        r = run_kiln(["check", engines[0]], env=env_for(cache))
        checks.expect(r.returncode == 0, "the cached engine checks 0", r.stdout + r.stderr)

        # Another key (batch 2) lives beside it.
        r = run_kiln(["build", model, "--batch", "2", "--json"], env=env_for(cache))
        checks.expect(r.returncode == 0 and json.loads(r.stdout)["built"], "different options build a second engine", r.stderr)
        checks.expect(len(glob.glob(os.path.join(cache, "*.kiln"))) == 2, "two engines side by side")

        # A builder killed while paused before writing leaves the previous engine intact.
        engine = engines[0]
        before = sha(engine)
        p = subprocess.Popen([KILN, "build", model, "--force"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env_for(cache, KILN_TEST_PAUSE_BEFORE_WRITE_MS="20000"))
        time.sleep(3)  # the osnet build takes well under a second; the writer is now paused
        checks.expect(p.poll() is None, "forced builder is paused before writing")
        p.send_signal(signal.SIGKILL)
        p.wait()
        checks.expect(sha(engine) == before, "SIGKILLed builder left the previous engine byte-identical")
        r = run_kiln(["check", engine], env=env_for(cache))
        checks.expect(r.returncode == 0, "and it still checks 0", r.stdout + r.stderr)
        # The lock died with the killed builder: the next build does not wait.
        r = run_kiln(["build", model], timeout=60, env=env_for(cache))
        checks.expect(r.returncode == 0 and "(cached)" in r.stdout, "lock released by the kill; engine reused", r.stdout + r.stderr)

        # Killed at random moments of real builds: the engine is always a whole, valid one.
        rng = random.Random(3)
        for i in range(4):
            p = subprocess.Popen([KILN, "build", model, "--force"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env=env_for(cache))
            time.sleep(rng.uniform(0.05, 0.6))
            p.send_signal(signal.SIGKILL)
            p.wait()
            r = run_kiln(["check", engine], env=env_for(cache))
            checks.expect(r.returncode == 0, "kill %d at a random moment: engine still valid" % i, r.stdout + r.stderr)

        # cache ls / prune.
        r = run_kiln(["cache", "ls", "--json"], env=env_for(cache))
        listing = json.loads(r.stdout)
        checks.expect(r.returncode == 0 and len(listing) == 2 and all(e.get("precision") == "fp32" for e in listing),
                      "cache ls --json lists both engines", r.stdout)
        r = run_kiln(["cache", "ls", "--cache-dir", cache])
        checks.expect(r.returncode == 0 and "2 engine(s)" in r.stdout, "cache ls --cache-dir", r.stdout + r.stderr)
        r = run_kiln(["cache", "prune", "--older-than", "1"], env=env_for(cache))
        checks.expect(r.returncode == 0 and len(glob.glob(os.path.join(cache, "*.kiln"))) == 2, "prune --older-than 1 keeps fresh engines", r.stdout)
        r = run_kiln(["cache", "prune"], env=env_for(cache))
        checks.expect(r.returncode == 2, "prune needs --all or --older-than", r.stderr)
        r = run_kiln(["cache", "prune", "--all"], env=env_for(cache))
        checks.expect(r.returncode == 0 and not glob.glob(os.path.join(cache, "*.kiln")), "prune --all empties the cache", r.stdout)
    checks.finish("OK")


if __name__ == "__main__":
    main()
