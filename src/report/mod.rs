//! Reports: what a person (and a machine) reads after a run.

pub mod analytics;
pub mod benford;
pub mod build;
pub mod devices;
pub mod drawer;
pub mod findings;
pub mod model;
pub mod pauses;
pub mod render;
pub mod summary;
pub mod svg;
