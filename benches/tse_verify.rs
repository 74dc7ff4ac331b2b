//! Verifications per second per curve: the full path a receipt takes (split the QR code,
//! rebuild the TR-03151 log message, verify), on conformance vectors of each curve.
//! Run: `cargo bench --bench tse_verify`; figures in docs/performance.md.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fiskal::regime::kassensichv::{Verdict, parse_qr, verify};

/// (curve, vector file, 1-based line) of one valid vector per curve.
const VECTORS: &[(&str, &str, usize)] = &[
    ("P-256", "qr-berohndo/qr.txt", 1),
    ("brainpoolP256r1", "synthetic/qr.txt", 1),
    ("P-384", "synthetic/qr.txt", 9),
    ("brainpoolP384r1", "qr-berohndo/qr.txt", 2),
    ("brainpoolP512r1", "synthetic/qr.txt", 7),
];

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance/kassensichv");
    let mut group = c.benchmark_group("tse_verify_qr");
    group.throughput(Throughput::Elements(1));
    for &(curve, file, line) in VECTORS {
        let text = std::fs::read_to_string(dir.join(file)).expect("conformance vector file");
        let qr = text
            .lines()
            .nth(line - 1)
            .expect("vector line")
            .trim()
            .to_string();
        // Measure only what verifies: a bench of the failure path would look fast and mean nothing.
        let check = verify(&parse_qr(&qr).expect("vector parses"));
        assert_eq!(check.verdict, Verdict::Valid, "{curve} vector must verify");
        group.bench_function(curve, |b| {
            b.iter(|| verify(&parse_qr(black_box(&qr)).expect("parses")))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
