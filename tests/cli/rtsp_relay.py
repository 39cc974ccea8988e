"""A tiny RTSP server on 127.0.0.1 for the live-source tests. FFmpeg can publish RTSP
(ANNOUNCE + RECORD) but cannot serve it to a pulling client, so this relay sits between:
publishers (`ffmpeg ... -f rtsp -rtsp_transport tcp rtsp://127.0.0.1:PORT/live`) announce
an SDP and send RTP/RTCP interleaved on their TCP connection; readers (FFmpeg's RTSP
demuxer) DESCRIBE, SETUP and PLAY and get those packets, TCP-interleaved only.

Each publication is played once, to the first reader that DESCRIBEs its path, from its first
packet, like FFmpeg's one-client HTTP server (`-listen 1`): a reader gets the same frames as
the file whenever it connects, its connection closes when the publisher's does, and a reader
that comes back after that gets the next publication, or 404 when there is none.
RTP timestamps, sequence numbers and RTCP are forwarded as they are.

Run alone for a manual check: python3 rtsp_relay.py PORT"""
import socket
import sys
import threading
from urllib.parse import urlsplit


class Publication:
    """One publisher's SDP and every packet it sent, in order, as (channel, payload)."""

    def __init__(self, path, sdp):
        self.path, self.sdp = path, sdp
        self.channels = {}  # publisher's interleaved channel -> (track control, 0 for RTP / 1 for RTCP)
        self.packets = []
        self.ended = False
        self.changed = threading.Condition()

    def add(self, channel, payload):
        with self.changed:
            self.packets.append((channel, payload))
            self.changed.notify_all()

    def end(self):
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def packet(self, index):
        """The packet at `index`, waiting for the publisher to send it; None once it has ended."""
        with self.changed:
            self.changed.wait_for(lambda: index < len(self.packets) or self.ended)
            return self.packets[index] if index < len(self.packets) else None


class RtspRelay:
    def __init__(self, port=0):
        self.listener = socket.create_server(("127.0.0.1", port))
        self.port = self.listener.getsockname()[1]
        self.url = f"rtsp://127.0.0.1:{self.port}/live"
        self.waiting = []  # publications recording, not yet given to a reader
        self.recorded = 0  # publications that ever started recording
        self.changed = threading.Condition()
        threading.Thread(target=self._accept, daemon=True).start()

    def wait_recording(self, count, timeout=10):
        """True once `count` publications have started recording since the relay started."""
        with self.changed:
            return self.changed.wait_for(lambda: self.recorded >= count, timeout)

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=Session(self, conn).run, daemon=True).start()

    def _recording(self, publication):
        with self.changed:
            self.waiting.append(publication)
            self.recorded += 1
            self.changed.notify_all()

    def _take(self, path):
        with self.changed:
            match = next((p for p in self.waiting if p.path == path), None)
            if match:
                self.waiting.remove(match)
            return match


def interleaved(transport):
    """The first channel of `interleaved=a-b` in a Transport header, or None (UDP)."""
    for part in transport.split(";"):
        if part.startswith("interleaved="):
            return int(part.split("=")[1].split("-")[0])
    return None


class Session:
    """One TCP connection: a publisher's (ANNOUNCE ... RECORD) or a reader's (DESCRIBE ... PLAY)."""

    def __init__(self, relay, conn):
        self.relay, self.conn = relay, conn
        self.stream = conn.makefile("rb")
        self.sending = threading.Lock()  # replies and forwarded packets share the socket
        self.publication = None
        self.is_publisher = False
        self.reader_channels = {}  # track control -> the reader's first interleaved channel

    def run(self):
        try:
            while (message := self.read()) is not None:
                if message[0] == "$":
                    if self.is_publisher:
                        self.publication.add(message[1], message[2])
                    continue  # a reader's RTCP receiver reports
                if not self.answer(*message):
                    break
        except (OSError, ValueError):  # the peer went away mid-message
            pass
        finally:
            if self.is_publisher:
                self.publication.end()
            self.conn.close()

    def read(self):
        """('$', channel, payload), (method, url, headers, body), or None at the end."""
        first = self.stream.read(1)
        if not first:
            return None
        if first == b"$":
            head = self.stream.read(3)
            return "$", head[0], self.stream.read(int.from_bytes(head[1:], "big"))
        method, url = (first + self.stream.readline()).decode().split()[:2]
        headers = {}
        while (line := self.stream.readline().decode().strip()):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self.stream.read(int(headers.get("content-length", 0)))
        return method, url, headers, body

    def send(self, data):
        with self.sending:
            self.conn.sendall(data)

    def reply(self, headers, status="200 OK", extra=(), body=b""):
        lines = [f"RTSP/1.0 {status}", f"CSeq: {headers.get('cseq', 0)}", "Session: 1", *extra]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def answer(self, method, url, headers, body):
        """Answers one request; False when the connection is done."""
        path = urlsplit(url).path
        if method == "OPTIONS":
            self.reply(headers, extra=["Public: OPTIONS, DESCRIBE, ANNOUNCE, SETUP, RECORD, PLAY, TEARDOWN"])
        elif method == "ANNOUNCE":
            self.publication, self.is_publisher = Publication(path, body), True
            self.reply(headers)
        elif method == "DESCRIBE":
            self.publication = self.relay._take(path)
            if not self.publication:
                self.reply(headers, "404 Not Found")
                return False
            # Controls in the SDP (streamid=0) are relative to this base.
            self.reply(headers, extra=["Content-Type: application/sdp", f"Content-Base: {url.rstrip('/')}/"],
                       body=self.publication.sdp)
        elif method == "SETUP":
            channel = interleaved(headers.get("transport", ""))
            if channel is None:  # FFmpeg then asks again for TCP
                self.reply(headers, "461 Unsupported Transport")
                return True
            control = path.rsplit("/", 1)[-1]
            if self.is_publisher:
                self.publication.channels.update({channel: (control, 0), channel + 1: (control, 1)})
            else:
                self.reader_channels[control] = channel
            self.reply(headers, extra=[f"Transport: {headers['transport']}"])
        elif method == "RECORD":
            self.reply(headers)
            self.relay._recording(self.publication)
        elif method == "PLAY":
            self.reply(headers, extra=["Range: npt=0.000-"])
            threading.Thread(target=self.forward, daemon=True).start()
        elif method == "TEARDOWN":
            self.reply(headers)
            return False
        else:  # GET_PARAMETER keep-alives and the like
            self.reply(headers)
        return True

    def forward(self):
        """Sends the publication to this reader from its first packet, on the reader's
        channels, then closes the connection once the publisher has ended."""
        index = 0
        try:
            while (packet := self.publication.packet(index)) is not None:
                index += 1
                control, offset = self.publication.channels[packet[0]]
                if control in self.reader_channels:
                    payload = packet[1]
                    self.send(b"$" + bytes([self.reader_channels[control] + offset]) +
                              len(payload).to_bytes(2, "big") + payload)
            self.conn.shutdown(socket.SHUT_RDWR)
        except OSError:  # the reader left first
            pass


if __name__ == "__main__":
    relay = RtspRelay(int(sys.argv[1]))
    print(f"publish to and read from {relay.url}")
    threading.Event().wait()
