//! The Finnish working-day calendar: what "answered within two working days" means. Weekends
//! and public holidays are not working days; neither are Midsummer Eve and Christmas Eve, which
//! are not statutory but on which offices are closed everywhere.

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// Easter Sunday of a year (the anonymous Gregorian algorithm).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).unwrap_or_default()
}

/// The weekday holidays of a year in Finland (those on a Saturday or Sunday by definition,
/// such as Midsummer Day and All Saints' Day, are weekends anyway).
pub fn public_holidays(year: i32) -> Vec<NaiveDate> {
    let date = |m, d| NaiveDate::from_ymd_opt(year, m, d).unwrap_or_default();
    let easter = easter_sunday(year);
    // Midsummer Eve: the Friday between 19 and 25 June.
    let midsummer_eve = (19..=25)
        .map(|d| date(6, d))
        .find(|d| d.weekday() == Weekday::Fri)
        .unwrap_or_default();
    vec![
        date(1, 1),             // New Year's Day
        date(1, 6),             // Epiphany
        easter - Days::new(2),  // Good Friday
        easter + Days::new(1),  // Easter Monday
        date(5, 1),             // May Day
        easter + Days::new(39), // Ascension Day
        midsummer_eve,          // Midsummer Eve
        date(12, 6),            // Independence Day
        date(12, 24),           // Christmas Eve
        date(12, 25),           // Christmas Day
        date(12, 26),           // St Stephen's Day
    ]
}

pub fn is_public_holiday(date: NaiveDate) -> bool {
    public_holidays(date.year()).contains(&date)
}

pub fn is_working_day(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !is_public_holiday(date)
}

/// The `n`th working day after `date` (the day itself does not count): a request made on a
/// Friday with one working day to answer is due by the end of Monday.
pub fn add_working_days(date: NaiveDate, n: u32) -> NaiveDate {
    let mut day = date;
    let mut left = n;
    while left > 0 {
        day = day.succ_opt().unwrap_or(day);
        if is_working_day(day) {
            left -= 1;
        }
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_of_known_years() {
        assert_eq!(easter_sunday(2024), d(2024, 3, 31));
        assert_eq!(easter_sunday(2025), d(2025, 4, 20));
        assert_eq!(easter_sunday(2026), d(2026, 4, 5));
        assert_eq!(easter_sunday(2027), d(2027, 3, 28));
    }

    #[test]
    fn holidays_of_2026() {
        let h = public_holidays(2026);
        for day in [
            d(2026, 1, 1),
            d(2026, 1, 6),
            d(2026, 4, 3),
            d(2026, 4, 6),
            d(2026, 5, 1),
            d(2026, 5, 14),
            d(2026, 6, 19),
            d(2026, 12, 24),
            d(2026, 12, 25),
        ] {
            assert!(h.contains(&day), "{day} is a holiday");
        }
        assert!(!is_working_day(d(2026, 4, 6)));
        assert!(is_working_day(d(2026, 4, 7)));
    }

    #[test]
    fn a_weekend_is_skipped() {
        // Friday 6 March 2026 + 1 working day = Monday 9 March.
        assert_eq!(add_working_days(d(2026, 3, 6), 1), d(2026, 3, 9));
        // A Saturday request: the first working day after it is Monday.
        assert_eq!(add_working_days(d(2026, 3, 7), 1), d(2026, 3, 9));
    }

    #[test]
    fn easter_is_skipped() {
        // Thursday 2 April 2026: Good Friday, the weekend and Easter Monday pass; Tuesday 7 April.
        assert_eq!(add_working_days(d(2026, 4, 2), 1), d(2026, 4, 7));
        assert_eq!(add_working_days(d(2026, 4, 2), 2), d(2026, 4, 8));
    }

    #[test]
    fn zero_working_days_is_the_same_day() {
        assert_eq!(add_working_days(d(2026, 3, 6), 0), d(2026, 3, 6));
    }
}
