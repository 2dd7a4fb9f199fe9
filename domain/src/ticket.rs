//! Ticket numbers: the number a resident quotes on the phone (`VK-2026-000123`). Unique within
//! an organisation and series, restarting each local calendar year, issued in order. The series
//! is its own stream, so concurrent issuers are kept apart by the store's expected revision.

use chrono::{DateTime, Datelike, Utc};
use talo_events_schema::DomainEvent;
use talo_events_schema::ticket::TicketNumberIssued;
use uuid::Uuid;

use crate::calendar::local_date;

/// The fault report series.
pub const FAULT_REPORT_PREFIX: &str = "VK";

/// The message thread series (yhteydenotot).
pub const MESSAGE_THREAD_PREFIX: &str = "YT";

/// The state of one series: the last number issued, and in which year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketSeries {
    pub last: Option<(i32, u32)>,
}

impl TicketSeries {
    pub fn apply(&mut self, event: &DomainEvent) {
        if let DomainEvent::TicketNumberIssued(e) = event {
            self.last = Some((e.year, e.number));
        }
    }

    /// The next number of the series for something created at `at`.
    pub fn issue(&self, prefix: &str, issued_for: Uuid, at: DateTime<Utc>) -> TicketNumberIssued {
        let year = local_date(at).year();
        let number = match self.last {
            Some((last_year, last)) if last_year == year => last + 1,
            // A back-dated entry into an earlier year continues the current series rather than
            // reusing a number of that year.
            Some((last_year, last)) if last_year > year => last + 1,
            _ => 1,
        };
        let year = self.last.map_or(year, |(last_year, _)| year.max(last_year));
        TicketNumberIssued {
            prefix: prefix.to_owned(),
            year,
            number,
            ticket: format!("{prefix}-{year}-{number:06}"),
            issued_for,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn numbers_count_up_and_restart_in_a_new_local_year() {
        let mut series = TicketSeries::default();
        let first = series.issue("VK", Uuid::nil(), at(2026, 5, 1, 12));
        assert_eq!(first.ticket, "VK-2026-000001");
        series.apply(&first.clone().into());
        let second = series.issue("VK", Uuid::nil(), at(2026, 5, 1, 13));
        assert_eq!(second.ticket, "VK-2026-000002");
        series.apply(&second.into());
        // 22:30 UTC on 31 December is already New Year in Helsinki.
        let new_year = series.issue("VK", Uuid::nil(), at(2026, 12, 31, 22));
        assert_eq!(new_year.ticket, "VK-2027-000001");
    }

    #[test]
    fn a_back_dated_entry_never_reuses_a_number() {
        let mut series = TicketSeries::default();
        series.apply(&series.issue("VK", Uuid::nil(), at(2027, 1, 5, 12)).into());
        let late = series.issue("VK", Uuid::nil(), at(2026, 12, 20, 12));
        assert_eq!(late.ticket, "VK-2027-000002");
    }
}
