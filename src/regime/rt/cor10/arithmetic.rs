//! The sums of a daily closing that a validator can check without its documents (shared spec
//! `rt.md` §1.4): each Riepilogo's components, its tax, and the day's gross amount against the
//! payments.
//!
//! Everything is exact `Decimal` arithmetic; the only rounding is the tax's, half away from
//! zero to two decimals (`model::money::round_commercial`), which is the round-half-up of the
//! spec for the non-negative amounts of a closing. Tolerances are those the spec gives for
//! the rounding of per-row scorporo: ±0.01 per row, 0.02 per row for the day. Checks the spec
//! marks [UNCERTAIN] are warnings (see the catalog).

use rust_decimal::Decimal;

use super::{Closing, Finding, Row, RowKind};
use crate::model::money::round_commercial;

/// 0.01, one cent.
const CENT: Decimal = Decimal::from_parts(1, 0, 0, false, 2);
/// 0.02, the day check's tolerance per Riepilogo row.
const TWO_CENTS: Decimal = Decimal::from_parts(2, 0, 0, false, 2);

/// The components of Ammontare that are certain (spec §1.4).
const COMPONENTS: &[&str] = &[
    "ImportoParziale",
    "TotaleAmmontareResi",
    "TotaleAmmontareAnnulli",
    "BeniInSospeso",
    "NonRiscossoServizi",
    "NonRiscossoFatture",
    "NonRiscossoDCRaSSN",
];

/// Components whose place in the identity is [UNCERTAIN]: every combination is accepted.
const MAYBE_COMPONENTS: &[&str] = &["NonRiscossoOmaggio", "TotaleDaFattureRT"];

/// The amounts not collected on the day, added to the payments in the day check.
const UNCOLLECTED: &[&str] = &[
    "BeniInSospeso",
    "NonRiscossoDCRaSSN",
    "NonRiscossoFatture",
    "NonRiscossoServizi",
    "NonRiscossoOmaggio",
];

/// Runs RTX050–RTX053 on the values read.
pub(super) fn check(c: &Closing, out: &mut Vec<Finding>) {
    for row in &c.rows {
        components(row, out);
        tax(row, out);
    }
    day(c, out);
}

fn sum(values: impl IntoIterator<Item = Decimal>) -> Option<Decimal> {
    crate::model::money::checked_sum(values)
}

/// RTX050: Ammontare = ImportoParziale + resi + annulli + non-riscosso parts.
fn components(row: &Row, out: &mut Vec<Finding>) {
    let (Some(ammontare), Some(_)) = (row.ammontare, row.part("ImportoParziale")) else {
        return;
    };
    let present: Vec<(&str, Decimal)> = COMPONENTS
        .iter()
        .filter_map(|n| row.part(n).map(|v| (*n, v)))
        .collect();
    let Some(base) = sum(present.iter().map(|(_, v)| *v)) else {
        return;
    };
    let maybe: Vec<(&str, Decimal)> = MAYBE_COMPONENTS
        .iter()
        .filter_map(|n| row.part(n).map(|v| (*n, v)))
        .collect();
    // Every subset of the uncertain components: with two of them, four candidates.
    let candidates: Vec<Decimal> = (0..1usize << maybe.len())
        .filter_map(|mask| {
            let extra = maybe
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, (_, v))| *v);
            sum(std::iter::once(base).chain(extra))
        })
        .collect();
    if candidates.iter().any(|c| (ammontare - *c).abs() <= CENT) {
        return;
    }
    let terms: Vec<String> = present.iter().map(|(n, v)| format!("{n} {v}")).collect();
    let mut expected = format!("Ammontare = {base} = {} (±0.01)", terms.join(" + "));
    for (n, v) in &maybe {
        expected += &format!(", or with {n} {v}");
    }
    out.push(Finding::new(
        "RTX050",
        format!("{}/Ammontare", row.path),
        Some(row.line),
        expected,
        format!("Ammontare {ammontare}"),
    ));
}

