//! A BER reader that keeps every element's raw bytes, for the log messages and certificates of
//! a TSE export.
//!
//! Log messages are verified over the bytes as stored, and D-Trust TSEs store processData in
//! constructed, indefinite-length form (spec §3.5), which DER readers (the `der` crate, and
//! `tlv::read_tlv`) refuse. This reader handles what TR-03151 log messages and X.509
//! certificates use: low tag numbers (< 31), definite and indefinite lengths, constructed
//! strings. Nesting is limited to `MAX_DEPTH`, so hostile input cannot exhaust the stack;
//! every malformation is an error with its byte offset, never a panic.

/// Deepest nesting read; real log messages nest three levels (message, processData, chunk).
pub const MAX_DEPTH: usize = 32;

/// One element as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The identifier octet: class (bits 8–7), constructed (bit 6), tag number (bits 5–1).
    pub tag: u8,
    /// Offset of the identifier octet in the whole input.
    pub offset: usize,
    /// The whole encoding: identifier, length, content and, for indefinite length, the
    /// end-of-contents octets.
    pub raw: &'a [u8],
    /// The content octets, without end-of-contents.
    pub content: &'a [u8],
    /// Offset of the content in the whole input.
    pub content_offset: usize,
    /// Whether the length was indefinite (`80`, content closed by `00 00`).
    pub indefinite: bool,
}

impl Tlv<'_> {
    /// Whether the constructed bit is set.
    pub fn constructed(&self) -> bool {
        self.tag & 0x20 != 0
    }
}

/// Why bytes are not BER.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BerError {
    /// The input ends inside an element.
    #[error("byte {offset}: input ends inside the {part} of an element")]
    Truncated {
        /// Where the element starts.
        offset: usize,
        /// Which part is cut off: identifier, length, content or end-of-contents.
        part: &'static str,
    },
    /// A tag number ≥ 31 (multi-octet identifier), which neither log messages nor
    /// certificates use.
    #[error("byte {offset}: identifier 0x{tag:02X} uses the high tag number form")]
    HighTagNumber {
        /// Where the element starts.
        offset: usize,
        /// The identifier octet.
        tag: u8,
    },
    /// A definite length that does not fit the platform's address space, or the reserved
    /// length octet 0xFF.
    #[error("byte {offset}: length field of {octets} octets is unsupported")]
    Length {
        /// Where the element starts.
        offset: usize,
        /// The number of length octets announced.
        octets: usize,
    },
    /// Indefinite length on a primitive element (BER allows it only for constructed ones).
    #[error("byte {offset}: primitive element 0x{tag:02X} with indefinite length")]
    PrimitiveIndefinite {
        /// Where the element starts.
        offset: usize,
        /// The identifier octet.
        tag: u8,
    },
    /// End-of-contents octets where an element must be.
    #[error("byte {offset}: end-of-contents outside an indefinite-length element")]
    UnexpectedEndOfContents {
        /// Where they are.
        offset: usize,
    },
    /// Nesting deeper than `MAX_DEPTH`.
    #[error("byte {offset}: elements nested deeper than {MAX_DEPTH} levels")]
    TooDeep {
        /// Where the element that is too deep starts.
        offset: usize,
    },
}

/// Reads the element at the start of `input`; `base` is the offset of `input` in the whole
/// buffer, so offsets in the result and in errors refer to the whole buffer. Bytes after the
/// element are left alone (`input[tlv.raw.len()..]`).
pub fn read(input: &[u8], base: usize) -> Result<Tlv<'_>, BerError> {
    read_at(input, base, 0)
}

