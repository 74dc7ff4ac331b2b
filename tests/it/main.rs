//! fiskal's integration tests: one binary, one module per area (see ARCHITECTURE.md, Testing).

mod bad_input;
mod cli;
mod containers;
mod demo;
mod dsfinvk_export;
mod dsfinvk_verify;
mod fetch;
mod kassensichv;
mod nightly;
#[cfg(feature = "parquet")]
mod parquet;
mod report;
mod report_browser;
mod rksv_dep7;
mod rksv_history;
mod rt_export;
mod rt_xml;
mod shapes;
mod shard;
mod spilled_indexes;
mod synth;
mod synth_placeholder;
mod tse_check;
mod util;
mod validate;
mod validate_carry;
