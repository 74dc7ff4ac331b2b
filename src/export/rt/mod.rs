//! The Italian daily closing (`DatiCorrispettivi`, versione COR10, tracciato 7.0; spec rt.md
//! §1, §6) rebuilt from the documents of an RT's operations: one XML per (rt_serial,
//! daily_closing_number).
//!
//! What a closing holds is fixed per VAT key (rate, or Natura code for 0 %): the gross of the
//! sale documents, of the resi and of the annulli. From those the `Riepilogo` rows follow by
//! scorporo (rt.md §1.4: `Imposta = round_half_up(G × a / (100 + a), 2)`, rounded half away
//! from zero as `money::round_commercial` does, on the collected gross `S − R − A`), so a
//! closing needs no document after it has been added: the writer streams and keeps per open
//! closing a few sums per key, and per sale document only its gross per key, for the annulli
//! that may cancel it later.
//!
//! fiskal is not the device: the reconstruction is sealed with the key and certificate of the
//! master data's `[rt_seal]` (a merchant or auditor seal) using the device's XML-DSig profile
//! (enveloped, inclusive C14N 1.0, SHA-256, RSA-SHA256; rt.md §1.5). RSA PKCS#1 v1.5 is
//! deterministic, so the same input gives the same bytes. The XML is written in canonical form
//! to begin with, so its C14N is the text itself and the digest is taken over what is written.

mod originals;
pub mod seal;
mod xml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::export::{KeyedSums, ZAmounts, ZTotals};
use crate::model::masterdata::MasterData;
use crate::model::money::round_commercial;
use crate::model::templog::JsonLines;
use crate::model::{
    Direction, Fiscal, LineKind, LineRole, Operation, OperationKind, PaymentMethod, Timestamp,
};
use crate::validate::sequence::hash;

pub use seal::Seal;

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The master data has no usable seal.
    #[error("RT seal: {0} (the master data's [rt_seal], docs/masterdata.md)")]
    Seal(String),
    /// A document cannot be put into a closing.
    #[error("operation {operation}: {message}")]
    Operation {
        /// The operation.
        operation: String,
        /// What is wrong.
        message: String,
    },
    /// A file could not be written.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The list of closings written could not be read back from its temporary file.
    #[error("reading back the closings written: {0}")]
    Written(std::io::Error),
}

/// The key of a `Riepilogo` row: a VAT rate in percent (`22.00`) or a Natura code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    /// `IVA/AliquotaIVA`, percent with two decimals. Sorted so that higher rates come first.
    Rate(std::cmp::Reverse<Decimal>),
    /// `Natura` N1…N6.
    Natura(String),
}

/// Gross amounts of one key in one closing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    /// Sale documents.
    pub sales: Decimal,
    /// Reso documents (goods returned), positive.
    pub resi: Decimal,
    /// Annullo documents (documents cancelled), positive.
    pub annulli: Decimal,
}

/// One daily closing while its documents are added.
#[derive(Debug, Clone)]
pub struct Closing {
    /// Matricola of the RT.
    pub rt_serial: String,
    /// The register of the closing's first document that names one.
    pub register_id: Option<String>,
    /// Daily closing number (Z).
    pub z: u32,
    /// Documents (documenti commerciali) of the closing.
    pub documents: u64,
    /// Time of the last document, in local time where the master data knows the location.
    pub last_document: Option<Timestamp>,
    /// Gross per key.
    pub sums: BTreeMap<Key, Sums>,
    /// Cash paid on sale documents.
    pub cash: Decimal,
    /// Everything else paid on sale documents (cards, wallets, online, vouchers, gift cards).
    pub electronic: Decimal,
}

/// One written closing, as printed with `--json` and listed in the audit summary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClosingFile {
    /// Matricola.
    pub rt_serial: String,
    /// Daily closing number.
    pub daily_closing_number: u32,
    /// Path of the XML.
    pub path: String,
    /// Documents in the closing.
    pub documents: u64,
    /// Riepilogo rows.
    pub rows: usize,
    /// The closing's totals as the XML states them, `file` the same string as `path` (kept so
    /// by [`ClosingFile::set_path`]); always `Some` for a file the [`Writer`] wrote. Not part of
    /// summary.json or `--json` output.
    #[serde(skip)]
    pub z: Option<ZTotals>,
}

