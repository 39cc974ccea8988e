"""kiln build says what happened as predict and val do: a first-use build, a rebuild of a
damaged cached engine and an engine recorded for a GPU without plans (no GPU can plan it
here) each print one line on stderr and appear in --json's "events"; --verbose adds the
phases with their times, the tactics and the engine cache hit or miss; --quiet prints only
errors; piped builds print a progress line every KILN_PROGRESS_INTERVAL seconds; every
command's --quiet / --verbose has help text."""
import glob
import json
import os
import re
import shutil
import tempfile

from kiln_cli import ASSETS, PROGRESS_LINE, Checks, run_kiln

checks = Checks()
check = checks.check
OSNET = os.path.join(ASSETS, "models", "reid", "osnet_x0_25_msmt17.onnx")
# Builds long enough for several progress intervals (verifying runs it at 640 on the CPU).
YOLO = os.path.join(ASSETS, "models", "yolo11n.onnx")
H100 = {"gpus": [{"name": "Simulated H100", "compute_capability": "9.0", "memory_bytes": 85899345920}],
        "driver": "12.4", "cuda_runtime": "12.4", "cudnn": "9.1.0", "cublaslt": "12.4.5"}


def env_with(**extra):
    env = dict(os.environ)
    env.pop("KILN_ENV_OVERRIDE", None)
    env.pop("KILN_PROGRESS_INTERVAL", None)
    env.update(extra)
    return env


def build(args, **env):
    """kiln build `args` --json: (process, summary or {})."""
    r = run_kiln(["build", *args, "--json"], env=env_with(**env))
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        doc = {}
    return r, doc


def kinds(doc):
    return [e["event"] for e in doc.get("events", [])]


def stderr_lines(r, progress=False):
    """The stderr lines, without a long build's progress lines unless `progress`."""
    return [l for l in r.stderr.splitlines() if l.strip() and (progress or not PROGRESS_LINE.fullmatch(l))]


