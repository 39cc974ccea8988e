"""Shared helpers for the CLI tests: where kiln and the assets are, running kiln, and
collecting check results so a test reports every failure before exiting non-zero."""
import json
import os
import re
import subprocess
import sys

KILN = os.environ["KILN_BIN"]
# A piped engine build's periodic progress line ("kiln predict: verifying (at 5.00 s)").
PROGRESS_LINE = re.compile(r"kiln [\w-]+: .* \(at \d+\.\d\d s\)")
ASSETS = os.environ["KILN_ASSETS_DIR"]


def run_kiln(args, timeout=600, env=None, cwd=None):
    """Runs kiln with `args` (stdin closed; `env` replaces the environment when given; in
    `cwd` when given). Output bytes that are not UTF-8 (file names kiln prints as they are)
    read as U+FFFD."""
    return subprocess.run([KILN] + list(args), capture_output=True, text=True, errors="replace", timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL, cwd=cwd)


class Checks:
    def __init__(self):
        self.failures = []

    def check(self, label, ok, detail=""):
        print(f"[{'ok' if ok else 'FAIL'}] {label} {detail}")
        if not ok:
            self.failures.append(f"{label} {detail}")
        return ok

    def expect(self, ok, label, detail=None):
        """check() with the detail shown only on failure; `detail` may be a finished kiln
        process (its exit code and output are shown) or a string."""
        if ok or detail is None:
            return self.check(label, ok)
        if isinstance(detail, subprocess.CompletedProcess):
            detail = f"\n  rc={detail.returncode}\n  stdout={detail.stdout}\n  stderr={detail.stderr}"
        return self.check(label, ok, detail)

    def expect_error(self, label, args, must_mention, must_not_exist=None):
        """kiln `args` must fail cleanly: exit 2, exactly one stderr line (besides the
        progress of a long engine build) mentioning every string in `must_mention`, and
        `must_not_exist` (an output path) not written."""
        r = run_kiln(args, timeout=300)
        lines = [l for l in r.stderr.splitlines() if l.strip() and not PROGRESS_LINE.fullmatch(l)]
        problems = []
        if r.returncode != 2:
            problems.append(f"exit code {r.returncode}, want 2")
        if len(lines) != 1:
            problems.append(f"{len(lines)} stderr lines, want 1: {r.stderr!r}")
        problems += [f"stderr does not mention {w!r}" for w in must_mention if w not in r.stderr]
        if must_not_exist and os.path.exists(must_not_exist):
            problems.append(f"{must_not_exist} written despite the error")
        self.check(label, not problems, (lines[0] if lines else "(no stderr)") + "; ".join([""] + problems))

    def predict(self, model, source, out, extra=()):
        """kiln predict of assets/models/`model` on `source` with --json `out` (plus
        `extra` and $KILN_PREDICT_ARGS, e.g. "--device cuda --precision fp16" on the GPU
        machine); checks that it exits 0 and returns the parsed JSON ([] on failure)."""
        r = run_kiln(["predict", "--model", os.path.join(ASSETS, "models", model), "--source", source,
                      "--json", out, *extra, *os.environ.get("KILN_PREDICT_ARGS", "").split()])
        self.check(f"{model} on {os.path.basename(source)} exits 0", r.returncode == 0, r.stderr.strip())
        return json.load(open(out))["results"] if r.returncode == 0 else []

    def finish(self, success_message):
        if self.failures:
            print(f"{len(self.failures)} failure(s):\n  " + "\n  ".join(self.failures))
            sys.exit(1)
        print(success_message)
