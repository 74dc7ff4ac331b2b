//! The content model and simple types of `CorrispettiviTypes_v1.0.xsd` (tracciato 7.0, the
//! laboratory's copy in fixtures/conformance/rt/xsd/), declared by hand and validated the way
//! an XSD validator would; a test reads the XSD and compares it with these declarations.
//!
//! Each element is a [`Decl`]: complex ones hold a sequence of [`Particle`]s (an element or a
//! choice of elements, with minOccurs and maxOccurs), simple ones a [`Type`]. Every schema
//! rule a file can break has its own catalog code; matching goes on after a finding, so one
//! misplaced element is one finding, not a cascade.

use rust_decimal::Decimal;

use super::{Finding, child_paths};
use crate::model::money::parse_decimal_str;
use crate::regime::rt::dsig::DSIG_NS;
use crate::regime::rt::xml::Element;

const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// An element declaration.
pub(super) struct Decl {
    /// Local name.
    pub name: &'static str,
    /// Whether it is `ds:Signature` (in the XML-DSig namespace); all others are unqualified.
    pub dsig: bool,
    /// The XSD type it is declared with, for the test against the XSD.
    pub xsd_type: &'static str,
    pub content: Content,
}

pub(super) enum Content {
    /// A sequence of particles.
    Complex(&'static [Particle]),
    /// A simple type.
    Simple(Type),
    /// ds:Signature: checked by the replay (`dsig`), not here.
    Signature,
}

/// One position of a sequence: one element, or a choice among several.
#[derive(Clone, Copy)]
pub(super) struct Particle {
    pub choice: &'static [&'static Decl],
    pub min: usize,
    pub max: usize,
}

/// The simple types of the schema, by what is checked.
#[derive(Debug, Clone, Copy)]
pub(super) enum Type {
    /// Amount2DecimalType.
    Amount2,
    /// RateType.
    Rate,
    /// GeoType.
    Geo,
    /// An enumeration (whitespace preserved, as its base is xs:string).
    Enum(&'static [&'static str]),
    /// An integer with inclusive bounds (positiveInteger/nonNegativeInteger based).
    Integer { min: u64, max: u64 },
    /// xs:dateTime.
    DateTime,
    /// String{N}LatinType: normalizedString of 1 to N Basic Latin or Latin-1 characters.
    Latin(usize),
    /// normalizedString, with a maxLength when given.
    Normalized(Option<usize>),
    /// CodiceFiscaleType `[A-Z0-9]{11,16}`.
    CodiceFiscale,
    /// NazioneType `[A-Z]{2}`.
    Nazione,
    /// IdCodiceType: exactly 11 characters.
    IdCodice,
}

/// A particle of one required element.
macro_rules! one {
    ($d:ident) => {
        Particle {
            choice: &[&$d],
            min: 1,
            max: 1,
        }
    };
}

/// A particle of one optional element.
macro_rules! opt {
    ($d:ident) => {
        Particle {
            choice: &[&$d],
            min: 0,
            max: 1,
        }
    };
}

const fn simple(name: &'static str, xsd_type: &'static str, t: Type) -> Decl {
    Decl {
        name,
        dsig: false,
        xsd_type,
        content: Content::Simple(t),
    }
}

const fn complex(name: &'static str, xsd_type: &'static str, p: &'static [Particle]) -> Decl {
    Decl {
        name,
        dsig: false,
        xsd_type,
        content: Content::Complex(p),
    }
}

pub(super) const MAX15: u64 = 999_999_999_999_999;
pub(super) const INTEGER15: Type = Type::Integer { min: 1, max: MAX15 };

macro_rules! amount {
    ($id:ident, $name:literal) => {
        static $id: Decl = simple($name, "Amount2DecimalType", Type::Amount2);
    };
}

// Trasmissione (DatiTrasmissioneType, DispositivoType, GeoLocType).
static PROGRESSIVO: Decl = simple("Progressivo", "Integer15Type", INTEGER15);
static FORMATO: Decl = simple("Formato", "FormatoTrasmissioneType", Type::Enum(&["COR10"]));
static TIPO: Decl = simple("Tipo", "TipoDispositivoType", Type::Enum(&["DA", "MC"]));
static ID_DISPOSITIVO: Decl = simple(
    "IdDispositivo",
    "IdDispositivoType",
    Type::Normalized(Some(100)),
);
static LAT: Decl = simple("Lat", "GeoType", Type::Geo);
static LONG: Decl = simple("Long", "GeoType", Type::Geo);
static GEO: Decl = complex("GeoLocalizzazione", "GeoLocType", &[one!(LAT), one!(LONG)]);
static DISPOSITIVO: Decl = complex(
    "Dispositivo",
    "DispositivoType",
    &[one!(TIPO), one!(ID_DISPOSITIVO), opt!(GEO)],
);
static TRASMISSIONE: Decl = complex(
    "Trasmissione",
    "DatiTrasmissioneType",
    &[one!(PROGRESSIVO), one!(FORMATO), opt!(DISPOSITIVO)],
);

// PeriodoInattivo, DataOraRilevazione.
static DAL: Decl = simple("Dal", "xs:dateTime", Type::DateTime);
static AL: Decl = simple("Al", "xs:dateTime", Type::DateTime);
static PERIODO_INATTIVO: Decl = complex(
    "PeriodoInattivo",
    "PeriodoInattivoType",
    &[one!(DAL), one!(AL)],
);
static DATA_ORA_RILEVAZIONE: Decl = simple("DataOraRilevazione", "xs:dateTime", Type::DateTime);

// DatiRT (ElencoCorrispettiviType, DatiRegistratoriTelematiciType, IVAType, TotaliType).
static ALIQUOTA: Decl = simple("AliquotaIVA", "RateType", Type::Rate);
amount!(IMPOSTA, "Imposta");
static IVA: Decl = complex("IVA", "IVAType", &[one!(ALIQUOTA), one!(IMPOSTA)]);
static NATURA: Decl = simple(
    "Natura",
    "NaturaType",
    Type::Enum(&["N1", "N2", "N3", "N4", "N5", "N6"]),
);
static VENTILAZIONE: Decl = simple(
    "VentilazioneIVA",
    "VentilazioneIVAType",
    Type::Enum(&["SI"]),
);
amount!(AMMONTARE, "Ammontare");
static RIF_NORMATIVO: Decl = simple("RifNormativo", "String100LatinType", Type::Latin(100));
amount!(IMPORTO_PARZIALE, "ImportoParziale");
amount!(RESI, "TotaleAmmontareResi");
amount!(ANNULLI, "TotaleAmmontareAnnulli");
amount!(BENI_IN_SOSPESO, "BeniInSospeso");
amount!(NR_SERVIZI, "NonRiscossoServizi");
amount!(NR_FATTURE, "NonRiscossoFatture");
amount!(DA_FATTURE_RT, "TotaleDaFattureRT");
amount!(NR_DCRASSN, "NonRiscossoDCRaSSN");
amount!(NR_OMAGGIO, "NonRiscossoOmaggio");
static CODICE_ATTIVITA: Decl = simple(
    "CodiceAttivita",
    "Integer6Type",
    Type::Integer {
        min: 1,
        max: 999_999,
    },
);

