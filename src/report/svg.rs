//! Inline SVG charts for the audit report: bar charts ([`bar_chart`]) and line charts
//! ([`line_chart`]).
//!
//! The report is one self-contained HTML file without JavaScript that has to print well to PDF,
//! so every chart is a complete `<svg>` element written straight into the page: no external
//! fonts, images or scripts, and nothing that only shows on hover. The exact value of every
//! bar and point is in its `<title>` child (a tooltip on screen, read by screen readers) and in
//! its `data-value` attribute (for tests and the browser test, which find them in the DOM).
//!
//! # Numbers
//!
//! Amounts stay `Decimal` everywhere else in fiskal; a chart only needs positions, so callers
//! convert to `f64` for drawing and pass the exact text beside it (`value_text`, `text`). That
//! text is what the chart shows and reports; the float only decides where things are drawn.
//! A value that is NaN or infinite is drawn as 0, and one beyond ±10^18 (the analytics'
//! largest amount) at that bound. Every coordinate is written by one function with at most two
//! decimals, so the output never holds `NaN`, `inf` or exponent notation, and the same input
//! always gives the same bytes.
//!
//! # Styling
//!
//! Colours and strokes are SVG presentation attributes, which any CSS rule overrides, so the
//! report's stylesheet can restyle every chart through these classes:
//!
//! | class | element |
//! |---|---|
//! | `chart` | the root `<svg>` (also `data-chart="{id}"`) |
//! | `chart-title` | the visible title |
//! | `chart-grid` | a horizontal gridline (`data-tick` holds the tick label) |
//! | `chart-tick` | a y tick label |
//! | `chart-y-label` | the rotated y axis label |
//! | `chart-zero` | the zero line |
//! | `chart-x-label` | an x label (only every k-th is drawn when they would overlap) |
//! | `chart-bar` | a bar (`<rect>`, `data-label`, `data-value`) |
//! | `chart-bar-highlight` | added to highlighted bars |
//! | `chart-expected-line` | the polyline joining the expected values |
//! | `chart-expected-mark` | the expected value over one bar (`data-expected`) |
//! | `chart-series` | the group of one line series (`data-series`) |
//! | `chart-line` | the polyline of a series |
//! | `chart-point` | a point (`<circle>`, `data-x`, `data-value`) |
//! | `chart-legend`, `chart-legend-item` | the legend and one entry of it |
//! | `chart-nodata` | the "no data" text of an empty chart |
//!
//! The root carries fixed `width` and `height` and a `viewBox`, so a stylesheet may set
//! `max-width: 100%; height: auto` and the chart scales. Text uses the system font stack; label
//! widths are estimated from the character count, since no font metrics are available here.
//!
//! Series colours come from a fixed palette of ten colours that stay distinguishable under
//! the common colour-vision deficiencies (Okabe and Ito's set without its yellow, which
//! vanishes on white paper, and three of Paul Tol's); from the eleventh series on the colours
//! repeat with a dash pattern.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// One bar of a [`BarChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// The category, shown under the bar and in its tooltip.
    pub label: String,
    /// Where the bar ends (drawing only; see `value_text`).
    pub value: f64,
    /// The exact value as the report states it, e.g. `30.4 %` or `1 234,50 EUR`.
    pub value_text: String,
    /// An expected value drawn as a mark over the bar (Benford's proportions).
    pub expected: Option<f64>,
    /// Drawn in the highlight colour (e.g. a digit whose z-test is significant).
    pub highlight: bool,
}

/// A vertical bar chart, one bar per category.
#[derive(Debug, Clone, Copy)]
pub struct BarChart<'a> {
    /// The chart's id: `data-chart` of the root and the prefix of its element ids.
    pub id: &'a str,
    /// The title, shown above the chart and read as its accessible name.
    pub title: &'a str,
    /// The label of the y axis (the unit, say).
    pub y_label: &'a str,
    /// The bars, left to right.
    pub bars: &'a [Bar],
    /// Width in CSS pixels (at least 200 is used).
    pub width: u32,
    /// Height in CSS pixels (at least 140 is used).
    pub height: u32,
    /// Whether values are proportions (0.301) whose ticks read as percentages (30%).
    pub percent: bool,
    /// What a highlighted bar means, for the legend (e.g. `significant (|z| > 1.96)`);
    /// `highlighted` when empty.
    pub highlight_label: &'a str,
}

/// One point of a [`Series`].
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The ordinal x position, e.g. an ISO date; x labels are ordered as strings.
    pub x: String,
    /// Where the point is drawn (drawing only; see `text`).
    pub y: f64,
    /// The exact value as the report states it.
    pub text: String,
}

/// One line of a [`LineChart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The series' name (e.g. a register id), in the legend and the tooltips.
    pub name: String,
    /// The points; those sharing an x share a column.
    pub points: Vec<Point>,
}

/// Several series over one shared ordinal x axis.
#[derive(Debug, Clone, Copy)]
pub struct LineChart<'a> {
    /// The chart's id: `data-chart` of the root and the prefix of its element ids.
    pub id: &'a str,
    /// The title, shown above the chart and read as its accessible name.
    pub title: &'a str,
    /// The label of the y axis (the unit, say).
    pub y_label: &'a str,
    /// The series; the n-th gets the n-th palette colour.
    pub series: &'a [Series],
    /// Width in CSS pixels (at least 200 is used).
    pub width: u32,
    /// Height in CSS pixels (at least 140 is used).
    pub height: u32,
}

/// Beyond this a value is drawn at the bound: `AMOUNT_LIMIT` of the analytics, and far
/// within what two-decimal formatting of an `f64` prints without exponent.
const LIMIT: f64 = 1e18;
/// Spans below this are treated as a single value: the axis would need absurd decimals.
const MIN_SPAN: f64 = 1e-9;

const FONT: &str =
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
const FONT_SIZE: f64 = 10.0;
const TITLE_SIZE: f64 = 12.0;
/// Average advance of a character in em, a little above that of digits and lower-case
/// letters in common sans-serif fonts, so estimates err towards more room.
const CHAR_EM: f64 = 0.62;
/// Room left between two x labels.
const LABEL_GAP: f64 = 6.0;
/// Longer labels are cut on the axis (the tooltip keeps them whole).
const MAX_LABEL_CHARS: usize = 20;
const MAX_LEGEND_CHARS: usize = 24;
const MAX_LEGEND_ROWS: usize = 3;

const MIN_WIDTH: u32 = 200;
const MIN_HEIGHT: u32 = 140;
const PAD: f64 = 8.0;
/// Where the legend starts: below the title's baseline.
const HEADER: f64 = 24.0;
const LEGEND_ROW: f64 = 16.0;

const TEXT: &str = "#222222";
const MUTED: &str = "#555555";
const GRID: &str = "#dddddd";
const AXIS: &str = "#444444";
const BAR_FILL: &str = "#0072B2";
const HIGHLIGHT_FILL: &str = "#D55E00";
const EXPECTED_STROKE: &str = "#000000";

const PALETTE: [&str; 10] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#882255",
    "#999933", "#332288",
];
const DASHES: [&str; 3] = ["", "6 3", "2 2"];

