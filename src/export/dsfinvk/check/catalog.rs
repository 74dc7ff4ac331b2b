//! The export checks of `fiskal verify dsfinvk`, declared once.
//!
//! Each check has a stable code (`DSF…`), a severity, what it checks, why, and the source that
//! makes it a rule. docs/dsfinvk-verify.md is generated from [`CHECKS`] (a test keeps it
//! current) and every finding carries one of these codes. Codes are grouped by hundreds:
//! `DSF0xx` reading and field format, `DSF1xx` one Vorgang (spec §4 V1–V13), `DSF2xx` one
//! closing (C1–C9), `DSF3xx` TSE replay (§5).

use crate::model::Severity;

/// One export check: the same shape as a validation rule, so both catalogs are documented
/// by one renderer.
pub use crate::validate::catalog::Rule as Check;

const FILES: &str = "Files and index.xml";
const DIALECT: &str = "CSV dialect";
const FIELDS: &str = "Field values";
const VORGANG: &str = "Per Vorgang (V1–V13)";
const CLOSING: &str = "Per closing (C1–C9)";
const TSE: &str = "TSE replay";

/// Every check, in documentation order.
pub static CHECKS: &[Check] = &[
    Check {
        code: "DSF001",
        family: FILES,
        severity: Severity::Warning,
        title: "A table listed in index.xml has no file",
        rationale: "index.xml and the files must agree. AmadeusVerify reports a missing CSV as a warning (code 110); its rows are then missing from every check below.",
        source: "DSFinV-K spec §1.1; AmadeusVerify error 110",
    },
    Check {
        code: "DSF002",
        family: FILES,
        severity: Severity::Warning,
        title: "A CSV file is not listed in index.xml",
        rationale: "An auditor's import reads only what index.xml describes; an unlisted file is ignored by it and so by fiskal.",
        source: "DSFinV-K spec §1.1 (index.xml must match the CSVs exactly)",
    },
    Check {
        code: "DSF003",
        family: FILES,
        severity: Severity::Warning,
        title: "index.xml lists a table that is not one of the 20 DSFinV-K tables",
        rationale: "The file is still read in the declared dialect and its values checked against index.xml, but no DSFinV-K rule applies to it.",
        source: "DSFinV-K spec §2.1",
    },
    Check {
        code: "DSF004",
        family: FILES,
        severity: Severity::Warning,
        title: "A DSFinV-K table is missing from index.xml",
        rationale: "The official index.xml lists all 20 tables; a missing one cannot be imported.",
        source: "DSFinV-K spec §1.1, §1.2",
    },
    Check {
        code: "DSF005",
        family: FILES,
        severity: Severity::Error,
        title: "index.xml's columns of a table differ from the DSFinV-K columns",
        rationale: "Column names and order are fixed; a missing, renamed or moved column breaks the taxonomy mapping. Vendor columns may only be appended at the end (DSF006), TSE_ZERTIFIKAT_III… after TSE_ZERTIFIKAT_II.",
        source: "DSFinV-K spec §1.1 (extra columns only at the end), §2.2",
    },
    Check {
        code: "DSF006",
        family: FILES,
        severity: Severity::Info,
        title: "index.xml declares a vendor column appended to a table",
        rationale: "Allowed when appended at the end and declared; listed so the auditor knows what it is.",
        source: "DSFinV-K spec §1.1",
    },
    Check {
        code: "DSF007",
        family: FILES,
        severity: Severity::Error,
        title: "index.xml declares a column with another type, MaxLength or Accuracy",
        rationale: "The official declarations are binding; a shorter MaxLength or fewer decimals make valid data fail the import, other types change how IDEA reads the column.",
        source: "DSFinV-K spec §1.2, §2.2 (official index.xml 2.3)",
    },
    Check {
        code: "DSF008",
        family: FILES,
        severity: Severity::Error,
        title: "index.xml declares another CSV dialect than DSFinV-K's",
        rationale: "Every table is UTF8, decimal comma, `;` between values, CRLF after records, `\"` encapsulation, data from line 2. fiskal reads with the declared column delimiter and encapsulator but always expects CRLF.",
        source: "DSFinV-K spec §1.2, §1.3",
    },
    Check {
        code: "DSF009",
        family: FILES,
        severity: Severity::Warning,
        title: "The GDPdU DTD index.xml names is missing",
        rationale: "index.xml's DOCTYPE names `gdpdu-01-09-2004.dtd`, which ships beside it in the official package; XML tools that validate cannot read index.xml without it.",
        source: "DSFinV-K spec §1.1 (gdpdu-01-09-2004.dtd); fiskaltrust/interface-doc#173",
    },
    Check {
        code: "DSF010",
        family: DIALECT,
        severity: Severity::Error,
        title: "A record ends with a bare LF or CR instead of CRLF",
        rationale: "index.xml declares CRLF; AmadeusVerify rejects a file with `\\r` or `\\n` alone (error 101). The line named is the record's first line.",
        source: "DSFinV-K spec §1.1; AmadeusVerify error 101",
    },
    Check {
        code: "DSF011",
        family: DIALECT,
        severity: Severity::Warning,
        title: "The last record has no CRLF after it",
        rationale: "The record delimiter ends every record, the last one too; some importers drop an unterminated last record.",
        source: "DSFinV-K spec §1.3 (record delimiter CRLF)",
    },
    Check {
        code: "DSF012",
        family: DIALECT,
        severity: Severity::Error,
        title: "A CSV file is not UTF-8, starts with a byte order mark or cannot be read",
        rationale: "index.xml declares UTF8; a BOM becomes part of the first header name. A file that cannot be read to its end (a damaged zip entry) is reported here too, with what was read before checked.",
        source: "DSFinV-K spec §1.3 (BOM in CSV)",
    },
    Check {
        code: "DSF013",
        family: DIALECT,
        severity: Severity::Error,
        title: "The header row is not the declared column names in order",
        rationale: "Row 1 holds the column names as index.xml lists them (Range/From = 2).",
        source: "DSFinV-K spec §1.3 (header)",
    },
    Check {
        code: "DSF014",
        family: DIALECT,
        severity: Severity::Error,
        title: "A row has more or fewer values than the table has columns",
        rationale: "Every record has exactly the declared columns; with a different count the values cannot be assigned. Rows with too few values are skipped by the later checks.",
        source: "DSFinV-K spec §1.1 (column count); pretix validator",
    },
    Check {
        code: "DSF015",
        family: DIALECT,
        severity: Severity::Error,
        title: "A value's text encapsulation is broken",
        rationale: "A quoted value must end with `\"` followed by the delimiter or the record end, and every `\"` inside must be doubled; an unterminated quote swallows the rest of the file.",
        source: "DSFinV-K spec §1.3 (quoting)",
    },
    Check {
        code: "DSF020",
        family: FIELDS,
        severity: Severity::Error,
        title: "A Numeric value is not a number with decimal comma and no digit grouping",
        rationale: "Numbers are `-`, digits, `,` and decimals; a digit grouping symbol (`1.234,50`) or a decimal point is read differently by IDEA and refused by the taxonomy.",
        source: "DSFinV-K spec §1.3 (numbers)",
    },
    Check {
        code: "DSF021",
        family: FIELDS,
        severity: Severity::Error,
        title: "A Numeric value has more decimals than the column's Accuracy",
        rationale: "Accuracy is the maximum number of decimals; integer columns have none.",
        source: "DSFinV-K spec §1.3; AmadeusVerify error 115",
    },
    Check {
        code: "DSF022",
        family: FIELDS,
        severity: Severity::Error,
        title: "A text is longer than the column's MaxLength",
        rationale: "MaxLength counts characters, not bytes.",
        source: "DSFinV-K spec §1.3 (lengths); AmadeusVerify error 114",
    },
    Check {
        code: "DSF023",
        family: FIELDS,
        severity: Severity::Error,
        title: "A value is not in the column's closed list",
        rationale: "BON_TYP, GV_TYP, ZAHLART_TYP, REF_TYP, itemamounts TYP and the TSE lists are closed; values are case-sensitive.",
        source: "DSFinV-K spec §3",
    },
    Check {
        code: "DSF024",
        family: FIELDS,
        severity: Severity::Error,
        title: "A Mussfeld is empty",
        rationale: "Dark cells of Anhang G must always be filled.",
        source: "DSFinV-K spec §2.2 (Anhang G)",
    },
    Check {
        code: "DSF025",
        family: FIELDS,
        severity: Severity::Info,
        title: "A Mussfeld required when the data exists is empty, and its row shows the data exists",
        rationale: "KUNDE_NAME, KUNDE_ID, KUNDE_TYP, TSE_ZERTIFIKAT_I/II, ZAHLWAEH_CODE, ART_NR, MENGE and STK_BR are dark in Anhang G v2.2 but later readings require them only when available. An empty one is reported only where its own row shows the data exists: other customer fields filled or an AVSachbezug (KUNDE_*), an article line with GV_TYP Umsatz (ART_NR, MENGE, STK_BR), a foreign amount (ZAHLWAEH_CODE), any TSE (TSE_ZERTIFIKAT_I: every certified TSE has a certificate), a full first part (TSE_ZERTIFIKAT_II). Information only: the auditors' tools do not reject it.",
        source: "DSFinV-K spec §2.2 (mandatory-field nuances), Anhang B (AVSachbezug)",
    },
    Check {
        code: "DSF026",
        family: FIELDS,
        severity: Severity::Error,
        title: "A timestamp or date is not ISO 8601",
        rationale: "Z_ERSTELLUNG, BON_START, BON_ENDE and REF_DATUM are `YYYY-MM-DDThh:mm:ss`, optionally with fraction and offset; Z_BUCHUNGSTAG is `YYYY-MM-DD`.",
        source: "DSFinV-K spec §1.3 (timestamps, dates)",
    },
    Check {
        code: "DSF027",
        family: FIELDS,
        severity: Severity::Error,
        title: "A TSE time is not `YYYY-MM-DDThh:mm:ss.fffZ`",
        rationale: "TSE_TA_START and TSE_TA_ENDE are UTC with milliseconds whatever the TSE's time format.",
        source: "DSFinV-K spec §1.3 (TSE times)",
    },
    Check {
        code: "DSF028",
        family: FIELDS,
        severity: Severity::Error,
        title: "A country is not ISO 3166 alpha-3 or a currency not ISO 4217",
        rationale: "LAND, LOC_LAND, AGENTUR_LAND and KUNDE_LAND are three capital letters (`DEU`); KASSE_BASISWAEH_CODE, ZAHLWAEH_CODE and ZAHLART_WAEH are ISO 4217 codes (`EUR`).",
        source: "DSFinV-K spec §1.3 (country, currency)",
    },
    Check {
        code: "DSF029",
        family: FIELDS,
        severity: Severity::Error,
        title: "A flag is not `0` or `1`",
        rationale: "KEINE_UST_ZUORDNUNG, BON_STORNO, INHAUS and P_STORNO are `0`, `1` or empty when unknown.",
        source: "DSFinV-K spec §1.3 (booleans)",
    },
    Check {
        code: "DSF101",
        family: VORGANG,
        severity: Severity::Error,
        title: "V1: a BON_ID occurs twice in the closing",
        rationale: "BON_ID identifies a Vorgang within its closing; the second row is reported.",
        source: "DSFinV-K spec §4 V1, §2.1",
    },
    Check {
        code: "DSF102",
        family: VORGANG,
        severity: Severity::Error,
        title: "V2: UMS_BRUTTO is not the sum of transactions_vat BON_BRUTTO",
        rationale: "Compared exactly, in decimal arithmetic.",
        source: "DSFinV-K spec §4 V2",
    },
    Check {
        code: "DSF103",
        family: VORGANG,
        severity: Severity::Error,
        title: "V3: UMS_BRUTTO is not the sum of datapayment BASISWAEH_BETRAG",
        rationale: "Payments net of change equal the receipt total. Checked for every Beleg and for other Vorgänge that have payment rows (unpaid AV… Vorgänge have none, V7).",
        source: "DSFinV-K spec §4 V3",
    },
    Check {
        code: "DSF104",
        family: VORGANG,
        severity: Severity::Error,
        title: "V4: BON_BRUTTO is not BON_NETTO + BON_UST",
        rationale: "Per VAT key of a Vorgang, exactly.",
        source: "DSFinV-K spec §4 V4",
    },
    Check {
        code: "DSF105",
        family: VORGANG,
        severity: Severity::Warning,
        title: "V5: BON_BRUTTO differs from the sum of the lines' gross for the key by more than rounding",
        rationale: "The header is the printed value, not a recomputed sum, so a difference up to 0,01 per line is tolerated. A line's gross is POS_BRUTTO, or POS_NETTO + POS_UST when it is empty (net method).",
        source: "DSFinV-K spec §4 V5",
    },
    Check {
        code: "DSF106",
        family: VORGANG,
        severity: Severity::Error,
        title: "V6: the lines' gross over all keys is not UMS_BRUTTO",
        rationale: "All lines, whatever their GV_TYP, add up to the receipt total. The sum of 5-decimal line amounts is rounded half away from zero to the 2 decimals of UMS_BRUTTO before comparing.",
        source: "DSFinV-K spec §4 V6",
    },
    Check {
        code: "DSF107",
        family: VORGANG,
        severity: Severity::Error,
        title: "V7: a Beleg without lines or payments, or an unpaid Vorgang type with a payment",
        rationale: "A Beleg has at least one lines and one datapayment row; AVTraining, AVBelegabbruch and AVSachbezug must not be paid (a payment row other than `Keine` with a non-zero amount).",
        source: "DSFinV-K spec §4 V7",
    },
    Check {
        code: "DSF108",
        family: VORGANG,
        severity: Severity::Error,
        title: "V8: an AVSonstige Vorgang has no BON_NAME",
        rationale: "AVSonstige must say what it is.",
        source: "DSFinV-K spec §4 V8",
    },
    Check {
        code: "DSF109",
        family: VORGANG,
        severity: Severity::Error,
        title: "V9: a reference is missing or incomplete",
        rationale: "Forderungsaufloesung and Anzahlungsaufloesung lines need a references.csv row; REF_TYP Transaktion needs REF_DATUM, REF_Z_KASSE_ID, REF_Z_NR and REF_BON_ID; other REF_TYPs leave REF_DATUM, REF_Z_KASSE_ID and REF_Z_NR empty.",
        source: "DSFinV-K spec §4 V9",
    },
    Check {
        code: "DSF110",
        family: VORGANG,
        severity: Severity::Error,
        title: "V10: a VAT key, agency or TSE is not declared in the closing's master data",
        rationale: "Every UST_SCHLUESSEL used is in vat.csv, every AGENTUR_ID other than 0 in pa.csv, every TSE_ID in tse.csv, of the same closing.",
        source: "DSFinV-K spec §4 V10",
    },
    Check {
        code: "DSF111",
        family: VORGANG,
        severity: Severity::Error,
        title: "V11: VAT key 7 is used but KEINE_UST_ZUORDNUNG is not 1",
        rationale: "Key 7 (VAT not determinable) requires the register's flag.",
        source: "DSFinV-K spec §4 V11",
    },
    Check {
        code: "DSF112",
        family: VORGANG,
        severity: Severity::Error,
        title: "V12: a line is voided with P_STORNO = 1 in a TSE-signed Vorgang",
        rationale: "Once the transaction is signed a line can only be reversed by a negative-quantity line.",
        source: "DSFinV-K spec §4 V12",
    },
    Check {
        code: "DSF113",
        family: VORGANG,
        severity: Severity::Error,
        title: "V13: a Vorgang of a closing with a TSE has no TSE transaction",
        rationale: "When tse.csv lists a TSE for the closing, every Vorgang but AVBelegstorno (not usable with a TSE) must be secured.",
        source: "DSFinV-K spec §4 V13",
    },
    Check {
        code: "DSF114",
        family: VORGANG,
        severity: Severity::Error,
        title: "V1: POS_ZEILE is not unique and continuous within its Vorgang",
        rationale: "Line numbers of a Vorgang are unique; when they are integers they must be consecutive, without gaps.",
        source: "DSFinV-K spec §4 V1, §2.1",
    },
    Check {
        code: "DSF115",
        family: VORGANG,
        severity: Severity::Error,
        title: "A row refers to a Vorgang or line that does not exist",
        rationale: "Every receipt-level row's BON_ID is in transactions.csv, and every lines_vat row's POS_ZEILE in lines.csv, of the same closing.",
        source: "DSFinV-K spec §2.1 (keys)",
    },
    Check {
        code: "DSF201",
        family: CLOSING,
        severity: Severity::Error,
        title: "C1: a closing lacks its master data or aggregates, or has them twice",
        rationale: "Exactly one row each in cashpointclosing, location and cashregister per closing key; vat.csv not empty; if any Kassenabschluss row exists, businesscases, payment and cash_per_currency all have rows. Rows whose closing has no cashpointclosing row are reported here too.",
        source: "DSFinV-K spec §4 C1; AmadeusVerify error 108",
    },
    Check {
        code: "DSF202",
        family: CLOSING,
        severity: Severity::Error,
        title: "C2: businesscases does not sum the lines of the Belege",
        rationale: "Per (GV_TYP, GV_NAME, AGENTUR_ID, UST_SCHLUESSEL): Z_UMS_BRUTTO, Z_UMS_NETTO and Z_UST equal the sums of POS_BRUTTO, POS_NETTO and POS_UST over lines of BON_TYP Beleg; a component is skipped when a line lacks it (gross or net method).",
        source: "DSFinV-K spec §4 C2",
    },
    Check {
        code: "DSF203",
        family: CLOSING,
        severity: Severity::Error,
        title: "C3: payment does not sum the Belege's payments",
        rationale: "Per (ZAHLART_TYP, ZAHLART_NAME): Z_ZAHLART_BETRAG = Σ datapayment BASISWAEH_BETRAG of Belege.",
        source: "DSFinV-K spec §4 C3",
    },
    Check {
        code: "DSF204",
        family: CLOSING,
        severity: Severity::Error,
        title: "C4: Z_SE_ZAHLUNGEN is not the sum of payment",
        rationale: "Z_SE_ZAHLUNGEN = Σ payment.Z_ZAHLART_BETRAG.",
        source: "DSFinV-K spec §4 C4",
    },
    Check {
        code: "DSF205",
        family: CLOSING,
        severity: Severity::Error,
        title: "C5: Z_SE_BARZAHLUNGEN is not the sum of the Bar payments",
        rationale: "Z_SE_BARZAHLUNGEN = Σ payment.Z_ZAHLART_BETRAG where ZAHLART_TYP is Bar.",
        source: "DSFinV-K spec §4 C5",
    },
    Check {
        code: "DSF206",
        family: CLOSING,
        severity: Severity::Error,
        title: "C6: cash_per_currency does not sum the cash payments",
        rationale: "Per currency ZAHLART_BETRAG_WAEH = Σ Bar datapayment of Belege in that currency (ZAHLWAEH_BETRAG for a foreign currency, BASISWAEH_BETRAG for the base currency); their base amounts sum to Z_SE_BARZAHLUNGEN.",
        source: "DSFinV-K spec §4 C6",
    },
    Check {
        code: "DSF207",
        family: CLOSING,
        severity: Severity::Error,
        title: "C7: the businesscases gross is not Z_SE_ZAHLUNGEN",
        rationale: "Σ businesscases.Z_UMS_BRUTTO = Z_SE_ZAHLUNGEN.",
        source: "DSFinV-K spec §4 C7",
    },
    Check {
        code: "DSF208",
        family: CLOSING,
        severity: Severity::Error,
        title: "C8: Z_START_ID or Z_ENDE_ID is not the closing's first or last BON_ID",
        rationale: "Compared with the first and last transactions.csv row of the closing, in file order.",
        source: "DSFinV-K spec §4 C8",
    },
    Check {
        code: "DSF209",
        family: CLOSING,
        severity: Severity::Warning,
        title: "C9: a closing amount is not shown with two decimals",
        rationale: "Closing amounts (Z_SE_*, businesscases, payment, cash_per_currency) are written with exactly two decimals, even in 5-decimal columns.",
        source: "DSFinV-K spec §4 C9, §1.3 (amount display)",
    },
    Check {
        code: "DSF210",
        family: CLOSING,
        severity: Severity::Error,
        title: "C8: Z_NR is not continuous per Z_KASSE_ID",
        rationale: "Closing numbers of a register ascend without gaps or repeats over the export; a gap means a missing closing.",
        source: "DSFinV-K spec §4 C8, §2.1",
    },
    Check {
        code: "DSF301",
        family: TSE,
        severity: Severity::Error,
        title: "A TSE signature does not verify",
        rationale: "The FinishTransaction log is rebuilt from the transactions_tse row, the closing's tse.csv row and clientId KASSE_SERIENNR (TERMINAL_SERIENNR for a terminal's Vorgang), then verified with TSE_PUBLIC_KEY; every encoding variant is tried.",
        source: "DSFinV-K spec §5.2; BSI TR-03151",
    },
    Check {
        code: "DSF302",
        family: TSE,
        severity: Severity::Error,
        title: "A TSE transaction cannot be replayed",
        rationale: "A value the log message needs is missing or malformed (no clientId, unsupported algorithm or time format, bad Base64…), so the signature cannot be checked.",
        source: "DSFinV-K spec §5.2",
    },
    Check {
        code: "DSF303",
        family: TSE,
        severity: Severity::Error,
        title: "TSE_VORGANGSDATEN differs from the processData rebuilt from the Vorgang",
        rationale: "For Kassenbeleg-V1 the processData is rebuilt from BON_TYP, transactions_vat (gross per slot, truncated to 2 decimals) and datapayment (Bar/Unbar per currency, `Keine` left out) and compared by value. When TSE_VORGANGSDATEN is empty the rebuilt processData is what the signature is checked against.",
        source: "DSFinV-K spec §5.1",
    },
    Check {
        code: "DSF304",
        family: TSE,
        severity: Severity::Error,
        title: "The TSE certificate does not certify TSE_PUBLIC_KEY",
        rationale: "TSE_ZERTIFIKAT_I, _II (and further parts) hold the Base64 X.509 certificate of the TSE whose key signs the Vorgänge. A certificate of another key, or one that cannot be read, leaves the signatures tied to no certified TSE. Only the key is compared; chains and validity are not checked.",
        source: "DSFinV-K spec §2.2 (tse.csv), §5.2",
    },
];

/// The check with this code.
pub fn check(code: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.code == code)
}

/// docs/dsfinvk-verify.md, generated from [`CHECKS`].
pub fn markdown() -> String {
    crate::validate::catalog::render_markdown(
        "# DSFinV-K export checks\n\n<!-- Generated from src/export/dsfinvk/check/catalog.rs by `cargo test` (check::catalog::tests::docs_dsfinvk_verify_md_is_current); do not edit. -->\n\nEvery check `fiskal verify dsfinvk` runs on an export, with its code, severity, what it checks, why, and its source. docs/dsfinvk.md describes the command.\n",
        CHECKS,
        "check",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_ordered() {
        for w in CHECKS.windows(2) {
            assert!(w[0].code < w[1].code, "{} before {}", w[0].code, w[1].code);
        }
    }

    #[test]
    fn docs_dsfinvk_verify_md_is_current() {
        crate::validate::catalog::assert_generated_doc(
            "docs/dsfinvk-verify.md",
            &markdown(),
            "docs_dsfinvk_verify_md_is_current",
        );
    }
}
