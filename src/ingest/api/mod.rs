//! Fetching operation histories from the OpenFiskal API into an NDJSON dump (`fiskal fetch`).
//!
//! The rest of fiskal reads dumps; this module makes one from the API, so that everything
//! downstream stays a pure function of a file. [`fetch`] walks the cursor-paginated listing
//! of each register (`GET /registers/{id}/operations`, or `GET /operations?register_id=` in
//! the v1.1 shape), appends every page to `<DUMP>.partial`, and records its progress in
//! `<DUMP>.checkpoint.json` after each page. When every listing is done it deduplicates by
//! operation id and writes the dump in a fixed order through a temporary file and a rename.
//!
//! Why it is built this way:
//!
//! - **A fetch is long and the network is not reliable.** Transient faults (429, 5xx,
//!   timeouts, dropped connections, a 200 that is not a list page) are retried with
//!   exponential backoff and full jitter within a per-request limit and a per-run budget
//!   (`client`); everything else stops the run at once with the API's code and message.
//! - **A killed run must not lose or duplicate anything.** The partial file only grows by
//!   whole, synced pages, and the checkpoint (written atomically after the sync) vouches for
//!   a prefix of it; a new run with the same options cuts the file back to that prefix and
//!   asks for the checkpointed cursor again (`checkpoint`, `dump`). No signal handler is
//!   needed: Ctrl-C is a crash like any other.
//! - **Listings overlap.** A page boundary that moves, a listing restarted after its cursor
//!   expired, an operation updated while the listing runs: the same id arrives more than
//!   once. The dump keeps one copy per id, the highest `resource_version` (ties: the copy
//!   fetched last), in an order that depends only on the records (`dump`), so two complete
//!   fetches of the same data give the same bytes.
//! - **Records stay as served.** Each record is the JSON text the server sent (`page`), so
//!   `fiskal check` judges the API's data, not a re-encoding of it.
//! - **The key is a secret.** It comes from `OPENFISKAL_API_KEY` only, is sent only in the
//!   `Authorization` header, and is removed from every text that could echo it; a page or
//!   checkpoint that would contain it is refused, never written (`client::ApiKey`).
//!
//! `skeleton` derives a master-data skeleton from what the fetched operations show.

pub mod checkpoint;
pub mod client;
pub mod dump;
pub mod page;
pub mod skeleton;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use checkpoint::{Checkpoint, Listing};
pub use client::{ApiFailure, ApiKey, Cause, RetryCounts, RetryPolicy, Timeouts};

use client::{Client, Got};
use dump::Partial;

/// The two API shapes (docs/input.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ApiShape {
    /// Register-scoped: `GET /registers/{id}/operations`, header `OpenFiskal-Organization`.
    Registers,
    /// v1.1: `GET /operations?register_id=…`, header `X-OpenFiskal-Merchant`.
    Operations,
}

/// Query filters, passed through to the API as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    /// `type`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `from` (RFC 3339).
    pub from: Option<String>,
    /// `to` (RFC 3339).
    pub to: Option<String>,
}

/// What to fetch. Everything that decides which records the pages hold, and nothing else:
/// two runs with equal queries may share a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// The API root, e.g. `https://api.openfiskal.com/v1` (no trailing `/`).
    pub base_url: String,
    /// Which API shape.
    pub api: ApiShape,
    /// The registers to fetch (empty with `all_registers`).
    pub registers: Vec<String>,
    /// Fetch every register the key can see.
    pub all_registers: bool,
    /// Filters.
    pub filters: Filters,
    /// Page size, 1–200.
    pub limit: u32,
    /// Organization (register shape) or merchant (v1.1) to act for.
    pub organization: Option<String>,
}

/// Largest page size the API allows.
pub const MAX_LIMIT: u32 = 200;

