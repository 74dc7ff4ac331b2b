//! The values of a daily closing that the sums and `--compare` need, read from a document the
//! schema check has seen ([`read_closing`]), and the checks on them that the XSD cannot
//! express (RTX046–RTX049).
//!
//! Reading is lenient by design: a value that breaks its type was reported once by the schema
//! check and is left out here (`None`), so that the sums run on what can be trusted and never
//! report the same defect a second time.

use rust_decimal::Decimal;

use super::schema::{INTEGER15, MAX15, ROW_PARTS, Type, check_value, collapse, parse_datetime};
use super::{Closing, Finding, Row, RowKind, Totals, child_paths};
use crate::model::money::parse_decimal_str;
use crate::regime::rt::xml::Element;

/// The first child element named `local` (schema children are matched by local name; a
/// wrong namespace was reported by the schema check).
fn kid<'a>(el: &'a Element, local: &str) -> Option<&'a Element> {
    el.elements().find(|e| e.local == local)
}

/// The value of child `local` when it fits type `t`.
fn value(el: &Element, local: &str, t: Type) -> Option<String> {
    let k = kid(el, local)?;
    if k.elements().next().is_some() {
        return None;
    }
    let text = k.text();
    check_value(t, &text).ok()?;
    Some(text)
}

fn amount(el: &Element, local: &str) -> Option<Decimal> {
    parse_decimal_str(collapse(&value(el, local, Type::Amount2)?)).ok()
}

fn integer(el: &Element, local: &str, min: u64, max: u64) -> Option<u64> {
    let text = value(el, local, Type::Integer { min, max })?;
    let v = collapse(&text);
    v.strip_prefix('+')
        .unwrap_or(v)
        .trim_start_matches('0')
        .parse()
        .ok()
        .or(Some(0))
}

/// Reads what the sums and the comparison need; values that break their type are left out.
pub(super) fn read_closing(root: &Element, root_path: &str) -> Closing {
    let trasmissione = kid(root, "Trasmissione");
    let mut closing = Closing {
        root_path: root_path.to_string(),
        progressivo: trasmissione
            .and_then(|t| value(t, "Progressivo", INTEGER15))
            .map(|v| collapse(&v).to_string()),
        id_dispositivo: trasmissione
            .and_then(|t| kid(t, "Dispositivo"))
            .and_then(|d| value(d, "IdDispositivo", Type::Normalized(Some(100)))),
        data_ora_rilevazione: value(root, "DataOraRilevazione", Type::DateTime)
            .map(|v| collapse(&v).to_string()),
        simulazione: root.attribute("", "simulazione") == Some("true"),
        rows: Vec::new(),
        totals: None,
    };
    let Some((dati, dati_path)) = root
        .elements()
        .zip(child_paths(root_path, root))
        .find(|(e, _)| e.local == "DatiRT")
    else {
        return closing;
    };
    for (r, path) in dati.elements().zip(child_paths(&dati_path, dati)) {
        match r.local.as_str() {
            "Riepilogo" => closing.rows.push(read_row(r, path)),
            "Totali" if closing.totals.is_none() => closing.totals = Some(read_totals(r, path)),
            _ => {}
        }
    }
    closing
}

fn read_row(r: &Element, path: String) -> Row {
    let iva = kid(r, "IVA");
    let alternatives = ["IVA", "Natura", "VentilazioneIVA"]
        .iter()
        .filter(|n| kid(r, n).is_some())
        .count();
    let kind = if alternatives != 1 {
        None
    } else if let Some(iva) = iva {
        value(iva, "AliquotaIVA", Type::Rate)
            .and_then(|v| parse_decimal_str(collapse(&v)).ok())
            .map(RowKind::Iva)
    } else if let Some(n) = value(r, "Natura", NATURA_TYPE) {
        Some(RowKind::Natura(n))
    } else {
        value(r, "VentilazioneIVA", Type::Enum(&["SI"])).map(|_| RowKind::Ventilazione)
    };
    Row {
        line: r.line,
        kind,
        imposta: iva.and_then(|i| amount(i, "Imposta")),
        ammontare: amount(r, "Ammontare"),
        rif_normativo: value(r, "RifNormativo", Type::Latin(100)),
        parts: ROW_PARTS
            .iter()
            .filter_map(|name| amount(r, name).map(|v| (*name, v)))
            .collect(),
        codice_attivita: value(
            r,
            "CodiceAttivita",
            Type::Integer {
                min: 1,
                max: 999_999,
            },
        )
        .map(|v| collapse(&v).to_string()),
        path,
    }
}

