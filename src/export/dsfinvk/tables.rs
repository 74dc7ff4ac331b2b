//! The 20 DSFinV-K 2.4 tables, declared once: file, IDEA table name, module and columns.
//!
//! Everything DSFinV-K-shaped in fiskal derives from these declarations: the CSV header and
//! the value checks of [`TableWriter`](super::csv::TableWriter), every `<Table>` of the
//! generated index.xml ([`render`](super::index_xml::render)), and the column checks the
//! export validator runs on foreign exports. The columns were derived once from the official
//! 2.3 index.xml, which is structurally the 2.4 one (DSFinV-K spec §1.2), with the Mussfeld
//! marks of Anhang G v2.2 and the 2.3 MaxLengths. Tests compare them with the official file
//! column by column and with the derived column list the flags came from.
//!
//! Beside the tables: the closed value lists of text columns ([`ENUMS`]) and the VAT keys
//! ([`UST_SCHLUESSEL`], [`ust_schluessel`]).
//!
//! Citations: "DSFinV-K spec §n" is the project's DSFinV-K reference (the shared research note
//! `dsfinvk.md`); "DSFinV-K 2.2 …" is the official BZSt text it quotes.

use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// The three parts of an export (DSFinV-K 2.2 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Module {
    /// Master data, written again for every closing (DSFinV-K 2.2 §3.2).
    Stammdaten,
    /// The closing's aggregates (DSFinV-K 2.2 §3.3).
    Kassenabschluss,
    /// The individual records: one row per Vorgang, line or payment (DSFinV-K 2.2 §3.1).
    Einzelaufzeichnung,
}

impl Module {
    /// The module's official name.
    pub fn as_str(self) -> &'static str {
        match self {
            Module::Stammdaten => "Stammdaten",
            Module::Kassenabschluss => "Kassenabschluss",
            Module::Einzelaufzeichnung => "Einzelaufzeichnung",
        }
    }
}

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A column's type as index.xml declares it. Dates, times and flags are text in DSFinV-K.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// `<AlphaNumeric />` with `<MaxLength>`: text of at most `max_len` characters.
    AlphaNumeric {
        /// Maximum length in characters (not bytes; DSFinV-K spec §1.3).
        max_len: u32,
    },
    /// `<Numeric />`, with `<Accuracy>` when `accuracy` > 0: a decimal number.
    Numeric {
        /// Maximum number of decimals; 0 is an integer column.
        accuracy: u32,
    },
}

/// One column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Column name, the CSV header field (`Z_KASSE_ID`).
    pub name: &'static str,
    /// The index.xml `<Description>`, verbatim.
    pub description: &'static str,
    /// The declared type.
    pub ty: ColumnType,
    /// How far the column must be filled (DSFinV-K spec §2.2).
    pub required: Required,
}

/// How far a column must be filled.
///
/// Anhang G v2.2 marks Mussfelder as dark cells; its legend (cell K229) adds that every
/// other field must still be filled when the recording system has the data. Some dark cells
/// cannot always be filled by a real export: an anonymous sale has no customer (KUNDE_NAME,
/// KUNDE_ID, KUNDE_TYP: "mandatory if available", §146 AEAO), a TSE without a known
/// certificate has none to split (TSE_ZERTIFIKAT_I/II), a base-currency payment has no
/// foreign currency code (ZAHLWAEH_CODE: "if different from the base currency"), and a line
/// that is no article (a discount, a cash movement) has no article number, quantity or unit
/// price (ART_NR, MENGE, STK_BR, which later readings of Anhang G mark "only for article
/// lines"). Those are [`Required::IfAvailable`]; the remaining dark cells are
/// [`Required::Always`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Required {
    /// A Mussfeld that every row fills: an empty value is an error.
    Always,
    /// A Mussfeld of Anhang G that must be filled when the recording system has the data.
    IfAvailable,
    /// Not a Mussfeld; still filled when the data exists (Anhang G legend).
    No,
}

impl Required {
    /// Whether Anhang G v2.2 marks the column as Mussfeld (dark cell).
    pub fn is_mussfeld(self) -> bool {
        matches!(self, Required::Always | Required::IfAvailable)
    }
}

/// One DSFinV-K table: one CSV file of the export.
#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    /// File name inside the export (`cashpointclosing.csv`); also its index.xml `URL`.
    pub file: &'static str,
    /// The IDEA table name, index.xml `Name` (`Stamm_Abschluss`).
    pub name: &'static str,
    /// The module the table belongs to.
    pub module: Module,
    /// The columns in CSV order.
    pub columns: &'static [Column],
}

impl Table {
    /// The column called `name` and its 0-based position.
    pub fn column(&self, name: &str) -> Option<(usize, &'static Column)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
    }
}

/// The table whose file is `file` (`lines.csv`).
pub fn table_by_file(file: &str) -> Option<&'static Table> {
    TABLES.iter().copied().find(|t| t.file == file)
}

/// The table whose IDEA name is `name` (`Bonpos`).
pub fn table_by_name(name: &str) -> Option<&'static Table> {
    TABLES.iter().copied().find(|t| t.name == name)
}

// Short forms keep the declarations below one line per column.
const M: Required = Required::Always;
const IF: Required = Required::IfAvailable;
const O: Required = Required::No;

const fn col(
    name: &'static str,
    description: &'static str,
    ty: ColumnType,
    required: Required,
) -> Column {
    Column {
        name,
        description,
        ty,
        required,
    }
}

const fn a(max_len: u32) -> ColumnType {
    ColumnType::AlphaNumeric { max_len }
}

const fn n(accuracy: u32) -> ColumnType {
    ColumnType::Numeric { accuracy }
}

/// `cashpointclosing.csv` (Stamm_Abschluss, Stammdaten):
/// The closing itself: company, first and last BON_ID, payment totals; exactly one row per closing.
#[rustfmt::skip]
pub static CASHPOINTCLOSING: Table = Table {
    file: "cashpointclosing.csv",
    name: "Stamm_Abschluss",
    module: Module::Stammdaten,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("Z_BUCHUNGSTAG", "Vom Erstellungsdatum abweichender Verbuchungstag", a(25), O),
        col("TAXONOMIE_VERSION", "Version der DFKA-Taxonomie-Kasse", a(10), M),
        col("Z_START_ID", "Erste BON_ID im Abschluss", a(40), M),
        col("Z_ENDE_ID", "Letzte BON_ID im Abschluss", a(40), M),
        col("NAME", "Name des Unternehmens", a(60), M),
        col("STRASSE", "Straße", a(60), M),
        col("PLZ", "Postleitzahl", a(10), M),
        col("ORT", "Ort", a(62), M),
        col("LAND", "Land", a(3), M),
        col("STNR", "Steuernummer des Unternehmens", a(20), M),
        col("USTID", "USTID", a(15), O),
        col("Z_SE_ZAHLUNGEN", "Summe aller Zahlungen", n(2), M),
        col("Z_SE_BARZAHLUNGEN", "Summe aller Barzahlungen", n(2), M),
    ],
};

