"""kiln predict and kiln track on live sources served by FFmpeg on 127.0.0.1 in the test: an
HTTP stream gives the detections (and tracks) of the same frames read from the file; a
server that stops mid-stream and comes back gives a reconnect event and the frames of both
parts, and when it does not come back the results are written and kiln exits 2 with one
line; a URL nobody serves and a server that never sends are one-line errors within the
timeout; a .streams list of a URL and a file gives results for both; a missing camera is a
clear error. The stream is a 12-frame H.264 clip without B-frames, so the first N packets
a server sends are the first N frames."""
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from kiln_cli import ASSETS, Checks, run_kiln

checks = Checks()
check = checks.check
# A dynamic-size model at 256 keeps every frame cheap on CI's two cores.
MODEL = ["--model", os.path.join(ASSETS, "models", "yolo11n-dynamic.onnx"), "--imgsz", "256"]
CLIP = os.path.join(ASSETS, "video", "person_walking_office_720p_6s.mp4")
FRAMES = 12


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


def serve(clip, port, frames=None, forever=False):
    """FFmpeg sending `clip` (its first `frames` packets; with `forever`, looped in real time)
    as MPEG-TS over HTTP to the first client of http://127.0.0.1:port/live, then exiting;
    returns once it listens."""
    limit = ["-frames:v", str(frames)] if frames else []
    loop = ["-re", "-stream_loop", "-1"] if forever else []
    server = subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error"] + loop + ["-i", clip, "-c", "copy"] + limit +
                              ["-f", "mpegts", "-listen", "1", f"http://127.0.0.1:{port}/live"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while not listening(port) and time.time() < deadline:
        time.sleep(0.05)
    return server


def stop(server):
    if server.poll() is None:
        server.kill()
    server.wait()


def detections(doc, index=0):
    return [f["detections"] for f in doc["results"][index]["frames"]]


def one_line_error(label, r, must_mention, within_s, elapsed):
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(label, r.returncode == 2 and len(lines) == 1 and all(m in r.stderr for m in must_mention) and elapsed < within_s,
          f"rc={r.returncode} {elapsed:.1f}s {r.stderr.strip()[:300]!r}")


def main():
    if not shutil.which("ffmpeg"):
        print("SKIP: no ffmpeg binary to serve streams (scripts/setup.sh installs it)")
        sys.exit(0)
    tmp = tempfile.mkdtemp(prefix="kiln-live-")
    try:
        clip = os.path.join(tmp, "clip.ts")
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", CLIP, "-frames:v", str(FRAMES), "-an",
                        "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-f", "mpegts", clip], check=True)
        ref_json = os.path.join(tmp, "file.json")
        r = run_kiln(["predict", *MODEL, "--source", clip, "--json", ref_json])
        if not check("the clip read from its file: exit 0", r.returncode == 0, r.stderr.strip()):
            return
        want = detections(json.load(open(ref_json)))
        check(f"the file gives {FRAMES} frames, some with detections", len(want) == FRAMES and any(want), str(len(want)))

        # One HTTP stream: the same detections as the file's frames.
        port = free_port()
        url = f"http://127.0.0.1:{port}/live"
        server = serve(clip, port)
        out = os.path.join(tmp, "live.json")
        r = run_kiln(["predict", *MODEL, "--source", url, "--max-frames", "8", "--json", out], timeout=60)
        stop(server)
        if check("predict on an HTTP stream: exit 0", r.returncode == 0, r.stderr.strip()[-300:]):
            doc = json.load(open(out))
            check("HTTP stream: detections of frames 1..8 equal the file's", detections(doc) == want[:8],
                  f"{len(detections(doc))} frames")
            check("HTTP stream: lines number frames without a total", "(frame 8) " + url in r.stdout, r.stdout[-200:])

        # kiln track on the stream: the same tracks as on the file.
        server = serve(clip, port)
        live_lines, file_lines = os.path.join(tmp, "live.jsonl"), os.path.join(tmp, "file.jsonl")
        r = run_kiln(["track", *MODEL, "--source", url, "--max-frames", "6", "--json", live_lines], timeout=60)
        stop(server)
        r2 = run_kiln(["track", *MODEL, "--source", clip, "--max-frames", "6", "--json", file_lines])
        if check("track on an HTTP stream and on the file: exit 0", r.returncode == 0 and r2.returncode == 0,
                 (r.stderr + r2.stderr).strip()[-300:]):
            got = [json.loads(l)["detections"] for l in open(live_lines)]
            ref = [json.loads(l)["detections"] for l in open(file_lines)]
            check("track: the stream's tracks equal the file's, frame by frame", got == ref and len(got) == 6,
                  f"{len(got)} vs {len(ref)} frames")

        # A server that stops after 5 frames and comes back for 4 more, then goes away.
        server = serve(clip, port, frames=5)
        save = os.path.join(tmp, "save")
        t0 = time.time()
        kiln = subprocess.Popen([os.environ["KILN_BIN"], "predict", *MODEL, "--source", url, "--reconnect", "2",
                                 "--json", out, "--save", save], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, stdin=subprocess.DEVNULL)
        server.wait(timeout=30)
        server = serve(clip, port, frames=4)
        stdout, stderr = kiln.communicate(timeout=60)
        stop(server)
        elapsed = time.time() - t0
        reconnects = [l for l in stderr.splitlines() if "reconnect: " in l]
        check("dropped stream: the reconnect said once on stderr", len(reconnects) == 1 and "after frame 5" in reconnects[0],
              stderr.strip()[-400:])
        check("stream not back: exit 2, the last line says so", kiln.returncode == 2 and "did not come back after 2" in
              stderr.strip().splitlines()[-1], f"rc={kiln.returncode} {stderr.strip()[-300:]!r}")
        doc = json.load(open(out)) if os.path.exists(out) else {"results": [{"frames": []}]}
        check("dropped stream: frames of both parts kept, equal to the file's",
              detections(doc) == want[:5] + want[:4], f"{len(detections(doc))} frames")
        check("dropped stream: a reconnect event in the JSON",
              [e["event"] for e in doc.get("events", [])].count("reconnect") == 1
              and len(doc["results"][0].get("reconnects", [])) == 1, str(doc.get("events")))
        saved = os.path.join(save, f"127.0.0.1_{port}_live.mp4")
        check("dropped stream: the annotated video written", os.path.exists(saved), str(os.listdir(save)))
        check("dropped stream: done within 20 s", elapsed < 20, f"{elapsed:.1f}s")

        # A stream that never ends, stopped with Ctrl-C: what was done is written, exit 0.
        server = serve(clip, port, forever=True)
        kiln = subprocess.Popen([os.environ["KILN_BIN"], "predict", *MODEL, "--source", url, "--json", out],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline and kiln.poll() is None:  # until it has predicted 3 frames
            if select.select([kiln.stdout], [], [], 1)[0] and "(frame 3)" in kiln.stdout.readline():
                break
        kiln.send_signal(signal.SIGINT)
        stdout, stderr = kiln.communicate(timeout=30)
        stop(server)
        doc = json.load(open(out)) if kiln.returncode == 0 and os.path.exists(out) else {"results": [{"frames": []}]}
        n = len(detections(doc))
        check("Ctrl-C on an endless stream: exit 0, frames written, said once",
              kiln.returncode == 0 and n > 0 and stderr.count("stopped by Ctrl-C") == 1
              and detections(doc) == (want * (n // FRAMES + 1))[:n], f"rc={kiln.returncode} {n} frames {stderr[-300:]!r}")

        # Nobody serving, and a server that accepts but never sends.
        dead = free_port()
        t0 = time.time()
        r = run_kiln(["predict", *MODEL, "--source", f"http://127.0.0.1:{dead}/live"], timeout=60)
        one_line_error("URL nobody serves: one line naming it, exit 2", r, [f"127.0.0.1:{dead}", "cannot open"], 15,
                       time.time() - t0)
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(1)
            t0 = time.time()
            r = run_kiln(["predict", *MODEL, "--source", f"tcp://127.0.0.1:{silent.getsockname()[1]}",
                          "--timeout", "1"], timeout=60)
            one_line_error("silent server: an error after --timeout 1, exit 2", r, ["no data for 1 s"], 15, time.time() - t0)

        # A .streams list: a URL and a file, each with its results.
        server = serve(clip, port)
        streams = os.path.join(tmp, "two.streams")
        with open(streams, "w") as f:
            f.write(f"# a camera and a recording\n{url}\n\n  clip.ts  \n")
        r = run_kiln(["predict", *MODEL, "--source", streams, "--max-frames", "3", "--json", out], timeout=60)
        stop(server)
        if check(".streams of a URL and a file: exit 0", r.returncode == 0, r.stderr.strip()[-300:]):
            doc = json.load(open(out))
            names = [v["video"] for v in doc["results"]]
            check(".streams: results of both, equal to the file's", names == [url, "clip.ts"] and
                  detections(doc, 0) == want[:3] and detections(doc, 1) == want[:3], str(names))

        checks.expect_error("missing camera /dev/video9", ["predict", *MODEL, "--source", "/dev/video9"],
                            ["/dev/video9", "no such camera"])
        checks.expect_error("camera 9 is /dev/video9", ["predict", *MODEL, "--source", "9"], ["/dev/video9"])
        checks.expect_error("a protocol FFmpeg lacks", ["predict", *MODEL, "--source", "nosuch://x/y"],
                            ["nosuch://", "cannot open"])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("live sources: HTTP stream, reconnect, timeouts, .streams and cameras as expected")


if __name__ == "__main__":
    main()
