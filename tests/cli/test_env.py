"""kiln env: the CPU fields against /proc/cpuinfo, the CUDA architectures the build carries,
why there is no GPU (no driver / driver too old / no device, checked against the driver
loaded through ctypes), and GPUs this build cannot serve. Old drivers and unsupported GPUs
are simulated with KILN_ENV_OVERRIDE."""
import ctypes
import json
import math
import os
import platform
import re
import tempfile

from kiln_cli import Checks, run_kiln


def proc_cpuinfo():
    """(model, logical CPUs, physical cores, flags) as /proc/cpuinfo states them."""
    model, logical, cores, flags, package = "", 0, set(), None, None
    for line in open("/proc/cpuinfo"):
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "processor":
            logical += 1
        elif key == "model name" and not model:
            model = value
        elif key == "physical id":
            package = value
        elif key == "core id":
            cores.add((package, value))
        elif key in ("flags", "Features") and flags is None:
            flags = set(value.split())
    return model, logical, len(cores) or logical, flags or set()


def driver_state():
    """(CUDA version the installed NVIDIA driver supports, e.g. "13.0", cuInit's result, GPU
    count) through the driver API; (None, None, 0) without a driver."""
    try:
        lib = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return None, None, 0
    v, n = ctypes.c_int(0), ctypes.c_int(0)
    if lib.cuDriverGetVersion(ctypes.byref(v)) != 0 or v.value == 0:
        return None, None, 0
    init = lib.cuInit(0)
    if init == 0:
        lib.cuDeviceGetCount(ctypes.byref(n))
    return f"{v.value // 1000}.{(v.value % 1000) // 10}", init, n.value


def env_json(checks, label, override=None):
    env = {k: v for k, v in os.environ.items() if k != "KILN_ENV_OVERRIDE"}
    with tempfile.TemporaryDirectory() as tmp:
        if override is not None:
            env["KILN_ENV_OVERRIDE"] = os.path.join(tmp, "env.json")
            json.dump(override, open(env["KILN_ENV_OVERRIDE"], "w"))
        r = run_kiln(["env", "--json"], env=env)
        t = run_kiln(["env"], env=env)
    ok = r.returncode == 0 and t.returncode == 0 and not r.stderr and not t.stderr
    checks.expect(ok, f"{label}: env and env --json exit 0 quietly", r if r.returncode else t)
    return (json.loads(r.stdout), t.stdout) if ok else ({}, "")


