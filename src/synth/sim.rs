//! The per-register simulation: one shop's days, streamed operation by operation to its file.
//!
//! A register is simulated on its own thread with its own random streams, so its file depends
//! only on (seed, register index, options) and never on scheduling. Memory stays bounded:
//! the only history kept is a small pool of recent sales (for returns, exchanges and voids),
//! issued gift cards and pending down payments.

use std::collections::VecDeque;
use std::io::Write;
use std::path::Path;

use chrono::{Datelike, NaiveDate, Offset, TimeZone};

use super::cart::{
    CartDiscount, Line, LineDiscount, LineKind, Method, Pay, PaySummary, VatCache,
    allocate_cart_discount, chf_to_eur, percent_of, vat_included,
};
use super::catalog::{Country, CountryData, Rate, invalid_rate, rates_on};
use super::fiscal::{AtKind, FiscalOut, FiscalState, Signed};
use super::inject::{Action, At, Planned};
use super::masterdata::{RegisterSpec, Shape, codice_fiscale};
use super::op::{Cart, Draft, Kind, State, View};
use super::rng::{Rng, Stream};
use super::text::{Sid, TsStyle, push_amount, timestamp};
use super::{Anomaly, Error, Injected, SynthOptions, wire_ops, wire_register};
use crate::fsutil::AtomicFile;

/// What one register's simulation produced.
pub(crate) struct Outcome {
    /// Operations written.
    pub n_ops: u64,
    /// Anomalies planted in this register.
    pub injected: Vec<Injected>,
}

/// A completed sale kept for later returns, exchanges and voids.
struct SaleRef {
    id: Sid,
    day: u32,
    /// (product index, quantity) of its lines without any discount.
    lines: [(u16, i64); 6],
    n_lines: usize,
    /// Bit j: the product of `lines[j]` is on no other line of the sale, so `lines[j].1` is
    /// all the sale sold of it (what an over-return needs to exceed).
    unique: u8,
    /// Fiscal amounts (DE processData slots / AT code fields).
    buckets: [i64; 5],
    pays: PaySummary,
    /// Net EUR cash it brought into the drawer.
    cash: i64,
    foreign: bool,
}

struct PendingDeposit {
    id: Sid,
    order: usize,
    price: i64,
    deposit: i64,
    due: u32,
}

const POOL_SIZE: usize = 64;
const GIFT_CARDS: usize = 32;
const DEPOSITS: usize = 16;
const FLUSH_AT: usize = 1 << 20;
const PROGRESS_EVERY: u64 = 4096;

struct Sim<'a> {
    spec: &'a RegisterSpec,
    cd: &'static CountryData,
    /// The country's VAT rates on the current day.
    rates: &'static [Rate],
    days: u32,
    ops_per_day: u32,
    start: NaiveDate,
    rng: Rng,
    crypto: Rng,
    st: FiscalState,
    fout: FiscalOut,
    draft: Draft,
    cart: Cart,
    vat: VatCache,
    op_num: u64,
    seq: u64,
    session_num: u64,
    /// AT: the month (`year * 12 + month`) of the last Start- or Monatsbeleg.
    null_receipt_month: Option<i32>,
    session: Sid,
    gift_num: u64,
    last_id: Sid,
    pool: VecDeque<SaleRef>,
    gift_cards: VecDeque<(u64, i64)>,
    deposits: Vec<PendingDeposit>,
    day: u32,
    date: NaiveDate,
    midnight: i64,
    offset: i32,
    noon_local_ms: i64,
    drawer: i64,
    /// v1.1: the first session's opening balance, the float that closing pulls leave behind.
    float: i64,
    /// v1.1: the `session_open` of the running session.
    session_open_id: Sid,
    /// `started` of the operation written last (the clock-backwards anomaly goes behind it).
    prev_started: i64,
    /// Local closing time of the shop, ms after midnight.
    close_ms: i64,
    transmitted: Option<i64>,
    plan: Vec<Planned>,
    injected: Vec<Injected>,
    out: Vec<u8>,
    file: AtomicFile,
    path: &'a Path,
    n_ops: u64,
    unreported: u64,
    progress: &'a (dyn Fn(u64) + Sync),
}

