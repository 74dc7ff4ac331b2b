//! Renders a [`Report`] as HTML, Markdown and JSON.
//!
//! The HTML and the Markdown come from the templates in `templates/report/`, compiled into
//! the binary so that a report never depends on files beside it. Both get the same context:
//! the report as it serialises to report.json (amounts as exact decimal strings) under
//! `report`, and for the HTML the charts, drawn here as inline SVG (`charts`). The HTML has
//! no script and no external asset: it opens from disk, in a mail client, or printed to PDF.

use minijinja::value::Serde;
use minijinja::{Environment, Value, context};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::benford::BenfordResult;
use super::model::{Bucket, Report};
use super::svg::{self, Bar, BarChart, LineChart, Point, Series};

const HTML: &str = include_str!("../../templates/report/report.html.j2");
const MARKDOWN: &str = include_str!("../../templates/report/report.md.j2");

/// A template failed to render (a defect of the templates, never of the data).
#[derive(Debug, thiserror::Error)]
#[error("rendering the {what} report: {source:#}")]
pub struct Error {
    what: &'static str,
    source: minijinja::Error,
}

fn env() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    // A name the report does not have is a template defect the tests must see, not an empty
    // cell; only `if` and `or` may test for an optional field.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()?,
    );
    env.add_template("report.html", HTML)?;
    env.add_template("report.md", MARKDOWN)?;
    env.add_filter("pct", pct);
    env.add_filter("md", md_cell);
    env.add_filter("rate", rate);
    Ok(env)
}

/// A VAT key as a percentage (`0.19` → `19 %`); `untaxed` and `tip` as they are.
fn rate(key: String) -> String {
    match key.parse::<Decimal>() {
        Ok(d) => format!("{} %", (d * Decimal::ONE_HUNDRED).normalize()),
        Err(_) => key,
    }
}

/// A fraction as a percentage with one decimal (`0.301` → `30.1 %`).
fn pct(v: Value) -> String {
    match f64::try_from(v) {
        Ok(f) if f.is_finite() => format!("{:.1} %", f * 100.0),
        _ => "–".to_string(),
    }
}

/// Text safe in a Markdown table cell: pipes escaped, line breaks flattened.
fn md_cell(v: Value) -> String {
    let s = match v.as_str() {
        Some(s) => s.to_string(),
        None if v.is_none() || v.is_undefined() => String::new(),
        None => v.to_string(),
    };
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// The self-contained HTML report.
pub fn html(report: &Report) -> Result<String, Error> {
    let charts = charts(report);
    env()
        .and_then(|e| {
            let t = e.get_template("report.html")?;
            t.render(context! {
                report => Value::from(Serde(report)),
                charts => charts,
            })
        })
        .map_err(|source| Error {
            what: "HTML",
            source,
        })
}

/// The Markdown report.
pub fn markdown(report: &Report) -> Result<String, Error> {
    env()
        .and_then(|e| {
            e.get_template("report.md")?
                .render(context! { report => Value::from(Serde(report)) })
        })
        .map_err(|source| Error {
            what: "Markdown",
            source,
        })
}

/// report.json: the report as it is, pretty, with a final newline.
pub fn json(report: &Report) -> Vec<u8> {
    crate::fsutil::pretty_json(report)
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// The charts, by name, as safe HTML strings.
fn charts(r: &Report) -> std::collections::BTreeMap<&'static str, Value> {
    let mut out = std::collections::BTreeMap::new();
    let mut put = |name: &'static str, svg: String| {
        out.insert(name, Value::from_safe_string(svg));
    };
    for section in &r.analytics.benford {
        let (first, two) = match section.subject {
            "receipts" => (
                "benford-receipts-first-digit",
                "benford-receipts-first-two-digits",
            ),
            _ => (
                "benford-lines-first-digit",
                "benford-lines-first-two-digits",
            ),
        };
        put(
            first,
            benford_chart(first, &section.first_digit, section.subject),
        );
        put(
            two,
            benford_chart(two, &section.first_two_digits, section.subject),
        );
    }
    let series: Vec<Series> = r
        .cash
        .series
        .iter()
        .map(|s| Series {
            name: s.register.clone(),
            points: s
                .points
                .iter()
                .map(|(day, diff)| Point {
                    x: day.clone(),
                    y: f(*diff),
                    text: diff.to_string(),
                })
                .collect(),
        })
        .collect();
    put(
        "cash-difference",
        svg::line_chart(&LineChart {
            id: "cash-difference",
            title: "Counted − expected cash per day",
            y_label: "difference",
            series: &series,
            width: 860,
            height: 300,
        }),
    );
    put(
        "sales-by-hour",
        buckets_chart(
            "sales-by-hour",
            "Completed sales per hour",
            &r.analytics.sales_by_hour,
            |k| format!("{k:02}"),
        ),
    );
    put(
        "sales-by-weekday",
        buckets_chart(
            "sales-by-weekday",
            "Completed sales per weekday",
            &r.analytics.sales_by_weekday,
            |k| {
                ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][usize::from(k.clamp(1, 7) - 1)]
                    .to_string()
            },
        ),
    );
    // Revenue per day of the currency with the most revenue (the others are in the tables).
    let main = r
        .money
        .currencies
        .iter()
        .max_by(|a, b| {
            a.1.revenue
                .gross
                .abs()
                .cmp(&b.1.revenue.gross.abs())
                .then(b.0.cmp(a.0))
        })
        .map(|(c, _)| c.clone())
        .unwrap_or_default();
    let bars: Vec<Bar> = r
        .money
        .days
        .iter()
        .filter(|d| d.currency == main)
        .map(|d| Bar {
            label: d.day.clone(),
            value: f(d.totals.revenue.gross),
            value_text: format!("{} {main}", d.totals.revenue.gross),
            expected: None,
            highlight: false,
        })
        .collect();
    let title = format!("Gross revenue per {} ({main})", r.money.granularity);
    put(
        "revenue",
        svg::bar_chart(&BarChart {
            id: "revenue",
            title: &title,
            y_label: &main,
            bars: &bars,
            width: 860,
            height: 260,
            percent: false,
            highlight_label: "",
        }),
    );
    out
}

