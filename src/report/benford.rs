//! Benford's-law tests over amounts: the first-digit and first-two-digits tests as German and
//! Austrian tax auditors run them.
//!
//! # What the tests are
//!
//! Benford's law says that in many naturally arising collections of amounts the leading
//! significant digits are not uniform: the first digit `d` (1–9) occurs with probability
//! `log10(1 + 1/d)` (a 1 about 30.1 % of the time, a 9 about 4.6 %), and the first two digits
//! `dd` (10–99) with probability `log10(1 + 1/dd)`. Invented or manipulated amounts tend to
//! break that pattern: people favour some digits, avoid others, and stay below thresholds.
//!
//! # Why auditors use them
//!
//! In a German Betriebsprüfung the tax administration's "Summarische Risikoprüfung" (SRP) runs
//! a battery of statistical tests over the digital records a business has to hand over,
//! Benford's first-digit and first-two-digits tests among them; Austrian auditors of the
//! Finanzverwaltung use the same family of tests. The practitioner's reference for how the
//! tests are run and judged is Mark J. Nigrini, *Benford's Law: Applications for Forensic
//! Accounting, Auditing, and Fraud Detection* (Wiley, 2012), and this module follows it:
//!
//! - **Population.** Only amounts of at least 10 are analysed, for both tests (Nigrini's
//!   practice: amounts below 10 have no two leading significant digits and are often
//!   dominated by small fixed prices). Zero and amounts below 10 are *excluded* and counted as
//!   such, so the report can say how much of the data the tests saw. The sign is ignored: the
//!   digits are those of `|amount|`, and negative amounts are counted on the side.
//! - **Per-digit z statistic** with continuity correction:
//!   `z = (|p_o − p_e| − 1/(2n)) / sqrt(p_e (1 − p_e) / n)`, where the correction `1/(2n)` is
//!   applied only when it is smaller than `|p_o − p_e|`. `|z| > 1.96` is significant at 5 %.
//! - **Chi-square** `Σ (O − E)² / E` with `E = n · p_e`, 8 degrees of freedom for the first
//!   digit and 89 for the first two digits; the critical values at α = 0.05 are 15.507 and
//!   112.022 (standard χ² table).
//! - **MAD**, the mean absolute deviation `Σ |p_o − p_e| / k` over the k digits (9 or 90),
//!   judged by Nigrini's (2012) conformity thresholds, which unlike chi-square do not depend
//!   on n: first digit 0.006 (close conformity), 0.012 (acceptable), 0.015 (marginally
//!   acceptable), above: nonconformity; first two digits 0.0012, 0.0018 and 0.0022.
//! - **Enough data.** Below 100 amounts (first digit) or 1000 amounts (first two digits) the
//!   verdicts are "too few": the statistics are still computed, but not judged.
//!
//! # What a failed test means
//!
//! A failed test is a reason to look, not proof. Many honest businesses do not follow
//! Benford's law at all (fixed menu prices, a narrow price range, amounts capped by a
//! policy), and chi-square rejects almost everything once n is large. German case law, too,
//! treats such statistical findings as indications that call for an explanation, not as
//! evidence of manipulation on their own.
//!
//! # Numbers
//!
//! The leading digits are found exactly from the `Decimal`'s mantissa and scale, never through
//! a float. The test statistics are `f64`: they are statistics, not money, and nothing is
//! booked or exported from them. Everything here is deterministic (arrays and `BTreeMap`s
//! keyed by the digit), and [`Benford::merge`] lets registers be counted in parallel.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Significance threshold for the per-digit z statistic (two-sided, α = 0.05).
pub const Z_CRITICAL_5: f64 = 1.96;

/// Chi-square critical value at α = 0.05 with 8 degrees of freedom (first-digit test).
pub const CHI_SQUARE_CRITICAL_FIRST_DIGIT: f64 = 15.507;

/// Chi-square critical value at α = 0.05 with 89 degrees of freedom (first-two-digits test).
pub const CHI_SQUARE_CRITICAL_FIRST_TWO: f64 = 112.022;

/// Number of first digits (1–9).
const N_FIRST: usize = 9;
/// Number of first-two-digit combinations (10–99).
const N_FIRST_TWO: usize = 90;

