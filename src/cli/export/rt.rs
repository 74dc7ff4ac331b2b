//! `fiskal export rt`: the daily closings (DatiCorrispettivi COR10) of every Italian RT in the
//! input, rebuilt from its documents.
//!
//! Streams the histories and writes `<matricola>_<ZZZZ>.xml` per (RT, daily closing) into
//! `--out` (docs/rt.md), each sealed with the master data's `[rt_seal]` and written to a
//! temporary name first. The files are reconstructions for comparison with what the device
//! transmitted (`fiskal verify rt-xml DEVICE.xml --compare OURS.xml`), never a substitute
//! for it. Exit 0 from clean input, 1 when a record was rejected or a document was left out,
//! 2 when nothing could be read, the master data has no usable seal, a document cannot be put
//! into a closing (a 0 % line without Natura code) or a file cannot be written.

use std::path::PathBuf;

use anyhow::Context;

use super::super::Outcome;
use super::super::common::{self, InputArgs};
use crate::export::rt::{Seal, Writer};
use crate::ingest::Mode;
use crate::output::Output;

/// Arguments of `fiskal export rt`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  fiskal export rt fixtures/demo --out rt/\n  fiskal export rt dumps/ --master-data md.toml --out out/ --json"
)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Directory to write the XML files into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// The seal of the master data, or why there is none.
pub fn seal(md: Option<&crate::model::masterdata::MasterData>) -> anyhow::Result<Seal> {
    let s = md.and_then(|m| m.rt_seal.as_ref()).context(
        "no [rt_seal] in the master data: the COR10 schema requires a signature, and fiskal signs its reconstructions with a seal you supply (docs/masterdata.md)",
    )?;
    Seal::from_master_data(s).map_err(|e| anyhow::anyhow!("[rt_seal] {e}"))
}

/// Runs `fiskal export rt`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    let md = common::load_master_data(&args.input)?;
    let md = md.as_ref().map(|(_, m)| m);
    let seal = seal(md)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut writer = Writer::new(&args.out, md, &seal);
    let summary = common::ingest_inputs(
        &args.input,
        Mode::Streaming,
        out,
        &mut |_| Ok(()),
        &mut |op, _| {
            writer.push(&op);
            Ok(())
        },
    )?;
    let (files, skipped) = writer.finish()?;
    if files.is_empty() {
        out.human("no RT document in the input")?;
    }
    for f in &files {
        out.human(&format!(
            "wrote {} (RT {}, closing {}, {} documents, {} Riepilogo rows)",
            f.path, f.rt_serial, f.daily_closing_number, f.documents, f.rows
        ))?;
        out.json("rt_closing", f)?;
    }
    for (op, why) in &skipped {
        out.human(&format!("left out operation {op}: {why}"))?;
        out.json(
            "rt_left_out",
            &serde_json::json!({"operation_id": op, "reason": why}),
        )?;
    }
    Ok(if summary.rejected > 0 || !skipped.is_empty() {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
