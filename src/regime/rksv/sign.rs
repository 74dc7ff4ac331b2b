//! A simulated RKSV cash box (Registrierkasse with a software signature creation device):
//! signs receipts exactly as spec rksv.md §2–§5 prescribes, so that generated histories and
//! their DEP7 export carry receipts the verifier checks end to end — signature, chaining
//! value, encrypted turnover counter, Startbeleg, null, storno and training receipts and the
//! failed-device marker.
//!
//! The P-256 key comes from caller-supplied seed bytes and signing follows RFC 6979, so the
//! same seed and receipts give the same bytes. These keys sign test data only.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::NaiveDateTime;

use super::crypto;
use super::receipt::{ES256_HEADER, FAILED_DEVICE};
use crate::regime::kassensichv::sign::{TseCurve, TseSigner};

/// Length of the encrypted turnover counter: the spec's advice for writers (§4.3 "Emit 8").
pub const COUNTER_BYTES: usize = 8;

/// The fictitious trust service provider id of simulated open systems (§2.2: `AT100` cannot be
/// registered in FinanzOnline, so a simulated receipt is never mistaken for a real one).
pub const SIMULATED_ZDA: &str = "AT100";

/// What kind of receipt to sign (§5). The kind is not a field of the receipt: it follows from
/// the amounts, the counter field and the chaining value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The register's first receipt: amounts zero, chained to the Kassen-ID.
    Start,
    /// A sale, refund or cash movement: the counter moves by the amounts.
    Standard,
    /// A null receipt (Monats-, Jahres-, Schluss-, Sammelbeleg): amounts zero.
    Null,
    /// A reversal: counter field `STO`, the internal counter still moves.
    Storno,
    /// A training receipt: counter field `TRA`, the counter stays.
    Training,
}

/// One receipt to sign.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The kind.
    pub kind: Kind,
    /// Belegnummer (ASCII, no `_`: §4.1).
    pub receipt_id: &'a str,
    /// Local time of the receipt, without zone (§2.1 field 4).
    pub date: NaiveDateTime,
    /// Gross cents per field: Normal, Ermaessigt-1, Ermaessigt-2, Null, Besonders.
    pub amounts: [i64; 5],
    /// Whether the signature device had failed: the receipt then carries the marker
    /// "Sicherheitseinrichtung ausgefallen" instead of a signature (§4.1).
    pub device_failed: bool,
}

/// A signed receipt in its two stored forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The JWS compact form, as a DEP7 export stores it.
    pub jws: String,
    /// The QR form (machine-readable code), as printed and as the API's `qr_data` carries it.
    pub qr: String,
    /// The turnover counter after this receipt, in cents.
    pub counter: i128,
}

/// What a cash box carries from one receipt to the next.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chain {
    /// The chaining value of the next receipt; `None` before the Startbeleg.
    next: Option<[u8; 8]>,
    /// The turnover counter in cents.
    pub counter: i128,
}

/// A cash box: its id, its signature creation device and its AES key.
#[derive(Clone, Debug)]
pub struct Cashbox {
    cashbox_id: String,
    device: TseSigner,
    serial_hex: String,
    aes_key: [u8; 32],
}

impl Cashbox {
    /// A cash box `cashbox_id` whose P-256 key is derived from `seed`, counting with
    /// `aes_key`. The certificate serial is the first 16 bytes of the key hash, as the
    /// certificate from [`certificate`](Self::certificate) states it.
    pub fn from_seed(cashbox_id: &str, seed: &[u8], aes_key: [u8; 32]) -> Cashbox {
        let device = TseSigner::from_seed(TseCurve::P256, seed);
        let hex: String = device.serial()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        // §2.1 field 11: hex without leading zeros (#557).
        let serial_hex = match hex.trim_start_matches('0') {
            "" => "0".to_string(),
            s => s.to_string(),
        };
        Cashbox {
            cashbox_id: cashbox_id.to_string(),
            device,
            serial_hex,
            aes_key,
        }
    }

    /// The Kassen-ID.
    pub fn cashbox_id(&self) -> &str {
        &self.cashbox_id
    }

    /// The certificate serial as receipts carry it (lower-case hex, no leading zeros).
    pub fn serial(&self) -> &str {
        &self.serial_hex
    }

    /// The AES-256 key of the turnover counter.
    pub fn aes_key(&self) -> &[u8; 32] {
        &self.aes_key
    }

    /// The public key as an uncompressed SEC1 point.
    pub fn public_key(&self) -> &[u8] {
        self.device.public_key()
    }