impl Query {
    /// Checks the query before anything touches the network or the disk.
    pub fn check(&self) -> Result<(), Error> {
        let bad = |m: String| Err(Error::Options(m));
        let url = self.base_url.as_str();
        let lower = url.to_ascii_lowercase();
        let Some(rest) = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"))
        else {
            return bad(format!(
                "--base-url {url:?} must start with https:// (or http://)"
            ));
        };
        let authority = rest.split('/').next().unwrap_or("");
        if authority.is_empty() {
            return bad(format!("--base-url {url:?} names no host"));
        }
        if authority.contains('@') {
            return bad(
                "--base-url must not carry credentials (user:password@); the API key comes from OPENFISKAL_API_KEY only"
                    .into(),
            );
        }
        if url.contains(['?', '#']) || url.chars().any(char::is_whitespace) {
            return bad(format!(
                "--base-url {url:?} must be a plain URL without query, fragment or spaces"
            ));
        }
        if !(1..=MAX_LIMIT).contains(&self.limit) {
            return bad(format!(
                "--limit must be between 1 and {MAX_LIMIT}, got {}",
                self.limit
            ));
        }
        if self.all_registers != self.registers.is_empty() {
            return bad("name the registers with --register ID…, or use --all-registers".into());
        }
        if self.registers.iter().any(|r| r.is_empty()) {
            return bad("--register: an empty register id".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(twice) = self.registers.iter().find(|r| !seen.insert(r.as_str())) {
            return bad(format!("--register {twice} is given twice"));
        }
        if let Some(org) = &self.organization
            && (org.is_empty() || !org.bytes().all(|b| (0x20..=0x7e).contains(&b)))
        {
            return bad("--organization must be non-empty printable ASCII".into());
        }
        for (flag, value) in [("--from", &self.filters.from), ("--to", &self.filters.to)] {
            if let Some(v) = value
                && chrono::DateTime::parse_from_rfc3339(v).is_err()
            {
                return bad(format!(
                    "{flag} {v:?} is not an RFC 3339 date-time like 2026-03-01T00:00:00Z"
                ));
            }
        }
        Ok(())
    }

    /// The headers besides the key: the organization, under the name the shape's reference
    /// gives it.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let name = match self.api {
            ApiShape::Registers => "OpenFiskal-Organization",
            ApiShape::Operations => "X-OpenFiskal-Merchant",
        };
        self.organization
            .iter()
            .map(|o| (name, o.clone()))
            .collect()
    }

    fn root(&self) -> &str {
        self.base_url.trim_end_matches('/')
    }

    /// The URL of one page of a listing.
    pub fn listing_url(&self, register: Option<&str>, cursor: Option<&str>) -> String {
        let mut params: Vec<(&str, &str)> = Vec::new();
        let path = match (self.api, register) {
            (ApiShape::Registers, Some(r)) => {
                format!("{}/registers/{}/operations", self.root(), encode(r))
            }
            (ApiShape::Operations, Some(r)) => {
                params.push(("register_id", r));
                format!("{}/operations", self.root())
            }
            // Only the v1.1 shape lists all registers' operations at once.
            (_, None) => format!("{}/operations", self.root()),
        };
        let limit = self.limit.to_string();
        params.push(("limit", &limit));
        let f = &self.filters;
        for (name, value) in [
            ("type", &f.kind),
            ("state", &f.state),
            ("from", &f.from),
            ("to", &f.to),
        ] {
            if let Some(v) = value {
                params.push((name, v));
            }
        }
        if let Some(c) = cursor {
            params.push(("cursor", c));
        }
        with_params(path, &params)
    }

    /// The URL of one page of the register list.
    pub fn registers_url(&self, cursor: Option<&str>) -> String {
        let limit = self.limit.to_string();
        let mut params = vec![("limit", limit.as_str())];
        if let Some(c) = cursor {
            params.push(("cursor", c));
        }
        with_params(format!("{}/registers", self.root()), &params)
    }

