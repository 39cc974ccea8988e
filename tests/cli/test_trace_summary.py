"""bench/cupti/trace_summary.py on a hand-made KILN_TRACE timeline: a graph's launches told
apart by their correlation ids even when they follow each other without a gap (and by time
without ids), kernel names shortened for a timeline row, and --graph-timeline printing the
launch of median span kernel by kernel with its lanes and the time per kernel."""
import importlib.util
import os
import subprocess
import sys
import tempfile

from kiln_cli import Checks

checks = Checks()
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../bench/cupti/trace_summary.py")
spec = importlib.util.spec_from_file_location("trace_summary", SCRIPT)
trace_summary = importlib.util.module_from_spec(spec)
spec.loader.exec_module(trace_summary)

STEM = "void kiln::cuda::(anonymous namespace)::conv_nchw_input_mma_kernel<2>(float const*, __half const*)"
GEMM = ("void kiln::cuda::mma::implicit_gemm_kernel<kiln::cuda::(anonymous namespace)::ConvOp, 128, 16, 8, 4>"
        "(kiln::cuda::(anonymous namespace)::ConvOp::Args)")
CUDNN = "cudnn_generated_fort_native_sm90_convFwd_pointwise_knob_34"

checks.check("names: namespaces and parameters dropped",
             trace_summary.short_name(STEM) == "conv_nchw_input_mma_kernel<2>", trace_summary.short_name(STEM))
checks.check("names: template arguments kept, their namespaces dropped",
             trace_summary.short_name(GEMM) == "mma::implicit_gemm_kernel<ConvOp, 128, 16, 8, 4>",
             trace_summary.short_name(GEMM))
checks.check("names: a plain name as it is", trace_summary.short_name(CUDNN) == CUDNN)

# Graph g7 launched three times back to back (correlation ids 21, 22, 23), each launch the
# stem on stream 13, then two kernels side by side on streams 13 and 14; spans 30, 50 and
# 40 us. A kernel outside any graph between them is ignored.
US = 1000
lines = ["#columns\tkind\tstart_ns\tend_ns\tstream\tthread\tcorr\twhat\tgraph",
         f"#name\t0\t{STEM}", f"#name\t1\t{GEMM}", f"#name\t2\t{CUDNN}"]
t = 0
for corr, tail in ((21, 20), (22, 40), (23, 30)):
    lines += [f"K\t{t}\t{t + 10 * US}\t13\t-\t{corr}\t0\tg7",
              f"K\t{t + 10 * US}\t{t + 15 * US}\t13\t-\t{corr}\t1\tg7",
              f"K\t{t + 11 * US}\t{t + (10 + tail) * US}\t14\t-\t{corr}\t2\tg7"]
    t += (10 + tail) * US
lines.append(f"K\t{t}\t{t + 5 * US}\t9\t-\t30\t1\t")
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "trace.tsv")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    names, meta, rows = trace_summary.load(path)
    launches = trace_summary.graph_launches(rows)
    checks.check("launches told apart by correlation id without a gap between them",
                 [len(l) for l in launches["g7"]] == [3, 3, 3] and list(launches) == ["g7"],
                 str({g: [len(l) for l in ls] for g, ls in launches.items()}))
    # Without correlation ids: kernels less than 150 us apart are one launch.
    untagged = [r._replace(corr=None) for r in rows if r.graph]
    apart = [r._replace(start=r.start + 1000 * US * (r.start >= 30 * US),
                        end=r.end + 1000 * US * (r.start >= 30 * US)) for r in untagged]
    checks.check("without ids, launches split by time",
                 [len(l) for l in trace_summary.graph_launches(untagged)["g7"]] == [9] and
                 [len(l) for l in trace_summary.graph_launches(apart)["g7"]] == [3, 6],
                 str([len(l) for l in trace_summary.graph_launches(apart)["g7"]]))

    r = subprocess.run([sys.executable, SCRIPT, path, "--graph-timeline"], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    out = r.stdout
    checks.expect(r.returncode == 0, "--graph-timeline exits 0", out + r.stderr)
    timeline = out[out.find("graph g7"):]
    rows_shown = [l.split() for l in timeline.splitlines()[2:5]]
    checks.check("the launch of median span (40 us, the third)", "launch of median span 40.0 us of 3" in timeline,
                 timeline)
    checks.check("its kernels in order: start after the launch's first, duration, lane, short name",
                 rows_shown == [["0.0", "10.0", "L0", "conv_nchw_input_mma_kernel<2>"],
                                ["10.0", "5.0", "L0", "mma::implicit_gemm_kernel<ConvOp,", "128,", "16,", "8,", "4>"],
                                ["11.0", "29.0", "L1", CUDNN]], str(rows_shown))
    checks.check("the time per kernel, most first", timeline.splitlines()[6].split() == ["1", "29.0", CUDNN],
                 timeline)
    r = subprocess.run([sys.executable, SCRIPT, path, "--graph-timeline", "g9"], capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    checks.check("a graph not in the trace says so", r.returncode == 0 and "graph g9: no launches" in r.stdout,
                 r.stdout + r.stderr)
checks.finish("trace_summary.py: all checks passed")
