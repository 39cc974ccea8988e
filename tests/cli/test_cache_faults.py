"""Full and failing disks, failing renames, read-only caches, killed builders and killed
predicts: kiln fails with one clean line naming the file and errno's text, leaves nothing
half-written, reuses a read-only cache that holds the engine, and removes the temp files
killed builders left; a predict killed at any moment leaves its JSON absent or whole.

ENOSPC / EIO on writes and renames come from an LD_PRELOAD shim (tests/support/fault_shim.c,
$KILN_FAULT_SHIM);
the read-only cache is a read-only bind mount when running as root with `unshare -m`, else
a folder without write permission."""
import glob
import json
import os
import random
import signal
import subprocess
import time

from kiln_cli import ASSETS, KILN, PROGRESS_LINE, Checks, run_kiln
from osnet_cache import env_for, osnet_copy

IMAGE = os.path.join(ASSETS, "images/bus.jpg")
SHIM = os.environ.get("KILN_FAULT_SHIM", "")
checks = Checks()


def faulty(cache, match, errno_name, after=0, rename=False):
    return env_for(cache, LD_PRELOAD=SHIM, KILN_FAULT_MATCH=match, KILN_FAULT_ERRNO=errno_name,
                   KILN_FAULT_AFTER=str(after), KILN_FAULT_RENAME="1" if rename else "0")


def expect_clean_failure(label, r, must_mention):
    # One error line; what kiln says it did before failing ("built: ...", build progress) is
    # not an error.
    lines = [l for l in r.stderr.splitlines() if l.strip() and ": built: " not in l and not PROGRESS_LINE.fullmatch(l)]
    problems = [f"exit {r.returncode}, want 2"] if r.returncode != 2 else []
    problems += [f"{len(lines)} stderr lines"] if len(lines) != 1 else []
    problems += [f"no {w!r}" for w in must_mention if w not in r.stderr]
    problems += ["internal text leaked"] if "Success" in r.stderr or "exception" in r.stderr else []
    checks.check(label, not problems, "; ".join(problems) + " | " + r.stderr.strip())


def dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def read_only_runner(folder):
    """A function running kiln with `folder` read-only, or None when this machine cannot."""
    if os.geteuid() == 0:
        probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind '{folder}' '{folder}' && "
                                f"mount -o remount,bind,ro '{folder}' && ! touch '{folder}/.probe'"],
                               capture_output=True)
        if probe.returncode != 0:
            return None

        def run(args, env):
            script = (f"mount --bind '{folder}' '{folder}' && mount -o remount,bind,ro '{folder}' && "
                      'exec "$@"')
            return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", KILN, *args], capture_output=True,
                                  text=True, env=env, stdin=subprocess.DEVNULL, timeout=300)
        return run
    os.chmod(folder, 0o555)
    return lambda args, env: run_kiln(args, env=env)


