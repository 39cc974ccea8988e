#!/usr/bin/env python3
"""Rewrites fields of a .kiln engine's environment fingerprint and re-seals its checksum,
as if the engine had been built on another machine. For checking `kiln check` /
`--rebuild` on a real GPU (scripts/gpu-engine-check.sh); the container layout is the one
src/engine/engine_format.h documents.

usage: edit_engine_fingerprint.py ENGINE.kiln key=value [key=value ...]
       e.g. compute_capability=8.6 cudnn=8.9.7"""
import hashlib
import json
import struct
import sys

METADATA = 1


def main():
    path, edits = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
    data = open(path, "rb").read()
    if data[:4] != b"KILN":
        sys.exit(f"{path}: not a kiln engine")
    version, flags, count = struct.unpack_from("<III", data, 4)
    pos, sections = 16, []
    for _ in range(count):
        tag, reserved, size = struct.unpack_from("<IIQ", data, pos)
        pos += 16
        body = data[pos:pos + size]
        pos += size
        if tag == METADATA:
            meta = json.loads(body)
            meta["environment"].update(edits)
            body = json.dumps(meta).encode()
        sections.append((tag, reserved, body))
    out = bytearray(data[:4] + struct.pack("<III", version, flags, count))
    for tag, reserved, body in sections:
        out += struct.pack("<IIQ", tag, reserved, len(body)) + body
    out += hashlib.sha256(out).digest()
    open(path, "wb").write(out)


if __name__ == "__main__":
    main()
