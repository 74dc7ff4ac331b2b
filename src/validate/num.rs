//! Checked arithmetic for the rules: untrusted amounts must never overflow into a panic.
//! An identity that cannot be computed (overflow) is not reported; ingest already refuses
//! amounts beyond what the model holds, so this only guards sums of extreme values.

use rust_decimal::Decimal;

use crate::model::money::round_commercial;

pub use crate::model::money::checked_sum as sum;

/// a × b rounded to `dp` places half away from zero, or `None` on overflow.
pub fn mul_round(a: Decimal, b: Decimal, dp: u32) -> Option<Decimal> {
    a.checked_mul(b).map(|p| round_commercial(p, dp))
}

/// The VAT contained in a gross amount: gross × rate / (1 + rate), rounded.
pub fn tax_in_gross(gross: Decimal, rate: Decimal, dp: u32) -> Option<Decimal> {
    let q = gross
        .checked_mul(rate)?
        .checked_div(Decimal::ONE.checked_add(rate)?)?;
    Some(round_commercial(q, dp))
}

/// |a − b| ≤ tolerance.
pub fn close(a: Decimal, b: Decimal, tolerance: Decimal) -> bool {
    a.checked_sub(b).is_some_and(|d| d.abs() <= tolerance)
}
