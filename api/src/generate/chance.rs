//! The generator's dice: one ChaCha stream seeded from `--seed`, drawn in a fixed order, so the
//! same seed and sizes give the same organisation. Ids are UUID v7 laid out from the business
//! time they are made at (as the dispatcher's `now_v7` ids are from the clock) with seeded
//! random bits, so they are deterministic and still ordered roughly like the log.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use talo_domain::booking::local_instant;
use uuid::Uuid;

pub struct Chance {
    rng: ChaCha8Rng,
}

impl Chance {
    pub fn new(seed: u64) -> Self {
        Chance {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// A fresh id, made at `at`.
    pub fn id_at(&mut self, at: DateTime<Utc>) -> Uuid {
        let random: [u8; 10] = self.rng.r#gen();
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or_default();
        uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.r#gen::<f64>() < p
    }

    /// A whole number in `low..=high`.
    pub fn between(&mut self, low: i64, high: i64) -> i64 {
        if high <= low {
            return low;
        }
        self.rng.gen_range(low..=high)
    }

    /// An index into a slice of `len` (`len` > 0).
    pub fn index(&mut self, len: usize) -> usize {
        self.rng.gen_range(0..len.max(1))
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// How many of something with on average `mean` happen (Poisson, Knuth's method: the
    /// means here are small).
    pub fn count(&mut self, mean: f64) -> u32 {
        if mean <= 0.0 {
            return 0;
        }
        let limit = (-mean).exp();
        let mut product = self.rng.r#gen::<f64>();
        let mut n = 0;
        while product > limit {
            n += 1;
            product *= self.rng.r#gen::<f64>();
        }
        n
    }

    /// A local time on `day` between `from_hour` and `until_hour` (Helsinki), as UTC.
    pub fn time_on(&mut self, day: NaiveDate, from_hour: u32, until_hour: u32) -> DateTime<Utc> {
        let minutes = self.between(
            i64::from(from_hour) * 60,
            i64::from(until_hour.max(from_hour + 1)) * 60 - 1,
        );
        let time = NaiveTime::from_hms_opt((minutes / 60) as u32, (minutes % 60) as u32, 0)
            .unwrap_or_default();
        local_instant(day, time)
            // The hour skipped by the spring change: an hour later is the same wall time.
            .or_else(|| local_instant(day, time + Duration::hours(1)))
            .unwrap_or_else(|| day.and_time(time).and_utc())
    }

    /// The office's next working moment at least `after` later than `from`: office hours
    /// (8-16 Helsinki) on weekdays.
    pub fn office_after(&mut self, from: DateTime<Utc>, after: Duration) -> DateTime<Utc> {
        let earliest = from + after;
        let mut day = talo_domain::calendar::local_date(earliest);
        loop {
            if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                let at = self.time_on(day, 8, 16);
                if at >= earliest {
                    return at;
                }
                let end = self.time_on(day, 15, 16);
                if end >= earliest {
                    return end;
                }
            }
            day = day.succ_opt().unwrap_or(day);
        }
    }

    /// A resident's moment at least `after` later than `from`: any day, 7-22 Helsinki.
    pub fn resident_after(&mut self, from: DateTime<Utc>, after: Duration) -> DateTime<Utc> {
        let earliest = from + after;
        let day = talo_domain::calendar::local_date(earliest);
        let at = self.time_on(day, 7, 22);
        if at >= earliest {
            return at;
        }
        let next = day.succ_opt().unwrap_or(day);
        self.time_on(next, 7, 22)
    }
}
