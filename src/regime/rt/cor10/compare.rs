//! `--compare`: how another file for the same closing (a reconstruction from the day's
//! documents) differs from the device's, value by value (shared spec `rt.md` §6).
//!
//! Rows are matched by their key (rate, Natura or ventilazione, and CodiceAttivita; the n-th
//! row of a key with the n-th). An amount absent from a row counts as 0.00, since a device
//! writes `TotaleAmmontareResi 0.00` where a rebuilt file may leave it out. Each finding is
//! about the other file: its path names the row by key, its line is the other file's, its
//! expected value is the device's.

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;

use super::schema::ROW_PARTS;
use super::{Closing, Finding, Row};

/// 0.00: what an absent amount counts as, written as amounts are.
const ZERO: Decimal = Decimal::from_parts(0, 0, 0, false, 2);

/// The differences between the device's closing and `ours`, as findings RTX060–RTX062.
pub fn compare(device: &Closing, ours: &Closing) -> Vec<Finding> {
    let mut out = Vec::new();
    let root = if ours.root_path.is_empty() {
        "/DatiCorrispettivi"
    } else {
        &ours.root_path
    };
    let strip = |s: &Option<String>| s.as_deref().map(|v| v.trim_start_matches('0').to_string());
    if strip(&device.progressivo) != strip(&ours.progressivo) {
        out.push(differs(
            format!("{root}/Trasmissione/Progressivo"),
            None,
            text(&device.progressivo),
            text(&ours.progressivo),
        ));
    }
    if device.data_ora_rilevazione != ours.data_ora_rilevazione {
        out.push(differs(
            format!("{root}/DataOraRilevazione"),
            None,
            text(&device.data_ora_rilevazione),
            text(&ours.data_ora_rilevazione),
        ));
    }
    rows(device, ours, root, &mut out);
    totals(device, ours, root, &mut out);
    out
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "(none)".into())
}

fn differs(path: String, line: Option<usize>, expected: String, found: String) -> Finding {
    Finding::new("RTX060", path, line, expected, found)
}

/// An amount difference: a cent is rounding (RTX061), more is a difference (RTX060).
fn amount(
    out: &mut Vec<Finding>,
    path: String,
    line: Option<usize>,
    device: Decimal,
    ours: Decimal,
) {
    if device == ours {
        return;
    }
    let code = if (device - ours).abs() == Decimal::new(1, 2) {
        "RTX061"
    } else {
        "RTX060"
    };
    out.push(Finding::new(
        code,
        path,
        line,
        device.to_string(),
        ours.to_string(),
    ));
}

/// Each row with its key and the occurrence of that key, so that duplicates pair in order.
fn keyed(c: &Closing) -> Vec<(String, &Row)> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    c.rows
        .iter()
        .map(|r| {
            let key = r.key();
            let n = seen.entry(key.clone()).or_default();
            *n += 1;
            (if *n == 1 { key } else { format!("{key} #{n}") }, r)
        })
        .collect()
}

fn rows(device: &Closing, ours: &Closing, root: &str, out: &mut Vec<Finding>) {
    let theirs = keyed(device);
    let mine = keyed(ours);
    let by_key: HashMap<&str, &Row> = mine.iter().map(|(k, r)| (k.as_str(), *r)).collect();
    let device_keys: HashSet<&str> = theirs.iter().map(|(k, _)| k.as_str()).collect();
    for (key, d) in &theirs {
        let path = format!("{root}/DatiRT/Riepilogo[{key}]");
        let Some(o) = by_key.get(key.as_str()) else {
            out.push(Finding::new(
                "RTX062",
                path,
                None,
                format!("Riepilogo {key} (device file line {})", d.line),
                "none",
            ));
            continue;
        };
        let line = Some(o.line);
        if d.imposta.is_some() || o.imposta.is_some() {
            amount(
                out,
                format!("{path}/IVA/Imposta"),
                line,
                d.imposta.unwrap_or(ZERO),
                o.imposta.unwrap_or(ZERO),
            );
        }
        amount(
            out,
            format!("{path}/Ammontare"),
            line,
            d.ammontare.unwrap_or(ZERO),
            o.ammontare.unwrap_or(ZERO),
        );
        if d.rif_normativo != o.rif_normativo {
            out.push(differs(
                format!("{path}/RifNormativo"),
                line,
                text(&d.rif_normativo),
                text(&o.rif_normativo),
            ));
        }
        for name in ROW_PARTS {
            amount(
                out,
                format!("{path}/{name}"),
                line,
                d.part(name).unwrap_or(ZERO),
                o.part(name).unwrap_or(ZERO),
            );
        }
    }
    for (key, o) in &mine {
        if !device_keys.contains(key.as_str()) {
            out.push(Finding::new(
                "RTX062",
                format!("{root}/DatiRT/Riepilogo[{key}]"),
                Some(o.line),
                "none (not in the device file)",
                format!("Riepilogo {key}"),
            ));
        }
    }
}