/// `location.csv` (Stamm_Orte, Stammdaten):
/// The place of business (Betriebsstätte) of the closing register; one row per closing.
#[rustfmt::skip]
pub static LOCATION: Table = Table {
    file: "location.csv",
    name: "Stamm_Orte",
    module: Module::Stammdaten,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("LOC_NAME", "Name des Standortes", a(60), M),
        col("LOC_STRASSE", "Straße", a(60), M),
        col("LOC_PLZ", "Postleitzahl", a(10), M),
        col("LOC_ORT", "Ort", a(62), M),
        col("LOC_LAND", "Land", a(3), M),
        col("LOC_USTID", "USTID", a(15), O),
    ],
};

/// `cashregister.csv` (Stamm_Kassen, Stammdaten):
/// The closing register: brand, model, serial number, base currency; one row per closing.
#[rustfmt::skip]
pub static CASHREGISTER: Table = Table {
    file: "cashregister.csv",
    name: "Stamm_Kassen",
    module: Module::Stammdaten,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("KASSE_BRAND", "Marke der Kasse", a(50), O),
        col("KASSE_MODELL", "Modellbezeichnung", a(50), O),
        col("KASSE_SERIENNR", "Seriennummer der Kasse", a(70), M),
        col("KASSE_SW_BRAND", "Markenbezeichnung der Software", a(50), O),
        col("KASSE_SW_VERSION", "Version der Software", a(50), O),
        col("KASSE_BASISWAEH_CODE", "Basiswährung der Kasse", a(3), M),
        col("KEINE_UST_ZUORDNUNG", "UmsatzsteuerNichtErmittelbar (bei späterem Zahlungseingang)", a(1), O),
    ],
};

/// `slaves.csv` (Stamm_Terminals, Stammdaten):
/// Terminals (slave registers) feeding the closing register; one row per terminal.
#[rustfmt::skip]
pub static SLAVES: Table = Table {
    file: "slaves.csv",
    name: "Stamm_Terminals",
    module: Module::Stammdaten,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("TERMINAL_ID", "ID des Terminals", a(50), M),
        col("TERMINAL_BRAND", "Marke der Terminals", a(50), O),
        col("TERMINAL_MODELL", "Modellbezeichnung des Terminals", a(50), O),
        col("TERMINAL_SERIENNR", "Seriennummer des Terminals", a(70), M),
        col("TERMINAL_SW_BRAND", "Markenbezeichnung der Software", a(50), O),
        col("TERMINAL_SW_VERSION", "Version der Software", a(50), O),
    ],
};

/// `pa.csv` (Stamm_Agenturen, Stammdaten):
/// Agencies for whom sales are made (AGENTUR_ID 1 and up; 0 is the business itself).
#[rustfmt::skip]
pub static PA: Table = Table {
    file: "pa.csv",
    name: "Stamm_Agenturen",
    module: Module::Stammdaten,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("AGENTUR_ID", "ID der Agentur", n(0), M),
        col("AGENTUR_NAME", "Name des Auftraggebers", a(60), M),
        col("AGENTUR_STRASSE", "Straße", a(60), M),
        col("AGENTUR_PLZ", "Postleitzahl", a(10), M),
        col("AGENTUR_ORT", "Ort", a(62), M),
        col("AGENTUR_LAND", "Land", a(3), M),
        col("AGENTUR_STNR", "Steuernummer des Auftraggebers", a(20), M),
        col("AGENTUR_USTID", "USTID des Auftraggebers", a(15), O),
    ],
};

/// `tse.csv` (Stamm_TSE, Stammdaten):
/// The TSEs used in the closing with key and certificate; one row per TSE_ID.
#[rustfmt::skip]
pub static TSE: Table = Table {
    file: "tse.csv",
    name: "Stamm_TSE",
    module: Module::Stammdaten,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("TSE_ID", "ID der TSE - wird nur zur Referenzierung innerhalb eines Kassenabschlusses verwendet", n(0), M),
        col("TSE_SERIAL", "Seriennummer der TSE (Entspricht laut TR-03153 Abschnitt 7.5. dem Hashwert des im Zertifikat enthaltenen Schlüssels in Octet-String-Darstellung)", a(68), M),
        col("TSE_SIG_ALGO", "Der von der TSE verwendete Signaturalgo-rithmus", a(21), M),
        col("TSE_ZEITFORMAT", "Das von der TSE verwendete Format für die Log-Time - 'unixTime', 'utcTime' = YYMMDDhhmmZ, 'utcTimeWithSeconds' = YYMMDDhhmmssZ, 'generalizedTime' = YYYYMMDDhhmmssZ, 'generalizedTimeWithMilliseconds' = YYYYMMDDhhmmss.fffZ", a(31), M),
        col("TSE_PD_ENCODING", "Das Text-Encoding der ProcessData (UTF-8 oder ASCII)", a(5), M),
        col("TSE_PUBLIC_KEY", "Öffentlicher Schlüssel - extrahiert aus dem Zertifikat der TSE - in base64-Codierung", a(512), M),
        col("TSE_ZERTIFIKAT_I", "Erste 1000 Zeichen des base64-codierten Zertifikats der TSE (in base64-Codierung)", a(1000), IF),
        col("TSE_ZERTIFIKAT_II", "Ggf. Rest des base64-codierten Zertifikats der TSE (in base64-Codierung)", a(1000), IF),
    ],
};

/// `vat.csv` (Stamm_USt, Stammdaten):
/// The VAT keys used in the closing with rate and text; one row per UST_SCHLUESSEL.
#[rustfmt::skip]
pub static VAT: Table = Table {
    file: "vat.csv",
    name: "Stamm_USt",
    module: Module::Stammdaten,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("UST_SCHLUESSEL", "ID des Umsatzsteuersatzes", n(0), M),
        col("UST_SATZ", "Prozentsatz", n(2), M),
        col("UST_BESCHR", "Beschreibung", a(55), M),
    ],
};