fn read_at(input: &[u8], base: usize, depth: usize) -> Result<Tlv<'_>, BerError> {
    let truncated = |part| BerError::Truncated { offset: base, part };
    if depth > MAX_DEPTH {
        return Err(BerError::TooDeep { offset: base });
    }
    let (&tag, _) = input.split_first().ok_or(truncated("identifier"))?;
    if tag & 0x1F == 0x1F {
        return Err(BerError::HighTagNumber { offset: base, tag });
    }
    let &first = input.get(1).ok_or(truncated("length"))?;
    if tag == 0x00 {
        return Err(BerError::UnexpectedEndOfContents { offset: base });
    }
    if first == 0x80 {
        if tag & 0x20 == 0 {
            return Err(BerError::PrimitiveIndefinite { offset: base, tag });
        }
        // The end is the 00 00 that follows the last child, so every child must be read.
        let mut pos = 2;
        loop {
            match input.get(pos..pos + 2) {
                Some([0, 0]) => break,
                Some(_) => {}
                None => return Err(truncated("end-of-contents")),
            }
            let child = read_at(&input[pos..], base + pos, depth + 1)?;
            pos += child.raw.len();
        }
        return Ok(Tlv {
            tag,
            offset: base,
            raw: &input[..pos + 2],
            content: &input[2..pos],
            content_offset: base + 2,
            indefinite: true,
        });
    }
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let octets = (first & 0x7F) as usize;
        if octets > std::mem::size_of::<usize>() {
            return Err(BerError::Length {
                offset: base,
                octets,
            });
        }
        let bytes = input.get(2..2 + octets).ok_or(truncated("length"))?;
        let len = bytes.iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, 2 + octets)
    };
    let end = header
        .checked_add(len)
        .filter(|end| *end <= input.len())
        .ok_or(truncated("content"))?;
    Ok(Tlv {
        tag,
        offset: base,
        raw: &input[..end],
        content: &input[header..end],
        content_offset: base + header,
        indefinite: false,
    })
}

/// The elements inside a constructed element, in order.
pub fn children<'a>(tlv: &Tlv<'a>) -> Result<Vec<Tlv<'a>>, BerError> {
    children_at(tlv.content, tlv.content_offset, 1)
}

fn children_at(content: &[u8], base: usize, depth: usize) -> Result<Vec<Tlv<'_>>, BerError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < content.len() {
        let child = read_at(&content[pos..], base + pos, depth)?;
        pos += child.raw.len();
        out.push(child);
    }
    Ok(out)
}

/// The value of a string-type element: the content of a primitive one, or the chunks of a
/// constructed one concatenated in order (X.690 8.7.3), with the number of primitive chunks.
pub fn octets(tlv: &Tlv<'_>) -> Result<(Vec<u8>, usize), BerError> {
    let mut out = Vec::with_capacity(tlv.content.len());
    let chunks = octets_into(tlv, 1, &mut out)?;
    Ok((out, chunks))
}

fn octets_into(tlv: &Tlv<'_>, depth: usize, out: &mut Vec<u8>) -> Result<usize, BerError> {
    if !tlv.constructed() {
        out.extend_from_slice(tlv.content);
        return Ok(1);
    }
    if depth > MAX_DEPTH {
        return Err(BerError::TooDeep { offset: tlv.offset });
    }
    let mut chunks = 0;
    for child in children_at(tlv.content, tlv.content_offset, depth)? {
        chunks += octets_into(&child, depth + 1, out)?;
    }
    Ok(chunks)
}

