//! The canonical operation model: what both API shapes normalise into.
//!
//! No I/O and no wire names live here. Everything downstream (validation, regime verifiers,
//! exporters, the report) reads only these types.

pub mod finding;
pub mod hash;
pub mod keyed;
pub mod keyset;
pub mod masterdata;
pub mod money;
pub mod operation;
pub mod source;
pub mod templog;

pub use finding::{Finding, Severity};
pub use money::Currency;
pub use operation::*;
pub use source::{CompactLoc, LocLog, SourceLoc, SourceTable};