/// `businesscases.csv` (Z_GV_Typ, Kassenabschluss):
/// Closing totals per GV_TYP, GV_NAME, AGENTUR_ID and VAT key, over `Beleg` receipts only.
#[rustfmt::skip]
pub static BUSINESSCASES: Table = Table {
    file: "businesscases.csv",
    name: "Z_GV_Typ",
    module: Module::Kassenabschluss,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("GV_TYP", "Geschäftsvorfall-Art", a(30), M),
        col("GV_NAME", "Name des Geschäftsvorfalls", a(40), O),
        col("AGENTUR_ID", "ID der Agentur", n(0), O),
        col("UST_SCHLUESSEL", "ID des USt-Satzes", n(0), M),
        col("Z_UMS_BRUTTO", "Bruttoumsatz", n(5), M),
        col("Z_UMS_NETTO", "Nettoumsatz", n(5), M),
        col("Z_UST", "Umsatzsteuer", n(5), M),
    ],
};

/// `payment.csv` (Z_Zahlart, Kassenabschluss):
/// Closing totals per payment type and name, in base currency.
#[rustfmt::skip]
pub static PAYMENT: Table = Table {
    file: "payment.csv",
    name: "Z_Zahlart",
    module: Module::Kassenabschluss,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("ZAHLART_TYP", "Typ der Zahlart", a(25), M),
        col("ZAHLART_NAME", "Name der Zahlart", a(60), O),
        col("Z_ZAHLART_BETRAG", "Betrag", n(2), M),
    ],
};

/// `cash_per_currency.csv` (Z_Waehrungen, Kassenabschluss):
/// Closing cash totals per currency.
#[rustfmt::skip]
pub static CASH_PER_CURRENCY: Table = Table {
    file: "cash_per_currency.csv",
    name: "Z_Waehrungen",
    module: Module::Kassenabschluss,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("ZAHLART_WAEH", "Währung", a(3), M),
        col("ZAHLART_BETRAG_WAEH", "Betrag", n(2), M),
    ],
};

/// `transactions.csv` (Bonkopf, Einzelaufzeichnung):
/// One row per Vorgang (receipt or other recorded process), the `AV…` types included.
#[rustfmt::skip]
pub static TRANSACTIONS: Table = Table {
    file: "transactions.csv",
    name: "Bonkopf",
    module: Module::Einzelaufzeichnung,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("BON_ID", "Vorgangs-ID", a(40), M),
        col("BON_NR", "Bonnummer", n(0), M),
        col("BON_TYP", "Bontyp", a(30), M),
        col("BON_NAME", "Zusatz-Beschreibung zum Bontyp", a(60), O),
        col("TERMINAL_ID", "ID des Erfassungsterminals", a(50), O),
        col("BON_STORNO", "Storno-Kennzeichen", a(1), O),
        col("BON_START", "Zeitpunkt des Vorgangsstarts", a(30), M),
        col("BON_ENDE", "Zeitpunkt der Vorgangsbeendigung", a(30), M),
        col("BEDIENER_ID", "Bediener-ID", a(50), M),
        col("BEDIENER_NAME", "Bediener-Name", a(50), O),
        col("UMS_BRUTTO", "Brutto-Gesamtumsatz", n(2), M),
        col("KUNDE_NAME", "Name des Leistungsempfängers", a(50), IF),
        col("KUNDE_ID", "Kundennummer des Leistungsempfängers", a(50), IF),
        col("KUNDE_TYP", "Art des Leistungsempfängers (z. B. Mitarbeiter)", a(50), IF),
        col("KUNDE_STRASSE", "Straße und Hausnummer des Leistungsempfängers", a(60), O),
        col("KUNDE_PLZ", "PLZ des Leistungsempfängers", a(10), O),
        col("KUNDE_ORT", "Ort des Leistungsempfängers", a(62), O),
        col("KUNDE_LAND", "Land des Leistungsempfängers", a(3), O),
        col("KUNDE_USTID", "UStID des Leistungsempfängers", a(15), O),
        col("BON_NOTIZ", "Zusätzliche Informationen zum Bonkopf", a(255), O),
    ],
};

/// `datapayment.csv` (Bonkopf_Zahlarten, Einzelaufzeichnung):
/// The payments of a Vorgang per payment type, name and currency.
#[rustfmt::skip]
pub static DATAPAYMENT: Table = Table {
    file: "datapayment.csv",
    name: "Bonkopf_Zahlarten",
    module: Module::Einzelaufzeichnung,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("BON_ID", "Vorgangs-ID", a(40), M),
        col("ZAHLART_TYP", "Typ der Zahlart", a(25), M),
        col("ZAHLART_NAME", "Name der Zahlart", a(60), O),
        col("ZAHLWAEH_CODE", "Währungscode", a(3), IF),
        col("ZAHLWAEH_BETRAG", "Betrag in Fremdwährung", n(2), O),
        col("BASISWAEH_BETRAG", "Betrag in Basiswährung (i.d.R. EUR)", n(2), M),
    ],
};

/// `lines.csv` (Bonpos, Einzelaufzeichnung):
/// The lines (positions) of a Vorgang.
#[rustfmt::skip]
pub static LINES: Table = Table {
    file: "lines.csv",
    name: "Bonpos",
    module: Module::Einzelaufzeichnung,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("BON_ID", "Vorgangs-ID", a(40), M),
        col("POS_ZEILE", "Zeilennummer", a(50), M),
        col("GUTSCHEIN_NR", "Gutschein-Nr.", a(50), O),
        col("ARTIKELTEXT", "Artikeltext", a(255), M),
        col("POS_TERMINAL_ID", "ID des POS-Terminals", a(50), O),
        col("GV_TYP", "Geschäftsvorfall-Art", a(30), M),
        col("GV_NAME", "Name des Geschäftsvorfalls", a(40), O),
        col("INHAUS", "Verzehr an Ort und Stelle", a(1), O),
        col("P_STORNO", "Positionsstorno-Kennzeichnung", a(1), O),
        col("AGENTUR_ID", "ID der Agentur", n(0), O),
        col("ART_NR", "Artikelnummer", a(50), IF),
        col("GTIN", "GTIN", a(50), O),
        col("WARENGR_ID", "Warengruppen-ID", a(40), O),
        col("WARENGR", "Bezeichnung Warengruppe", a(50), O),
        col("MENGE", "Menge", n(3), IF),
        col("FAKTOR", "Faktor, z. B. Gebindegrößen", n(3), O),
        col("EINHEIT", "Maßeinheit, z. B. kg, Liter oder Stück", a(50), O),
        col("STK_BR", "Preis pro Einheit inkl. USt", n(5), IF),
    ],
};

