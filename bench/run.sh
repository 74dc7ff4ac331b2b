#!/usr/bin/env bash
# The pipeline benchmark (docs/performance.md, "The pipeline at 100k, 1M and 10M operations").
#
#   bench/run.sh [SIZE...]                  (default: 100000 1000000 10000000)
#   FISKAL_BENCH_DIR=/path bench/run.sh …   (where the histories go; default /tmp)
#   FISKAL_BENCH_THREADS="2 1" …            (thread counts to run each stage with)
#   FISKAL_BENCH_REGIME=rt …                (one regime instead of all three: `mixed`)
#   FISKAL_BENCH_EXTRAS=0 …                 (only the sizes: no replay, openssl or PyPI part)
#
# For every SIZE a synth history of about SIZE operations (all three regimes, both API shapes,
# 50 operations a register-day spread over registers and days so the registers grow with the
# size) is written with placeholder signatures (German and Austrian), then each stage is run and timed under
# /usr/bin/time: wall and CPU time, operations/s, peak RSS. Stages:
#
#   synth      fiskal synth (writes the history)
#   check      fiskal check --no-signatures (read, decode, 35 rules)
#   dsfinvk    fiskal export dsfinvk (read, map, write the German archives)
#   audit      fiskal audit --no-signatures (end to end: every export and the report)
#
# With 2 threads and with 1 (taskset to one core and RAYON_NUM_THREADS=1): the speed-up is
# their ratio. After the sizes, in the same run: the PyPI `dsfinvk` writer against `fiskal
# export dsfinvk` (bench/dsfinvk_vs_pypi.sh), signature replay on a signed history (fiskal
# check with and without signatures), and `openssl speed` for the curves the signatures use.
# Results go to stdout as Markdown tables.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000 10000000)
threads=${FISKAL_BENCH_THREADS:-2 1}
base=${FISKAL_BENCH_DIR:-${TMPDIR:-/tmp}}
regime=${FISKAL_BENCH_REGIME:-mixed}
extras=${FISKAL_BENCH_EXTRAS:-1}

cargo build --release --quiet
bin=$PWD/target/release/fiskal
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/^Mem:/ { print $2 }') GiB; $(date -u +%Y-%m-%dT%H:%MZ)"
echo "fiskal: $("$bin" --version); load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# One timed command: "wall_s user_s sys_s peak_kb exit". Exit 1 (findings) is a completed run.
timed() {
    local t code
    t=$(mktemp)
    code=0
    /usr/bin/time -o "$t" -f "%e %U %S %M" "$@" >/dev/null 2>&1 || code=$?
    echo "$(tail -1 "$t") $code"
    rm -f "$t"
}
row() { # stage threads ops wall user sys kb code
    awk -v s="$1" -v t="$2" -v n="$3" -v w="$4" -v u="$5" -v y="$6" -v k="$7" -v c="$8" 'BEGIN {
        printf "| %s | %d | %d | %.2f s | %.2f s | %.0f | %.0f MiB | %s |\n", s, t, n, w, u + y, (w > 0 ? n / w : 0), k / 1024, c
    }'
}

echo
echo "| stage | threads | operations | wall | CPU | ops/s | peak RSS | exit |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for size in "${sizes[@]}"; do
    # 50 goods operations a register-day; registers and days both grow with the size.
    per_day=50
    days=$(awk -v s="$size" 'BEGIN { d = int(sqrt(s / 50 / 2)); if (d < 2) d = 2; print d }')
    registers=$(( (size + days * per_day - 1) / (days * per_day) ))
    need_kb=$((size * 25 / 10))
    free_kb=$(df -Pk "$base" | awk 'NR == 2 { print $4 }')
    if [ "$free_kb" -lt $((need_kb * 2)) ]; then
        echo "run.sh: $base has $((free_kb / 1024)) MiB free; $size operations need about $((need_kb * 2 / 1024)) MiB with outputs" >&2
        exit 1
    fi
    work=$(mktemp -d "$base/fiskal-run-bench.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    read -r w u y k c < <(timed "$bin" synth --out "$work/in" --registers "$registers" \
        --days "$days" --ops-per-day "$per_day" --regime "$regime" --shape mixed --seed 9 \
        --placeholder-signatures --quiet)
    n=$(cat "$work"/in/*.ndjson | wc -l)
    sync
    row "synth ($regime, $registers registers × $days days)" 2 "$n" "$w" "$u" "$y" "$k" "$c"
    for t in $threads; do
        # N rayon threads; for 1 also one core, so the reader thread cannot use a second.
        pre=(env RAYON_NUM_THREADS="$t")
        [ "$t" != 1 ] || pre+=(taskset -c 0)
        read -r w u y k c < <(timed "${pre[@]}" "$bin" check "$work/in" --no-signatures --quiet)
        row check "$t" "$n" "$w" "$u" "$y" "$k" "$c"
        rm -rf "$work/dsfinvk"
        read -r w u y k c < <(timed "${pre[@]}" "$bin" export dsfinvk "$work/in" --out "$work/dsfinvk" --quiet)
        row "export dsfinvk" "$t" "$n" "$w" "$u" "$y" "$k" "$c"
        rm -rf "$work/audit"
        read -r w u y k c < <(timed "${pre[@]}" "$bin" audit "$work/in" --no-signatures --out "$work/audit" --quiet)
        row "audit --no-signatures" "$t" "$n" "$w" "$u" "$y" "$k" "$c"
    done
    rm -rf "$work"
    trap - EXIT
done

# FISKAL_BENCH_EXTRAS=0: the sizes only (a second run at another size need not repeat what
# follows).
if [ "$extras" = 0 ]; then
    echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
    exit 0
fi

# Signature replay: a signed history (real TSE, RKSV and RT data), checked with and without
# signatures; the difference is the replay.
echo
echo "Signature replay (signed history, 2 threads):"
work=$(mktemp -d "$base/fiskal-run-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$bin" synth --out "$work/in" --registers 6 --days 5 --ops-per-day 400 --regime mixed \
    --shape mixed --seed 9 --quiet
n=$(cat "$work"/in/*.ndjson | wc -l)
echo
echo "| run | operations | wall | CPU | peak RSS |"
echo "|---|---:|---:|---:|---:|"
for flags in "--no-signatures" ""; do
    read -r w u y k c < <(timed "$bin" check "$work/in" $flags --quiet)
    awk -v f="check ${flags:-(signatures verified)}" -v n="$n" -v w="$w" -v u="$u" -v y="$y" -v k="$k" \
        'BEGIN { printf "| %s | %d | %.2f s | %.2f s | %.0f MiB |\n", f, n, w, u + y, k / 1024 }'
done
rm -rf "$work"
trap - EXIT

echo
echo "openssl speed (verify/s, one core):"
openssl speed -seconds 2 ecdsap256 ecdsap384 ecdsabrp256r1 ecdsabrp384r1 ecdsabrp512r1 2>/dev/null \
    | awk '/^ *[0-9]+ bits ecdsa/ { print "  " $0 }'

echo
echo "DSFinV-K against the PyPI writer (bench/dsfinvk_vs_pypi.sh 4 10 1000):"
bench/dsfinvk_vs_pypi.sh 4 10 1000 | sed 's/^/  /'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
