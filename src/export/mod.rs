//! Exporters: the files auditors demand, written from the canonical model.
//!
//! **Boundary:** exporters read only the canonical model (`crate::model`) and master data,
//! never wire types; ingest is the only code that knows those. The same input gives the same
//! bytes: no clock, no unordered iteration in what is written.
//!
//! - [`dsfinvk`]: the German DSFinV-K export (20 CSV tables, index.xml and the GDPdU DTD);
//! - [`dep7`]: the Austrian RKSV DEP7 export (one JSON file of signed receipts per cash box);
//! - [`rt`]: the Italian daily closing (DatiCorrispettivi COR10), one sealed XML per closing.
//!
//! [`ZTotals`] is what the DSFinV-K and RT exports state of each closing, for the audit report.

pub mod dep7;
pub mod dsfinvk;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod rt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use crate::model::keyed::KeyedSums;

/// The totals of one closing (Z) as an export wrote them, for the audit report to tie out.
///
/// Every amount is the value in the file, read back from the text written (rounded as the
/// file rounds it), so what the report shows is what an auditor finds in the export, not a
/// figure recomputed beside it. Exporters fill it; neither summary.json nor `--json` output
/// carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZTotals {
    /// `"dsfinvk"` or `"rt"`.
    #[serde(deserialize_with = "format_name")]
    pub format: FormatName,
    /// DSFinV-K: Z_KASSE_ID. RT: the register of the closing's documents, else the one the
    /// master data assigns to the RT, else the matricola.
    pub register: String,
    /// RT: the matricola. DSFinV-K: `None`.
    pub device: Option<String>,
    /// DSFinV-K: Z_NR. RT: the daily closing number, the file name's `ZZZZ`.
    pub z_nr: u64,
    /// DSFinV-K: Z_BUCHUNGSTAG, or the date of Z_ERSTELLUNG when that is empty. RT: the date
    /// of `DataOraRilevazione`; `None` when no document of the closing has a time, as the XML
    /// then has no `DataOraRilevazione`.
    pub business_day: Option<NaiveDate>,
    /// Per VAT rate as written: DSFinV-K `19.00`, `7.00`, `0.00`… (the UST_SATZ of the key,
    /// keys of equal rate summed); RT `AliquotaIVA` (`22.00`) or the `Natura` code (`N1`…`N6`).
    ///
    /// DSFinV-K sums businesscases.csv over every GV_TYP, so cash movements and voucher sales
    /// (at the 0 % keys) are in: that is what makes `gross` tie to Z_SE_ZAHLUNGEN.
    pub by_rate: KeyedSums<ZAmounts>,
    /// Sum of `by_rate` gross.
    pub gross: Decimal,
    /// Sum of `by_rate` net.
    pub net: Decimal,
    /// Sum of `by_rate` tax.
    pub tax: Decimal,
    /// DSFinV-K: Z_SE_ZAHLUNGEN. RT: `PagatoContanti` + `PagatoElettronico`, which count the
    /// sale documents only, so they exceed `gross` by the resi and annulli at their gross.
    pub payments_total: Decimal,
    /// DSFinV-K: Z_SE_BARZAHLUNGEN. RT: `PagatoContanti`.
    pub cash: Decimal,
    /// DSFinV-K: the closing's transactions.csv rows (Vorgänge, `AV…` types included). RT:
    /// `NumeroDocCommerciali`.
    pub documents: u64,
    /// RT: the sum of `TotaleAmmontareResi` (net of VAT) over all rows. DSFinV-K: `None`,
    /// since returns are negative amounts inside `by_rate` there.
    pub resi: Option<Decimal>,
    /// RT: the sum of `TotaleAmmontareAnnulli` (net of VAT) over all rows. DSFinV-K: `None`.
    pub annulli: Option<Decimal>,
    /// The archive or XML the closing is in, the same path string the summary lists it by.
    pub file: String,
}

/// A closing's format. Spelled as an alias because serde's derive takes a field written
/// `&str` for text borrowed from the input.
type FormatName = &'static str;

/// A closing's `format` read back as the exporters' own `&'static str`.
fn format_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    let s = String::deserialize(d)?;
    ["dsfinvk", "rt"]
        .into_iter()
        .find(|f| *f == s)
        .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a closing format")))
}

/// The amounts of one VAT rate in a closing; `gross = net + tax` in both formats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZAmounts {
    /// DSFinV-K: Z_UMS_BRUTTO. RT: the sum of `ImportoParziale` and `Imposta`, the gross
    /// collected (sales less resi and annulli).
    pub gross: Decimal,
    /// DSFinV-K: Z_UMS_NETTO. RT: `ImportoParziale`.
    pub net: Decimal,
    /// DSFinV-K: Z_UST. RT: `Imposta` (zero for a Natura row, which has none).
    pub tax: Decimal,
}

impl ZTotals {
    /// Sets `gross`, `net` and `tax` to the sums of `by_rate`.
    pub fn sum_rates(&mut self) {
        // Each amount fits the file it was read from; only their sum could leave Decimal's
        // range, and a report must not panic on it.
        let (mut gross, mut net, mut tax) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
        for a in self.by_rate.values() {
            gross = gross.saturating_add(a.gross);
            net = net.saturating_add(a.net);
            tax = tax.saturating_add(a.tax);
        }
        (self.gross, self.net, self.tax) = (gross, net, tax);
    }
}