    /// The listings a fetch starts with; `None` when the register list must be read first.
    pub fn initial_listings(&self) -> Option<Vec<Listing>> {
        match (self.all_registers, self.api) {
            (false, _) => Some(
                self.registers
                    .iter()
                    .map(|r| Listing::new(Some(r.clone())))
                    .collect(),
            ),
            (true, ApiShape::Operations) => Some(vec![Listing::new(None)]),
            (true, ApiShape::Registers) => None,
        }
    }

    /// How `self` differs from `other` (the earlier query), one entry per option, by flag.
    pub fn differences(&self, other: &Query) -> Vec<String> {
        fn opt(v: &Option<String>) -> String {
            v.as_ref()
                .map_or_else(|| "not given".into(), |s| format!("{s:?}"))
        }
        let pairs = [
            (
                "--base-url",
                format!("{:?}", other.base_url),
                format!("{:?}", self.base_url),
            ),
            (
                "--api",
                format!("{:?}", other.api),
                format!("{:?}", self.api),
            ),
            (
                "--register",
                other.registers.join(" "),
                self.registers.join(" "),
            ),
            (
                "--all-registers",
                other.all_registers.to_string(),
                self.all_registers.to_string(),
            ),
            ("--type", opt(&other.filters.kind), opt(&self.filters.kind)),
            (
                "--state",
                opt(&other.filters.state),
                opt(&self.filters.state),
            ),
            ("--from", opt(&other.filters.from), opt(&self.filters.from)),
            ("--to", opt(&other.filters.to), opt(&self.filters.to)),
            ("--limit", other.limit.to_string(), self.limit.to_string()),
            (
                "--organization",
                opt(&other.organization),
                opt(&self.organization),
            ),
        ];
        pairs
            .into_iter()
            .filter(|(_, was, now)| was != now)
            .map(|(flag, was, now)| format!("{flag} was {was}, now {now}"))
            .collect()
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn with_params(mut url: String, params: &[(&str, &str)]) -> String {
    for (i, (k, v)) in params.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(k);
        url.push('=');
        url.push_str(&encode(v));
    }
    url
}

/// Everything [`fetch`] needs besides the key.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// What to fetch.
    pub query: Query,
    /// Retries.
    pub retry: RetryPolicy,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// The dump to write; `<DUMP>.partial` and `<DUMP>.checkpoint.json` sit beside it.
    pub dump: PathBuf,
}

/// What [`fetch`] reports while it runs.
#[derive(Debug)]
pub enum Event<'a> {
    /// A page was appended and checkpointed.
    Page {
        /// The listing (register id, or `(all registers)`).
        listing: &'a str,
        /// Records on this page.
        records: usize,
        /// Pages of all listings so far (earlier runs included).
        total_pages: u64,
        /// Records of all listings so far (earlier runs included).
        total_records: u64,
    },
    /// A request failed transiently and is retried after `delay`.
    Retry {
        /// Why.
        cause: Cause,
        /// The wait before the retry.
        delay: Duration,
    },
    /// A listing's cursor was rejected; it starts over.
    Restart {
        /// The listing.
        listing: &'a str,
    },
    /// Every listing is done; the dump is being written.
    Finalizing,
}

/// What a finished fetch did. Holds no clock time, so that the same fetch reports the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FetchSummary {
    /// The dump written.
    pub dump: String,
    /// The API shape.
    pub api: ApiShape,
    /// The distinct register ids in the dump, sorted.
    pub registers: Vec<String>,
    /// Listings fetched (one per register, or one for all registers in the v1.1 shape).
    pub listings: u64,
    /// Pages of operations read, earlier runs of a resumed fetch included.
    pub pages: u64,
    /// Records read, duplicates included.
    pub records_fetched: u64,
    /// Records in the dump: one per operation id.
    pub records_written: u64,
    /// Copies of an id that were not kept.
    pub duplicates_dropped: u64,
    /// Retries by cause, earlier runs included.
    pub retries: RetryCounts,
    /// Listings started over after a rejected cursor, earlier runs included.
    pub restarts: u64,
    /// Whether this run continued a checkpoint.
    pub resumed: bool,
}

