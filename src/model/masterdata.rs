//! Master data: what the exports need and operations don't carry.
//!
//! Merchants, locations (with their IANA time zone), registers, and the key material of each
//! fiscal device (TSE public keys, RKSV AES keys and certificates, RT devices). Read from one
//! TOML or JSON file (docs/masterdata.md). Loading only checks the file's own consistency; a
//! missing entry is reported by the export that needs it, never here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The whole master-data file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MasterData {
    /// Legal entities that own the registers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merchants: Vec<Merchant>,
    /// Shops / sites; each names its merchant and its time zone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<Location>,
    /// Registers (Kassen / cash registers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registers: Vec<Register>,
    /// German technical security devices (TSE).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tse: Vec<Tse>,
    /// Austrian RKSV cash boxes with their signing and AES key material.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rksv: Vec<RksvCashbox>,
    /// Italian RT devices (registratore telematico).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rt: Vec<RtDevice>,
    /// The seal fiskal signs its RT daily-closing reconstructions with (`fiskal export rt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rt_seal: Option<RtSeal>,
}

/// A merchant's or auditor's seal for the daily-closing XML fiskal rebuilds: the COR10 schema
/// requires an XML signature, and fiskal is not the device, so it signs with this key and
/// certificate instead of a device's (docs/rt.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RtSeal {
    /// Whose seal this is, for people reading the master data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// RSA private key, PEM (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
    pub private_key: String,
    /// The key's X.509 certificate, PEM.
    pub certificate: String,
}

/// A merchant (Unternehmen / esercente).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Merchant {
    /// The API's `organization_id` / `merchant_id`.
    pub id: String,
    /// Legal name as printed on receipts.
    pub name: String,
    /// Street and house number.
    pub street: String,
    /// Postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// ISO 3166-1 alpha-2 country code (DE, AT, IT).
    pub country: String,
    /// German Steuernummer (DSFinV-K `STNR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_number: Option<String>,
    /// VAT identification number (USt-IdNr., UID, partita IVA with prefix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vat_id: Option<String>,
    /// Italian codice fiscale of the merchant, where it differs from the partita IVA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiscal_code: Option<String>,
}

/// A location (Betriebsstätte / punto vendita).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// The API's `location_id`.
    pub id: String,
    /// The merchant that runs this location.
    pub merchant_id: String,
    /// Display name.
    pub name: String,
    /// Street and house number.
    pub street: String,
    /// Postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// IANA time zone, e.g. `Europe/Berlin`; local times in exports are computed in it.
    pub time_zone: String,
}

/// A register (Kasse / cassa).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Register {
    /// The API's `register_id`.
    pub id: String,
    /// The location the register stands in.
    pub location_id: String,
    /// Hardware brand (DSFinV-K `KASSE_BRAND`).
    pub brand: String,
    /// Hardware model (DSFinV-K `KASSE_MODELL`).
    pub model: String,
    /// Hardware serial number (DSFinV-K `KASSE_SERIENNR`).
    pub serial: String,
    /// POS software brand (DSFinV-K `KASSE_SW_BRAND`).
    pub software_brand: String,
    /// POS software version (DSFinV-K `KASSE_SW_VERSION`).
    pub software_version: String,
    /// ISO 4217 base currency of the register (DSFinV-K `KASSE_BASISWAEH_CODE`).
    pub base_currency: String,
}

/// A German TSE (technische Sicherheitseinrichtung).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tse {
    /// TSE serial number: hex SHA-256 of the public key, as the API's `tse_serial`.
    pub serial: String,
    /// The registers (client ids as signed by the TSE) that use this TSE.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_ids: Vec<String>,
    /// Public key, standard Base64 of the uncompressed point or of a SubjectPublicKeyInfo.
    pub public_key: String,
    /// Signing certificate, standard Base64 of its DER encoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Signature algorithm as named in BSI TR-03111, e.g. `ecdsa-plain-SHA256`.
    pub signature_algorithm: String,
    /// Log time format: `unixTime`, `utcTime` or `generalizedTime`.
    pub time_format: String,
}

/// An Austrian RKSV cash box (Registrierkasse) and its key material.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RksvCashbox {
    /// Kassen-ID as it appears in the machine-readable code.
    pub cashbox_id: String,
    /// The API register that is this cash box.
    pub register_id: String,
    /// AES-256 key of the turnover counter, standard Base64 (32 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aes_key: Option<String>,
    /// Signing certificate, standard Base64 of its DER encoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Certificate serial number (or `U:ATU…-K1` key id for closed systems), as in the code.
    pub certificate_serial: String,
    /// CA certificates above the signing certificate (standard Base64 of DER each), written
    /// to the DEP7 export's `Zertifizierungsstellen`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ca_certificates: Vec<String>,
    /// Public key for closed systems without certificate, standard Base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// An Italian RT device (registratore telematico).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RtDevice {
    /// Matricola (11 characters).
    pub serial: String,
    /// The API register this device serves.
    pub register_id: String,
    /// Firmware version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    /// Device certificate, standard Base64 of its DER encoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Public key of the device seal, standard Base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// Why a master-data file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read master data {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML/JSON of the documented form.
    #[error("master data {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Parser message, with line and field where the parser gives them.
        message: String,
    },
    /// The file parsed but contradicts itself.
    #[error("master data {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the entry.
        message: String,
    },
}

impl MasterData {
    /// Reads a `.toml` or `.json` master-data file and checks its own consistency.
    pub fn load(path: &Path) -> Result<MasterData, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let md: MasterData = if is_json {
            serde_json::from_str(&text).map_err(|e| Error::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?
        } else {
            toml::from_str(&text).map_err(|e| Error::Parse {
                path: path.to_path_buf(),
                message: e.to_string().trim_end().replace('\n', " "),
            })?
        };
        md.check().map_err(|message| Error::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(md)
    }

    /// Serializes as TOML (the form `fiskal synth` writes).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("master data always serializes to TOML")
    }

