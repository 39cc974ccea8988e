"""Signed engines: `kiln build --sign-key` signs, `kiln info` shows the signature, and with a
key configured (--sign-key, $KILN_ENGINE_KEY, kiln.yaml's engine_key) loading and `kiln
check` refuse unsigned, wrongly signed and edited engines with one line naming the file
(exit 2), while the engine cache replaces its unsigned engines by signed ones."""
import hashlib
import json
import os
import struct

import numpy as np

from kiln_cli import Checks, run_kiln
from osnet_cache import env_for, osnet_copy

checks = Checks()


def one_error_line(label, r, must_mention):
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    problems = [f"exit {r.returncode}, want 2"] if r.returncode != 2 else []
    problems += [f"{len(lines)} stderr lines, want 1"] if len(lines) != 1 else []
    problems += [f"no {w!r}" for w in must_mention if w not in r.stderr]
    checks.check(label, not problems, "; ".join(problems) + " | " + r.stderr.strip())


def edit_weight_byte(engine, out):
    """A copy of `engine` with one byte of its weights changed and the checksum recomputed,
    as anyone able to write the file could."""
    data = bytearray(open(engine, "rb").read())
    data[len(data) // 2] ^= 0x01
    data[-32:] = hashlib.sha256(bytes(data[:-32])).digest()
    open(out, "wb").write(bytes(data))


def main():
    with osnet_copy("kiln-sign-") as (tmp, model):
        key, other, short = (os.path.join(tmp, n) for n in ("engine.key", "other.key", "short.key"))
        open(key, "wb").write(os.urandom(32))
        open(other, "wb").write(os.urandom(32))
        open(short, "wb").write(b"0123456789abcdef")
        cache = os.path.join(tmp, "cache")
        env = env_for(cache)
        env.pop("KILN_ENGINE_KEY", None)
        keyed = dict(env, KILN_ENGINE_KEY=key)
        x = os.path.join(tmp, "x.npy")
        np.save(x, np.random.default_rng(0).random((1, 3, 256, 128), dtype=np.float32))

        signed, plain, edited = (os.path.join(tmp, n) for n in ("signed.kiln", "plain.kiln", "edited.kiln"))
        r = run_kiln(["build", model, "-o", signed, "--sign-key", key, "--json"], env=env)
        checks.expect(r.returncode == 0 and json.loads(r.stdout)["signature"] == "signed, valid",
                      "build --sign-key writes a signed engine", r)
        r = run_kiln(["build", model, "-o", plain, "--json"], env=env)
        checks.expect(r.returncode == 0 and json.loads(r.stdout)["signature"] == "unsigned", "build without a key: unsigned", r)
        tail = open(signed, "rb").read()[-80:-32]
        checks.expect(struct.unpack("<IIQ", tail[:16]) == (5, 0, 32), "the file ends with a 32-byte signature section",
                      tail[:16].hex())
        one_error_line("build with a 16-byte key: refused", run_kiln(["build", model, "-o", edited, "--sign-key", short], env=env),
                       [short, "signing key of 16 bytes"])
        checks.expect(not os.path.exists(edited), "nothing written with a bad key")

        # kiln info: the signature's state; an invalid one exits 2.
        r = run_kiln(["info", signed], env=env)
        checks.expect(r.returncode == 0 and "signature   signed (not checked: no key configured)" in r.stdout,
                      "info without a key: signed, not checked", r)
        r = run_kiln(["info", signed, "--sign-key", key, "--json"], env=env)
        checks.expect(r.returncode == 0 and json.loads(r.stdout)["file"]["signature"] == "signed, valid", "info --sign-key: valid", r)
        r = run_kiln(["info", plain], env=keyed)
        checks.expect(r.returncode == 0 and "signature   unsigned" in r.stdout, "info of an unsigned engine", r)
        r = run_kiln(["info", signed], env=dict(env, KILN_ENGINE_KEY=other))
        checks.expect(r.returncode == 2 and "signature   signed, INVALID for the configured key" in r.stdout,
                      "info with another key: INVALID, exit 2", r)

        # kiln check with a key: unsigned, other key and edited engines are refused.
        r = run_kiln(["check", signed], env=keyed)
        checks.expect(r.returncode == 0 and "signature: signed, valid" in r.stdout, "check with the key: ok", r)
        one_error_line("check of an unsigned engine with a key", run_kiln(["check", plain], env=keyed),
                       [plain, "engine is not signed", key])
        one_error_line("check with another key", run_kiln(["check", signed, "--sign-key", other], env=env),
                       [signed, "signature does not match the signing key", other])
        edit_weight_byte(signed, edited)
        r = run_kiln(["check", edited], env=env)
        checks.expect(r.returncode == 0, "an edited engine with a recomputed checksum passes check without a key", r)
        one_error_line("the edited engine with the key", run_kiln(["check", edited], env=keyed),
                       [edited, "signature does not match"])
        one_error_line("check with a missing key file", run_kiln(["check", signed, "--sign-key", key + ".no"], env=env),
                       [key + ".no", "no such file"])

        # Loading (kiln run) with a key.
        r = run_kiln(["run", "--model", signed, "--inputs", x], env=keyed)
        checks.expect(r.returncode == 0, "run of the signed engine with the key", r)
        one_error_line("run of an unsigned engine with a key", run_kiln(["run", "--model", plain, "--inputs", x], env=keyed),
                       [plain, "engine is not signed"])
        one_error_line("run of the edited engine with the key", run_kiln(["run", "--model", edited, "--inputs", x], env=keyed),
                       [edited, "signature does not match"])
        r = run_kiln(["run", "--model", plain, "--inputs", x], env=env)
        checks.expect(r.returncode == 0, "without a key, unsigned engines load as before", r)

        # The engine cache: an unsigned cached engine is rebuilt signed once a key is set.
        r = run_kiln(["build", model, "--json"], env=env)
        first = json.loads(r.stdout) if r.returncode == 0 else {}
        checks.expect(first.get("built") and first.get("signature") == "unsigned", "cache build without a key: unsigned", r)
        r = run_kiln(["build", model, "--json"], env=keyed)
        again = json.loads(r.stdout) if r.returncode == 0 else {}
        checks.expect(again.get("built") and again.get("signature") == "signed, valid" and again.get("engine") == first.get("engine"),
                      "with a key the unsigned cache entry is rebuilt signed, in place", r)
        r = run_kiln(["run", "--model", model, "--inputs", x, "--json"], env=keyed)
        events = json.loads(r.stdout).get("events", []) if r.returncode == 0 else []
        checks.expect(r.returncode == 0 and not any(e.get("event") in ("built", "rebuilt") for e in events),
                      "an .onnx loads the signed cache entry without rebuilding", r)

        # kiln.yaml's engine_key signs what kiln rebuild builds; $KILN_ENGINE_KEY wins over it.
        config = os.path.join(tmp, "kiln.yaml")
        open(config, "w").write(f"engine_key: {os.path.basename(key)}\ncache_dir: yaml-cache\n"
                                "models:\n  reid: {source: osnet.onnx}\n")
        yaml_env = dict(env)
        yaml_env.pop("KILN_CACHE_DIR")  # the yaml's cache_dir
        r = run_kiln(["rebuild", "--config", config, "--json"], env=yaml_env)
        rows = json.loads(r.stdout) if r.returncode == 0 else []
        engine = rows[0]["engine"] if rows else ""
        checks.expect(r.returncode == 0 and rows[0]["status"] == "built", "rebuild from kiln.yaml", r)
        r = run_kiln(["info", engine, "--sign-key", key, "--json"], env=env)
        checks.expect(r.returncode == 0 and json.loads(r.stdout)["file"]["signature"] == "signed, valid",
                      "kiln.yaml's engine_key signed the cached engine", r)
        r = run_kiln(["rebuild", "--config", config, "--json"], env=dict(yaml_env, KILN_ENGINE_KEY=other))
        rows = json.loads(r.stdout) if r.returncode == 0 else []
        checks.expect(r.returncode == 0 and rows and rows[0]["status"] == "rebuilt" and "signed with another key" in r.stderr,
                      "$KILN_ENGINE_KEY wins over engine_key: the entry is rebuilt, signed with it", r)
    checks.finish("OK")


if __name__ == "__main__":
    main()