/// Why a fetch stopped. Every text that came from the server has the key removed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid options.
    #[error("{0}")]
    Options(String),
    /// The API answered with an error that no retry can mend.
    #[error("GET {url}: {failure}")]
    Api {
        /// The URL (no key in it).
        url: String,
        /// Status, code and message.
        failure: ApiFailure,
    },
    /// One request failed transiently more often than `--max-retries` allows.
    #[error("GET {url}: gave up after {attempts} attempts, the last one: {cause}: {last}")]
    RetriesExhausted {
        /// The URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last cause.
        cause: Cause,
        /// The last failure.
        last: String,
    },
    /// The run's retry budget is spent.
    #[error(
        "GET {url}: the run's retry budget (--retry-budget {budget}) is spent; the last failure: {cause}: {last}"
    )]
    BudgetSpent {
        /// The URL.
        url: String,
        /// The budget.
        budget: u32,
        /// The last cause.
        cause: Cause,
        /// The last failure.
        last: String,
    },
    /// A network failure no retry mends (unknown host, TLS).
    #[error("GET {url}: {message}")]
    Transport {
        /// The URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// The server echoed the API key in a page.
    #[error(
        "GET {url}: the response contains the API key; it is not written anywhere, and the fetch stops"
    )]
    KeyEchoed {
        /// The URL.
        url: String,
    },
    /// A checkpoint would have contained the API key.
    #[error("{path}: not written, it would contain the API key")]
    KeyInCheckpoint {
        /// The checkpoint.
        path: PathBuf,
    },
    /// A page named itself as the next page.
    #[error("GET {url}: the next cursor is the one just requested; the listing would never end")]
    CursorLoop {
        /// The URL.
        url: String,
    },
    /// A listing's cursor was rejected more often than `--max-restarts` allows.
    #[error(
        "listing {listing}: cursor rejected again ({failure}) after {restarts} restarts from the beginning (--max-restarts)"
    )]
    Restarts {
        /// The listing.
        listing: String,
        /// Restarts made.
        restarts: u32,
        /// The last rejection.
        failure: ApiFailure,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The checkpoint cannot be used.
    #[error("checkpoint {path}: {message}")]
    Checkpoint {
        /// The checkpoint.
        path: PathBuf,
        /// What is wrong, and the way out.
        message: String,
    },
    /// The checkpoint was written by a fetch with other options.
    #[error(
        "checkpoint {path} belongs to a fetch with other options ({}); run the same command again to resume it, or delete {path} and {partial} to start over",
        differences.join("; ")
    )]
    OptionsChanged {
        /// The checkpoint.
        path: PathBuf,
        /// The partial file.
        partial: PathBuf,
        /// Each option that differs.
        differences: Vec<String>,
    },
    /// The partial file does not match its checkpoint.
    #[error("partial dump {path}: {message}")]
    Partial {
        /// The partial file.
        path: PathBuf,
        /// What is wrong, and the way out.
        message: String,
    },
}

/// The files beside a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Files {
    /// `<DUMP>.partial`.
    pub partial: PathBuf,
    /// `<DUMP>.checkpoint.json`.
    pub checkpoint: PathBuf,
}

impl Files {
    /// The side files of `dump`.
    pub fn of(dump: &Path) -> Result<Files, Error> {
        let name = dump
            .file_name()
            .ok_or_else(|| Error::Options(format!("--out {} names no file", dump.display())))?;
        let side = |suffix: &str| {
            let mut n = name.to_os_string();
            n.push(suffix);
            dump.with_file_name(n)
        };
        Ok(Files {
            partial: side(".partial"),
            checkpoint: side(".checkpoint.json"),
        })
    }
}

