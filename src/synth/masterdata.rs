//! Master data of a synthetic run, and each register's static identity.
//!
//! `OUT/masterdata.toml` must describe exactly the registers, locations, merchants and fiscal
//! devices the operation files use, so both are derived here from one list of
//! [`RegisterSpec`]s. Tax identifiers carry valid check digits (USt-IdNr., UID, partita IVA,
//! codice fiscale) so that exporters which validate them accept the synthetic merchants.

use chrono_tz::Tz;

use super::catalog::Country;
use super::fiscal::Identity;
use super::rng::{Rng, Stream};
use super::text::{base64, hex};
use super::{SynthOptions, SynthRegime, SynthShape};
use crate::model::masterdata::{
    Location, MasterData, Merchant, Register, RksvCashbox, RtDevice, Tse,
};
use crate::regime::kassensichv::sign::{TseCurve, TseSigner};
use crate::regime::rksv::sign::Cashbox;

/// Which wire shape a register's file uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `GET /registers/{id}/operations`: integer minor units, `data` block.
    Register,
    /// `/operations` v1.1: decimal strings, sessions.
    Operations,
}

/// Everything static about one register.
#[derive(Clone, Debug)]
pub(crate) struct RegisterSpec {
    /// 0-based index in the run.
    pub idx: usize,
    /// Fiscal country.
    pub country: Country,
    /// Wire shape of its file.
    pub shape: Shape,
    /// `reg_de_01`.
    pub register_id: String,
    /// `loc_de_01`.
    pub location_id: String,
    /// `mer_de`.
    pub merchant_id: String,
    /// `de01`: the part of operation ids that names the register.
    pub tag: String,
    /// The location's time zone.
    pub tz: Tz,
    /// Opening time, seconds after local midnight.
    pub open_secs: u32,
    /// Closing time, seconds after local midnight.
    pub close_secs: u32,
    /// Indices into the country's cashiers working this register.
    pub cashiers: [usize; 2],
    /// Fiscal identity (TSE, cash box or RT device).
    pub identity: Identity,
    /// RT daily closing number before the first generated day.
    pub z_start: u32,
}

/// Country of register `i` under `regime` (Mixed cycles DE, AT, IT).
pub(crate) fn country_of(regime: SynthRegime, i: usize) -> Country {
    match regime {
        SynthRegime::Kassensichv => Country::De,
        SynthRegime::Rksv => Country::At,
        SynthRegime::Rt => Country::It,
        SynthRegime::Mixed => [Country::De, Country::At, Country::It][i % 3],
    }
}

/// Shape of register `i` under `shape` (Mixed: even → register-scoped, odd → v1.1).
pub(crate) fn shape_of(shape: SynthShape, i: usize) -> Shape {
    match shape {
        SynthShape::Register => Shape::Register,
        SynthShape::Operations => Shape::Operations,
        SynthShape::Mixed => {
            if i.is_multiple_of(2) {
                Shape::Register
            } else {
                Shape::Operations
            }
        }
    }
}

fn digits(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.below(10) as u8).collect()
}

fn digit_str(d: &[u8]) -> String {
    d.iter().map(|&x| char::from(b'0' + x)).collect()
}

