#!/usr/bin/env bash
# Runs kiln's libFuzzer harnesses (fuzz/) for SECONDS each and reports executions, exec/s
# and crashes. Exit 1 when any harness crashed (its reproducer is kept under the work folder).
#
#   bench/fuzz/run.sh SECONDS [HARNESS...] [--build DIR] [--corpus DIR] [--work DIR]
#
# HARNESS: onnx_import engine_reader image_decode config_yaml dataset video_demux (default: all).
# --build: the KILN_FUZZ build (default build-fuzz); --corpus: the seeds from
# bench/fuzz/make_corpus.py (default DIR/fuzz/corpus, made when missing); --work: where the
# grown corpora, crash reproducers and logs go (default a new temp folder).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds="${1:?usage: run.sh SECONDS [HARNESS...] [--build DIR] [--corpus DIR] [--work DIR]}"
shift
harnesses=() build="$root/build-fuzz" corpus="" work=""
while (($#)); do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --corpus) corpus="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    *) harnesses+=("$1"); shift ;;
  esac
done
((${#harnesses[@]})) || harnesses=(onnx_import engine_reader image_decode config_yaml dataset video_demux)
corpus="${corpus:-$build/fuzz/corpus}"
work="${work:-$(mktemp -d /tmp/kiln-fuzz.XXXXXX)}"
if [ ! -d "$corpus" ]; then
  kiln_bin=""
  [ -x "$root/build/kiln" ] && kiln_bin="--kiln $root/build/kiln"
  python3 "$here/make_corpus.py" "$corpus" $kiln_bin > /dev/null
fi

failed=0
printf '%-14s %12s %10s %8s\n' harness executions exec/s crashes
for h in "${harnesses[@]}"; do
  bin="$build/fuzz/fuzz_$h"
  [ -x "$bin" ] || { echo "run.sh: $bin not built (cmake --build $build --target fuzz_all)" >&2; exit 2; }
  mkdir -p "$work/$h/corpus" "$work/$h/crashes"
  [ -d "$corpus/$h" ] && cp -n "$corpus/$h"/* "$work/$h/corpus/" 2>/dev/null || true
  rc=0
  # -rss_limit_mb: an input that makes kiln allocate more than this counts as a crash.
  # -timeout: seconds one input may take (FUZZ_TIMEOUT, 20); a run at low priority on a busy
  # machine needs more, or legitimate 1-2 s inputs (ASan, Debug) are reported as hangs.
  "$bin" "$work/$h/corpus" -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-20}" -rss_limit_mb=2560 -print_final_stats=1 \
    -artifact_prefix="$work/$h/crashes/" > "$work/$h/log" 2>&1 || rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$h/log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$work/$h/log" | grep -o '[0-9]*$' || echo 0)
  # libFuzzer names what it keeps crash-, leak-, timeout- or oom-<sha1>; a slow-unit- file is the
  # slowest input of a run cut short (-report_slow_units), kept for a look, not a failure.
  crashes=$(find "$work/$h/crashes" -type f ! -name 'slow-unit-*' | wc -l)
  slow=$(find "$work/$h/crashes" -type f -name 'slow-unit-*' | wc -l)
  printf '%-14s %12s %10s %8s\n' "$h" "${runs:-0}" "${rate:-0}" "$crashes"
  ((slow == 0)) || echo "run.sh: $h: $slow slow unit(s) kept in $work/$h/crashes (not counted as crashes)" >&2
  if ((rc != 0 || crashes > 0)); then
    failed=1
    echo "run.sh: $h failed (exit $rc); log $work/$h/log, reproducers in $work/$h/crashes" >&2
    grep -m1 -A3 'ERROR: \|==ERROR\|runtime error\|deadly signal\|out-of-memory' "$work/$h/log" >&2 || true
  fi
done
echo "work folder: $work"
exit $failed