    /// Consistency of the file itself: unique ids, resolvable references, valid codes.
    pub fn check(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        let merchants = unique_ids(
            "merchants",
            self.merchants.iter().map(|m| &m.id),
            &mut problems,
        );
        let locations = unique_ids(
            "locations",
            self.locations.iter().map(|l| &l.id),
            &mut problems,
        );
        let registers = unique_ids(
            "registers",
            self.registers.iter().map(|r| &r.id),
            &mut problems,
        );
        unique_ids("tse", self.tse.iter().map(|t| &t.serial), &mut problems);
        unique_ids(
            "rksv",
            self.rksv.iter().map(|c| &c.cashbox_id),
            &mut problems,
        );
        unique_ids("rt", self.rt.iter().map(|d| &d.serial), &mut problems);
        for l in &self.locations {
            if !merchants.contains(l.merchant_id.as_str()) {
                problems.push(format!(
                    "location {}: unknown merchant_id {:?}",
                    l.id, l.merchant_id
                ));
            }
            if l.time_zone.parse::<chrono_tz::Tz>().is_err() {
                problems.push(format!(
                    "location {}: time_zone {:?} is not an IANA time zone name (e.g. Europe/Berlin)",
                    l.id, l.time_zone
                ));
            }
            check_country(&format!("location {}", l.id), &l.country, &mut problems);
        }
        for m in &self.merchants {
            check_country(&format!("merchant {}", m.id), &m.country, &mut problems);
        }
        for r in &self.registers {
            if !locations.contains(r.location_id.as_str()) {
                problems.push(format!(
                    "register {}: unknown location_id {:?}",
                    r.id, r.location_id
                ));
            }
            if crate::model::money::Currency::parse(&r.base_currency).is_none() {
                problems.push(format!(
                    "register {}: base_currency {:?} is not an ISO 4217 code",
                    r.id, r.base_currency
                ));
            }
        }
        for c in &self.rksv {
            if !registers.contains(c.register_id.as_str()) {
                problems.push(format!(
                    "rksv {}: unknown register_id {:?}",
                    c.cashbox_id, c.register_id
                ));
            }
        }
        for d in &self.rt {
            if !registers.contains(d.register_id.as_str()) {
                problems.push(format!(
                    "rt {}: unknown register_id {:?}",
                    d.serial, d.register_id
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// The register with this id.
    pub fn register(&self, id: &str) -> Option<&Register> {
        self.registers.iter().find(|r| r.id == id)
    }

    /// The location with this id.
    pub fn location(&self, id: &str) -> Option<&Location> {
        self.locations.iter().find(|l| l.id == id)
    }

    /// The merchant with this id.
    pub fn merchant(&self, id: &str) -> Option<&Merchant> {
        self.merchants.iter().find(|m| m.id == id)
    }
}

fn unique_ids<'a>(
    what: &str,
    ids: impl Iterator<Item = &'a String>,
    problems: &mut Vec<String>,
) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    for id in ids {
        if id.is_empty() {
            problems.push(format!("{what}: an entry has an empty id"));
        } else if !seen.insert(id.as_str()) {
            problems.push(format!("{what}: id {id:?} appears twice"));
        }
    }
    seen
}

fn check_country(what: &str, code: &str, problems: &mut Vec<String>) {
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        problems.push(format!(
            "{what}: country {code:?} is not an ISO 3166-1 alpha-2 code"
        ));
    }
}

#[cfg(test)]
mod doc_tests {
    use super::*;

    fn example() -> MasterData {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/masterdata.example.toml");
        MasterData::load(&p).expect("the example master data loads")
    }

    #[test]
    fn example_file_loads_and_round_trips() {
        let md = example();
        assert_eq!(md.registers.len(), 3);
        assert_eq!(md.location("loc_it_01").unwrap().time_zone, "Europe/Rome");
        let again: MasterData = toml::from_str(&md.to_toml()).unwrap();
        assert_eq!(again, md);
    }

    /// Every key the structs know is documented in docs/masterdata.md, so the reference cannot
    /// silently fall behind the code.
    #[test]
    fn every_key_is_documented() {
        let doc = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/masterdata.md"),
        )
        .unwrap();
        let value = serde_json::to_value(example()).unwrap();
        for (table, rows) in value.as_object().unwrap() {
            assert!(
                doc.contains(&format!("`[[{table}]]`")),
                "table {table} undocumented"
            );
            for row in rows.as_array().unwrap() {
                for key in row.as_object().unwrap().keys() {
                    assert!(
                        doc.contains(&format!("`{key}`")),
                        "key {table}.{key} undocumented"
                    );
                }
            }
        }
    }

    #[test]
    fn inconsistencies_are_all_named() {
        let mut md = example();
        md.registers[1].location_id = "loc_missing".into();
        md.registers[2].base_currency = "EURO".into();
        md.locations[0].time_zone = "Berlin".into();
        md.merchants.push(md.merchants[0].clone());
        let err = md.check().unwrap_err();
        assert!(
            err.contains("register reg_at_01: unknown location_id \"loc_missing\""),
            "{err}"
        );
        assert!(
            err.contains("base_currency \"EURO\" is not an ISO 4217 code"),
            "{err}"
        );
        assert!(
            err.contains("\"Berlin\" is not an IANA time zone name"),
            "{err}"
        );
        assert!(
            err.contains("merchants: id \"org_de\" appears twice"),
            "{err}"
        );
    }
}
