//! `fiskal verify tse-qr FILE|-`: verify the TSE signature of DSFinV-K receipt QR codes.
//!
//! One `V0;…` string per line (blank lines skipped), from a file or stdin (`-`). Prints per
//! line its number, the verdict, the curve and algorithm used, and for a failure the
//! diagnostics: problems, the to-be-signed bytes of the primary attempt and every variant
//! tried (docs/kassensichv.md). Exit 0 when every line verifies, 1 when any line is invalid
//! or unparsable, 2 when the file cannot be read.

use std::path::PathBuf;

use serde::Serialize;

use super::super::Outcome;
use super::{diagnostics, read_input, verdict_word};
use crate::output::Output;
use crate::regime::kassensichv::{Verdict, Verification, parse_qr, verify};

/// Arguments of `fiskal verify tse-qr`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  fiskal verify tse-qr receipts.txt\n  zbarimg -q --raw bon.png | fiskal verify tse-qr -\n  fiskal verify tse-qr receipts.txt --json | jq 'select(.verdict != \"valid\")'"
)]
pub struct Args {
    /// File with one receipt QR string (`V0;…`) per line; `-` reads stdin.
    pub input: PathBuf,
}

#[derive(Serialize)]
struct LineResult<'a> {
    line: usize,
    #[serde(flatten)]
    verification: &'a Verification,
}

#[derive(Serialize)]
struct Unparsable<'a> {
    line: usize,
    verdict: &'static str,
    error: &'a str,
}

#[derive(Serialize, Default)]
struct Summary {
    lines: usize,
    valid: usize,
    invalid: usize,
    unparsable: usize,
}

fn human(line: usize, v: &Verification) -> String {
    let curve = v.curve.map(|c| c.name()).unwrap_or("curve unknown");
    let mut s = format!(
        "line {line}: {} ({curve}, {}",
        verdict_word(v.verdict),
        v.algorithm
    );
    if let Some(m) = &v.matched {
        let pd = serde_json::to_value(m.process_data).unwrap_or_default();
        s += &format!(
            ", logTime {}, processData {}, signature {}",
            m.time_format.name(),
            pd.as_str().unwrap_or("?"),
            m.signature.name()
        );
    }
    s.push(')');
    s + &diagnostics(v, "primary attempt")
}

/// Counts and reports a line that is not a V0 code.
fn unparsable(
    out: &mut Output,
    summary: &mut Summary,
    line: usize,
    error: &str,
) -> anyhow::Result<()> {
    summary.unparsable += 1;
    out.human(&format!("line {line}: UNPARSABLE: {error}"))?;
    out.json(
        "tse_qr",
        &Unparsable {
            line,
            verdict: "unparsable",
            error,
        },
    )?;
    Ok(())
}

/// Runs `fiskal verify tse-qr`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    let bytes = read_input(&args.input)?;
    let mut summary = Summary::default();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = i + 1;
        let text = match std::str::from_utf8(raw) {
            Ok(t) => t.trim_end_matches('\r'),
            Err(e) => {
                summary.lines += 1;
                unparsable(out, &mut summary, line, &format!("not UTF-8: {e}"))?;
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        summary.lines += 1;
        match parse_qr(text) {
            Ok(log) => {
                let v = verify(&log);
                match v.verdict {
                    Verdict::Valid => summary.valid += 1,
                    Verdict::Invalid => summary.invalid += 1,
                }
                out.human(&human(line, &v))?;
                out.json(
                    "tse_qr",
                    &LineResult {
                        line,
                        verification: &v,
                    },
                )?;
            }
            Err(e) => {
                unparsable(out, &mut summary, line, &e.to_string())?;
            }
        }
    }
    out.human(&format!(
        "\n{} QR codes: {} valid, {} invalid, {} unparsable",
        summary.lines, summary.valid, summary.invalid, summary.unparsable
    ))?;
    out.json("tse_qr_summary", &summary)?;
    Ok(if summary.valid == summary.lines {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}
