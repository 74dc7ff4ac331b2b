//! `fiskal fetch`: pull operation histories from the OpenFiskal API into an NDJSON dump.
//!
//! Reads the API key from `OPENFISKAL_API_KEY` (never from a flag), walks each register's
//! paginated listing with retries, and writes `--out` (one operation per line, as served,
//! deduplicated and sorted) through `<DUMP>.partial` and `<DUMP>.checkpoint.json`; running
//! the same command again after a crash resumes. With `--master-data-out`, also writes a
//! master-data skeleton of what the operations show. Exit 0 when the dump is complete, 2 on
//! bad options, a missing key, an API error or exhausted retries (docs/fetch.md).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;

use super::Outcome;
use crate::ingest::api::skeleton::{self, Skeleton};
use crate::ingest::api::{
    self, ApiKey, ApiShape, Event, FetchOptions, Filters, Query, RetryCounts, RetryPolicy, Timeouts,
};
use crate::output::Output;

/// The environment variable holding the API key.
pub const KEY_VAR: &str = "OPENFISKAL_API_KEY";

/// Arguments of `fiskal fetch`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "The API key is read from the environment variable OPENFISKAL_API_KEY only.\n\n\
Examples:\n  \
export OPENFISKAL_API_KEY=ofk_platform_…\n  \
fiskal fetch --base-url https://api.openfiskal.com/v1 --register reg_1 reg_2 --out dump.ndjson\n  \
fiskal fetch --base-url $URL --api operations --all-registers --out march.ndjson \\\n      \
--from 2026-03-01T00:00:00Z --to 2026-04-01T00:00:00Z --master-data-out md.toml\n  \
fiskal check march.ndjson"
)]
pub struct Args {
    /// API root, e.g. `https://api.openfiskal.com/v1`.
    #[arg(long, value_name = "URL")]
    base_url: String,
    /// API shape: `registers` (GET /registers/{id}/operations) or `operations` (v1.1,
    /// GET /operations?register_id=…).
    #[arg(long, value_enum, default_value_t = ApiShape::Registers)]
    api: ApiShape,
    /// Registers to fetch (several after one flag, or the flag repeated).
    #[arg(long = "register", value_name = "ID", num_args = 1.., required_unless_present = "all_registers", conflicts_with = "all_registers")]
    registers: Vec<String>,
    /// Fetch every register: `registers` lists GET /registers first; `operations` lists
    /// GET /operations without a register filter.
    #[arg(long)]
    all_registers: bool,
    /// Act for this organization: header OpenFiskal-Organization (`registers`) or
    /// X-OpenFiskal-Merchant (`operations`).
    #[arg(long, value_name = "ORG")]
    organization: Option<String>,
    /// Only operations of this type (query parameter `type`, passed through).
    #[arg(long = "type", value_name = "TYPE")]
    kind: Option<String>,
    /// Only operations in this state (query parameter `state`, passed through).
    #[arg(long, value_name = "STATE")]
    state: Option<String>,
    /// Only operations from this time on (RFC 3339, query parameter `from`).
    #[arg(long, value_name = "TIME")]
    from: Option<String>,
    /// Only operations up to this time (RFC 3339, query parameter `to`).
    #[arg(long, value_name = "TIME")]
    to: Option<String>,
    /// Page size, 1–200.
    #[arg(long, default_value_t = api::MAX_LIMIT)]
    limit: u32,
    /// The dump to write (NDJSON); DUMP.partial and DUMP.checkpoint.json sit beside it until
    /// it is complete.
    #[arg(long, value_name = "DUMP")]
    out: PathBuf,
    /// Also write a master-data skeleton (commented TOML) of what the operations show.
    #[arg(long, value_name = "FILE")]
    master_data_out: Option<PathBuf>,
    /// Retries of one request before the run stops.
    #[arg(long, default_value_t = 8)]
    max_retries: u32,
    /// Retries of all requests of this run together.
    #[arg(long, default_value_t = 200)]
    retry_budget: u32,
    /// Ceiling of the random wait before the first retry, in milliseconds; it doubles with
    /// each retry of the same request.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    backoff_ms: u64,
    /// Longest wait before a retry, in milliseconds, also when Retry-After asks for more.
    #[arg(long, value_name = "MS", default_value_t = 60_000)]
    max_backoff_ms: u64,
    /// How often one register's listing may start over after its cursor was rejected.
    #[arg(long, default_value_t = 3)]
    max_restarts: u32,
    /// Seconds to establish a connection (fractions allowed).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, value_parser = seconds)]
    connect_timeout: f64,
    /// Seconds to wait for the next bytes of a response (fractions allowed).
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = seconds)]
    read_timeout: f64,
    /// Seed of the backoff jitter (tests); default: from the clock.
    #[arg(long, hide = true)]
    jitter_seed: Option<u64>,
}

fn seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 86_400.0 => Ok(v),
        _ => Err(format!(
            "{s:?} is not a number of seconds between 0 and 86400"
        )),
    }
}

