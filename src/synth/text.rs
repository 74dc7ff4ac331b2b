//! Allocation-free text for the hot path: short strings, amounts, timestamps, Base64.
//!
//! A history of millions of operations carries tens of ids, amounts and timestamps per
//! operation; formatting each through `format!` would cost more than generating the data.
//! Everything here writes into fixed stack buffers or appends to a reused `String`.

use std::fmt;

/// Writes `v` in decimal into the end of `tmp` and returns the digits: the one digit loop of
/// the generator, shared by the JSON writer and the fixed-size strings.
pub(crate) fn decimal_digits(mut v: u64, tmp: &mut [u8; 20]) -> &[u8] {
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &tmp[i..]
}

/// A short ASCII string on the stack (ids, timestamps, Base64 of signatures).
#[derive(Clone, Copy)]
pub(crate) struct SmallStr<const N: usize> {
    buf: [u8; N],
    len: usize,
}

/// Enough for every id and timestamp the generator writes.
pub(crate) type Sid = SmallStr<48>;
/// Enough for the Base64 of a 96-byte brainpoolP384r1 signature or a 97-byte public key
/// (132 characters).
pub(crate) type B64 = SmallStr<136>;

impl<const N: usize> SmallStr<N> {
    /// The empty string.
    pub(crate) const fn new() -> Self {
        SmallStr {
            buf: [0; N],
            len: 0,
        }
    }

    /// A copy of `s`; panics if it does not fit (callers only pass bounded strings).
    pub(crate) fn from_str(s: &str) -> Self {
        let mut x = Self::new();
        x.push_str(s);
        x
    }

    /// Appends ASCII text.
    pub(crate) fn push_str(&mut self, s: &str) -> &mut Self {
        let b = s.as_bytes();
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
        self
    }

    /// Appends another short string.
    pub(crate) fn push_small<const M: usize>(&mut self, s: &SmallStr<M>) -> &mut Self {
        let b = s.as_bytes();
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
        self
    }

    /// Appends one ASCII byte.
    pub(crate) fn push_byte(&mut self, b: u8) -> &mut Self {
        self.buf[self.len] = b;
        self.len += 1;
        self
    }

    /// Appends `n` in decimal, left-padded with zeros to at least `width` digits.
    pub(crate) fn push_num(&mut self, n: u64, width: usize) -> &mut Self {
        let mut tmp = [0u8; 20];
        let digits = decimal_digits(n, &mut tmp);
        for _ in digits.len()..width {
            self.push_byte(b'0');
        }
        self.buf[self.len..self.len + digits.len()].copy_from_slice(digits);
        self.len += digits.len();
        self
    }

    /// The bytes (ASCII).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII is ever pushed (push_str is given ASCII literals, digits and Base64).
        std::str::from_utf8(&self.buf[..self.len]).expect("SmallStr holds ASCII")
    }
}

impl<const N: usize> Default for SmallStr<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Debug for SmallStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> PartialEq for SmallStr<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

/// `cents` as a decimal with exactly two fraction digits and `sep` as the decimal separator
/// (`-12.30`, or `-12,30` for the RKSV code).
fn amount_str(cents: i64, sep: u8) -> SmallStr<24> {
    let mut s = SmallStr::<24>::new();
    if cents < 0 {
        s.push_byte(b'-');
    }
    let a = cents.unsigned_abs();
    s.push_num(a / 100, 1).push_byte(sep).push_num(a % 100, 2);
    s
}

/// Appends `cents` as a decimal with exactly two fraction digits and `sep` as the decimal
/// separator (`-12.30`, or `-12,30` for the RKSV code).
pub(crate) fn push_amount(out: &mut String, cents: i64, sep: char) {
    out.push_str(amount_str(cents, sep as u8).as_str());
}

/// Appends `cents` as `-12.30` to a byte buffer.
pub(crate) fn push_amount_bytes(out: &mut Vec<u8>, cents: i64) {
    out.extend_from_slice(amount_str(cents, b'.').as_str().as_bytes());
}

/// Days since 1970-01-01 → (year, month, day); Howard Hinnant's `civil_from_days`.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// How a timestamp is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TsStyle {
    /// `2026-03-02T08:15:00Z` (register-scoped API).
    Utc,
    /// `2026-03-02T08:15:00.000Z` (TSE times on the DSFinV-K QR code).
    UtcMillis,
    /// `2026-03-02T09:15:00+01:00` (v1.1 API: local time with its offset).
    Offset,
}