/// Renders a bar chart; an empty one says "no data".
pub fn bar_chart(c: &BarChart) -> String {
    if c.bars.is_empty() {
        return no_data(c.id, c.title, c.width);
    }
    let (w, h) = size(c.width, c.height);
    let values: Vec<f64> = c.bars.iter().map(|b| clean(b.value)).collect();
    let expected: Vec<Option<f64>> = c.bars.iter().map(|b| b.expected.map(clean)).collect();
    let any_expected = expected.iter().any(Option::is_some);
    let any_highlight = c.bars.iter().any(|b| b.highlight);
    let highlight_text = if c.highlight_label.is_empty() {
        "highlighted"
    } else {
        c.highlight_label
    };

    // Bars grow from zero, so zero is always on the axis.
    let all = values.iter().chain(expected.iter().flatten());
    let lo = all.clone().fold(0.0, |a, &v| f64::min(a, v));
    let hi = all.fold(0.0, |a, &v| f64::max(a, v));
    let ticks = nice_ticks(lo, hi);
    let tick_labels: Vec<String> = ticks.labels(c.percent);

    let mut legend = Vec::new();
    if any_expected || any_highlight {
        legend.push(LegendItem::new("observed", Swatch::Fill(BAR_FILL)));
    }
    if any_expected {
        legend.push(LegendItem::new("expected", Swatch::Mark(EXPECTED_STROKE)));
    }
    if any_highlight {
        legend.push(LegendItem::new(
            highlight_text,
            Swatch::Fill(HIGHLIGHT_FILL),
        ));
    }
    let legend = layout_legend(legend, w);

    let x_labels: Vec<String> = c
        .bars
        .iter()
        .map(|b| clip(&b.label, MAX_LABEL_CHARS))
        .collect();
    let plot = Plot::new(
        w,
        h,
        &tick_labels,
        c.y_label,
        &x_labels,
        legend.rows,
        &ticks,
    );
    let n = c.bars.len();
    let slot = plot.width() / n as f64;
    let bar_w = slot * 0.75;
    let zero = plot.y(0.0);

    let mut out = String::new();
    let desc = bar_desc(c, &values, any_expected, highlight_text);
    open(&mut out, c.id, c.title, &desc, w, h);
    y_axis(&mut out, &plot, &ticks, &tick_labels, c.y_label);

    out.push_str("<g class=\"chart-bars\">");
    for (i, (bar, &v)) in c.bars.iter().zip(&values).enumerate() {
        let x = plot.x0 + i as f64 * slot + (slot - bar_w) / 2.0;
        let y = plot.y(v);
        let (class, fill) = if bar.highlight {
            ("chart-bar chart-bar-highlight", HIGHLIGHT_FILL)
        } else {
            ("chart-bar", BAR_FILL)
        };
        let mut tip = format!("{}: {}", bar.label, bar.value_text);
        if let Some(e) = expected[i] {
            let _ = write!(tip, " (expected {})", value_label(e, c.percent));
        }
        if bar.highlight {
            let _ = write!(tip, " – {highlight_text}");
        }
        let _ = write!(
            out,
            "<rect class=\"{class}\" data-label=\"{}\" data-value=\"{}\" x=\"{}\" y=\"{}\" \
             width=\"{}\" height=\"{}\" fill=\"{fill}\"><title>{}</title></rect>",
            esc(&bar.label),
            esc(&bar.value_text),
            num(x),
            num(y.min(zero)),
            num(bar_w),
            num((y - zero).abs()),
            esc(&tip),
        );
    }
    out.push_str("</g>");
    zero_line(&mut out, &plot);

    if any_expected {
        expected_marks(&mut out, c, &expected, &plot, slot, bar_w);
    }
    x_axis_labels(&mut out, &plot, &x_labels, slot);
    legend.write(&mut out);
    out.push_str("</svg>");
    out
}

/// Renders a line chart over the union of all x labels, ordered as strings; a chart without
/// any point says "no data".
pub fn line_chart(c: &LineChart) -> String {
    let xs: Vec<&str> = c
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.x.as_str()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if xs.is_empty() {
        return no_data(c.id, c.title, c.width);
    }
    let column: BTreeMap<&str, usize> = xs.iter().enumerate().map(|(i, &x)| (x, i)).collect();
    let (w, h) = size(c.width, c.height);

    // Unlike bars, lines need not start at zero: a level far from it keeps its detail.
    let ys = c.series.iter().flat_map(|s| &s.points).map(|p| clean(p.y));
    let lo = ys.clone().fold(f64::INFINITY, f64::min);
    let hi = ys.fold(f64::NEG_INFINITY, f64::max);
    let ticks = nice_ticks(lo, hi);
    let tick_labels = ticks.labels(false);

    let items = c
        .series
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.points.is_empty())
        .map(|(i, s)| {
            let (colour, dash) = series_style(i);
            LegendItem::new(&s.name, Swatch::Line(colour, dash))
        })
        .collect();
    let legend = layout_legend(items, w);

    let x_labels: Vec<String> = xs.iter().map(|x| clip(x, MAX_LABEL_CHARS)).collect();
    let plot = Plot::new(
        w,
        h,
        &tick_labels,
        c.y_label,
        &x_labels,
        legend.rows,
        &ticks,
    );
    let slot = plot.width() / xs.len() as f64;
    let radius = (slot * 0.3).clamp(1.5, 3.0);

    let mut out = String::new();
    open(&mut out, c.id, c.title, &line_desc(c, &xs), w, h);
    y_axis(&mut out, &plot, &ticks, &tick_labels, c.y_label);
    if ticks.lo() <= 0.0 && ticks.hi() >= 0.0 {
        zero_line(&mut out, &plot);
    }
    for (i, s) in c.series.iter().enumerate() {
        if s.points.is_empty() {
            continue;
        }
        let (colour, dash) = series_style(i);
        let mut points: Vec<(usize, &Point)> =
            s.points.iter().map(|p| (column[p.x.as_str()], p)).collect();
        // Stable, so points sharing an x keep the caller's order.
        points.sort_by_key(|&(col, _)| col);
        let at = |col: usize, p: &Point| (plot.x0 + (col as f64 + 0.5) * slot, plot.y(p.y));

        let _ = write!(
            out,
            "<g class=\"chart-series\" data-series=\"{}\">",
            esc(&s.name)
        );
        if points.len() > 1 {
            let line: Vec<String> = points
                .iter()
                .map(|&(col, p)| {
                    let (x, y) = at(col, p);
                    format!("{},{}", num(x), num(y))
                })
                .collect();
            let _ = write!(
                out,
                "<polyline class=\"chart-line\" points=\"{}\" fill=\"none\" stroke=\"{colour}\" \
                 stroke-width=\"1.5\" stroke-linejoin=\"round\"{}/>",
                line.join(" "),
                dash_attr(dash),
            );
        }
        for &(col, p) in &points {
            let (x, y) = at(col, p);
            let _ = write!(
                out,
                "<circle class=\"chart-point\" data-x=\"{}\" data-value=\"{}\" cx=\"{}\" \
                 cy=\"{}\" r=\"{}\" fill=\"{colour}\"><title>{}</title></circle>",
                esc(&p.x),
                esc(&p.text),
                num(x),
                num(y),
                num(radius),
                esc(&format!("{} · {}: {}", s.name, p.x, p.text)),
            );
        }
        out.push_str("</g>");
    }
    x_axis_labels(&mut out, &plot, &x_labels, slot);
    legend.write(&mut out);
    out.push_str("</svg>");
    out
}

fn series_style(i: usize) -> (&'static str, &'static str) {
    (
        PALETTE[i % PALETTE.len()],
        DASHES[(i / PALETTE.len()) % DASHES.len()],
    )
}

fn dash_attr(dash: &str) -> String {
    if dash.is_empty() {
        String::new()
    } else {
        format!(" stroke-dasharray=\"{dash}\"")
    }
}