    /// A self-signed certificate (DER) for the signing key. Real certificates come from a
    /// trust service provider; a simulated device certifies itself, with a fixed validity so
    /// output stays deterministic.
    pub fn certificate(&self) -> Vec<u8> {
        self.device.certificate(
            &format!("fiskal simulated RKSV device {}", self.serial_hex),
            "250101000000Z",
            "341231235959Z",
        )
    }

    /// Signs the next receipt after `chain` and moves `chain` on.
    pub fn sign(&self, chain: &mut Chain, input: &Input<'_>) -> Signed {
        self.sign_with(chain, input, |m| self.device.sign_message(m))
    }

    /// [`Cashbox::sign`] with placeholder bytes instead of the ES256 signature: the SHA-512 of
    /// the signing input, the 64 bytes of an r‖s. Everything else is what signing writes (the
    /// chaining value is taken over the JWS as written, placeholder included), so the receipts
    /// verify with signatures skipped. For volume data (`synth --placeholder-signatures`),
    /// where P-256 signing would take most of the time.
    pub fn sign_placeholder(&self, chain: &mut Chain, input: &Input<'_>) -> Signed {
        use sha2::Digest as _;
        self.sign_with(chain, input, |m| sha2::Sha512::digest(m).to_vec())
    }

    fn sign_with(
        &self,
        chain: &mut Chain,
        input: &Input<'_>,
        signature_of: impl FnOnce(&[u8]) -> Vec<u8>,
    ) -> Signed {
        let chain_value = match (input.kind, chain.next) {
            (Kind::Start, _) | (_, None) => crypto::chain_value(self.cashbox_id.as_bytes()),
            (_, Some(c)) => c,
        };
        // §4.3: training leaves the counter alone; everything else, storno included, adds.
        let sum: i128 = input.amounts.iter().map(|a| i128::from(*a)).sum();
        match input.kind {
            Kind::Training => {}
            Kind::Start => chain.counter = 0,
            _ => chain.counter += sum,
        }
        let counter_field = match input.kind {
            Kind::Storno => "U1RP".to_string(),
            Kind::Training => "VFJB".to_string(),
            _ => {
                let iv = crypto::counter_iv(&self.cashbox_id, input.receipt_id);
                let ct = crypto::encrypt_counter(&self.aes_key, &iv, chain.counter, COUNTER_BYTES)
                    .expect("a counter of cents fits in 8 bytes for any real turnover");
                STANDARD.encode(ct)
            }
        };
        let mut payload = String::with_capacity(200);
        payload.push_str("_R1-");
        payload.push_str(SIMULATED_ZDA);
        payload.push('_');
        payload.push_str(&self.cashbox_id);
        payload.push('_');
        payload.push_str(input.receipt_id);
        payload.push('_');
        payload.push_str(&input.date.format("%Y-%m-%dT%H:%M:%S").to_string());
        for a in input.amounts {
            payload.push('_');
            push_amount(&mut payload, a);
        }
        payload.push('_');
        payload.push_str(&counter_field);
        payload.push('_');
        payload.push_str(&self.serial_hex);
        payload.push('_');
        payload.push_str(&STANDARD.encode(chain_value));
        let signing_input = format!("{ES256_HEADER}.{}", URL_SAFE_NO_PAD.encode(&payload));
        let signature = if input.device_failed {
            FAILED_DEVICE.to_vec()
        } else {
            signature_of(signing_input.as_bytes())
        };
        let jws = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(&signature));
        chain.next = Some(crypto::chain_value(jws.as_bytes()));
        Signed {
            qr: format!("{payload}_{}", STANDARD.encode(&signature)),
            jws,
            counter: chain.counter,
        }
    }
}

