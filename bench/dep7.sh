#!/usr/bin/env bash
# DEP7 verification throughput and peak memory on generated DEPs of one cash box
# (examples/dep7_gen.rs), reported as receipts/second and peak RSS.
#
#   bench/dep7.sh [SIGNED] [FAILED_SIZES...]        (default: 100000 1000000 10000000)
#
# SIGNED receipts are all genuinely signed, so the run measures ES256 verification, which
# dominates. The FAILED_SIZES DEPs carry the failed-device marker between the Startbeleg and
# the Sammelbeleg: no signatures to verify, so they measure parsing, chaining, the AES
# counter, receipt-id uniqueness and memory at sizes (10 million receipts, 2.4 GB) where
# signing every receipt would take the generator hours. Each DEP is verified once with
# `fiskal verify dep7 --aes-key`, under /usr/bin/time; the generated files are deleted.
set -euo pipefail
cd "$(dirname "$0")/.."
signed=${1:-100000}
shift || true
failed=("$@")
[ ${#failed[@]} -gt 0 ] || failed=(1000000 10000000)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet
cargo build --release --quiet --example dep7_gen
bin=target/release/fiskal
gen=target/release/examples/dep7_gen

run() {
    local n=$1 file=$2 label=$3
    sync
    local out
    out=$( { /usr/bin/time -f "%e %M" "$bin" verify dep7 "$file" --aes-key "$(cat "$file.aes")" >"$work/stdout"; } 2>&1 | tail -1)
    local secs=${out% *} kb=${out#* }
    tail -1 "$work/stdout" | grep -q ": 0 errors, 0 warnings" || { echo "unexpected findings:"; cat "$work/stdout"; exit 1; }
    awk -v l="$label" -v n="$n" -v s="$secs" -v kb="$kb" -v mb="$(( $(stat -c %s "$file") / 1000000 ))" \
        'BEGIN { printf "%-8s %10d receipts  %7.2f s  %9.0f receipts/s  peak RSS %6.1f MB  (%d MB file)\n", l, n, s, n / s, kb / 1024, mb }'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$gen" "$signed" "$work/signed.json"
run "$signed" "$work/signed.json" signed
rm -f "$work/signed.json"
for n in "${failed[@]}"; do
    "$gen" "$n" "$work/failed.json" --failed
    run "$n" "$work/failed.json" failed
    rm -f "$work/failed.json"
done