#[derive(Serialize)]
struct Summary<'a> {
    #[serde(flatten)]
    fetch: &'a api::FetchSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    master_data_out: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    master_data_missing: Option<Vec<String>>,
}

/// Runs `fiskal fetch`.
pub fn run(args: &Args, out: &mut Output) -> anyhow::Result<Outcome> {
    let key = match std::env::var(KEY_VAR) {
        Ok(k) if !k.is_empty() => ApiKey::new(k).map_err(|e| anyhow::anyhow!("{KEY_VAR}: {e}"))?,
        Ok(_) | Err(std::env::VarError::NotPresent) => bail!(
            "{KEY_VAR} is not set: fiskal fetch reads the API key from this environment variable only"
        ),
        Err(std::env::VarError::NotUnicode(_)) => bail!("{KEY_VAR} is not valid UTF-8"),
    };
    let opts = FetchOptions {
        query: Query {
            base_url: args.base_url.clone(),
            api: args.api,
            registers: args.registers.clone(),
            all_registers: args.all_registers,
            filters: Filters {
                kind: args.kind.clone(),
                state: args.state.clone(),
                from: args.from.clone(),
                to: args.to.clone(),
            },
            limit: args.limit,
            organization: args.organization.clone(),
        },
        retry: RetryPolicy {
            max_retries: args.max_retries,
            budget: args.retry_budget,
            backoff_base: Duration::from_millis(args.backoff_ms),
            backoff_cap: Duration::from_millis(args.max_backoff_ms),
            max_restarts: args.max_restarts,
            jitter_seed: args.jitter_seed,
        },
        timeouts: Timeouts {
            connect: Duration::from_secs_f64(args.connect_timeout),
            read: Duration::from_secs_f64(args.read_timeout),
        },
        dump: args.out.clone(),
    };

    let started = Instant::now();
    let bar = out.progress(None, "fetching");
    let summary = api::fetch(&opts, &key, &mut |event| match event {
        Event::Page {
            listing,
            total_pages,
            total_records,
            ..
        } => {
            bar.set_position(total_records);
            bar.set_message(format!(
                "fetching {listing} ({total_pages} pages), records:"
            ));
        }
        Event::Retry { cause, delay } => {
            bar.set_message(format!("{cause}, retrying in {:.1} s", delay.as_secs_f64()));
        }
        Event::Restart { listing } => {
            bar.set_message(format!("cursor of {listing} rejected, starting it over"));
        }
        Event::Finalizing => bar.set_message("writing the dump; records fetched:"),
    })
    .with_context(|| {
        let files = api::Files::of(&args.out).ok();
        match files.filter(|f| f.checkpoint.exists()) {
            Some(f) => format!(
                "fetching into {} (progress is kept in {}: the same command resumes)",
                args.out.display(),
                f.checkpoint.display()
            ),
            None => format!("fetching into {}", args.out.display()),
        }
    })?;
    bar.finish_and_clear();

    let skeleton = match &args.master_data_out {
        Some(path) => {
            let s = Skeleton::read(&args.out)
                .with_context(|| format!("reading {} back", args.out.display()))?;
            crate::fsutil::write_atomic(path, s.render(&args.out.display().to_string()).as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            Some((path, s.missing()))
        }
        None => None,
    };

    out.human(&render_human(&summary))?;
    if let Some((path, missing)) = &skeleton {
        out.human(&format!(
            "master-data skeleton: {} (commented out, not yet valid: {} required values to supply)",
            path.display(),
            missing.len()
        ))?;
        for line in skeleton::group(missing) {
            out.human(&format!("  {line}"))?;
        }
    }
    // Elapsed time is for people only: JSON output stays a function of the fetched data.
    out.human(&format!("took {:.1} s", started.elapsed().as_secs_f64()))?;
    out.json(
        "fetch",
        &Summary {
            fetch: &summary,
            master_data_out: skeleton.as_ref().map(|(p, _)| p.display().to_string()),
            master_data_missing: skeleton.map(|(_, m)| m),
        },
    )?;
    Ok(Outcome::Clean)
}

fn render_human(s: &api::FetchSummary) -> String {
    let mut text = format!(
        "fetched {} listings ({} registers): {} pages, {} records, {} duplicates dropped; wrote {} operations to {}",
        s.listings,
        s.registers.len(),
        s.pages,
        s.records_fetched,
        s.duplicates_dropped,
        s.records_written,
        s.dump
    );
    if s.resumed {
        text.push_str("\nresumed from a checkpoint");
    }
    text.push_str(&format!("\n{}", render_retries(&s.retries, s.restarts)));
    text
}

fn render_retries(r: &RetryCounts, restarts: u64) -> String {
    format!(
        "retries: {} rate limited, {} server errors, {} timeouts, {} failed connections, {} malformed pages; {} listings restarted",
        r.rate_limited, r.server_error, r.timeout, r.connection, r.malformed, restarts
    )
}
