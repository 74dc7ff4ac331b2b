//! Germany (KassenSichV): offline verification of TSE transaction signatures.
//!
//! The TSE signs a TR-03151 log message; a receipt carries only the fields needed to rebuild
//! it (`V0;…` QR code, the API's fiscal block, or a DSFinV-K `transactions_tse` row). This
//! module rebuilds the to-be-signed bytes (`logmsg`), reads those inputs (`qr`, `fiscal`,
//! `dsfinvk`), and tries the known encoding variants until one verifies (`verify`, with
//! `bp512` for brainpoolP512r1, which no crate covers). A TSE's
//! own TAR export holds the signed log messages themselves: `export` verifies them over the
//! bytes as stored and checks the logs of each TSE as a whole. In the operation stream,
//! `check` runs the KassenSichV rules (TSE001–TSE007), comparing what was signed with the
//! operation (`process_data`); `sign` is the software TSE that signs generated data. Byte
//! layout and sources: shared spec `kassensichv.md`, user-facing summary: docs/kassensichv.md.

mod bp512;
pub(crate) mod check;
pub mod dsfinvk;
pub mod export;
pub mod fiscal;
pub mod logmsg;
pub mod process_data;
pub mod qr;
pub mod sign;
mod tlv;
pub mod verify;

pub use export::{ExportReport, verify_export};
pub use logmsg::{ProcessDataEncoding, SignatureAlgorithm, SignedLog, TimeFormat};
pub use qr::{QrError, parse_qr};
pub use verify::{
    Attempt, Curve, KeyFormat, PublicKey, SignatureFormat, Variant, Verdict, Verification, verify,
    verify_signed_bytes,
};
