//! HTTP for `fiskal fetch`: one ureq agent, the API key, retries and what a response means.
//!
//! Every GET goes through [`Client::get`], which sorts each outcome into one of three kinds:
//! a result (a 200 whose body parses), a transient fault worth another try (429, 500/502/503/
//! 504, timeouts, dropped connections, a malformed 200), or a failure that no retry can mend
//! (other 4xx, TLS, an unknown host). Transient faults are retried with exponential backoff
//! and full jitter (a random wait between zero and `base × 2^attempt`, capped), or as long as
//! `Retry-After` asks, within a per-request limit and a budget for the whole run, so a server
//! that stays broken ends the run instead of holding it forever.
//!
//! The key is held by [`ApiKey`], which never prints it; every text that comes from the
//! server (error bodies, messages, cursors) passes [`ApiKey::redact`] before it can reach an
//! error message, and a page that echoes the key is refused rather than written to disk.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Error;
use super::page::Malformed;

/// What replaces the key wherever it would appear.
pub const REDACTED: &str = "[REDACTED]";

/// Largest response body read; a page of 200 operations is well under a megabyte.
const MAX_BODY: u64 = 64 * 1024 * 1024;

/// The API key. Its `Debug` hides it and it has no `Display`, so it cannot end up in a
/// message by accident; [`ApiKey::redact`] removes it from text that came from elsewhere.
#[derive(Clone)]
pub struct ApiKey(String);

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({REDACTED})")
    }
}

impl ApiKey {
    /// Takes a key, refusing one that cannot be sent in an HTTP header. The error text never
    /// contains the key.
    pub fn new(key: String) -> Result<ApiKey, String> {
        if key.is_empty() {
            return Err("the API key is empty".into());
        }
        // Visible ASCII only: a key with spaces or control characters is a copy-paste
        // accident, and would otherwise fail inside the HTTP library with a less clear error.
        if let Some(pos) = key.bytes().position(|b| !(0x21..=0x7e).contains(&b)) {
            return Err(format!(
                "the API key has a character at position {} that is not visible ASCII (a space, a line break, a control character?)",
                pos + 1
            ));
        }
        Ok(ApiKey(key))
    }

    /// `text` with every occurrence of the key replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.0, REDACTED)
    }

    /// Whether `text` contains the key.
    pub fn appears_in(&self, text: &str) -> bool {
        text.contains(&self.0)
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

/// Why a request was retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// HTTP 429.
    RateLimited,
    /// HTTP 500, 502, 503 or 504.
    ServerError,
    /// No answer within the connect or read timeout.
    Timeout,
    /// The connection was refused, reset or dropped, or the response was cut short.
    Connection,
    /// A 200 whose body is not a valid list page.
    Malformed,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cause::RateLimited => "rate limited",
            Cause::ServerError => "server error",
            Cause::Timeout => "timeout",
            Cause::Connection => "connection failed",
            Cause::Malformed => "malformed page",
        })
    }
}

/// Retries per cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryCounts {
    /// HTTP 429.
    pub rate_limited: u64,
    /// HTTP 500, 502, 503, 504.
    pub server_error: u64,
    /// Connect or read timeouts.
    pub timeout: u64,
    /// Refused, reset or dropped connections, responses cut short.
    pub connection: u64,
    /// 200 responses that were not list pages.
    pub malformed: u64,
}

impl RetryCounts {
    /// Counts one retry.
    pub fn add(&mut self, cause: Cause) {
        *match cause {
            Cause::RateLimited => &mut self.rate_limited,
            Cause::ServerError => &mut self.server_error,
            Cause::Timeout => &mut self.timeout,
            Cause::Connection => &mut self.connection,
            Cause::Malformed => &mut self.malformed,
        } += 1;
    }

    /// All retries.
    pub fn total(&self) -> u64 {
        self.rate_limited + self.server_error + self.timeout + self.connection + self.malformed
    }

