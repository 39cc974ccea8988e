"""kiln predict and kiln track on RTSP, the protocol cameras speak: FFmpeg publishes the
12-frame clip to rtsp_relay.py on 127.0.0.1, which plays it to kiln over TCP interleaved
from its first packet. The stream gives the detections (and tracks) of the same frames read
from the file; a publisher that stops mid-stream and comes back gives one reconnect and the
frames of both parts, then exit 2 with one line when it does not come back; a port nobody
serves, a path nobody publishes and a server that never answers are one-line errors within
the timeout."""
import shutil
import socket
import sys
import tempfile
import time

from kiln_cli import Checks, run_kiln
from live_streams import (MODEL, check_dropped, check_predict, check_track, free_port, make_clip, one_line_error,
                          publish, reference_detections)
from rtsp_relay import RtspRelay

checks = Checks()


def main():
    if not shutil.which("ffmpeg"):
        print("SKIP: no ffmpeg binary to publish streams (scripts/setup.sh installs it)")
        sys.exit(0)
    tmp = tempfile.mkdtemp(prefix="kiln-rtsp-")
    relay = RtspRelay()
    try:
        clip = make_clip(tmp)
        want = reference_detections(checks, clip, tmp)
        if want is None:
            return
        url = relay.url
        check_predict(checks, "RTSP", url, lambda: publish(clip, relay), want, tmp)
        check_track(checks, "RTSP", url, lambda: publish(clip, relay), clip, tmp)
        check_dropped(checks, "RTSP", url, lambda frames: publish(clip, relay, frames), want, tmp)

        dead = free_port()
        t0 = time.time()
        r = run_kiln(["predict", *MODEL, "--source", f"rtsp://127.0.0.1:{dead}/live"], timeout=60)
        one_line_error(checks, "RTSP port nobody serves: one line naming it, exit 2", r,
                       [f"rtsp://127.0.0.1:{dead}/live", "cannot open"], 15, time.time() - t0)
        t0 = time.time()
        r = run_kiln(["predict", *MODEL, "--source", url], timeout=60)
        one_line_error(checks, "RTSP path nobody publishes: one line with the server's 404, exit 2", r,
                       [url, "cannot open", "404"], 15, time.time() - t0)
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(1)
            t0 = time.time()
            r = run_kiln(["predict", *MODEL, "--source", f"rtsp://127.0.0.1:{silent.getsockname()[1]}/live",
                          "--timeout", "1"], timeout=60)
            one_line_error(checks, "RTSP server that never answers: an error after --timeout 1, exit 2", r,
                           ["no data for 1 s"], 15, time.time() - t0)
    finally:
        relay.close()
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("RTSP: the file's detections and tracks, reconnect and one-line errors as expected")


if __name__ == "__main__":
    main()