/// Which Benford test to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Test {
    /// The first significant digit, 1–9.
    FirstDigit,
    /// The first two significant digits, 10–99.
    FirstTwoDigits,
}

impl Test {
    /// The smallest and largest digit (or digit pair) of this test.
    pub fn digits(self) -> std::ops::RangeInclusive<u8> {
        match self {
            Test::FirstDigit => 1..=9,
            Test::FirstTwoDigits => 10..=99,
        }
    }

    /// Chi-square degrees of freedom: the number of digits minus one (8 and 89).
    pub fn degrees_of_freedom(self) -> u32 {
        match self {
            Test::FirstDigit => 8,
            Test::FirstTwoDigits => 89,
        }
    }

    /// Chi-square critical value at α = 0.05 for [`Test::degrees_of_freedom`].
    pub fn chi_square_critical(self) -> f64 {
        match self {
            Test::FirstDigit => CHI_SQUARE_CRITICAL_FIRST_DIGIT,
            Test::FirstTwoDigits => CHI_SQUARE_CRITICAL_FIRST_TWO,
        }
    }

    /// Nigrini's (2012) MAD thresholds: close, acceptable and marginally acceptable conformity.
    pub fn mad_thresholds(self) -> [f64; 3] {
        match self {
            Test::FirstDigit => [0.006, 0.012, 0.015],
            Test::FirstTwoDigits => [0.0012, 0.0018, 0.0022],
        }
    }

    /// The smallest number of amounts for which the verdicts are given (100 and 1000).
    pub fn min_n(self) -> u64 {
        match self {
            Test::FirstDigit => 100,
            Test::FirstTwoDigits => 1000,
        }
    }
}

/// Benford's expected proportion of a first digit (1–9) or first-two-digit pair (10–99):
/// `log10(1 + 1/d)`.
pub fn expected_proportion(digits: u8) -> f64 {
    (1.0 + 1.0 / f64::from(digits)).log10()
}

/// What [`leading_digits`] found for one amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leading {
    /// The amount is zero.
    Zero,
    /// `0 < |amount| < 10`: no two leading significant digits; excluded from both tests.
    BelowTen,
    /// `|amount| ≥ 10`: its first two significant digits, 10–99 (the first digit is `/ 10`).
    Digits(u8),
}

/// The first two significant digits of `|amount|`, found exactly from mantissa and scale.
pub fn leading_digits(amount: Decimal) -> Leading {
    let mantissa = amount.mantissa().unsigned_abs();
    if mantissa == 0 {
        return Leading::Zero;
    }
    // The value is mantissa · 10^-scale; mantissa has n_digits decimal digits, so the integer
    // part has n_digits - scale of them, and the value is ≥ 10 exactly when that is ≥ 2.
    let n_digits = mantissa.ilog10() + 1;
    if n_digits < amount.scale() + 2 {
        return Leading::BelowTen;
    }
    let pair = mantissa / 10u128.pow(n_digits - 2);
    // n_digits ≥ 2 here, so 10 ≤ pair ≤ 99 and the cast is lossless.
    Leading::Digits(pair as u8)
}

/// A single-pass accumulator of leading-digit counts; add amounts one by one, merge partial
/// accumulators, then ask for a [`BenfordResult`] per [`Test`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Benford {
    /// Count per first-two-digit pair; index `pair - 10`. The first-digit counts are derived.
    #[serde(
        rename = "first_two_digits",
        serialize_with = "serialize_counts",
        deserialize_with = "deserialize_counts"
    )]
    first_two: [u64; N_FIRST_TWO],
    /// Amounts added, included or not.
    n_added: u64,
    /// Excluded: zero.
    n_zero: u64,
    /// Excluded: `0 < |amount| < 10`.
    n_below_ten: u64,
    /// Negative amounts among those included (their digits are those of `|amount|`).
    n_negative: u64,
}

impl Default for Benford {
    fn default() -> Self {
        Benford {
            first_two: [0; N_FIRST_TWO],
            n_added: 0,
            n_zero: 0,
            n_below_ten: 0,
            n_negative: 0,
        }
    }
}

fn serialize_counts<S: Serializer>(counts: &[u64; N_FIRST_TWO], s: S) -> Result<S::Ok, S::Error> {
    let map: BTreeMap<u8, u64> = (10u8..=99).zip(counts.iter().copied()).collect();
    map.serialize(s)
}

