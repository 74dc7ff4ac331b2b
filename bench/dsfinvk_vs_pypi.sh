#!/usr/bin/env bash
# Writes the same generated German history as DSFinV-K with fiskal and with the PyPI `dsfinvk`
# package (2.4.0) and reports the wall times and their ratio.
#
#   bench/dsfinvk_vs_pypi.sh [REGISTERS] [DAYS] [OPS_PER_DAY]     (default 4 10 1000)
#
# fiskal side: `fiskal export dsfinvk`, median of three runs (reads the NDJSON, maps, writes all
# 20 tables, index.xml and DTD per register into a zip, synced). PyPI side: bench/pypi_dsfinvk_writer.py (reads the same
# NDJSON, writes the six Einzelaufzeichnung tables through the package's models and
# Collection). The PyPI side does less work, so the ratio is a lower bound. Needs python3 with
# venv; the package is installed into bench/.venv on first use (network needed once).
set -euo pipefail
cd "$(dirname "$0")/.."
registers=${1:-4}
days=${2:-10}
ops=${3:-1000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -x bench/.venv/bin/python ]; then
    python3 -m venv bench/.venv
    bench/.venv/bin/pip install --quiet dsfinvk==2.4.0
fi
cargo build --release --quiet
bin=target/release/fiskal

"$bin" synth --out "$work/in" --registers "$registers" --days "$days" --ops-per-day "$ops" \
    --regime kassensichv --shape register --seed 7 --quiet >/dev/null
n=$(cat "$work"/in/*.ndjson | wc -l)
# The generated files are still being written back to disk; without this the first writer
# timed would wait behind that (fiskal syncs each archive before renaming it into place).
sync

now() { date +%s.%N; }
# fiskal runs three times (each into a new directory) and its median counts: a run takes about
# a second, so a stall of the shared machine would otherwise decide the ratio. The PyPI writer
# runs once; at 15 s such stalls are noise.
times=()
for run in 1 2 3; do
    t0=$(now)
    "$bin" export dsfinvk "$work/in" --out "$work/fiskal$run" --quiet >/dev/null
    t1=$(now)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
done
f=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
t1=$(now)
bench/.venv/bin/python bench/pypi_dsfinvk_writer.py "$work/in" "$work/pypi" \
    fixtures/conformance/dsfinvk/index.xml templates/dsfinvk/gdpdu-01-09-2004.dtd
t2=$(now)

awk -v n="$n" -v f="$f" -v runs="${times[*]}" -v b="$t1" -v c="$t2" 'BEGIN {
    p = c - b;
    printf "operations: %d\nfiskal export dsfinvk: %.2f s (%.0f ops/s; median of %s s)\nPyPI dsfinvk writer:   %.2f s (%.0f ops/s)\nratio (PyPI / fiskal): %.1fx\n", n, f, n / f, runs, p, n / p, p / f
}'
