//! Writes a DEP7 export of N receipts from one simulated cash box, for the DEP7 benchmark
//! (bench/dep7.sh): a Startbeleg, then standard receipts with every 20th a training and every
//! 30th a storno receipt, all genuinely signed and chained.
//!
//!     cargo run --release --example dep7_gen -- N OUT.json [--failed]
//!
//! `--failed` writes the receipts between the Startbeleg and the closing Sammelbeleg with the
//! signature device failed ("Sicherheitseinrichtung ausgefallen"): a valid DEP that has no
//! signatures to make or verify, so it measures everything but the elliptic-curve work at
//! sizes where signing every receipt would take the generator hours. The AES key goes to
//! OUT.json.aes (standard Base64), for `fiskal verify dep7 --aes-key`.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fiskal::regime::rksv::sign::{Cashbox, Chain, Input, Kind};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(n), Some(out)) = (
        args.first().and_then(|n| n.parse::<u64>().ok()),
        args.get(1),
    ) else {
        eprintln!("usage: dep7_gen N OUT.json [--failed]");
        std::process::exit(2);
    };
    let failed = args.iter().any(|a| a == "--failed");
    let key = [5u8; 32];
    let cashbox = Cashbox::from_seed("BENCH-1", b"bench", key);
    std::fs::write(format!("{out}.aes"), STANDARD.encode(key))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    write!(
        w,
        "{{\"Belege-Gruppe\":[{{\"Signaturzertifikat\":\"{}\",\"Zertifizierungsstellen\":[],\"Belege-kompakt\":[",
        STANDARD.encode(cashbox.certificate())
    )?;
    let mut chain = Chain::default();
    let start = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap();
    for i in 0..n {
        let id = (i + 1).to_string();
        let last = i + 1 == n;
        let kind = match i {
            0 => Kind::Start,
            _ if failed && last => Kind::Null,
            _ if i % 20 == 0 => Kind::Training,
            _ if i % 30 == 0 => Kind::Storno,
            _ => Kind::Standard,
        };
        let cents = (i % 9973) as i64 * 7 + 50;
        let amounts = match kind {
            Kind::Start | Kind::Null => [0; 5],
            Kind::Storno => [-cents, 0, 0, 0, 0],
            _ => [cents, cents / 3, 0, (i % 3) as i64 * 100, 0],
        };
        let signed = cashbox.sign(
            &mut chain,
            &Input {
                kind,
                receipt_id: &id,
                // A receipt a second.
                date: start + chrono::Duration::seconds(i as i64),
                amounts,
                device_failed: failed && i > 0 && !last,
            },
        );
        if i > 0 {
            w.write_all(b",")?;
        }
        w.write_all(b"\"")?;
        w.write_all(signed.jws.as_bytes())?;
        w.write_all(b"\"")?;
    }
    w.write_all(b"]}]}\n")?;
    w.flush()
}