fn totals(device: &Closing, ours: &Closing, root: &str, out: &mut Vec<Finding>) {
    let path = format!("{root}/DatiRT/Totali");
    let (d, o) = match (&device.totals, &ours.totals) {
        (None, None) => return,
        (Some(d), None) => {
            out.push(Finding::new(
                "RTX062",
                path,
                None,
                format!("Totali (device file line {})", d.line),
                "none",
            ));
            return;
        }
        (None, Some(o)) => {
            out.push(Finding::new(
                "RTX062",
                path,
                Some(o.line),
                "none (not in the device file)",
                "Totali",
            ));
            return;
        }
        (Some(d), Some(o)) => (d, o),
    };
    let line = Some(o.line);
    let count = |v: Option<u64>| v.map_or("(none)".to_string(), |n| n.to_string());
    if d.numero_doc_commerciali != o.numero_doc_commerciali {
        out.push(differs(
            format!("{path}/NumeroDocCommerciali"),
            line,
            count(d.numero_doc_commerciali),
            count(o.numero_doc_commerciali),
        ));
    }
    let paid = |t: &super::Totals, name: &str| {
        t.payments
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(ZERO, |(_, v)| *v)
    };
    for name in [
        "PagatoContanti",
        "PagatoElettronico",
        "ScontoApagare",
        "Ticket/PagatoTicket",
    ] {
        amount(
            out,
            format!("{path}/{name}"),
            line,
            paid(d, name),
            paid(o, name),
        );
    }
    if d.numero_ticket != o.numero_ticket {
        out.push(differs(
            format!("{path}/Ticket/NumeroTicket"),
            line,
            count(d.numero_ticket),
            count(o.numero_ticket),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::{RowKind, Totals};
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn closing() -> Closing {
        Closing {
            root_path: "/p:DatiCorrispettivi".into(),
            progressivo: Some("142".into()),
            data_ora_rilevazione: Some("2026-03-14T21:05:12+01:00".into()),
            rows: vec![
                Row {
                    path: "/p:DatiCorrispettivi/DatiRT/Riepilogo[1]".into(),
                    line: 10,
                    kind: Some(RowKind::Iva(d("22.00"))),
                    imposta: Some(d("103.40")),
                    ammontare: Some(d("500.00")),
                    rif_normativo: None,
                    parts: vec![
                        ("ImportoParziale", d("470.00")),
                        ("TotaleAmmontareResi", d("0.00")),
                    ],
                    codice_attivita: None,
                },
                Row {
                    path: "/p:DatiCorrispettivi/DatiRT/Riepilogo[2]".into(),
                    line: 20,
                    kind: Some(RowKind::Natura("N4".into())),
                    imposta: None,
                    ammontare: Some(d("40.00")),
                    rif_normativo: Some("art. 10".into()),
                    parts: vec![("ImportoParziale", d("40.00"))],
                    codice_attivita: None,
                },
            ],
            totals: Some(Totals {
                path: "/p:DatiCorrispettivi/DatiRT/Totali".into(),
                line: 30,
                numero_doc_commerciali: Some(57),
                payments: vec![("PagatoContanti", d("301.50"))],
                numero_ticket: None,
            }),
            ..Closing::default()
        }
    }

    #[test]
    fn equal_closings_have_no_differences_and_absent_amounts_are_zero() {
        let device = closing();
        let mut ours = closing();
        ours.progressivo = Some("000142".into());
        ours.rows[0]
            .parts
            .retain(|(n, _)| *n != "TotaleAmmontareResi");
        ours.rows.reverse();
        assert_eq!(compare(&device, &ours), vec![]);
    }

    #[test]
    fn every_difference_is_reported_with_the_device_value_as_expected() {
        let device = closing();
        let mut ours = closing();
        ours.data_ora_rilevazione = Some("2026-03-14T21:05:13+01:00".into());
        ours.rows[0].imposta = Some(d("103.41"));
        ours.rows[0].ammontare = Some(d("501.00"));
        ours.rows[1].kind = Some(RowKind::Natura("N2".into()));
        ours.totals
            .as_mut()
            .unwrap()
            .payments
            .push(("PagatoElettronico", d("5.00")));
        let found = compare(&device, &ours);
        let summary: Vec<(&str, &str, &str, &str)> = found
            .iter()
            .map(|f| {
                (
                    f.code,
                    f.path.as_str(),
                    f.expected.as_str(),
                    f.found.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "RTX060",
                    "/p:DatiCorrispettivi/DataOraRilevazione",
                    "2026-03-14T21:05:12+01:00",
                    "2026-03-14T21:05:13+01:00"
                ),
                (
                    "RTX061",
                    "/p:DatiCorrispettivi/DatiRT/Riepilogo[IVA 22.00]/IVA/Imposta",
                    "103.40",
                    "103.41"
                ),
                (
                    "RTX060",
                    "/p:DatiCorrispettivi/DatiRT/Riepilogo[IVA 22.00]/Ammontare",
                    "500.00",
                    "501.00"
                ),
                (
                    "RTX062",
                    "/p:DatiCorrispettivi/DatiRT/Riepilogo[Natura N4]",
                    "Riepilogo Natura N4 (device file line 20)",
                    "none"
                ),
                (
                    "RTX062",
                    "/p:DatiCorrispettivi/DatiRT/Riepilogo[Natura N2]",
                    "none (not in the device file)",
                    "Riepilogo Natura N2"
                ),
                (
                    "RTX060",
                    "/p:DatiCorrispettivi/DatiRT/Totali/PagatoElettronico",
                    "0.00",
                    "5.00"
                ),
            ]
        );
        assert_eq!(found[1].line, Some(10));
    }
}
