"""bench/new_sizes.py: the gaps before new and seen letterbox sizes from time-stamped lines
(hand-made cases), and a real `kiln predict` of the dynamic model on the CPU run through it:
every result counted (kiln's JSON), one gap per image after the first, split by the sizes
kiln's lines give; kiln's exit code passed on, a missing program one line and exit 2."""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

from kiln_cli import ASSETS, Checks

checks = Checks()
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../bench/new_sizes.py")
spec = importlib.util.spec_from_file_location("new_sizes", SCRIPT)
new_sizes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(new_sizes)

# Hand-made: three sizes, the first image left out, a non-result line ignored.
lines = [(10.0, "image 1/5 a.jpg: 64x48 1 person, 3.0ms\n"), (10.1, "image 2/5 b.jpg: 64x48 no detections, 2.0ms\n"),
         (10.2, "kiln predict: a note\n"), (10.35, "image 3/5 c.jpg: 48x64 1 dog, 2.0ms\n"),
         (10.4, "image 4/5 d.jpg: 48x64 1 dog, 2.0ms\n"), (11.4, "image 5/5 e.jpg: 64x64 1 cat, 2.0ms\n")]
new, seen, sizes, results = new_sizes.gaps(lines)
checks.check("gaps: results and sizes counted", results == 5 and sizes == {"64x48", "48x64", "64x64"}, f"{results} {sizes}")
checks.check("gaps: before new sizes 250 and 1000 ms", [round(g) for g in new] == [250, 1000], str(new))
checks.check("gaps: before seen sizes 100 and 50 ms", [round(g) for g in seen] == [100, 50], str(seen))
checks.check("summary of none says so", new_sizes.summary([]) == {"count": 0})

MODEL = os.path.join(ASSETS, "models", "yolo11n-dynamic.onnx")
IMAGES = os.path.join(ASSETS, "images")
if not (os.path.exists(MODEL) and os.path.isdir(IMAGES)):
    print(f"SKIP the kiln predict run: {MODEL} or {IMAGES} is missing")
else:
    with tempfile.TemporaryDirectory() as tmp:
        out, preds = os.path.join(tmp, "sizes.json"), os.path.join(tmp, "p.json")
        kiln = [os.environ["KILN_BIN"], "predict", "--model", MODEL, "--source", IMAGES, "--imgsz", "96",
                "--cache-dir", os.path.join(tmp, "cache"), "--json", preds]
        r = subprocess.run([sys.executable, SCRIPT, "--json", out, "--", *kiln], capture_output=True, text=True,
                           timeout=300, stdin=subprocess.DEVNULL)
        checks.expect(r.returncode == 0, "new_sizes.py over kiln predict exits 0", r.stdout + r.stderr)
        figures = json.load(open(out)) if os.path.exists(out) else {}
        results = json.load(open(preds))["results"] if os.path.exists(preds) else []
        shapes = [l.split(": ", 1)[1].split()[0] for l in r.stdout.splitlines() if l.startswith("image ")]
        n_images = len([f for f in os.listdir(IMAGES) if f.lower().endswith((".jpg", ".jpeg", ".png", ".bmp"))])
        distinct = len(set(shapes))
        checks.check("every image's result counted", figures.get("results") == n_images == len(shapes) == len(results),
                     f"{figures.get('results')} of {n_images}")
        checks.check("sizes as kiln's lines give them", figures.get("sizes") == distinct > 1, f"{figures} {shapes}")
        checks.check("one gap per image after the first, split by new and seen sizes",
                     figures.get("new_size", {}).get("count") == distinct - 1
                     and figures.get("seen_size", {}).get("count") == n_images - distinct, str(figures))
        checks.check("kiln's lines pass through", r.stdout.count("image ") >= n_images, r.stdout[-300:])

    r = subprocess.run([sys.executable, SCRIPT, "--", os.environ["KILN_BIN"], "predict", "--model", MODEL, "--source",
                        "/nonexistent/images"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    checks.check("kiln's exit code passed on", r.returncode == 2, f"rc {r.returncode}")

r = subprocess.run([sys.executable, SCRIPT, "--", "/nonexistent/kiln", "predict"], capture_output=True, text=True,
                   timeout=60, stdin=subprocess.DEVNULL)
checks.check("a missing program: one line, exit 2",
             r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "/nonexistent/kiln" in r.stderr,
             f"rc {r.returncode}: {r.stderr}")
checks.finish("new_sizes.py: all checks passed")