/// The optional amounts of a Riepilogo after Ammontare, in schema order: what
/// [`Row::parts`] holds.
pub(super) const ROW_PARTS: &[&str] = &[
    "ImportoParziale",
    "TotaleAmmontareResi",
    "TotaleAmmontareAnnulli",
    "BeniInSospeso",
    "NonRiscossoServizi",
    "NonRiscossoFatture",
    "TotaleDaFattureRT",
    "NonRiscossoDCRaSSN",
    "NonRiscossoOmaggio",
];

static RIEPILOGO: Decl = complex(
    "Riepilogo",
    "DatiRegistratoriTelematiciType",
    &[
        Particle {
            choice: &[&IVA, &NATURA, &VENTILAZIONE],
            min: 1,
            max: 1,
        },
        one!(AMMONTARE),
        opt!(RIF_NORMATIVO),
        opt!(IMPORTO_PARZIALE),
        opt!(RESI),
        opt!(ANNULLI),
        opt!(BENI_IN_SOSPESO),
        opt!(NR_SERVIZI),
        opt!(NR_FATTURE),
        opt!(DA_FATTURE_RT),
        opt!(NR_DCRASSN),
        opt!(NR_OMAGGIO),
        opt!(CODICE_ATTIVITA),
    ],
);
static NUMERO_DOC: Decl = simple(
    "NumeroDocCommerciali",
    "ProgressivoPrelievoType",
    Type::Integer { min: 0, max: MAX15 },
);
amount!(CONTANTI, "PagatoContanti");
amount!(ELETTRONICO, "PagatoElettronico");
amount!(SCONTO, "ScontoApagare");
amount!(PAGATO_TICKET, "PagatoTicket");
static NUMERO_TICKET: Decl = simple("NumeroTicket", "Integer15Type", INTEGER15);
static TICKET: Decl = complex(
    "Ticket",
    "TicketType",
    &[one!(PAGATO_TICKET), one!(NUMERO_TICKET)],
);
static TOTALI: Decl = complex(
    "Totali",
    "TotaliType",
    &[
        one!(NUMERO_DOC),
        opt!(CONTANTI),
        opt!(ELETTRONICO),
        opt!(SCONTO),
        opt!(TICKET),
    ],
);
static DATI_RT: Decl = complex(
    "DatiRT",
    "ElencoCorrispettiviType",
    &[
        Particle {
            choice: &[&RIEPILOGO],
            min: 1,
            max: 40,
        },
        opt!(TOTALI),
    ],
);

// DatiDA (vending machines: DatiDistributoriAutomaticiType, PeriodoType, CumulatoType).
amount!(VENDUTO, "Venduto");
amount!(VENDUTO_CONTANTE, "VendutoContante");
amount!(VENDUTO_NO_CONTANTE, "VendutoNoContante");
amount!(INCASSATO, "Incassato");
amount!(INCASSATO_RICARICA, "IncassatoRicarica");
amount!(INCASSATO_VENDITA, "IncassatoVendita");
amount!(RESO_TUBI, "TotaleResoTubiResto");
amount!(CARICATO_TUBI, "TotaleCaricatoTubiResto");
amount!(RESO_MANUALE, "TotaleResoManualeTubiResto");
amount!(CARICATO_MANUALE, "TotaleCaricatoManualeTubiResto");
static DATA_ORA_PRELIEVO: Decl = simple("DataOraPrelievoPrec", "xs:dateTime", Type::DateTime);
static PROGRESSIVO_PRELIEVO: Decl = simple(
    "ProgressivoPrelievo",
    "ProgressivoPrelievoType",
    Type::Integer { min: 0, max: MAX15 },
);
static PERIODO: Decl = complex(
    "Periodo",
    "PeriodoType",
    &[
        one!(VENDUTO),
        one!(VENDUTO_CONTANTE),
        one!(VENDUTO_NO_CONTANTE),
        one!(INCASSATO),
        one!(INCASSATO_RICARICA),
        one!(INCASSATO_VENDITA),
        one!(RESO_TUBI),
        one!(CARICATO_TUBI),
        one!(RESO_MANUALE),
        one!(CARICATO_MANUALE),
        one!(DATA_ORA_PRELIEVO),
        one!(PROGRESSIVO_PRELIEVO),
    ],
);
static CUMULATO: Decl = complex(
    "Cumulato",
    "CumulatoType",
    &[
        one!(VENDUTO),
        one!(VENDUTO_CONTANTE),
        one!(VENDUTO_NO_CONTANTE),
        one!(INCASSATO),
        one!(INCASSATO_RICARICA),
        one!(INCASSATO_VENDITA),
        one!(RESO_TUBI),
        one!(CARICATO_TUBI),
        one!(RESO_MANUALE),
        one!(CARICATO_MANUALE),
    ],
);
static DATI_DA: Decl = complex(
    "DatiDA",
    "DatiDistributoriAutomaticiType",
    &[Particle {
        choice: &[&PERIODO, &CUMULATO],
        min: 1,
        max: 1,
    }],
);

// InterventoTecnico, Segnalazione.
static CF_TECNICO: Decl = simple("CFTecnico", "CodiceFiscaleType", Type::CodiceFiscale);
static ID_PAESE: Decl = simple("IdPaese", "NazioneType", Type::Nazione);
static ID_CODICE: Decl = simple("IdCodice", "IdCodiceType", Type::IdCodice);
static ID_IVA_LAB: Decl = complex(
    "IdIVALaboratorio",
    "IdFiscaleType",
    &[one!(ID_PAESE), one!(ID_CODICE)],
);
static DATA_ORA: Decl = simple("DataOra", "xs:dateTime", Type::DateTime);
static CODICE: Decl = simple("Codice", "xs:normalizedString", Type::Normalized(None));
static NOTE: Decl = simple("Note", "String1000LatinType", Type::Latin(1000));
static NUMERO_SW: Decl = simple("NumeroSw", "String10LatinType", Type::Latin(10));
static DATA_RELEASE: Decl = simple("DataRelease", "xs:dateTime", Type::DateTime);
static INTERVENTO: Decl = complex(
    "InterventoTecnico",
    "InterventoTecnicoType",
    &[
        one!(CF_TECNICO),
        one!(ID_IVA_LAB),
        one!(DATA_ORA),
        one!(CODICE),
        opt!(NOTE),
        opt!(NUMERO_SW),
        opt!(DATA_RELEASE),
    ],
);
static MATRICOLA: Decl = simple("Matricola", "xs:normalizedString", Type::Normalized(None));
static SEGNALAZIONE: Decl = complex(
    "Segnalazione",
    "SegnalazioneType",
    &[one!(MATRICOLA), one!(DATA_ORA), one!(CODICE), opt!(NOTE)],
);

static SIGNATURE: Decl = Decl {
    name: "Signature",
    dsig: true,
    xsd_type: "ds:Signature",
    content: Content::Signature,
};

