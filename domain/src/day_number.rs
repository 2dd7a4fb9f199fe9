//! How a calendar day in a read model's state is serialised: ISO text (`2026-11-22`) for
//! formats meant for people (JSON), a day number for binary snapshots.
//!
//! A ledger holds several days per invoice, and a large organisation has millions of invoices:
//! parsing each day back from text was a tenth of loading the snapshots at startup. Use as
//! `#[serde(with = "crate::day_number")]` (or `day_number::option` for an `Option`).

use chrono::{Datelike, NaiveDate};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub fn serialize<S: Serializer>(day: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
    if serializer.is_human_readable() {
        day.serialize(serializer)
    } else {
        serializer.serialize_i32(day.num_days_from_ce())
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    if deserializer.is_human_readable() {
        NaiveDate::deserialize(deserializer)
    } else {
        let days = i32::deserialize(deserializer)?;
        NaiveDate::from_num_days_from_ce_opt(days)
            .ok_or_else(|| D::Error::custom(format!("day number {days} is out of range")))
    }
}

/// The same for an optional day.
pub mod option {
    use super::*;

    /// Lets the outer `Option` delegate to the day's own (de)serialiser.
    #[derive(Serialize, Deserialize)]
    struct Day(#[serde(with = "super")] NaiveDate);

    pub fn serialize<S: Serializer>(
        day: &Option<NaiveDate>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        day.map(Day).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<NaiveDate>, D::Error> {
        Ok(Option::<Day>::deserialize(deserializer)?.map(|Day(day)| day))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Dated {
        #[serde(with = "super")]
        on: NaiveDate,
        #[serde(with = "super::option")]
        until: Option<NaiveDate>,
    }

    #[test]
    fn json_keeps_iso_days() {
        let dated = Dated {
            on: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
            until: None,
        };
        let json = serde_json::to_string(&dated).unwrap();
        assert_eq!(json, r#"{"on":"2026-11-22","until":null}"#);
        assert_eq!(serde_json::from_str::<Dated>(&json).unwrap(), dated);
        let later = Dated {
            until: Some(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()),
            ..dated
        };
        let json = serde_json::to_string(&later).unwrap();
        assert!(json.contains(r#""until":"2027-01-01""#), "{json}");
        assert_eq!(serde_json::from_str::<Dated>(&json).unwrap(), later);
    }

    #[test]
    fn binary_snapshots_hold_a_day_number() {
        let dated = Dated {
            on: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
            until: Some(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()),
        };
        let bytes = rmp_serde::to_vec(&dated).unwrap();
        // An array of two, each day a 32-bit integer: 1 + 2 * 5 bytes, not 2 * 11 of text.
        assert_eq!(bytes.len(), 11, "{bytes:?}");
        assert_eq!(rmp_serde::from_slice::<Dated>(&bytes).unwrap(), dated);
    }

    #[test]
    fn an_out_of_range_day_number_is_refused_by_name() {
        let bytes = rmp_serde::to_vec(&(i32::MAX, Option::<i32>::None)).unwrap();
        let err = rmp_serde::from_slice::<Dated>(&bytes).unwrap_err();
        assert!(err.to_string().contains("day number"), "{err}");
    }
}
