#!/usr/bin/env python3
"""Summarize a KILN_TRACE timeline written by libkiln_cupti_probe.so (cupti_probe.cpp's header
gives the format): wall span and GPU busy time, the kernels that take the time, each host
thread's time in the runtime calls kept, and on request one window row by row (--window),
the largest idle stretches of the GPU with what the host was doing meanwhile (--gaps), or the
GPU span of each CUDA graph's launches (--graphs), or one launch of a graph kernel by kernel,
with the streams it ran on (--graph-timeline).

  trace_summary.py trace.tsv[.xz] [--window START_MS END_MS] [--gaps] [--graphs] [--graph-timeline [GRAPH]]
"""
import argparse
import bisect
import collections
import lzma
import signal
import statistics
import sys

GPU_KINDS = ("K", "C", "S")  # work that occupies the GPU; Y and R rows are host-side waits and calls
Row = collections.namedtuple("Row", "kind start end stream thread corr what graph")


def field(text):
    return None if text in ("-", "") else int(text)


def load(path):
    opener = lzma.open if path.endswith(".xz") else open
    names, meta, rows = {}, {}, []
    with opener(path, "rt") as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if parts[0] == "#name" and len(parts) >= 3:
                names[parts[1]] = parts[2]
            elif parts[0].startswith("#"):
                meta[parts[0][1:]] = parts[1:]
            elif len(parts) >= 7:
                graph = parts[7] if len(parts) > 7 else ""
                rows.append(Row(parts[0], int(parts[1]), int(parts[2]), field(parts[3]), field(parts[4]),
                                field(parts[5]), parts[6], graph))
            elif line.strip():
                sys.exit(f"{path}:{n}: expected 8 tab-separated fields, got {len(parts)}")
    if not rows:
        sys.exit(f"{path}: no trace rows")
    rows.sort(key=lambda r: (r.start, r.end))
    return names, meta, rows


def busy_intervals(rows):
    """The union of the GPU's K/C/S intervals, merged and in order."""
    merged = []
    for r in rows:
        if r.kind not in GPU_KINDS:
            continue
        if merged and r.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], r.end)
        else:
            merged.append([r.start, r.end])
    return merged


def label(r, names, threads):
    """What a row is, for a reader: its stream or thread, then its name."""
    if r.kind == "R":
        return f"t{r.thread}", r.what
    where = f"s{r.stream}" if r.stream is not None else "-"
    if r.corr in threads:  # the host thread whose call launched it, joined by correlation id
        where += f"/t{threads[r.corr]}"
    text = {"K": lambda: names.get(r.what, f"kernel #{r.what}"),
            "C": lambda: r.what,
            "S": lambda: f"memset {r.what} B",
            "Y": lambda: f"sync {r.what}"}.get(r.kind, lambda: r.what)()
    return where, text + (f" [{r.graph}]" if r.graph else "")


def print_overview(meta, rows, busy):
    t0, t1 = rows[0].start, max(r.end for r in rows)
    wall = t1 - t0
    total = sum(e - s for s, e in busy)
    print(f"wall span    {wall / 1e6:.3f} ms ({t0 / 1e6:.3f} .. {t1 / 1e6:.3f} ms), {len(rows)} rows")
    print(f"GPU busy     {total / 1e6:.3f} ms, {100 * total / wall if wall else 0:.1f}% of the span")
    if busy:
        gspan = busy[-1][1] - busy[0][0]
        print(f"GPU span     {gspan / 1e6:.3f} ms (first to last GPU work), busy "
              f"{100 * total / gspan if gspan else 0:.1f}% of it")
    for key in ("dropped", "incomplete"):
        if key in meta and meta[key] and meta[key][0] != "0":
            print(f"{key:12} {meta[key][0]} records (missing from this trace)")


def kernel_totals(rows, key=lambda r: r.what):
    """Count and total ns of the kernel rows, by `key` (the kernel's id by default)."""
    stats = collections.defaultdict(lambda: [0, 0])
    for r in rows:
        if r.kind == "K":
            s = stats[key(r)]
            s[0] += 1
            s[1] += r.end - r.start
    return stats