/// DatiCorrispettivi (DatiCorrispettiviType).
pub(super) static ROOT: Decl = complex(
    "DatiCorrispettivi",
    "DatiCorrispettiviType",
    &[
        one!(TRASMISSIONE),
        opt!(PERIODO_INATTIVO),
        one!(DATA_ORA_RILEVAZIONE),
        Particle {
            choice: &[&DATI_RT, &DATI_DA],
            min: 1,
            max: 1,
        },
        Particle {
            choice: &[&INTERVENTO],
            min: 0,
            max: 50,
        },
        Particle {
            choice: &[&SEGNALAZIONE],
            min: 0,
            max: 50,
        },
        one!(SIGNATURE),
    ],
);

impl Particle {
    fn find(&self, el: &Element) -> Option<&'static Decl> {
        self.choice.iter().copied().find(|d| d.name == el.local)
    }

    fn names(&self) -> String {
        let names: Vec<String> = self
            .choice
            .iter()
            .map(|d| {
                if d.dsig {
                    format!("ds:{}", d.name)
                } else {
                    d.name.to_string()
                }
            })
            .collect();
        names.join(" | ")
    }
}

/// Validates the root `DatiCorrispettivi` and everything below it.
pub(super) fn validate(root: &Element, path: &str, out: &mut Vec<Finding>) {
    root_attributes(root, path, out);
    element(root, &ROOT, path, out);
}

fn root_attributes(root: &Element, path: &str, out: &mut Vec<Finding>) {
    match root.attribute("", "versione") {
        Some("COR10") => {}
        Some(other) => out.push(Finding::at(
            "RTX030",
            path,
            root,
            "versione=\"COR10\"",
            format!("versione={other:?}"),
        )),
        None => out.push(Finding::at(
            "RTX030",
            path,
            root,
            "versione=\"COR10\"",
            "no versione",
        )),
    }
    match root.attribute("", "simulazione") {
        None => {}
        Some("true") => out.push(Finding::at(
            "RTX031",
            path,
            root,
            "a production closing (no simulazione)",
            "simulazione=\"true\"",
        )),
        Some(other) => out.push(Finding::at(
            "RTX030",
            path,
            root,
            "simulazione=\"true\" or none",
            format!("simulazione={other:?}"),
        )),
    }
}

/// Validates `el` against `decl`: its attributes, then its content.
fn element(el: &Element, decl: &Decl, path: &str, out: &mut Vec<Finding>) {
    let is_root = std::ptr::eq(decl, &ROOT);
    for a in &el.attributes {
        let declared = a.namespace == XSI_NS
            || (is_root
                && a.namespace.is_empty()
                && matches!(a.local.as_str(), "versione" | "simulazione"));
        if !declared {
            out.push(Finding::at(
                "RTX037",
                path,
                el,
                if is_root {
                    "versione, simulazione or xsi: attributes"
                } else {
                    "no attributes"
                },
                format!("{}={:?}", a.qname(), a.value),
            ));
        }
    }
    match &decl.content {
        Content::Signature => {}
        Content::Simple(t) => {
            if let Some(child) = el.elements().next() {
                out.push(Finding::at(
                    "RTX036",
                    path,
                    el,
                    format!("a value of type {}", decl.xsd_type),
                    format!("element <{}>", child.qname()),
                ));
                return;
            }
            if let Err((code, expected)) = check_value(*t, &el.text()) {
                out.push(Finding::at(
                    code,
                    path,
                    el,
                    expected,
                    format!("{:?}", el.text()),
                ));
            }
        }
        Content::Complex(particles) => {
            let text = el.text();
            if !text.trim_matches([' ', '\t', '\n', '\r']).is_empty() {
                out.push(Finding::at(
                    "RTX036",
                    path,
                    el,
                    "elements and white space only",
                    format!("text {:?}", text.trim()),
                ));
            }
            sequence(el, particles, path, out);
        }
    }
}

/// Matches the element children of `el` against a sequence, greedily as XSD's unique
/// particle attribution allows. A child that fits no later particle is reported as not
/// allowed and skipped, so that the rest still matches.
fn sequence(el: &Element, particles: &[Particle], path: &str, out: &mut Vec<Finding>) {
    let kids: Vec<&Element> = el.elements().collect();
    let paths = child_paths(path, el);
    let mut idx = 0;
    for (pi, p) in particles.iter().enumerate() {
        let mut n = 0;
        let mut first_excess: Option<(&Element, &str)> = None;
        // Where the next element of this particle stands after the current one, found once
        // and kept until passed, so that a long run of misplaced elements stays linear.
        let mut awaited_at: Option<Option<usize>> = None;
        while let Some(kid) = kids.get(idx) {
            let kid_path = &paths[idx];
            if let Some(decl) = p.find(kid) {
                if n == p.max {
                    first_excess = Some((kid, kid_path));
                }
                namespace(kid, decl, kid_path, out);
                element(kid, decl, kid_path, out);
                n += 1;
                idx += 1;
                continue;
            }
            if particles[pi + 1..].iter().any(|q| q.find(kid).is_some()) {
                // A later element before a required one that still comes is out of order:
                // reported once, where it stands, as an XSD validator would.
                if awaited_at.is_none_or(|at| at.is_some_and(|at| at <= idx)) {
                    awaited_at = Some(
                        kids[idx + 1..]
                            .iter()
                            .position(|k| p.find(k).is_some())
                            .map(|i| idx + 1 + i),
                    );
                }
                let awaited = n < p.min && awaited_at.flatten().is_some();
                if !awaited {
                    break;
                }
            }
            out.push(Finding::at(
                "RTX033",
                kid_path,
                kid,
                allowed_here(&particles[pi..], el),
                format!("<{}>", kid.qname()),
            ));
            idx += 1;
        }
        // Too many is one finding, at the first one too many, with the count.
        if let Some((kid, kid_path)) = first_excess {
            if p.choice.len() > 1 {
                out.push(Finding::at(
                    "RTX034",
                    kid_path,
                    kid,
                    format!("exactly one of {}", p.names()),
                    format!("{n} of them"),
                ));
            } else {
                out.push(Finding::at(
                    "RTX033",
                    kid_path,
                    kid,
                    format!("at most {} {}", p.max, p.names()),
                    format!("{n}"),
                ));
            }
        }
        if n < p.min {
            let found = match kids.get(idx) {
                Some(k) => format!("<{}>", k.qname()),
                None => format!("the end of <{}>", el.qname()),
            };
            if p.choice.len() > 1 {
                out.push(Finding::at(
                    "RTX034",
                    path,
                    el,
                    format!("one of {}", p.names()),
                    format!("none ({found})"),
                ));
            } else {
                out.push(Finding::at(
                    "RTX032",
                    path,
                    el,
                    format!("<{}>", p.names()),
                    found,
                ));
            }
        }
    }
}

/// What may come at this point: the particles up to and including the first required one.
fn allowed_here(rest: &[Particle], el: &Element) -> String {
    let mut names = Vec::new();
    for p in rest {
        names.push(p.names());
        if p.min > 0 {
            return names.join(", ");
        }
    }
    names.push(format!("the end of <{}>", el.qname()));
    names.join(", ")
}

