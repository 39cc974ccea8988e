"""What the live-source tests share: the 12-frame H.264 clip (no B-frames, so the first N
packets a server sends are the first N frames), FFmpeg serving it over HTTP or publishing it
over RTSP to rtsp_relay.py, and the checks every kind of stream must pass: the file's
detections and tracks, and a drop mid-stream with one reconnect."""
import json
import os
import socket
import subprocess
import time
from urllib.parse import urlsplit

from kiln_cli import ASSETS, KILN, run_kiln

# A dynamic-size model at 256 keeps every frame cheap on CI's two cores.
MODEL = ["--model", os.path.join(ASSETS, "models", "yolo11n-dynamic.onnx"), "--imgsz", "256"]
FRAMES = 12


def make_clip(folder):
    """The first FRAMES frames of an asset video as H.264 without B-frames in MPEG-TS."""
    clip = os.path.join(folder, "clip.ts")
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i",
                    os.path.join(ASSETS, "video", "person_walking_office_720p_6s.mp4"), "-frames:v", str(FRAMES), "-an",
                    "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-f", "mpegts", clip], check=True)
    return clip


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """True once something listens on 127.0.0.1:port (read from /proc, so the server's one
    client is not used up by the check)."""
    want = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as f:
        return any(line.split()[1] == want and line.split()[3] == "0A" for line in f.readlines()[1:])


def send(clip, output, frames=None, forever=False):
    """FFmpeg sending `clip` (its first `frames` packets; with `forever`, looped in real time)
    to `output` (FFmpeg's output options and URL) unchanged."""
    limit = ["-frames:v", str(frames)] if frames else []
    loop = ["-re", "-stream_loop", "-1"] if forever else []
    return subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error"] + loop + ["-i", clip, "-c", "copy"] + limit +
                            output, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def serve(clip, port, frames=None, forever=False):
    """FFmpeg sending `clip` as MPEG-TS over HTTP to the first client of
    http://127.0.0.1:port/live, then exiting; returns once it listens."""
    server = send(clip, ["-f", "mpegts", "-listen", "1", f"http://127.0.0.1:{port}/live"], frames, forever)
    deadline = time.time() + 10
    while not listening(port) and time.time() < deadline:
        time.sleep(0.05)
    return server


def publish(clip, relay, frames=None):
    """FFmpeg publishing `clip` over RTSP (TCP interleaved) to `relay` (an RtspRelay), which
    plays it to its next reader; returns once the relay records it."""
    seen = relay.recorded
    publisher = send(clip, ["-f", "rtsp", "-rtsp_transport", "tcp", relay.url], frames)
    relay.wait_recording(seen + 1)
    return publisher


def stop(server):
    if server.poll() is None:
        server.kill()
    server.wait()


def detections(doc, index=0):
    return [f["detections"] for f in doc["results"][index]["frames"]]


def one_line_error(checks, label, r, must_mention, within_s, elapsed):
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    checks.check(label, r.returncode == 2 and len(lines) == 1 and all(m in r.stderr for m in must_mention)
                 and elapsed < within_s, f"rc={r.returncode} {elapsed:.1f}s {r.stderr.strip()[:300]!r}")


def check_silent_server(checks, label, url_of_port):
    """A server that accepts the connection and never sends: one line after --timeout 1, exit 2."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        t0 = time.time()
        r = run_kiln(["predict", *MODEL, "--source", url_of_port(silent.getsockname()[1]), "--timeout", "1"],
                     timeout=60)
        one_line_error(checks, label, r, ["no data for 1 s"], 15, time.time() - t0)


def reference_detections(checks, clip, folder):
    """The clip's per-frame detections read from its file, or None when that fails."""
    out = os.path.join(folder, "file.json")
    r = run_kiln(["predict", *MODEL, "--source", clip, "--json", out])
    if not checks.check("the clip read from its file: exit 0", r.returncode == 0, r.stderr.strip()):
        return None
    want = detections(json.load(open(out)))
    checks.check(f"the file gives {FRAMES} frames, some with detections", len(want) == FRAMES and any(want),
                 str(len(want)))
    return want