/// Simulates one register and writes its NDJSON file to `path`.
pub(crate) fn run(
    spec: &RegisterSpec,
    opts: &SynthOptions,
    plan: Vec<Planned>,
    path: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Outcome, Error> {
    let file = AtomicFile::create(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut sim = Sim {
        spec,
        cd: spec.country.data(),
        rates: spec.country.data().rates,
        days: opts.days,
        ops_per_day: opts.ops_per_day,
        start: opts.start,
        rng: Rng::stream(opts.seed, spec.idx as u64, Stream::Business),
        crypto: Rng::stream(opts.seed, spec.idx as u64, Stream::Crypto),
        st: FiscalState {
            z: spec.z_start,
            ..FiscalState::default()
        },
        fout: FiscalOut::default(),
        draft: Draft::default(),
        cart: Cart::default(),
        vat: VatCache::new(),
        op_num: 0,
        seq: 0,
        session_num: 0,
        null_receipt_month: None,
        session: Sid::new(),
        gift_num: 0,
        last_id: Sid::new(),
        pool: VecDeque::with_capacity(POOL_SIZE + 1),
        gift_cards: VecDeque::with_capacity(GIFT_CARDS + 1),
        deposits: Vec::new(),
        day: 0,
        date: opts.start,
        midnight: 0,
        offset: 0,
        noon_local_ms: 12 * 3_600_000,
        drawer: 0,
        float: 0,
        session_open_id: Sid::new(),
        prev_started: 0,
        close_ms: 0,
        transmitted: None,
        plan,
        injected: Vec::new(),
        out: Vec::with_capacity(FLUSH_AT + 64 * 1024),
        file,
        path,
        n_ops: 0,
        unreported: 0,
        progress,
    };
    for day in 0..sim.days {
        sim.run_day(day)?;
    }
    sim.flush()?;
    if sim.unreported > 0 {
        (sim.progress)(sim.unreported);
    }
    let Sim {
        file,
        n_ops,
        injected,
        ..
    } = sim;
    file.commit().map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Outcome { n_ops, injected })
}

fn amount_text(cents: i64) -> String {
    let mut s = String::new();
    push_amount(&mut s, cents, '.');
    s
}

impl Sim<'_> {
    // ---- time -----------------------------------------------------------------------------

    /// Epoch seconds of a local time of the current day given in milliseconds after midnight.
    /// Business hours never cross a DST switch (02:00–03:00), so the day's offset applies.
    fn at(&self, local_ms: i64) -> i64 {
        self.midnight + local_ms.div_euclid(1000) - i64::from(self.offset)
    }

    fn run_day(&mut self, day: u32) -> Result<(), Error> {
        self.day = day;
        self.date = self.start + chrono::Days::new(u64::from(day));
        self.rates = rates_on(self.spec.country, self.date);
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
        self.midnight = (self.date - epoch).num_days() * 86_400;
        let noon = self.date.and_hms_opt(12, 0, 0).expect("valid time");
        self.offset = self
            .spec
            .tz
            .offset_from_local_datetime(&noon)
            .single()
            .map_or(0, |o| o.fix().local_minus_utc());
        let open_ms = i64::from(self.spec.open_secs) * 1000;
        let close_ms = i64::from(self.spec.close_secs) * 1000;
        self.close_ms = close_ms;
        self.noon_local_ms = (open_ms + close_ms) / 2;
        // rt.md §1.6: the day's documents reach the tax agency with the closing after hours.
        self.transmitted = Some(self.at(close_ms + 10 * 60_000));
        if self.spec.country == Country::It {
            self.st.it_new_day();
        }
        let t_open = open_ms + self.rng.range(0, 300_000);
        match self.spec.shape {
            Shape::Register => {
                if let Some(kind) = self.null_receipt_due() {
                    self.null_receipt(kind, t_open - 60_000)?;
                }
                self.float(t_open)?
            }
            Shape::Operations => self.session_open(t_open)?,
        }
        let ws = open_ms + 10 * 60_000;
        let we = close_ms - 20 * 60_000;
        let n = i64::from(self.ops_per_day);
        let slot_ms = (we - ws) / n;
        let mid_k = n / 2;
        let midday = self.rng.chance(if self.spec.shape == Shape::Register {
            150
        } else {
            250
        });
        for k in 0..n {
            let s0 = ws + k * slot_ms;
            if k == mid_k && midday {
                // With one goods slot a day the slot spans the whole day: stay after the
                // opening operation (at most five minutes after opening).
                self.midday((s0 - slot_ms / 20).max(ws - 4 * 60_000))?;
            }
            let start = s0 + self.rng.range(0, slot_ms * 2 / 5);
            let dur = self.rng.range(20_000, 180_000).min(slot_ms / 2);
            let slot = u64::from(day) * n as u64 + k as u64;
            let (t0, t1) = (self.at(start), self.at(start + dur));
            self.goods(slot, t0, t1)?;
        }
        // Every day closes, the last one included: no session is left running.
        match self.spec.shape {
            Shape::Register => self.bank_deposit(close_ms - 5 * 60_000),
            Shape::Operations => {
                if let Some(p) = self
                    .planned(At::DayEnd(day))
                    .filter(|p| p.action == Action::UnclosedSession)
                {
                    self.leave_session_open(p);
                    return Ok(());
                }
                self.cash_count(close_ms - 10 * 60_000)?;
                self.session_close(close_ms - 5 * 60_000)
            }
        }
    }

    // ---- operation frame ------------------------------------------------------------------

    fn begin(&mut self, kind: Kind, started: i64, completed: i64) {
        self.op_num += 1;
        self.seq += 1;
        let mut suffix = Sid::new();
        suffix
            .push_str(&self.spec.tag)
            .push_byte(b'_')
            .push_num(self.op_num, 6);
        let mut id = Sid::new();
        id.push_str("op_").push_small(&suffix);
        let mut external_id = Sid::new();
        external_id.push_str("bon-").push_small(&suffix);
        let morning = started - self.midnight + i64::from(self.offset) < self.noon_local_ms / 1000;
        self.draft = Draft {
            kind,
            state: State::Completed,
            id,
            suffix,
            external_id,
            seq: self.seq,
            session: self.session,
            cashier: self.spec.cashiers[usize::from(!morning)],
            started,
            completed,
            ..Draft::default()
        };
        self.cart.clear();
        self.fout.signed = Signed::None;
        self.fout.transmitted = None;
        self.fout.skipped = None;
    }

    fn emit(&mut self) -> Result<(), Error> {
        let view = View {
            spec: self.spec,
            draft: &self.draft,
            cart: &self.cart,
            fiscal: &self.fout,
            offset: self.offset,
        };
        match self.spec.shape {
            Shape::Register => wire_register::write(&mut self.out, &view),
            Shape::Operations => wire_ops::write(&mut self.out, &view),
        }
        self.out.push(b'\n');
        self.last_id = self.draft.id;
        self.prev_started = self.draft.started;
        self.n_ops += 1;
        self.unreported += 1;
        if self.unreported >= PROGRESS_EVERY {
            (self.progress)(self.unreported);
            self.unreported = 0;
        }
        if self.out.len() >= FLUSH_AT {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.file.write_all(&self.out).map_err(|source| Error::Io {
            path: self.path.to_path_buf(),
            source,
        })?;
        self.out.clear();
        Ok(())
    }

    fn planned(&self, at: At) -> Option<Planned> {
        self.plan.iter().find(|p| p.at == at).copied()
    }

    fn record(&mut self, p: Planned, operation_id: Sid, what: String) {
        let description = match p.substitute {
            Some(why) => format!("{why}: {what}"),
            None => what,
        };
        self.injected.push(Injected {
            anomaly: p.anomaly,
            register_id: self.spec.register_id.clone(),
            operation_id: operation_id.as_str().to_string(),
            rule: super::inject::rule(&p, self.spec.country, self.spec.shape),
            description,
        });
    }

    // ---- carts and payments ---------------------------------------------------------------

    /// Fills the cart with 1–6 lines. `simple`: two plain goods lines at non-zero VAT from 1.00
    /// each, no discounts, vouchers or tips (the canvas for planted anomalies: a payment 1.00
    /// short still leaves a positive payment).
    fn fill_cart(&mut self, simple: bool, allow_gift_card: bool) {
        let register = self.spec.shape == Shape::Register;
        let cd = self.cd;
        let rates = self.rates;
        let n = if simple {
            2
        } else {
            1 + self.rng.weighted(&[30, 25, 20, 12, 8, 5])
        };
        while self.cart.lines.len() < n {
            let pi = loop {
                let pi = self.rng.below(cd.products.len() as u64) as usize;
                let p = &cd.products[pi];
                if !simple || rates[p.rate].percent > 0 && p.price >= 100 {
                    break pi;
                }
            };
            let p = &cd.products[pi];
            let qty = if !simple && p.max_qty > 1 && self.rng.chance(250) {
                self.rng.range(2, p.max_qty)
            } else {
                1
            };
            let mut line = Line::new(
                LineKind::Item,
                p.name,
                p.sku,
                pi as u16,
                qty,
                p.price,
                &rates[p.rate],
            );
            if register && !simple && self.rng.chance(50) {
                let sub = qty * p.price;
                let (rate, amount) = if self.rng.chance(600) {
                    let (pct, text) =
                        *self
                            .rng
                            .pick(&[(10, "0.10"), (20, "0.20"), (30, "0.30"), (50, "0.50")]);
                    (Some(text), percent_of(sub, pct))
                } else {
                    (None, (self.rng.range(1, 4) * 50).min(sub / 2))
                };
                if amount > 0 {
                    let label = self.rng.one(cd.words.line_discount_labels);
                    let source = self.rng.one(&["manual", "promotion", "employee"]);
                    line.discount = Some(LineDiscount {
                        label,
                        source,
                        rate,
                        amount,
                    });
                }
            }
            self.cart.lines.push(line);
            // Register shape: the bottle deposit follows its drink at the drink's rate
            // (dsfinvk.md §3.2 GV_TYP Pfand).
            if register && p.pfand > 0 && self.cart.lines.len() < 6 {
                self.cart.lines.push(Line::new(
                    LineKind::Pfand,
                    cd.words.pfand,
                    "PFAND",
                    pi as u16,
                    qty,
                    p.pfand,
                    &rates[p.rate],
                ));
            }
        }
        if simple {
            return;
        }
        let mut has_gift = false;
        if allow_gift_card && self.cart.lines.len() < 6 && self.rng.chance(20) {
            self.gift_num += 1;
            let mut l = Line::new(
                LineKind::GiftCard,
                cd.words.gift_card,
                "GIFTCARD",
                u16::MAX,
                1,
                self.rng.one(&[2500, 5000, 10_000]),
                &rates[cd.special_rate],
            );
            l.gift_card = self.gift_num;
            self.cart.lines.push(l);
            has_gift = true;
        }
        if !has_gift && self.rng.chance(60) {
            let eligible: i64 = self
                .cart
                .lines
                .iter()
                .filter(|l| l.takes_cart_discount())
                .map(|l| l.qty * l.unit - l.discount_amount())
                .sum();
            if eligible >= 1000 {
                let (coupon, loyalty) = match self.spec.country {
                    Country::De => ("SAVE10 Gutschein", "Treuebonus 5 €"),
                    Country::At => ("SAVE10 Gutschein", "Treuebonus 5 €"),
                    Country::It => ("Buono SAVE10", "Sconto fedeltà 5 €"),
                };
                self.cart.discount = Some(if eligible >= 2500 && self.rng.chance(500) {
                    CartDiscount {
                        label: loyalty,
                        code: None,
                        source: "loyalty",
                        rate: None,
                        amount: 500,
                    }
                } else {
                    CartDiscount {
                        label: coupon,
                        code: Some("SAVE10"),
                        source: "coupon",
                        rate: Some("0.10"),
                        amount: percent_of(eligible, 10),
                    }
                });
            }
        }
        if self.cart.lines.len() < 6
            && self.rng.chance(if self.spec.country == Country::It {
                20
            } else {
                40
            })
        {
            let tip = self.rng.range(5, 50) * 10;
            if register {
                self.cart.lines.push(Line::new(
                    LineKind::Tip,
                    cd.words.tip,
                    "TIP",
                    u16::MAX,
                    1,
                    tip,
                    &rates[cd.special_rate],
                ));
            } else {
                self.cart.tip = tip;
            }
        }
    }

    fn has_tip(&self) -> bool {
        self.cart.tip > 0 || self.cart.lines.iter().any(|l| l.kind == LineKind::Tip)
    }

    /// Computes line amounts, the cart discount split and the totals.
    fn compute(&mut self) {
        if let Some(d) = self.cart.discount {
            allocate_cart_discount(&mut self.cart.lines, d.amount);
        }
        for l in self
            .cart
            .lines
            .iter_mut()
            .chain(self.cart.returned.iter_mut())
        {
            l.compute(&mut self.vat);
        }
        self.retotal();
    }

    fn retotal(&mut self) {
        let c = &mut self.cart;
        c.totals.compute(&c.lines, &c.returned);
        c.totals.payable = c.totals.gross + c.tip;
    }

    fn card(&mut self, method: Method, amount: i64, outbound: bool) -> Pay {
        let mut p = Pay::new(method, amount, outbound);
        p.scheme = if method == Method::Wallet {
            self.rng.one(&["visa", "mastercard"])
        } else {
            self.rng.one(self.cd.card_schemes)
        };
        p.last4 = self.rng.below(10_000) as u16;
        p.auth = self.rng.below(100_000_000) as u32;
        p
    }

    fn cash(&mut self, amount: i64) -> Pay {
        let mut p = Pay::new(Method::Cash, amount, false);
        p.tendered = if self.rng.chance(300) {
            amount
        } else {
            // Customers hand over the next euro, the smallest note that covers the amount, or
            // the note above it; change is given back.
            const UNITS: [i64; 6] = [100, 500, 1000, 2000, 5000, 10_000];
            let i0 = UNITS
                .iter()
                .position(|&u| u >= amount)
                .unwrap_or(UNITS.len() - 1);
            let i = self.rng.range(
                i0.saturating_sub(1) as i64,
                (i0 + 1).min(UNITS.len() - 1) as i64,
            );
            let unit = UNITS[i as usize];
            (amount + unit - 1) / unit * unit
        };
        p
    }

    fn chf_cash(&mut self, amount: i64) -> Pay {
        let mut p = Pay::new(Method::Cash, amount, false);
        p.foreign = true;
        let mut chf = (amount * 10_000 / super::cart::CHF_EUR_RATE_PERMYRIAD) / 1000 * 1000;
        while chf_to_eur(chf) < amount {
            chf += 1000;
        }
        p.tendered = chf;
        p
    }

    /// Inbound payments for `total`. `electronic`: card or wallet only (tips, lottery, planted
    /// sales); `redeem`: a gift card may pay part.
    fn pay_in(&mut self, total: i64, electronic: bool, redeem: bool) {
        if total <= 0 {
            return;
        }
        let mut rest = total;
        if redeem
            && !electronic
            && !self.gift_cards.is_empty()
            && total >= 500
            && self.rng.chance(40)
        {
            let gi = self.rng.below(self.gift_cards.len() as u64) as usize;
            let (gid, balance) = self.gift_cards[gi];
            let used = balance.min(rest);
            let mut p = Pay::new(Method::GiftCard, used, false);
            p.gift_card = gid;
            self.cart.pays.push(p);
            rest -= used;
            if used == balance {
                self.gift_cards.remove(gi);
            } else {
                self.gift_cards[gi].1 -= used;
            }
        }
        if rest == 0 {
            return;
        }
        // Border-region shops take Swiss francs for larger bills.
        let chf = if self.cd.accepts_chf && rest >= 1000 {
            20
        } else {
            0
        };
        let choice = if electronic {
            1 + self.rng.weighted(&[85, 15])
        } else {
            self.rng.weighted(&[450, 380, 70, 80, chf])
        };
        match choice {
            0 => {
                let p = self.cash(rest);
                self.cart.pays.push(p);
            }
            1 => {
                let p = self.card(Method::Card, rest, false);
                self.cart.pays.push(p);
            }
            2 => {
                let p = self.card(Method::Wallet, rest, false);
                self.cart.pays.push(p);
            }
            3 if rest >= 1000 => {
                // Split: notes first, the rest by card.
                let part = ((rest / 2) / 500 * 500).max(500);
                let p = self.cash(part);
                self.cart.pays.push(p);
                let p = self.card(Method::Card, rest - part, false);
                self.cart.pays.push(p);
            }
            3 => {
                let p = self.cash(rest);
                self.cart.pays.push(p);
            }
            _ => {
                let p = self.chf_cash(rest);
                self.cart.pays.push(p);
            }
        }
    }

    /// Outbound payment of `total`: cash back when the original was paid in cash and the drawer
    /// holds enough, otherwise to the card.
    fn pay_out(&mut self, total: i64, prefer_cash: bool) {
        if total <= 0 {
            return;
        }
        let p = if prefer_cash && self.drawer >= total {
            Pay::new(Method::Cash, total, true)
        } else {
            self.card(Method::Card, total, true)
        };
        self.cart.pays.push(p);
    }

    /// Net EUR cash this operation moves into the drawer.
    fn cash_net(&self) -> i64 {
        self.cart
            .pays
            .iter()
            .filter(|p| p.method == Method::Cash)
            .map(Pay::signed)
            .sum()
    }

    /// Italian extras of a completed sale: a lottery code (only when paid entirely
    /// electronically, ≥ 1.00, rt.md §2.5) or else sometimes the buyer's codice fiscale —
    /// never both.
    fn italian_extras(&mut self) {
        if self.spec.country != Country::It {
            return;
        }
        let electronic = !self.cart.pays.is_empty()
            && self
                .cart
                .pays
                .iter()
                .all(|p| matches!(p.method, Method::Card | Method::Wallet));
        if electronic && self.cart.totals.payable >= 100 && self.rng.chance(200) {
            let mut code = Sid::new();
            for _ in 0..8 {
                code.push_byte(self.rng.one(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"));
            }
            self.draft.lottery = Some(code);
        } else if self.spec.shape == Shape::Register && self.rng.chance(30) {
            self.draft.customer_cf = Some(Sid::from_str(&codice_fiscale(&mut self.rng)));
        }
    }

    /// Fiscal amounts per slot of the current cart, multiplied by `sign`.
    fn buckets(&self, sign: i64) -> [i64; 5] {
        let mut b = [0i64; 5];
        for l in &self.cart.lines {
            b[l.rate.slot] += sign * l.total;
        }
        for l in &self.cart.returned {
            b[l.rate.slot] -= sign * l.total;
        }
        b[self.rates[self.cd.special_rate].slot] += sign * self.cart.tip;
        b
    }

    /// Signs a completed goods operation as a receipt. `sign` is −1 for returns.
    fn sign_receipt(&mut self, sign: i64, it_doc: &'static str) {
        let d = &self.draft;
        match self.spec.country {
            Country::De => {
                let b = self.buckets(sign);
                self.st.sign_de(
                    &self.spec.identity,
                    &mut self.fout,
                    "Beleg",
                    &b,
                    Some(PaySummary::of(&self.cart.pays)),
                    d.started,
                    Some(d.completed),
                );
            }
            Country::At => {
                let b = self.buckets(sign);
                self.st.sign_at(
                    &self.spec.identity,
                    &mut self.fout,
                    AtKind::Standard,
                    &b,
                    d.completed,
                    self.offset,
                );
            }
            Country::It => self.st.sign_it(
                &mut self.fout,
                &mut self.crypto,
                it_doc,
                d.completed,
                self.transmitted,
            ),
        }
    }

    /// Signs a cash movement: in Germany a DSFinV-K `Beleg` whose amount sits in the 0 % slot
    /// (a Geldtransit line at USt-Schlüssel 5, DSFinV-K BSP 06), a receipt at the 0 % field in
    /// Austria (rksv.md §4.3); Italian RTs issue no document for it.
    fn sign_cash(&mut self, amount: i64) {
        let d = &self.draft;
        match self.spec.country {
            Country::De => self.st.sign_de(
                &self.spec.identity,
                &mut self.fout,
                "Beleg",
                &[0, 0, 0, 0, amount],
                Some(PaySummary {
                    bar_eur: amount,
                    ..PaySummary::default()
                }),
                d.started,
                Some(d.completed),
            ),
            Country::At => self.st.sign_at(
                &self.spec.identity,
                &mut self.fout,
                AtKind::Standard,
                &[0, 0, 0, amount, 0],
                d.completed,
                self.offset,
            ),
            Country::It => {}
        }
    }

    /// Signs a German session record that moves or corrects the till: a counted difference
    /// (DifferenzSollIst) or the closing pull (Geldtransit); the opening float
    /// (Anfangsbestand) is signed in `session_open`. Each is a DSFinV-K Vorgang, and every
    /// Vorgang must be secured by the TSE (DSFinV-K §2.1, V13); a count that matches records
    /// no Vorgang and signs nothing. Austrian and Italian session records are no receipts and
    /// stay unsigned.
    fn sign_session_cash(&mut self, amount: i64) {
        if self.spec.country == Country::De && amount != 0 {
            self.sign_cash(amount);
        }
    }

    fn remember_sale(&mut self) {
        let mut r = SaleRef {
            id: self.draft.id,
            day: self.day,
            lines: [(0, 0); 6],
            n_lines: 0,
            unique: 0,
            buckets: self.buckets(1),
            pays: PaySummary::of(&self.cart.pays),
            cash: self.cash_net(),
            foreign: self.cart.pays.iter().any(|p| p.foreign),
        };
        for l in &self.cart.lines {
            if l.kind == LineKind::Item
                && l.discount.is_none()
                && l.cart_alloc == 0
                && r.n_lines < 6
            {
                let same = self
                    .cart
                    .lines
                    .iter()
                    .filter(|m| m.kind == LineKind::Item && m.product == l.product)
                    .count();
                if same == 1 {
                    r.unique |= 1 << r.n_lines;
                }
                r.lines[r.n_lines] = (l.product, l.qty);
                r.n_lines += 1;
            }
            if l.kind == LineKind::GiftCard {
                self.gift_cards.push_back((l.gift_card, l.unit));
                if self.gift_cards.len() > GIFT_CARDS {
                    self.gift_cards.pop_front();
                }
            }
        }
        self.pool.push_back(r);
        if self.pool.len() > POOL_SIZE {
            self.pool.pop_front();
        }
    }

    /// Takes a random pool entry that has returnable lines.
    fn take_returnable(&mut self) -> Option<SaleRef> {
        let n = self.pool.iter().filter(|s| s.n_lines > 0).count();
        if n == 0 {
            return None;
        }
        let k = self.rng.below(n as u64) as usize;
        let i = self
            .pool
            .iter()
            .enumerate()
            .filter(|(_, s)| s.n_lines > 0)
            .nth(k)
            .map(|(i, _)| i)?;
        self.pool.remove(i)
    }

    fn product_line(&self, pi: u16, qty: i64) -> Line {
        let p = &self.cd.products[usize::from(pi)];
        Line::new(
            LineKind::Item,
            p.name,
            p.sku,
            pi,
            qty,
            p.price,
            &self.rates[p.rate],
        )
    }

    // ---- goods operations -----------------------------------------------------------------

    fn goods(&mut self, slot: u64, t0: i64, t1: i64) -> Result<(), Error> {
        if let Some(p) = self.planned(At::Slot(slot)) {
            return self.planted(p, t0, t1);
        }
        match self.spec.shape {
            Shape::Register => {
                if self.deposits.iter().any(|d| d.due <= self.day) && self.rng.chance(150) {
                    return self.deposit_capture(t0, t1);
                }
                match self.rng.weighted(&[920, 30, 15, 12, 5, 10, 8]) {
                    0 => self.sale(t0, t1),
                    1 => self.refund(t0, t1),
                    2 => self.exchange(t0, t1),
                    3 => self.void(t0, t1),
                    4 => self.training(t0, t1),
                    5 => self.cancelled(t0, t1),
                    _ => self.deposit(t0, t1),
                }
            }
            Shape::Operations => match self.rng.weighted(&[950, 30, 20]) {
                0 => self.sale(t0, t1),
                1 => self.refund(t0, t1),
                _ => self.exchange(t0, t1),
            },
        }
    }

    fn sale(&mut self, t0: i64, t1: i64) -> Result<(), Error> {
        self.begin(Kind::Sale, t0, t1);
        self.fill_cart(false, true);
        self.compute();
        let tip = self.has_tip();
        self.pay_in(self.cart.totals.payable, tip, true);
        self.italian_extras();
        if self.rng.chance(30) {
            self.draft.note = Some(self.rng.one(self.cd.words.notes));
        }
        // v1.1 voids are a status of the sale itself (OpenAPI `status: voided`).
        let voided = self.spec.shape == Shape::Operations && self.rng.chance(10);
        if voided {
            self.draft.state = State::Voided;
            // Still inside the session: before the evening cash count.
            self.draft.voided_at =
                (t1 + self.rng.range(60, 900)).min(self.at(self.close_ms - 11 * 60_000).max(t1));
            self.draft.reason = Some(self.rng.one(self.cd.words.void_reasons));
        }
        self.sign_receipt(1, "VENDITA");
        if !voided {
            self.drawer += self.cash_net();
            self.remember_sale();
        }
        self.emit()
    }

    fn refund(&mut self, t0: i64, t1: i64) -> Result<(), Error> {
        let Some(orig) = self.take_returnable() else {
            return self.sale(t0, t1);
        };
        self.begin(Kind::Return, t0, t1);
        self.draft.reference = Some(orig.id);
        self.draft.reason = Some(self.rng.one(self.cd.words.return_reasons));
        let k = 1 + self.rng.below(orig.n_lines as u64) as usize;
        let first = self.rng.below(orig.n_lines as u64) as usize;
        for j in 0..k {
            let (pi, qty) = orig.lines[(first + j) % orig.n_lines];
            let q = self.rng.range(1, qty);
            let l = self.product_line(pi, q);
            self.cart.lines.push(l);
        }
        self.compute();
        self.pay_out(self.cart.totals.payable, orig.cash > 0);
        self.sign_receipt(-1, "RESO");
        self.drawer += self.cash_net();
        self.emit()
    }

    fn exchange(&mut self, t0: i64, t1: i64) -> Result<(), Error> {
        let Some(orig) = self.take_returnable() else {
            return self.sale(t0, t1);
        };
        self.begin(Kind::Exchange, t0, t1);
        self.draft.reference = Some(orig.id);
        self.draft.reason = Some(self.rng.one(self.cd.words.return_reasons));
        let (pi, _) = orig.lines[self.rng.below(orig.n_lines as u64) as usize];
        let l = self.product_line(pi, 1);
        self.cart.returned.push(l);
        for _ in 0..1 + self.rng.below(2) {
            let pi = self.rng.below(self.cd.products.len() as u64) as u16;
            let l = self.product_line(pi, 1);
            self.cart.lines.push(l);
        }
        self.compute();
        let net = self.cart.totals.payable;
        if net > 0 {
            self.pay_in(net, false, false);
        } else {
            self.pay_out(-net, orig.cash > 0);
        }
        self.sign_receipt(1, if net >= 0 { "VENDITA" } else { "RESO" });
        self.drawer += self.cash_net();
        self.emit()
    }

    /// Takes a random sale of today from the pool that a void can hand back: paid in EUR, and
    /// paid without cash if `cashless`, otherwise with no more cash than the drawer holds.
    fn take_voidable(&mut self, cashless: bool) -> Option<SaleRef> {
        let day = self.day;
        let drawer = self.drawer;
        let ok = |s: &SaleRef| {
            s.day == day
                && !s.foreign
                && if cashless {
                    s.cash == 0
                } else {
                    s.cash <= drawer
                }
        };
        let candidates = self.pool.iter().filter(|s| ok(s)).count();
        if candidates == 0 {
            return None;
        }
        let k = self.rng.below(candidates as u64) as usize;
        let i = self
            .pool
            .iter()
            .enumerate()
            .filter(|(_, s)| ok(s))
            .nth(k)
            .map(|(i, _)| i)
            .expect("counted above");
        self.pool.remove(i)
    }

    fn void(&mut self, t0: i64, t1: i64) -> Result<(), Error> {
        let Some(orig) = self.take_voidable(false) else {
            return self.sale(t0, t1);
        };
        self.void_of(&orig, t0, t1)
    }

    /// Writes a void of `orig`, handing back its cash.
    fn void_of(&mut self, orig: &SaleRef, t0: i64, t1: i64) -> Result<(), Error> {
        self.begin(Kind::Void, t0, t1);
        self.draft.reference = Some(orig.id);
        self.draft.reason = Some(self.rng.one(self.cd.words.void_reasons));
        let neg = orig.buckets.map(|b| -b);
        let d = &self.draft;
        match self.spec.country {
            // dsfinvk.md §6 "later void": a new Beleg with all signs inverted.
            Country::De => self.st.sign_de(
                &self.spec.identity,
                &mut self.fout,
                "Beleg",
                &neg,
                Some(orig.pays.negated()),
                d.started,
                Some(d.completed),
            ),
            Country::At => self.st.sign_at(
                &self.spec.identity,
                &mut self.fout,
                AtKind::Storno,
                &neg,
                d.completed,
                self.offset,
            ),
            Country::It => self.st.sign_it(
                &mut self.fout,
                &mut self.crypto,
                "ANNULLO",
                d.completed,
                self.transmitted,
            ),
        }
        self.drawer -= orig.cash;
        self.emit()
    }

    fn training(&mut self, t0: i64, t1: i64) -> Result<(), Error> {
        self.begin(Kind::Training, t0, t1);
        self.fill_cart(false, false);
        self.compute();
        let tip = self.has_tip();
        self.pay_in(self.cart.totals.payable, tip, false);
        let d = &self.draft;
        match self.spec.country {
            // DSFinV-K Anhang B: AVTraining is TSE-secured but carries no real payment.
            Country::De => {
                let b = self.buckets(1);
                self.st.sign_de(
                    &self.spec.identity,
                    &mut self.fout,
                    "AVTraining",
                    &b,
                    None,
                    d.started,
                    Some(d.completed),
                );
            }
            Country::At => {
                let b = self.buckets(1);
                self.st.sign_at(
                    &self.spec.identity,
                    &mut self.fout,
                    AtKind::Training,
                    &b,
                    d.completed,
                    self.offset,
                );
            }
            Country::It => {}
        }
        self.emit()
    }

    fn cancelled(&mut self, t0: i64, t1: i64) -> Result<(), Error> {
        self.begin(Kind::Sale, t0, t1);
        self.draft.state = State::Cancelled;
        self.fill_cart(false, false);
        self.compute();
        if self.spec.country == Country::De {
            // The TSE transaction was started, so it is finished as aborted (AVBelegabbruch).
            let d = &self.draft;
            self.st.sign_de(
                &self.spec.identity,
                &mut self.fout,
                "AVBelegabbruch",
                &[0; 5],
                None,
                d.started,
                Some(d.completed),
            );
        }
        self.emit()
    }

    fn open_sale(&mut self, t0: i64) -> Result<(), Error> {
        self.begin(Kind::Sale, t0, t0);
        self.draft.state = State::Open;
        self.fill_cart(false, false);
        self.compute();
        if self.spec.country == Country::De && self.spec.shape == Shape::Register {
            // API 000: the start of a sale is signed at once; the finish is still to come.
            self.st.sign_de(
                &self.spec.identity,
                &mut self.fout,
                "Beleg",
                &[0; 5],
                None,
                t0,
                None,
            );
        }
        self.emit()
    }

    fn deposit(&mut self, t0: i64, t1: i64) -> Result<(), Error> {
        if self.deposits.len() >= DEPOSITS {
            return self.sale(t0, t1);
        }
        let oi = self.rng.below(self.cd.deposit_orders.len() as u64) as usize;
        let o = &self.cd.deposit_orders[oi];
        let price = self.rng.range(o.price.0, o.price.1) / 100 * 100;
        let deposit = (price * self.rng.range(30, 50) / 100 / 1000 * 1000).max(1000);
        self.begin(Kind::Deposit, t0, t1);
        self.cart.lines.push(Line::new(
            LineKind::DepositOrder,
            o.deposit_text,
            o.sku,
            u16::MAX,
            1,
            deposit,
            &self.rates[o.rate],
        ));
        self.compute();
        self.pay_in(deposit, false, false);
        self.sign_receipt(1, "VENDITA");
        self.drawer += self.cash_net();
        let due = self.day + 1 + self.rng.below(4) as u32;
        self.deposits.push(PendingDeposit {
            id: self.draft.id,
            order: oi,
            price,
            deposit,
            due,
        });
        self.emit()
    }

    fn deposit_capture(&mut self, t0: i64, t1: i64) -> Result<(), Error> {
        let i = self
            .deposits
            .iter()
            .position(|d| d.due <= self.day)
            .expect("caller checked");
        let dep = self.deposits.remove(i);
        let o = &self.cd.deposit_orders[dep.order];
        self.begin(Kind::DepositCapture, t0, t1);
        self.draft.reference = Some(dep.id);
        let rate = &self.rates[o.rate];
        self.cart.lines.push(Line::new(
            LineKind::Item,
            o.goods,
            o.sku,
            u16::MAX,
            1,
            dep.price,
            rate,
        ));
        // DSFinV-K GV_TYP Anzahlungsaufloesung: the down payment comes off at the same rate.
        self.cart.lines.push(Line::new(
            LineKind::DepositRedeem,
            o.redeem_text,
            o.sku,
            u16::MAX,
            -1,
            dep.deposit,
            rate,
        ));
        self.compute();
        self.pay_in(dep.price - dep.deposit, false, false);
        self.sign_receipt(1, "VENDITA");
        self.drawer += self.cash_net();
        self.emit()
    }

    // ---- cash and sessions ----------------------------------------------------------------

    fn cash_movement(
        &mut self,
        t: i64,
        amount: i64,
        reason: &'static str,
        note: &'static str,
    ) -> Result<(), Error> {
        self.begin(Kind::CashMovement, t, t);
        self.draft.cash_amount = amount;
        self.draft.cash_reason = reason;
        self.draft.note = Some(note);
        self.sign_cash(amount);
        self.drawer += amount;
        self.emit()
    }

    /// The null receipt an Austrian register owes before the day's first receipt: the
    /// Startbeleg on its first day, then a Monatsbeleg on the first day of every later month
    /// (RKSV § 8 Abs 2; rksv.md §5). Elsewhere, none.
    fn null_receipt_due(&mut self) -> Option<AtKind> {
        if self.spec.country != Country::At {
            return None;
        }
        let month = self.date.year() * 12 + self.date.month() as i32;
        let kind = match self.null_receipt_month {
            None => AtKind::Start,
            Some(m) if m != month => AtKind::Null,
            Some(_) => return None,
        };
        self.null_receipt_month = Some(month);
        Some(kind)
    }

    /// Register shape: a null receipt is a cash movement of zero, since the shape has no
    /// session records to carry it.
    fn null_receipt(&mut self, kind: AtKind, local_ms: i64) -> Result<(), Error> {
        let t = self.at(local_ms);
        self.begin(Kind::CashMovement, t, t);
        self.draft.cash_amount = 0;
        self.draft.cash_reason = "null_receipt";
        self.draft.note = Some(match kind {
            AtKind::Start => "Startbeleg",
            _ => "Monatsbeleg",
        });
        self.sign_null(kind, t);
        self.emit()
    }

    /// Signs the current operation as an RKSV null receipt of `kind` at `t`.
    fn sign_null(&mut self, kind: AtKind, t: i64) {
        self.st.sign_at(
            &self.spec.identity,
            &mut self.fout,
            kind,
            &[0; 5],
            t,
            self.offset,
        );
    }

    fn float(&mut self, local_ms: i64) -> Result<(), Error> {
        let amount = self.rng.one(&[10_000, 15_000, 20_000]);
        self.drawer = 0;
        let t = self.at(local_ms);
        self.cash_movement(t, amount, "float", self.cd.words.float_note)
    }

    fn midday(&mut self, local_ms: i64) -> Result<(), Error> {
        let t = self.at(local_ms);
        let w = self.cd.words;
        match self.spec.shape {
            Shape::Register => {
                let (amount, reason, note) = if self.rng.chance(600) {
                    (
                        -self.rng.range(300, 2500),
                        "expense",
                        self.rng.one(w.expense_notes),
                    )
                } else {
                    (
                        -self.rng.one(&[5000, 10_000]),
                        "private_withdrawal",
                        w.withdrawal_note,
                    )
                };
                if self.drawer >= -amount + 1000 {
                    self.cash_movement(t, amount, reason, note)?;
                }
                Ok(())
            }
            Shape::Operations => {
                let out = self.rng.one(&[5000, 10_000]);
                let (amount, note) = if self.drawer >= out + 5000 && self.rng.chance(500) {
                    (-out, w.adjustment_notes.1)
                } else {
                    (self.rng.one(&[2000, 5000]), w.adjustment_notes.0)
                };
                self.begin(Kind::SessionCashAdjustment, t, t);
                self.draft.cash_amount = amount;
                self.draft.note = Some(note);
                self.sign_cash(amount);
                self.drawer += amount;
                self.emit()
            }
        }
    }

    fn bank_deposit(&mut self, local_ms: i64) -> Result<(), Error> {
        let t = self.at(local_ms);
        // The day's cash nets to zero: everything in the drawer goes to the bank.
        let amount = -self.drawer;
        self.cash_movement(t, amount, "bank_deposit", self.cd.words.bank_note)?;
        self.drawer = 0;
        Ok(())
    }

    fn session_open(&mut self, local_ms: i64) -> Result<(), Error> {
        self.session_num += 1;
        self.session = Sid::new();
        self.session
            .push_str("ses_")
            .push_str(&self.spec.tag)
            .push_byte(b'_')
            .push_num(self.session_num, 4);
        let t = self.at(local_ms);
        self.begin(Kind::SessionOpen, t, t);
        // The cash carries over: a session opens with what the previous one left in the
        // drawer (counted minus the closing pull, or the running drawer of a session that was
        // never closed). Only the very first session starts from a fresh float.
        if self.session_num == 1 {
            self.float = self.rng.one(&[10_000, 15_000, 20_000]);
            self.drawer = self.float;
        }
        self.draft.opening = self.drawer;
        self.draft.note = Some(self.cd.words.opening_note);
        self.session_open_id = self.draft.id;
        if let Some(kind) = self.null_receipt_due() {
            // v1.1: the session record that opens the month carries its null receipt.
            self.sign_null(kind, t);
        }
        // The opening float is a Vorgang (Anfangsbestand) even when the drawer is empty.
        if self.spec.country == Country::De {
            self.sign_cash(self.drawer);
        }
        self.emit()
    }

    fn cash_count(&mut self, local_ms: i64) -> Result<(), Error> {
        let t = self.at(local_ms);
        self.begin(Kind::SessionCashCount, t, t);
        let expected = self.drawer;
        let mut counted = expected;
        if self.rng.chance(200) {
            let diff = self.rng.range(10, 500) * if self.rng.chance(600) { -1 } else { 1 };
            counted = (expected + diff).max(0);
            self.draft.discrepancy_note = Some(self.rng.one(self.cd.words.discrepancy_notes));
        }
        self.draft.counted = counted;
        self.draft.expected = expected;
        let planned = self
            .planned(At::DayEnd(self.day))
            .filter(|p| p.action == Action::WrongCashCount);
        if planned.is_some() {
            self.draft.expected = expected + 1000;
            // Discrepancies stay within 5.00, so counted always differs from the wrong expected
            // amount; a note explains it, leaving the expected amount the only thing wrong.
            if self.draft.discrepancy_note.is_none() {
                self.draft.discrepancy_note = Some(self.rng.one(self.cd.words.discrepancy_notes));
            }
        }
        self.drawer = counted;
        self.sign_session_cash(self.draft.counted - self.draft.expected);
        self.emit()?;
        if let Some(p) = planned {
            self.record(
                p,
                self.last_id,
                format!(
                    "expected_closing_amount {} is 10.00 more than opening + cash in − cash out + adjustments = {}; closing_cashcount_diff {} is counted {} − the stated expected amount, and discrepancy_note explains the difference",
                    amount_text(expected + 1000),
                    amount_text(expected),
                    amount_text(counted - expected - 1000),
                    amount_text(counted)
                ),
            );
        }
        Ok(())
    }

    fn session_close(&mut self, local_ms: i64) -> Result<(), Error> {
        let t = self.at(local_ms);
        self.begin(Kind::SessionClose, t, t);
        let mut date = Sid::new();
        date.push_str(&self.date.format("%Y-%m-%d").to_string());
        self.draft.business_date = date;
        if self.drawer > self.float + 5000 && self.rng.chance(600) {
            // Everything above the float goes into the safe, in whole tens; the float carries
            // over to the next session.
            let pull = (self.drawer - self.float) / 1000 * 1000;
            self.draft.closing_adj = Some(-pull);
            self.draft.closing_note = Some(self.cd.words.closing_pull_note);
            self.drawer -= pull;
            self.sign_session_cash(-pull);
        }
        self.emit()
    }

    // ---- planted anomalies ----------------------------------------------------------------

    /// The unclosed-session anomaly: the day ends without count and close; the next day's
    /// `session_open` opens a new session with the drawer as it is.
    fn leave_session_open(&mut self, p: Planned) {
        let what = format!(
            "session {} opened here on {} gets no session_cash_count and no session_close; the next day's session_open opens a new session anyway, with opening_balance_amount = the cash left in the drawer ({}), so the carry-over still holds",
            self.session.as_str(),
            self.date,
            amount_text(self.drawer)
        );
        self.record(p, self.session_open_id, what);
    }

    /// A timestamp in the register's wire style, for descriptions.
    fn stamp(&self, secs: i64) -> Sid {
        match self.spec.shape {
            Shape::Register => timestamp(secs, 0, TsStyle::Utc),
            Shape::Operations => timestamp(secs, self.offset, TsStyle::Offset),
        }
    }

    fn planted(&mut self, p: Planned, t0: i64, t1: i64) -> Result<(), Error> {
        match p.action {
            Action::SequenceGap => {
                let before = self.seq;
                self.seq += 1;
                self.sale(t0, t1)?;
                self.record(
                    p,
                    self.last_id,
                    format!(
                        "sequence_number jumps from {before} to {}; {} is missing",
                        before + 2,
                        before + 1
                    ),
                );
                Ok(())
            }
            Action::DanglingReturn => {
                self.begin(Kind::Return, t0, t1);
                let mut missing = Sid::new();
                missing
                    .push_str("op_")
                    .push_str(&self.spec.tag)
                    .push_str("_9")
                    .push_num(self.op_num, 8);
                self.draft.reference = Some(missing);
                self.draft.reason = Some(self.cd.words.return_reasons[0]);
                self.fill_cart(true, false);
                self.compute();
                self.pay_out(self.cart.totals.payable, false);
                self.sign_receipt(-1, "RESO");
                self.emit()?;
                self.record(
                    p,
                    self.last_id,
                    format!(
                        "return of {} references {}, which is not an operation of this history",
                        amount_text(self.cart.totals.payable),
                        missing.as_str()
                    ),
                );
                Ok(())
            }
            Action::BrokenSale => self.broken_sale(p, t0, t1),
            Action::OpenSale => {
                self.open_sale(t0)?;
                let what = match (self.spec.shape, self.spec.country) {
                    (Shape::Register, Country::De) => {
                        "state open: lines and totals but no payments and no completed_at; its TSE transaction has the start event only (fiscal_state pending)"
                    }
                    (Shape::Register, _) => {
                        "state open: lines and totals but no payments, no completed_at and no fiscal block (fiscal_state pending)"
                    }
                    (Shape::Operations, _) => {
                        "status open: lines and totals but no payments, no completed_at and no fiscal_information"
                    }
                };
                let close = match self.spec.shape {
                    Shape::Register => "the evening bank_deposit",
                    Shape::Operations => "session_cash_count and session_close",
                };
                self.record(
                    p,
                    self.last_id,
                    format!(
                        "the last goods operation of the history is a sale left {what}; the day still ends with {close}"
                    ),
                );
                Ok(())
            }
            Action::ClockBackwards => {
                let previous = self.last_id;
                let before = self.prev_started;
                let back = before - 2 * 3600;
                self.sale(back, back + (t1 - t0))?;
                self.record(
                    p,
                    self.last_id,
                    format!(
                        "created_at/started_at {} is 2 hours before {}, the created_at of {} written just before it; completed_at and the fiscal signing times moved with it, sequence number and fiscal counters keep their order",
                        self.stamp(back).as_str(),
                        self.stamp(before).as_str(),
                        previous.as_str()
                    ),
                );
                Ok(())
            }
            Action::OverReturn => self.over_return(p, t0, t1),
            Action::DoubleVoid => self.double_void(p, t0, t1),
            Action::WrongCashCount | Action::UnclosedSession => unreachable!("planned at day end"),
        }
    }

    /// A completed one-line sale paid by card, not kept for later returns: the original for an
    /// anomaly that needs one when the pool has none that fits.
    fn plain_card_sale(&mut self, t0: i64, t1: i64) -> Result<SaleRef, Error> {
        self.begin(Kind::Sale, t0, t1);
        self.fill_cart(true, false);
        self.cart.lines.truncate(1);
        self.compute();
        let pay = self.card(Method::Card, self.cart.totals.payable, false);
        self.cart.pays.push(pay);
        self.sign_receipt(1, "VENDITA");
        self.emit()?;
        self.remember_sale();
        Ok(self.pool.pop_back().expect("just remembered"))
    }

    /// Takes a random pool entry with a line whose product appears nowhere else in the sale,
    /// and that line's index.
    fn take_over_returnable(&mut self) -> Option<(SaleRef, usize)> {
        let n = self.pool.iter().filter(|s| s.unique != 0).count();
        if n == 0 {
            return None;
        }
        let k = self.rng.below(n as u64) as usize;
        let i = self
            .pool
            .iter()
            .enumerate()
            .filter(|(_, s)| s.unique != 0)
            .nth(k)
            .map(|(i, _)| i)?;
        let s = self.pool.remove(i)?;
        let j = s.unique.trailing_zeros() as usize;
        Some((s, j))
    }

    fn over_return(&mut self, p: Planned, t0: i64, t1: i64) -> Result<(), Error> {
        let (orig, j, start) = match self.take_over_returnable() {
            Some((orig, j)) => (orig, j, t0),
            None => {
                let mid = t0 + (t1 - t0) / 2;
                (self.plain_card_sale(t0, mid)?, 0, mid)
            }
        };
        let (pi, sold) = orig.lines[j];
        self.begin(Kind::Return, start, t1);
        self.draft.reference = Some(orig.id);
        self.draft.reason = Some(self.rng.one(self.cd.words.return_reasons));
        let l = self.product_line(pi, sold + 1);
        self.cart.lines.push(l);
        self.compute();
        self.pay_out(self.cart.totals.payable, orig.cash > 0);
        self.sign_receipt(-1, "RESO");
        self.drawer += self.cash_net();
        self.emit()?;
        self.record(
            p,
            self.last_id,
            format!(
                "returns {} × {} ({}) against {}, which sold {sold} of it: one more than sold; the return's amounts, VAT and refund ({}) are consistent for {}",
                sold + 1,
                l.name,
                l.sku,
                orig.id.as_str(),
                amount_text(self.cart.totals.payable),
                sold + 1
            ),
        );
        Ok(())
    }

    fn double_void(&mut self, p: Planned, t0: i64, t1: i64) -> Result<(), Error> {
        // A sale paid without cash: the second void then moves no cash the drawer lacks.
        let (orig, start) = match self.take_voidable(true) {
            Some(orig) => (orig, t0),
            None => {
                let third = t0 + (t1 - t0) / 3;
                (self.plain_card_sale(t0, third)?, third)
            }
        };
        let mid = start + (t1 - start) / 2;
        self.void_of(&orig, start, mid)?;
        let first = self.last_id;
        self.void_of(&orig, mid, t1)?;
        self.record(
            p,
            self.last_id,
            format!(
                "a second void of {}, which {} already voided; like the first it negates the sale's fiscal amounts (the sale was paid without cash, so no cash moves)",
                orig.id.as_str(),
                first.as_str()
            ),
        );
        Ok(())
    }

    /// The two lines of the tax-mismatch sale, at one rate: of all catalog items (and
    /// quantities) the two whose VAT was rounded down the most. Line 1's tax one cent up then
    /// lies about as far above the exact VAT as it was below, and line 2's rounding down
    /// offsets the rest, so the breakdown row still matches net × rate within rounding
    /// (VAT002) and only the line's own VAT computation is wrong (VAT001).
    fn tax_mismatch_lines(&mut self) {
        let cd = self.cd;
        // (rounded − exact VAT in cents, product, quantity), per rate.
        let mut best: Option<(f64, [(u16, i64); 2])> = None;
        for (ri, rate) in self.rates.iter().enumerate() {
            if rate.percent == 0 {
                continue;
            }
            let mut cands: Vec<(f64, u16, i64)> = Vec::new();
            for (pi, p) in cd.products.iter().enumerate() {
                if p.rate != ri {
                    continue;
                }
                for q in 1..=p.max_qty {
                    let gross = q * p.price;
                    let exact =
                        gross as f64 * f64::from(rate.percent) / f64::from(100 + rate.percent);
                    cands.push((vat_included(gross, rate) as f64 - exact, pi as u16, q));
                }
            }
            cands.sort_by(|a, b| a.0.total_cmp(&b.0));
            let Some(&(e1, p1, q1)) = cands.first() else {
                continue;
            };
            let Some(&(e2, p2, q2)) = cands.iter().find(|c| c.1 != p1) else {
                continue;
            };
            if best.is_none_or(|(e, _)| e1 + e2 < e) {
                best = Some((e1 + e2, [(p1, q1), (p2, q2)]));
            }
        }
        let (_, pair) = best.expect("every catalog has two products at one rate");
        for (pi, q) in pair {
            let l = self.product_line(pi, q);
            self.cart.lines.push(l);
        }
    }

    /// The rt-document-number anomaly on the RT document just signed, and its description.
    /// v1.1: `document_number` names the next progressive number (the previous one when the
    /// document is the closing's 9999th), while `daily_closing_number` and
    /// `progressive_number` stay right, so the counters run on without a gap. Register shape,
    /// whose block carries the printed number only: the number without its zero padding
    /// (`42-7`), or, where both parts already have four digits, with a five-digit closing
    /// number; its parts still read as the right counters.
    fn misprint_document_number(&mut self, total: i64) -> String {
        let (z, p) = (u64::from(self.fout.z), self.fout.counter);
        let right = self.fout.doc_number;
        let mut wrong = Sid::new();
        let what = match self.spec.shape {
            Shape::Operations => {
                let named = if p < 9999 { p + 1 } else { p - 1 };
                wrong.push_num(z, 4).push_byte(b'-').push_num(named, 4);
                format!(
                    "sale of {}: fiscal_information.document_number {} names progressive number {named}, while daily_closing_number {z} and progressive_number {p} are this document's ({}); the counters run on without a gap",
                    amount_text(total),
                    wrong.as_str(),
                    right.as_str()
                )
            }
            Shape::Register => {
                if z < 1000 || p < 1000 {
                    wrong.push_num(z, 1).push_byte(b'-').push_num(p, 1);
                } else {
                    wrong.push_num(z, 5).push_byte(b'-').push_num(p, 4);
                }
                format!(
                    "sale of {}: fiscal.document_number {} is not ZZZZ-NNNN ({} with four digits each); its parts still read as daily closing {z}, document {p}, so the counters run on without a gap",
                    amount_text(total),
                    wrong.as_str(),
                    right.as_str()
                )
            }
        };
        self.fout.doc_number = wrong;
        what
    }

    fn broken_sale(&mut self, p: Planned, t0: i64, t1: i64) -> Result<(), Error> {
        let previous = self.last_id;
        self.begin(Kind::Sale, t0, t1);
        if p.anomaly == Anomaly::TaxMismatch {
            self.tax_mismatch_lines();
        } else {
            self.fill_cart(true, false);
        }
        if p.anomaly == Anomaly::VatRate {
            let l = self.cart.lines[0];
            let rate = invalid_rate(self.spec.country, self.date);
            self.cart.lines[0] = Line::new(l.kind, l.name, l.sku, l.product, l.qty, l.unit, rate);
        }
        self.compute();
        let register = self.spec.shape == Shape::Register;
        let what = match p.anomaly {
            Anomaly::DuplicateId => {
                self.draft.id = previous;
                String::new()
            }
            Anomaly::TaxMismatch => {
                let l = self.cart.lines[0];
                let right = vat_included(l.total, l.rate);
                self.cart.lines[0].tax += 1;
                self.retotal();
                let field = if register {
                    "tax.tax_amount"
                } else {
                    "taxes[0].tax_amount"
                };
                let follow = if register {
                    "taxable_amount and total_net are 0.01 lower so that net + tax = gross; the totals and the tax_breakdown sum the lines"
                } else {
                    "the operation's tax_amount is 0.01 higher and pretax_amount 0.01 lower, so the totals still add up"
                };
                format!(
                    "line 1 ({}): {field} {} but {} at {} contains {} VAT: 0.01 too much; {follow}",
                    l.name,
                    amount_text(right + 1),
                    amount_text(l.total),
                    l.rate.wire,
                    amount_text(right)
                )
            }
            Anomaly::VatRate => {
                let l = self.cart.lines[0];
                let fiscal = match self.spec.country {
                    Country::De => {
                        "; the TSE processData counts it in the general-rate slot (the first)"
                    }
                    Country::At => "; the RKSV code counts it under Betrag-Satz-Besonders",
                    Country::It => "",
                };
                format!(
                    "line 1 ({}) is taxed at {}, which is not a VAT rate of {} on {}; its tax {} on {}, its net and the totals are consistent with that rate{fiscal}",
                    l.name,
                    l.rate.wire,
                    self.cd.code,
                    self.date,
                    amount_text(l.tax),
                    amount_text(l.total)
                )
            }
            _ => String::new(),
        };
        let total = self.cart.totals.payable;
        let pay = self.card(Method::Card, total, false);
        self.cart.pays.push(pay);
        let what = match p.anomaly {
            Anomaly::TotalMismatch => {
                let t = &mut self.cart.totals;
                // Register shape: the totals claim a cent the lines do not have, consistently
                // among themselves (gross = net + tax, net_payable = gross). v1.1: only
                // total_amount does (pretax_amount is written as gross − tax and stays right).
                if register {
                    t.gross += 1;
                    t.net += 1;
                    t.after_all += 1;
                }
                t.payable += 1;
                self.cart.pays[0].amount += 1;
                if register {
                    format!(
                        "totals.total_gross {} and totals.total_net are 0.01 more than the sums of the lines' total_gross ({}) and total_net; subtotal_after_all_discounts, net_payable and the payment carry the same extra cent",
                        amount_text(total + 1),
                        amount_text(total)
                    )
                } else {
                    format!(
                        "total_amount {} is 0.01 more than pretax_amount + tax_amount + tip_amount = {}; the payment carries the same extra cent",
                        amount_text(total + 1),
                        amount_text(total)
                    )
                }
            }
            Anomaly::PaymentMismatch => {
                self.cart.pays[0].amount -= 100;
                format!(
                    "payments sum to {} but the operation total is {}: 1.00 short",
                    amount_text(total - 100),
                    amount_text(total)
                )
            }
            Anomaly::FiscalCounterGap | Anomaly::SequenceGap => {
                self.st.skip_next = true;
                String::new()
            }
            Anomaly::BadSignature => {
                self.st.corrupt_signature_next = true;
                String::new()
            }
            Anomaly::WrongProcessData => {
                self.st.inflate_process_data_next = true;
                String::new()
            }
            _ => what,
        };
        if p.anomaly == Anomaly::FiscalFailed {
            self.draft.fiscal_failed = true;
        } else {
            self.sign_receipt(1, "VENDITA");
        }
        let what = if p.anomaly == Anomaly::RtDocumentNumber {
            self.misprint_document_number(total)
        } else {
            what
        };
        self.emit()?;
        let what = match p.anomaly {
            Anomaly::DuplicateId => format!(
                "a second, different sale (sale of {}) reuses the id {} of the operation written just before it",
                amount_text(total),
                previous.as_str()
            ),
            Anomaly::FiscalFailed => format!(
                "completed sale of {}, paid by card, was not fiscalised: {}; it used no fiscal counter, so the next signed operation follows without a gap",
                amount_text(total),
                if register {
                    "fiscal_state failed and no fiscal block"
                } else {
                    "fiscal_information null"
                }
            ),
            Anomaly::BadSignature => format!(
                "sale of {}: the TSE finish signature (transaction {}, signature counter {}) has one bit flipped in its first byte, in the fiscal block and the QR code alike",
                amount_text(total),
                self.fout.counter,
                self.fout.sig_counter
            ),
            Anomaly::WrongProcessData => format!(
                "sale of {}: the TSE signed processData {} (1.00 more in the first used VAT slot and in the payment) with a valid signature; the lines and payments say {}",
                amount_text(total),
                self.fout.process_data,
                amount_text(total)
            ),
            Anomaly::FiscalCounterGap | Anomaly::SequenceGap => {
                let skipped = self.fout.skipped.expect("the sale was signed");
                match self.spec.country {
                    Country::De => format!(
                        "TSE transaction counter jumps from {} to {}: transaction {skipped} is missing (document_number {})",
                        skipped - 1,
                        skipped + 1,
                        self.fout.doc_number.as_str()
                    ),
                    Country::At => format!(
                        "RKSV receipt number jumps from {} to {}: receipt {skipped} is missing",
                        skipped - 1,
                        skipped + 1
                    ),
                    Country::It if skipped == 1 => format!(
                        "RT daily closing {} starts at progressive number 2: document {:04}-0001 is missing",
                        self.fout.z, self.fout.z
                    ),
                    Country::It => format!(
                        "RT progressive number jumps from {} to {} within daily closing {}: document {:04}-{:04} is missing",
                        skipped - 1,
                        skipped + 1,
                        self.fout.z,
                        self.fout.z,
                        skipped
                    ),
                }
            }
            _ => what,
        };
        self.record(p, self.last_id, what);
        Ok(())
    }
}