/// RTX051 (on ImportoParziale) and RTX052 (on Ammontare, 6.0 rows without it).
fn tax(row: &Row, out: &mut Vec<Finding>) {
    let (Some(RowKind::Iva(rate)), Some(imposta)) = (&row.kind, row.imposta) else {
        return;
    };
    let (code, name, base) = match (row.part("ImportoParziale"), row.ammontare) {
        (Some(ip), _) => ("RTX051", "ImportoParziale", ip),
        (None, Some(a)) => ("RTX052", "Ammontare", a),
        (None, None) => return,
    };
    let Some(exact) = base
        .checked_mul(*rate)
        .and_then(|v| v.checked_div(Decimal::ONE_HUNDRED))
    else {
        return;
    };
    let want = round_commercial(exact, 2);
    if (imposta - want).abs() <= CENT {
        return;
    }
    out.push(Finding::new(
        code,
        format!("{}/IVA/Imposta", row.path),
        Some(row.line),
        format!(
            "{want} = round half up ({name} {base} × {rate} / 100 = {}) ±0.01",
            exact.normalize()
        ),
        format!("Imposta {imposta}"),
    ));
}

/// RTX053: Σ Ammontare × (1 + a/100) = payments + Σ uncollected × (1 + a/100).
fn day(c: &Closing, out: &mut Vec<Finding>) {
    let Some(t) = &c.totals else {
        return;
    };
    // Totali with NumeroDocCommerciali only says nothing about payments (6.0-era devices
    // moving to 7.0 write it so): there is nothing to compare with.
    if t.payments.is_empty() || c.rows.is_empty() {
        return;
    }
    if c.rows
        .iter()
        .any(|r| r.kind.is_none() || r.ammontare.is_none())
    {
        return;
    }
    let gross = |r: &Row, v: Decimal| -> Option<Decimal> {
        let factor = Decimal::ONE.checked_add(r.rate().checked_div(Decimal::ONE_HUNDRED)?)?;
        v.checked_mul(factor)
    };
    let sales: Option<Vec<Decimal>> = c
        .rows
        .iter()
        .map(|r| gross(r, r.ammontare.unwrap_or_default()))
        .collect();
    let uncollected: Option<Vec<Decimal>> = c
        .rows
        .iter()
        .flat_map(|r| {
            UNCOLLECTED
                .iter()
                .filter_map(move |n| r.part(n).map(|v| (r, v)))
        })
        .map(|(r, v)| gross(r, v))
        .collect();
    let (Some(sales), Some(uncollected)) = (sales.and_then(sum), uncollected.and_then(sum)) else {
        return;
    };
    let Some(paid) = sum(t.payments.iter().map(|(_, v)| *v)) else {
        return;
    };
    let Some(settled) = paid.checked_add(uncollected) else {
        return;
    };
    let tolerance = TWO_CENTS * Decimal::from(c.rows.len());
    if (sales - settled).abs() <= tolerance {
        return;
    }
    let payments: Vec<String> = t.payments.iter().map(|(n, v)| format!("{n} {v}")).collect();
    out.push(Finding::new(
        "RTX053",
        &t.path,
        Some(t.line),
        format!(
            "Σ Ammontare × (1 + AliquotaIVA/100) = {} (±{tolerance})",
            sales.normalize()
        ),
        format!(
            "payments {paid} ({}) + uncollected {} = {}",
            payments.join(", "),
            uncollected.normalize(),
            settled.normalize()
        ),
    ));
}

