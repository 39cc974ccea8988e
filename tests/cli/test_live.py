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
import subprocess
import sys
import tempfile
import time

from kiln_cli import KILN, Checks, run_kiln
from live_streams import (FRAMES, MODEL, check_dropped, check_predict, check_silent_server, check_track, detections,
                          free_port, make_clip, one_line_error, reference_detections, serve, stop)

checks = Checks()
check = checks.check


def main():
    if not shutil.which("ffmpeg"):
        print("SKIP: no ffmpeg binary to serve streams (scripts/setup.sh installs it)")
        sys.exit(0)
    tmp = tempfile.mkdtemp(prefix="kiln-live-")
    try:
        clip = make_clip(tmp)
        want = reference_detections(checks, clip, tmp)
        if want is None:
            return
        port = free_port()
        url = f"http://127.0.0.1:{port}/live"
        out = os.path.join(tmp, "live.json")
        check_predict(checks, "HTTP", url, lambda: serve(clip, port), want, tmp)
        check_track(checks, "HTTP", url, lambda: serve(clip, port), clip, tmp)
        check_dropped(checks, "HTTP", url, lambda frames: serve(clip, port, frames), want, tmp)

        # A stream that never ends, stopped with Ctrl-C: what was done is written, exit 0.
        server = serve(clip, port, forever=True)
        kiln = subprocess.Popen([KILN, "predict", *MODEL, "--source", url, "--json", out],
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
        one_line_error(checks, "URL nobody serves: one line naming it, exit 2", r, [f"127.0.0.1:{dead}", "cannot open"],
                       15, time.time() - t0)
        check_silent_server(checks, "silent server: an error after --timeout 1, exit 2",
                            lambda port: f"tcp://127.0.0.1:{port}")

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
