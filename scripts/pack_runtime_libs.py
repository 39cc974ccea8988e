#!/usr/bin/env python3
"""Copies the shared libraries that BINs need and the GPU machine lacks into OUT_DIR
(scripts/gpu-check.sh --prepare packs them for a device call).

System libraries (glibc, libstdc++, libgcc) and the CUDA/cuDNN libraries are left out: the GPU
image has its own. FFmpeg's libavcodec/libavformat link some forty codec, network and hardware
libraries (x265, aom, rsvg + ICU, gnutls, libva, ...) that kiln never calls: it decodes with
FFmpeg's own decoders and encodes with libx264 or FFmpeg's MPEG-4. Carrying them would take ~50 MB
of the 64 MiB a device call may carry, so each library reached only through FFmpeg, and not in
FFMPEG_REAL, becomes a stub: the same soname, the same symbol names (functions returning 0) and
symbol versions, which satisfies the dynamic loader (FFmpeg is linked with immediate binding).
libgme and libopenmpt stay real: libavformat's probe of every input calls them.

usage: pack_runtime_libs.py OUT_DIR BIN...
"""
import os
import re
import subprocess
import sys

SYSTEM = re.compile(r"^(libc|libm|libpthread|libdl|librt|libstdc\+\+|libgcc_s|ld-linux[^.]*|libcuda|libcudart|"
                    r"libcublas|libcublasLt|libcudnn[^.]*|libnvrtc[^.]*)\.so")
FFMPEG = re.compile(r"^lib(avcodec|avformat|avutil|swscale|swresample|avfilter|avdevice|postproc)\.so")
FFMPEG_REAL = re.compile(r"^lib(avcodec|avformat|avutil|swscale|swresample|x264|gme|openmpt|z|lzma)\.so")


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def needed(path):
    return re.findall(r"\(NEEDED\).*\[(.+)\]", run("readelf", "-d", path))


def library_paths(bins):
    """soname -> path, as the loader resolves them for these binaries (ldd)."""
    paths = {}
    for b in bins:
        for name, path in re.findall(r"^\s*(\S+) => (/\S+)", run("ldd", b), re.M):
            paths[name] = path
    return paths


def walk(bins, paths):
    """(real, stub): sonames to copy, and sonames reached only through FFmpeg to stub."""
    real, stub = set(), set()

    def visit(name, via_ffmpeg):
        if SYSTEM.match(name) or name in real:
            return
        if via_ffmpeg and not FFMPEG_REAL.match(name):
            stub.add(name)
            return
        real.add(name)
        for n in needed(paths[name]):
            visit(n, via_ffmpeg or bool(FFMPEG.match(name)))

    for b in bins:
        for n in needed(b):
            visit(n, False)
    return real, stub - real


def exported_symbols(lib):
    """(name, version or None, is_default_version) of each function/object `lib` exports."""
    syms = []
    for line in run("nm", "-D", "--defined-only", "--with-symbol-versions", lib).splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[1] == "A":  # "A": a version node's marker, made by the script
            continue
        name, at, version = re.match(r"^([^@]+)(@@?)?(.*)$", parts[2]).groups()
        # _init/_fini: the old-style constructor pair some libraries export; the stub's own
        # crti.o defines them.
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and name not in ("_init", "_fini"):
            syms.append((name, version or None, at == "@@"))
    return syms


def build_stub(soname, lib, out_dir, work):
    syms = exported_symbols(lib)
    versions = sorted({v for _, v, _ in syms if v})
    code = []
    for i, (sym, ver, default) in enumerate(syms):
        if ver and not default:  # an older, non-default version: an alias through .symver
            code += [f"int kiln_stub_{i}(void) {{ return 0; }}", f'__asm__(".symver kiln_stub_{i},{sym}@{ver}");']
        else:
            code.append(f"int {sym}(void) {{ return 0; }}")
    src = os.path.join(work, soname + ".c")
    with open(src, "w") as f:
        f.write("\n".join(code) + "\n")
    cmd = ["gcc", "-shared", "-fPIC", "-fno-builtin", "-w", "-o", os.path.join(out_dir, soname), "-Wl,-soname," + soname]
    if versions:
        script = os.path.join(work, soname + ".map")
        with open(script, "w") as f:
            for v in versions:
                names = "".join(f" {s};" for s, sv, d in syms if sv == v and d)
                f.write(f"{v} {{ global:{names} }};\n" if names else f"{v} {{ }};\n")
        cmd.append("-Wl,--version-script=" + script)
    subprocess.run(cmd + [src], check=True)


def main():
    out_dir, bins = sys.argv[1], sys.argv[2:]
    paths = library_paths(bins)
    real, stub = walk(bins, paths)
    work = os.path.join(out_dir, ".stub-src")
    os.makedirs(work, exist_ok=True)
    for name in sorted(real):
        subprocess.run(["cp", "-L", paths[name], os.path.join(out_dir, name)], check=True)
    for name in sorted(stub):
        build_stub(name, paths[name], out_dir, work)
    subprocess.run(["rm", "-rf", work], check=True)
    print(f"{len(real)} libraries copied, {len(stub)} stubbed (reached only through FFmpeg)")


if __name__ == "__main__":
    main()