fn namespace(kid: &Element, decl: &Decl, path: &str, out: &mut Vec<Finding>) {
    let want = if decl.dsig { DSIG_NS } else { "" };
    if kid.namespace != want {
        out.push(Finding::at(
            "RTX035",
            path,
            kid,
            if decl.dsig {
                format!("{} in {DSIG_NS}", decl.name)
            } else {
                format!("{} in no namespace", decl.name)
            },
            if kid.namespace.is_empty() {
                "no namespace".to_string()
            } else {
                kid.namespace.clone()
            },
        ));
    }
}

/// XSD whiteSpace="collapse" for the decimal, integer and dateTime types: leading and
/// trailing white space does not count (inner white space then fails the pattern).
pub(super) fn collapse(raw: &str) -> &str {
    raw.trim_matches([' ', '\t', '\n', '\r'])
}

/// XSD whiteSpace="replace" for normalizedString: tab, line feed, carriage return → space.
fn replace_ws(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if matches!(c, '\t' | '\n' | '\r') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// `d{min,max}` at the start of `s`: the number of digits taken, or `None`.
fn digits(s: &str, min: usize, max: usize) -> Option<usize> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    (min..=max).contains(&n).then_some(n)
}

/// `[\-]?[0-9]{1,int}\.[0-9]{frac_min,frac_max}` with an optional minus when `signed`.
fn decimal_pattern(s: &str, signed: bool, int: usize, frac_min: usize, frac_max: usize) -> bool {
    let s = if signed {
        s.strip_prefix('-').unwrap_or(s)
    } else {
        s
    };
    let Some(n) = digits(s, 1, int) else {
        return false;
    };
    let Some(frac) = s[n..].strip_prefix('.') else {
        return false;
    };
    digits(frac, frac_min, frac_max) == Some(frac.len())
}

/// Checks a simple value: `Err((code, expected))` when it does not fit.
pub(super) fn check_value(t: Type, raw: &str) -> Result<(), (&'static str, String)> {
    match t {
        Type::Amount2 => {
            let v = collapse(raw);
            if decimal_pattern(v, true, 11, 2, 2) {
                Ok(())
            } else {
                Err(("RTX040", "an amount [\\-]?[0-9]{1,11}\\.[0-9]{2}".into()))
            }
        }
        Type::Rate => {
            let v = collapse(raw);
            let max = Decimal::new(10000, 2);
            if decimal_pattern(v, false, 3, 2, 2) && parse_decimal_str(v).is_ok_and(|d| d <= max) {
                Ok(())
            } else {
                Err((
                    "RTX041",
                    "a rate [0-9]{1,3}\\.[0-9]{2} of at most 100.00".into(),
                ))
            }
        }
        Type::Geo => {
            if decimal_pattern(collapse(raw), true, 3, 2, 9) {
                Ok(())
            } else {
                Err((
                    "RTX045",
                    "a coordinate [\\-]?[0-9]{1,3}\\.[0-9]{2,9}".into(),
                ))
            }
        }
        Type::Enum(values) => {
            if values.contains(&raw) {
                Ok(())
            } else {
                Err(("RTX042", format!("one of {}", values.join(", "))))
            }
        }
        Type::Integer { min, max } => {
            let expected = || ("RTX043", format!("an integer from {min} to {max}"));
            let v = collapse(raw);
            let unsigned = v.strip_prefix('+').unwrap_or(v);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return Err(expected());
            }
            let significant = unsigned.trim_start_matches('0');
            let value = if significant.len() > 15 {
                u64::MAX
            } else {
                significant.parse::<u64>().unwrap_or(0)
            };
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(expected())
            }
        }
        Type::DateTime => {
            if parse_datetime(collapse(raw)).is_some() {
                Ok(())
            } else {
                Err((
                    "RTX044",
                    "an xs:dateTime YYYY-MM-DDThh:mm:ss[.f][Z|±hh:mm]".into(),
                ))
            }
        }
        Type::Latin(max) => {
            let v = replace_ws(raw);
            let n = v.chars().count();
            if (1..=max).contains(&n) && v.chars().all(|c| c <= '\u{FF}') {
                Ok(())
            } else {
                Err((
                    "RTX045",
                    format!("1 to {max} Basic Latin or Latin-1 characters"),
                ))
            }
        }
        Type::Normalized(max) => match max {
            Some(max) if raw.chars().count() > max => {
                Err(("RTX045", format!("at most {max} characters")))
            }
            _ => Ok(()),
        },
        Type::CodiceFiscale => {
            let n = raw.len();
            if (11..=16).contains(&n)
                && raw
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            {
                Ok(())
            } else {
                Err(("RTX045", "a codice fiscale [A-Z0-9]{11,16}".into()))
            }
        }
        Type::Nazione => {
            if raw.len() == 2 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
                Ok(())
            } else {
                Err(("RTX045", "a country code [A-Z]{2}".into()))
            }
        }
        Type::IdCodice => {
            if raw.chars().count() == 11 {
                Ok(())
            } else {
                Err(("RTX045", "11 characters".into()))
            }
        }
    }
}

/// An xs:dateTime as read: the local date and time and the offset in minutes when given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateTime {
    pub local: chrono::NaiveDateTime,
    pub offset_minutes: Option<i32>,
}

/// XML Schema Part 2 §3.2.7 (1.0): `-?YYYY-MM-DDThh:mm:ss(.s+)?(Z|(+|-)hh:mm)?`, the year of
/// four or more digits (no leading zero beyond four, not 0000), every field in range, 24:00:00
/// for the end of a day. `None` when it is not one, or lies outside chrono's years.
pub(crate) fn parse_datetime(s: &str) -> Option<DateTime> {
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let year_len = digits(s, 4, 9)?;
    let (year_text, rest) = s.split_at(year_len);
    if year_len > 4 && year_text.starts_with('0') {
        return None;
    }
    let mut year: i32 = year_text.parse().ok()?;
    if year == 0 {
        return None;
    }
    if negative {
        year = -year;
    }
    let b = rest.as_bytes();
    let two = |i: usize| -> Option<u32> {
        let d = b.get(i..i + 2)?;
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| u32::from(d[0] - b'0') * 10 + u32::from(d[1] - b'0'))
    };
    if b.len() < 15 || b[0] != b'-' || b[3] != b'-' || b[6] != b'T' || b[9] != b':' || b[12] != b':'
    {
        return None;
    }
    let (month, day, hour, minute, second) = (two(1)?, two(4)?, two(7)?, two(10)?, two(13)?);
    let mut tail = &rest[15..];
    let mut fraction_zero = true;
    if let Some(f) = tail.strip_prefix('.') {
        let n = f.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        fraction_zero = f[..n].bytes().all(|d| d == b'0');
        tail = &f[n..];
    }
    let offset_minutes = match tail {
        "" => None,
        "Z" => Some(0),
        _ => {
            let t = tail.as_bytes();
            if t.len() != 6 || !matches!(t[0], b'+' | b'-') || t[3] != b':' {
                return None;
            }
            let (h, m) = (two_at(t, 1)?, two_at(t, 4)?);
            if m > 59 || h > 14 || (h == 14 && m != 0) {
                return None;
            }
            let total = (h * 60 + m) as i32;
            Some(if t[0] == b'-' { -total } else { total })
        }
    };
    if minute > 59
        || second > 59
        || hour > 24
        || (hour == 24 && (minute != 0 || second != 0 || !fraction_zero))
    {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(year, month, day)?;
    let local = if hour == 24 {
        date.succ_opt()?.and_hms_opt(0, 0, 0)?
    } else {
        date.and_hms_opt(hour, minute, second)?
    };
    Some(DateTime {
        local,
        offset_minutes,
    })
}