const NATURA_TYPE: Type = Type::Enum(&["N1", "N2", "N3", "N4", "N5", "N6"]);

fn read_totals(t: &Element, path: String) -> Totals {
    let mut payments: Vec<(&'static str, Decimal)> =
        ["PagatoContanti", "PagatoElettronico", "ScontoApagare"]
            .iter()
            .filter_map(|name| amount(t, name).map(|v| (*name, v)))
            .collect();
    let ticket = kid(t, "Ticket");
    if let Some(v) = ticket.and_then(|k| amount(k, "PagatoTicket")) {
        payments.push(("Ticket/PagatoTicket", v));
    }
    Totals {
        line: t.line,
        numero_doc_commerciali: integer(t, "NumeroDocCommerciali", 0, MAX15),
        payments,
        numero_ticket: ticket.and_then(|k| integer(k, "NumeroTicket", 1, MAX15)),
        path,
    }
}

/// Checks on the values read that the XSD does not express (RTX046–RTX049).
pub(super) fn closing_checks(c: &Closing, out: &mut Vec<Finding>) {
    let mut keys: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for row in &c.rows {
        if let Some(RowKind::Iva(rate)) = &row.kind
            && rate.is_zero()
        {
            out.push(Finding::new(
                "RTX046",
                format!("{}/IVA/AliquotaIVA", row.path),
                Some(row.line),
                "a Natura code for a 0 % row",
                format!("AliquotaIVA {rate}"),
            ));
        }
        if row.kind.is_some() {
            let key = row.key();
            if let Some(first) = keys.get(&key) {
                out.push(Finding::new(
                    "RTX049",
                    &row.path,
                    Some(row.line),
                    format!("one Riepilogo per key ({key} is also {first})"),
                    format!("a second {key}"),
                ));
            } else {
                keys.insert(key, &row.path);
            }
        }
    }
    if let Some(t) = &c.totals
        && t.numero_doc_commerciali == Some(0)
    {
        out.push(Finding::new(
            "RTX047",
            format!("{}/NumeroDocCommerciali", t.path),
            Some(t.line),
            "at least 1 document",
            "0",
        ));
    }
    // Tracciato 7.0 is the only one accepted from 1 January 2022 (spec §0).
    let from_2022 = c
        .data_ora_rilevazione
        .as_deref()
        .and_then(parse_datetime)
        .is_some_and(|d| {
            d.local.date() >= chrono::NaiveDate::from_ymd_opt(2022, 1, 1).unwrap_or_default()
        });
    if from_2022 && !c.rows.is_empty() {
        for row in c
            .rows
            .iter()
            .filter(|r| r.part("ImportoParziale").is_none())
        {
            out.push(Finding::new(
                "RTX048",
                &row.path,
                Some(row.line),
                "ImportoParziale (tracciato 7.0)",
                format!(
                    "none, closing of {}",
                    c.data_ora_rilevazione.as_deref().unwrap_or("?")
                ),
            ));
        }
        if c.totals.is_none() {
            out.push(Finding::new(
                "RTX048",
                format!("{}/DatiRT", c.root_path),
                None,
                "Totali (tracciato 7.0)",
                format!(
                    "none, closing of {}",
                    c.data_ora_rilevazione.as_deref().unwrap_or("?")
                ),
            ));
        }
    }
}