/// The expected values: a short thick mark over each bar, so each can be read against its
/// bar, and a thin line joining them, so the expected shape reads at a glance.
fn expected_marks(
    out: &mut String,
    c: &BarChart,
    expected: &[Option<f64>],
    plot: &Plot,
    slot: f64,
    bar_w: f64,
) {
    out.push_str("<g class=\"chart-expected\">");
    let mark_w = (bar_w + 4.0).min(slot);
    // A bar without an expected value breaks the line.
    let mut runs: Vec<Vec<String>> = vec![Vec::new()];
    for (i, e) in expected.iter().enumerate() {
        match e {
            Some(e) => {
                let cx = plot.x0 + (i as f64 + 0.5) * slot;
                if let Some(run) = runs.last_mut() {
                    run.push(format!("{},{}", num(cx), num(plot.y(*e))));
                }
            }
            None => runs.push(Vec::new()),
        }
    }
    for run in runs.iter().filter(|r| r.len() > 1) {
        let _ = write!(
            out,
            "<polyline class=\"chart-expected-line\" points=\"{}\" fill=\"none\" \
             stroke=\"{EXPECTED_STROKE}\" stroke-width=\"1\"/>",
            run.join(" ")
        );
    }
    for (i, (bar, e)) in c.bars.iter().zip(expected).enumerate() {
        let Some(e) = *e else { continue };
        let cx = plot.x0 + (i as f64 + 0.5) * slot;
        let y = num(plot.y(e));
        let text = value_label(e, c.percent);
        let _ = write!(
            out,
            "<line class=\"chart-expected-mark\" data-label=\"{}\" data-expected=\"{}\" \
             x1=\"{}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"{EXPECTED_STROKE}\" \
             stroke-width=\"2.5\"><title>{}</title></line>",
            esc(&bar.label),
            esc(&text),
            num(cx - mark_w / 2.0),
            num(cx + mark_w / 2.0),
            esc(&format!("{}: expected {text}", bar.label)),
        );
    }
    out.push_str("</g>");
}

fn bar_desc(c: &BarChart, values: &[f64], any_expected: bool, highlight_text: &str) -> String {
    let mut desc = format!("{} bars", c.bars.len());
    if !c.y_label.is_empty() {
        let _ = write!(desc, " of {}", c.y_label);
    }
    desc.push('.');
    // First of equal values, so the description does not depend on float ties.
    let max = (0..values.len()).fold(0, |m, i| if values[i] > values[m] { i } else { m });
    let min = (0..values.len()).fold(0, |m, i| if values[i] < values[m] { i } else { m });
    let _ = write!(
        desc,
        " Highest: {} ({}). Lowest: {} ({}).",
        c.bars[max].label, c.bars[max].value_text, c.bars[min].label, c.bars[min].value_text
    );
    if any_expected {
        desc.push_str(" Expected values are marked over the bars.");
    }
    let marked: Vec<&str> = c
        .bars
        .iter()
        .filter(|b| b.highlight)
        .map(|b| b.label.as_str())
        .collect();
    if !marked.is_empty() {
        let _ = write!(desc, " {highlight_text}: {}", list(&marked));
        desc.push('.');
    }
    desc
}

fn line_desc(c: &LineChart, xs: &[&str]) -> String {
    let drawn = c.series.iter().filter(|s| !s.points.is_empty()).count();
    let mut desc = format!(
        "{drawn} series over {} x values from {} to {}",
        xs.len(),
        xs[0],
        xs[xs.len() - 1]
    );
    if !c.y_label.is_empty() {
        let _ = write!(desc, "; y: {}", c.y_label);
    }
    desc.push('.');
    let points: Vec<&Point> = c.series.iter().flat_map(|s| &s.points).collect();
    let max = points.iter().fold(
        points[0],
        |m, p| if clean(p.y) > clean(m.y) { p } else { m },
    );
    let min = points.iter().fold(
        points[0],
        |m, p| if clean(p.y) < clean(m.y) { p } else { m },
    );
    let _ = write!(
        desc,
        " Lowest: {} ({}). Highest: {} ({}).",
        min.text, min.x, max.text, max.x
    );
    desc
}

/// The first ten items, then how many more: a description is read aloud.
fn list(items: &[&str]) -> String {
    let mut s = items
        .iter()
        .take(10)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > 10 {
        let _ = write!(s, " and {} more", items.len() - 10);
    }
    s
}

fn size(width: u32, height: u32) -> (f64, f64) {
    (
        f64::from(width.max(MIN_WIDTH)),
        f64::from(height.max(MIN_HEIGHT)),
    )
}

/// The root element, its accessible name and description, and the visible title.
fn open(out: &mut String, id: &str, title: &str, desc: &str, w: f64, h: f64) {
    let dom = dom_id(id);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" data-chart=\"{}\" \
         viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" \
         aria-labelledby=\"{dom}-title {dom}-desc\" font-family=\"{FONT}\" \
         font-size=\"{FONT_SIZE}\"><title id=\"{dom}-title\">{}</title>\
         <desc id=\"{dom}-desc\">{}</desc>",
        esc(id),
        esc(title),
        esc(desc),
    );
    if !title.is_empty() {
        let _ = write!(
            out,
            "<text class=\"chart-title\" x=\"{PAD}\" y=\"16\" font-size=\"{TITLE_SIZE}\" \
             font-weight=\"600\" fill=\"{TEXT}\">{}</text>",
            esc(title)
        );
    }
}

fn no_data(id: &str, title: &str, width: u32) -> String {
    let w = f64::from(width.max(MIN_WIDTH));
    let h = 60.0;
    let mut out = String::new();
    open(&mut out, id, title, "no data", w, h);
    let _ = write!(
        out,
        "<text class=\"chart-nodata\" x=\"{}\" y=\"42\" text-anchor=\"middle\" \
         fill=\"{MUTED}\">no data</text></svg>",
        num(w / 2.0)
    );
    out
}

/// An id usable in `id` and `aria-labelledby` (a space would split the reference).
fn dom_id(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        s
    } else {
        format!("chart-{s}")
    }
}

/// The plot area and the value range it shows.
struct Plot {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    lo: f64,
    hi: f64,
}

impl Plot {
    fn new(
        w: f64,
        h: f64,
        tick_labels: &[String],
        y_label: &str,
        x_labels: &[String],
        legend_rows: usize,
        ticks: &Ticks,
    ) -> Plot {
        let widest_tick = tick_labels
            .iter()
            .map(|t| text_width(t))
            .fold(0.0, f64::max);
        let y_label_room = if y_label.is_empty() { 0.0 } else { 14.0 };
        // The first and last x labels are centred on their slots and must not be cut at the
        // edges.
        let widest_x = x_labels.iter().map(|t| text_width(t)).fold(0.0, f64::max);
        let left = (PAD + y_label_room + widest_tick + 6.0)
            .max(widest_x / 2.0)
            .min(w / 3.0);
        let right = (widest_x / 2.0).clamp(12.0, w / 4.0);
        let top = HEADER + legend_rows as f64 * LEGEND_ROW + 8.0;
        let bottom = PAD + 14.0;
        Plot {
            x0: left,
            x1: w - right,
            y0: top,
            y1: h - bottom,
            lo: ticks.lo(),
            hi: ticks.hi(),
        }
    }

    fn width(&self) -> f64 {
        self.x1 - self.x0
    }

    fn y(&self, v: f64) -> f64 {
        self.y1 - (clean(v) - self.lo) / (self.hi - self.lo) * (self.y1 - self.y0)
    }
}