fn benford_chart(id: &str, r: &BenfordResult, subject: &str) -> String {
    let bars: Vec<Bar> = r
        .digits
        .iter()
        .map(|(d, row)| Bar {
            label: d.to_string(),
            value: row.observed_proportion,
            value_text: format!(
                "{} of {} ({:.1} %, expected {:.1} %, z = {:.2})",
                row.observed,
                r.n,
                row.observed_proportion * 100.0,
                row.expected_proportion * 100.0,
                row.z
            ),
            expected: Some(row.expected_proportion),
            highlight: row.significant,
        })
        .collect();
    let what = if subject == "receipts" {
        "receipt totals"
    } else {
        "line amounts"
    };
    let title = if r.digits.len() == 9 {
        format!("First digits of {what} (n = {})", r.n)
    } else {
        format!("First two digits of {what} (n = {})", r.n)
    };
    svg::bar_chart(&BarChart {
        id,
        title: &title,
        y_label: "share",
        bars: &bars,
        width: if r.digits.len() == 9 { 420 } else { 860 },
        height: 260,
        percent: true,
        highlight_label: "z > 1.96",
    })
}

fn buckets_chart(
    id: &str,
    title: &str,
    buckets: &[Bucket],
    label: impl Fn(u8) -> String,
) -> String {
    let bars: Vec<Bar> = buckets
        .iter()
        .map(|b| Bar {
            label: label(b.key),
            value: b.sales.count as f64,
            value_text: format!("{} sales, gross {}", b.sales.count, b.sales.gross),
            expected: None,
            highlight: false,
        })
        .collect();
    svg::bar_chart(&BarChart {
        id,
        title,
        y_label: "sales",
        bars: &bars,
        width: if buckets.len() > 10 { 560 } else { 300 },
        height: 220,
        percent: false,
        highlight_label: "",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Operation, OperationKind, Timestamp};
    use crate::report::build::{Accumulator, Produced};
    use crate::report::findings::FindingSummary;
    use crate::report::summary::InputSummary;

    /// A report over one sale at a register whose id is markup.
    fn hostile() -> Report {
        let mut op = Operation::bare("op|1", OperationKind::Sale);
        op.register_id = Some("<script>alert(1)</script>|x".into());
        op.timestamps.completed = Timestamp::parse("2026-03-02T10:00:00+01:00");
        let mut input = InputSummary::default();
        input.add(&op);
        input.finish();
        let mut acc = Accumulator::new(5);
        acc.push(&op);
        acc.finish(Produced {
            input: &input,
            findings: &FindingSummary::default(),
            sessions: &[],
            closings: Vec::new(),
            inputs: None,
            exports: Vec::new(),
            failed_exports: 0,
        })
        .expect("nothing parked")
    }

    #[test]
    fn data_is_escaped_in_html_and_markdown() {
        let r = hostile();
        let page = html(&r).unwrap();
        assert!(
            !page.contains("<script>"),
            "markup from the data reached the page"
        );
        assert!(page.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;|x"));
        let md = markdown(&r).unwrap();
        assert!(md.contains("| <script>alert(1)</script>\\|x |"), "{md}");
    }

    #[test]
    fn vat_keys_read_as_percentages() {
        assert_eq!(rate("0.19".into()), "19 %");
        assert_eq!(rate("0.055".into()), "5.5 %");
        assert_eq!(rate("0".into()), "0 %");
        assert_eq!(rate("untaxed".into()), "untaxed");
        assert_eq!(pct(Value::from(0.301)), "30.1 %");
        assert_eq!(pct(Value::from(f64::NAN)), "–");
        assert_eq!(md_cell(Value::from("a|b\nc")), "a\\|b c");
    }

    #[test]
    fn an_empty_report_renders_every_section() {
        let r = hostile();
        let page = html(&r).unwrap();
        for id in [
            "scope",
            "findings",
            "money",
            "closings",
            "cash",
            "devices",
            "analytics",
            "exports",
        ] {
            assert!(page.contains(&format!("<section id=\"{id}\">")), "{id}");
        }
        assert!(page.contains("No findings."));
        assert!(page.contains("The inputs were not hashed for this report."));
    }
}