/// An amount field: cents as `-?d+,dd` (§2.1 fields 5–9).
pub fn push_amount(out: &mut String, cents: i64) {
    use std::fmt::Write as _;
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let _ = write!(out, "{sign}{},{:02}", c / 100, c % 100);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regime::rksv::dep::{Finding, KeyMaterial, Verifier};
    use crate::regime::rksv::receipt::{self, Counter};

    fn date(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap()
    }

    fn cashbox() -> Cashbox {
        Cashbox::from_seed("KASSE-1", b"seed", [7u8; 32])
    }

    fn keys(c: &Cashbox) -> KeyMaterial {
        let mut k = KeyMaterial::default();
        k.aes_key = Some(*c.aes_key());
        k.insert(
            c.serial(),
            crypto::PublicKey::from_sec1(c.public_key()).unwrap(),
        );
        k
    }

    fn verify(c: &Cashbox, jws: &[String]) -> (Vec<Finding>, i128, u64) {
        let keys = keys(c);
        let mut found = Vec::new();
        let mut sink = |f| found.push(f);
        let mut v = Verifier::new(&keys, &mut sink);
        v.receipts_at("t", 0, jws);
        let s = v.finish();
        (found, s.final_counter, s.signatures_valid)
    }

    fn input(kind: Kind, id: &str, amounts: [i64; 5]) -> Input<'_> {
        Input {
            kind,
            receipt_id: id,
            date: date("2026-07-01T09:00:00"),
            amounts,
            device_failed: false,
        }
    }

    #[test]
    fn every_kind_verifies_and_the_counter_follows_the_rules() {
        let c = cashbox();
        let mut chain = Chain::default();
        let seq = [
            input(Kind::Start, "1", [0; 5]),
            input(Kind::Standard, "2", [1200, 550, 0, 10_000, 490]),
            input(Kind::Training, "3", [999, 0, 0, 0, 0]),
            input(Kind::Storno, "4", [-1200, 0, 0, 0, 0]),
            input(Kind::Null, "5", [0; 5]),
            Input {
                device_failed: true,
                ..input(Kind::Standard, "6", [0, -550, 0, 0, 0])
            },
            input(Kind::Null, "7", [0; 5]),
        ];
        let signed: Vec<Signed> = seq.iter().map(|i| c.sign(&mut chain, i)).collect();
        let counters: Vec<i128> = signed.iter().map(|s| s.counter).collect();
        assert_eq!(
            counters,
            [0, 12_240, 12_240, 11_040, 11_040, 10_490, 10_490]
        );
        let jws: Vec<String> = signed.iter().map(|s| s.jws.clone()).collect();
        let (findings, last, valid) = verify(&c, &jws);
        assert_eq!(findings, []);
        assert_eq!((last, valid), (10_490, 6));
        // The QR form is the same receipt.
        for s in &signed {
            let q = receipt::parse_qr(&s.qr).unwrap();
            assert_eq!(receipt::to_jws(&q), s.jws);
        }
        let r = receipt::parse_jws(&signed[2].jws).unwrap();
        assert_eq!(r.counter, Counter::Training);
        assert_eq!(r.zda, SIMULATED_ZDA);
        assert!(receipt::parse_jws(&signed[5].jws).unwrap().device_failed());
    }

    #[test]
    fn a_dropped_or_altered_receipt_is_found_where_it_happened() {
        let c = cashbox();
        let mut chain = Chain::default();
        let ids: Vec<String> = (1..=5).map(|i| i.to_string()).collect();
        let mut jws: Vec<String> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let kind = if i == 0 { Kind::Start } else { Kind::Standard };
                let a = if i == 0 { 0 } else { 100 * i as i64 };
                c.sign(&mut chain, &input(kind, id, [a, 0, 0, 0, 0])).jws
            })
            .collect();
        jws.remove(2);
        let (findings, _, _) = verify(&c, &jws);
        let codes: Vec<(&str, Option<&str>)> = findings
            .iter()
            .map(|f| (f.code, f.receipt.as_deref()))
            .collect();
        // Receipt 4 no longer chains to its predecessor, and its counter lacks receipt 3's 300.
        assert_eq!(codes, [("RKS030", Some("4")), ("RKS031", Some("4"))]);
    }

    #[test]
    fn the_certificate_names_the_serial_the_receipts_carry() {
        let c = cashbox();
        let cert = crypto::read_certificate(&c.certificate()).unwrap();
        assert_eq!(cert.serial_hex, c.serial());
        assert!(!c.serial().starts_with('0'));
        let key = cert.key.unwrap();
        let mut chain = Chain::default();
        let s = c.sign(&mut chain, &input(Kind::Start, "1", [0; 5]));
        let r = receipt::parse_jws(&s.jws).unwrap();
        assert!(key.verify_es256(r.signing_input().as_bytes(), &r.signature));
    }

    #[test]
    fn amounts_use_a_decimal_comma_and_two_decimals() {
        let mut s = String::new();
        for c in [0, 5, -5, 12_034, -3_711, 100_000] {
            push_amount(&mut s, c);
            s.push(' ');
        }
        assert_eq!(s, "0,00 0,05 -0,05 120,34 -37,11 1000,00 ");
    }
}