fn y_axis(out: &mut String, plot: &Plot, ticks: &Ticks, labels: &[String], y_label: &str) {
    out.push_str("<g class=\"chart-y-axis\">");
    for (i, label) in labels.iter().enumerate() {
        let y = plot.y(ticks.value(i));
        let _ = write!(
            out,
            "<line class=\"chart-grid\" data-tick=\"{}\" x1=\"{}\" x2=\"{}\" y1=\"{y}\" \
             y2=\"{y}\" stroke=\"{GRID}\" stroke-width=\"1\"/>\
             <text class=\"chart-tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\" \
             fill=\"{MUTED}\">{}</text>",
            esc(label),
            num(plot.x0),
            num(plot.x1),
            num(plot.x0 - 4.0),
            num(y + FONT_SIZE * 0.35),
            esc(label),
            y = num(y),
        );
    }
    if !y_label.is_empty() {
        let x = num(PAD + FONT_SIZE * 0.8);
        let y = num((plot.y0 + plot.y1) / 2.0);
        let _ = write!(
            out,
            "<text class=\"chart-y-label\" x=\"{x}\" y=\"{y}\" transform=\"rotate(-90 {x} {y})\" \
             text-anchor=\"middle\" fill=\"{MUTED}\">{}</text>",
            esc(&clip(y_label, 40))
        );
    }
    out.push_str("</g>");
}

fn zero_line(out: &mut String, plot: &Plot) {
    let y = num(plot.y(0.0));
    let _ = write!(
        out,
        "<line class=\"chart-zero\" x1=\"{}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" \
         stroke=\"{AXIS}\" stroke-width=\"1\"/>",
        num(plot.x0),
        num(plot.x1),
    );
}

/// Labels every k-th slot, k chosen so that even the widest label keeps clear of the next.
fn x_axis_labels(out: &mut String, plot: &Plot, labels: &[String], slot: f64) {
    let step = label_step(labels, slot);
    out.push_str("<g class=\"chart-x-axis\">");
    for (i, label) in labels.iter().enumerate().step_by(step) {
        let _ = write!(
            out,
            "<text class=\"chart-x-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" \
             fill=\"{MUTED}\">{}</text>",
            num(plot.x0 + (i as f64 + 0.5) * slot),
            num(plot.y1 + 14.0),
            esc(label)
        );
    }
    out.push_str("</g>");
}

fn label_step(labels: &[String], slot: f64) -> usize {
    let widest = labels.iter().map(|l| text_width(l)).fold(0.0, f64::max) + LABEL_GAP;
    if slot <= 0.0 {
        return labels.len().max(1);
    }
    // Bounded by the label count, so the cast cannot overflow.
    ((widest / slot).ceil().min(labels.len() as f64) as usize).max(1)
}

fn text_width(s: &str) -> f64 {
    s.chars().count() as f64 * FONT_SIZE * CHAR_EM
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(max - 1).collect();
        c.push('…');
        c
    }
}

enum Swatch {
    Fill(&'static str),
    Mark(&'static str),
    Line(&'static str, &'static str),
}

struct LegendItem {
    text: String,
    swatch: Swatch,
}

impl LegendItem {
    fn new(text: &str, swatch: Swatch) -> LegendItem {
        LegendItem {
            text: clip(text, MAX_LEGEND_CHARS),
            swatch,
        }
    }

    fn width(&self) -> f64 {
        14.0 + 4.0 + text_width(&self.text) + 14.0
    }
}

/// A legend laid out in rows under the title.
struct Legend {
    /// Each item with its position: x and row.
    items: Vec<(LegendItem, f64, usize)>,
    /// Items left out for want of rows, said as "+N more".
    more: Option<(usize, f64, usize)>,
    rows: usize,
}

fn layout_legend(items: Vec<LegendItem>, w: f64) -> Legend {
    let right = w - PAD;
    let mut placed = Vec::new();
    let (mut x, mut row) = (PAD, 0);
    let total = items.len();
    for item in items {
        let iw = item.width();
        if x + iw > right && x > PAD {
            x = PAD;
            row += 1;
        }
        placed.push((item, x, row));
        x += iw;
    }
    let mut more = None;
    if row >= MAX_LEGEND_ROWS {
        placed.retain(|&(_, _, r)| r < MAX_LEGEND_ROWS);
        // Room on the last row for the count of what was left out.
        loop {
            let left_out = total - placed.len();
            let note = text_width(&format!("+{left_out} more"));
            let end = placed.last().map_or(PAD, |(i, x, _)| x + i.width());
            if end + note <= right || placed.is_empty() {
                more = Some((left_out, end, MAX_LEGEND_ROWS - 1));
                break;
            }
            placed.pop();
        }
    }
    let rows = if total == 0 {
        0
    } else {
        row.min(MAX_LEGEND_ROWS - 1) + 1
    };
    Legend {
        items: placed,
        more,
        rows,
    }
}

impl Legend {
    fn write(&self, out: &mut String) {
        if self.items.is_empty() && self.more.is_none() {
            return;
        }
        let row_y = |row: usize| HEADER + row as f64 * LEGEND_ROW;
        out.push_str("<g class=\"chart-legend\">");
        for (item, x, row) in &self.items {
            let top = row_y(*row);
            let _ = write!(
                out,
                "<g class=\"chart-legend-item\" data-series=\"{}\">",
                esc(&item.text)
            );
            let mid = num(top + 5.0);
            match item.swatch {
                Swatch::Fill(fill) => {
                    let _ = write!(
                        out,
                        "<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{fill}\"/>",
                        num(*x + 2.0),
                        num(top)
                    );
                }
                Swatch::Mark(stroke) => {
                    let _ = write!(
                        out,
                        "<line x1=\"{}\" x2=\"{}\" y1=\"{mid}\" y2=\"{mid}\" stroke=\"{stroke}\" \
                         stroke-width=\"2.5\"/>",
                        num(*x + 1.0),
                        num(*x + 13.0)
                    );
                }
                Swatch::Line(stroke, dash) => {
                    let _ = write!(
                        out,
                        "<line x1=\"{}\" x2=\"{}\" y1=\"{mid}\" y2=\"{mid}\" stroke=\"{stroke}\" \
                         stroke-width=\"2\"{}/>",
                        num(*x),
                        num(*x + 14.0),
                        dash_attr(dash)
                    );
                }
            }
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" fill=\"{TEXT}\">{}</text></g>",
                num(*x + 18.0),
                num(top + 9.0),
                esc(&item.text)
            );
        }
        if let Some((n, x, row)) = self.more {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" fill=\"{MUTED}\">+{n} more</text>",
                num(x),
                num(row_y(row) + 9.0)
            );
        }
        out.push_str("</g>");
    }
}

/// Axis ticks at multiples of a step of 1, 2 or 5 × 10^k: tick `i` is
/// `(first + i) · m · 10^k`, kept as integers so a tick is computed, not accumulated.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ticks {
    first: i64,
    intervals: usize,
    m: i64,
    k: i32,
}

