//! Germany (KassenSichV): offline verification of TSE transaction signatures.
//!
//! The TSE signs a TR-03151 log message; a receipt carries only the fields needed to rebuild
//! it (`V0;…` QR code, or the API's fiscal block). This module rebuilds the to-be-signed
//! bytes (`logmsg`), reads the inputs (`qr`, `fiscal`), and tries the known encoding variants
//! until one verifies (`verify`, with `bp512` for brainpoolP512r1, which no crate covers).
//! Byte layout and sources: shared spec `kassensichv.md`, user-facing summary:
//! docs/kassensichv.md.

mod bp512;
pub mod fiscal;
pub mod logmsg;
pub mod qr;
mod tlv;
pub mod verify;

pub use logmsg::{ProcessDataEncoding, SignatureAlgorithm, SignedLog, TimeFormat};
pub use qr::{QrError, parse_qr};
pub use verify::{
    Attempt, Curve, KeyFormat, SignatureFormat, Variant, Verdict, Verification, verify,
};
