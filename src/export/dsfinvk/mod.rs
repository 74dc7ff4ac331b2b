//! DSFinV-K: the German tax-audit export of a register's closings (DSFinV-K 2.4).
//!
//! An export is one folder or zip with 20 CSV files, `index.xml` describing them and the
//! GDPdU DTD `index.xml` names (DSFinV-K spec §1.1). Its foundation lives here:
//!
//! - [`tables`]: the 20 tables declared once (file, IDEA name, module, typed columns with
//!   their Mussfeld flag), the closed value lists and the VAT keys;
//! - [`index_xml`]: index.xml rendered from those declarations, byte for byte the official
//!   file but for `DataSupplier`, and a reader for the index.xml of any export;
//! - [`csv`]: the CSV dialect and [`csv::TableWriter`], which checks every value against its
//!   column and never truncates;
//! - [`check`]: the validator of any export (`fiskal verify dsfinvk`), with its catalog of
//!   checks.
//!
//! docs/dsfinvk.md describes the format choices for users.

pub mod check;
pub mod csv;
pub mod index_xml;
pub mod tables;

/// File name of the GDPdU DTD, as index.xml's DOCTYPE names it.
pub const DTD_FILE_NAME: &str = "gdpdu-01-09-2004.dtd";

/// The GDPdU DTD (version 1.5 of 2004-09-01) every export ships beside index.xml, byte-identical
/// to the one in the official DSFinV-K package.
pub const DTD: &[u8] = include_bytes!("../../../templates/dsfinvk/gdpdu-01-09-2004.dtd");

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// sha256 of the official DTD (fixtures/conformance/dsfinvk/SOURCES.md).
    const OFFICIAL_DTD_SHA256: &str =
        "af3d4c5a19e991f2d8c53995bc708680bbd7ff9326fde539c55b7e2c63f848a2";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn shipped_dtd_is_the_official_one() {
        let official = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/conformance/dsfinvk/gdpdu-01-09-2004.dtd"
        ));
        assert_eq!(DTD, official);
        assert_eq!(hex(&Sha256::digest(DTD)), OFFICIAL_DTD_SHA256);
    }

    #[test]
    fn docs_list_every_table_and_vat_key() {
        let docs = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/dsfinvk.md"));
        for t in tables::TABLES {
            let row = format!("| `{}` | {} | {} |", t.file, t.name, t.module);
            assert!(docs.contains(&row), "docs/dsfinvk.md lacks {row}");
        }
        for u in &tables::UST_SCHLUESSEL {
            let rate = csv::format_number(u.rate_percent(), 2).unwrap();
            let row = format!("| {} | {rate} % | {} |", u.key, u.description);
            assert!(docs.contains(&row), "docs/dsfinvk.md lacks {row}");
        }
    }

    #[test]
    fn fixture_index_xml_is_the_official_one() {
        let official = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/conformance/dsfinvk/index.xml"
        ));
        assert_eq!(
            hex(&Sha256::digest(official)),
            "d0b1fed31a50dc6370d7a54528034a1e0ac2f982f82e3c0a9250a15c64c85160"
        );
    }
}