/// Check digit of a German USt-IdNr. (ISO 7064 MOD 11,10 over the 8 digits after `DE`).
pub(crate) fn de_vat_check(d: &[u8]) -> u8 {
    let mut product = 10u32;
    for &x in d {
        let mut sum = (u32::from(x) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (2 * sum) % 11;
    }
    let c = 11 - product;
    if c == 10 { 0 } else { c as u8 }
}

/// Check digit of an Austrian UID (the 7 digits after `ATU`).
pub(crate) fn at_uid_check(d: &[u8]) -> u8 {
    let mut s = 0u32;
    for (i, &x) in d.iter().enumerate() {
        let x = u32::from(x);
        s += if i % 2 == 1 {
            (2 * x) / 10 + (2 * x) % 10
        } else {
            x
        };
    }
    ((10 - (s + 4) % 10) % 10) as u8
}

/// Check digit of an Italian partita IVA (the first 10 digits).
pub(crate) fn it_piva_check(d: &[u8]) -> u8 {
    let mut s = 0u32;
    for (i, &x) in d.iter().enumerate() {
        let x = u32::from(x);
        s += if i % 2 == 1 {
            let t = 2 * x;
            if t > 9 { t - 9 } else { t }
        } else {
            x
        };
    }
    ((10 - s % 10) % 10) as u8
}

/// Check character of an Italian codice fiscale (the first 15 characters).
pub(crate) fn it_cf_check(first15: &str) -> char {
    const ODD: [u32; 26] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    let mut s = 0u32;
    for (i, c) in first15.bytes().enumerate() {
        let v = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else {
            u32::from(c - b'A')
        };
        // Positions are counted from 1: odd positions use the ODD table.
        s += if i % 2 == 0 { ODD[v as usize] } else { v };
    }
    char::from(b'A' + (s % 26) as u8)
}

/// A syntactically valid codice fiscale of a synthetic person.
pub(crate) fn codice_fiscale(rng: &mut Rng) -> String {
    const MONTHS: &[u8; 12] = b"ABCDEHLMPRST";
    const PLACES: [&str; 5] = ["F205", "H501", "L219", "A944", "D612"];
    let mut s = String::with_capacity(16);
    for _ in 0..6 {
        s.push(char::from(b'A' + rng.below(26) as u8));
    }
    let year = rng.range(40, 99);
    let day = rng.range(1, 28) + if rng.chance(500) { 40 } else { 0 };
    s.push_str(&format!("{year:02}"));
    s.push(char::from(*rng.pick(MONTHS)));
    s.push_str(&format!("{day:02}"));
    s.push_str(PLACES[rng.below(PLACES.len() as u64) as usize]);
    let c = it_cf_check(&s);
    s.push(c);
    s
}

fn merchant(country: Country, rng: &mut Rng) -> Merchant {
    let d = country.data();
    let (street, postal_code, city) = d.addresses[0];
    let mut m = Merchant {
        id: format!("mer_{}", d.lower),
        name: d.merchant_name.to_string(),
        street: street.to_string(),
        postal_code: postal_code.to_string(),
        city: city.to_string(),
        country: d.code.to_string(),
        ..Merchant::default()
    };
    match country {
        Country::De => {
            let t = digits(rng, 10);
            m.tax_number = Some(format!(
                "{}/{}/{}",
                digit_str(&t[..2]),
                digit_str(&t[2..5]),
                digit_str(&t[5..])
            ));
            let mut v = digits(rng, 8);
            v[0] = 1 + rng.below(9) as u8;
            m.vat_id = Some(format!("DE{}{}", digit_str(&v), de_vat_check(&v)));
        }
        Country::At => {
            let v = digits(rng, 7);
            m.vat_id = Some(format!("ATU{}{}", digit_str(&v), at_uid_check(&v)));
        }
        Country::It => {
            let mut v = digits(rng, 7);
            // Digits 8–10 name the issuing office (Milano: 015).
            v.extend_from_slice(&[0, 1, 5]);
            m.vat_id = Some(format!("IT{}{}", digit_str(&v), it_piva_check(&v)));
            // A sole proprietorship: the owner's personal codice fiscale differs from the P.IVA.
            let mut cf = String::from("RSSMRA");
            cf.push_str(&format!("{:02}", rng.range(50, 89)));
            cf.push('E');
            cf.push_str(&format!("{:02}", rng.range(1, 28)));
            cf.push_str("F205");
            let c = it_cf_check(&cf);
            cf.push(c);
            m.fiscal_code = Some(cf);
        }
    }
    m
}

/// Builds the master data and the register specs for `opts`.
pub(crate) fn build(opts: &SynthOptions) -> (MasterData, Vec<RegisterSpec>) {
    let mut md = MasterData::default();
    let mut specs = Vec::with_capacity(opts.registers as usize);
    let mut per_country = [0usize; 3];
    for i in 0..opts.registers as usize {
        let country = country_of(opts.regime, i);
        let ci = country as usize;
        let d = country.data();
        if per_country[ci] == 0 {
            let mut rng = Rng::stream(opts.seed, 1_000_000 + ci as u64, Stream::Master);
            md.merchants.push(merchant(country, &mut rng));
        }
        per_country[ci] += 1;
        let n = per_country[ci];
        let mut rng = Rng::stream(opts.seed, i as u64, Stream::Master);
        let register_id = format!("reg_{}_{:02}", d.lower, n);
        let location_id = format!("loc_{}_{:02}", d.lower, n);
        let merchant_id = format!("mer_{}", d.lower);
        let tag = format!("{}{:02}", d.lower, n);
        let (street, postal_code, city) = d.addresses[(n - 1) % d.addresses.len()];
        md.locations.push(Location {
            id: location_id.clone(),
            merchant_id: merchant_id.clone(),
            name: format!("{} {} {}", d.shop_name, city, n),
            street: street.to_string(),
            postal_code: postal_code.to_string(),
            city: city.to_string(),
            country: d.code.to_string(),
            time_zone: d.time_zone.to_string(),
        });
        let (brand, model, sw) = match country {
            Country::De => ("Vectron", "POS Touch 15", "fiskal-synth Kasse"),
            Country::At => ("Casio", "V-R7100", "fiskal-synth Registrierkasse"),
            Country::It => ("Epson", "FP-81 II RT", "fiskal-synth Cassa"),
        };
        md.registers.push(Register {
            id: register_id.clone(),
            location_id: location_id.clone(),
            brand: brand.to_string(),
            model: model.to_string(),
            serial: format!("{}-{:08}", tag.to_uppercase(), rng.below(100_000_000)),
            software_brand: sw.to_string(),
            software_version: "4.2.1".to_string(),
            base_currency: "EUR".to_string(),
        });
        let mut identity = Identity {
            placeholder_signatures: opts.placeholder_tse_signatures,
            ..Identity::default()
        };
        match country {
            Country::De => {
                // The drawn bytes seed the TSE key, so the master stream is consumed as before.
                let mut seed = [0u8; 65];
                rng.fill(&mut seed);
                // Both TSE families are represented: cloud TSEs (P-256) on odd-numbered
                // registers, hardware TSEs (brainpoolP384r1) on even ones.
                let curve = if n % 2 == 1 {
                    TseCurve::P256
                } else {
                    TseCurve::BrainpoolP384r1
                };
                let signer = TseSigner::from_seed(curve, &seed);
                identity.tse_serial = hex(signer.serial());
                identity.public_key = base64(signer.public_key()).as_str().to_string();
                identity.client_id = format!("KASSE-{}", tag.to_uppercase());
                md.tse.push(Tse {
                    serial: identity.tse_serial.clone(),
                    client_ids: vec![identity.client_id.clone()],
                    public_key: identity.public_key.clone(),
                    // Self-signed: a simulated TSE has no manufacturer CA. The validity
                    // is fixed, not derived from the run, so output stays deterministic.
                    certificate: Some(base64::Engine::encode(
                        &crate::regime::kassensichv::qr::B64,
                        signer.certificate(
                            &format!("fiskal simulated TSE {}", identity.tse_serial),
                            "250101000000Z",
                            "341231235959Z",
                        ),
                    )),
                    signature_algorithm: signer.algorithm().name().to_string(),
                    time_format: super::fiscal::DE_TIME_FORMAT.to_string(),
                });
                identity.tse = Some(signer);
            }
            Country::At => {
                let mut key = [0u8; 32];
                rng.fill(&mut key);
                // The drawn bytes seed the cash box's signing key.
                let mut seed = [0u8; 8];
                rng.fill(&mut seed);
                identity.cashbox_id = format!("AT-KASSE-{n:02}");
                let cashbox = Cashbox::from_seed(&identity.cashbox_id, &seed, key);
                identity.cert_serial = cashbox.serial().to_string();
                md.rksv.push(RksvCashbox {
                    cashbox_id: identity.cashbox_id.clone(),
                    register_id: register_id.clone(),
                    aes_key: Some(base64(&key).as_str().to_string()),
                    certificate: Some(base64::Engine::encode(
                        &crate::regime::kassensichv::qr::B64,
                        cashbox.certificate(),
                    )),
                    certificate_serial: identity.cert_serial.clone(),
                    public_key: None,
                    ca_certificates: Vec::new(),
                });
                identity.cashbox = Some(cashbox);
            }
            Country::It => {
                let maker = rng.pick(&["72", "80", "99"]);
                let model = rng.pick(&["EB", "AT", "MA"]);
                identity.matricola = format!("{maker}I{model}{:06}", rng.below(1_000_000));
                identity.firmware = "RT 7.0.3".to_string();
                // Reconstructed closings need a seal; synthetic data gets the public demo one,
                // labelled as such (templates/rt/README.md).
                md.rt_seal.get_or_insert_with(crate::export::rt::seal::demo);
                md.rt.push(RtDevice {
                    serial: identity.matricola.clone(),
                    register_id: register_id.clone(),
                    firmware: Some(identity.firmware.clone()),
                    certificate: None,
                    public_key: None,
                });
            }
        }
        let tz: Tz = d
            .time_zone
            .parse()
            .expect("catalog time zones are IANA names");
        let open_secs = d.hours.0 * 3600 + rng.below(4) as u32 * 900;
        let close_secs = d.hours.1 * 3600 - rng.below(4) as u32 * 900;
        let c0 = rng.below(d.cashiers.len() as u64) as usize;
        let c1 = (c0 + 1 + rng.below(d.cashiers.len() as u64 - 1) as usize) % d.cashiers.len();
        specs.push(RegisterSpec {
            idx: i,
            country,
            shape: shape_of(opts.shape, i),
            register_id,
            location_id,
            merchant_id,
            tag,
            tz,
            open_secs,
            close_secs,
            cashiers: [c0, c1],
            identity,
            z_start: 1 + rng.below(400) as u32,
        });
    }
    (md, specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(s: &str) -> Vec<u8> {
        s.bytes().map(|b| b - b'0').collect()
    }

    #[test]
    fn check_digits_match_published_examples() {
        // DE136695976 (a published valid USt-IdNr.), ATU13585627, P.IVA 00743110157.
        assert_eq!(de_vat_check(&ds("13669597")), 6);
        assert_eq!(at_uid_check(&ds("1358562")), 7);
        assert_eq!(it_piva_check(&ds("0074311015")), 7);
        assert_eq!(it_cf_check("RSSMRA85T10A562"), 'S');
    }

    #[test]
    fn codici_fiscali_are_well_formed() {
        let mut rng = Rng::stream(3, 0, Stream::Master);
        for _ in 0..100 {
            let cf = codice_fiscale(&mut rng);
            assert_eq!(cf.len(), 16);
            assert_eq!(it_cf_check(&cf[..15]), cf.chars().last().unwrap());
        }
    }
}