impl ClosingFile {
    /// Sets `path` and the `file` of the closing's totals to it, so that the report finds the
    /// closing under the path the summary lists it by.
    pub fn set_path(&mut self, path: String) {
        if let Some(z) = &mut self.z {
            z.file.clone_from(&path);
        }
        self.path = path;
    }
}

/// The gross of a document per key, signed as it counts: what an annullo cancels.
type Split = BTreeMap<Key, Decimal>;

/// Documents left out of every closing: operation id and why.
pub type LeftOut = Vec<(String, String)>;

/// What a nightly run (`audit --state`) hands the next: the last closing written per RT, and
/// the split of every sale document an annullo of a later night may cancel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Carry {
    /// Matricola → daily closing number of the last closing written.
    pub written: BTreeMap<String, u32>,
    /// Id hash of a sale document → its gross per key (`22.00` for a rate, `N1`…`N6`).
    pub originals: BTreeMap<u64, BTreeMap<String, Decimal>>,
}

impl Key {
    fn to_text(&self) -> String {
        match self {
            Key::Rate(r) => r.0.to_string(),
            Key::Natura(n) => n.clone(),
        }
    }

    fn from_text(s: &str) -> Option<Key> {
        if s.starts_with('N') {
            Some(Key::Natura(s.to_string()))
        } else {
            s.parse().ok().map(|d| Key::Rate(std::cmp::Reverse(d)))
        }
    }
}

/// Builds closings from the operation stream and writes each as soon as the next closing of
/// its device begins.
pub struct Writer<'m> {
    dir: PathBuf,
    md: Option<&'m MasterData>,
    seal: &'m Seal,
    open: BTreeMap<String, Closing>,
    /// Gross per key of sale documents, by id hash, for the annulli that refer to them.
    originals: originals::Originals,
    /// The closings written, each with its totals: at ten million operations they were 60 MB
    /// held through the whole read, and nothing looks at them before [`finish`](Self::finish).
    written: JsonLines,
    /// Per matricola the last closing written by an earlier run: its documents come too late.
    written_before: BTreeMap<String, u32>,
    /// Documents left out: no closing number, or an annullo whose original is not in the
    /// input (its split per key is unknown).
    pub skipped: LeftOut,
    error: Option<Error>,
}

