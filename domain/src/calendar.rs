//! Business time and the property's calendar. Instants are UTC; dates that people agree on
//! (contract days, promised-by dates, ticket years) are in the property's local zone.

use std::ops::Range;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use chrono_tz::Tz;

/// Every Talo property is in Finland.
pub const PROPERTY_ZONE: Tz = chrono_tz::Europe::Helsinki;

/// The local calendar date of an instant at the property.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&PROPERTY_ZONE).date_naive()
}

/// The first instant after the end of a local date: "by 14 March" means before this.
pub fn end_of_local_day(date: NaiveDate) -> DateTime<Utc> {
    start_of_local_day(date.succ_opt().unwrap_or(date))
}

/// The first instant of a local date.
pub fn start_of_local_day(date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    match midnight.and_local_timezone(PROPERTY_ZONE) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.with_timezone(&Utc)
        }
        // Finland never skips midnight; fall back to treating it as UTC rather than failing.
        chrono::LocalResult::None => midnight.and_utc(),
    }
}

/// The calendar periods reports group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportingPeriod {
    /// Monday to Sunday.
    Week,
    Month,
}

impl ReportingPeriod {
    /// The first day of the period that holds `date`.
    pub fn start_containing(self, date: NaiveDate) -> NaiveDate {
        match self {
            ReportingPeriod::Week => {
                date - Days::new(u64::from(date.weekday().num_days_from_monday()))
            }
            ReportingPeriod::Month => date.with_day(1).unwrap_or(date),
        }
    }

    /// The first day of the next period, given the first day of one.
    pub fn next_start(self, start: NaiveDate) -> NaiveDate {
        match self {
            ReportingPeriod::Week => start + Days::new(7),
            ReportingPeriod::Month => start + Months::new(1),
        }
    }

    /// The periods that overlap `[from, until)`, each as its first day and its instants
    /// `[start, end)` clipped to the range.
    pub fn split(self, from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<PeriodSpan> {
        let mut spans = Vec::new();
        let mut first_day = self.start_containing(local_date(from));
        while start_of_local_day(first_day) < until {
            let next = self.next_start(first_day);
            spans.push(PeriodSpan {
                first_day,
                start: start_of_local_day(first_day).max(from),
                end: start_of_local_day(next).min(until),
            });
            first_day = next;
        }
        spans
    }
}

/// One period of a report, clipped to the report's range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodSpan {
    pub first_day: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl PeriodSpan {
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.start <= at && at < self.end
    }

    /// The local days the period touches: from the day of its start to the last day that
    /// starts before its end (so a range starting mid-morning still holds its first day).
    /// Worked out once per report: a report that converted each invoice's date to an instant
    /// took two seconds for a year of a large organisation.
    pub fn local_days(&self) -> Range<NaiveDate> {
        let last = local_date(self.end);
        let end = if start_of_local_day(last) < self.end {
            last.succ_opt().unwrap_or(last)
        } else {
            last
        };
        local_date(self.start)..end
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

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        let thursday = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
        assert_eq!(
            ReportingPeriod::Week.start_containing(thursday),
            NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
        );
        assert_eq!(
            ReportingPeriod::Month.start_containing(thursday),
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
        );
    }

    #[test]
    fn a_periods_local_days_are_those_it_touches() {
        // Ranges starting and ending at local midnight, mid-morning, late in the UTC evening
        // (already tomorrow in Helsinki), across both daylight saving changes of 2026.
        let instants = [
            Utc.with_ymd_and_hms(2026, 3, 9, 22, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 28, 7, 30, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 29, 21, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 4, 19, 21, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 10, 24, 23, 15, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 10, 31, 22, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 31, 12, 0, 0).unwrap(),
        ];
        let mut checked = 0;
        for (i, &from) in instants.iter().enumerate() {
            for &until in &instants[i + 1..] {
                for period in [ReportingPeriod::Week, ReportingPeriod::Month] {
                    for span in period.split(from, until) {
                        let days = span.local_days();
                        let mut day = local_date(from) - Days::new(3);
                        while day < local_date(until) + Days::new(3) {
                            let touches =
                                local_date(span.start) <= day && start_of_local_day(day) < span.end;
                            assert_eq!(days.contains(&day), touches, "{span:?} {day}");
                            checked += 1;
                            day = day + Days::new(1);
                        }
                    }
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn periods_are_clipped_to_the_range_in_local_time() {
        // 10 March to 20 April 2026, Helsinki; summer time begins on 29 March.
        let from = Utc.with_ymd_and_hms(2026, 3, 9, 22, 0, 0).unwrap();
        let until = Utc.with_ymd_and_hms(2026, 4, 19, 21, 0, 0).unwrap();
        let months = ReportingPeriod::Month.split(from, until);
        assert_eq!(months.len(), 2);
        assert_eq!(
            months[0].first_day,
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
        );
        assert_eq!(months[0].start, from);
        assert_eq!(
            months[0].end,
            Utc.with_ymd_and_hms(2026, 3, 31, 21, 0, 0).unwrap()
        );
        assert_eq!(months[1].end, until);
        let weeks = ReportingPeriod::Week.split(from, until);
        assert_eq!(weeks.len(), 6);
        assert!(weeks.windows(2).all(|w| w[0].end == w[1].start));
    }
}
