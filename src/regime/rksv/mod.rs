//! RKSV (Austria): the machine-readable receipt code, its signature, chaining value and
//! encrypted turnover counter, and the DEP7 export that carries a register's receipts
//! (shared spec `rksv.md`).
//!
//! - [`receipt`]: one receipt from its JWS compact or QR form, with every format rule
//!   (fields, amounts, dates, serials, Base64 forms);
//! - [`crypto`]: ES256 verification, the chaining value, the turnover counter's AES-256-ICM
//!   encryption, key material from certificates and SubjectPublicKeyInfo;
//! - [`dep`]: a DEP7 file and a crypto container read and checked receipt by receipt, with
//!   the sequence rules (Startbeleg, chain, counter, ids, failure and restore);
//! - [`state`]: the verifier's carried state saved to and restored from a file, so that a
//!   DEP verified in parts over several runs is checked as one;
//! - [`trust`]: opt-in certificate trust, chains from a receipt certificate to the
//!   auditor's anchors.

pub(crate) mod check;
pub mod crypto;
pub mod dep;
pub mod receipt;
pub mod sign;
pub mod state;
pub mod trust;