def main():
    if not os.path.exists(SHIM):
        print("SKIP: KILN_FAULT_SHIM not built (run through ctest)")
        return
    with osnet_copy("kiln-faults-") as (tmp, model):
        out = os.path.join(tmp, "out")
        os.makedirs(out)

        # Engine file writes: full disk at once and after 64 KB, a failing disk, then a rename
        # into place that fails after every byte was written.
        for errno_name, after, rename, text in (("ENOSPC", 0, False, "No space left on device"),
                                                ("ENOSPC", 65536, False, "No space left on device"),
                                                ("EIO", 0, False, "Input/output error"),
                                                ("EIO", 0, True, "Input/output error")):
            what = f"{'rename' if rename else 'write'} {errno_name} after {after} B"
            eng = os.path.join(out, "osnet.kiln")
            r = run_kiln(["build", model, "-o", eng], env=faulty(tmp, "osnet.kiln", errno_name, after, rename))
            expect_clean_failure(f"build -o with {what}: one clean line", r, [eng, text])
            checks.expect(not os.listdir(out), f"{what}: nothing left in the output folder", os.listdir(out))

        # The engine cache: a failed write leaves no engine and no temp file.
        cache = os.path.join(tmp, "cache")
        r = run_kiln(["build", model], env=faulty(cache, ".kiln", "ENOSPC", 4096))
        expect_clean_failure("cache write with ENOSPC: one clean line", r, [cache, "No space left on device"])
        left = [f for f in os.listdir(cache) if ".kiln" in f and not f.endswith(".lock")]
        checks.expect(not left, "cache write with ENOSPC: no engine or temp file", left)
        r = run_kiln(["build", model], env=faulty(cache, ".kiln", "EIO", rename=True))
        expect_clean_failure("cache rename with EIO: one clean line", r, [cache, "Input/output error"])
        left = [f for f in os.listdir(cache) if ".kiln" in f and not f.endswith(".lock")]
        checks.expect(not left, "cache rename with EIO: no engine or temp file", left)

        # Predict outputs: the JSON results and the annotated image.
        det = os.path.join(ASSETS, "models/yolo11n.onnx")
        res = os.path.join(out, "res.json")
        r = run_kiln(["predict", "--model", det, "--source", IMAGE, "--json", res], env=faulty(cache, "res.json", "ENOSPC"))
        expect_clean_failure("predict --json with ENOSPC: one clean line", r, [res, "No space left on device"])
        checks.expect(not os.path.exists(res) and not glob.glob(res + ".tmp*"), "predict --json: nothing half-written")
        r = run_kiln(["predict", "--model", det, "--source", IMAGE, "--json", res],
                     env=faulty(cache, "res.json", "EIO", rename=True))
        expect_clean_failure("predict --json with a failing rename: one clean line", r, [res, "Input/output error"])
        checks.expect(not os.path.exists(res) and not glob.glob(res + ".tmp*"),
                      "predict --json, failing rename: no result and no temp file")

        # Predict killed at random moments of a folder run, up to about when a whole run ends:
        # its JSON is absent or whole (the results go into a temp file renamed into place at the end).
        folder = os.path.join(ASSETS, "images")
        expected = len([f for f in os.listdir(folder) if f.lower().endswith((".jpg", ".png", ".bmp"))])
        start = time.time()
        r = run_kiln(["predict", "--model", det, "--source", folder, "--json", res], env=env_for(cache))
        whole_run = time.time() - start
        checks.expect(r.returncode == 0 and len(json.load(open(res))["results"]) == expected,
                      "predict of the folder, not killed: every result written", r.stderr)
        rng = random.Random(5)
        for i in range(4):
            if os.path.exists(res):
                os.remove(res)
            p = subprocess.Popen([KILN, "predict", "--model", det, "--source", folder, "--json", res],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env_for(cache))
            time.sleep(rng.uniform(0.2, 1.1) * whole_run)
            p.send_signal(signal.SIGKILL)
            finished = p.wait() == 0
            if os.path.exists(res):
                with open(res) as f:
                    text = f.read()
                try:
                    whole = len(json.loads(text)["results"]) == expected
                except (ValueError, KeyError, TypeError):
                    whole = False
                checks.expect(whole, f"predict killed at a random moment ({i}): the JSON left is whole", text[-200:])
            else:
                checks.expect(not finished, f"predict killed at a random moment ({i}): no JSON, the run did not finish")
        save = os.path.join(out, "annotated")
        r = run_kiln(["predict", "--model", det, "--source", IMAGE, "--save", save],
                     env=faulty(cache, "bus.jpg", "EIO", 1000))
        checks.expect(r.returncode != 0 and "Input/output error" in r.stderr and "bus.jpg" in r.stderr,
                      "predict --save with EIO: fails naming the image and the error", r)
        checks.expect(not glob.glob(os.path.join(save, "bus.jpg*")), "predict --save: nothing half-written",
                      glob.glob(os.path.join(save, "*")))

        # Stale temp files of killed builders are removed on the next run; a live writer's stays.
        r = run_kiln(["build", model, "--json"], env=env_for(cache))
        checks.expect(r.returncode == 0, "cache build", r)
        engine = json.loads(r.stdout)["engine"]
        dead = f"{engine}.tmp.{dead_pid()}.12345"
        live = f"{engine}.tmp.{os.getpid()}.67890"
        old = f"{engine}.tmp.999"
        for p in (dead, live, old):
            open(p, "wb").write(b"half an engine")
        past = time.time() - 2 * 3600
        os.utime(old, (past, past))
        r = run_kiln(["build", model, "--json"], env=env_for(cache))
        checks.expect(r.returncode == 0 and not json.loads(r.stdout)["built"], "engine reused", r)
        checks.expect(not os.path.exists(dead), "temp file of a dead builder removed")
        checks.expect(not os.path.exists(old), "temp file older than an hour removed")
        checks.expect(os.path.exists(live), "temp file of a running writer kept")
        os.remove(live)

        # A read-only cache holding the engine serves it (no lock file needed); one that
        # lacks it fails with one line naming the folder.
        for lock in glob.glob(os.path.join(cache, "*.lock")):
            os.remove(lock)
        run_ro = read_only_runner(cache)
        if run_ro is None:
            print("SKIP: read-only cache (no read-only mount possible here)")
        else:
            r = run_ro(["build", model, "--json"], env_for(cache))
            checks.expect(r.returncode == 0 and not json.loads(r.stdout)["built"], "read-only cache: engine reused", r)
            r = run_ro(["build", model, "--batch", "2"], env_for(cache))
            expect_clean_failure("read-only cache without the engine: one clean line", r, [cache])
            os.chmod(cache, 0o755)
    checks.finish("OK")


if __name__ == "__main__":
    main()
