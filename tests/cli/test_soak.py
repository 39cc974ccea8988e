"""bench/soak/soak.py on the CPU at a tiny input size: a folder whose `kiln predict` lines
overflow a pipe's 64 KiB finishes (a child on an unread pipe blocks forever), progress lines
carry the count, and a run stopped by --seconds or SIGTERM still judges its samples and
writes its JSON, marked incomplete, with the predictions the child reported."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from kiln_cli import ASSETS, Checks

checks = Checks()
SOAK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../bench/soak/soak.py")
MODEL = os.path.join(ASSETS, "models", "yolo11n-dynamic.onnx")
SOAK_BIN = os.path.join(os.environ.get("KILN_BINARY_DIR", ""), "kiln_soak")
# ~57 bytes of stdout per image at 32x32: 1,500 images write more than a pipe holds
FOLDER_IMAGES = 1500
RUN_LIMIT = 120  # a hung soak fails here instead of at ctest's timeout
SAMPLING = ["--imgsz", "32", "--interval", "0.1", "--report", "0.5"]


def soak(mode, args, tmp):
    """Runs soak.py `mode` to the end; returns (process, its JSON summary or {})."""
    out = os.path.join(tmp, f"{mode}.json")
    binary = ["--kiln", os.environ["KILN_BIN"]] if mode == "folder" else ["--soak-bin", SOAK_BIN]
    try:
        r = subprocess.run([sys.executable, SOAK, mode, "--model", MODEL, *SAMPLING, *binary, "--json", out, *args],
                           capture_output=True, text=True, timeout=RUN_LIMIT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        checks.check(f"soak.py {mode} {' '.join(args)} ends within {RUN_LIMIT} s", False)
        return None, {}
    summary = json.load(open(out)) if os.path.exists(out) else {}
    if os.path.exists(out):
        os.remove(out)
    return r, summary


def progress_counts(stdout):
    return [int(n.replace(",", "")) for n in re.findall(r"^soak: \d+ s, ([\d,]+) predictions", stdout, re.M)]


def check_stopped(label, r, summary, stopped_by, total):
    checks.expect(summary.get("complete") is False and summary.get("stopped") == stopped_by,
                  f"{label}: the JSON says complete false, stopped by {stopped_by}", f"{summary}")
    done = summary.get("predictions") or 0
    checks.expect(0 < done < total, f"{label}: some predictions done, not all", f"{done} of {total}")
    checks.expect(summary.get("measures") and summary["measures"][0]["samples"] > 0,
                  f"{label}: host RSS judged over the samples taken", r.stdout if r else "")
    return done


def main():
    if not (os.path.exists(MODEL) and os.path.exists(SOAK_BIN)):
        print(f"SKIP: {MODEL} or {SOAK_BIN} missing (assets, or run through ctest)")
        return
    with tempfile.TemporaryDirectory(prefix="kiln-soak-test-") as tmp:
        r, summary = soak("folder", ["--images", str(FOLDER_IMAGES)], tmp)
        if r:
            checks.expect(r.returncode == 0 and summary.get("complete") is True, "folder: exits 0, complete", r)
            checks.expect(f"{FOLDER_IMAGES} results written" in r.stdout, "folder: every result written", r)
            checks.check("folder: predictions = images", summary.get("predictions") == FOLDER_IMAGES,
                         f"{summary.get('predictions')}")
            counts = progress_counts(r.stdout)
            checks.expect(counts and counts == sorted(counts) and counts[-1] <= FOLDER_IMAGES,
                          "folder: progress lines with a rising image count", r.stdout)

        r, summary = soak("folder", ["--images", "20000", "--seconds", "4"], tmp)
        check_stopped("folder --seconds 4", r, summary, "--seconds 4", 20000)

        r, summary = soak("loop", ["--count", "100000000", "--seconds", "8"], tmp)
        done = check_stopped("loop --seconds 8", r, summary, "--seconds 8", 100000000)
        final = re.search(r"^(\d+) predictions in [\d.]+ s", r.stdout if r else "", re.M)
        checks.expect(final and int(final[1]) == done, "loop: the JSON's predictions are kiln_soak's final count",
                      r.stdout if r else "")
        checks.expect(r and r.returncode == 0, "loop: host RSS flat over the stopped run (exit 0)", r)

        # SIGTERM to soak.py alone (as `timeout` would send it): it stops kiln_soak and reports
        log_path, out = os.path.join(tmp, "sigterm.log"), os.path.join(tmp, "sigterm.json")
        with open(log_path, "w") as log:
            p = subprocess.Popen([sys.executable, SOAK, "loop", "--model", MODEL, *SAMPLING, "--soak-bin", SOAK_BIN,
                                  "--count", "100000000", "--json", out], stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
            deadline = time.time() + RUN_LIMIT
            while time.time() < deadline and not any(n > 0 for n in progress_counts(open(log_path).read())):
                time.sleep(0.2)
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
        text = open(log_path).read()
        summary = json.load(open(out)) if os.path.exists(out) else {}
        check_stopped("loop SIGTERM", None, summary, "SIGTERM", 100000000)
        checks.expect("host RSS: baseline" in text or "host RSS: only" in text,
                      "loop SIGTERM: the summary printed", text)
    checks.finish("soak.py: pipes drained, progress shown, stopped runs reported")


if __name__ == "__main__":
    main()