impl<'m> Writer<'m> {
    /// A writer into `dir` sealing with `seal`; `md` gives the locations' time zones.
    pub fn new(dir: &Path, md: Option<&'m MasterData>, seal: &'m Seal) -> Writer<'m> {
        Writer {
            dir: dir.to_path_buf(),
            md,
            seal,
            open: BTreeMap::new(),
            originals: originals::Originals::default(),
            written: JsonLines::new("RT closings written"),
            written_before: BTreeMap::new(),
            skipped: Vec::new(),
            error: None,
        }
    }

    /// A writer going on from an earlier run's [`Carry`]. A document of a closing that run
    /// already wrote is left out and reported: the file exists and is sealed.
    pub fn resume(
        dir: &Path,
        md: Option<&'m MasterData>,
        seal: &'m Seal,
        carry: Carry,
    ) -> Writer<'m> {
        let mut w = Writer::new(dir, md, seal);
        w.written_before = carry.written;
        for (h, split) in carry.originals {
            let split: Split = split
                .into_iter()
                .filter_map(|(k, v)| Some((Key::from_text(&k)?, v)))
                .collect();
            w.originals.insert(h, &split);
        }
        w
    }

    /// Adds the operation's document, if it is an RT one, to its closing.
    pub fn push(&mut self, op: &Operation) {
        let Some(Fiscal::Rt(f)) = &op.fiscal else {
            return;
        };
        if self.error.is_some() {
            return;
        }
        let (Some(serial), Some(z)) = (f.rt_serial.as_deref(), f.daily_closing_number) else {
            self.skipped
                .push((op.id.clone(), "no rt_serial or daily_closing_number".into()));
            return;
        };
        if let Some(&done) = self.written_before.get(serial)
            && z <= done
        {
            self.skipped.push((
                op.id.clone(),
                format!("daily closing {z:04} of RT {serial} was written by an earlier run"),
            ));
            return;
        }
        if self.open.get(serial).is_some_and(|c| c.z != z) {
            let done = self.open.remove(serial).expect("checked");
            self.write(done);
        }
        let split = match document_split(op, &mut self.originals) {
            Ok(s) => s,
            Err(message) => {
                self.error = Some(Error::Operation {
                    operation: op.id.clone(),
                    message,
                });
                return;
            }
        };
        let Some((kind, split)) = split else {
            self.skipped.push((
                op.id.clone(),
                "an annullo whose original document is not in the input".into(),
            ));
            return;
        };
        let at = op.timestamps.completed.or(op.timestamps.effective());
        let at = at.map(|t| local(t, op, self.md));
        let c = self
            .open
            .entry(serial.to_string())
            .or_insert_with(|| Closing {
                rt_serial: serial.to_string(),
                register_id: None,
                z,
                documents: 0,
                last_document: None,
                sums: BTreeMap::new(),
                cash: Decimal::ZERO,
                electronic: Decimal::ZERO,
            });
        c.documents += 1;
        if c.register_id.is_none() {
            c.register_id.clone_from(&op.register_id);
        }
        if let Some(t) = at
            && c.last_document.is_none_or(|l| l.utc() <= t.utc())
        {
            c.last_document = Some(t);
        }
        for (key, gross) in &split {
            let s = c.sums.entry(key.clone()).or_default();
            let slot = match kind {
                DocKind::Sale => &mut s.sales,
                DocKind::Reso => &mut s.resi,
                DocKind::Annullo => &mut s.annulli,
            };
            *slot += *gross;
        }
        if kind == DocKind::Sale {
            // rt.md §1.4: the payments of the day's sale documents; refunds of resi and annulli
            // are not netted out of them.
            for p in op.payments.iter().filter(|p| p.direction == Direction::In) {
                if p.method == PaymentMethod::Cash {
                    c.cash += p.amount.abs();
                } else {
                    c.electronic += p.amount.abs();
                }
            }
            if op.kind.moves_goods() {
                self.originals.insert(hash(&op.id), &split);
            }
        }
    }

    fn write(&mut self, c: Closing) {
        if self.error.is_some() {
            return;
        }
        let name = file_name(&c);
        let path = self.dir.join(&name);
        let bytes = xml::render(&c, self.seal);
        match crate::fsutil::write_atomic(&path, &bytes) {
            Ok(()) => {
                let path = path.display().to_string();
                let z = z_totals(&c, self.md, &path);
                let file = ClosingFile {
                    rt_serial: c.rt_serial.clone(),
                    daily_closing_number: c.z,
                    documents: c.documents,
                    rows: c.sums.len(),
                    z: None,
                    path,
                };
                self.written.push(&(file, z));
            }
            Err(source) => self.error = Some(Error::Io { path, source }),
        }
    }

    /// [`finish`](Self::finish), and what the next run goes on from.
    pub fn finish_carry(mut self) -> Result<(Vec<ClosingFile>, LeftOut, Carry), Error> {
        let originals = std::mem::take(&mut self.originals);
        let mut written = std::mem::take(&mut self.written_before);
        let (files, left_out) = self.finish()?;
        for f in &files {
            let z = written.entry(f.rt_serial.clone()).or_insert(0);
            *z = (*z).max(f.daily_closing_number);
        }
        let originals = originals.into_carry();
        Ok((files, left_out, Carry { written, originals }))
    }

    /// Writes the closings still open; the files written, in order of writing.
    pub fn finish(mut self) -> Result<(Vec<ClosingFile>, LeftOut), Error> {
        let open = std::mem::take(&mut self.open);
        for (_, c) in open {
            self.write(c);
        }
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut files = Vec::new();
        self.written
            .read_all(&mut |(mut file, z): (ClosingFile, ZTotals)| {
                file.z = Some(z);
                files.push(file);
            })
            .map_err(Error::Written)?;
        // In RT and closing order, whatever order the closings were completed in.
        files.sort_by(|a, b| {
            (&a.rt_serial, a.daily_closing_number).cmp(&(&b.rt_serial, b.daily_closing_number))
        });
        Ok((files, self.skipped))
    }
}