def print_kernels(names, rows, top=25):
    stats = kernel_totals(rows)
    print(f"\ntop {min(top, len(stats))} of {len(stats)} kernels by total time")
    print(f"{'count':>8} {'total ms':>10} {'mean us':>9}  name")
    for key, (count, ns) in sorted(stats.items(), key=lambda kv: -kv[1][1])[:top]:
        print(f"{count:8d} {ns / 1e6:10.3f} {ns / count / 1e3:9.1f}  {names.get(key, f'kernel #{key}')}")


def print_apis(rows):
    stats = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0, 0]))
    for r in rows:
        if r.kind == "R":
            s = stats[r.thread][r.what]
            d = r.end - r.start
            s[0] += 1
            s[1] += d
            s[2] = max(s[2], d)
    for thread, apis in sorted(stats.items(), key=lambda kv: -sum(s[1] for s in kv[1].values())):
        total = sum(s[1] for s in apis.values())
        print(f"\nthread {thread}: {total / 1e6:.3f} ms in the runtime calls kept")
        print(f"{'count':>8} {'total ms':>10} {'max us':>9}  api")
        for name, (count, ns, worst) in sorted(apis.items(), key=lambda kv: -kv[1][1]):
            print(f"{count:8d} {ns / 1e6:10.3f} {worst / 1e3:9.1f}  {name}")


def print_window(names, rows, threads, start_ms, end_ms):
    lo, hi = start_ms * 1e6, end_ms * 1e6
    print(f"\nrows overlapping {start_ms:.3f} .. {end_ms:.3f} ms")
    for r in rows:
        if r.start >= hi:
            break
        if r.end > lo:
            where, text = label(r, names, threads)
            print(f"{r.start / 1e6:12.3f} ms {(r.end - r.start) / 1e3:10.1f} us  {r.kind}  {where:16} {text}")


def print_gaps(rows, busy, count=20, per_thread=4):
    gaps = sorted(((busy[i + 1][0] - busy[i][1], busy[i][1], busy[i + 1][0]) for i in range(len(busy) - 1)),
                  reverse=True)[:count]
    calls = [r for r in rows if r.kind == "R"]
    starts = [r.start for r in calls]
    print(f"\nthe {len(gaps)} largest GPU idle gaps, with the host calls in flight during each")
    for length, g0, g1 in gaps:
        print(f"{g0 / 1e6:12.3f} ms  idle {length / 1e3:10.1f} us")
        inflight = collections.defaultdict(list)
        for r in calls[:bisect.bisect_left(starts, g1)]:
            if r.end > g0:
                inflight[r.thread].append(r)
        if not inflight:
            print("      no runtime call in flight (host work outside CUDA, or a call not kept)")
        for thread, rs in sorted(inflight.items()):
            shown = ", ".join(f"{r.what} {(r.end - r.start) / 1e3:.1f} us @{r.start / 1e6:.3f}"
                              for r in rs[:per_thread])
            more = f", +{len(rs) - per_thread} more" if len(rs) > per_thread else ""
            print(f"      t{thread}: {shown}{more}")


def graph_launches(rows, joined_us=150):
    """Each CUDA graph's launches, in order, each the list of its kernel rows. The kernels of
    one launch share its correlation id; without one, a graph's kernels less than `joined_us`
    apart are one launch (a replay's kernels follow each other within microseconds)."""
    launches = collections.defaultdict(list)  # graph -> [[rows], ...]
    last = {}  # graph -> (correlation id, end) of its last launch so far
    for r in rows:
        if r.kind != "K" or not r.graph:
            continue
        corr, end = last.get(r.graph, (None, None))
        same = r.corr == corr if r.corr is not None else end is not None and r.start - end < joined_us * 1e3
        if launches[r.graph] and same:
            launches[r.graph][-1].append(r)
            last[r.graph] = (corr, max(end, r.end))
        else:
            launches[r.graph].append([r])
            last[r.graph] = (r.corr, r.end)
    return launches


def span(launch):
    return max(r.end for r in launch) - min(r.start for r in launch)


def print_graphs(rows, skip=20):
    """Each CUDA graph's launches as GPU spans. The first `skip` launches of each graph are
    warm-up."""
    launches = graph_launches(rows)
    hosts = sorted(r.end - r.start for r in rows if r.kind == "R" and r.what.startswith("cudaGraphLaunch"))
    print(f"\nCUDA graphs: the GPU span of one launch, median over launches after the first {skip}")
    print(f"{'graph':>6} {'launches':>9} {'span us':>9} {'kernels':>8}")
    for graph, spans in sorted(launches.items(), key=lambda kv: -len(kv[1])):
        steady = spans[skip:]
        if steady:
            print(f"{graph:>6} {len(steady):9d} {statistics.median(span(s) for s in steady) / 1e3:9.1f} "
                  f"{statistics.median(len(s) for s in steady):8.0f}")
    if hosts:
        print(f"cudaGraphLaunch host time: median {statistics.median(hosts) / 1e3:.1f} us, "
              f"p90 {hosts[int(0.9 * (len(hosts) - 1))] / 1e3:.1f} us over {len(hosts)} launches")


