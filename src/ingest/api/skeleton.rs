//! A master-data skeleton from fetched operations (`fiskal fetch --master-data-out`).
//!
//! The published API reference documents no read schema for merchants, locations or
//! registers, so the only source is what the operations themselves show: merchant, location
//! and register ids and how they nest, each register's regime, and the fiscal devices' ids
//! (TSE serials, client ids, algorithms and time formats; RKSV Kassen-IDs and certificate
//! serials; RT matricole and firmware). A TSE public key is taken from the operations only
//! when its SHA-256 is the TSE serial, which is what makes it that TSE's key.
//!
//! Names, addresses, time zones, tax numbers and register hardware never appear in an
//! operation, so the skeleton can never be a valid master-data file on its own: it is
//! written as commented-out TOML that says so in its first lines and marks every value
//! still to supply with `MISSING`. Values that are only suggested by the data (a country
//! from the fiscal regime, a currency from the operations) stay in comments as hints; no
//! value is claimed that was not read. Entry lines start with `# `, explanations with `## `,
//! so removing `# ` from the start of each line turns the entries into TOML.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::ingest::{self, Item};
use crate::model::{Fiscal, Operation, Regime};

/// Distinct values with how many operations showed each.
type Values = BTreeMap<String, u64>;

fn see(values: &mut Values, v: Option<&str>) {
    if let Some(v) = v.filter(|v| !v.is_empty()) {
        *values.entry(v.to_string()).or_default() += 1;
    }
}

#[derive(Debug, Default)]
struct LocationSeen {
    ops: u64,
    merchant_id: Values,
    regimes: BTreeSet<Regime>,
}

#[derive(Debug, Default)]
struct RegisterSeen {
    ops: u64,
    location_id: Values,
    currency: Values,
    regimes: BTreeSet<Regime>,
}

#[derive(Debug, Default)]
struct TseSeen {
    ops: u64,
    client_ids: Values,
    signature_algorithm: Values,
    time_format: Values,
    /// Keys whose SHA-256 is the serial.
    public_key: Values,
    /// Keys shown with this serial whose SHA-256 is not the serial.
    other_keys: Values,
}

#[derive(Debug, Default)]
struct RksvSeen {
    ops: u64,
    register_id: Values,
    certificate_serial: Values,
}

#[derive(Debug, Default)]
struct RtSeen {
    ops: u64,
    register_id: Values,
    firmware: Values,
}

/// What the operations show about master data.
#[derive(Debug, Default)]
pub struct Skeleton {
    n_operations: u64,
    n_rejected: u64,
    merchants: BTreeMap<String, u64>,
    locations: BTreeMap<String, LocationSeen>,
    registers: BTreeMap<String, RegisterSeen>,
    tse: BTreeMap<String, TseSeen>,
    rksv: BTreeMap<String, RksvSeen>,
    rt: BTreeMap<String, RtSeen>,
    /// Fiscal blocks that name no device, per regime.
    unattributed: BTreeMap<Regime, u64>,
}