#[cfg(test)]
mod tests {
    use super::super::{Closing, Finding, Row, RowKind, Totals};
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn row(
        kind: RowKind,
        imposta: Option<&str>,
        ammontare: &str,
        parts: &[(&'static str, &str)],
    ) -> Row {
        Row {
            path: "/p:DatiCorrispettivi/DatiRT/Riepilogo".into(),
            line: 7,
            kind: Some(kind),
            imposta: imposta.map(d),
            ammontare: Some(d(ammontare)),
            rif_normativo: None,
            parts: parts.iter().map(|(n, v)| (*n, d(v))).collect(),
            codice_attivita: None,
        }
    }

    fn run(c: &Closing) -> Vec<Finding> {
        let mut out = Vec::new();
        check(c, &mut out);
        out
    }

    /// The annotated example of spec §5: three rows, cash 301.50, card 623.50, 55.00 of
    /// services not collected. Every identity holds.
    fn spec_example() -> Closing {
        Closing {
            rows: vec![
                row(
                    RowKind::Iva(d("22.00")),
                    Some("103.40"),
                    "500.00",
                    &[
                        ("ImportoParziale", "470.00"),
                        ("TotaleAmmontareResi", "10.00"),
                        ("TotaleAmmontareAnnulli", "20.00"),
                    ],
                ),
                row(
                    RowKind::Iva(d("10.00")),
                    Some("25.00"),
                    "300.00",
                    &[
                        ("ImportoParziale", "250.00"),
                        ("NonRiscossoServizi", "50.00"),
                    ],
                ),
                row(
                    RowKind::Natura("N4".into()),
                    None,
                    "40.00",
                    &[("ImportoParziale", "40.00")],
                ),
            ],
            totals: Some(Totals {
                path: "/p:DatiCorrispettivi/DatiRT/Totali".into(),
                line: 30,
                numero_doc_commerciali: Some(57),
                payments: vec![
                    ("PagatoContanti", d("301.50")),
                    ("PagatoElettronico", d("623.50")),
                ],
                numero_ticket: None,
            }),
            ..Closing::default()
        }
    }

    #[test]
    fn spec_example_balances() {
        assert_eq!(run(&spec_example()), vec![]);
    }

    #[test]
    fn components_must_add_up_and_the_uncertain_ones_may_count() {
        let mut c = spec_example();
        c.rows[0].ammontare = Some(d("500.02"));
        let found = run(&c);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].code, "RTX050");
        assert_eq!(
            found[0].expected,
            "Ammontare = 500.00 = ImportoParziale 470.00 + TotaleAmmontareResi 10.00 + TotaleAmmontareAnnulli 20.00 (±0.01)"
        );
        assert_eq!(found[0].found, "Ammontare 500.02");
        assert_eq!(
            found[0].path,
            "/p:DatiCorrispettivi/DatiRT/Riepilogo/Ammontare"
        );
        // The day still balances: 500.02 × 1.22 is 0.0244 more, within 3 × 0.02.
        // Within a cent passes; an omaggio that closes the gap passes.
        c.rows[0].ammontare = Some(d("500.01"));
        assert_eq!(run(&c), vec![]);
        c.rows[0].ammontare = Some(d("505.00"));
        c.rows[0].parts.push(("NonRiscossoOmaggio", d("5.00")));
        assert!(run(&c).iter().all(|f| f.code != "RTX050"));
    }

    /// 10.00 gross at 22 % (the CNR sample RT_7CIMG990005): scorporo gives 1.80 tax on 8.20.
    #[test]
    fn tax_is_checked_on_importo_parziale_and_on_ammontare_without_it() {
        let six = Closing {
            rows: vec![row(RowKind::Iva(d("22.00")), Some("1.80"), "8.20", &[])],
            ..Closing::default()
        };
        assert_eq!(run(&six), vec![]);
        let mut wrong = six.clone();
        wrong.rows[0].imposta = Some(d("1.82"));
        let found = run(&wrong);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "RTX052");
        assert_eq!(
            found[0].expected,
            "1.80 = round half up (Ammontare 8.20 × 22.00 / 100 = 1.804) ±0.01"
        );
        assert_eq!(found[0].severity, crate::model::Severity::Warning);
        // With ImportoParziale (7.0) the same error is RTX051, an error.
        wrong.rows[0].parts.push(("ImportoParziale", d("8.20")));
        let found = run(&wrong);
        assert_eq!(found.iter().map(|f| f.code).collect::<Vec<_>>(), ["RTX051"]);
        assert_eq!(found[0].severity, crate::model::Severity::Error);
    }

    /// Half up, not half even: 0.125 rounds to 0.13. 12.50 at 1 % is 0.125.
    #[test]
    fn tax_rounds_half_up() {
        let c = |imposta: &str| Closing {
            rows: vec![row(
                RowKind::Iva(d("1.00")),
                Some(imposta),
                "12.50",
                &[("ImportoParziale", "12.50")],
            )],
            ..Closing::default()
        };
        // 0.14 is within a cent of 0.13 (half up) but not of 0.12 (half even).
        assert_eq!(run(&c("0.14")), vec![]);
        assert_eq!(
            run(&c("0.11"))[0].expected,
            "0.13 = round half up (ImportoParziale 12.50 × 1.00 / 100 = 0.125) ±0.01"
        );
    }

    #[test]
    fn day_check_needs_payments_and_reports_both_sides() {
        let mut c = spec_example();
        c.totals.as_mut().unwrap().payments = vec![("PagatoContanti", d("301.50"))];
        let found = run(&c);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, "RTX053");
        assert_eq!(
            found[0].expected,
            "Σ Ammontare × (1 + AliquotaIVA/100) = 980 (±0.06)"
        );
        assert_eq!(
            found[0].found,
            "payments 301.50 (PagatoContanti 301.50) + uncollected 55 = 356.5"
        );
        // No payment element at all: nothing to compare with.
        c.totals.as_mut().unwrap().payments.clear();
        assert_eq!(run(&c), vec![]);
    }
}