    /// Both counts together.
    pub fn plus(&self, other: &RetryCounts) -> RetryCounts {
        RetryCounts {
            rate_limited: self.rate_limited + other.rate_limited,
            server_error: self.server_error + other.server_error,
            timeout: self.timeout + other.timeout,
            connection: self.connection + other.connection,
            malformed: self.malformed + other.malformed,
        }
    }
}

/// How hard to try.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries of one request before the run stops.
    pub max_retries: u32,
    /// Retries of all requests of one run together.
    pub budget: u32,
    /// Backoff before the first retry (the ceiling of its random wait); doubles each retry.
    pub backoff_base: Duration,
    /// Longest wait before a retry, also for `Retry-After`.
    pub backoff_cap: Duration,
    /// How often one listing may start over after its cursor was rejected.
    pub max_restarts: u32,
    /// Seed of the jitter; `None` seeds from the clock. Tests fix it.
    pub jitter_seed: Option<u64>,
}

/// Network timeouts.
#[derive(Debug, Clone)]
pub struct Timeouts {
    /// Establishing a connection (TCP and TLS).
    pub connect: Duration,
    /// Waiting for the next bytes of a response (headers or body).
    pub read: Duration,
}

/// A small xorshift64* generator: jitter needs no cryptographic quality, only a seed tests
/// can fix, and a new crate for it would be out of proportion.
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    /// A generator with this seed (0 is replaced, since xorshift would stay at 0).
    pub fn new(seed: u64) -> Jitter {
        Jitter(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// Seeded from the clock and the process id.
    pub fn from_clock() -> Jitter {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Jitter::new(nanos ^ (u64::from(std::process::id()) << 32))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..=max`.
    pub fn up_to(&mut self, max: u64) -> u64 {
        match max.checked_add(1) {
            Some(n) => self.next() % n,
            None => self.next(),
        }
    }
}

/// Full-jitter backoff: a random wait between zero and `min(cap, base × 2^attempt)`
/// (attempt 0 is the first retry). Randomising the whole interval spreads clients that
/// failed together, which a fixed exponential wait would keep in lockstep.
pub fn backoff(attempt: u32, base: Duration, cap: Duration, jitter: &mut Jitter) -> Duration {
    let ceiling = base.saturating_mul(1u32 << attempt.min(31)).min(cap);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(jitter.up_to(nanos))
}

/// How long a `Retry-After` header asks to wait: delay seconds, or an HTTP date (RFC 9110
/// IMF-fixdate, read as RFC 2822) relative to `now`; a date in the past means no wait.
/// `None` for anything else, in which case the normal backoff applies.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(v.parse::<u64>().unwrap_or(u64::MAX)));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// The wait before a retry: what `Retry-After` asked for, capped, else the backoff.
pub fn retry_delay(
    attempt: u32,
    retry_after: Option<Duration>,
    policy: &RetryPolicy,
    jitter: &mut Jitter,
) -> Duration {
    match retry_after {
        Some(d) => d.min(policy.backoff_cap),
        None => backoff(attempt, policy.backoff_base, policy.backoff_cap, jitter),
    }
}

/// The API's error body (ErrorDto of the v1.1 reference). Read leniently: a proxy's HTML
/// error page must not hide the status.
#[derive(Debug, Default, Deserialize)]
struct ErrorDto {
    code: Option<String>,
    message: Option<String>,
}

/// An error response, key removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// HTTP status.
    pub status: u16,
    /// The ErrorDto's `code`.
    pub code: Option<String>,
    /// The ErrorDto's `message`.
    pub message: Option<String>,
    /// The start of the body when it is not an ErrorDto.
    pub body: Option<String>,
}

impl ApiFailure {
    fn read(status: u16, body: &str, key: &ApiKey) -> ApiFailure {
        let dto: ErrorDto = serde_json::from_str(body).unwrap_or_default();
        let body = (dto.code.is_none() && dto.message.is_none() && !body.trim().is_empty())
            .then(|| excerpt(&key.redact(body)));
        ApiFailure {
            status,
            code: dto.code.map(|c| key.redact(&c)),
            message: dto.message.map(|m| key.redact(&m)),
            body,
        }
    }

    /// Whether the API says the cursor is no longer valid (`cursor_expired`,
    /// `invalid_cursor`, …): then the listing starts over instead of stopping.
    pub fn is_cursor_error(&self) -> bool {
        matches!(self.status, 400 | 410)
            && self
                .code
                .as_deref()
                .is_some_and(|c| c.to_ascii_lowercase().contains("cursor"))
    }
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        match (&self.code, &self.message) {
            (Some(c), Some(m)) => write!(f, " {c}: {m}")?,
            (Some(c), None) => write!(f, " {c}")?,
            (None, Some(m)) => write!(f, ": {m}")?,
            (None, None) => {}
        }
        if let Some(b) = &self.body {
            write!(f, " (body: {b})")?;
        }
        Ok(())
    }
}

fn excerpt(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out: String = one_line.trim().chars().take(200).collect();
    if one_line.trim().chars().count() > 200 {
        out.push('…');
    }
    out
}

/// What a GET came to.
pub enum Got<T> {
    /// The parsed 200 body.
    Ok(T),
    /// 400/410 with a cursor error code: the caller restarts the listing.
    CursorRejected(ApiFailure),
}

enum Step {
    Body(String),
    Retry {
        cause: Cause,
        retry_after: Option<Duration>,
        detail: String,
    },
    Cursor(ApiFailure),
    Fail(Error),
}

/// One agent with the key and the retry state of a run.
pub struct Client<'k> {
    agent: ureq::Agent,
    key: &'k ApiKey,
    headers: Vec<(&'static str, String)>,
    policy: RetryPolicy,
    jitter: Jitter,
    /// Retries made in this run, by cause.
    pub counts: RetryCounts,
}

impl<'k> Client<'k> {
    /// A client sending `headers` (besides the key) with every request.
    pub fn new(
        key: &'k ApiKey,
        headers: Vec<(&'static str, String)>,
        policy: RetryPolicy,
        timeouts: &Timeouts,
    ) -> Client<'k> {
        let config = ureq::Agent::config_builder()
            // Error statuses come back as responses, so their ErrorDto can be read.
            .http_status_as_error(false)
            .timeout_connect(Some(timeouts.connect))
            .timeout_per_read(Some(timeouts.read))
            .user_agent(format!("fiskal/{}", env!("CARGO_PKG_VERSION")))
            .build();
        let jitter = policy
            .jitter_seed
            .map_or_else(Jitter::from_clock, Jitter::new);
        Client {
            agent: ureq::Agent::new_with_config(config),
            key,
            headers,
            policy,
            jitter,
            counts: RetryCounts::default(),
        }
    }

    /// GETs `url` until `parse` accepts a 200 body, retrying transient faults within the
    /// policy; `on_retry` hears of each retry before its wait.
    pub fn get<T>(
        &mut self,
        url: &str,
        parse: &dyn Fn(&str) -> Result<T, Malformed>,
        on_retry: &mut dyn FnMut(Cause, Duration),
    ) -> Result<Got<T>, Error> {
        let shown = self.key.redact(url);
        let mut attempt = 0u32;
        loop {
            let (cause, retry_after, detail) = match self.once(url, &shown) {
                Step::Body(text) => match parse(&text) {
                    Ok(v) => return Ok(Got::Ok(v)),
                    Err(m) => (Cause::Malformed, None, m.0),
                },
                Step::Retry {
                    cause,
                    retry_after,
                    detail,
                } => (cause, retry_after, detail),
                Step::Cursor(f) => return Ok(Got::CursorRejected(f)),
                Step::Fail(e) => return Err(e),
            };
            let last = self.key.redact(&detail);
            if attempt >= self.policy.max_retries {
                return Err(Error::RetriesExhausted {
                    url: shown,
                    attempts: attempt + 1,
                    cause,
                    last,
                });
            }
            if self.counts.total() >= u64::from(self.policy.budget) {
                return Err(Error::BudgetSpent {
                    url: shown,
                    budget: self.policy.budget,
                    cause,
                    last,
                });
            }
            let delay = retry_delay(attempt, retry_after, &self.policy, &mut self.jitter);
            self.counts.add(cause);
            on_retry(cause, delay);
            std::thread::sleep(delay);
            attempt += 1;
        }
    }

    fn once(&self, url: &str, shown: &str) -> Step {
        let mut request = self
            .agent
            .get(url)
            .header("Authorization", self.key.bearer())
            .header("Accept", "application/json");
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        let mut response = match request.call() {
            Ok(r) => r,
            Err(e) => return self.transport(e, shown),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, Utc::now()));
        let bytes = match response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
        {
            Ok(b) => b,
            Err(e) => return self.transport(e, shown),
        };
        if status == 200 {
            return match String::from_utf8(bytes) {
                // Checked before parsing, so that neither a record nor a cursor carrying the
                // key can reach the dump or the checkpoint.
                Ok(text) if self.key.appears_in(&text) => Step::Fail(Error::KeyEchoed {
                    url: shown.to_string(),
                }),
                Ok(text) => Step::Body(text),
                Err(e) => Step::Retry {
                    cause: Cause::Malformed,
                    retry_after: None,
                    detail: format!("not a list page: the body is not UTF-8 ({e})"),
                },
            };
        }
        let failure = ApiFailure::read(status, &String::from_utf8_lossy(&bytes), self.key);
        match status {
            429 => Step::Retry {
                cause: Cause::RateLimited,
                retry_after,
                detail: failure.to_string(),
            },
            500 | 502 | 503 | 504 => Step::Retry {
                cause: Cause::ServerError,
                retry_after,
                detail: failure.to_string(),
            },
            _ if failure.is_cursor_error() => Step::Cursor(failure),
            200..=299 => Step::Retry {
                cause: Cause::Malformed,
                retry_after: None,
                detail: format!("not a list page: HTTP {status} instead of 200"),
            },
            _ => Step::Fail(Error::Api {
                url: shown.to_string(),
                failure,
            }),
        }
    }

    fn transport(&self, e: ureq::Error, shown: &str) -> Step {
        let detail = self.key.redact(&e.to_string());
        let retry = |cause| Step::Retry {
            cause,
            retry_after: None,
            detail: detail.clone(),
        };
        match &e {
            ureq::Error::Timeout(which) => Step::Retry {
                cause: Cause::Timeout,
                retry_after: None,
                detail: format!("no answer in time ({which})"),
            },
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                retry(Cause::Timeout)
            }
            // Refused, reset, aborted, cut short: the server or a proxy went away, which is
            // what a restart or a load balancer does; another try usually gets through.
            ureq::Error::Io(_)
            | ureq::Error::Protocol(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::Decompress(..) => retry(Cause::Connection),
            _ => Step::Fail(Error::Transport {
                url: shown.to_string(),
                message: detail.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(base_ms: u64, cap_ms: u64) -> RetryPolicy {
        RetryPolicy {
            max_retries: 5,
            budget: 50,
            backoff_base: Duration::from_millis(base_ms),
            backoff_cap: Duration::from_millis(cap_ms),
            max_restarts: 3,
            jitter_seed: Some(7),
        }
    }

    #[test]
    fn backoff_stays_within_the_doubling_ceiling_and_the_cap() {
        let mut j = Jitter::new(42);
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(2);
        for attempt in 0..40 {
            let ceiling = (base * 2u32.pow(attempt.min(20))).min(cap);
            for _ in 0..200 {
                let d = backoff(attempt, base, cap, &mut j);
                assert!(d <= ceiling, "attempt {attempt}: {d:?} > {ceiling:?}");
            }
        }
        // Full jitter uses the whole interval, not just its top.
        let waits: Vec<Duration> = (0..1000).map(|_| backoff(3, base, cap, &mut j)).collect();
        assert!(waits.iter().any(|d| *d < Duration::from_millis(200)));
        assert!(waits.iter().any(|d| *d > Duration::from_millis(600)));
    }

    #[test]
    fn backoff_is_reproducible_from_its_seed() {
        let run = |seed| {
            let mut j = Jitter::new(seed);
            (0..10)
                .map(|a| backoff(a, Duration::from_millis(10), Duration::from_secs(1), &mut j))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
        assert_ne!(Jitter::new(0).next(), 0);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Mon, 02 Mar 2026 10:00:42 GMT", now),
            Some(Duration::from_secs(42))
        );
        assert_eq!(
            parse_retry_after("Mon, 02 Mar 2026 09:59:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("1.5", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }

    #[test]
    fn retry_after_wins_over_backoff_but_not_over_the_cap() {
        let p = policy(1, 5_000);
        let mut j = Jitter::new(1);
        assert_eq!(
            retry_delay(0, Some(Duration::from_secs(2)), &p, &mut j),
            Duration::from_secs(2)
        );
        assert_eq!(
            retry_delay(0, Some(Duration::from_secs(3600)), &p, &mut j),
            Duration::from_secs(5)
        );
        assert!(retry_delay(0, None, &p, &mut j) <= Duration::from_millis(1));
    }

    #[test]
    fn the_key_never_shows() {
        let key = ApiKey::new("ofk_live_s3cr3t".into()).unwrap();
        assert_eq!(format!("{key:?}"), "ApiKey([REDACTED])");
        assert_eq!(
            key.redact("Bearer ofk_live_s3cr3t, again ofk_live_s3cr3t!"),
            "Bearer [REDACTED], again [REDACTED]!"
        );
        assert!(key.appears_in("x ofk_live_s3cr3t y"));
        assert!(!key.appears_in("ofk_live_s3cr3"));
        let failure = ApiFailure::read(
            401,
            r#"{"code":"unauthorized","message":"key ofk_live_s3cr3t is revoked","retryable":false}"#,
            &key,
        );
        assert_eq!(
            failure.to_string(),
            "HTTP 401 unauthorized: key [REDACTED] is revoked"
        );
        let html = ApiFailure::read(502, "<html>proxy: ofk_live_s3cr3t\n</html>", &key);
        assert_eq!(
            html.to_string(),
            "HTTP 502 (body: <html>proxy: [REDACTED] </html>)"
        );
    }

    #[test]
    fn a_key_that_cannot_be_a_header_is_refused_without_showing_it() {
        let err = ApiKey::new("ofk secret".into()).unwrap_err();
        assert!(err.contains("position 4"), "{err}");
        assert!(!err.contains("secret"));
        assert!(ApiKey::new(String::new()).is_err());
        assert!(ApiKey::new("ofk_ok".into()).is_ok());
    }

    #[test]
    fn cursor_errors_are_told_from_other_client_errors() {
        let key = ApiKey::new("k_123456".into()).unwrap();
        let read = |status, body: &str| ApiFailure::read(status, body, &key);
        assert!(read(410, r#"{"code":"cursor_expired","message":"x"}"#).is_cursor_error());
        assert!(read(400, r#"{"code":"INVALID_CURSOR","message":"x"}"#).is_cursor_error());
        assert!(!read(400, r#"{"code":"invalid_request","message":"x"}"#).is_cursor_error());
        assert!(!read(422, r#"{"code":"cursor_expired","message":"x"}"#).is_cursor_error());
        assert!(!read(410, "gone").is_cursor_error());
    }

    #[test]
    fn retry_counts_add_up() {
        let mut c = RetryCounts::default();
        for cause in [
            Cause::RateLimited,
            Cause::ServerError,
            Cause::ServerError,
            Cause::Timeout,
            Cause::Connection,
            Cause::Malformed,
        ] {
            c.add(cause);
        }
        assert_eq!(c.server_error, 2);
        assert_eq!(c.total(), 6);
        assert_eq!(c.plus(&c).total(), 12);
    }
}
