//! RT (Italy): the registratore telematico's daily closing (`DatiCorrispettivi`, COR10), its
//! XML-DSig seal, and the rules of the documenti commerciali it totals (shared spec `rt.md`).

pub(crate) mod check;

pub mod cert;
pub mod cor10;
pub mod dsig;
pub mod verify;
pub mod xml;

pub use verify::{Options, Report, verify};
