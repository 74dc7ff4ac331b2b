#!/usr/bin/env bash
# Throughput and peak memory of `fiskal synth` and `fiskal check` on generated data.
# Usage: scripts/bench.sh [REGISTERS] [DAYS] [OPS_PER_DAY]   (defaults: 20 30 2000 = 1.2 M goods ops)
# Prints one line per step: wall seconds, peak RSS (MiB), operations, operations per second.
set -euo pipefail
cd "$(dirname "$0")/.."
registers=${1:-20}
days=${2:-30}
per_day=${3:-2000}
cargo build --release --quiet
bin=target/release/fiskal
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" > "$work/out" 2>/dev/null || true
  read -r secs kib < "$work/time"
  echo "$label $secs $kib"
}

if [ ! -x /usr/bin/time ]; then
  echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1
fi

read -r _ s_secs s_kib < <(measure synth "$bin" synth --quiet --registers "$registers" --days "$days" \
  --ops-per-day "$per_day" --regime mixed --shape mixed --seed 1 --out "$work/data")
ops=$("$bin" check --json "$work/data" | python3 -c '
import json, sys
for line in sys.stdin:
    v = json.loads(line)
    if v["type"] == "summary":
        print(v["accepted"])')
bytes=$(du -sb "$work/data" | cut -f1)
read -r _ c_secs c_kib < <(measure check "$bin" check --quiet "$work/data")

gz="$work/gz"; mkdir -p "$gz"
for f in "$work"/data/*.ndjson; do gzip -c "$f" > "$gz/$(basename "$f").gz"; done
read -r _ g_secs g_kib < <(measure check-gz "$bin" check --quiet "$gz")

rate() { python3 -c "print(f'{$1/$2:,.0f}')"; }
printf 'input: %s registers x %s days x %s goods ops/day = %s operations, %s MiB NDJSON\n' \
  "$registers" "$days" "$per_day" "$ops" "$((bytes / 1048576))"
printf '%-10s %8s s %8s MiB peak %12s ops/s\n' synth "$s_secs" "$((s_kib / 1024))" "$(rate "$ops" "$s_secs")"
printf '%-10s %8s s %8s MiB peak %12s ops/s\n' check "$c_secs" "$((c_kib / 1024))" "$(rate "$ops" "$c_secs")"
printf '%-10s %8s s %8s MiB peak %12s ops/s\n' check-gz "$g_secs" "$((g_kib / 1024))" "$(rate "$ops" "$g_secs")"
