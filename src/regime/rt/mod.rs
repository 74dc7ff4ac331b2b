//! RT (Italy): the registratore telematico's daily closing (`DatiCorrispettivi`, COR10), its
//! XML-DSig seal, and the rules of the documenti commerciali it totals (shared spec `rt.md`).
