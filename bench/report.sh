#!/usr/bin/env bash
# The audit report at scale: a synth history of REGISTERS registers × DAYS days × OPS_PER_DAY
# goods operations (plus session and cash operations) is written, `fiskal report` reads it, and
# report.html is rendered in headless Chromium. Prints the operations, synth and report wall
# and CPU time, peak RSS, the machine's load around the run, the sizes of report.html/.md/.json
# and the biggest report.json sections, and leaves a screenshot in /tmp. The history is
# deleted at the end.
#
#   bench/report.sh [REGISTERS] [DAYS] [OPS_PER_DAY] [REGIME]    (default: 200 100 500 rt)
#   FISKAL_BENCH_DIR=/path bench/report.sh …                      (where the history goes; /tmp)
#
# The defaults make 10,054,039 operations and 20.3 GiB of NDJSON (about 2.2 KB each), so the
# disk is checked first. `bench/report.sh 4 3 100` is a run of a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
registers=${1:-200}
days=${2:-100}
ops=${3:-500}
regime=${4:-rt}
base=${FISKAL_BENCH_DIR:-${TMPDIR:-/tmp}}
chromium=${FISKAL_CHROMIUM:-chromium}

# Session and cash operations add under 1 % and an RT operation takes about 2.2 KB: 2.5 KB per
# goods operation leaves the disk a little room once the history is written.
need_kb=$((registers * days * ops * 25 / 10))
free_kb=$(df -Pk "$base" | awk 'NR == 2 { print $4 }')
if [ "$free_kb" -lt "$need_kb" ]; then
    echo "report.sh: $base has $((free_kb / 1024 / 1024)) GiB free, the history needs about $((need_kb / 1024 / 1024)) GiB" >&2
    exit 1
fi
work=$(mktemp -d "$base/fiskal-report-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet
bin=target/release/fiskal
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ { print $2 }') GiB"
echo "command: $bin synth --registers $registers --days $days --ops-per-day $ops --regime $regime --shape mixed --seed 5"

# Wall time, peak RSS, user and system CPU time of one command, and its exit code: on a
# shared machine the CPU time is the steadier figure. `time -f` writes its line after
# whatever the command said on stderr, and the exit code comes after it.
timed() {
    local out
    out=$( { /usr/bin/time -f "%e %M %U %S" "$@" --quiet >/dev/null; echo "$?"; } 2>&1 | tail -2)
    echo $out
}
# Under load on a shared machine: what else was running.
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) before the run"

read -r synth_s synth_kb synth_u synth_sys synth_code < <(timed "$bin" synth --registers "$registers" \
    --days "$days" --ops-per-day "$ops" --regime "$regime" --shape mixed --seed 5 --out "$work/history")
if [ "$synth_code" -ne 0 ]; then
    echo "report.sh: fiskal synth exited $synth_code" >&2
    exit 1
fi
total=$(cat "$work/history"/*.ndjson | wc -l)
history_mb=$(du -sm "$work/history" | cut -f1)
awk -v n="$total" -v s="$synth_s" -v mb="$history_mb" -v kb="$synth_kb" -v cpu="$(echo "$synth_u + $synth_sys" | bc -l)" \
    'BEGIN { printf "synth:    %d operations, %d MiB NDJSON, %.1f s (%.0f ops/s), CPU %.1f s, peak RSS %.0f MiB\n", n, mb, s, n / s, cpu, kb / 1024 }'

read -r report_s report_kb report_u report_sys report_code < <(timed "$bin" report "$work/history" --out "$work/out")
# Exit 1 only says the history has findings; 2 is a failure.
if [ "$report_code" -ge 2 ]; then
    echo "report.sh: fiskal report exited $report_code" >&2
    exit 1
fi
awk -v n="$total" -v s="$report_s" -v kb="$report_kb" -v c="$report_code" -v cpu="$(echo "$report_u + $report_sys" | bc -l)" \
    'BEGIN { printf "report:   %.1f s (%.0f ops/s), CPU %.1f s (%.0f ops per CPU second), peak RSS %.0f MiB, exit %d\n", s, n / s, cpu, n / cpu, kb / 1024, c }'
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) after the report"
for f in report.html report.md report.json; do
    printf '          %-12s %10d bytes (%.2f MiB)\n' "$f" "$(stat -c %s "$work/out/$f")" \
        "$(echo "$(stat -c %s "$work/out/$f") / 1048576" | bc -l)"
done
python3 - "$work/out/report.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
sizes = sorted(((len(json.dumps(v, ensure_ascii=False)), k) for k, v in r.items()), reverse=True)
print("          report.json by section:", ", ".join(f"{k} {n:,}" for n, k in sizes[:6]))
EOF

# The browser must parse the page to the end: the Benford chart comes late in it.
dom=$(mktemp "$work/dom.XXXXXX")
shot=/tmp/fiskal-report-$registers-$days-$ops.png
start=$(date +%s.%N)
timeout 300 "$chromium" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --disable-background-networking --user-data-dir="$work/profile" \
    --dump-dom "file://$work/out/report.html" >"$dom" 2>/dev/null
dom_s=$(echo "$(date +%s.%N) - $start" | bc -l)
grep -q 'data-chart="benford-receipts-first-digit"' "$dom" || {
    echo "report.sh: the rendered DOM lacks the Benford chart" >&2
    exit 1
}
start=$(date +%s.%N)
timeout 300 "$chromium" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --disable-background-networking --user-data-dir="$work/profile" \
    --hide-scrollbars --window-size=1280,1800 --screenshot="$shot" \
    "file://$work/out/report.html" >/dev/null 2>&1
shot_s=$(echo "$(date +%s.%N) - $start" | bc -l)
test -s "$shot"
printf 'chromium: --dump-dom %.1f s (%d bytes of DOM, Benford chart present), screenshot %.1f s -> %s\n' \
    "$dom_s" "$(stat -c %s "$dom")" "$shot_s" "$shot"
