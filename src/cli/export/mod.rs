//! `fiskal export`: tax-audit exports, one subcommand per format.
//!
//! `dsfinvk` (Germany), `dep7` (Austria) and `rt` (Italy); with the cargo feature `parquet`,
//! `parquet` (the canonical data as tables). Exit codes as for `check`: 0 clean, 1 when a
//! record was rejected, 2 when nothing could be read or master data the export needs is
//! missing.

pub mod dep7;
pub mod dsfinvk;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod rt;

use super::Outcome;
use crate::output::Output;

/// Arguments of `fiskal export`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The export format.
    #[command(subcommand)]
    pub format: Format,
}

/// The export formats.
#[derive(clap::Subcommand, Debug)]
pub enum Format {
    /// DSFinV-K (Germany): one zip per KassenSichV register with the 20 CSV tables,
    /// index.xml and the GDPdU DTD, for all closings in the input.
    Dsfinvk(dsfinvk::Args),
    /// DEP7 (Austria): one JSON file per RKSV cash box with its signed receipts in chain
    /// order, grouped by certificate, verified after writing.
    Dep7(dep7::Args),
    /// RT (Italy): one daily-closing XML (DatiCorrispettivi COR10) per RT and closing, rebuilt
    /// from the documents and sealed with the master data's seal.
    Rt(rt::Args),
    /// Parquet (cargo feature `parquet`): the validated canonical data as five tables,
    /// operations, lines, payments, sessions and findings, for DuckDB, Python or R.
    #[cfg(feature = "parquet")]
    Parquet(parquet::Args),
}

/// Runs `fiskal export`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    match &args.format {
        Format::Dsfinvk(a) => dsfinvk::run(a, out),
        Format::Dep7(a) => dep7::run(a, out),
        Format::Rt(a) => rt::run(a, out),
        #[cfg(feature = "parquet")]
        Format::Parquet(a) => parquet::run(a, out),
    }
}