def root_cgroup_quota():
    """The CPU quota (in CPUs) at the cgroup mount's root, v2 or v1, or None; a container sees
    its own limit there."""
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int(open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read())
        period = int(open("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def main():
    checks = Checks()
    env, text = env_json(checks, "this machine")
    if not env:
        checks.finish("")

    # The CPU, against /proc/cpuinfo and the process's affinity.
    model, logical, physical, flags = proc_cpuinfo()
    cpu = env["cpu"]
    checks.expect(cpu["arch"] == platform.machine(), "cpu arch is uname's", cpu)
    checks.expect(cpu["model"] == model, "cpu model is /proc/cpuinfo's", f"{cpu['model']!r} vs {model!r}")
    checks.expect(cpu["logical_cpus"] == logical and cpu["physical_cores"] == physical,
                  "logical CPUs and cores as /proc/cpuinfo counts them", f"{cpu} vs {logical}, {physical}")
    affinity, quota = len(os.sched_getaffinity(0)), root_cgroup_quota()
    usable = affinity if quota is None else max(1, min(affinity, math.ceil(quota)))
    checks.expect(cpu["usable_cpus"] == usable, f"usable CPUs = the affinity mask ({affinity}) capped by the "
                  f"cgroup's CPU quota ({quota})", cpu)
    sets = cpu["instruction_sets"]
    checks.expect(set(sets) <= flags, "every instruction set listed is in /proc/cpuinfo's flags", sets)
    missing = [s for s in ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "asimd", "sve")
               if s in flags and s not in sets]
    checks.expect(not missing, "the CPU's SIMD extensions are all listed", missing)
    checks.expect(f"{cpu['physical_cores']} cores" in text and (model or "unknown model") in text
                  and " ".join(sets) in text, "text output shows model, cores and instruction sets", text)

    # The architectures this build's kernels carry.
    archs = env["cuda_architectures"]
    cuda_build = bool(archs)
    checks.expect(all(re.fullmatch(r"(sm|compute)_\d+[af]?", a) for a in archs), "architectures in nvcc's names", archs)
    checks.expect(("CUDA kernels  " + (" ".join(archs) if cuda_build else "none")) in text,
                  "text output lists the architectures", text)

    # Why this machine has no GPU (when it has none), from the driver as ctypes finds it.
    driver, init, count = driver_state()
    cuda_error_no_device = 100
    if not cuda_build:
        want = "built_without_cuda"
    elif driver is None:
        want = "no_driver"
    elif int(driver.split(".")[0]) < int(env["cuda_runtime"].split(".")[0]):
        want = "driver_too_old"
    elif init not in (0, cuda_error_no_device):
        want = "cuda_error"
    else:
        want = "no_device" if count == 0 else None
    print(f"driver: {driver}, kiln's CUDA runtime: {env['cuda_runtime'] or '-'}, expected cause: {want}")
    checks.expect(env.get("no_gpu_cause") == want, f"no-GPU cause is {want}", env)
    if cuda_build:
        checks.expect(env["driver"] == (driver or ""), "driver version as the driver reports it", env["driver"])
        checks.expect(len(env["gpus"]) == count, f"{count} GPU(s), as the driver counts them", env["gpus"])
    if want:
        checks.expect(f"GPU           none ({env['no_gpu_reason']})" in text, "text output says why there is no GPU", text)
    if want == "no_driver":
        checks.expect("no NVIDIA driver" in env["no_gpu_reason"], "no driver said in words", env["no_gpu_reason"])

    # Simulated: a driver for CUDA 12 under a CUDA 13 runtime, and GPUs this build cannot serve.
    old, _ = env_json(checks, "old driver", {"driver": "12.4", "cuda_runtime": "13.0", "gpus": []})
    if cuda_build:
        checks.expect(old.get("no_gpu_cause") == "driver_too_old" and "12.4" in old.get("no_gpu_reason", "")
                      and "CUDA 13 or newer" in old.get("no_gpu_reason", ""), "old driver -> driver_too_old", old)
    else:
        checks.expect(old.get("no_gpu_cause") == "built_without_cuda", "CPU-only build: built without CUDA", old)
    served = next((a[3:] for a in archs if a.startswith("sm_") and a[3:].isdigit()), "90")
    served_cc = f"{served[:-1]}.{served[-1]}"
    sim, sim_text = env_json(checks, "simulated GPUs", {"gpus": [{"name": "Old GPU", "compute_capability": "5.0"},
                                                                 {"name": "Carried GPU", "compute_capability": served_cc}]})
    gpus = sim.get("gpus", [{}, {}])
    reason = gpus[0].get("unsupported_reason", "")
    if cuda_build:
        checks.expect(gpus[0].get("supported") is False and "compute capability 5.0" in reason
                      and all(a in reason for a in archs), "cc 5.0 refused naming it and the architectures", gpus[0])
        checks.expect(gpus[1].get("supported") is True and "unsupported_reason" not in gpus[1],
                      f"cc {served_cc} (carried as sm_{served}) served", gpus[1])
    else:
        checks.expect(not gpus[0].get("supported") and "without CUDA" in reason, "CPU-only build serves no GPU", gpus[0])
    checks.expect(f"kiln cannot use it: {reason}" in sim_text, "text output says which GPU kiln cannot use", sim_text)
    checks.finish("OK")


if __name__ == "__main__":
    main()