/// The counts per pair as `serialize_counts` writes them (a pair left out counts zero).
fn deserialize_counts<'de, D: Deserializer<'de>>(d: D) -> Result<[u64; N_FIRST_TWO], D::Error> {
    let mut counts = [0; N_FIRST_TWO];
    for (pair, n) in BTreeMap::<u8, u64>::deserialize(d)? {
        if !(10..=99).contains(&pair) {
            return Err(serde::de::Error::custom(format!(
                "{pair} is not a pair of first digits"
            )));
        }
        counts[usize::from(pair - 10)] = n;
    }
    Ok(counts)
}

impl Benford {
    /// Counts one amount: its first two significant digits if `|amount| ≥ 10`, otherwise it is
    /// counted as excluded (zero or below ten). Never panics.
    pub fn add(&mut self, amount: Decimal) {
        self.n_added += 1;
        match leading_digits(amount) {
            Leading::Zero => self.n_zero += 1,
            Leading::BelowTen => self.n_below_ten += 1,
            Leading::Digits(pair) => {
                self.first_two[usize::from(pair - 10)] += 1;
                if amount.is_sign_negative() {
                    self.n_negative += 1;
                }
            }
        }
    }

    /// Adds another accumulator's counts to this one (e.g. one per register, counted in
    /// parallel); the result equals having added all amounts here.
    pub fn merge(&mut self, other: &Benford) {
        for (mine, theirs) in self.first_two.iter_mut().zip(other.first_two.iter()) {
            *mine += theirs;
        }
        self.n_added += other.n_added;
        self.n_zero += other.n_zero;
        self.n_below_ten += other.n_below_ten;
        self.n_negative += other.n_negative;
    }

    /// Amounts added, included or not.
    pub fn n_added(&self) -> u64 {
        self.n_added
    }

    /// Amounts the tests analyse (`|amount| ≥ 10`), the same for both tests.
    pub fn n_included(&self) -> u64 {
        self.first_two.iter().sum()
    }

    /// Amounts excluded from both tests: zero or below ten.
    pub fn n_excluded(&self) -> u64 {
        self.n_zero + self.n_below_ten
    }

    /// Excluded amounts that were zero.
    pub fn n_zero(&self) -> u64 {
        self.n_zero
    }

    /// Excluded amounts with `0 < |amount| < 10`.
    pub fn n_below_ten(&self) -> u64 {
        self.n_below_ten
    }

    /// Included amounts that were negative.
    pub fn n_negative(&self) -> u64 {
        self.n_negative
    }

    /// Observed counts of a test, index 0 for its first digit (1 or 10).
    fn counts(&self, test: Test) -> Vec<u64> {
        match test {
            Test::FirstTwoDigits => self.first_two.to_vec(),
            Test::FirstDigit => {
                let mut first = vec![0u64; N_FIRST];
                for (idx, count) in self.first_two.iter().enumerate() {
                    // Pair idx + 10 has first digit (idx + 10) / 10, at index that minus one.
                    first[(idx + 10) / 10 - 1] += count;
                }
                first
            }
        }
    }

