"""Where videos are decoded and --strict-gpu: --strict-gpu with --device cpu is refused by
predict, track and pipeline (one line, exit 2); a model that falls back to the CPU decodes
its video on the CPU without a second note. With a GPU (the CUDA build on the GPU
machine): the assets' H.264 video is decoded by NVDEC ("decoder": "nvdec" in the JSON,
no fallback line), a 4:4:4 video NVDEC cannot take is decoded on the CPU with one line
"kiln predict: fallback: video decoded on the CPU: ..." and the same event in --json, and
--strict-gpu refuses that video (exit 2); NVDEC giving up mid-stream (4:2:0 then 4:4:4 H.264)
hands the rest of the stream to the CPU decoder with one line, every frame predicted."""
import json
import os
import shutil
import subprocess
import tempfile

from kiln_cli import ASSETS, Checks, run_kiln

checks = Checks()
MODEL = os.path.join(ASSETS, "models", "yolo11n.onnx")
CLIP = os.path.join(ASSETS, "video", "person_walking_office_720p_6s.mp4")


def lines_with(text, word):
    return [l for l in text.splitlines() if word in l]


def mixed_clips(tmp, ffmpeg):
    """(head, tail, mixed): an H.264 4:2:0 part, a 4:4:4 part, and the two one after the other
    in one MPEG-TS stream (made beforehand into KILN_MIXED_VIDEO_DIR where no ffmpeg binary is)."""
    folder = os.environ.get("KILN_MIXED_VIDEO_DIR", "")
    if not folder and ffmpeg:
        folder = tmp
        for name, start, pix in (("head", "0", "yuv420p"), ("tail", "1", "yuv444p")):
            subprocess.run([ffmpeg, "-v", "error", "-y", "-ss", start, "-i", CLIP, "-frames:v", "12", "-vf",
                            "scale=640:360", "-c:v", "libx264", "-bf", "0", "-pix_fmt", pix,
                            os.path.join(folder, name + ".ts")], check=True)
        with open(os.path.join(folder, "mixed.ts"), "wb") as out:
            for name in ("head", "tail"):
                out.write(open(os.path.join(folder, name + ".ts"), "rb").read())
    return [os.path.join(folder, n + ".ts") for n in ("head", "tail", "mixed")] if folder else None


def check_nvdec_gives_up(tmp, cache, ffmpeg):
    """NVDEC decodes the 4:2:0 part and gives up at the 4:4:4 one: the CPU decodes the rest,
    said in one line, every frame predicted as when each part runs alone."""
    clips = mixed_clips(tmp, ffmpeg)
    if not clips:
        print("skip: NVDEC giving up mid-stream needs the ffmpeg binary (or KILN_MIXED_VIDEO_DIR) for its video")
        return
    out = os.path.join(tmp, "mixed.json")

    def run(clip, extra=()):
        r = run_kiln(["predict", "--model", MODEL, "--source", clip, "--cache-dir", cache, "--json", out,
                      "--device", "cuda", "--precision", "fp16", *extra])
        doc = json.load(open(out)) if r.returncode == 0 else {}
        frames = [[(d["class_id"], round(d["confidence"], 3)) for d in f.get("detections", [])]
                  for f in doc.get("results", [{}])[0].get("frames", [])]
        return r, frames

    _, head = run(clips[0])
    _, tail = run(clips[1])
    r, mixed = run(clips[2])
    lines = lines_with(r.stderr, "kiln predict: fallback: video decoded on the CPU: NVDEC gave up on the stream at frame ")
    checks.expect(r.returncode == 0 and len(lines) == 1 and f"at frame {len(head) + 1} " in lines[0],
                  f"GPU: NVDEC gives up at frame {len(head) + 1} of the mixed stream, said in one line", r)
    checks.check("GPU: every frame of the mixed stream predicted, as each part alone",
                 len(head) == 12 and len(tail) == 12 and mixed == head + tail,
                 f"{len(mixed)} frames (head {len(head)}, tail {len(tail)})")
    # FP16 as above: the engine is in the cache, so the error is the only line.
    checks.expect_error("GPU: --strict-gpu: NVDEC giving up is an error", ["predict", "--model", MODEL, "--source",
                        clips[2], "--cache-dir", cache, "--device", "cuda", "--precision", "fp16", "--strict-gpu"],
                        ["NVDEC refused"])