/// The fewest ticks, at most six, that cover `lo..=hi`: the smallest step of 1, 2 or
/// 5 × 10^k that needs at most five intervals. Each larger step at most 2.5 times the one
/// before, so a range starting or ending at zero always gets four to six ticks.
fn nice_ticks(lo: f64, hi: f64) -> Ticks {
    let (a, b) = (clean(lo), clean(hi));
    let (mut lo, mut hi) = (a.min(b), a.max(b));
    if hi - lo < MIN_SPAN {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if hi - lo < MIN_SPAN {
        lo = 0.0;
        hi = 1.0;
    }
    // Float quotients like 0.3 / 0.1 = 2.9999999999999996 must not add an empty interval.
    const EPS: f64 = 1e-9;
    let mut k = ((hi - lo) / 50.0).log10().floor() as i32;
    loop {
        for m in [1, 2, 5] {
            let step = scaled(m, k);
            let first = (lo / step + EPS).floor();
            let last = (hi / step - EPS).ceil();
            if last - first <= 5.0 {
                return Ticks {
                    first: first as i64,
                    intervals: ((last - first) as usize).max(1),
                    m,
                    k,
                };
            }
        }
        k += 1;
    }
}

/// `n · 10^k`, dividing for negative k: 3 / 10 is the float nearest 0.3, 3 · 0.1 is not.
fn scaled(n: i64, k: i32) -> f64 {
    if k >= 0 {
        n as f64 * 10f64.powi(k)
    } else {
        n as f64 / 10f64.powi(-k)
    }
}

impl Ticks {
    fn value(&self, i: usize) -> f64 {
        scaled((self.first + i as i64) * self.m, self.k)
    }

    fn lo(&self) -> f64 {
        self.value(0)
    }

    fn hi(&self) -> f64 {
        self.value(self.intervals)
    }

    /// Labels with exactly the decimals the step needs, so 0.1 steps read 0.1, 0.2, …
    fn labels(&self, percent: bool) -> Vec<String> {
        let decimals = (-self.k).max(0) as usize;
        (0..=self.intervals)
            .map(|i| {
                let v = self.value(i);
                if percent {
                    format!("{:.*}%", decimals.saturating_sub(2), v * 100.0)
                } else {
                    format!("{v:.decimals$}")
                }
            })
            .collect()
    }
}

/// A value for a tooltip when the caller gave no text (the expected marks).
fn value_label(v: f64, percent: bool) -> String {
    if percent {
        format!("{}%", trim_decimals(format!("{:.1}", clean(v) * 100.0)))
    } else {
        num(v)
    }
}

/// Every number the SVG holds goes through here: at most two decimals, no exponent, no
/// `NaN`, no `-0`.
fn num(v: f64) -> String {
    let r = (clean(v) * 100.0).round() / 100.0;
    trim_decimals(format!("{r:.2}"))
}

fn trim_decimals(mut s: String) -> String {
    if s.contains('.') {
        let keep = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(keep);
    }
    if s == "-0" {
        s = "0".to_string();
    }
    s
}

fn clean(v: f64) -> f64 {
    if v.is_finite() {
        v.clamp(-LIMIT, LIMIT)
    } else {
        0.0
    }
}

/// Escapes text and attribute values alike. Tabs and line breaks become character
/// references so attribute values survive exactly (a parser would turn them into spaces),
/// and characters XML forbids (most control characters) become U+FFFD: labels come from
/// point-of-sale data and could hold anything.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}' => {
                out.push(c)
            }
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::XmlVersion;
    use quick_xml::events::Event;
    use quick_xml::reader::Reader;

    /// One element of a parsed chart: its attributes, its own text and its `<title>` child's.
    #[derive(Debug, Default)]
    struct El {
        name: String,
        attrs: BTreeMap<String, String>,
        text: String,
        title: Option<String>,
    }

    impl El {
        fn attr(&self, key: &str) -> &str {
            self.attrs
                .get(key)
                .unwrap_or_else(|| panic!("{} has no {key}", self.name))
        }

        fn f(&self, key: &str) -> f64 {
            self.attr(key).parse().unwrap()
        }

        fn has_class(&self, class: &str) -> bool {
            self.attrs
                .get("class")
                .is_some_and(|c| c.split(' ').any(|c| c == class))
        }
    }

    /// Reads every event, failing on anything not well-formed (mismatched tags, bad
    /// attributes, unknown entities), and returns the elements in document order.
    fn parse(svg: &str) -> Vec<El> {
        let mut reader = Reader::from_str(svg);
        let mut done: Vec<El> = Vec::new();
        let mut open: Vec<El> = Vec::new();
        let mut roots = 0;
        loop {
            let event = reader.read_event().unwrap_or_else(|e| panic!("{e}: {svg}"));
            let element = |e: &quick_xml::events::BytesStart| {
                let mut el = El {
                    name: e.name().as_ref().to_string(),
                    ..El::default()
                };
                for a in e.attributes() {
                    let a = a.unwrap();
                    let key = a.key.as_ref().to_string();
                    let value = a.normalized_value(XmlVersion::Implicit1_0).unwrap();
                    assert!(el.attrs.insert(key, value.into_owned()).is_none());
                }
                el
            };
            match event {
                Event::Start(e) => {
                    if open.is_empty() {
                        roots += 1;
                    }
                    open.push(element(&e));
                }
                Event::Empty(e) => {
                    assert!(!open.is_empty(), "content outside the root");
                    done.push(element(&e));
                }
                Event::End(_) => {
                    let el = open.pop().unwrap();
                    if el.name == "title" {
                        open.last_mut().unwrap().title = Some(el.text.clone());
                    }
                    done.push(el);
                }
                Event::Text(t) => {
                    let text = t.xml10_content();
                    match open.last_mut() {
                        Some(el) => el.text.push_str(&text),
                        None => assert!(text.trim().is_empty(), "text outside the root"),
                    }
                }
                Event::GeneralRef(r) => {
                    let c = match r.resolve_char_ref().unwrap() {
                        Some(c) => c.to_string(),
                        None => quick_xml::escape::resolve_predefined_entity(&r)
                            .unwrap_or_else(|| panic!("unknown entity {}", &*r))
                            .to_string(),
                    };
                    open.last_mut().unwrap().text.push_str(&c);
                }
                Event::Eof => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(open.is_empty());
        assert_eq!(roots, 1);
        // The root closes last; put it first.
        done.rotate_right(1);
        assert_eq!(done[0].name, "svg");
        done
    }

    fn with_class<'a>(els: &'a [El], class: &str) -> Vec<&'a El> {
        els.iter().filter(|e| e.has_class(class)).collect()
    }

    fn bar(label: &str, value: f64) -> Bar {
        Bar {
            label: label.to_string(),
            value,
            value_text: format!("{value}"),
            expected: None,
            highlight: false,
        }
    }

    fn chart<'a>(id: &'a str, bars: &'a [Bar]) -> BarChart<'a> {
        BarChart {
            id,
            title: "Title",
            y_label: "EUR",
            bars,
            width: 640,
            height: 320,
            percent: false,
            highlight_label: "",
        }
    }

    fn benford_bars() -> Vec<Bar> {
        let observed = [0.32, 0.17, 0.125, 0.1, 0.08, 0.066, 0.057, 0.05, 0.032];
        (1..=9)
            .map(|d| Bar {
                label: d.to_string(),
                value: observed[d - 1],
                value_text: format!("{:.1} %", observed[d - 1] * 100.0),
                expected: Some((1.0 + 1.0 / d as f64).log10()),
                highlight: d == 9,
            })
            .collect()
    }

    fn series(name: &str, points: &[(&str, f64)]) -> Series {
        Series {
            name: name.to_string(),
            points: points
                .iter()
                .map(|&(x, y)| Point {
                    x: x.to_string(),
                    y,
                    text: format!("{y:.2} EUR"),
                })
                .collect(),
        }
    }

    fn line<'a>(id: &'a str, series: &'a [Series]) -> LineChart<'a> {
        LineChart {
            id,
            title: "Cash difference",
            y_label: "EUR",
            series,
            width: 640,
            height: 320,
        }
    }

    /// The y of the zero line and the pixels per unit, read from the gridlines.
    fn scale(els: &[El], percent: bool) -> (f64, f64) {
        let grid = with_class(els, "chart-grid");
        let value = |g: &El| {
            let t = g.attr("data-tick");
            match t.strip_suffix('%') {
                Some(p) if percent => p.parse::<f64>().unwrap() / 100.0,
                _ => t.parse().unwrap(),
            }
        };
        let (a, b) = (grid[0], grid[grid.len() - 1]);
        let per_unit = (a.f("y1") - b.f("y1")) / (value(b) - value(a));
        (a.f("y1") + value(a) * per_unit, per_unit)
    }

    #[test]
    fn charts_are_well_formed_svg_with_accessible_root() {
        let benford = benford_bars();
        let hours: Vec<Bar> = (0..24).map(|h| bar(&format!("{h:02}"), h as f64)).collect();
        let days: Vec<Bar> = (0..90)
            .map(|d| {
                bar(
                    &format!("2024-{:02}-{:02}", d / 28 + 1, d % 28 + 1),
                    d as f64 - 30.0,
                )
            })
            .collect();
        let week: Vec<Bar> = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
            .iter()
            .map(|d| bar(d, 3.0))
            .collect();
        let mut svgs = vec![
            bar_chart(&BarChart {
                percent: true,
                highlight_label: "significant (|z| > 1.96)",
                ..chart("benford first", &benford)
            }),
            bar_chart(&chart("hours", &hours)),
            bar_chart(&chart("days", &days)),
            bar_chart(&chart("week", &week)),
        ];
        let regs = [
            series("R1", &[("2024-01-02", 1.5), ("2024-01-01", -2.0)]),
            series("R2", &[("2024-01-03", 0.0)]),
        ];
        svgs.push(line_chart(&line("cash", &regs)));
        for svg in &svgs {
            let els = parse(svg);
            let root = &els[0];
            assert_eq!(root.attr("xmlns"), "http://www.w3.org/2000/svg");
            assert_eq!(root.attr("class"), "chart");
            assert_eq!(root.attr("role"), "img");
            assert_eq!(root.attr("viewBox"), "0 0 640 320");
            assert_eq!(root.attr("width"), "640");
            assert_eq!(root.attr("height"), "320");
            // aria-labelledby names the title and the description, which exist.
            let refs: Vec<&str> = root.attr("aria-labelledby").split(' ').collect();
            assert_eq!(refs.len(), 2);
            let title = els
                .iter()
                .find(|e| e.attrs.get("id").map(String::as_str) == Some(refs[0]));
            let desc = els
                .iter()
                .find(|e| e.attrs.get("id").map(String::as_str) == Some(refs[1]));
            assert_eq!(title.unwrap().name, "title");
            assert_eq!(desc.unwrap().name, "desc");
            assert!(!desc.unwrap().text.is_empty());
        }
        let els = parse(&svgs[0]);
        assert_eq!(els[0].attr("data-chart"), "benford first");
        assert_eq!(
            els[0].attr("aria-labelledby"),
            "benford-first-title benford-first-desc"
        );
        assert_eq!(with_class(&els, "chart-bar").len(), 9);
        assert_eq!(with_class(&parse(&svgs[2]), "chart-bar").len(), 90);
        assert_eq!(with_class(&parse(&svgs[3]), "chart-x-label").len(), 7);
        // Every bar and point carries its exact text and a tooltip naming it.
        for el in with_class(&els, "chart-bar") {
            let label = el.attr("data-label");
            let value = el.attr("data-value");
            assert!(
                el.title
                    .as_ref()
                    .unwrap()
                    .starts_with(&format!("{label}: {value}"))
            );
        }
        assert_eq!(
            with_class(&els, "chart-bar")[0].attr("data-value"),
            "32.0 %"
        );
    }

    #[test]
    fn bar_heights_are_proportional_to_values() {
        let bars = [
            bar("a", 10.0),
            bar("b", 20.0),
            bar("c", 40.0),
            bar("d", 5.0),
        ];
        let svg = bar_chart(&chart("p", &bars));
        let els = parse(&svg);
        let rects = with_class(&els, "chart-bar");
        let heights: Vec<f64> = rects.iter().map(|r| r.f("height")).collect();
        assert!((heights[1] / heights[0] - 2.0).abs() < 0.005, "{heights:?}");
        assert!((heights[2] / heights[0] - 4.0).abs() < 0.01, "{heights:?}");
        assert!((heights[3] / heights[0] - 0.5).abs() < 0.005, "{heights:?}");
        // Ticks 0, 10, …, 40: the largest bar reaches the top gridline exactly.
        let ticks: Vec<&str> = with_class(&els, "chart-grid")
            .iter()
            .map(|g| g.attr("data-tick"))
            .collect();
        assert_eq!(ticks, ["0", "10", "20", "30", "40"]);
        let (zero, per_unit) = scale(&els, false);
        for (r, v) in rects.iter().zip([10.0, 20.0, 40.0, 5.0]) {
            assert!(
                (r.f("y") + r.f("height") - zero).abs() < 0.02,
                "bars stand on zero"
            );
            assert!((r.f("height") - v * per_unit).abs() < 0.02);
        }
        assert_eq!(rects[2].f("y"), with_class(&els, "chart-grid")[4].f("y1"));
        // All bars the same width, in order, inside the plot.
        assert!(rects.windows(2).all(|w| w[0].f("width") == w[1].f("width")));
        assert!(rects.windows(2).all(|w| w[0].f("x") < w[1].f("x")));
    }

    #[test]
    fn negative_bars_hang_below_the_zero_line() {
        let bars = [bar("up", 3.0), bar("down", -2.0)];
        let els = parse(&bar_chart(&chart("n", &bars)));
        let zero = with_class(&els, "chart-zero")[0].f("y1");
        let rects = with_class(&els, "chart-bar");
        assert_eq!(rects[0].f("y") + rects[0].f("height"), zero);
        assert_eq!(rects[1].f("y"), zero);
        assert!(rects[1].f("height") > 0.0);
        let ratio = rects[1].f("height") / rects[0].f("height");
        assert!((ratio - 2.0 / 3.0).abs() < 0.005, "{ratio}");
        // The axis reaches below zero, and zero is one of the ticks.
        let ticks: Vec<&str> = with_class(&els, "chart-grid")
            .iter()
            .map(|g| g.attr("data-tick"))
            .collect();
        assert_eq!(ticks, ["-2", "-1", "0", "1", "2", "3"]);
        let grid_zero = with_class(&els, "chart-grid")[2].f("y1");
        assert_eq!(grid_zero, zero);
    }

    #[test]
    fn expected_marks_sit_at_the_expected_values() {
        let bars = benford_bars();
        let svg = bar_chart(&BarChart {
            percent: true,
            ..chart("benford", &bars)
        });
        let els = parse(&svg);
        let ticks: Vec<&str> = with_class(&els, "chart-grid")
            .iter()
            .map(|g| g.attr("data-tick"))
            .collect();
        assert_eq!(ticks, ["0%", "10%", "20%", "30%", "40%"]);
        let (zero, per_unit) = scale(&els, true);
        let marks = with_class(&els, "chart-expected-mark");
        let rects = with_class(&els, "chart-bar");
        assert_eq!(marks.len(), 9);
        for (d, (mark, rect)) in (1..=9).zip(marks.iter().zip(&rects)) {
            let e = (1.0 + 1.0 / d as f64).log10();
            assert_eq!(mark.f("y1"), mark.f("y2"));
            assert!(
                (mark.f("y1") - (zero - e * per_unit)).abs() < 0.01,
                "digit {d}"
            );
            // Centred over its bar and at least as wide.
            let centre = rect.f("x") + rect.f("width") / 2.0;
            assert!(((mark.f("x1") + mark.f("x2")) / 2.0 - centre).abs() < 0.02);
            assert!(mark.f("x2") - mark.f("x1") >= rect.f("width"));
        }
        assert_eq!(marks[0].attr("data-expected"), "30.1%");
        assert_eq!(marks[8].attr("data-expected"), "4.6%");
        assert_eq!(marks[0].title.as_deref(), Some("1: expected 30.1%"));
        assert_eq!(
            rects[0].title.as_deref(),
            Some("1: 32.0 % (expected 30.1%)")
        );
        // One polyline through all nine expected values.
        let lines = with_class(&els, "chart-expected-line");
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].attr("points").split(' ').count(), 9);
        let legend: Vec<&str> = with_class(&els, "chart-legend-item")
            .iter()
            .map(|i| i.attr("data-series"))
            .collect();
        assert_eq!(legend, ["observed", "expected", "highlighted"]);
    }

    #[test]
    fn highlighted_bars_use_the_highlight_class_and_the_legend_says_why() {
        let bars = benford_bars();
        let svg = bar_chart(&BarChart {
            percent: true,
            highlight_label: "significant (|z| > 1.96)",
            ..chart("h", &bars)
        });
        let els = parse(&svg);
        let rects = with_class(&els, "chart-bar");
        for (i, r) in rects.iter().enumerate() {
            let highlighted = i == 8;
            assert_eq!(r.has_class("chart-bar-highlight"), highlighted);
            let fill = if highlighted {
                HIGHLIGHT_FILL
            } else {
                BAR_FILL
            };
            assert_eq!(r.attr("fill"), fill);
        }
        assert!(
            rects[8]
                .title
                .as_ref()
                .unwrap()
                .ends_with("significant (|z| > 1.96)")
        );
        let legend: Vec<&str> = with_class(&els, "chart-legend-item")
            .iter()
            .map(|i| i.attr("data-series"))
            .collect();
        assert_eq!(legend, ["observed", "expected", "significant (|z| > 1.96)"]);
        // A chart with neither expected values nor highlights needs no legend.
        let plain = parse(&bar_chart(&chart("plain", &[bar("a", 1.0)])));
        assert!(with_class(&plain, "chart-legend").is_empty());
    }

    #[test]
    fn x_labels_thin_out_so_they_never_overlap() {
        let days: Vec<Bar> = (0..90)
            .map(|d| bar(&format!("2024-{:02}-{:02}", d / 28 + 1, d % 28 + 1), 1.0))
            .collect();
        let els = parse(&bar_chart(&chart("days", &days)));
        let labels = with_class(&els, "chart-x-label");
        assert!(labels.len() > 3 && labels.len() < 90, "{}", labels.len());
        assert_eq!(labels[0].text, "2024-01-01");
        // 6 px per character at 10 px is generous for a sans-serif date.
        let width = |e: &El| e.text.chars().count() as f64 * 6.0;
        for pair in labels.windows(2) {
            let gap = pair[1].f("x") - pair[0].f("x");
            assert!(gap >= (width(pair[0]) + width(pair[1])) / 2.0, "{gap}");
        }
        // Every k-th bar, so each label sits under its bar.
        let rects = with_class(&els, "chart-bar");
        let k = (labels[1].f("x") - labels[0].f("x")) / (rects[1].f("x") - rects[0].f("x"));
        let k = k.round() as usize;
        for (j, l) in labels.iter().enumerate() {
            let r = rects[j * k];
            assert!((r.f("x") + r.f("width") / 2.0 - l.f("x")).abs() < 0.02);
            assert_eq!(l.text, r.attr("data-label"));
        }
        // And the last label stays inside the chart.
        let last = labels[labels.len() - 1];
        assert!(last.f("x") + width(last) / 2.0 <= 640.0);

        // 24 short labels all fit.
        let hours: Vec<Bar> = (0..24).map(|h| bar(&format!("{h:02}"), 1.0)).collect();
        let els = parse(&bar_chart(&chart("hours", &hours)));
        assert_eq!(with_class(&els, "chart-x-label").len(), 24);
    }

    #[test]
    fn text_is_escaped() {
        let bars = [Bar {
            label: "<a&b>".to_string(),
            value: 1.0,
            value_text: "1 \"EUR\" 'x'".to_string(),
            expected: None,
            highlight: false,
        }];
        let svg = bar_chart(&BarChart {
            title: "Tom & Jerry's <b>",
            y_label: "a\"b",
            ..chart("x\"y", &bars)
        });
        assert!(svg.contains("&lt;a&amp;b&gt;"));
        assert!(!svg.contains("<a&b>"));
        assert!(!svg.contains("<b>"));
        assert!(svg.contains("data-value=\"1 &quot;EUR&quot; &#39;x&#39;\""));
        let els = parse(&svg);
        assert_eq!(els[0].attr("data-chart"), "x\"y");
        let rect = with_class(&els, "chart-bar")[0];
        assert_eq!(rect.attr("data-label"), "<a&b>");
        assert_eq!(rect.attr("data-value"), "1 \"EUR\" 'x'");
        assert_eq!(rect.title.as_deref(), Some("<a&b>: 1 \"EUR\" 'x'"));
        assert_eq!(with_class(&els, "chart-x-label")[0].text, "<a&b>");
        assert_eq!(with_class(&els, "chart-title")[0].text, "Tom & Jerry's <b>");
        assert_eq!(
            els.iter().find(|e| e.name == "title").unwrap().text,
            "Tom & Jerry's <b>"
        );

        // Control characters XML cannot hold are replaced; line breaks survive exactly.
        assert_eq!(esc("a\u{1}b\nc"), "a\u{FFFD}b&#10;c");
        let odd = [series("r\u{7}1", &[("2024-01-01", 1.0)])];
        let els = parse(&line_chart(&line("odd", &odd)));
        assert_eq!(
            with_class(&els, "chart-series")[0].attr("data-series"),
            "r\u{FFFD}1"
        );
    }

    #[test]
    fn empty_input_says_no_data() {
        for svg in [
            bar_chart(&chart("empty", &[])),
            line_chart(&line("empty", &[])),
            line_chart(&line("empty", &[series("R1", &[])])),
        ] {
            let els = parse(&svg);
            assert_eq!(els[0].attr("data-chart"), "empty");
            assert_eq!(els[0].attr("role"), "img");
            assert_eq!(with_class(&els, "chart-nodata")[0].text, "no data");
            assert_eq!(
                els.iter().find(|e| e.name == "desc").unwrap().text,
                "no data"
            );
            assert!(with_class(&els, "chart-bar").is_empty());
            assert!(with_class(&els, "chart-point").is_empty());
        }
    }

    #[test]
    fn nan_and_infinite_values_draw_as_zero() {
        // The caller's texts are whatever it says; only the chart's own numbers matter here.
        let odd = |label: &str, value: f64| Bar {
            value_text: "n/a".to_string(),
            ..bar(label, value)
        };
        let bars = [
            odd("a", f64::NAN),
            odd("b", f64::INFINITY),
            Bar {
                expected: Some(f64::NEG_INFINITY),
                ..odd("c", 2.0)
            },
            odd("d", 1e300),
        ];
        let svg = bar_chart(&chart("nan", &bars));
        let els = parse(&svg);
        let rects = with_class(&els, "chart-bar");
        assert_eq!(rects[0].f("height"), 0.0);
        assert_eq!(rects[1].f("height"), 0.0);
        assert_eq!(rects[0].attr("data-value"), "n/a");
        // The huge value is drawn at the bound, the axis reading to 10^18.
        let top = with_class(&els, "chart-grid")
            .last()
            .unwrap()
            .attr("data-tick");
        assert_eq!(top, "1000000000000000000");
        let mark = with_class(&els, "chart-expected-mark")[0];
        assert_eq!(mark.f("y1"), with_class(&els, "chart-zero")[0].f("y1"));

        let pts = [series(
            "R",
            &[("1", f64::NAN), ("2", f64::NEG_INFINITY), ("3", 4.0)],
        )];
        let line_svg = line_chart(&line("nan", &pts));
        let els = parse(&line_svg);
        let points = with_class(&els, "chart-point");
        let zero = with_class(&els, "chart-zero")[0].f("y1");
        assert_eq!(points[0].f("cy"), zero);
        assert_eq!(points[1].f("cy"), zero);
        // Only the caller's texts may say NaN; no number the chart writes does.
        for s in [&svg, &line_svg] {
            let stripped = s.replace("NaN EUR", "").replace("inf EUR", "");
            assert!(!stripped.contains("NaN"), "{s}");
            assert!(!stripped.contains("inf"), "{s}");
            let exponent = stripped.as_bytes().windows(3).any(|w| {
                w[0].is_ascii_digit()
                    && (w[1] == b'e' || w[1] == b'E')
                    && (w[2].is_ascii_digit() || w[2] == b'-' || w[2] == b'+')
            });
            assert!(!exponent, "{s}");
        }
    }

    #[test]
    fn output_is_deterministic() {
        let bars = benford_bars();
        let c = chart("d", &bars);
        assert_eq!(bar_chart(&c), bar_chart(&c));
        let regs = [
            series("R1", &[("2024-01-01", 1.0), ("2024-01-02", -1.0)]),
            series("R2", &[("2024-01-02", 0.5)]),
        ];
        assert_eq!(line_chart(&line("l", &regs)), line_chart(&line("l", &regs)));
    }

    #[test]
    fn ticks_are_nice() {
        let values = |t: Ticks| (0..=t.intervals).map(|i| t.value(i)).collect::<Vec<_>>();
        assert_eq!(values(nice_ticks(0.0, 0.301)), [0.0, 0.1, 0.2, 0.3, 0.4]);
        assert_eq!(
            nice_ticks(0.0, 0.301).labels(false),
            ["0.0", "0.1", "0.2", "0.3", "0.4"]
        );
        assert_eq!(
            nice_ticks(0.0, 0.301).labels(true),
            ["0%", "10%", "20%", "30%", "40%"]
        );
        assert_eq!(
            values(nice_ticks(0.0, 1234.0)),
            [0.0, 500.0, 1000.0, 1500.0]
        );
        assert_eq!(values(nice_ticks(0.0, 0.3)), [0.0, 0.1, 0.2, 0.3]);
        assert_eq!(
            values(nice_ticks(0.0, 100.0)),
            [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(values(nice_ticks(-3.2, 7.9)), [-5.0, 0.0, 5.0, 10.0]);
        assert_eq!(
            values(nice_ticks(-0.04, 0.0)),
            [-0.04, -0.03, -0.02, -0.01, 0.0]
        );
        assert_eq!(
            nice_ticks(0.0, 0.046).labels(true),
            ["0%", "1%", "2%", "3%", "4%", "5%"]
        );
        assert_eq!(nice_ticks(0.0, 0.0046).labels(true)[1], "0.1%");
        assert_eq!(
            values(nice_ticks(100.0, 101.0)),
            [100.0, 100.2, 100.4, 100.6, 100.8, 101.0]
        );
        // No range: zero and the value, or 0 to 1.
        assert_eq!(values(nice_ticks(0.0, 0.0)), [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(values(nice_ticks(7.0, 7.0)), [0.0, 2.0, 4.0, 6.0, 8.0]);
        assert_eq!(
            values(nice_ticks(f64::NAN, f64::NAN)),
            values(nice_ticks(0.0, 0.0))
        );

        // From zero up to any maximum: four to six ticks of 1, 2 or 5 × 10^k, covering it.
        let mut max = 0.0013;
        while max < 1e12 {
            let t = nice_ticks(0.0, max);
            assert!((3..=5).contains(&t.intervals), "{max}: {t:?}");
            assert!([1, 2, 5].contains(&t.m));
            assert_eq!(t.lo(), 0.0);
            assert!(
                t.hi() >= max && t.value(t.intervals - 1) < max,
                "{max}: {t:?}"
            );
            max *= 1.07;
        }
    }

    #[test]
    fn numbers_have_at_most_two_decimals() {
        assert_eq!(num(1e-7), "0");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(12.3456), "12.35");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(num(100.0), "100");
        assert_eq!(num(-12.3), "-12.3");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(f64::INFINITY), "0");
        assert_eq!(num(1e300), "1000000000000000000");
    }

    #[test]
    fn line_chart_shares_a_sorted_x_axis_between_series() {
        let regs = [
            series("R1", &[("2024-01-03", 2.0), ("2024-01-01", -1.0)]),
            series("R2", &[("2024-01-02", 0.5), ("2024-01-03", -3.0)]),
        ];
        let svg = line_chart(&line("cash", &regs));
        let els = parse(&svg);
        let labels: Vec<&str> = with_class(&els, "chart-x-label")
            .iter()
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(labels, ["2024-01-01", "2024-01-02", "2024-01-03"]);
        let x_of = |date: &str| {
            with_class(&els, "chart-x-label")
                .iter()
                .find(|l| l.text == date)
                .unwrap()
                .f("x")
        };
        let points = with_class(&els, "chart-point");
        assert_eq!(points.len(), 4);
        // R1's points in x order, whatever order they came in.
        assert_eq!(points[0].attr("data-x"), "2024-01-01");
        assert_eq!(points[1].attr("data-x"), "2024-01-03");
        for p in &points {
            assert_eq!(p.f("cx"), x_of(p.attr("data-x")));
        }
        assert_eq!(
            points[0].title.as_deref(),
            Some("R1 · 2024-01-01: -1.00 EUR")
        );
        assert_eq!(points[0].attr("data-value"), "-1.00 EUR");
        // Heights follow the values: zero line from the gridlines, then each point.
        let (zero, per_unit) = scale(&els, false);
        assert!((with_class(&els, "chart-zero")[0].f("y1") - zero).abs() < 0.01);
        for (p, v) in points.iter().zip([-1.0, 2.0, 0.5, -3.0]) {
            assert!((p.f("cy") - (zero - v * per_unit)).abs() < 0.02);
        }
        // A colour per series, for the line, its points and its legend entry.
        let groups = with_class(&els, "chart-series");
        assert_eq!(groups.len(), 2);
        let lines = with_class(&els, "chart-line");
        assert_eq!(lines[0].attr("stroke"), PALETTE[0]);
        assert_eq!(lines[1].attr("stroke"), PALETTE[1]);
        assert_eq!(points[0].attr("fill"), PALETTE[0]);
        assert_eq!(points[2].attr("fill"), PALETTE[1]);
        let legend: Vec<&str> = with_class(&els, "chart-legend-item")
            .iter()
            .map(|i| i.attr("data-series"))
            .collect();
        assert_eq!(legend, ["R1", "R2"]);

        // All above zero: the axis does not reach down to it and no zero line is drawn.
        let high = [series("R1", &[("a", 100.0), ("b", 101.0)])];
        let els = parse(&line_chart(&line("high", &high)));
        assert!(with_class(&els, "chart-zero").is_empty());
        assert_eq!(with_class(&els, "chart-grid")[0].attr("data-tick"), "100.0");
    }

    #[test]
    fn many_series_get_distinct_styles_and_a_bounded_legend() {
        let regs: Vec<Series> = (0..40)
            .map(|i| series(&format!("register-{i:02}"), &[("a", i as f64), ("b", 1.0)]))
            .collect();
        let els = parse(&line_chart(&line("many", &regs)));
        let lines = with_class(&els, "chart-line");
        let styles: BTreeSet<(String, String)> = lines
            .iter()
            .take(30)
            .map(|l| {
                let dash = l.attrs.get("stroke-dasharray").cloned().unwrap_or_default();
                (l.attr("stroke").to_string(), dash)
            })
            .collect();
        assert_eq!(styles.len(), 30);
        let shown = with_class(&els, "chart-legend-item").len();
        assert!(shown < 40);
        let more = els.iter().find(|e| e.text.ends_with(" more")).unwrap();
        assert_eq!(more.text, format!("+{} more", 40 - shown));
        // The legend keeps above the plot: every legend text sits above the top gridline.
        let top = with_class(&els, "chart-grid").last().unwrap().f("y1");
        assert!(more.f("y") < top);
    }
}
