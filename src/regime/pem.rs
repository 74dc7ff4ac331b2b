//! Files of DER objects as auditors hand them over: DER encodings one after the other, or PEM
//! blocks. The RKSV trust store, the RT CA files and the RT seal read their keys and
//! certificates through here; what the DER means is the caller's business.
//!
//! Errors name the object by its position, counting from 1, as `<label> <n>: …` (label in
//! lower case, `certificate 2: not Base64: …`), so a file with many certificates says which
//! one is wrong.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::regime::kassensichv::export::ber;

/// The DER objects of `bytes`, each a complete TLV, one after the other.
pub fn der_sequence(mut bytes: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let tlv = ber::read(bytes, 0)
            .map_err(|e| format!("certificate {}: not DER: {e}", out.len() + 1))?;
        let (one, rest) = bytes.split_at(tlv.raw.len());
        out.push(one);
        bytes = rest;
    }
    Ok(out)
}

/// The decoded bodies of every `-----BEGIN <label>-----` block of `text`, in order.
pub fn blocks(text: &str, label: &str) -> Result<Vec<Vec<u8>>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let noun = label.to_lowercase();
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&begin) {
        let n = out.len() + 1;
        let body = &rest[start + begin.len()..];
        let stop = body
            .find(&end)
            .ok_or_else(|| format!("{noun} {n}: no {end} line"))?;
        out.push(base64_body(&body[..stop], &noun, n)?);
        rest = &body[stop + end.len()..];
    }
    Ok(out)
}

/// Base64 with any whitespace (PEM line breaks) left out, decoded; the error names object `n`.
pub fn base64_body(text: &str, noun: &str, n: usize) -> Result<Vec<u8>, String> {
    let compact: String = text.split_whitespace().collect();
    B64.decode(compact)
        .map_err(|e| format!("{noun} {n}: not Base64: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_found_in_order_and_errors_name_the_block() {
        let text = "x\n-----BEGIN A-----\nAQI=\n-----END A-----\n-----BEGIN B-----\nAw==\n-----END B-----\n-----BEGIN A-----\nBA\n==\n-----END A-----\n";
        assert_eq!(blocks(text, "A").unwrap(), [vec![1, 2], vec![4]]);
        assert_eq!(blocks(text, "B").unwrap(), [vec![3]]);
        assert_eq!(blocks(text, "C").unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(
            blocks(
                "-----BEGIN A-----\nAQI=\n-----END A-----\n-----BEGIN A-----\nAQI=\n",
                "A"
            )
            .unwrap_err(),
            "a 2: no -----END A----- line"
        );
        assert!(
            blocks("-----BEGIN A-----\n!!\n-----END A-----", "A")
                .unwrap_err()
                .starts_with("a 1: not Base64: ")
        );
    }

    #[test]
    fn der_objects_are_split_and_a_truncated_one_is_named() {
        let two = [0x30, 0x01, 0x00, 0x04, 0x00];
        assert_eq!(der_sequence(&two).unwrap(), [&two[..3], &two[3..]]);
        assert!(
            der_sequence(&two[..4])
                .unwrap_err()
                .starts_with("certificate 2: not DER: ")
        );
    }
}
