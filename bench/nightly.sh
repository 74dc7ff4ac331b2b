#!/usr/bin/env bash
# Nightly incremental runs (`fiskal audit --state`) against one run over the whole history:
# a synth history of REGISTERS registers (all regimes, both shapes) over DAYS days is split
# into one input per day; each night is audited with the state of the nights before, and the
# whole history once. Reports per night the time, peak RSS and state size, and the one run's.
#
#   bench/nightly.sh [REGISTERS] [DAYS] [OPS_PER_DAY]        (default: 12 10 800)
#
# What it shows: a night's time follows the night's operations, not the history's length; the
# state grows with the history (validator.json, about 230 bytes per operation so far).
set -euo pipefail
cd "$(dirname "$0")/.."
registers=${1:-12}
days=${2:-10}
ops=${3:-800}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet
bin=target/release/fiskal
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$bin" synth --registers "$registers" --days "$days" --ops-per-day "$ops" --seed 5 \
    --regime mixed --shape mixed --out "$work/history" --quiet >/dev/null
total=$(cat "$work/history"/*.ndjson | wc -l)

# One directory per business day (the date of created_at), master data beside each.
python3 - "$work/history" "$work/nights" <<'EOF'
import json, os, sys
src, dst = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(src)):
    if not name.endswith(".ndjson"):
        continue
    out = {}
    for line in open(os.path.join(src, name)):
        day = json.loads(line)["created_at"][:10]
        out.setdefault(day, []).append(line)
    for day, lines in out.items():
        d = os.path.join(dst, day)
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, name), "w").writelines(lines)
for day in os.listdir(dst):
    with open(os.path.join(src, "masterdata.toml")) as f, open(os.path.join(dst, day, "masterdata.toml"), "w") as g:
        g.write(f.read())
EOF

measure() {
    local label=$1 n=$2
    shift 2
    local out
    out=$( { /usr/bin/time -f "%e %M" "$bin" "$@" --quiet >/dev/null; } 2>&1 | tail -1) || true
    local secs=${out% *} kb=${out#* }
    local state_kb=0
    [ -d "$work/state" ] && state_kb=$(du -sk "$work/state" | cut -f1)
    awk -v l="$label" -v n="$n" -v s="$secs" -v kb="$kb" -v st="$state_kb" \
        'BEGIN { printf "%-12s %9d ops  %7.2f s  %9.0f ops/s  peak RSS %6.1f MB  state %7.1f MB\n", l, n, s, n / s, kb / 1024, st / 1024 }'
}

i=0
for night in $(ls "$work/nights" | sort); do
    i=$((i + 1))
    n=$(cat "$work/nights/$night"/*.ndjson | wc -l)
    measure "night $i" "$n" audit "$work/nights/$night" --out "$work/out-$night" --state "$work/state"
done
rm -rf "$work/state"
measure "one run" "$total" audit "$work/history" --out "$work/out-all"
