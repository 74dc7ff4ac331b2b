//! The few DER encoding primitives the log message rebuild needs, plus a strict reader for
//! the two DER structures receipts carry (SubjectPublicKeyInfo, ECDSA-Sig-Value).
//!
//! Hand-written because the log message is a flat concatenation of TLVs and some TSEs use BER
//! forms the `der` crate refuses; a dozen lines are easier to audit than a dependency.

/// Appends a DER length.
pub(crate) fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Appends one definite-length TLV.
pub(crate) fn push_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    push_len(out, content.len());
    out.extend_from_slice(content);
}

/// Minimal two's complement content octets of an INTEGER: a leading 00 is kept when the high
/// bit would otherwise make a positive number negative (218 -> 00 DA).
pub(crate) fn integer_content(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        let redundant = (b == 0x00 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    bytes[start..].to_vec()
}

/// Content octets of an unsigned INTEGER (counters can use the full u64 range).
pub(crate) fn unsigned_content(v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    let mut out = Vec::with_capacity(9);
    if bytes[skip] & 0x80 != 0 {
        out.push(0);
    }
    out.extend_from_slice(&bytes[skip..]);
    out
}

/// One DER element read from a buffer.
pub(crate) struct Element<'a> {
    pub tag: u8,
    pub content: &'a [u8],
}

/// Reads one definite-length TLV; returns it and the rest. `None` on any malformation.
pub(crate) fn read_tlv(input: &[u8]) -> Option<(Element<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7F) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    let (content, rest) = rest.split_at(len);
    Some((Element { tag, content }, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_keep_a_leading_zero_when_the_high_bit_is_set() {
        assert_eq!(unsigned_content(0), [0x00]);
        assert_eq!(unsigned_content(127), [0x7F]);
        assert_eq!(unsigned_content(128), [0x00, 0x80]);
        assert_eq!(unsigned_content(218), [0x00, 0xDA]);
        assert_eq!(unsigned_content(160_504), [0x02, 0x72, 0xF8]);
        assert_eq!(unsigned_content(344_413), [0x05, 0x41, 0x5D]);
        assert_eq!(
            unsigned_content(u64::MAX),
            [0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        assert_eq!(integer_content(1_627_035_175), [0x60, 0xFA, 0x96, 0x27]);
        assert_eq!(integer_content(-1), [0xFF]);
        assert_eq!(integer_content(-129), [0xFF, 0x7F]);
        assert_eq!(integer_content(0x80), [0x00, 0x80]);
    }

    #[test]
    fn long_lengths_use_the_long_form() {
        let mut out = Vec::new();
        push_len(&mut out, 0x7F);
        push_len(&mut out, 0x80);
        push_len(&mut out, 0x1234);
        assert_eq!(out, [0x7F, 0x81, 0x80, 0x82, 0x12, 0x34]);
    }

    #[test]
    fn reader_rejects_truncated_input() {
        assert!(read_tlv(&[0x04, 0x03, 1, 2]).is_none());
        assert!(read_tlv(&[0x04, 0x80]).is_none());
        let (e, rest) = read_tlv(&[0x04, 0x81, 0x01, 9, 7]).unwrap();
        assert_eq!((e.tag, e.content, rest), (0x04, &[9u8][..], &[7u8][..]));
    }
}