/// The totals of `c` as [`xml::render`] writes them: every amount is the text of its element
/// read back, so it carries the XML's rounding.
///
/// Per key, net is `ImportoParziale` and tax `Imposta`, both of the gross collected (sales
/// less resi and annulli), so gross = net + tax is that collected gross exactly. `Ammontare`
/// is not used: it adds the resi and annulli back at their net, and with `Imposta` (taken on
/// the collected gross) it would add up to no amount of the day.
fn z_totals(c: &Closing, md: Option<&MasterData>, file: &str) -> ZTotals {
    let written = |d: Decimal| -> Decimal { xml::amount(d).parse().unwrap_or(d) };
    let mut by_rate = KeyedSums::default();
    let (mut resi, mut annulli) = (Decimal::ZERO, Decimal::ZERO);
    for (key, sums) in &c.sums {
        let row = Row::of(key, sums);
        let name = match key {
            Key::Rate(std::cmp::Reverse(rate)) => xml::amount(*rate),
            Key::Natura(n) => n.clone(),
        };
        let net = written(row.importo_parziale);
        let tax = written(row.imposta.unwrap_or_default());
        // Only totals of at least 10^28 could overflow; the report must not panic on them.
        let a: &mut ZAmounts = by_rate.slot(&name);
        a.net = a.net.saturating_add(net);
        a.tax = a.tax.saturating_add(tax);
        a.gross = a.net.saturating_add(a.tax);
        resi = resi.saturating_add(written(row.resi));
        annulli = annulli.saturating_add(written(row.annulli));
    }
    // The report groups everything else by the register the operations name, so the
    // documents' register comes first; the master data's assignment only when none names one.
    let register = c
        .register_id
        .clone()
        .or_else(|| {
            md?.rt
                .iter()
                .find(|d| d.serial == c.rt_serial)
                .map(|d| d.register_id.clone())
        })
        .unwrap_or_else(|| c.rt_serial.clone());
    let cash = written(c.cash);
    let mut z = ZTotals {
        format: "rt",
        register,
        device: Some(c.rt_serial.clone()),
        z_nr: u64::from(c.z),
        business_day: c.last_document.map(|t| t.0.date_naive()),
        by_rate,
        gross: Decimal::ZERO,
        net: Decimal::ZERO,
        tax: Decimal::ZERO,
        payments_total: cash.saturating_add(written(c.electronic)),
        cash,
        documents: c.documents,
        resi: Some(resi),
        annulli: Some(annulli),
        file: file.to_string(),
    };
    z.sum_rates();
    z
}

/// `<matricola>_<ZZZZ>.xml`: the closing's identity, as the document numbers print it.
pub fn file_name(c: &Closing) -> String {
    let safe: String = c
        .rt_serial
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' })
        .collect();
    format!("{safe}_{:04}.xml", c.z)
}

/// What a document is in the closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DocKind {
    Sale,
    Reso,
    Annullo,
}

/// The document's gross per key and what it counts as. `Ok(None)` for an annullo whose
/// original is unknown.
///
/// An exchange is one document paid by its balance: the goods that came back are netted
/// against the new ones per key, and the document counts as a sale, or as a reso when the
/// balance goes to the customer. Counted as a sale plus a reso instead, its gross would exceed
/// what was paid on it by the returned goods, and the day's totals would no longer tie to the
/// payments (rt.md §1.4).
fn document_split(
    op: &Operation,
    originals: &mut originals::Originals,
) -> Result<Option<(DocKind, Split)>, String> {
    if op.kind == OperationKind::Void {
        let Some(orig) = op
            .references
            .original_operation_id
            .as_deref()
            .and_then(|o| originals.get(hash(o)))
        else {
            return Ok(None);
        };
        return Ok(Some((DocKind::Annullo, orig)));
    }
    let reso = op.kind == OperationKind::Return;
    let mut split = Split::new();
    let allocated = allocate_cart_discounts(op);
    for (line, gross) in op.lines.iter().zip(allocated) {
        let key = line_key(line)?;
        // Goods that came back: every line of a return; in an exchange the returned lines
        // (by role in the register shape, by their negative amount in v1.1).
        let back = reso || line.role == LineRole::Returned || gross.is_sign_negative();
        let signed = if back && !reso {
            -gross.abs()
        } else {
            gross.abs()
        };
        *split.entry(key).or_default() += signed;
    }
    if let Some(tip) = op.tip.filter(|t| !t.is_zero())
        && !op.lines.iter().any(|l| l.kind == LineKind::Tip)
    {
        // A tip for the staff is outside the scope of VAT: non soggetta.
        *split.entry(Key::Natura("N2".into())).or_default() += tip.abs();
    }
    let balance: Decimal = split.values().sum();
    Ok(Some(if reso {
        (DocKind::Reso, split)
    } else if balance.is_sign_negative() {
        (
            DocKind::Reso,
            split.into_iter().map(|(k, v)| (k, -v)).collect(),
        )
    } else {
        (DocKind::Sale, split)
    }))
}

