//! fiskal: audits and tax exports for OpenFiskal point-of-sale operation histories.
//!
//! The pipeline runs one way: wire JSON (`ingest`) → canonical operations (`model`) →
//! validated stream → regime verifiers and exporters → files and findings → report.
//! Each module below owns one stage; ARCHITECTURE.md maps them.
#![warn(missing_docs)]

pub mod cli;
pub mod export;
pub mod fsutil;
pub mod ingest;
pub mod model;
pub mod nightly;
pub mod output;
pub mod regime;
pub mod report;
pub mod synth;
pub mod validate;