fn two_at(t: &[u8], i: usize) -> Option<u32> {
    let d = t.get(i..i + 2)?;
    d.iter()
        .all(u8::is_ascii_digit)
        .then(|| u32::from(d[0] - b'0') * 10 + u32::from(d[1] - b'0'))
}

#[cfg(test)]
mod tests {
    use super::super::closing::read_closing;
    use super::*;
    use crate::regime::rt::cor10::examine;
    use crate::regime::rt::xml::{self, Document};

    const RT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/conformance/rt/");

    /// The annotated example of spec rt.md §5, its comments and signature left out: valid.
    const EXAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<p:DatiCorrispettivi xmlns:p="http://ivaservizi.agenziaentrate.gov.it/docs/xsd/corrispettivi/dati/v1.0" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" versione="COR10">
<Trasmissione><Progressivo>142</Progressivo><Formato>COR10</Formato></Trasmissione>
<DataOraRilevazione>2026-03-14T21:05:12+01:00</DataOraRilevazione>
<DatiRT>
<Riepilogo><IVA><AliquotaIVA>22.00</AliquotaIVA><Imposta>103.40</Imposta></IVA><Ammontare>500.00</Ammontare><ImportoParziale>470.00</ImportoParziale><TotaleAmmontareResi>10.00</TotaleAmmontareResi><TotaleAmmontareAnnulli>20.00</TotaleAmmontareAnnulli></Riepilogo>
<Riepilogo><IVA><AliquotaIVA>10.00</AliquotaIVA><Imposta>25.00</Imposta></IVA><Ammontare>300.00</Ammontare><ImportoParziale>250.00</ImportoParziale><NonRiscossoServizi>50.00</NonRiscossoServizi></Riepilogo>
<Riepilogo><Natura>N4</Natura><Ammontare>40.00</Ammontare><ImportoParziale>40.00</ImportoParziale></Riepilogo>
<Totali><NumeroDocCommerciali>57</NumeroDocCommerciali><PagatoContanti>301.50</PagatoContanti><PagatoElettronico>623.50</PagatoElettronico></Totali>
</DatiRT>
<ds:Signature/>
</p:DatiCorrispettivi>"#;

    /// (code, path, line, found) of every finding of `examine`.
    fn check(text: &str) -> Vec<(&'static str, String, Option<usize>, String)> {
        let doc = xml::parse(text.as_bytes()).unwrap();
        let mut out = Vec::new();
        examine(&doc, &mut out);
        out.into_iter()
            .map(|f| (f.code, f.path, f.line, f.found))
            .collect()
    }

