//! Regime verifiers: code that checks what a fiscal device signed, one module per regime.
//!
//! Each regime module takes canonical model data (or the receipt text printed from it),
//! rebuilds the exact bytes the device signed and verifies them offline. Verifiers return
//! verdicts with diagnostics and never panic on input; turning verdicts into findings is the
//! caller's decision.

pub mod kassensichv;
pub(crate) mod pem;
pub mod rksv;
pub mod rt;