def short_name(name):
    """A kernel's name without its return type, namespaces and parameter list."""
    name = name.replace("(anonymous namespace)::", "").replace("kiln::cuda::", "")
    depth, cut = 0, len(name)
    for i, ch in enumerate(name):  # the parameter list: the first '(' outside template brackets
        depth += (ch == "<") - (ch == ">")
        if ch == "(" and depth == 0:
            cut = i
            break
    head = name[:cut]
    bracket = head.find("<")
    return head[head.rfind(" ", 0, bracket if bracket >= 0 else len(head)) + 1:]


def print_graph_timeline(names, rows, graph=None, skip=20):
    """One launch of a CUDA graph kernel by kernel: the launch of median span among those
    after the first `skip` (of the graph with the most launches when none is named), each
    kernel's start after the launch's first, its duration and its lane (the launch's streams
    numbered in order of first use), then the time per kernel name."""
    launches = graph_launches(rows)
    if graph is None and launches:
        graph = max(launches, key=lambda g: len(launches[g]))
    steady = launches.get(graph, [])[skip:] or launches.get(graph, [])
    if not steady:
        print(f"\ngraph {graph}: no launches in this trace")
        return
    launch = sorted(steady, key=span)[len(steady) // 2]
    launch = sorted(launch, key=lambda r: (r.start, r.end))
    t0, lanes = launch[0].start, {}
    print(f"\ngraph {graph}: launch of median span {span(launch) / 1e3:.1f} us of {len(steady)}, "
          f"{len(launch)} kernels, {sum(r.end - r.start for r in launch) / 1e3:.1f} us of kernel time")
    print(f"{'at us':>8} {'us':>7} {'lane':>4}  kernel")
    name = lambda r: short_name(names.get(r.what, f"kernel #{r.what}"))
    for r in launch:
        lane = lanes.setdefault(r.stream, len(lanes))
        print(f"{(r.start - t0) / 1e3:8.1f} {(r.end - r.start) / 1e3:7.1f} {'L' + str(lane):>4}  {name(r)}")
    totals = kernel_totals(launch, key=name)
    print(f"{'count':>8} {'us':>9}  kernel")
    for name, (count, ns) in sorted(totals.items(), key=lambda kv: -kv[1][1]):
        print(f"{count:8d} {ns / 1e3:9.1f}  {name}")


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends quietly
    parser = argparse.ArgumentParser(description="Summarize a KILN_TRACE timeline of libkiln_cupti_probe.so.")
    parser.add_argument("trace", help="the TSV that KILN_TRACE named (optionally .xz)")
    parser.add_argument("--window", nargs=2, type=float, metavar=("START_MS", "END_MS"),
                        help="print every row overlapping this window, in time order")
    parser.add_argument("--gaps", action="store_true", help="the 20 largest idle gaps of the GPU")
    parser.add_argument("--graphs", action="store_true", help="each CUDA graph's launches: GPU span and kernels")
    parser.add_argument("--graph-timeline", nargs="?", const="", metavar="GRAPH",
                        help="one launch of a graph (g<id>; default the most launched) kernel by kernel")
    args = parser.parse_args()
    try:
        names, meta, rows = load(args.trace)
    except (OSError, lzma.LZMAError, ValueError) as e:
        sys.exit(f"{args.trace}: {e}")
    busy = busy_intervals(rows)
    threads = {r.corr: r.thread for r in rows if r.kind == "R" and r.corr is not None}
    print_overview(meta, rows, busy)
    print_kernels(names, rows)
    print_apis(rows)
    if args.window:
        print_window(names, rows, threads, *args.window)
    if args.gaps:
        print_gaps(rows, busy)
    if args.graphs:
        print_graphs(rows)
    if args.graph_timeline is not None:
        print_graph_timeline(names, rows, args.graph_timeline or None)


if __name__ == "__main__":
    main()