/// SHA-256 of the decoded key, lowercase hex: how a TSE serial is derived from its key.
fn key_hash(b64: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    Some(
        Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

impl Skeleton {
    /// Reads a dump through ingest, as `fiskal check` would, and gathers what its operations
    /// show. Records ingest rejects contribute nothing and are counted.
    pub fn read(dump: &Path) -> Result<Skeleton, ingest::Error> {
        let mut s = Skeleton::default();
        ingest::read(&[dump.to_path_buf()], &mut |item| match item {
            Item::Operation(op) => s.add(&op),
            Item::Reject(_) => s.n_rejected += 1,
        })?;
        Ok(s)
    }

    /// Takes in one operation.
    pub fn add(&mut self, op: &Operation) {
        self.n_operations += 1;
        let regime = op.regime();
        if let Some(m) = op.merchant_id.as_deref().filter(|m| !m.is_empty()) {
            *self.merchants.entry(m.to_string()).or_default() += 1;
        }
        if let Some(l) = op.location_id.as_deref().filter(|l| !l.is_empty()) {
            let seen = self.locations.entry(l.to_string()).or_default();
            seen.ops += 1;
            see(&mut seen.merchant_id, op.merchant_id.as_deref());
            seen.regimes.extend(regime);
        }
        if let Some(r) = op.register_id.as_deref().filter(|r| !r.is_empty()) {
            let seen = self.registers.entry(r.to_string()).or_default();
            seen.ops += 1;
            see(&mut seen.location_id, op.location_id.as_deref());
            // Operations without lines or payments (voids) carry no currency of their own.
            if !op.lines.is_empty() || !op.payments.is_empty() {
                see(&mut seen.currency, Some(op.currency.code()));
            }
            seen.regimes.extend(regime);
        }
        match &op.fiscal {
            Some(Fiscal::KassenSichV(t)) => {
                let qr = t
                    .qr_data
                    .as_deref()
                    .and_then(|q| crate::regime::kassensichv::qr::split_qr(q).ok());
                let Some(serial) = t.tse_serial.as_deref().filter(|s| !s.is_empty()) else {
                    *self.unattributed.entry(Regime::KassenSichV).or_default() += 1;
                    return;
                };
                let seen = self.tse.entry(serial.to_string()).or_default();
                seen.ops += 1;
                see(
                    &mut seen.client_ids,
                    t.client_id.as_deref().or(qr.as_ref().map(|q| q.client_id)),
                );
                see(
                    &mut seen.signature_algorithm,
                    t.signature_algorithm
                        .as_deref()
                        .or(qr.as_ref().map(|q| q.algorithm)),
                );
                see(
                    &mut seen.time_format,
                    t.time_format
                        .as_deref()
                        .or(qr.as_ref().map(|q| q.time_format)),
                );
                let keys = [
                    t.finish.as_ref().and_then(|e| e.public_key.as_deref()),
                    t.start.as_ref().and_then(|e| e.public_key.as_deref()),
                    qr.as_ref().map(|q| q.public_key),
                ];
                for k in keys.into_iter().flatten().filter(|k| !k.is_empty()) {
                    if key_hash(k).is_some_and(|h| h.eq_ignore_ascii_case(serial)) {
                        see(&mut seen.public_key, Some(k));
                    } else {
                        see(&mut seen.other_keys, Some(k));
                    }
                }
            }
            Some(Fiscal::Rksv(r)) => {
                let receipt = r
                    .qr_data
                    .as_deref()
                    .and_then(|q| crate::regime::rksv::receipt::parse_qr(q).ok());
                let cashbox = r
                    .cashbox_id
                    .clone()
                    .or(receipt.as_ref().map(|q| q.cashbox_id.clone()))
                    .filter(|c| !c.is_empty());
                let Some(cashbox) = cashbox else {
                    *self.unattributed.entry(Regime::Rksv).or_default() += 1;
                    return;
                };
                let seen = self.rksv.entry(cashbox).or_default();
                seen.ops += 1;
                see(&mut seen.register_id, op.register_id.as_deref());
                see(
                    &mut seen.certificate_serial,
                    r.certificate_serial
                        .as_deref()
                        .or(receipt.as_ref().map(|q| q.serial.as_str())),
                );
            }
            Some(Fiscal::Rt(r)) => {
                let Some(serial) = r.rt_serial.as_deref().filter(|s| !s.is_empty()) else {
                    *self.unattributed.entry(Regime::Rt).or_default() += 1;
                    return;
                };
                let seen = self.rt.entry(serial.to_string()).or_default();
                seen.ops += 1;
                see(&mut seen.register_id, op.register_id.as_deref());
                see(&mut seen.firmware, r.rt_firmware.as_deref());
            }
            None => {}
        }
    }

    /// Every required value still to supply (or to choose, where operations disagree), as
    /// `table[id].key`, in file order.
    pub fn missing(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.render_into(&mut String::new(), &mut out);
        out
    }

    /// Operations read, and records ingest rejected.
    pub fn counts(&self) -> (u64, u64) {
        (self.n_operations, self.n_rejected)
    }

    /// The skeleton file: commented TOML (see the module doc). `source` names the dump.
    pub fn render(&self, source: &str) -> String {
        let mut body = String::new();
        let mut missing = Vec::new();
        self.render_into(&mut body, &mut missing);
        let mut head = String::new();
        let mut h = |line: &str| {
            head.push_str(if line.is_empty() { "##" } else { "## " });
            head.push_str(line);
            head.push('\n');
        };
        h("NOT A VALID MASTER-DATA FILE YET: a skeleton, every entry commented out.");
        h("");
        h(&format!(
            "Written by `fiskal fetch --master-data-out` from the {} operations in {source}{}.",
            self.n_operations,
            if self.n_rejected > 0 {
                format!(
                    " ({} records could not be read and are left out)",
                    self.n_rejected
                )
            } else {
                String::new()
            }
        ));
        h("Operations carry ids, but no names, addresses, time zones, tax numbers or");
        h("register hardware; those must come from you (docs/masterdata.md). Values below");
        h("without a mark were read from the operations; each MISSING one must be supplied.");
        h("Then remove the leading \"# \" of every entry line (not of the \"## \" lines).");
        h("");
        if missing.is_empty() {
            h("Nothing required is missing.");
        } else {
            h(&format!("Required and still missing ({}):", missing.len()));
            for m in group(&missing) {
                h(&format!("  {m}"));
            }
        }
        let wanted = self.wanted();
        if !wanted.is_empty() {
            h("");
            h("Optional in the file, but needed by some checks and exports:");
            for w in &wanted {
                h(&format!("  {w}"));
            }
        }
        for (regime, n) in &self.unattributed {
            h("");
            h(&format!(
                "{n} {} fiscal blocks name no device and are not in the [[…]] tables below.",
                regime.name()
            ));
        }
        head.push('\n');
        head + &body
    }

    /// Optional values that checks or exports need, per entry.
    fn wanted(&self) -> Vec<String> {
        let mut w = Vec::new();
        for id in self.merchants.keys() {
            let regimes: BTreeSet<Regime> = self
                .locations
                .values()
                .filter(|l| l.merchant_id.contains_key(id))
                .flat_map(|l| l.regimes.iter().copied())
                .collect();
            let mut keys = Vec::new();
            if regimes.contains(&Regime::KassenSichV) {
                keys.push("tax_number (DSFinV-K STNR)");
            }
            keys.push("vat_id");
            if regimes.contains(&Regime::Rt) {
                keys.push("fiscal_code, if it differs from the partita IVA");
            }
            w.push(format!("merchants[{id}]: {}", keys.join(", ")));
        }
        for id in self.tse.keys() {
            w.push(format!("tse[{id}]: certificate"));
        }
        for id in self.rksv.keys() {
            w.push(format!(
                "rksv[{id}]: aes_key (turnover counter), certificate or public_key (signatures)"
            ));
        }
        for id in self.rt.keys() {
            w.push(format!("rt[{id}]: certificate, public_key"));
        }
        if !self.rt.is_empty() {
            w.push("[rt_seal]: the seal `fiskal export rt` signs with".into());
        }
        w
    }

    fn render_into(&self, out: &mut String, missing: &mut Vec<String>) {
        for (id, ops) in &self.merchants {
            let mut e = Entry::new(out, missing, "merchants", id);
            e.known("id", id, &format!("seen in {ops} operations"));
            for key in ["name", "street", "postal_code", "city"] {
                e.missing(key, None);
            }
            let countries = self
                .locations
                .values()
                .filter(|l| l.merchant_id.contains_key(id))
                .flat_map(|l| l.regimes.iter().copied());
            e.missing("country", country_hint(countries).as_deref());
            e.end();
        }
        for (id, seen) in &self.locations {
            let mut e = Entry::new(out, missing, "locations", id);
            e.known("id", id, &format!("seen in {} operations", seen.ops));
            e.one("merchant_id", &seen.merchant_id);
            for key in ["name", "street", "postal_code", "city"] {
                e.missing(key, None);
            }
            e.missing(
                "country",
                country_hint(seen.regimes.iter().copied()).as_deref(),
            );
            e.missing("time_zone", zone_hint(&seen.regimes).as_deref());
            e.end();
        }
        for (id, seen) in &self.registers {
            let mut e = Entry::new(out, missing, "registers", id);
            let regimes: Vec<&str> = seen.regimes.iter().map(|r| r.name()).collect();
            let note = if regimes.is_empty() {
                format!("seen in {} operations, none fiscalised", seen.ops)
            } else {
                format!(
                    "seen in {} operations, regime {}",
                    seen.ops,
                    regimes.join(", ")
                )
            };
            e.known("id", id, &note);
            e.one("location_id", &seen.location_id);
            for key in [
                "brand",
                "model",
                "serial",
                "software_brand",
                "software_version",
            ] {
                e.missing(key, None);
            }
            let currencies: Vec<&str> = seen.currency.keys().map(String::as_str).collect();
            let hint = (!currencies.is_empty())
                .then(|| format!("its operations are in {}", currencies.join(", ")));
            e.missing("base_currency", hint.as_deref());
            e.end();
        }
        for (serial, seen) in &self.tse {
            let mut e = Entry::new(out, missing, "tse", serial);
            e.known(
                "serial",
                serial,
                &format!("seen in {} operations", seen.ops),
            );
            if !seen.client_ids.is_empty() {
                let ids: Vec<String> = seen.client_ids.keys().map(|c| toml_str(c)).collect();
                e.line(&format!("client_ids = [{}]", ids.join(", ")), "as signed");
            }
            match (seen.public_key.len(), seen.other_keys.is_empty()) {
                (1, _) => {
                    let (k, n) = seen.public_key.iter().next().expect("one key");
                    e.known(
                        "public_key",
                        k,
                        &format!("in {n} operations; its SHA-256 is the serial"),
                    );
                }
                (0, true) => e.missing("public_key", None),
                (0, false) => e.missing(
                    "public_key",
                    Some("the operations show a key whose SHA-256 is not this serial"),
                ),
                _ => e.one("public_key", &seen.public_key),
            }
            e.one("signature_algorithm", &seen.signature_algorithm);
            e.one("time_format", &seen.time_format);
            e.end();
        }
        for (id, seen) in &self.rksv {
            let mut e = Entry::new(out, missing, "rksv", id);
            e.known(
                "cashbox_id",
                id,
                &format!("seen in {} operations", seen.ops),
            );
            e.one("register_id", &seen.register_id);
            e.one("certificate_serial", &seen.certificate_serial);
            e.end();
        }
        for (serial, seen) in &self.rt {
            let mut e = Entry::new(out, missing, "rt", serial);
            e.known(
                "serial",
                serial,
                &format!("seen in {} operations", seen.ops),
            );
            e.one("register_id", &seen.register_id);
            if !seen.firmware.is_empty() {
                e.one_optional("firmware", &seen.firmware);
            }
            e.end();
        }
    }
}

/// `table[id].key` entries as one line per entry: `table[id]: key, key`.
pub fn group(missing: &[String]) -> Vec<String> {
    let mut lines: Vec<(String, Vec<&str>)> = Vec::new();
    for m in missing {
        let (entry, key) = m.rsplit_once('.').unwrap_or((m.as_str(), ""));
        match lines.last_mut() {
            Some((e, keys)) if e == entry => keys.push(key),
            _ => lines.push((entry.to_string(), vec![key])),
        }
    }
    lines
        .into_iter()
        .map(|(e, keys)| format!("{e}: {}", keys.join(", ")))
        .collect()
}

fn country_hint(regimes: impl Iterator<Item = Regime>) -> Option<String> {
    let countries: BTreeSet<&str> = regimes
        .map(|r| match r {
            Regime::KassenSichV => "DE",
            Regime::Rksv => "AT",
            Regime::Rt => "IT",
        })
        .collect();
    (!countries.is_empty()).then(|| {
        format!(
            "the fiscal regime suggests {}",
            countries.into_iter().collect::<Vec<_>>().join(" or ")
        )
    })
}

fn zone_hint(regimes: &BTreeSet<Regime>) -> Option<String> {
    let zones: BTreeSet<&str> = regimes
        .iter()
        .map(|r| match r {
            Regime::KassenSichV => "Europe/Berlin",
            Regime::Rksv => "Europe/Vienna",
            Regime::Rt => "Europe/Rome",
        })
        .collect();
    (!zones.is_empty()).then(|| {
        format!(
            "the fiscal regime suggests {}",
            zones.into_iter().collect::<Vec<_>>().join(" or ")
        )
    })
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// One `[[table]]` entry being written.
struct Entry<'a> {
    out: &'a mut String,
    missing: &'a mut Vec<String>,
    table: &'static str,
    id: String,
}

impl<'a> Entry<'a> {
    fn new(
        out: &'a mut String,
        missing: &'a mut Vec<String>,
        table: &'static str,
        id: &str,
    ) -> Entry<'a> {
        out.push_str(&format!("# [[{table}]]\n"));
        Entry {
            out,
            missing,
            table,
            id: id.to_string(),
        }
    }

    fn line(&mut self, assignment: &str, note: &str) {
        let _ = writeln!(self.out, "# {assignment}  ## {note}");
    }

    fn known(&mut self, key: &str, value: &str, note: &str) {
        self.line(&format!("{key} = {}", toml_str(value)), note);
    }

    fn missing(&mut self, key: &str, hint: Option<&str>) {
        let note = match hint {
            Some(h) => format!("MISSING ({h})"),
            None => "MISSING".to_string(),
        };
        self.line(&format!("{key} = \"\""), &note);
        self.missing
            .push(format!("{}[{}].{key}", self.table, self.id));
    }

    /// A required key: its value when the operations agree on one, else MISSING.
    fn one(&mut self, key: &str, values: &Values) {
        match values.len() {
            0 => self.missing(key, None),
            1 => {
                let (v, n) = values.iter().next().expect("one value");
                self.known(key, v, &format!("seen in {n} operations"));
            }
            _ => self.missing(key, Some(&disagree(values))),
        }
    }

    /// An optional key: its value when the operations agree on one, else a comment.
    fn one_optional(&mut self, key: &str, values: &Values) {
        if values.len() == 1 {
            self.one(key, values);
        } else {
            let _ = writeln!(self.out, "## {key}: {}", disagree(values));
        }
    }

    fn end(self) {
        self.out.push('\n');
    }
}

fn disagree(values: &Values) -> String {
    let shown: Vec<String> = values
        .iter()
        .map(|(v, n)| format!("{} in {n}", toml_str(v)))
        .collect();
    format!("the operations disagree: {}", shown.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::masterdata::MasterData;

    fn demo() -> Skeleton {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
        let mut s = Skeleton::default();
        ingest::read(&[dir], &mut |item| match item {
            Item::Operation(op) => s.add(&op),
            Item::Reject(_) => s.n_rejected += 1,
        })
        .unwrap();
        s
    }

    /// Uncomments the entries and supplies every MISSING value, as a user would.
    fn complete(text: &str) -> String {
        text.lines()
            .filter_map(|l| l.strip_prefix("# "))
            .map(|l| {
                let key = l.split(" = ").next().unwrap_or("");
                let filler = match key {
                    "country" => "\"DE\"",
                    "time_zone" => "\"Europe/Berlin\"",
                    "base_currency" => "\"EUR\"",
                    _ => "\"supplied\"",
                };
                if l.contains("## MISSING") {
                    l.replacen("\"\"", filler, 1)
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn demo_skeleton_holds_exactly_what_the_operations_show() {
        let s = demo();
        assert_eq!(s.counts(), (177, 0));
        let text = s.render("fixtures/demo");
        assert!(text.starts_with(
            "## NOT A VALID MASTER-DATA FILE YET: a skeleton, every entry commented out.\n"
        ));
        // As written, the file is TOML with nothing in it: it cannot pass for master data.
        let as_is: MasterData = toml::from_str(&text).unwrap();
        assert_eq!(as_is, MasterData::default());

        let filled: MasterData = toml::from_str(&complete(&text)).unwrap();
        filled.check().unwrap();
        let truth = MasterData::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/masterdata.toml"),
        )
        .unwrap();
        let ids = |v: Vec<&String>| v.into_iter().cloned().collect::<Vec<_>>();
        let mut truth_merchants = ids(truth.merchants.iter().map(|m| &m.id).collect());
        truth_merchants.sort();
        assert_eq!(
            ids(filled.merchants.iter().map(|m| &m.id).collect()),
            truth_merchants
        );
        for l in &filled.locations {
            assert_eq!(truth.location(&l.id).unwrap().merchant_id, l.merchant_id);
        }
        assert_eq!(filled.locations.len(), truth.locations.len());
        for r in &filled.registers {
            assert_eq!(truth.register(&r.id).unwrap().location_id, r.location_id);
        }
        assert_eq!(filled.registers.len(), truth.registers.len());
        assert_eq!(filled.tse.len(), truth.tse.len());
        for t in &filled.tse {
            let real = truth.tse.iter().find(|x| x.serial == t.serial).unwrap();
            assert_eq!(t.client_ids, real.client_ids);
            assert_eq!(t.public_key, real.public_key, "read from the QR codes");
            assert_eq!(t.signature_algorithm, real.signature_algorithm);
            assert_eq!(t.time_format, real.time_format);
            assert_eq!(t.certificate, None);
        }
        assert_eq!(filled.rksv.len(), truth.rksv.len());
        for c in &filled.rksv {
            let real = truth
                .rksv
                .iter()
                .find(|x| x.cashbox_id == c.cashbox_id)
                .unwrap();
            assert_eq!(c.register_id, real.register_id);
            assert_eq!(c.certificate_serial, real.certificate_serial);
            assert_eq!((c.aes_key.as_ref(), c.certificate.as_ref()), (None, None));
        }
        assert_eq!(filled.rt.len(), truth.rt.len());
        for d in &filled.rt {
            let real = truth.rt.iter().find(|x| x.serial == d.serial).unwrap();
            assert_eq!(d.register_id, real.register_id);
        }
        // The v1.1 register carries its firmware, the register-shape one does not.
        let firmware: BTreeMap<&str, Option<&str>> = filled
            .rt
            .iter()
            .map(|d| (d.register_id.as_str(), d.firmware.as_deref()))
            .collect();
        assert_eq!(firmware["reg_it_02"], Some("RT 7.0.3"));
        assert_eq!(firmware["reg_it_01"], None);
    }

    #[test]
    fn missing_lists_every_value_no_operation_shows() {
        let missing = demo().missing();
        let per_merchant = ["name", "street", "postal_code", "city", "country"];
        let per_location = [
            "name",
            "street",
            "postal_code",
            "city",
            "country",
            "time_zone",
        ];
        let per_register = [
            "brand",
            "model",
            "serial",
            "software_brand",
            "software_version",
            "base_currency",
        ];
        assert_eq!(
            missing.len(),
            3 * per_merchant.len() + 6 * per_location.len() + 6 * per_register.len()
        );
        assert!(missing.contains(&"merchants[mer_de].name".to_string()));
        assert!(missing.contains(&"locations[loc_it_02].time_zone".to_string()));
        assert!(missing.contains(&"registers[reg_at_01].base_currency".to_string()));
        assert!(
            !missing
                .iter()
                .any(|m| m.starts_with("tse") || m.starts_with("rksv") || m.starts_with("rt"))
        );
        let text = demo().render("x");
        assert!(
            text.contains(
                "# time_zone = \"\"  ## MISSING (the fiscal regime suggests Europe/Vienna)"
            )
        );
        assert!(text.contains("# base_currency = \"\"  ## MISSING (its operations are in EUR)"));
        assert!(
            text.contains("##   merchants[mer_de]: name, street, postal_code, city, country\n")
        );
    }

    #[test]
    fn disagreeing_operations_leave_the_value_to_the_user() {
        let mut s = Skeleton::default();
        let text = |id: &str, loc: &str| {
            format!(
                r#"{{"id":"{id}","object":"operation","type":"void","state":"completed","register_id":"reg_1","location_id":"{loc}","organization_id":"org_1","sequence_number":1,"data":{{}}}}"#
            )
        };
        for (id, loc) in [("a", "loc_1"), ("b", "loc_1"), ("c", "loc_2")] {
            ingest::read_bytes("t", text(id, loc).as_bytes(), &mut |item| {
                if let Item::Operation(op) = item {
                    s.add(&op)
                }
            });
        }
        let missing = s.missing();
        assert!(
            missing.contains(&"registers[reg_1].location_id".to_string()),
            "{missing:?}"
        );
        let out = s.render("t");
        assert!(
            out.contains("# location_id = \"\"  ## MISSING (the operations disagree: \"loc_1\" in 2, \"loc_2\" in 1)"),
            "{out}"
        );
        assert!(out.contains("seen in 3 operations, none fiscalised"));
    }
}