/// Fetches every listing of `opts.query` into `opts.dump`, resuming a checkpoint of the
/// same query if there is one.
pub fn fetch(
    opts: &FetchOptions,
    key: &ApiKey,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<FetchSummary, Error> {
    opts.query.check()?;
    if opts.dump.is_dir() {
        return Err(Error::Options(format!(
            "--out {} is a directory; name the dump file",
            opts.dump.display()
        )));
    }
    let files = Files::of(&opts.dump)?;
    if let Some(dir) = opts.dump.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let (cp, partial, resumed) = match Checkpoint::load(&files.checkpoint)? {
        Some(cp) => {
            if cp.query != opts.query {
                return Err(Error::OptionsChanged {
                    path: files.checkpoint.clone(),
                    partial: files.partial.clone(),
                    differences: opts.query.differences(&cp.query),
                });
            }
            let partial = Partial::resume(&files.partial, cp.partial_len)?;
            (cp, partial, true)
        }
        None => {
            // A partial file without a checkpoint is from a run that died before its first
            // checkpoint: nothing in it is vouched for.
            let partial = Partial::create(&files.partial)?;
            let cp = Checkpoint::start(&opts.query, opts.query.initial_listings());
            cp.save(&files.checkpoint, key)?;
            (cp, partial, false)
        }
    };
    let client = Client::new(
        key,
        opts.query.headers(),
        opts.retry.clone(),
        &opts.timeouts,
    );
    let mut run = Run {
        opts,
        key,
        files: &files,
        earlier: cp.retries,
        cp,
        partial,
        client,
    };
    if let Err(e) = run.all_listings(on_event) {
        // Keep this run's retries for the summary of the run that resumes; the rest of the
        // checkpoint is as the last complete page left it.
        let _ = run.save();
        return Err(e);
    }
    let retries = run.retries();
    // The partial file is closed before it is read back and removed (Windows cannot remove
    // an open file).
    let Run { cp, partial, .. } = run;
    drop(partial);
    debug_assert!(cp.complete());

    on_event(Event::Finalizing);
    let done = dump::finalize(&files.partial, &opts.dump)?;
    // The checkpoint goes first: a partial file without one is ignored by the next run,
    // a checkpoint without its partial file is an error.
    for path in [&files.checkpoint, &files.partial] {
        std::fs::remove_file(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
    }
    dump::sync_parent(&opts.dump).map_err(|source| Error::Io {
        path: opts.dump.clone(),
        source,
    })?;

    let listings = cp.listings.as_deref().unwrap_or_default();
    Ok(FetchSummary {
        dump: opts.dump.display().to_string(),
        api: opts.query.api,
        registers: done.registers,
        listings: listings.len() as u64,
        pages: listings.iter().map(|l| l.pages).sum(),
        records_fetched: listings.iter().map(|l| l.records).sum(),
        records_written: done.records_written,
        duplicates_dropped: done.duplicates_dropped,
        retries,
        restarts: cp.restarts,
        resumed,
    })
}

/// The state of one run: the checkpoint, the partial file and the client, saved together.
struct Run<'a, 'k> {
    opts: &'a FetchOptions,
    key: &'k ApiKey,
    files: &'a Files,
    /// Retries of earlier runs of this fetch.
    earlier: RetryCounts,
    cp: Checkpoint,
    partial: Partial,
    client: Client<'k>,
}

impl Run<'_, '_> {
    fn retries(&self) -> RetryCounts {
        self.earlier.plus(&self.client.counts)
    }

    fn save(&mut self) -> Result<(), Error> {
        self.cp.retries = self.retries();
        self.cp.save(&self.files.checkpoint, self.key)
    }

    fn all_listings(&mut self, on_event: &mut dyn FnMut(Event<'_>)) -> Result<(), Error> {
        if self.cp.listings.is_none() {
            let ids = self.list_registers(on_event)?;
            self.cp.listings = Some(ids.into_iter().map(|r| Listing::new(Some(r))).collect());
            self.save()?;
        }
        let n_listings = self.cp.listings.as_ref().map_or(0, Vec::len);
        for i in 0..n_listings {
            while !self.listing(i).done {
                self.next_page(i, on_event)?;
            }
        }
        Ok(())
    }

    fn listing(&self, i: usize) -> &Listing {
        &self.cp.listings.as_ref().expect("listings are known")[i]
    }

    /// Fetches, appends and checkpoints the next page of listing `i`, or starts the listing
    /// over when the API rejects its cursor.
    fn next_page(&mut self, i: usize, on_event: &mut dyn FnMut(Event<'_>)) -> Result<(), Error> {
        let listing = self.listing(i);
        let url = self
            .opts
            .query
            .listing_url(listing.register.as_deref(), listing.cursor.as_deref());
        let got = self.client.get(&url, &page::parse, &mut |cause, delay| {
            on_event(Event::Retry { cause, delay })
        })?;
        let listing = &mut self.cp.listings.as_mut().expect("listings are known")[i];
        // The records on the page; `None` after a restart.
        let on_page = match got {
            Got::Ok(page) => {
                if page.cursor.is_some() && page.cursor == listing.cursor {
                    return Err(Error::CursorLoop {
                        url: self.key.redact(&url),
                    });
                }
                self.cp.partial_len = self
                    .partial
                    .append(page.records.iter().map(|r| r.json.as_str()))?;
                listing.pages += 1;
                listing.records += page.records.len() as u64;
                listing.done = page.cursor.is_none();
                listing.cursor = page.cursor;
                Some(page.records.len())
            }
            Got::CursorRejected(failure) => {
                listing.restarts += 1;
                if listing.restarts > self.opts.retry.max_restarts {
                    return Err(Error::Restarts {
                        listing: listing.name().to_string(),
                        restarts: listing.restarts - 1,
                        failure,
                    });
                }
                // Starting over re-reads records already in the partial file; the dedupe
                // of the final write keeps one copy of each.
                listing.cursor = None;
                self.cp.restarts += 1;
                None
            }
        };
        self.save()?;
        let listings = self.cp.listings.as_deref().unwrap_or_default();
        let name = listings[i].name();
        on_event(match on_page {
            Some(records) => Event::Page {
                listing: name,
                records,
                total_pages: listings.iter().map(|l| l.pages).sum(),
                total_records: listings.iter().map(|l| l.records).sum(),
            },
            None => Event::Restart { listing: name },
        });
        Ok(())
    }

    /// Reads the register list (`GET /registers`, paged like operations): the ids in the
    /// order served, each once. Not checkpointed page by page: it is short, and read again
    /// whole if a run dies before it is complete.
    fn list_registers(
        &mut self,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Vec<String>, Error> {
        let mut ids: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut cursor: Option<String> = None;
        let mut restarts = 0u32;
        loop {
            let url = self.opts.query.registers_url(cursor.as_deref());
            let got = self.client.get(&url, &page::parse, &mut |cause, delay| {
                on_event(Event::Retry { cause, delay })
            })?;
            match got {
                Got::Ok(page) => {
                    if page.cursor.is_some() && page.cursor == cursor {
                        return Err(Error::CursorLoop {
                            url: self.key.redact(&url),
                        });
                    }
                    for r in page.records {
                        if seen.insert(r.id.clone()) {
                            ids.push(r.id);
                        }
                    }
                    match page.cursor {
                        Some(c) => cursor = Some(c),
                        None => return Ok(ids),
                    }
                }
                Got::CursorRejected(failure) => {
                    restarts += 1;
                    if restarts > self.opts.retry.max_restarts {
                        return Err(Error::Restarts {
                            listing: "of registers".into(),
                            restarts: restarts - 1,
                            failure,
                        });
                    }
                    cursor = None;
                    on_event(Event::Restart {
                        listing: "(register list)",
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(api: ApiShape) -> Query {
        Query {
            base_url: "https://api.example.test/v1/".into(),
            api,
            registers: vec!["reg 1/ä".into()],
            all_registers: false,
            filters: Filters {
                kind: Some("sale".into()),
                state: None,
                from: Some("2026-03-01T00:00:00+01:00".into()),
                to: None,
            },
            limit: 50,
            organization: Some("org_1".into()),
        }
    }

    #[test]
    fn urls_of_both_shapes_encode_every_value() {
        let q = query(ApiShape::Registers);
        assert_eq!(
            q.listing_url(Some("reg 1/ä"), Some("c+1=")),
            "https://api.example.test/v1/registers/reg%201%2F%C3%A4/operations?limit=50&type=sale&from=2026-03-01T00%3A00%3A00%2B01%3A00&cursor=c%2B1%3D"
        );
        assert_eq!(
            q.registers_url(Some("n")),
            "https://api.example.test/v1/registers?limit=50&cursor=n"
        );
        assert_eq!(
            q.headers(),
            [("OpenFiskal-Organization", "org_1".to_string())]
        );
        let q = query(ApiShape::Operations);
        assert_eq!(
            q.listing_url(Some("reg_2"), None),
            "https://api.example.test/v1/operations?register_id=reg_2&limit=50&type=sale&from=2026-03-01T00%3A00%3A00%2B01%3A00"
        );
        assert_eq!(
            q.listing_url(None, None),
            "https://api.example.test/v1/operations?limit=50&type=sale&from=2026-03-01T00%3A00%3A00%2B01%3A00"
        );
        assert_eq!(
            q.headers(),
            [("X-OpenFiskal-Merchant", "org_1".to_string())]
        );
    }

    #[test]
    fn bad_options_are_named() {
        type Change = fn(&mut Query);
        let cases: Vec<(Change, &str)> = vec![
            (
                |q| q.base_url = "ftp://x".into(),
                "must start with https://",
            ),
            (
                |q| q.base_url = "https://u:p@host/v1".into(),
                "must not carry credentials",
            ),
            (
                |q| q.base_url = "https://host/v1?x=1".into(),
                "without query",
            ),
            (|q| q.base_url = "https:///v1".into(), "names no host"),
            (|q| q.limit = 0, "--limit must be between 1 and 200, got 0"),
            (|q| q.limit = 201, "got 201"),
            (|q| q.all_registers = true, "or use --all-registers"),
            (|q| q.registers.clear(), "or use --all-registers"),
            (
                |q| q.registers.push("reg 1/ä".into()),
                "--register reg 1/ä is given twice",
            ),
            (
                |q| q.filters.to = Some("yesterday".into()),
                "--to \"yesterday\" is not an RFC 3339",
            ),
            (|q| q.organization = Some("a\nb".into()), "--organization"),
        ];
        for (change, expected) in cases {
            let mut q = query(ApiShape::Registers);
            change(&mut q);
            let e = q.check().unwrap_err().to_string();
            assert!(e.contains(expected), "{e}");
        }
        assert!(query(ApiShape::Operations).check().is_ok());
    }

    #[test]
    fn differences_name_each_flag() {
        let a = query(ApiShape::Registers);
        let mut b = a.clone();
        b.filters.kind = Some("refund".into());
        b.limit = 200;
        assert_eq!(
            b.differences(&a),
            [
                "--type was \"sale\", now \"refund\"",
                "--limit was 50, now 200"
            ]
        );
        assert!(a.differences(&a).is_empty());
    }

    #[test]
    fn side_files_sit_beside_the_dump() {
        let f = Files::of(Path::new("out/dump.ndjson")).unwrap();
        assert_eq!(f.partial, Path::new("out/dump.ndjson.partial"));
        assert_eq!(f.checkpoint, Path::new("out/dump.ndjson.checkpoint.json"));
        assert!(Files::of(Path::new("/")).is_err());
    }
}
