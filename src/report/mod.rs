//! Reports: what a person (and a machine) reads after a run.

pub mod analytics;
pub mod benford;
pub mod findings;
pub mod summary;