/// `itemamounts.csv` (Bonpos_Preisfindung, Einzelaufzeichnung):
/// Price components of a line (base amount, discount, extra amount).
#[rustfmt::skip]
pub static ITEMAMOUNTS: Table = Table {
    file: "itemamounts.csv",
    name: "Bonpos_Preisfindung",
    module: Module::Einzelaufzeichnung,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("BON_ID", "Vorgangs-ID", a(40), M),
        col("POS_ZEILE", "Zeilennummer", a(50), M),
        col("TYP", "Basispreis, Rabatt oder Zuschlag", a(20), O),
        col("UST_SCHLUESSEL", "ID des USt-Satzes", n(0), M),
        col("PF_BRUTTO", "Bruttoumsatz", n(5), O),
        col("PF_NETTO", "Nettoumsatz", n(5), O),
        col("PF_UST", "Umsatzsteuer", n(5), O),
    ],
};

/// `subitems.csv` (Bonpos_Zusatzinfo, Einzelaufzeichnung):
/// Explanatory sub-items of a line, without tax effect.
#[rustfmt::skip]
pub static SUBITEMS: Table = Table {
    file: "subitems.csv",
    name: "Bonpos_Zusatzinfo",
    module: Module::Einzelaufzeichnung,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("BON_ID", "Vorgangs-ID", a(40), M),
        col("POS_ZEILE", "Zeilennummer", a(50), M),
        col("ZI_ART_NR", "Artikelnummer", a(50), M),
        col("ZI_GTIN", "GTIN", a(50), O),
        col("ZI_NAME", "Artikelbezeichnung", a(60), O),
        col("ZI_WARENGR_ID", "Warengruppen-ID", a(40), O),
        col("ZI_WARENGR", "Bezeichnung Warengruppe", a(50), O),
        col("ZI_MENGE", "Menge", n(3), M),
        col("ZI_FAKTOR", "Faktor, z. B. Gebindegrößen", n(3), O),
        col("ZI_EINHEIT", "Maßeinheit, z. B. kg, Liter oder Stück", a(50), O),
        col("ZI_UST_SCHLUESSEL", "ID USt-Satz des Basispreises", n(0), M),
        col("ZI_BASISPREIS_BRUTTO", "Basispreis brutto", n(5), O),
        col("ZI_BASISPREIS_NETTO", "Basispreis netto", n(5), O),
        col("ZI_BASISPREIS_UST", "Basispreis USt", n(5), O),
    ],
};

/// `transactions_tse.csv` (TSE_Transaktionen, Einzelaufzeichnung):
/// The TSE transactions of a Vorgang: number, times, counter, signature.
#[rustfmt::skip]
pub static TRANSACTIONS_TSE: Table = Table {
    file: "transactions_tse.csv",
    name: "TSE_Transaktionen",
    module: Module::Einzelaufzeichnung,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("BON_ID", "Vorgangs-ID", a(40), M),
        col("TSE_ID", "Die Id der für eine Transaktion verwendeten TSE", n(0), M),
        col("TSE_TANR", "Die Transaktionsnummer der TSE-Transaktion", n(0), M),
        col("TSE_TA_START", "Die Log-Time der StartTransaction-Operation", a(30), M),
        col("TSE_TA_ENDE", "Die Log-Time der FinishTransaction-Operation", a(30), M),
        col("TSE_TA_VORGANGSART", "Der processType der FinishTransaction-Operation", a(30), M),
        col("TSE_TA_SIGZ", "Der Signaturzähler der FinishTransaction-Operation", n(0), M),
        col("TSE_TA_SIG", "Die Signatur der FinishTransaction-Operation", a(512), M),
        col("TSE_TA_FEHLER", "Beschreibung des TSE-Ausfalls oder Fehlers", a(200), O),
        col("TSE_VORGANGSDATEN", "An die zertifizierte technische Sicherheitseinrichtung übergebene Daten des Vorgangs (optional)", a(1000), O),
    ],
};

/// `transactions_vat.csv` (Bonkopf_USt, Einzelaufzeichnung):
/// The printed VAT breakdown of a Vorgang per VAT key.
#[rustfmt::skip]
pub static TRANSACTIONS_VAT: Table = Table {
    file: "transactions_vat.csv",
    name: "Bonkopf_USt",
    module: Module::Einzelaufzeichnung,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("BON_ID", "Vorgangs-ID", a(40), M),
        col("UST_SCHLUESSEL", "ID des USt-Satzes", n(0), M),
        col("BON_BRUTTO", "Bruttoumsatz", n(5), M),
        col("BON_NETTO", "Nettoumsatz", n(5), M),
        col("BON_UST", "Umsatzsteuer", n(5), M),
    ],
};

/// `lines_vat.csv` (Bonpos_USt, Einzelaufzeichnung):
/// The VAT split of a line per VAT key.
#[rustfmt::skip]
pub static LINES_VAT: Table = Table {
    file: "lines_vat.csv",
    name: "Bonpos_USt",
    module: Module::Einzelaufzeichnung,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("BON_ID", "Vorgangs-ID", a(40), M),
        col("POS_ZEILE", "Zeilennummer", a(50), M),
        col("UST_SCHLUESSEL", "ID des USt-Satzes", n(0), M),
        col("POS_BRUTTO", "Bruttoumsatz", n(5), O),
        col("POS_NETTO", "Nettoumsatz", n(5), O),
        col("POS_UST", "Umsatzsteuer", n(5), O),
    ],
};

/// `allocation_groups.csv` (Bonkopf_AbrKreis, Einzelaufzeichnung):
/// Allocation groups (Abrechnungskreise, e.g. table numbers) of a Vorgang.
#[rustfmt::skip]
pub static ALLOCATION_GROUPS: Table = Table {
    file: "allocation_groups.csv",
    name: "Bonkopf_AbrKreis",
    module: Module::Einzelaufzeichnung,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("BON_ID", "Vorgangs-ID", a(40), M),
        col("ABRECHNUNGSKREIS", "z. B. Tischnummer", a(50), O),
    ],
};

