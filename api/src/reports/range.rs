//! What every report takes: a date range `[from, until)`, checked once, and for the reports over
//! time the period their rows are grouped by (weeks and months of the properties' calendar).

use async_graphql::Enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use talo_domain::calendar::ReportingPeriod;

use crate::error::ApiError;

/// The longest range one report covers: ten years of history.
const MAX_RANGE_DAYS: i64 = 3660;

/// A checked `[from, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportRange {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl ReportRange {
    pub fn new(from: DateTime<Utc>, until: DateTime<Utc>) -> Result<Self, ApiError> {
        if until <= from {
            return Err(ApiError::bad_input(
                "until",
                "report.range",
                "must be after `from`",
            ));
        }
        if (until - from).num_days() > MAX_RANGE_DAYS {
            return Err(ApiError::bad_input(
                "until",
                "report.range",
                format!("a report covers at most {MAX_RANGE_DAYS} days"),
            ));
        }
        Ok(ReportRange { from, until })
    }
}

/// How rows over time are grouped, in the properties' local calendar.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Period {
    /// Monday to Sunday.
    Week,
    Month,
}

impl From<Period> for ReportingPeriod {
    fn from(p: Period) -> Self {
        match p {
            Period::Week => ReportingPeriod::Week,
            Period::Month => ReportingPeriod::Month,
        }
    }
}

/// Formats an instant exactly as GraphQL's `DateTime` does, so CSV cells equal API values.
pub fn rfc3339<S: serde::Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&at.to_rfc3339())
}

/// [`rfc3339`] for an optional instant; an absent one is an empty cell.
pub fn rfc3339_opt<S: serde::Serializer>(
    at: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => s.serialize_str(&at.to_rfc3339()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn until_must_follow_from() {
        let t = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let e = ReportRange::new(t, t).unwrap_err();
        assert_eq!((e.field(), e.rule()), (Some("until"), Some("report.range")));
        let e = ReportRange::new(t, t + chrono::Duration::days(4000)).unwrap_err();
        assert_eq!(e.rule(), Some("report.range"));
        assert!(ReportRange::new(t, t + chrono::Duration::days(7)).is_ok());
    }
}
