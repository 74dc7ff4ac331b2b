//! The ustar archive a TSE export comes in (TR-03151 §5.1): its regular files, by name.
//!
//! Hand-written rather than the `tar` crate: an export is a flat list of small files, so all
//! the reader needs is the 512-byte header (name, size, type, checksum). Over a byte slice it
//! borrows each file's data instead of copying it, and it cannot panic on any input (the
//! proptest below feeds it arbitrary bytes). Long names are read in both forms writers use:
//! GNU `L` entries and pax `path` records (`x`). Global pax headers, directories, links and
//! other non-regular entries hold no export data and are skipped.

/// One regular file of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The path inside the archive (long names resolved).
    pub name: String,
    /// Offset of the entry's header, for messages.
    pub offset: usize,
    /// The file's bytes.
    pub data: &'a [u8],
}

/// Why bytes are not a readable tar archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TarError {
    /// Zero bytes.
    #[error("the file is empty, not a tar archive")]
    Empty,
    /// The header checksum does not match: not a tar file, or a damaged one.
    #[error(
        "header at byte {offset}: checksum {found:?} does not match the computed {expected}: not a tar archive, or a damaged one"
    )]
    Checksum {
        /// Where the header starts.
        offset: usize,
        /// The checksum computed over the header.
        expected: u32,
        /// The checksum field as stored.
        found: String,
    },
    /// A numeric header field is not octal (or base-256).
    #[error("header at byte {offset}: {field} is not a number: {found:?}")]
    Number {
        /// Where the header starts.
        offset: usize,
        /// The field: size or checksum.
        field: &'static str,
        /// The field as stored.
        found: String,
    },
    /// The archive ends inside a header.
    #[error("the archive ends inside the header at byte {offset} ({available} of 512 bytes)")]
    PartialHeader {
        /// Where the header starts.
        offset: usize,
        /// The bytes left.
        available: usize,
    },
    /// The archive ends inside an entry's data.
    #[error("entry {name:?} at byte {offset} declares {size} bytes, but only {available} follow")]
    Truncated {
        /// The entry's name.
        name: String,
        /// Where its header starts.
        offset: usize,
        /// The size its header declares.
        size: u64,
        /// The bytes after the header.
        available: usize,
    },
}

const BLOCK: usize = 512;

/// The regular files of a tar archive, in archive order.
pub fn entries(bytes: &[u8]) -> Result<Vec<Entry<'_>>, TarError> {
    if bytes.is_empty() {
        return Err(TarError::Empty);
    }
    let mut out = Vec::new();
    let mut offset = 0;
    let mut long_name: Option<String> = None;
    // Writers end the archive with two zero blocks; some stop after one or none.
    while offset < bytes.len() {
        let header = bytes
            .get(offset..offset + BLOCK)
            .ok_or(TarError::PartialHeader {
                offset,
                available: bytes.len() - offset,
            })?;
        if header.iter().all(|b| *b == 0) {
            break;
        }
        check_sum(header, offset)?;
        let size = number(&header[124..136]).ok_or_else(|| TarError::Number {
            offset,
            field: "size",
            found: text(&header[124..136]),
        })?;
        let start = offset + BLOCK;
        let available = bytes.len() - start;
        let name = || long_name.clone().unwrap_or_else(|| header_name(header));
        let len = usize::try_from(size)
            .ok()
            .filter(|len| *len <= available)
            .ok_or_else(|| TarError::Truncated {
                name: name(),
                offset,
                size,
                available,
            })?;
        let data = &bytes[start..start + len];
        match header[156] {
            b'0' | 0 | b'7' => out.push(Entry {
                name: long_name.take().unwrap_or_else(|| header_name(header)),
                offset,
                data,
            }),
            b'L' => long_name = Some(text(data)),
            b'x' => long_name = pax_path(data).or(long_name),
            _ => long_name = None,
        }
        // The data is padded to whole blocks; the padding of the last entry may be missing.
        offset = start.saturating_add(len.div_ceil(BLOCK).saturating_mul(BLOCK));
    }
    Ok(out)
}

/// Text up to the first NUL, lossy: names are compared as text, and a broken byte must not
/// hide the rest of the name.
fn text(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// The name field, with the ustar prefix field in front when the header is POSIX ustar (GNU
/// headers use those bytes for other things).
fn header_name(header: &[u8]) -> String {
    let name = text(&header[0..100]);
    if &header[257..263] == b"ustar\0" {
        let prefix = text(&header[345..500]);
        if !prefix.is_empty() {
            return format!("{prefix}/{name}");
        }
    }
    name
}

/// An octal field (spaces and NULs around it allowed), or GNU base-256 when the high bit of
/// the first byte is set.
fn number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        return field.iter().enumerate().try_fold(0u64, |acc, (i, b)| {
            let b = if i == 0 { b & 0x7F } else { *b };
            acc.checked_mul(256)?.checked_add(u64::from(b))
        });
    }
    let digits = std::str::from_utf8(field)
        .ok()?
        .trim_matches(|c: char| c == ' ' || c == '\0');
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, 8).ok()
}