/// `references.csv` (Bon_Referenzen, Einzelaufzeichnung):
/// References from a Vorgang or line to other Vorgänge or external documents.
#[rustfmt::skip]
pub static REFERENCES: Table = Table {
    file: "references.csv",
    name: "Bon_Referenzen",
    module: Module::Einzelaufzeichnung,
    columns: &[
        col("Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), M),
        col("Z_ERSTELLUNG", "Zeitpunkt des Kassenabschlusses", a(30), M),
        col("Z_NR", "Nr. des Kassenabschlusses", n(0), M),
        col("BON_ID", "Vorgangs-ID", a(40), M),
        col("POS_ZEILE", "Zeilennummer des referenzierenden Vorgangs (nicht bei Verweis aus einem Bonkopf heraus)", a(50), O),
        col("REF_TYP", "Art der Referenz", a(20), M),
        col("REF_NAME", "Beschreibung bei Art “ExterneSonstige”", a(40), O),
        col("REF_DATUM", "Datum des Kassenabschlusses", a(30), O),
        col("REF_Z_KASSE_ID", "ID der (Abschluss-) Kasse", a(50), O),
        col("REF_Z_NR", "Nr. des Kassenabschlusses", n(0), O),
        col("REF_BON_ID", "Vorgangs-ID", a(40), M),
    ],
};

/// All 20 tables in the order of the official index.xml (DSFinV-K spec §2.1).
pub static TABLES: [&Table; 20] = [
    &CASHPOINTCLOSING,
    &LOCATION,
    &CASHREGISTER,
    &SLAVES,
    &PA,
    &TSE,
    &VAT,
    &BUSINESSCASES,
    &PAYMENT,
    &CASH_PER_CURRENCY,
    &TRANSACTIONS,
    &DATAPAYMENT,
    &LINES,
    &ITEMAMOUNTS,
    &SUBITEMS,
    &TRANSACTIONS_TSE,
    &TRANSACTIONS_VAT,
    &LINES_VAT,
    &ALLOCATION_GROUPS,
    &REFERENCES,
];

/// Characters per certificate column (TSE_ZERTIFIKAT_I, _II, …: A1000 each).
pub const CERTIFICATE_PART_LEN: usize = 1000;

/// `tse.csv` with `parts` certificate columns: [`TSE`] itself for up to two, else [`TSE`]
/// followed by TSE_ZERTIFIKAT_III, _IV, … (1000 characters each), as DSFinV-K 2.2 §3.2.7
/// and Anhang E 7 prescribe for a Base64 certificate longer than 2000 characters; index.xml
/// then declares those columns too. The columns are not in the official index.xml, so the
/// table is built on first use and kept for the rest of the run (one per width, so a run
/// builds at most a handful).
pub fn tse_with_certificate_parts(parts: usize) -> &'static Table {
    use std::sync::Mutex;
    static WIDER: Mutex<Vec<&'static Table>> = Mutex::new(Vec::new());
    if parts <= 2 {
        return &TSE;
    }
    let mut wider = WIDER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(t) = wider
        .iter()
        .find(|t| t.columns.len() == TSE.columns.len() + parts - 2)
    {
        return t;
    }
    let rest = TSE
        .columns
        .iter()
        .find(|c| c.name == "TSE_ZERTIFIKAT_II")
        .copied();
    let mut columns = TSE.columns.to_vec();
    for i in 3..=parts {
        let name: &'static str = Box::leak(format!("TSE_ZERTIFIKAT_{}", roman(i)).into_boxed_str());
        columns.push(Column {
            name,
            required: Required::No,
            ..rest.unwrap_or(col(name, "", a(1000), O))
        });
    }
    let table: &'static Table = Box::leak(Box::new(Table {
        columns: Box::leak(columns.into_boxed_slice()),
        ..TSE
    }));
    wider.push(table);
    table
}