def option_help(text, flag):
    """The help of `flag` in CLI11's --help text (its line and the lines under it)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"\s*(-\w,)?" + flag + r"\b", line):
            block = [line]
            for more in lines[i + 1:]:
                if more.lstrip().startswith("-"):
                    break
                block.append(more.strip())
            return " ".join(block)
    return ""


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-build-output-")
    cache = os.path.join(tmp, "cache")
    try:
        r, doc = build([OSNET, "--cache-dir", cache])
        lines = stderr_lines(r)
        checks.expect(r.returncode == 0 and kinds(doc) == ["built"] and "first use" in doc["events"][0]["message"],
                      "first use: a 'built' event in the JSON, saying why", r)
        check("first use: one stderr line saying so", len(lines) == 1 and lines[0].startswith("kiln build: built: built engine"),
              str(lines))

        r, doc = build([OSNET, "--cache-dir", cache])
        checks.expect(r.returncode == 0 and doc.get("built") is False and kinds(doc) == [] and r.stderr == "",
                      "cached: no events, nothing on stderr", r)
        r, doc = build([OSNET, "--cache-dir", cache, "--verbose"])
        checks.expect(r.returncode == 0 and "engine cache hit: " + doc.get("engine", "?") in r.stderr,
                      "--verbose: the cache hit is said", r)

        engines = glob.glob(os.path.join(cache, "*.kiln"))
        if check("one engine in the cache", len(engines) == 1, str(engines)):
            data = open(engines[0], "rb").read()
            open(engines[0], "wb").write(data[: len(data) // 2])
            r, doc = build([OSNET, "--cache-dir", cache])
            checks.expect(r.returncode == 0 and kinds(doc) == ["rebuilt"] and "unreadable" in doc["events"][0]["message"],
                          "damaged cached engine: a 'rebuilt' event saying why", r)
            check("rebuilt: one stderr line", len(stderr_lines(r)) == 1 and "kiln build: rebuilt: " in r.stderr, r.stderr)

        # --verbose on a first use: the miss, each phase with its time, their durations, tactics.
        r = run_kiln(["build", OSNET, "--cache-dir", os.path.join(tmp, "verbose"), "--verbose"], env=env_with())
        err = r.stderr
        phases = re.search(r"build phases: importing ([0-9.]+) s, optimizing ([0-9.]+) s, verifying ([0-9.]+) s, "
                           r"writing ([0-9.]+) s \(([0-9.]+) s in all\)", err)
        checks.expect(r.returncode == 0 and "engine cache miss" in err and re.search(r"importing \S+ \(at 0\.\d\d s\)", err)
                      and re.search(r"optimizing \(at [0-9.]+ s\)", err), "--verbose: the miss and each phase as it starts", r)
        if checks.expect(phases is not None, "--verbose: the phases' durations", err):
            parts = [float(x) for x in phases.groups()]
            # Each of the five figures is rounded to 0.01 s: the four parts and the whole may
            # part by up to 5 x 0.005 s (seen: 0.01 + 0.01 + 0.07 + 0.01 against 0.08).
            check("phase durations add up to the whole", abs(sum(parts[:4]) - parts[4]) <= 0.025 + 1e-9 and parts[2] > 0,
                  str(parts))
        checks.expect("tactics: none to choose (CPU engine" in err, "--verbose: tactics (a CPU engine has none to choose)", err)

        # --quiet: only errors.
        r = run_kiln(["build", OSNET, "--cache-dir", os.path.join(tmp, "quiet"), "--quiet"], env=env_with())
        checks.expect(r.returncode == 0 and r.stderr == "" and "engine" in r.stdout, "--quiet: summary only, no notes", r)
        r = run_kiln(["build", os.path.join(tmp, "missing.onnx"), "--quiet"], env=env_with())
        checks.expect(r.returncode == 2 and len(stderr_lines(r)) == 1 and "missing.onnx" in r.stderr,
                      "--quiet: errors are still printed", r)

        # An engine for a (simulated) GPU that cannot be planned here: a fallback event.
        env_file = os.path.join(tmp, "h100.json")
        json.dump(H100, open(env_file, "w"))
        r, doc = build([OSNET, "-o", os.path.join(tmp, "gpu.kiln"), "--device", "cuda:0"], KILN_ENV_OVERRIDE=env_file)
        fallback = [e["message"] for e in doc.get("events", []) if e["event"] == "fallback"]
        checks.expect(r.returncode == 0 and kinds(doc) == ["built", "fallback"] and "not verified" in fallback[0],
                      "no GPU to plan a cuda:0 engine: a 'fallback' event saying it is not verified", r)
        checks.expect("kiln build: fallback: " in r.stderr, "fallback: said on stderr too", r.stderr)

        # Piped: a progress line every KILN_PROGRESS_INTERVAL seconds while the build runs.
        r = run_kiln(["build", YOLO, "-o", os.path.join(tmp, "y.kiln")], env=env_with(KILN_PROGRESS_INTERVAL="0.05"))
        ticks = [l for l in stderr_lines(r, progress=True) if PROGRESS_LINE.fullmatch(l)]
        checks.expect(r.returncode == 0 and len(ticks) >= 2, "piped build: periodic progress lines", r)
        times = [float(re.search(r"at (\d+\.\d\d) s", l).group(1)) for l in ticks]
        checks.expect(all(b - a >= 0.04 for a, b in zip(times, times[1:])), "progress lines about one interval apart",
                      str(times))
        r = run_kiln(["build", OSNET, "-o", os.path.join(tmp, "o.kiln")], env=env_with())
        checks.expect(r.returncode == 0 and not [l for l in stderr_lines(r, progress=True) if PROGRESS_LINE.fullmatch(l)],
                      "piped build shorter than the default interval: no progress lines", r)

        # --quiet / --verbose have help text everywhere they exist.
        for cmd in ("predict", "val", "run", "track", "build", "rebuild"):
            r = run_kiln([cmd, "--help"])
            quiet, verbose = option_help(r.stdout, "--quiet"), option_help(r.stdout, "--verbose")
            check(f"{cmd} --help: --quiet and --verbose explained",
                  r.returncode == 0 and "only results and errors" in quiet and "phases" in verbose, f"{quiet!r} {verbose!r}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("kiln build says built / rebuilt / fallback in --json and on stderr; --verbose, --quiet and piped progress")


if __name__ == "__main__":
    main()
