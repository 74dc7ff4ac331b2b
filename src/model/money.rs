//! Exact money: currencies with their ISO 4217 minor-unit exponent, and the one rounding rule.
//!
//! Amounts are `rust_decimal::Decimal` everywhere; no `f64` ever touches money. Integer
//! minor units from the register-scoped API are scaled by the currency's exponent here and
//! nowhere else.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// An ISO 4217 currency: its three-letter code and minor-unit exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

/// Active ISO 4217 codes (list one, 2024 edition) whose minor unit is not 2 digits.
const EXPONENTS: &[(&str, u8)] = &[
    ("BHD", 3),
    ("BIF", 0),
    ("CLF", 4),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("IQD", 3),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("PYG", 0),
    ("RWF", 0),
    ("TND", 3),
    ("UGX", 0),
    ("UYI", 0),
    ("UYW", 4),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
];

/// Active ISO 4217 codes with a 2-digit minor unit (precious metals and test codes excluded).
const TWO_DIGIT: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL \
BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR \
FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT \
LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK \
NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN \
SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG";

impl Currency {
    /// The euro, the base currency of all three regimes fiskal exports for.
    pub const EUR: Currency = Currency {
        code: *b"EUR",
        exponent: 2,
    };

    /// Looks up an ISO 4217 code (upper case, exactly three letters).
    pub fn parse(code: &str) -> Option<Currency> {
        let bytes: [u8; 3] = code.as_bytes().try_into().ok()?;
        if let Some(&(_, exponent)) = EXPONENTS.iter().find(|(c, _)| *c == code) {
            return Some(Currency {
                code: bytes,
                exponent,
            });
        }
        if TWO_DIGIT.split_ascii_whitespace().any(|c| c == code) {
            return Some(Currency {
                code: bytes,
                exponent: 2,
            });
        }
        None
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.code).expect("currency codes are ASCII")
    }

    /// Number of minor-unit digits (EUR 2, JPY 0, KWD 3).
    pub fn exponent(&self) -> u32 {
        u32::from(self.exponent)
    }

    /// Converts an integer amount in minor units to an exact decimal (`1999` EUR → `19.99`).
    pub fn from_minor(&self, minor: i64) -> Decimal {
        Decimal::new(minor, self.exponent())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("{s:?} is not an ISO 4217 currency code"))
        })
    }
}

/// Rounds to `dp` decimal places, half away from zero.
///
/// German, Austrian and Italian commercial rounding rounds halves away from zero
/// (DIN 1333 "kaufmännisches Runden"; Italian DM 7 Dec 2016 arrotondamento); rust_decimal's
/// `round_dp` would round half to even, so every rounding in fiskal goes through here.
pub fn round_commercial(value: Decimal, dp: u32) -> Decimal {
    value.round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
}

/// Σ values, or `None` when the sum overflows (untrusted amounts must never panic).
pub fn checked_sum(values: impl IntoIterator<Item = Decimal>) -> Option<Decimal> {
    values
        .into_iter()
        .try_fold(Decimal::ZERO, |acc, v| acc.checked_add(v))
}

/// Parses a decimal string of the API's form: optional `-`, digits, optional `.` and digits.
///
/// Stricter than `Decimal::from_str`: exponents, grouping, commas, `+` and surrounding
/// blanks are refused so that a malformed amount is reported rather than guessed at.
pub fn parse_decimal_str(s: &str) -> Result<Decimal, DecimalError> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return Err(DecimalError::Malformed);
    }
    s.parse::<Decimal>().map_err(|_| DecimalError::Overflow)
}

/// Why a decimal string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalError {
    /// Not of the form `-?\d+(\.\d+)?`.
    Malformed,
    /// Well-formed but beyond what an exact decimal holds (about 7.9e28, 28 fraction digits).
    Overflow,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    #[test]
    fn exponents_follow_iso_4217() {
        assert_eq!(Currency::parse("EUR").unwrap().exponent(), 2);
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().exponent(), 3);
        assert_eq!(Currency::parse("CHF").unwrap().exponent(), 2);
        assert!(Currency::parse("EURO").is_none());
        assert!(Currency::parse("eur").is_none());
        assert!(Currency::parse("XXX").is_none());
    }

    #[test]
    fn minor_units_scale_by_exponent() {
        assert_eq!(Currency::EUR.from_minor(1999).to_string(), "19.99");
        assert_eq!(
            Currency::parse("JPY").unwrap().from_minor(1999).to_string(),
            "1999"
        );
        assert_eq!(
            Currency::parse("KWD")
                .unwrap()
                .from_minor(-1999)
                .to_string(),
            "-1.999"
        );
    }

    #[test]
    fn commercial_rounding_is_half_away_from_zero() {
        let d = |s| Decimal::from_str(s).unwrap();
        assert_eq!(round_commercial(d("2.345"), 2), d("2.35"));
        assert_eq!(round_commercial(d("2.355"), 2), d("2.36"));
        assert_eq!(round_commercial(d("-2.345"), 2), d("-2.35"));
        assert_eq!(round_commercial(d("2.344"), 2), d("2.34"));
    }

    #[test]
    fn decimal_strings_are_strict() {
        assert_eq!(parse_decimal_str("9.95").unwrap().to_string(), "9.95");
        assert_eq!(parse_decimal_str("-20.00").unwrap().to_string(), "-20.00");
        for bad in [
            "9,95", "1e3", " 9.95", "+1", ".5", "5.", "", "-", "1.2.3", "١",
        ] {
            assert_eq!(
                parse_decimal_str(bad),
                Err(DecimalError::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_decimal_str("99999999999999999999999999999999"),
            Err(DecimalError::Overflow)
        );
    }

    proptest! {
        #[test]
        fn minor_units_round_trip(minor in any::<i64>(), exp in 0u32..=4) {
            let d = Decimal::new(minor, exp);
            prop_assert_eq!(d.mantissa(), i128::from(minor));
            let text = d.to_string();
            prop_assert_eq!(parse_decimal_str(&text).unwrap(), d);
        }

        #[test]
        fn rounding_moves_at_most_half_a_unit(mantissa in -10_000_000_000i64..10_000_000_000, scale in 0u32..8, dp in 0u32..4) {
            let d = Decimal::new(mantissa, scale);
            let r = round_commercial(d, dp);
            let half = Decimal::new(5, dp + 1);
            prop_assert!((r - d).abs() <= half);
            prop_assert!(r.scale() <= dp.max(d.scale()));
        }
    }
}