/// `n` (≥ 1) in Roman numerals, as the certificate columns are numbered.
pub fn roman(mut n: usize) -> String {
    const DIGITS: [(usize, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut out = String::new();
    for (value, digits) in DIGITS {
        while n >= value {
            out.push_str(digits);
            n -= value;
        }
    }
    out
}

/// A closed list of values a text column may hold. Values are case-sensitive, as spelled in
/// the spec.
#[derive(Debug, PartialEq, Eq)]
pub struct EnumDecl {
    /// The list's name: the column it is known by.
    pub name: &'static str,
    /// The allowed values.
    pub values: &'static [&'static str],
    /// Where the list is defined.
    pub source: &'static str,
    /// The columns that take their values from this list, as (file, column).
    pub columns: &'static [(&'static str, &'static str)],
}

impl EnumDecl {
    /// Whether `value` is one of the allowed values (exact, case-sensitive match).
    pub fn contains(&self, value: &str) -> bool {
        self.values.contains(&value)
    }
}

/// BON_TYP, the kind of Vorgang. Only `Beleg` counts in the closing's aggregates.
pub static BON_TYP: EnumDecl = EnumDecl {
    name: "BON_TYP",
    values: &[
        "Beleg",
        "AVTransfer",
        "AVBestellung",
        "AVTraining",
        "AVBelegstorno",
        "AVBelegabbruch",
        "AVSachbezug",
        "AVRechnung",
        "AVSonstige",
    ],
    source: "DSFinV-K 2.2 §4.1.1 and Anhang B (DSFinV-K spec §3.1)",
    columns: &[("transactions.csv", "BON_TYP")],
};

/// GV_TYP, the business-case type of a line and of the closing's aggregates.
pub static GV_TYP: EnumDecl = EnumDecl {
    name: "GV_TYP",
    values: &[
        "Umsatz",
        "Pfand",
        "PfandRueckzahlung",
        "Rabatt",
        "Aufschlag",
        "ZuschussEcht",
        "ZuschussUnecht",
        "TrinkgeldAG",
        "TrinkgeldAN",
        "EinzweckgutscheinKauf",
        "EinzweckgutscheinEinloesung",
        "MehrzweckgutscheinKauf",
        "MehrzweckgutscheinEinloesung",
        "Forderungsentstehung",
        "Forderungsaufloesung",
        "Anzahlungseinstellung",
        "Anzahlungsaufloesung",
        "Anfangsbestand",
        "Privatentnahme",
        "Privateinlage",
        "Geldtransit",
        "Lohnzahlung",
        "Einzahlung",
        "Auszahlung",
        "DifferenzSollIst",
    ],
    source: "DSFinV-K 2.2 §4.1.3 and Anhang C (DSFinV-K spec §3.2)",
    columns: &[("businesscases.csv", "GV_TYP"), ("lines.csv", "GV_TYP")],
};

/// ZAHLART_TYP, the payment type.
pub static ZAHLART_TYP: EnumDecl = EnumDecl {
    name: "ZAHLART_TYP",
    values: &[
        "Bar",
        "Unbar",
        "Keine",
        "ECKarte",
        "Kreditkarte",
        "ElZahlungsdienstleister",
        "Guthabenkarte",
    ],
    source: "DSFinV-K 2.2 Anhang D (DSFinV-K spec §3.3)",
    columns: &[
        ("payment.csv", "ZAHLART_TYP"),
        ("datapayment.csv", "ZAHLART_TYP"),
    ],
};

/// REF_TYP, what a reference points to.
pub static REF_TYP: EnumDecl = EnumDecl {
    name: "REF_TYP",
    values: &[
        "ExterneRechnung",
        "ExternerLieferschein",
        "Transaktion",
        "ExterneSonstige",
    ],
    source: "DSFinV-K 2.2 Anhang E 19 (DSFinV-K spec §3.4)",
    columns: &[("references.csv", "REF_TYP")],
};

/// TYP of itemamounts.csv, the kind of price component. One Go toolkit reports that 2.4
/// also accepts `Grundpreis`, `Rabatt` and `Zuschlag`; that is unconfirmed and not listed.
pub static ITEMAMOUNTS_TYP: EnumDecl = EnumDecl {
    name: "TYP",
    values: &["base_amount", "discount", "extra_amount"],
    source: "DSFinV-K 2.2 Anhang E 17 (DSFinV-K spec §3.4)",
    columns: &[("itemamounts.csv", "TYP")],
};

/// TSE_SIG_ALGO, the TSE's signature algorithm.
pub static TSE_SIG_ALGO: EnumDecl = EnumDecl {
    name: "TSE_SIG_ALGO",
    values: &[
        "ecdsa-plain-SHA224",
        "ecdsa-plain-SHA256",
        "ecdsa-plain-SHA384",
        "ecdsa-plain-SHA512",
        "ecdsa-plain-SHA3-224",
        "ecdsa-plain-SHA3-256",
        "ecdsa-plain-SHA3-384",
        "ecdsa-plain-SHA3-512",
        "ecsdsa-plain-SHA224",
        "ecsdsa-plain-SHA256",
        "ecsdsa-plain-SHA384",
        "ecsdsa-plain-SHA512",
        "ecsdsa-plain-SHA3-224",
        "ecsdsa-plain-SHA3-256",
        "ecsdsa-plain-SHA3-384",
        "ecsdsa-plain-SHA3-512",
    ],
    source: "DSFinV-K 2.2 Anhang E 7 (DSFinV-K spec §3.4)",
    columns: &[("tse.csv", "TSE_SIG_ALGO")],
};

/// TSE_ZEITFORMAT, the TSE's logTime format.
pub static TSE_ZEITFORMAT: EnumDecl = EnumDecl {
    name: "TSE_ZEITFORMAT",
    values: &[
        "unixTime",
        "utcTime",
        "utcTimeWithSeconds",
        "generalizedTime",
        "generalizedTimeWithMilliseconds",
    ],
    source: "DSFinV-K 2.2 Anhang E 7 (DSFinV-K spec §3.4)",
    columns: &[("tse.csv", "TSE_ZEITFORMAT")],
};

/// TSE_PD_ENCODING, the encoding of processData.
pub static TSE_PD_ENCODING: EnumDecl = EnumDecl {
    name: "TSE_PD_ENCODING",
    values: &["UTF-8", "ASCII"],
    source: "DSFinV-K 2.2 Anhang E 7 and Anhang I (DSFinV-K spec §3.4)",
    columns: &[("tse.csv", "TSE_PD_ENCODING")],
};

/// TSE_TA_VORGANGSART, the processType of a TSE transaction.
pub static TSE_TA_VORGANGSART: EnumDecl = EnumDecl {
    name: "TSE_TA_VORGANGSART",
    values: &["Kassenbeleg-V1", "Bestellung-V1", "SonstigerVorgang"],
    source: "DSFinV-K 2.2 Anhang I (DSFinV-K spec §3.4)",
    columns: &[("transactions_tse.csv", "TSE_TA_VORGANGSART")],
};

/// Every closed list.
pub static ENUMS: [&EnumDecl; 9] = [
    &BON_TYP,
    &GV_TYP,
    &ZAHLART_TYP,
    &REF_TYP,
    &ITEMAMOUNTS_TYP,
    &TSE_SIG_ALGO,
    &TSE_ZEITFORMAT,
    &TSE_PD_ENCODING,
    &TSE_TA_VORGANGSART,
];

/// The closed list the column `column` of `file` takes its values from, if any.
pub fn enum_for(file: &str, column: &str) -> Option<&'static EnumDecl> {
    ENUMS
        .iter()
        .copied()
        .find(|e| e.columns.iter().any(|&(f, c)| f == file && c == column))
}

/// One VAT key (UST_SCHLUESSEL) with the rate and text vat.csv states for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UstSchluessel {
    /// The key.
    pub key: u32,
    /// The rate in hundredths of a percent (1900 = 19 %), so that the table stays exact.
    pub rate_hundredths: u32,
    /// UST_BESCHR, at most 55 characters.
    pub description: &'static str,
}

impl UstSchluessel {
    /// UST_SATZ: the rate in percent (`19.00`).
    pub fn rate_percent(&self) -> Decimal {
        Decimal::new(i64::from(self.rate_hundredths), 2)
    }

    /// The rate as a fraction (`0.19`), as the canonical model states rates.
    pub fn rate_fraction(&self) -> Decimal {
        Decimal::new(i64::from(self.rate_hundredths), 4)
    }
}