    /// The statistics and verdicts of one test over the amounts counted so far.
    ///
    /// With no included amounts every proportion and statistic is 0 and the verdicts are
    /// "too few".
    pub fn result(&self, test: Test) -> BenfordResult {
        let counts = self.counts(test);
        let n: u64 = counts.iter().sum();
        // Lossless below 2^53 amounts; these are statistics, not money.
        let n_f = n as f64;
        let mut digits = BTreeMap::new();
        let mut chi_square = 0.0;
        let mut sum_abs_dev = 0.0;
        for (digit, observed) in test.digits().zip(counts.iter().copied()) {
            let expected = expected_proportion(digit);
            let (observed_proportion, z) = if n == 0 {
                (0.0, 0.0)
            } else {
                let p_o = observed as f64 / n_f;
                let diff = (p_o - expected).abs();
                let correction = 1.0 / (2.0 * n_f);
                // Nigrini: the continuity correction only when it is smaller than |p_o − p_e|.
                let numerator = if correction < diff {
                    diff - correction
                } else {
                    diff
                };
                let z = numerator / (expected * (1.0 - expected) / n_f).sqrt();
                (p_o, z)
            };
            if n > 0 {
                let e = n_f * expected;
                chi_square += (observed as f64 - e).powi(2) / e;
                sum_abs_dev += (observed_proportion - expected).abs();
            }
            digits.insert(
                digit,
                DigitResult {
                    observed,
                    observed_proportion,
                    expected_proportion: expected,
                    z,
                    significant: z > Z_CRITICAL_5,
                },
            );
        }
        let enough = n >= test.min_n();
        let critical_value = test.chi_square_critical();
        let chi_verdict = if !enough {
            ChiSquareVerdict::TooFew
        } else if chi_square <= critical_value {
            ChiSquareVerdict::Pass
        } else {
            ChiSquareVerdict::Fail
        };
        let mad = if n == 0 {
            0.0
        } else {
            sum_abs_dev / counts.len() as f64
        };
        let [close, acceptable, marginal] = test.mad_thresholds();
        let mad_verdict = if !enough {
            Conformity::TooFew
        } else if mad <= close {
            Conformity::Close
        } else if mad <= acceptable {
            Conformity::Acceptable
        } else if mad <= marginal {
            Conformity::MarginallyAcceptable
        } else {
            Conformity::Nonconformity
        };
        BenfordResult {
            test,
            n,
            n_excluded: self.n_excluded(),
            min_n: test.min_n(),
            enough,
            digits,
            chi_square: ChiSquare {
                statistic: chi_square,
                degrees_of_freedom: test.degrees_of_freedom(),
                alpha: 0.05,
                critical_value,
                verdict: chi_verdict,
            },
            mad: Mad {
                value: mad,
                thresholds: test.mad_thresholds(),
                verdict: mad_verdict,
            },
        }
    }
}

/// One digit's (or digit pair's) row of a test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DigitResult {
    /// Amounts with this leading digit (pair).
    pub observed: u64,
    /// `observed / n`.
    pub observed_proportion: f64,
    /// `log10(1 + 1/d)`.
    pub expected_proportion: f64,
    /// Nigrini's z statistic with continuity correction (see the module doc).
    pub z: f64,
    /// `z > 1.96`: the deviation is significant at 5 %.
    pub significant: bool,
}

/// Chi-square verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChiSquareVerdict {
    /// Statistic at or below the critical value.
    Pass,
    /// Statistic above the critical value.
    Fail,
    /// Fewer amounts than [`Test::min_n`]: not judged.
    TooFew,
}

/// The chi-square test of one Benford test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChiSquare {
    /// `Σ (O − E)² / E`.
    pub statistic: f64,
    /// 8 (first digit) or 89 (first two digits).
    pub degrees_of_freedom: u32,
    /// Significance level of the critical value: 0.05.
    pub alpha: f64,
    /// 15.507 or 112.022.
    pub critical_value: f64,
    /// Pass, fail, or too few amounts to judge.
    pub verdict: ChiSquareVerdict,
}

/// MAD conformity by Nigrini's (2012) thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conformity {
    /// MAD at or below the first threshold.
    Close,
    /// MAD at or below the second threshold.
    Acceptable,
    /// MAD at or below the third threshold.
    MarginallyAcceptable,
    /// MAD above the third threshold.
    Nonconformity,
    /// Fewer amounts than [`Test::min_n`]: not judged.
    TooFew,
}

/// The mean absolute deviation of one Benford test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mad {
    /// `Σ |p_o − p_e| / k` over the k digits.
    pub value: f64,
    /// Close, acceptable and marginally acceptable conformity thresholds.
    pub thresholds: [f64; 3],
    /// The conformity verdict.
    pub verdict: Conformity,
}

