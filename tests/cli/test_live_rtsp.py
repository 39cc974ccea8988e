"""kiln predict and kiln track on RTSP, the protocol cameras speak: FFmpeg publishes the
12-frame clip to rtsp_relay.py on 127.0.0.1, which plays it to kiln over TCP interleaved
from its first packet. The stream gives the detections (and tracks) of the same frames read
from the file; a publisher that stops mid-stream and comes back gives one reconnect and the
frames of both parts, then exit 2 with one line when it does not come back; a publisher that
stalls with its connection open keeps the frames it sent, printed once decoded (none held back
by the decoder's threads until the read times out), and ends the same way after --timeout; a port nobody serves, a path nobody publishes and a server that never answers are
one-line errors within the timeout."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from kiln_cli import KILN, Checks, run_kiln
from live_streams import (MODEL, check_dropped, check_predict, check_silent_server, check_track, detections, free_port,
                          make_clip, one_line_error, publish, reference_detections)
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

        # A publisher that stalls with its connection open, as a frozen camera does: after
        # --timeout 1 of silence the stream counts as dropped, the frames it sent are kept,
        # and with nothing to reconnect to kiln exits 2 saying so.
        part = os.path.join(tmp, "part.ts")
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", clip, "-c", "copy", "-frames:v", "5", part],
                       check=True)

        def publish_stalled():
            seen = relay.recorded
            publisher = subprocess.Popen(["ffmpeg", "-loglevel", "error", "-probesize", "32", "-analyzeduration", "0",
                                          "-f", "mpegts", "-i", "pipe:0", "-c", "copy", "-f", "rtsp", "-rtsp_transport",
                                          "tcp", url], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            publisher.stdin.write(open(part, "rb").read())
            publisher.stdin.flush()  # and kept open: FFmpeg sends what it has, then waits
            relay.wait_recording(seen + 1)
            return publisher

        stalled = publish_stalled()
        out = os.path.join(tmp, "stalled.json")
        t0 = time.time()
        r = run_kiln(["predict", *MODEL, "--source", url, "--timeout", "1", "--reconnect", "1", "--json", out],
                     timeout=60)
        elapsed = time.time() - t0
        stalled.kill()
        stalled.wait()
        last = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ""
        checks.check("stalled RTSP stream: exit 2 after --timeout 1, the last line says so",
                     r.returncode == 2 and "(no data for 1 s)" in last and "did not come back after 1" in last
                     and elapsed < 15, f"rc={r.returncode} {elapsed:.1f}s {last!r}")
        # The publisher sent 4 of the 5 frames (the 5th waits for the next to start); the
        # reader's parser holds the 4th the same way. The decoder's frame threads must give up
        # the 3 before them rather than lose them with the connection.
        got = detections(json.load(open(out))) if os.path.exists(out) else []
        checks.check("stalled RTSP stream: the 3 complete frames sent kept, equal to the file's", got == want[:3],
                     f"{len(got)} frames")

        # Latency: a live source's frames come out as they are decoded, not once later packets
        # push them through the decoder's frame threads. The stream's opening analysis waits
        # one --timeout for the second of stream it wants (4 frames are less), then frames
        # 1-3 are decoded and printed; the read that follows waits another --timeout before
        # the run ends. Held in frame threads, frames 2 and 3 would come out only then.
        stalled = publish_stalled()
        kiln = subprocess.Popen([KILN, "predict", *MODEL, "--source", url, "--timeout", "6",
                                 "--reconnect", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        printed = [time.time() for line in kiln.stdout if line.startswith("video ")]
        kiln.wait()
        ended = time.time()
        stalled.kill()
        stalled.wait()
        lags = [ended - t for t in printed]
        checks.check("stalled RTSP stream: each of the 3 frames printed >= 2 s before the read's 6 s timeout ends the run",
                     len(printed) == 3 and min(lags) >= 2, f"{len(printed)} lines, {[round(x, 1) for x in lags]} s before the end")

        dead = free_port()
        t0 = time.time()
        r = run_kiln(["predict", *MODEL, "--source", f"rtsp://127.0.0.1:{dead}/live"], timeout=60)
        one_line_error(checks, "RTSP port nobody serves: one line naming it, exit 2", r,
                       [f"rtsp://127.0.0.1:{dead}/live", "cannot open"], 15, time.time() - t0)
        t0 = time.time()
        r = run_kiln(["predict", *MODEL, "--source", url], timeout=60)
        one_line_error(checks, "RTSP path nobody publishes: one line with the server's 404, exit 2", r,
                       [url, "cannot open", "404"], 15, time.time() - t0)
        check_silent_server(checks, "RTSP server that never answers: an error after --timeout 1, exit 2",
                            lambda port: f"rtsp://127.0.0.1:{port}/live")
    finally:
        relay.close()
        shutil.rmtree(tmp, ignore_errors=True)
    checks.finish("RTSP: the file's detections and tracks, reconnect and one-line errors as expected")


if __name__ == "__main__":
    main()
