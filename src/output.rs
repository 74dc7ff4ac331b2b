//! Output: human text or JSON lines on stdout, progress on stderr. The only place that prints.
//!
//! Human output is for people at a terminal; `--json` gives one JSON object per line for
//! pipelines. Progress bars appear only when stderr is a terminal and never in JSON mode, so
//! CI logs and pipes stay clean.

use std::io::{self, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Text for people.
    Human,
    /// One JSON object per line.
    Json,
}

/// Where results go.
pub struct Output {
    format: Format,
    quiet: bool,
    out: Box<dyn Write>,
}

impl Output {
    /// Prints to stdout.
    pub fn stdout(format: Format, quiet: bool) -> Output {
        Output {
            format,
            quiet,
            out: Box::new(io::BufWriter::new(io::stdout())),
        }
    }

    /// The output format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Human text (ignored in JSON mode).
    pub fn human(&mut self, text: &str) -> io::Result<()> {
        if self.format == Format::Human {
            self.out.write_all(text.as_bytes())?;
            if !text.ends_with('\n') {
                self.out.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    /// One JSON line `{"type": kind, ...value}` (ignored in human mode).
    pub fn json<T: Serialize>(&mut self, kind: &str, value: &T) -> io::Result<()> {
        if self.format == Format::Json {
            let mut v = serde_json::to_value(value).map_err(io::Error::other)?;
            let line = match &mut v {
                serde_json::Value::Object(map) => {
                    let mut obj = serde_json::Map::new();
                    obj.insert("type".into(), kind.into());
                    obj.append(map);
                    serde_json::Value::Object(obj)
                }
                other => serde_json::json!({ "type": kind, "value": other }),
            };
            serde_json::to_writer(&mut self.out, &line).map_err(io::Error::other)?;
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Flushes stdout.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// A progress bar on stderr, hidden unless stderr is a terminal and output is human.
    pub fn progress(&self, len: Option<u64>, what: &str) -> ProgressBar {
        let visible = !self.quiet
            && self.format == Format::Human
            && io::IsTerminal::is_terminal(&io::stderr());
        let bar = match len {
            Some(n) => ProgressBar::with_draw_target(Some(n), draw_target(visible)).with_style(
                ProgressStyle::with_template(
                    "{spinner} {msg} [{bar:30}] {human_pos}/{human_len} ({per_sec}, {eta})",
                )
                .expect("static template"),
            ),
            None => ProgressBar::with_draw_target(None, draw_target(visible)).with_style(
                ProgressStyle::with_template("{spinner} {msg} {human_pos} ({per_sec})")
                    .expect("static template"),
            ),
        };
        bar.set_message(what.to_string());
        bar
    }
}

fn draw_target(visible: bool) -> ProgressDrawTarget {
    if visible {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}