/// One Benford test's statistics and verdicts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenfordResult {
    /// Which test.
    pub test: Test,
    /// Amounts analysed (`|amount| ≥ 10`).
    pub n: u64,
    /// Amounts excluded (zero or below ten).
    pub n_excluded: u64,
    /// Amounts needed for a verdict.
    pub min_n: u64,
    /// `n ≥ min_n`; otherwise both verdicts are "too few".
    pub enough: bool,
    /// Per digit (1–9) or digit pair (10–99).
    pub digits: BTreeMap<u8, DigitResult>,
    /// The chi-square test.
    pub chi_square: ChiSquare,
    /// The MAD test.
    pub mad: Mad,
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proptest::prelude::*;

    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn of(amounts: impl IntoIterator<Item = Decimal>) -> Benford {
        let mut b = Benford::default();
        for a in amounts {
            b.add(a);
        }
        b
    }

    /// Amounts 10^(1 + i/N) rounded to cents, i = 0..=N: close to Benford's distribution.
    fn benford_sample(n: u32) -> Vec<Decimal> {
        (0..=n)
            .map(|i| {
                let x = 10f64.powf(1.0 + f64::from(i) / f64::from(n));
                Decimal::new((x * 100.0).round() as i64, 2)
            })
            .collect()
    }

    /// Amounts 10.00, 10.01, …, 99.99: uniform leading digits.
    fn uniform_sample() -> Vec<Decimal> {
        (1000i64..=9999).map(|c| Decimal::new(c, 2)).collect()
    }

    #[test]
    fn leading_digits_of_edge_values_are_exact() {
        assert_eq!(leading_digits(Decimal::ZERO), Leading::Zero);
        assert_eq!(leading_digits(dec("0.00")), Leading::Zero);
        assert_eq!(leading_digits(dec("-0.000")), Leading::Zero);
        assert_eq!(leading_digits(dec("0.01")), Leading::BelowTen);
        assert_eq!(leading_digits(dec("9.99")), Leading::BelowTen);
        let nines = Decimal::from_i128_with_scale(10i128.pow(28) - 1, 27);
        assert_eq!(nines.to_string(), format!("9.{}", "9".repeat(27)));
        assert_eq!(leading_digits(nines), Leading::BelowTen);
        assert_eq!(leading_digits(dec("10.00")), Leading::Digits(10));
        assert_eq!(leading_digits(dec("10")), Leading::Digits(10));
        assert_eq!(leading_digits(dec("10.5")), Leading::Digits(10));
        assert_eq!(leading_digits(dec("99.999")), Leading::Digits(99));
        assert_eq!(leading_digits(dec("100")), Leading::Digits(10));
        assert_eq!(leading_digits(dec("100.00")), Leading::Digits(10));
        assert_eq!(leading_digits(dec("19.99")), Leading::Digits(19));
        assert_eq!(leading_digits(dec("123456.78")), Leading::Digits(12));
        let e20 = Decimal::from_i128_with_scale(10i128.pow(20), 0);
        assert_eq!(leading_digits(e20), Leading::Digits(10));
        assert_eq!(leading_digits(dec("-10.00")), Leading::Digits(10));
        assert_eq!(leading_digits(dec("-58.30")), Leading::Digits(58));
        assert_eq!(leading_digits(dec("-9.99")), Leading::BelowTen);
        assert_eq!(leading_digits(Decimal::MAX), Leading::Digits(79));
        assert_eq!(leading_digits(Decimal::MIN), Leading::Digits(79));
        // Large scales: 7.92… (scale 28) is below ten, 79.2… (scale 27) is not.
        let m = 79_228_162_514_264_337_593_543_950_335i128;
        assert_eq!(
            leading_digits(Decimal::from_i128_with_scale(m, 28)),
            Leading::BelowTen
        );
        assert_eq!(
            leading_digits(Decimal::from_i128_with_scale(m, 27)),
            Leading::Digits(79)
        );
        let m = 3_141_592_653_589_793_238_462_643_383i128;
        assert_eq!(
            leading_digits(Decimal::from_i128_with_scale(m, 26)),
            Leading::Digits(31)
        );
        assert_eq!(
            leading_digits(Decimal::from_i128_with_scale(m, 27)),
            Leading::BelowTen
        );
    }

    #[test]
    fn excluded_amounts_are_counted_by_kind() {
        let b = of(["0", "0.01", "9.99", "10.00", "-10.5", "-3", "100"].map(dec));
        assert_eq!(b.n_added(), 7);
        assert_eq!(b.n_zero(), 1);
        assert_eq!(b.n_below_ten(), 3);
        assert_eq!(b.n_excluded(), 4);
        assert_eq!(b.n_included(), 3);
        assert_eq!(b.n_negative(), 1);
        let r = b.result(Test::FirstTwoDigits);
        assert_eq!(r.n, 3);
        assert_eq!(r.n_excluded, 4);
        assert_eq!(r.digits[&10].observed, 3);
        let r = b.result(Test::FirstDigit);
        assert_eq!(r.digits[&1].observed, 3);
        assert_eq!(r.digits.len(), 9);
    }

    #[test]
    fn expected_proportions_sum_to_one() {
        for test in [Test::FirstDigit, Test::FirstTwoDigits] {
            let sum: f64 = test.digits().map(expected_proportion).sum();
            assert!((sum - 1.0).abs() < 1e-12, "{test:?}: {sum}");
        }
        assert!((expected_proportion(1) - std::f64::consts::LOG10_2).abs() < 1e-15);
        assert!((expected_proportion(99) - 0.004_364_805_402_450_088).abs() < 1e-15);
    }

    #[test]
    fn benford_sample_conforms_closely_and_passes_chi_square() {
        let b = of(benford_sample(10_000));
        for test in [Test::FirstDigit, Test::FirstTwoDigits] {
            let r = b.result(test);
            assert_eq!(r.n, 10_001);
            assert!(r.enough);
            assert_eq!(r.mad.verdict, Conformity::Close, "{test:?}: {r:?}");
            assert!(r.mad.value < test.mad_thresholds()[0]);
            assert_eq!(
                r.chi_square.verdict,
                ChiSquareVerdict::Pass,
                "{test:?}: {r:?}"
            );
            assert!(r.digits.values().all(|d| !d.significant), "{test:?}");
        }
    }

    #[test]
    fn uniform_sample_fails_both_tests() {
        let b = of(uniform_sample());
        for test in [Test::FirstDigit, Test::FirstTwoDigits] {
            let r = b.result(test);
            assert_eq!(r.n, 9000);
            assert_eq!(r.mad.verdict, Conformity::Nonconformity, "{test:?}: {r:?}");
            assert_eq!(
                r.chi_square.verdict,
                ChiSquareVerdict::Fail,
                "{test:?}: {r:?}"
            );
        }
        // Each first digit has 1/9 of the amounts: digit 1 far too rare, digit 9 far too common.
        let r = b.result(Test::FirstDigit);
        assert_eq!(r.digits[&1].observed, 1000);
        assert!(r.digits[&1].significant && r.digits[&9].significant);
    }

    #[test]
    fn chi_square_mad_and_z_match_hand_computation() {
        // Ten amounts, all with first digit 1. With p1 = log10 2 and E_d = 10 p_d:
        // χ² = (10 − 10 p1)² / (10 p1) + Σ_{d≥2} 10 p_d = 10 (1 − p1)² / p1 + 10 (1 − p1)
        //    = 10 (1 − p1) / p1 = 23.219280948873617.
        // MAD = (|1 − p1| + Σ_{d≥2} p_d) / 9 = 2 (1 − p1) / 9 = 0.1553266676302264.
        // z_1 = (0.69897 − 1/20) / sqrt(p1 (1 − p1) / 10) = 4.473943223858599 (corrected);
        // z_9 = p9 / sqrt(p9 (1 − p9) / 10) = 0.6924712062222682 (p9 < 1/20: no correction).
        let b = of((0..10).map(|i| Decimal::new(10 + i, 0)));
        let r = b.result(Test::FirstDigit);
        assert_eq!(r.n, 10);
        assert!(
            (r.chi_square.statistic - 23.219_280_948_873_617).abs() < 1e-9,
            "{r:?}"
        );
        assert!((r.mad.value - 0.155_326_667_630_226_4).abs() < 1e-12);
        assert!((r.digits[&1].z - 4.473_943_223_858_599).abs() < 1e-9);
        assert!((r.digits[&9].z - 0.692_471_206_222_268_2).abs() < 1e-9);
        assert_eq!(r.chi_square.degrees_of_freedom, 8);
        assert_eq!(r.chi_square.critical_value, 15.507);
        // n = 10 is below 100: not judged, even though χ² is above the critical value.
        assert!(!r.enough);
        assert_eq!(r.chi_square.verdict, ChiSquareVerdict::TooFew);
        assert_eq!(r.mad.verdict, Conformity::TooFew);
        let r = b.result(Test::FirstTwoDigits);
        assert_eq!(r.chi_square.degrees_of_freedom, 89);
        assert_eq!(r.chi_square.critical_value, 112.022);
        assert_eq!(r.digits.len(), 90);
    }

    #[test]
    fn empty_accumulator_gives_zero_statistics_and_too_few() {
        let r = Benford::default().result(Test::FirstTwoDigits);
        assert_eq!(r.n, 0);
        assert_eq!(r.chi_square.statistic, 0.0);
        assert_eq!(r.mad.value, 0.0);
        assert_eq!(r.chi_square.verdict, ChiSquareVerdict::TooFew);
        assert_eq!(r.mad.verdict, Conformity::TooFew);
        assert!(r.digits.values().all(|d| d.z == 0.0 && d.observed == 0));
        // No NaN anywhere: serde_json would write it as null.
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains("null"), "{json}");
    }

    #[test]
    fn merge_of_two_halves_equals_the_whole() {
        let mut amounts = benford_sample(2000);
        amounts.extend(["0", "-0.5", "-12.34", "7"].map(dec));
        let whole = of(amounts.iter().copied());
        let (left, right) = amounts.split_at(amounts.len() / 3);
        let mut merged = of(left.iter().copied());
        merged.merge(&of(right.iter().copied()));
        assert_eq!(merged, whole);
        assert_eq!(
            merged.result(Test::FirstDigit),
            whole.result(Test::FirstDigit)
        );
        assert_eq!(
            merged.result(Test::FirstTwoDigits),
            whole.result(Test::FirstTwoDigits)
        );
    }

    #[test]
    fn serialises_with_digits_as_keys_in_order() {
        let b = of(["12.00", "12.50", "99"].map(dec));
        let json = serde_json::to_value(&b).unwrap();
        assert_eq!(json["first_two_digits"]["12"], 2);
        assert_eq!(json["first_two_digits"]["99"], 1);
        assert_eq!(json["first_two_digits"].as_object().unwrap().len(), 90);
        let r = serde_json::to_value(b.result(Test::FirstDigit)).unwrap();
        assert_eq!(r["test"], "first_digit");
        assert_eq!(r["digits"]["1"]["observed"], 2);
        assert_eq!(r["mad"]["verdict"], "too_few");
        let text = serde_json::to_string(&b.result(Test::FirstTwoDigits)).unwrap();
        assert!(text.find("\"10\"").unwrap() < text.find("\"99\"").unwrap());
    }

    fn arb_decimal() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
            (
                any::<u32>(),
                any::<u32>(),
                any::<u32>(),
                any::<bool>(),
                0u32..=28
            )
                .prop_map(|(lo, mid, hi, neg, s)| Decimal::from_parts(lo, mid, hi, neg, s)),
        ]
    }

    /// The leading digits read off the decimal string, as an independent oracle.
    fn leading_by_string(amount: Decimal) -> Leading {
        let text = amount.abs().to_string();
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        let int = int.trim_start_matches('0');
        let significant: String = format!("{int}{frac}")
            .trim_start_matches('0')
            .chars()
            .take(2)
            .collect();
        if significant.is_empty() {
            Leading::Zero
        } else if int.len() < 2 {
            Leading::BelowTen
        } else {
            Leading::Digits(significant.parse().unwrap())
        }
    }

    proptest! {
        #[test]
        fn add_counts_every_amount_exactly_once(
            amounts in proptest::collection::vec(arb_decimal(), 0..200),
        ) {
            let b = of(amounts.iter().copied());
            prop_assert_eq!(b.n_added(), amounts.len() as u64);
            prop_assert_eq!(b.n_included() + b.n_excluded(), b.n_added());
            for test in [Test::FirstDigit, Test::FirstTwoDigits] {
                let r = b.result(test);
                prop_assert_eq!(r.n, b.n_included());
                prop_assert_eq!(r.digits.values().map(|d| d.observed).sum::<u64>(), r.n);
                prop_assert!(r.chi_square.statistic.is_finite() && r.mad.value.is_finite());
            }
        }

        #[test]
        fn leading_digits_agree_with_the_decimal_string(amount in arb_decimal()) {
            prop_assert_eq!(leading_digits(amount), leading_by_string(amount));
        }
    }
}
