//! Exporters: the files auditors demand, written from the canonical model.
//!
//! **Boundary:** exporters read only the canonical model (`crate::model`) and master data,
//! never wire types; ingest is the only code that knows those. The same input gives the same
//! bytes: no clock, no unordered iteration in what is written.
//!
//! - [`dsfinvk`]: the German DSFinV-K export (20 CSV tables, index.xml and the GDPdU DTD);
//! - [`dep7`]: the Austrian RKSV DEP7 export (one JSON file of signed receipts per cash box);
//! - [`rt`]: the Italian daily closing (DatiCorrispettivi COR10), one sealed XML per closing.

pub mod dep7;
pub mod dsfinvk;
pub mod rt;