    fn codes(text: &str) -> Vec<&'static str> {
        check(text).into_iter().map(|f| f.0).collect()
    }

    fn edit(from: &str, to: &str) -> String {
        assert!(EXAMPLE.contains(from), "{from}");
        EXAMPLE.replacen(from, to, 1)
    }

    #[test]
    fn the_spec_example_and_every_real_sample_are_valid() {
        assert_eq!(check(EXAMPLE), vec![]);
        for name in [
            "RT_7CIMG990005_24_02_2020__16_16_07_5.xml",
            "RT_192.168.1.133_13_04_2017__15_54_46_16.xml",
            "rt_lug_2020.xml",
        ] {
            let text = std::fs::read_to_string(format!("{RT}samples/dati/{name}")).unwrap();
            assert_eq!(check(&text), vec![], "{name}");
        }
    }

    /// The synthetic instance of the CNR repository: exactly the nine errors xmllint reports
    /// against the XSD (same elements, same lines), each with its code.
    #[test]
    fn the_invalid_synthetic_sample_fails_as_with_xmllint() {
        let text =
            std::fs::read_to_string(format!("{RT}samples/dati/INVALID_synthetic_unsigned.xml"))
                .unwrap();
        let mut found: Vec<(&str, usize, String)> = check(&text)
            .into_iter()
            .map(|(code, path, line, _)| {
                (
                    code,
                    line.unwrap(),
                    path.rsplit('/').next().unwrap().to_string(),
                )
            })
            .collect();
        found.sort_by_key(|f| f.1);
        let want = [
            ("RTX032", 2, "r:DatiCorrispettivi"),
            ("RTX041", 23, "AliquotaIVA"),
            ("RTX040", 24, "Imposta"),
            ("RTX040", 26, "Ammontare"),
            ("RTX040", 28, "TotaleAmmontareResi"),
            ("RTX040", 29, "TotaleAmmontareAnnulli"),
            ("RTX045", 33, "CFTecnico"),
            ("RTX045", 35, "IdPaese"),
            ("RTX045", 36, "IdCodice"),
        ];
        let want: Vec<(&str, usize, String)> = want
            .iter()
            .map(|(c, l, n)| (*c, *l, n.to_string()))
            .collect();
        assert_eq!(found, want);
        let missing = check(&text).into_iter().find(|f| f.0 == "RTX032").unwrap();
        assert_eq!(missing.3, "the end of <r:DatiCorrispettivi>");
    }

    #[test]
    fn content_model_findings() {
        // Both IVA and Natura: the second alternative is one too many.
        let both = edit(
            "<Riepilogo><Natura>N4</Natura>",
            "<Riepilogo><IVA><AliquotaIVA>4.00</AliquotaIVA><Imposta>1.60</Imposta></IVA><Natura>N4</Natura>",
        );
        let f = check(&both);
        assert_eq!(f.iter().map(|f| f.0).collect::<Vec<_>>(), ["RTX034"]);
        assert_eq!(f[0].1, "/p:DatiCorrispettivi/DatiRT/Riepilogo[3]/Natura");
        // Neither.
        let neither = edit("<Natura>N4</Natura>", "");
        let f = check(&neither);
        assert_eq!(
            f.iter().map(|f| (f.0, f.3.as_str())).collect::<Vec<_>>(),
            [("RTX034", "none (<Ammontare>)")]
        );
        // A required element missing, and one out of order: one finding each.
        assert_eq!(codes(&edit("<Ammontare>40.00</Ammontare>", "")), ["RTX032"]);
        let swapped = edit(
            "<Ammontare>300.00</Ammontare><ImportoParziale>250.00</ImportoParziale>",
            "<ImportoParziale>250.00</ImportoParziale><Ammontare>300.00</Ammontare>",
        );
        let f = check(&swapped);
        assert_eq!(
            f.iter().map(|f| f.0).collect::<Vec<_>>(),
            ["RTX033"],
            "{f:#?}"
        );
        assert_eq!(
            f[0].1,
            "/p:DatiCorrispettivi/DatiRT/Riepilogo[2]/ImportoParziale"
        );
        // An element the schema does not have.
        let f = check(&edit(
            "<Formato>COR10</Formato>",
            "<Formato>COR10</Formato><IdCassa>1</IdCassa>",
        ));
        assert_eq!(
            f.iter().map(|f| (f.0, f.3.as_str())).collect::<Vec<_>>(),
            [("RTX033", "<IdCassa>")]
        );
        // 40 Riepilogo rows are allowed (the N4 row repeated: duplicate keys, and the day no
        // longer balances), 41 are not.
        let row = "<Riepilogo><Natura>N4</Natura><Ammontare>40.00</Ammontare><ImportoParziale>40.00</ImportoParziale></Riepilogo>";
        let many = edit(row, &row.repeat(38));
        assert!(
            codes(&many)
                .iter()
                .all(|c| *c == "RTX049" || *c == "RTX053"),
            "{:?}",
            codes(&many)
        );
        let too_many = edit(row, &row.repeat(39));
        let f = check(&too_many);
        let over: Vec<_> = f.iter().filter(|f| f.0 == "RTX033").collect();
        assert_eq!(over.len(), 1);
        assert_eq!(over[0].3, "41");
        assert_eq!(over[0].1, "/p:DatiCorrispettivi/DatiRT/Riepilogo[41]");
        // No signature.
        assert_eq!(codes(&edit("<ds:Signature/>", "")), ["RTX032"]);
    }

    #[test]
    fn namespaces_text_and_attributes() {
        // A default namespace on the root qualifies every child: each top-level child and
        // every element below it is in the wrong namespace.
        let qualified = EXAMPLE.replace(
            "xmlns:p=\"http://ivaservizi.agenziaentrate.gov.it/docs/xsd/corrispettivi/dati/v1.0\"",
            "xmlns:p=\"http://ivaservizi.agenziaentrate.gov.it/docs/xsd/corrispettivi/dati/v1.0\" xmlns=\"http://ivaservizi.agenziaentrate.gov.it/docs/xsd/corrispettivi/dati/v1.0\"",
        );
        let c = codes(&qualified);
        assert!(c.len() > 10 && c.iter().all(|c| *c == "RTX035"), "{c:?}");
        assert_eq!(codes(&edit("<ds:Signature/>", "<Signature/>")), ["RTX035"]);
        assert_eq!(codes(&edit("<DatiRT>", "<DatiRT>x")), ["RTX036"]);
        assert_eq!(
            codes(&edit("<Natura>N4</Natura>", "<Natura><b/></Natura>")),
            ["RTX036"]
        );
        assert_eq!(codes(&edit("<DatiRT>", "<DatiRT id=\"1\">")), ["RTX037"]);
        let xsi = edit(
            "versione=\"COR10\"",
            "versione=\"COR10\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"x y\" other=\"1\"",
        );
        assert_eq!(codes(&xsi), ["RTX037"]);
    }

    #[test]
    fn root_attributes() {
        assert_eq!(check(&edit(" versione=\"COR10\"", ""))[0].3, "no versione");
        assert_eq!(
            codes(&edit("versione=\"COR10\"", "versione=\"COR11\"")),
            ["RTX030"]
        );
        assert_eq!(
            codes(&edit(
                "versione=\"COR10\"",
                "versione=\"COR10\" simulazione=\"true\""
            )),
            ["RTX031"]
        );
        assert_eq!(
            codes(&edit(
                "versione=\"COR10\"",
                "versione=\"COR10\" simulazione=\"yes\""
            )),
            ["RTX030"]
        );
    }

    #[test]
    fn value_findings() {
        let cases = [
            (
                "<Ammontare>40.00</Ammontare>",
                "<Ammontare>40,00</Ammontare>",
                "RTX040",
            ),
            (
                "<Ammontare>40.00</Ammontare>",
                "<Ammontare>123456789012.00</Ammontare>",
                "RTX040",
            ),
            (
                "<AliquotaIVA>22.00</AliquotaIVA>",
                "<AliquotaIVA>100.01</AliquotaIVA>",
                "RTX041",
            ),
            (
                "<AliquotaIVA>22.00</AliquotaIVA>",
                "<AliquotaIVA>22</AliquotaIVA>",
                "RTX041",
            ),
            ("<Natura>N4</Natura>", "<Natura>N2.1</Natura>", "RTX042"),
            ("<Natura>N4</Natura>", "<Natura> N4</Natura>", "RTX042"),
            (
                "<Formato>COR10</Formato>",
                "<Formato>COR11</Formato>",
                "RTX042",
            ),
            (
                "<Progressivo>142</Progressivo>",
                "<Progressivo>0</Progressivo>",
                "RTX043",
            ),
            (
                "<Progressivo>142</Progressivo>",
                "<Progressivo>1000000000000000</Progressivo>",
                "RTX043",
            ),
            (
                "<NumeroDocCommerciali>57</NumeroDocCommerciali>",
                "<NumeroDocCommerciali>-1</NumeroDocCommerciali>",
                "RTX043",
            ),
            ("2026-03-14T21:05:12+01:00", "2026-02-29T21:05:12", "RTX044"),
            ("2026-03-14T21:05:12+01:00", "2026-03-14 21:05:12", "RTX044"),
            (
                "<Natura>N4</Natura><Ammontare>40.00</Ammontare>",
                "<Natura>N4</Natura><Ammontare>40.00</Ammontare><RifNormativo>art. 10 €</RifNormativo>",
                "RTX045",
            ),
        ];
        for (from, to, code) in cases {
            assert_eq!(codes(&edit(from, to)), [code], "{to}");
        }
        // Leading zeros and surrounding white space are allowed where XSD collapses.
        assert_eq!(
            codes(&edit(
                "<Progressivo>142</Progressivo>",
                "<Progressivo> 000142\n</Progressivo>"
            )),
            Vec::<&str>::new()
        );
        assert_eq!(
            codes(&edit(
                "<Ammontare>40.00</Ammontare>",
                "<Ammontare>\n40.00 </Ammontare>"
            )),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn closing_level_warnings() {
        let zero = edit(
            "<AliquotaIVA>10.00</AliquotaIVA><Imposta>25.00</Imposta>",
            "<AliquotaIVA>0.00</AliquotaIVA><Imposta>0.00</Imposta>",
        );
        assert!(codes(&zero).contains(&"RTX046"), "{:?}", codes(&zero));
        assert_eq!(codes(&edit(">57<", ">0<")), ["RTX047"]);
        let dup = edit(
            "<Natura>N4</Natura>",
            "<IVA><AliquotaIVA>22.00</AliquotaIVA><Imposta>8.80</Imposta></IVA>",
        );
        let f = check(&dup);
        assert!(
            f.iter()
                .any(|f| f.0 == "RTX049" && f.1 == "/p:DatiCorrispettivi/DatiRT/Riepilogo[3]"),
            "{f:#?}"
        );
        // From 2022 a row without ImportoParziale, and a DatiRT without Totali, are warned.
        let no_ip = edit("<ImportoParziale>40.00</ImportoParziale>", "");
        assert_eq!(codes(&no_ip), ["RTX048"]);
        let start = EXAMPLE.find("<Totali>").unwrap();
        let end = EXAMPLE.find("</Totali>").unwrap() + "</Totali>".len();
        let no_totali = format!("{}{}", &EXAMPLE[..start], &EXAMPLE[end..]);
        assert_eq!(check(&no_totali)[0].1, "/p:DatiCorrispettivi/DatiRT");
        assert_eq!(codes(&no_totali), ["RTX048"]);
        // Before 2022 (tracciato 6.0 still allowed) neither is.
        let old = no_totali.replace("2026-03-14T21:05:12+01:00", "2021-12-31T23:59:59");
        assert_eq!(codes(&old), Vec::<&str>::new());
    }

    /// Many siblings, misplaced or repeated, cost time in proportion: each is one finding
    /// (a quadratic walk would take minutes here).
    #[test]
    fn many_siblings_stay_linear() {
        let n = 30_000;
        let misplaced = edit(
            "<Riepilogo><Natura>N4</Natura><Ammontare>40.00</Ammontare>",
            &format!(
                "<Riepilogo><Natura>N4</Natura>{}<Ammontare>40.00</Ammontare>",
                "<ImportoParziale>1.00</ImportoParziale>".repeat(n)
            ),
        );
        let c = codes(&misplaced);
        assert_eq!(
            c.iter().filter(|c| **c == "RTX033").count(),
            n,
            "{:?}",
            &c[..5]
        );
        let row = "<Riepilogo><Natura>N4</Natura><Ammontare>40.00</Ammontare><ImportoParziale>40.00</ImportoParziale></Riepilogo>";
        let rows = edit(row, &row.repeat(n));
        let c = codes(&rows);
        assert_eq!(c.iter().filter(|c| **c == "RTX049").count(), n - 1);
        assert_eq!(c.iter().filter(|c| **c == "RTX033").count(), 1);
        let doc = xml::parse(rows.as_bytes()).unwrap();
        let closing = read_closing(&doc.root, "/p:DatiCorrispettivi");
        assert_eq!(super::super::compare(&closing, &closing), vec![]);
    }

    #[test]
    fn another_root_is_rtx002_only() {
        let doc = xml::parse(b"<EsitoOperazione xmlns='http://ivaservizi.agenziaentrate.gov.it/docs/xsd/corrispettivi/v1.0'/>").unwrap();
        let mut out = Vec::new();
        assert!(examine(&doc, &mut out).is_none());
        assert_eq!(out.iter().map(|f| f.code).collect::<Vec<_>>(), ["RTX002"]);
        assert_eq!(
            out[0].found,
            "EsitoOperazione in http://ivaservizi.agenziaentrate.gov.it/docs/xsd/corrispettivi/v1.0"
        );
    }

    #[test]
    fn the_closing_is_read_with_its_values() {
        let doc = xml::parse(EXAMPLE.as_bytes()).unwrap();
        let c = read_closing(&doc.root, "/p:DatiCorrispettivi");
        assert_eq!(c.progressivo.as_deref(), Some("142"));
        assert_eq!(
            c.data_ora_rilevazione.as_deref(),
            Some("2026-03-14T21:05:12+01:00")
        );
        assert_eq!(c.rows.len(), 3);
        assert_eq!(c.rows[0].key(), "IVA 22.00");
        assert_eq!(c.rows[0].imposta, Some(Decimal::new(10340, 2)));
        assert_eq!(
            c.rows[1].part("NonRiscossoServizi"),
            Some(Decimal::new(5000, 2))
        );
        assert_eq!(c.rows[2].key(), "Natura N4");
        let t = c.totals.unwrap();
        assert_eq!(t.numero_doc_commerciali, Some(57));
        assert_eq!(
            t.payments,
            vec![
                ("PagatoContanti", Decimal::new(30150, 2)),
                ("PagatoElettronico", Decimal::new(62350, 2))
            ]
        );
    }

    #[test]
    fn datetimes_follow_xml_schema() {
        for ok in [
            "2019-12-03T16:13:57",
            "2026-03-14T21:05:12+01:00",
            "2024-02-29T00:00:00Z",
            "2024-12-31T24:00:00",
            "2024-01-01T00:00:00.5-14:00",
            "12024-01-01T00:00:00",
        ] {
            assert!(parse_datetime(ok).is_some(), "{ok}");
        }
        for bad in [
            "2019-12-03",
            "2019-12-03T16:13",
            "2019-13-03T16:13:57",
            "2023-02-29T00:00:00",
            "2019-12-03T24:00:01",
            "2019-12-03T16:60:00",
            "0000-01-01T00:00:00",
            "02019-01-01T00:00:00",
            "2019-12-03T16:13:57+15:00",
            "2019-12-03T16:13:57.",
            "2019-12-03T16:13:57+0100",
            "2019-12-03t16:13:57",
            "２019-12-03T16:13:57",
        ] {
            assert!(parse_datetime(bad).is_none(), "{bad}");
        }
        let t = parse_datetime("2024-12-31T24:00:00-01:30").unwrap();
        assert_eq!(
            (t.local.to_string().as_str(), t.offset_minutes),
            ("2025-01-01 00:00:00", Some(-90))
        );
    }

    // --- The declarations against the XSD itself. ---

    /// (names of the alternatives with their types, minOccurs, maxOccurs) of a sequence.
    type XsdParticle = (Vec<(String, String)>, usize, usize);

    fn occurs(el: &Element, name: &str) -> usize {
        match el.attribute("", name) {
            None => 1,
            Some("unbounded") => usize::MAX,
            Some(n) => n.parse().unwrap(),
        }
    }

    fn xsd_element(el: &Element) -> (String, String) {
        match el.attribute("", "ref") {
            Some(r) => (r.rsplit(':').next().unwrap().to_string(), r.to_string()),
            None => (
                el.attribute("", "name").unwrap().to_string(),
                el.attribute("", "type").unwrap().to_string(),
            ),
        }
    }

    fn xsd_particles(group: &Element) -> Vec<XsdParticle> {
        let xs = "http://www.w3.org/2001/XMLSchema";
        if group.is(xs, "choice") {
            let alts = group.elements().map(xsd_element).collect();
            return vec![(alts, occurs(group, "minOccurs"), occurs(group, "maxOccurs"))];
        }
        group
            .elements()
            .filter(|e| e.namespace == xs && e.local != "annotation")
            .map(|e| {
                if e.local == "choice" {
                    (
                        e.elements().map(xsd_element).collect(),
                        occurs(e, "minOccurs"),
                        occurs(e, "maxOccurs"),
                    )
                } else {
                    (
                        vec![xsd_element(e)],
                        occurs(e, "minOccurs"),
                        occurs(e, "maxOccurs"),
                    )
                }
            })
            .collect()
    }

    fn xsd() -> Document {
        xml::parse(&std::fs::read(format!("{RT}xsd/CorrispettiviTypes_v1.0.xsd")).unwrap()).unwrap()
    }

    fn named<'a>(doc: &'a Document, kind: &str, name: &str) -> &'a Element {
        doc.root
            .elements()
            .find(|e| e.local == kind && e.attribute("", "name") == Some(name))
            .unwrap_or_else(|| panic!("no {kind} {name} in the XSD"))
    }

    fn compare_decl(doc: &Document, decl: &Decl, seen: &mut Vec<&'static str>) {
        seen.push(decl.name);
        match &decl.content {
            Content::Complex(particles) => {
                let ct = named(doc, "complexType", decl.xsd_type);
                let group = ct
                    .elements()
                    .find(|e| e.local == "sequence" || e.local == "choice")
                    .unwrap();
                let want = xsd_particles(group);
                let have: Vec<XsdParticle> = particles
                    .iter()
                    .map(|p| {
                        let alts = p
                            .choice
                            .iter()
                            .map(|d| (d.name.to_string(), d.xsd_type.to_string()))
                            .collect();
                        (alts, p.min, p.max)
                    })
                    .collect();
                assert_eq!(have, want, "{}", decl.xsd_type);
                for p in *particles {
                    for d in p.choice {
                        compare_decl(doc, d, seen);
                    }
                }
            }
            Content::Simple(t) => compare_type(doc, decl.xsd_type, *t),
            Content::Signature => {}
        }
    }

    /// The facets the XSD gives a simple type, as (facet, value) pairs in order.
    fn xsd_facets(doc: &Document, name: &str) -> Vec<(String, String)> {
        let st = named(doc, "simpleType", name);
        let restriction = st.elements().find(|e| e.local == "restriction").unwrap();
        let mut facets = vec![(
            "base".to_string(),
            restriction.attribute("", "base").unwrap().to_string(),
        )];
        facets.extend(restriction.elements().map(|f| {
            (
                f.local.clone(),
                f.attribute("", "value").unwrap().to_string(),
            )
        }));
        facets.sort();
        facets
    }

    /// What this module declares for a simple type, as the XSD would state it.
    fn declared_facets(t: Type) -> Vec<(String, String)> {
        let p = |v: &str| ("pattern".to_string(), v.to_string());
        let mut f: Vec<(String, String)> = match t {
            Type::Amount2 => vec![
                ("base".into(), "xs:decimal".into()),
                p(r"[\-]?[0-9]{1,11}\.[0-9]{2}"),
            ],
            Type::Rate => vec![
                ("base".into(), "xs:decimal".into()),
                ("maxInclusive".into(), "100.00".into()),
                p(r"[0-9]{1,3}\.[0-9]{2}"),
            ],
            Type::Geo => vec![
                ("base".into(), "xs:decimal".into()),
                p(r"[\-]?[0-9]{1,3}\.[0-9]{2,9}"),
            ],
            Type::Enum(values) => {
                let mut v = vec![("base".to_string(), "xs:string".to_string())];
                v.extend(
                    values
                        .iter()
                        .map(|x| ("enumeration".to_string(), x.to_string())),
                );
                v
            }
            Type::Integer { min, max } => vec![
                (
                    "base".into(),
                    if min == 0 {
                        "xs:nonNegativeInteger"
                    } else {
                        "xs:positiveInteger"
                    }
                    .into(),
                ),
                ("maxInclusive".into(), max.to_string()),
                ("minInclusive".into(), min.to_string()),
            ],
            Type::Latin(n) => vec![
                ("base".into(), "xs:normalizedString".into()),
                p(&format!(
                    r"[\p{{IsBasicLatin}}\p{{IsLatin-1Supplement}}]{{1,{n}}}"
                )),
            ],
            Type::Normalized(Some(n)) => vec![
                ("base".into(), "xs:normalizedString".into()),
                ("maxLength".into(), n.to_string()),
            ],
            Type::CodiceFiscale => vec![("base".into(), "xs:string".into()), p("[A-Z0-9]{11,16}")],
            Type::Nazione => vec![("base".into(), "xs:string".into()), p("[A-Z]{2}")],
            Type::IdCodice => vec![
                ("base".into(), "xs:string".into()),
                ("length".into(), "11".into()),
            ],
            Type::DateTime | Type::Normalized(None) => {
                unreachable!("built-in types have no facets here")
            }
        };
        f.sort();
        f
    }

    fn compare_type(doc: &Document, xsd_type: &str, t: Type) {
        match xsd_type {
            "xs:dateTime" => assert!(matches!(t, Type::DateTime), "{xsd_type}"),
            "xs:normalizedString" => assert!(matches!(t, Type::Normalized(None)), "{xsd_type}"),
            // The XSD gives TipoDispositivoType and FormatoTrasmissioneType a length too.
            _ => {
                let mut want = xsd_facets(doc, xsd_type);
                want.retain(|(f, _)| f != "length" || matches!(t, Type::IdCodice));
                assert_eq!(declared_facets(t), want, "{xsd_type}");
            }
        }
    }

    /// Every complex type's sequence (names, types, minOccurs, maxOccurs, choices) and every
    /// simple type's facets, as declared here, are those of the XSD; every element of the XSD
    /// is declared.
    #[test]
    fn declarations_are_the_xsds() {
        let doc = xsd();
        let root = doc.root.elements().find(|e| e.local == "element").unwrap();
        assert_eq!(root.attribute("", "name"), Some(ROOT.name));
        assert_eq!(root.attribute("", "type"), Some(ROOT.xsd_type));
        assert_eq!(
            doc.root.attribute("", "targetNamespace"),
            Some(super::super::DATI_NS)
        );
        let mut seen = Vec::new();
        compare_decl(&doc, &ROOT, &mut seen);
        // Each element name of the XSD is declared here (some are used in two places).
        let mut xsd_names = Vec::new();
        fn collect(e: &Element, out: &mut Vec<String>) {
            if e.local == "element"
                && let Some(n) = e.attribute("", "name")
            {
                out.push(n.to_string());
            }
            for k in e.elements() {
                collect(k, out);
            }
        }
        collect(&doc.root, &mut xsd_names);
        for n in &xsd_names {
            assert!(seen.contains(&n.as_str()), "{n} not declared");
        }
        // The root's attributes.
        let ct = named(&doc, "complexType", "DatiCorrispettiviType");
        let attrs: Vec<(Option<&str>, Option<&str>, Option<&str>)> = ct
            .elements()
            .filter(|e| e.local == "attribute")
            .map(|a| {
                (
                    a.attribute("", "name"),
                    a.attribute("", "use"),
                    a.attribute("", "fixed"),
                )
            })
            .collect();
        assert_eq!(
            attrs,
            [
                (Some("versione"), Some("required"), None),
                (Some("simulazione"), None, Some("true"))
            ]
        );
    }
}