/// The header checksum is the byte sum with the checksum field read as spaces; old writers
/// summed signed bytes, so either sum is accepted.
fn check_sum(header: &[u8], offset: usize) -> Result<(), TarError> {
    let field = &header[148..156];
    let stored = number(field).ok_or_else(|| TarError::Number {
        offset,
        field: "checksum",
        found: text(field),
    })?;
    let spaces = 8 * u32::from(b' ');
    let (unsigned, signed) = header
        .iter()
        .enumerate()
        .filter(|(i, _)| !(148..156).contains(i))
        .fold((spaces, spaces as i64), |(u, s), (_, b)| {
            (u + u32::from(*b), s + i64::from(*b as i8))
        });
    if stored == u64::from(unsigned) || i64::try_from(stored).is_ok_and(|v| v == signed) {
        Ok(())
    } else {
        Err(TarError::Checksum {
            offset,
            expected: unsigned,
            found: text(field),
        })
    }
}

/// The `path` of pax extended header records (`<len> <key>=<value>\n` each).
fn pax_path(data: &[u8]) -> Option<String> {
    let mut rest = data;
    let mut path = None;
    while !rest.is_empty() {
        let space = rest.iter().position(|b| *b == b' ')?;
        let len: usize = std::str::from_utf8(&rest[..space]).ok()?.parse().ok()?;
        let record = rest.get(space + 1..len)?;
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(value) = record.strip_prefix(b"path=") {
            path = Some(String::from_utf8_lossy(value).into_owned());
        }
        rest = &rest[len..];
    }
    path
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A ustar header for a regular file (or `kind`) of `size` bytes, checksum filled in.
    pub(crate) fn header(name: &str, size: usize, kind: u8) -> Vec<u8> {
        let mut h = vec![0u8; BLOCK];
        h[..name.len().min(100)].copy_from_slice(&name.as_bytes()[..name.len().min(100)]);
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
        h[156] = kind;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        h
    }

    /// A ustar archive of regular files.
    pub(crate) fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in files {
            out.extend(header(name, data.len(), b'0'));
            out.extend(*data);
            out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
        }
        out.extend([0u8; 2 * BLOCK]);
        out
    }

    #[test]
    fn reads_regular_files_in_order() {
        let tar = archive(&[("info.csv", b"a,b"), ("dir/x.log", &[1u8; 600])]);
        let e = entries(&tar).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].name.as_str(), e[0].data), ("info.csv", &b"a,b"[..]));
        assert_eq!(
            (e[1].name.as_str(), e[1].data.len(), e[1].offset),
            ("dir/x.log", 600, 1024)
        );
    }

    #[test]
    fn long_names_from_gnu_and_pax_headers() {
        let long = format!("{}/{}", "d".repeat(90), "Unixt_1_Sig-1_Log-Aud.log");
        let mut tar = header("././@LongLink", long.len() + 1, b'L');
        tar.extend(long.as_bytes());
        tar.push(0);
        tar.resize(2 * BLOCK, 0);
        tar.extend(header("truncated", 1, b'0'));
        tar.extend([9u8]);
        tar.resize(4 * BLOCK, 0);
        let record = format!("path={long}\n");
        let pax = format!("{} {record}", record.len() + 1 + 3);
        tar.extend(header("PaxHeaders/x", pax.len(), b'x'));
        tar.extend(pax.as_bytes());
        tar.resize(6 * BLOCK, 0);
        tar.extend(header("short", 0, b'0'));
        tar.extend(header("plain", 0, b'0'));
        let e = entries(&tar).unwrap();
        let names: Vec<&str> = e.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, [long.as_str(), long.as_str(), "plain"]);
        assert_eq!(e[0].data, [9]);
    }

    #[test]
    fn directories_and_links_are_skipped() {
        let mut tar = header("dir/", 0, b'5');
        tar.extend(header("link", 0, b'2'));
        tar.extend(archive(&[("a.log", b"x")]));
        let e = entries(&tar).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].name, "a.log");
    }

    #[test]
    fn not_a_tar_is_an_error() {
        assert_eq!(entries(b""), Err(TarError::Empty));
        assert!(matches!(
            entries(&[b'x'; 2000]),
            Err(TarError::Number {
                field: "checksum",
                ..
            })
        ));
        let mut bad = archive(&[("a.log", b"x")]);
        bad[0] = b'b';
        assert!(matches!(
            entries(&bad),
            Err(TarError::Checksum { offset: 0, .. })
        ));
        assert!(matches!(
            entries(&[1u8; 100]),
            Err(TarError::PartialHeader {
                offset: 0,
                available: 100
            })
        ));
    }

    #[test]
    fn truncated_data_is_an_error() {
        let tar = archive(&[("a.log", &[7u8; 700])]);
        match entries(&tar[..BLOCK + 100]) {
            Err(TarError::Truncated {
                name,
                size,
                available,
                ..
            }) => assert_eq!((name.as_str(), size, available), ("a.log", 700, 100)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn numbers_in_octal_and_base_256() {
        assert_eq!(number(b"00000001750\0"), Some(1000));
        assert_eq!(number(b"  1750 \0\0\0\0\0"), Some(1000));
        assert_eq!(
            number(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xE8]),
            Some(1000)
        );
        assert_eq!(number(b"12x"), None);
        assert_eq!(number(&[0xFF; 12]), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Arbitrary bytes, and a valid archive with one byte changed, are read or refused:
        /// never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1600)) {
            let _ = entries(&bytes);
        }

        #[test]
        fn corrupted_archives_never_panic(pos in 0usize..2048, byte in any::<u8>()) {
            let mut tar = archive(&[("a.log", &[1u8; 300]), ("b.log", b"xy")]);
            tar[pos] = byte;
            let _ = entries(&tar);
        }
    }
}