/// The Riepilogo key of a line: its VAT rate in percent, or for 0 % its Natura code.
fn line_key(line: &crate::model::Line) -> Result<Key, String> {
    let Some(tax) = line.taxes.first() else {
        // Untaxed lines (tips, vouchers without a tax entry) are outside the scope of VAT.
        return Ok(Key::Natura("N2".into()));
    };
    if tax.rate.is_zero() {
        let natura = [tax.category.as_deref(), tax.name.as_deref()]
            .into_iter()
            .flatten()
            .find(|c| matches!(*c, "N1" | "N2" | "N3" | "N4" | "N5" | "N6"));
        return natura
            .map(|n| Key::Natura(n.to_string()))
            .ok_or_else(|| {
                format!(
                    "line {:?} is at 0 % without a Natura code N1–N6; a daily closing needs one (rt.md §1.3)",
                    line.description
                )
            });
    }
    let percent = (tax.rate * Decimal::ONE_HUNDRED).round_dp(2);
    Ok(Key::Rate(std::cmp::Reverse(percent)))
}

/// Each line's gross after the cart-level discounts of the v1.1 shape, which the API does not
/// allocate to lines: pro rata by gross, the cents left by rounding to the largest lines
/// first, so the lines add up to the document total exactly.
fn allocate_cart_discounts(op: &Operation) -> Vec<Decimal> {
    op.lines
        .iter()
        .zip(op.cart_discount_shares())
        .map(|(l, s)| {
            let g = l.total_gross;
            if g.is_sign_negative() { g + s } else { g - s }
        })
        .collect()
}

/// `t` in the time zone of the operation's location, when the master data has it.
fn local(t: Timestamp, op: &Operation, md: Option<&MasterData>) -> Timestamp {
    let tz = op
        .location_id
        .as_deref()
        .and_then(|l| md?.location(l))
        .and_then(|l| l.time_zone.parse::<chrono_tz::Tz>().ok());
    match tz {
        Some(tz) => {
            let local = t.0.with_timezone(&tz);
            Timestamp(local.fixed_offset())
        }
        None => t,
    }
}

/// One Riepilogo row's amounts (rt.md §1.4, §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The key.
    pub key: Key,
    /// Imposta (rate rows only).
    pub imposta: Option<Decimal>,
    /// Ammontare.
    pub ammontare: Decimal,
    /// ImportoParziale.
    pub importo_parziale: Decimal,
    /// TotaleAmmontareResi, net.
    pub resi: Decimal,
    /// TotaleAmmontareAnnulli, net.
    pub annulli: Decimal,
}

impl Row {
    /// The row of `key` from its gross sums: scorporo at the rate for rate rows, gross as it
    /// is for Natura rows.
    pub fn of(key: &Key, s: &Sums) -> Row {
        let collected = s.sales - s.resi - s.annulli;
        match key {
            Key::Rate(std::cmp::Reverse(a)) => {
                let vat = |g: Decimal| round_commercial(g * a / (Decimal::ONE_HUNDRED + a), 2);
                let imposta = vat(collected);
                let importo_parziale = collected - imposta;
                let resi = s.resi - vat(s.resi);
                let annulli = s.annulli - vat(s.annulli);
                Row {
                    key: key.clone(),
                    imposta: Some(imposta),
                    ammontare: importo_parziale + resi + annulli,
                    importo_parziale,
                    resi,
                    annulli,
                }
            }
            Key::Natura(_) => Row {
                key: key.clone(),
                imposta: None,
                ammontare: s.sales,
                importo_parziale: collected,
                resi: s.resi,
                annulli: s.annulli,
            },
        }
    }
}

#[cfg(test)]
mod tests;