/// Dotted form of an OID's content octets, for messages.
pub fn oid_text(content: &[u8]) -> String {
    let Some((&first, rest)) = content.split_first() else {
        return "(empty)".into();
    };
    let top = u64::from(first / 40).min(2);
    let mut arcs = vec![top, u64::from(first) - top * 40];
    let mut value: u64 = 0;
    for b in rest {
        value = value
            .saturating_mul(128)
            .saturating_add(u64::from(b & 0x7F));
        if b & 0x80 == 0 {
            arcs.push(value);
            value = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn definite_short_and_long_lengths() {
        let t = read(&[0x04, 0x02, 0xAA, 0xBB, 0xFF], 10).unwrap();
        assert_eq!((t.tag, t.offset, t.content_offset), (0x04, 10, 12));
        assert_eq!((t.raw.len(), t.content), (4, &[0xAA, 0xBB][..]));
        assert!(!t.indefinite);
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7u8; 0x80]);
        let t = read(&long, 0).unwrap();
        assert_eq!((t.content.len(), t.content_offset), (0x80, 3));
    }

    /// The D-Trust processData form: [2] constructed, indefinite, OCTET STRING chunks, 00 00.
    #[test]
    fn indefinite_length_runs_to_the_matching_end_of_contents() {
        let bytes = [
            0xA2, 0x80, 0x04, 0x02, b'a', b'b', 0xA4, 0x80, 0x04, 0x01, b'c', 0x00, 0x00, 0x00,
            0x00, 0x83, 0x00,
        ];
        let t = read(&bytes, 0).unwrap();
        assert!(t.indefinite && t.constructed());
        assert_eq!(t.raw.len(), 15);
        assert_eq!(t.content.len(), 11);
        let kids = children(&t).unwrap();
        assert_eq!(kids.len(), 2);
        assert_eq!(
            (kids[1].tag, kids[1].offset, kids[1].indefinite),
            (0xA4, 6, true)
        );
        assert_eq!(octets(&t).unwrap(), (b"abc".to_vec(), 2));
        assert_eq!(read(&bytes[15..], 15).unwrap().offset, 15);
    }

    #[test]
    fn multi_chunk_constructed_string_concatenates_in_order() {
        let bytes = [
            0x24, 0x09, 0x04, 0x01, b'x', 0x04, 0x00, 0x04, 0x02, b'y', b'z',
        ];
        let t = read(&bytes, 0).unwrap();
        assert_eq!(octets(&t).unwrap(), (b"xyz".to_vec(), 3));
        let prim = read(&[0x82, 0x01, b'q'], 0).unwrap();
        assert_eq!(octets(&prim).unwrap(), (b"q".to_vec(), 1));
    }

    #[test]
    fn truncated_input_is_an_error_with_its_offset() {
        assert_eq!(
            read(&[], 5),
            Err(BerError::Truncated {
                offset: 5,
                part: "identifier"
            })
        );
        assert_eq!(
            read(&[0x04], 0),
            Err(BerError::Truncated {
                offset: 0,
                part: "length"
            })
        );
        assert_eq!(
            read(&[0x04, 0x03, 1, 2], 0),
            Err(BerError::Truncated {
                offset: 0,
                part: "content"
            })
        );
        assert_eq!(
            read(&[0x04, 0x82, 0x01], 0),
            Err(BerError::Truncated {
                offset: 0,
                part: "length"
            })
        );
        assert_eq!(
            read(&[0xA2, 0x80, 0x04, 0x01, b'a', 0x00], 0),
            Err(BerError::Truncated {
                offset: 0,
                part: "end-of-contents"
            })
        );
        // A child cut off inside an indefinite element reports the child's offset.
        assert_eq!(
            read(&[0x30, 0x80, 0x02, 0x01, 0x05, 0x04, 0x05, 1], 0),
            Err(BerError::Truncated {
                offset: 5,
                part: "content"
            })
        );
    }

    #[test]
    fn malformations_are_errors() {
        assert!(matches!(
            read(&[0x1F, 0x81, 0x00], 0),
            Err(BerError::HighTagNumber { .. })
        ));
        assert!(matches!(
            read(&[0x04, 0x80, 0x00, 0x00], 0),
            Err(BerError::PrimitiveIndefinite { .. })
        ));
        assert!(matches!(
            read(
                &[0x04, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                0
            ),
            Err(BerError::Length { octets: 127, .. })
        ));
        assert!(matches!(
            read(&[0x00, 0x00], 0),
            Err(BerError::UnexpectedEndOfContents { offset: 0 })
        ));
        let huge = [0x04, 0x88, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert!(matches!(read(&huge, 0), Err(BerError::Truncated { .. })));
    }

    #[test]
    fn nesting_is_bounded() {
        let depth = MAX_DEPTH + 5;
        let mut bytes = [0x30, 0x80].repeat(depth);
        bytes.extend([0x00, 0x00].repeat(depth));
        assert!(matches!(read(&bytes, 0), Err(BerError::TooDeep { .. })));
        let ok = [0x30, 0x80]
            .repeat(3)
            .into_iter()
            .chain([0u8; 6])
            .collect::<Vec<_>>();
        assert_eq!(read(&ok, 0).unwrap().raw.len(), 12);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Arbitrary bytes are read or refused, never a panic, and what is read stays inside
        /// the input.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(t) = read(&bytes, 0) {
                prop_assert!(t.raw.len() <= bytes.len());
                if let Ok(kids) = children(&t) {
                    for k in kids {
                        let _ = octets(&k);
                    }
                }
                let _ = octets(&t);
            }
        }
    }
}