/// The VAT keys of DSFinV-K 2.2 §3.2.6 (DSFinV-K spec §3.5), with fixed rates.
///
/// DSFinV-K 2.2 words keys 1 and 2 as "the general / reduced rate valid when the Vorgang is
/// recorded"; fiskal pins them to 19 % and 7 % and gives the temporary rates of the second
/// half of 2020 their own keys 21 and 22, so that a key means the same rate in every closing.
/// Keys 8–999 are reserved for the spec, 1000 and up are the business's own (documented in
/// its Verfahrensdokumentation); neither is declared here.
pub static UST_SCHLUESSEL: [UstSchluessel; 11] = [
    ust(1, 1900, "Allgemeiner Steuersatz (§ 12 Abs. 1 UStG)"),
    ust(2, 700, "Ermäßigter Steuersatz (§ 12 Abs. 2 UStG)"),
    ust(
        3,
        1070,
        "Durchschnittsatz (§ 24 Abs. 1 Nr. 3 UStG) übrige Fälle",
    ),
    ust(4, 550, "Durchschnittsatz (§ 24 Abs. 1 Nr. 1 UStG)"),
    ust(5, 0, "Nicht Steuerbar"),
    ust(6, 0, "Umsatzsteuerfrei"),
    ust(7, 0, "UmsatzsteuerNichtErmittelbar"),
    ust(
        11,
        1900,
        "Historischer allgemeiner Steuersatz (§ 12 Abs. 1 UStG)",
    ),
    ust(
        12,
        700,
        "Historischer ermäßigter Steuersatz (§ 12 Abs. 2 UStG)",
    ),
    ust(
        21,
        1600,
        "Historischer allgemeiner Steuersatz (§ 12 Abs. 1 UStG)",
    ),
    ust(
        22,
        500,
        "Historischer ermäßigter Steuersatz (§ 12 Abs. 2 UStG)",
    ),
];

const fn ust(key: u32, rate_hundredths: u32, description: &'static str) -> UstSchluessel {
    UstSchluessel {
        key,
        rate_hundredths,
        description,
    }
}

/// The declared VAT key `key`.
pub fn ust_schluessel_entry(key: u32) -> Option<&'static UstSchluessel> {
    UST_SCHLUESSEL.iter().find(|u| u.key == key)
}