def check_predict(checks, kind, url, start, want, folder):
    """kiln predict on the stream that `start()` serves at `url`: the file's detections."""
    server = start()
    out = os.path.join(folder, "live.json")
    r = run_kiln(["predict", *MODEL, "--source", url, "--max-frames", "8", "--json", out], timeout=60)
    stop(server)
    if checks.check(f"predict on an {kind} stream: exit 0", r.returncode == 0, r.stderr.strip()[-300:]):
        doc = json.load(open(out))
        checks.check(f"{kind} stream: detections of frames 1..8 equal the file's", detections(doc) == want[:8],
                     f"{len(detections(doc))} frames")
        checks.check(f"{kind} stream: lines number frames without a total", "(frame 8) " + url in r.stdout,
                     r.stdout[-200:])


def check_track(checks, kind, url, start, clip, folder):
    """kiln track on the stream that `start()` serves at `url`: the file's tracks."""
    server = start()
    live_lines, file_lines = os.path.join(folder, "live.jsonl"), os.path.join(folder, "file.jsonl")
    r = run_kiln(["track", *MODEL, "--source", url, "--max-frames", "6", "--json", live_lines], timeout=60)
    stop(server)
    r2 = run_kiln(["track", *MODEL, "--source", clip, "--max-frames", "6", "--json", file_lines])
    if checks.check(f"track on an {kind} stream and on the file: exit 0", r.returncode == 0 and r2.returncode == 0,
                    (r.stderr + r2.stderr).strip()[-300:]):
        got = [json.loads(l)["detections"] for l in open(live_lines)]
        ref = [json.loads(l)["detections"] for l in open(file_lines)]
        checks.check(f"track: the {kind} stream's tracks equal the file's, frame by frame",
                     got == ref and len(got) == 6, f"{len(got)} vs {len(ref)} frames")


def check_dropped(checks, kind, url, start, want, folder):
    """A server that stops after 5 frames and comes back for 4 more, then goes away
    (`start(frames)` serves that many at `url`): one reconnect, the frames of both parts,
    then exit 2 saying it did not come back."""
    out, save = os.path.join(folder, "dropped.json"), os.path.join(folder, "save")
    server = start(5)
    t0 = time.time()
    kiln = subprocess.Popen([KILN, "predict", *MODEL, "--source", url, "--reconnect", "2", "--json", out,
                             "--save", save],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    server.wait(timeout=30)
    server = start(4)
    stdout, stderr = kiln.communicate(timeout=60)
    stop(server)
    elapsed = time.time() - t0
    reconnects = [l for l in stderr.splitlines() if "reconnect: " in l]
    checks.check(f"dropped {kind} stream: the reconnect said once on stderr",
                 len(reconnects) == 1 and "after frame 5" in reconnects[0], stderr.strip()[-400:])
    checks.check(f"{kind} stream not back: exit 2, the last line says so",
                 kiln.returncode == 2 and "did not come back after 2" in stderr.strip().splitlines()[-1],
                 f"rc={kiln.returncode} {stderr.strip()[-300:]!r}")
    doc = json.load(open(out)) if os.path.exists(out) else {"results": [{"frames": []}]}
    checks.check(f"dropped {kind} stream: frames of both parts kept, equal to the file's",
                 detections(doc) == want[:5] + want[:4], f"{len(detections(doc))} frames")
    checks.check(f"dropped {kind} stream: a reconnect event in the JSON",
                 [e["event"] for e in doc.get("events", [])].count("reconnect") == 1
                 and len(doc["results"][0].get("reconnects", [])) == 1, str(doc.get("events")))
    saved = os.path.join(save, f"127.0.0.1_{urlsplit(url).port}_live.mp4")
    checks.check(f"dropped {kind} stream: the annotated video written", os.path.exists(saved),
                 str(os.listdir(save) if os.path.isdir(save) else "no folder"))
    checks.check(f"dropped {kind} stream: done within 20 s", elapsed < 20, f"{elapsed:.1f}s")