/// Formats epoch seconds `secs` (UTC) in `style`; `offset_secs` is the local UTC offset.
pub(crate) fn timestamp(secs: i64, offset_secs: i32, style: TsStyle) -> Sid {
    let local = match style {
        TsStyle::Utc | TsStyle::UtcMillis => secs,
        TsStyle::Offset => secs + i64::from(offset_secs),
    };
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let sod = local.rem_euclid(86_400) as u64;
    let mut s = Sid::new();
    s.push_num(y as u64, 4)
        .push_byte(b'-')
        .push_num(u64::from(m), 2)
        .push_byte(b'-')
        .push_num(u64::from(d), 2)
        .push_byte(b'T')
        .push_num(sod / 3600, 2)
        .push_byte(b':')
        .push_num(sod / 60 % 60, 2)
        .push_byte(b':')
        .push_num(sod % 60, 2);
    match style {
        TsStyle::Utc => {
            s.push_byte(b'Z');
        }
        TsStyle::UtcMillis => {
            s.push_str(".000Z");
        }
        TsStyle::Offset => {
            let o = offset_secs.unsigned_abs() as u64;
            s.push_byte(if offset_secs < 0 { b'-' } else { b'+' })
                .push_num(o / 3600, 2)
                .push_byte(b':')
                .push_num(o / 60 % 60, 2);
        }
    }
    s
}

/// Formats the timestamps of one operation, remembering the last two: start and completion
/// times repeat in several fields (envelope, fiscal events, payments).
pub(crate) struct Stamps {
    offset: i32,
    style: TsStyle,
    cache: [(i64, Sid); 2],
    next: usize,
}

impl Stamps {
    /// A formatter for `style` at local offset `offset_secs`.
    pub(crate) fn new(offset_secs: i32, style: TsStyle) -> Stamps {
        Stamps {
            offset: offset_secs,
            style,
            cache: [(i64::MIN, Sid::new()); 2],
            next: 0,
        }
    }

    /// `timestamp(secs, offset, style)`.
    pub(crate) fn get(&mut self, secs: i64) -> Sid {
        for (t, s) in &self.cache {
            if *t == secs {
                return *s;
            }
        }
        let s = timestamp(secs, self.offset, self.style);
        self.cache[self.next] = (secs, s);
        self.next ^= 1;
        s
    }
}

const B64_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard Base64 with `=` padding (RFC 4648 §4) of at most 66 bytes.
pub(crate) fn base64(bytes: &[u8]) -> B64 {
    let mut s = B64::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        s.push_byte(B64_ALPHABET[(n >> 18) as usize & 63]);
        s.push_byte(B64_ALPHABET[(n >> 12) as usize & 63]);
        s.push_byte(if chunk.len() > 1 {
            B64_ALPHABET[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        s.push_byte(if chunk.len() > 2 {
            B64_ALPHABET[n as usize & 63]
        } else {
            b'='
        });
    }
    s
}

/// Lowercase hex of `bytes` (at most 48 bytes into a `SmallStr<96>`).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(H[usize::from(b >> 4)] as char);
        s.push(H[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_have_two_decimals() {
        let mut s = String::new();
        push_amount(&mut s, -1230, '.');
        s.push(' ');
        push_amount(&mut s, 5, ',');
        s.push(' ');
        push_amount(&mut s, 0, '.');
        assert_eq!(s, "-12.30 0,05 0.00");
        let mut b = Vec::new();
        push_amount_bytes(&mut b, 123_456);
        assert_eq!(b, b"1234.56");
    }

    #[test]
    fn timestamps_in_every_style() {
        // 2026-03-02T08:15:07Z
        let t = 1_772_439_307;
        assert_eq!(
            timestamp(t, 3600, TsStyle::Utc).as_str(),
            "2026-03-02T08:15:07Z"
        );
        assert_eq!(
            timestamp(t, 3600, TsStyle::UtcMillis).as_str(),
            "2026-03-02T08:15:07.000Z"
        );
        assert_eq!(
            timestamp(t, 3600, TsStyle::Offset).as_str(),
            "2026-03-02T09:15:07+01:00"
        );
        let check = chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339();
        assert_eq!(check, "2026-03-02T08:15:07+00:00");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()).as_str(), enc);
        }
        assert_eq!(base64(&[0xff; 64]).as_str().len(), 88);
    }
}