def main():
    tmp = tempfile.mkdtemp(prefix="kiln-strict-")
    try:
        cache = os.path.join(tmp, "cache")
        for cmd in (["predict", "--model", MODEL, "--source", CLIP],
                    ["track", "--model", MODEL, "--source", CLIP],
                    ["pipeline", "people", "--config", os.path.join(tmp, "kiln.yaml"), "--source", CLIP]):
            checks.expect_error(f"{cmd[0]} --strict-gpu --device cpu: refused", cmd + ["--device", "cpu", "--strict-gpu"],
                                ["--strict-gpu", "--device cpu"])

        env = json.loads(run_kiln(["env", "--json"]).stdout or "{}")
        out = os.path.join(tmp, "v.json")
        args = ["predict", "--model", MODEL, "--source", CLIP, "--max-frames", "2", "--cache-dir", cache, "--json", out]
        if not env.get("gpus"):
            r = run_kiln(args + ["--device", "cuda"])
            events = [e["message"] for e in json.load(open(out))["events"] if e["event"] == "fallback"] \
                if r.returncode == 0 else []
            checks.expect(r.returncode == 0 and len(lines_with(r.stderr, "fallback")) == 1
                          and not lines_with(r.stderr, "video decoded on the CPU"),
                          "no GPU: the model's fallback only (its video is not a GPU fallback)", r)
            checks.check("no GPU: one fallback event, the model's", len(events) == 1 and "CPU" in events[0], str(events))
            print("skip: NVDEC decoding and its fallback need a GPU (this machine has none)")
        else:
            r = run_kiln(args + ["--device", "cuda", "--precision", "fp16"])
            doc = json.load(open(out)) if r.returncode == 0 else {}
            decoder = doc.get("results", [{}])[0].get("decoder")
            checks.expect(r.returncode == 0 and decoder == "nvdec" and not lines_with(r.stderr, "fallback"),
                          f"GPU: H.264 decoded by NVDEC (decoder {decoder}), no fallback line", r)
            ffmpeg = shutil.which("ffmpeg")
            yuv444 = os.environ.get("KILN_YUV444_VIDEO", "")  # made beforehand where no ffmpeg binary is
            if ffmpeg and not yuv444:
                yuv444 = os.path.join(tmp, "yuv444.mp4")
                subprocess.run([ffmpeg, "-v", "error", "-y", "-i", CLIP, "-frames:v", "3", "-c:v", "libx264",
                                "-pix_fmt", "yuv444p", yuv444], check=True)
            if not yuv444:
                print("skip: the 4:4:4 fallback case needs the ffmpeg binary (or KILN_YUV444_VIDEO) for its video")
            else:
                a = ["predict", "--model", MODEL, "--source", yuv444, "--cache-dir", cache, "--json", out,
                     "--device", "cuda", "--precision", "fp16"]
                r = run_kiln(a)
                lines = lines_with(r.stderr, "kiln predict: fallback: video decoded on the CPU: ")
                doc = json.load(open(out)) if r.returncode == 0 else {}
                events = [e for e in doc.get("events", []) if e.get("event") == "fallback"]
                checks.expect(r.returncode == 0 and len(lines) == 1 and "yuv444p" in lines[0],
                              "GPU: a 4:4:4 video decoded on the CPU, said in one line", r)
                checks.check("GPU: the fallback in the JSON events",
                             len(events) == 1 and events[0]["message"].startswith("video decoded on the CPU: "), str(events))
                checks.expect_error("GPU: --strict-gpu refuses the CPU decoder", a + ["--strict-gpu"],
                                    ["--strict-gpu", "decoded on the CPU", "yuv444p"])
            check_nvdec_gives_up(tmp, cache, ffmpeg)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("--strict-gpu and where videos are decoded behave as documented")


if __name__ == "__main__":
    main()
