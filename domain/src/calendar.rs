//! Business time and the property's calendar. Instants are UTC; dates that people agree on
//! (contract days, promised-by dates, ticket years) are in the property's local zone.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// Every Talo property is in Finland.
pub const PROPERTY_ZONE: Tz = chrono_tz::Europe::Helsinki;

/// The local calendar date of an instant at the property.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&PROPERTY_ZONE).date_naive()
}

/// The first instant after the end of a local date: "by 14 March" means before this.
pub fn end_of_local_day(date: NaiveDate) -> DateTime<Utc> {
    let next = date.succ_opt().unwrap_or(date);
    let midnight = next.and_hms_opt(0, 0, 0).unwrap_or_default();
    match midnight.and_local_timezone(PROPERTY_ZONE) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.with_timezone(&Utc)
        }
        // Finland never skips midnight; fall back to treating it as UTC rather than failing.
        chrono::LocalResult::None => midnight.and_utc(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn late_evening_utc_is_already_tomorrow_in_helsinki() {
        let t = Utc.with_ymd_and_hms(2026, 3, 13, 22, 30, 0).unwrap();
        assert_eq!(local_date(t), NaiveDate::from_ymd_opt(2026, 3, 14).unwrap());
    }

    #[test]
    fn end_of_day_follows_daylight_saving() {
        let winter = end_of_local_day(NaiveDate::from_ymd_opt(2026, 1, 10).unwrap());
        assert_eq!(winter, Utc.with_ymd_and_hms(2026, 1, 10, 22, 0, 0).unwrap());
        let summer = end_of_local_day(NaiveDate::from_ymd_opt(2026, 7, 10).unwrap());
        assert_eq!(summer, Utc.with_ymd_and_hms(2026, 7, 10, 21, 0, 0).unwrap());
    }
}
