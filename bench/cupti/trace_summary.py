#!/usr/bin/env python3
"""Summarize a KILN_TRACE timeline written by libkiln_cupti_probe.so (cupti_probe.cpp's header
gives the format): wall span and GPU busy time, the kernels that take the time, each host
thread's time in the runtime calls kept, and on request one window row by row (--window),
the largest idle stretches of the GPU with what the host was doing meanwhile (--gaps), or the
GPU span of each CUDA graph's launches (--graphs).

  trace_summary.py trace.tsv[.xz] [--window START_MS END_MS] [--gaps] [--graphs]
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


def print_kernels(names, rows, top=25):
    stats = collections.defaultdict(lambda: [0, 0])
    for r in rows:
        if r.kind == "K":
            s = stats[r.what]
            s[0] += 1
            s[1] += r.end - r.start
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


def print_graphs(rows, skip=20, joined_us=150):
    """Each CUDA graph's launches as GPU spans: a graph's kernels less than `joined_us` apart
    are one launch (a replay's kernels follow each other within microseconds; the next
    replay comes a frame later). The first `skip` launches of each graph are warm-up."""
    launches = collections.defaultdict(list)  # graph -> [start, end, kernels]
    for r in rows:
        if r.kind != "K" or not r.graph:
            continue
        spans = launches[r.graph]
        if spans and r.start - spans[-1][1] < joined_us * 1e3:
            spans[-1][1] = max(spans[-1][1], r.end)
            spans[-1][2] += 1
        else:
            spans.append([r.start, r.end, 1])
    hosts = sorted(r.end - r.start for r in rows if r.kind == "R" and r.what.startswith("cudaGraphLaunch"))
    print(f"\nCUDA graphs: the GPU span of one launch, median over launches after the first {skip}")
    print(f"{'graph':>6} {'launches':>9} {'span us':>9} {'kernels':>8}")
    for graph, spans in sorted(launches.items(), key=lambda kv: -len(kv[1])):
        steady = spans[skip:]
        if steady:
            print(f"{graph:>6} {len(steady):9d} {statistics.median(s[1] - s[0] for s in steady) / 1e3:9.1f} "
                  f"{statistics.median(s[2] for s in steady):8.0f}")
    if hosts:
        print(f"cudaGraphLaunch host time: median {statistics.median(hosts) / 1e3:.1f} us, "
              f"p90 {hosts[int(0.9 * (len(hosts) - 1))] / 1e3:.1f} us over {len(hosts)} launches")


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends quietly
    parser = argparse.ArgumentParser(description="Summarize a KILN_TRACE timeline of libkiln_cupti_probe.so.")
    parser.add_argument("trace", help="the TSV that KILN_TRACE named (optionally .xz)")
    parser.add_argument("--window", nargs=2, type=float, metavar=("START_MS", "END_MS"),
                        help="print every row overlapping this window, in time order")
    parser.add_argument("--gaps", action="store_true", help="the 20 largest idle gaps of the GPU")
    parser.add_argument("--graphs", action="store_true", help="each CUDA graph's launches: GPU span and kernels")
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


if __name__ == "__main__":
    main()