/// The VAT key for a rate (a fraction, `0.19`) applying on `date`, the date that determines
/// the rate: the supply's, and for a correction (§ 17 UStG) the original supply's.
///
/// 19 % → 1, 7 % → 2, 10,7 % → 3, 5,5 % → 4, and 0 % → 5 (nicht steuerbar): a rate alone
/// cannot tell tax-exempt (6) or not determinable (7) from not taxable, so those keys are the
/// caller's to choose. 16 % → 21 and 5 % → 22 from 2020-07-01 to 2020-12-31, the temporary
/// rates of § 28 Abs. 1 and 2 UStG; on other dates they are no German rate and give `None`,
/// as does any other rate (it needs a key from 1000 up).
pub fn ust_schluessel(rate: Decimal, date: NaiveDate) -> Option<u32> {
    let hundredths = rate.checked_mul(Decimal::from(10_000))?;
    if !hundredths.fract().is_zero() {
        return None;
    }
    let temporary = NaiveDate::from_ymd_opt(2020, 7, 1)? <= date
        && date <= NaiveDate::from_ymd_opt(2020, 12, 31)?;
    match hundredths.to_u32()? {
        1900 => Some(1),
        700 => Some(2),
        1070 => Some(3),
        550 => Some(4),
        0 => Some(5),
        1600 if temporary => Some(21),
        500 if temporary => Some(22),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::str::FromStr;

    #[test]
    fn certificate_columns_continue_in_roman_numerals() {
        assert_eq!(
            (1..=12).map(roman).collect::<Vec<_>>(),
            [
                "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"
            ]
        );
        assert!(std::ptr::eq(tse_with_certificate_parts(0), &TSE));
        assert!(std::ptr::eq(tse_with_certificate_parts(2), &TSE));
        let five = tse_with_certificate_parts(5);
        let names: Vec<&str> = five.columns.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), TSE.columns.len() + 3);
        assert_eq!(
            names[TSE.columns.len() - 2..],
            [
                "TSE_ZERTIFIKAT_I",
                "TSE_ZERTIFIKAT_II",
                "TSE_ZERTIFIKAT_III",
                "TSE_ZERTIFIKAT_IV",
                "TSE_ZERTIFIKAT_V"
            ]
        );
        assert!(
            five.columns[TSE.columns.len()..]
                .iter()
                .all(|c| c.ty == ColumnType::AlphaNumeric { max_len: 1000 })
        );
        assert_eq!((five.file, five.name), (TSE.file, TSE.name));
        // Built once per width.
        assert!(std::ptr::eq(five, tse_with_certificate_parts(5)));
        assert!(!std::ptr::eq(five, tse_with_certificate_parts(3)));
    }

    /// The column list (from the official 2.3 index.xml and Anhang G v2.2) the declarations
    /// were derived from.
    const COLUMNS_TSV: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/conformance/dsfinvk/dsfinvk-2.3-columns.tsv"
    ));

    #[test]
    fn declarations_match_the_derived_column_list() {
        let mut lines = COLUMNS_TSV.lines();
        let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
        assert_eq!(header[8], "mussfeld_anhangG_v2.2");
        let mut expected: Vec<(String, Vec<Vec<String>>)> = Vec::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let f: Vec<String> = line.split('\t').map(str::to_owned).collect();
            match expected.last_mut() {
                Some((file, cols)) if *file == f[0] => cols.push(f),
                _ => expected.push((f[0].clone(), vec![f])),
            }
        }
        assert_eq!(expected.len(), TABLES.len());
        for (table, (file, cols)) in TABLES.iter().zip(&expected) {
            assert_eq!(table.file, file);
            assert_eq!(table.columns.len(), cols.len(), "{file}");
            for (i, (c, f)) in table.columns.iter().zip(cols).enumerate() {
                assert_eq!(table.name, f[1], "{file}");
                assert_eq!(table.module.as_str(), f[2], "{file}");
                assert_eq!(f[3], (i + 1).to_string(), "{file}");
                assert_eq!(c.name, f[4], "{file}");
                let ty = match f[5].as_str() {
                    "AlphaNumeric" => a(f[6].parse().unwrap()),
                    "Numeric" => n(f[7].parse().unwrap()),
                    other => panic!("type {other}"),
                };
                assert_eq!(c.ty, ty, "{file} {}", c.name);
                assert_eq!(c.required.is_mussfeld(), f[8] == "M", "{file} {}", c.name);
                assert_eq!(c.description, f[9], "{file} {}", c.name);
            }
        }
        let n_columns: usize = TABLES.iter().map(|t| t.columns.len()).sum();
        let n_mandatory = TABLES
            .iter()
            .flat_map(|t| t.columns)
            .filter(|c| c.required.is_mussfeld())
            .count();
        assert_eq!((n_columns, n_mandatory), (219, 156));
        let if_available: Vec<_> = TABLES
            .iter()
            .flat_map(|t| t.columns.iter().map(move |c| (t.file, c)))
            .filter(|(_, c)| c.required == Required::IfAvailable)
            .map(|(f, c)| format!("{f}:{}", c.name))
            .collect();
        assert_eq!(
            if_available,
            [
                "tse.csv:TSE_ZERTIFIKAT_I",
                "tse.csv:TSE_ZERTIFIKAT_II",
                "transactions.csv:KUNDE_NAME",
                "transactions.csv:KUNDE_ID",
                "transactions.csv:KUNDE_TYP",
                "datapayment.csv:ZAHLWAEH_CODE",
                "lines.csv:ART_NR",
                "lines.csv:MENGE",
                "lines.csv:STK_BR",
            ]
        );
    }

    #[test]
    fn every_table_starts_with_the_closing_key() {
        let mut files = HashSet::new();
        let mut names = HashSet::new();
        for t in TABLES {
            assert!(files.insert(t.file) && names.insert(t.name), "{}", t.file);
            assert!(t.file.ends_with(".csv"));
            let key: Vec<_> = t.columns.iter().take(3).map(|c| c.name).collect();
            assert_eq!(key, ["Z_KASSE_ID", "Z_ERSTELLUNG", "Z_NR"], "{}", t.file);
        }
        let count = |m| TABLES.iter().filter(|t| t.module == m).count();
        assert_eq!(
            (
                count(Module::Stammdaten),
                count(Module::Kassenabschluss),
                count(Module::Einzelaufzeichnung)
            ),
            (7, 3, 10)
        );
    }

    #[test]
    fn column_names_are_unique_and_need_no_quoting() {
        for t in TABLES {
            let mut seen = HashSet::new();
            for c in t.columns {
                assert!(seen.insert(c.name), "{} {}", t.file, c.name);
                assert!(
                    c.name
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                    "{}",
                    c.name
                );
            }
        }
    }

    #[test]
    fn lookups_find_tables_and_columns() {
        assert_eq!(table_by_file("lines_vat.csv"), Some(&LINES_VAT));
        assert_eq!(table_by_name("Bonpos_USt"), Some(&LINES_VAT));
        assert_eq!(table_by_file("index.xml"), None);
        let (idx, c) = TRANSACTIONS.column("UMS_BRUTTO").unwrap();
        assert_eq!((idx, c.ty, c.required), (13, n(2), Required::Always));
        assert!(TRANSACTIONS.column("NOPE").is_none());
    }

    #[test]
    fn every_enum_applies_to_declared_text_columns_its_values_fit() {
        for e in ENUMS {
            assert!(!e.columns.is_empty(), "{}", e.name);
            let unique: HashSet<_> = e.values.iter().collect();
            assert_eq!(unique.len(), e.values.len(), "{}", e.name);
            for &(file, column) in e.columns {
                let (_, c) = table_by_file(file).unwrap().column(column).unwrap();
                let ColumnType::AlphaNumeric { max_len } = c.ty else {
                    panic!("{file} {column} is not text");
                };
                for v in e.values {
                    assert!(v.chars().count() <= max_len as usize, "{v} in {column}");
                }
                assert_eq!(enum_for(file, column), Some(e));
            }
        }
        assert_eq!(enum_for("lines.csv", "GV_TYP"), Some(&GV_TYP));
        assert_eq!(enum_for("lines.csv", "ARTIKELTEXT"), None);
        assert!(BON_TYP.contains("Beleg"));
        assert!(!BON_TYP.contains("beleg"));
        assert!(TSE_TA_VORGANGSART.contains("Kassenbeleg-V1"));
        assert!(!TSE_TA_VORGANGSART.contains("KassenBeleg-V1"));
    }

    #[test]
    fn vat_keys_are_unique_and_their_texts_fit_ust_beschr() {
        let (_, c) = VAT.column("UST_BESCHR").unwrap();
        let ColumnType::AlphaNumeric { max_len } = c.ty else {
            panic!("UST_BESCHR is text");
        };
        let mut keys = HashSet::new();
        for u in &UST_SCHLUESSEL {
            assert!(keys.insert(u.key));
            assert!(
                u.description.chars().count() <= max_len as usize,
                "{}",
                u.key
            );
            assert_eq!(ust_schluessel_entry(u.key), Some(u));
        }
        let k21 = ust_schluessel_entry(21).unwrap();
        assert_eq!(k21.rate_percent().to_string(), "16.00");
        assert_eq!(k21.rate_fraction().to_string(), "0.1600");
        assert!(ust_schluessel_entry(8).is_none());
    }

    #[test]
    fn vat_rates_map_to_keys() {
        let d = |s| Decimal::from_str(s).unwrap();
        let day = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let today = day(2024, 5, 2);
        let cut = day(2020, 7, 1);
        for (rate, date, key) in [
            ("0.19", today, Some(1)),
            ("0.190", today, Some(1)),
            ("0.07", today, Some(2)),
            ("0.107", today, Some(3)),
            ("0.055", today, Some(4)),
            ("0", today, Some(5)),
            ("0.00", today, Some(5)),
            ("0.16", cut, Some(21)),
            ("0.05", cut, Some(22)),
            ("0.16", day(2020, 12, 31), Some(21)),
            ("0.16", day(2020, 6, 30), None),
            ("0.05", day(2021, 1, 1), None),
            ("0.19", day(2020, 9, 1), Some(1)),
            ("0.20", today, None),
            ("0.19001", today, None),
            ("-0.19", today, None),
        ] {
            assert_eq!(ust_schluessel(d(rate), date), key, "{rate} on {date}");
        }
        // Every key the lookup returns is declared, with the rate it was looked up by.
        for rate in ["0.19", "0.07", "0.107", "0.055", "0", "0.16", "0.05"] {
            let key = ust_schluessel(d(rate), cut).unwrap();
            assert_eq!(ust_schluessel_entry(key).unwrap().rate_fraction(), d(rate));
        }
        assert_eq!(ust_schluessel(Decimal::MAX, today), None);
    }
}
