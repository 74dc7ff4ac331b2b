//! A minimal streaming JSON writer for the generator's hot path.
//!
//! Going through serde_json costs an escape scan of every key and value, which made string
//! escaping the largest single cost of generation. Almost everything the generator writes is
//! a token from a closed alphabet (ids, timestamps, Base64, decimal amounts, codes) that never
//! needs escaping, so those are written verbatim ([`Json::str`]); free text from the catalog
//! goes through [`Json::text`], which escapes per RFC 8259. Commas are placed by the writer
//! itself (one flag per nesting step), so callers cannot produce `,,` or `,}`; the tests
//! re-parse every line the generator writes.

use super::text::{SmallStr, decimal_digits, push_amount_bytes};

/// A member name as the literal `"name":`, so that writing a key is one copy. Made only by
/// [`k!`], which keeps a bare `"name"` from compiling where a key is expected.
#[derive(Clone, Copy)]
pub(crate) struct Key(pub(crate) &'static str);

/// The [`Key`] for a member name.
macro_rules! k {
    ($name:literal) => {
        $crate::synth::json::Key(concat!("\"", $name, "\":"))
    };
}
pub(crate) use k;

/// Appends JSON to a byte buffer.
pub(crate) struct Json<'a> {
    buf: &'a mut Vec<u8>,
    comma: bool,
}

/// True if `s` can be written between quotes without escaping.
pub(crate) fn is_plain(s: &str) -> bool {
    s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\')
}

impl<'a> Json<'a> {
    /// A writer appending to `buf`.
    pub(crate) fn new(buf: &'a mut Vec<u8>) -> Self {
        Json { buf, comma: false }
    }

    fn sep(&mut self) {
        if self.comma {
            self.buf.push(b',');
        }
        self.comma = true;
    }

    /// `{` as a value (after a key, at top level, or after [`Json::elem`]).
    pub(crate) fn open(&mut self) {
        self.buf.push(b'{');
        self.comma = false;
    }

    /// `}`.
    pub(crate) fn close(&mut self) {
        self.buf.push(b'}');
        self.comma = true;
    }

    /// `[` as a value.
    pub(crate) fn open_arr(&mut self) {
        self.buf.push(b'[');
        self.comma = false;
    }

    /// `]`.
    pub(crate) fn close_arr(&mut self) {
        self.buf.push(b']');
        self.comma = true;
    }

    /// Starts the next array element.
    pub(crate) fn elem(&mut self) {
        self.sep();
    }

    /// Starts a member.
    pub(crate) fn key(&mut self, k: Key) {
        self.sep();
        self.buf.extend_from_slice(k.0.as_bytes());
    }

    /// A string from a closed alphabet, written verbatim.
    pub(crate) fn str(&mut self, s: &str) {
        debug_assert!(is_plain(s), "{s:?} needs escaping");
        self.buf.push(b'"');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(b'"');
    }

    /// A short string from a closed alphabet (ids, timestamps, Base64), written verbatim.
    pub(crate) fn sid<const N: usize>(&mut self, s: &SmallStr<N>) {
        self.buf.push(b'"');
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(b'"');
    }

    /// Free text, escaped where needed.
    pub(crate) fn text(&mut self, s: &str) {
        if is_plain(s) {
            self.str(s);
            return;
        }
        self.buf.push(b'"');
        for c in s.chars() {
            match c {
                '"' => self.buf.extend_from_slice(b"\\\""),
                '\\' => self.buf.extend_from_slice(b"\\\\"),
                c if (c as u32) < 0x20 => {
                    let mut t = super::text::SmallStr::<8>::new();
                    t.push_str("\\u00");
                    const H: &[u8; 16] = b"0123456789abcdef";
                    t.push_byte(H[(c as usize) >> 4])
                        .push_byte(H[(c as usize) & 15]);
                    self.buf.extend_from_slice(t.as_str().as_bytes());
                }
                c => {
                    let mut b = [0u8; 4];
                    self.buf.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
        self.buf.push(b'"');
    }

    /// An integer.
    pub(crate) fn int(&mut self, v: i64) {
        if v < 0 {
            self.buf.push(b'-');
        }
        push_u64(self.buf, v.unsigned_abs());
    }

    /// A EUR amount in cents as a decimal string with two decimals (`"-0.07"`).
    pub(crate) fn amt(&mut self, cents: i64) {
        self.buf.push(b'"');
        push_amount_bytes(self.buf, cents);
        self.buf.push(b'"');
    }

    /// `null`.
    pub(crate) fn null(&mut self) {
        self.buf.extend_from_slice(b"null");
    }

    /// `true` / `false`.
    pub(crate) fn bool(&mut self, v: bool) {
        self.buf
            .extend_from_slice(if v { b"true" } else { b"false" });
    }

    /// `"key":"verbatim"`.
    pub(crate) fn f_str(&mut self, k: Key, v: &str) {
        self.key(k);
        self.str(v);
    }

    /// `"key":"verbatim"` for a [`SmallStr`].
    pub(crate) fn f_sid<const N: usize>(&mut self, k: Key, v: &SmallStr<N>) {
        self.key(k);
        self.sid(v);
    }

    /// `"key":"escaped text"`.
    pub(crate) fn f_text(&mut self, k: Key, v: &str) {
        self.key(k);
        self.text(v);
    }

    /// `"key":"verbatim"`, or nothing for `None`.
    pub(crate) fn f_opt_str(&mut self, k: Key, v: Option<&str>) {
        if let Some(v) = v {
            self.f_str(k, v);
        }
    }

    /// `"key":"escaped text"`, or nothing for `None`.
    pub(crate) fn f_opt_text(&mut self, k: Key, v: Option<&str>) {
        if let Some(v) = v {
            self.f_text(k, v);
        }
    }

    /// `"key":123`.
    pub(crate) fn f_int(&mut self, k: Key, v: i64) {
        self.key(k);
        self.int(v);
    }

    /// `"key":"1.23"`.
    pub(crate) fn f_amt(&mut self, k: Key, cents: i64) {
        self.key(k);
        self.amt(cents);
    }

    /// `"key":{` — close with [`Json::close`].
    pub(crate) fn f_obj(&mut self, k: Key) {
        self.key(k);
        self.open();
    }

    /// `"key":[` — close with [`Json::close_arr`].
    pub(crate) fn f_arr(&mut self, k: Key) {
        self.key(k);
        self.open_arr();
    }
}

/// Appends `v` in decimal.
pub(crate) fn push_u64(buf: &mut Vec<u8>, v: u64) {
    let mut tmp = [0u8; 20];
    buf.extend_from_slice(decimal_digits(v, &mut tmp));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_places_commas() {
        let mut b = Vec::new();
        let mut w = Json::new(&mut b);
        w.open();
        w.f_str(k!("a"), "x");
        w.f_arr(k!("l"));
        for i in 0..3 {
            w.elem();
            w.open();
            w.f_int(k!("i"), i - 1);
            w.close();
        }
        w.close_arr();
        w.f_obj(k!("o"));
        w.close();
        w.f_amt(k!("m"), -7);
        w.key(k!("b"));
        w.bool(true);
        w.f_text(k!("t"), "a\"b\\c\u{1}é");
        w.close();
        let s = String::from_utf8(b).unwrap();
        assert_eq!(
            s,
            r#"{"a":"x","l":[{"i":-1},{"i":0},{"i":1}],"o":{},"m":"-0.07","b":true,"t":"a\"b\\c\u0001é"}"#
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["t"], "a\"b\\c\u{1}é");
    }
}
