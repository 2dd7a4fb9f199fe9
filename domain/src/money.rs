//! Money and months for the ledger: amounts are whole cents (`i64`), never floats; a month is
//! a calendar month at the property. The two roundings the ledger makes, the VAT part of a
//! price and a prorated month, both round half up (away from zero) to a whole cent.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::rejection::Rejection;

/// The largest amount one invoice line, invoice or payment may have: 999 999,99 €, the most a
/// virtual barcode can carry.
pub const MAX_AMOUNT_CENTS: i64 = 99_999_999;

/// A calendar month, written `2026-04`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    /// Reads `YYYY-MM`, naming `field` when it is anything else.
    pub fn parse(field: &'static str, text: &str) -> Result<Month, Rejection> {
        let bad = || {
            Rejection::invalid(
                field,
                "ledger.month_format",
                format!("must be a month written YYYY-MM, e.g. 2026-04, got `{text}`"),
            )
        };
        let (year, month) = text.trim().split_once('-').ok_or_else(bad)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let month: u32 = month.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) || !(2000..=2999).contains(&year) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }

    /// The month a date falls in.
    pub fn of(date: NaiveDate) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The `day`th of the month, or its last day if the month is shorter.
    pub fn day(self, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, day.min(self.days()))
            .unwrap_or_else(|| self.first_day())
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    pub fn last_day(self) -> NaiveDate {
        self.next()
            .first_day()
            .pred_opt()
            .unwrap_or_else(|| self.first_day())
    }

    pub fn days(self) -> u32 {
        self.last_day().day()
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// Whole months from `self` to `later` (negative if `later` is earlier).
    pub fn months_until(self, later: Month) -> i32 {
        (later.year - self.year) * 12 + later.month as i32 - self.month as i32
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// `numerator / denominator` rounded half away from zero; `denominator` must be positive.
fn div_round_half_up(numerator: i128, denominator: i128) -> i64 {
    let half_up = (numerator.abs() * 2 + denominator) / (denominator * 2);
    (numerator.signum() * half_up) as i64
}

/// The VAT included in a gross amount at `rate_bp` basis points (2550 = 25,5 %):
/// `gross × rate / (10000 + rate)`, rounded half up to a whole cent. Each invoice line's VAT is
/// rounded on its own; an invoice's VAT is the sum of its lines'.
pub fn vat_part(gross_cents: i64, rate_bp: u32) -> i64 {
    if rate_bp == 0 {
        return 0;
    }
    div_round_half_up(
        i128::from(gross_cents) * i128::from(rate_bp),
        10_000 + i128::from(rate_bp),
    )
}

/// A monthly amount for `days` of a month of `month_days` days, rounded half up to a cent.
pub fn prorate(monthly_cents: i64, days: u32, month_days: u32) -> i64 {
    if days >= month_days || month_days == 0 {
        return monthly_cents;
    }
    div_round_half_up(
        i128::from(monthly_cents) * i128::from(days),
        i128::from(month_days),
    )
}

/// Checks an amount: more than zero and at most [`MAX_AMOUNT_CENTS`].
pub fn check_amount(field: &'static str, cents: i64) -> Result<(), Rejection> {
    if cents <= 0 {
        return Err(Rejection::invalid(
            field,
            "ledger.amount_positive",
            "must be more than zero cents",
        ));
    }
    if cents > MAX_AMOUNT_CENTS {
        return Err(Rejection::invalid(
            field,
            "ledger.amount_too_large",
            format!("must be at most {MAX_AMOUNT_CENTS} cents (999 999,99 €)"),
        ));
    }
    Ok(())
}

/// Checks a VAT rate in basis points: from 0 to 100 %.
pub fn check_vat_rate(field: &'static str, rate_bp: u32) -> Result<(), Rejection> {
    if rate_bp > 10_000 {
        return Err(Rejection::invalid(
            field,
            "ledger.vat_rate_range",
            "must be from 0 to 10000 basis points (0-100 %)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_know_their_days() {
        let feb = Month::parse("month", "2028-02").unwrap();
        assert_eq!(feb.days(), 29, "2028 is a leap year");
        assert_eq!(feb.day(31), NaiveDate::from_ymd_opt(2028, 2, 29).unwrap());
        assert_eq!(
            Month::parse("month", "2026-12").unwrap().next().to_string(),
            "2027-01"
        );
        for bad in ["2026-4", "2026-13", "26-04", "april", "2026-00", ""] {
            let err = Month::parse("month", bad).unwrap_err();
            assert_eq!(
                (err.rule, err.field),
                ("ledger.month_format", Some("month"))
            );
        }
    }

    #[test]
    fn vat_is_the_included_part_rounded_half_up() {
        // 100,00 € at 25,5 %: 2550 / 12550 × 10000 = 2031,87... → 20,32 €.
        assert_eq!(vat_part(10_000, 2550), 2032);
        // 12,55 € at 25,5 % is exactly 2,55 € of VAT.
        assert_eq!(vat_part(1_255, 2550), 255);
        // 0,05 € at 10 %: 0,4545... cents → 0; 0,11 € at 10 %: exactly 1 cent.
        assert_eq!(vat_part(5, 1000), 0);
        assert_eq!(vat_part(11, 1000), 1);
        // Half a cent rounds up: 0,21 € at 10 % is 1,909... → 2; 21 × 1000 / 11000 = 1,909.
        assert_eq!(vat_part(21, 1000), 2);
        // 3,15 € at 5 %: 315 × 500 / 10500 = 15 exactly; 0,21 € at 5 %: 1,0 cent exactly.
        assert_eq!(vat_part(315, 500), 15);
        // 0,63 € at 5 %: 3,0 cents; 0,73 € at 5 %: 3,476 → 3; 0,74 €: 3,52 → 4.
        assert_eq!((vat_part(73, 500), vat_part(74, 500)), (3, 4));
        assert_eq!(vat_part(85_000, 0), 0, "rent has no VAT");
        assert_eq!(vat_part(-10_000, 2550), -2032, "credits round the same way");
    }

    #[test]
    fn a_prorated_month_rounds_half_up() {
        // 850,00 € for 15 of 30 days is exactly half.
        assert_eq!(prorate(85_000, 15, 30), 42_500);
        // 850,00 € for 10 of 31 days: 274,193... → 274,19 €.
        assert_eq!(prorate(85_000, 10, 31), 27_419);
        // 1,00 € for 1 of 8 days is 12,5 cents → 13.
        assert_eq!(prorate(100, 1, 8), 13);
        assert_eq!(prorate(85_000, 31, 31), 85_000);
    }

    #[test]
    fn amounts_must_be_positive_and_fit_a_barcode() {
        assert_eq!(
            check_amount("amount_cents", 0).unwrap_err().rule,
            "ledger.amount_positive"
        );
        assert_eq!(
            check_amount("amount_cents", MAX_AMOUNT_CENTS + 1)
                .unwrap_err()
                .rule,
            "ledger.amount_too_large"
        );
        assert!(check_amount("amount_cents", MAX_AMOUNT_CENTS).is_ok());
    }
}
