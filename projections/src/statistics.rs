//! Summary statistics for the operational reports, computed exactly on whole seconds.

/// The median: the middle value, or the mean of the two middle values rounded down.
pub fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]).div_euclid(2)
    })
}

/// The nearest-rank percentile: the smallest value with at least `p`% of values at or below it.
pub fn percentile(values: &mut [i64], p: u32) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    let rank = (u64::from(p) * n as u64).div_ceil(100).max(1) as usize;
    Some(values[rank.min(n) - 1])
}

/// `part` of `whole` in per mille (‰), rounded down so 999 of 1000 never shows as all; `None`
/// when there was nothing to count, rather than a misleading zero.
pub fn per_mille(part: u32, whole: u32) -> Option<u32> {
    (u64::from(part) * 1000)
        .checked_div(u64::from(whole))
        .map(|v| v as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&mut [5, 1, 3]), Some(3));
        assert_eq!(median(&mut [4, 1, 2, 3]), Some(2));
        assert_eq!(median(&mut []), None);
    }

    #[test]
    fn per_mille_rounds_down_and_is_absent_for_nothing() {
        assert_eq!(per_mille(2, 3), Some(666));
        assert_eq!(per_mille(999, 1000), Some(999));
        assert_eq!(per_mille(4, 4), Some(1000));
        assert_eq!(per_mille(0, 0), None);
    }

    #[test]
    fn nearest_rank_p90() {
        let mut ten: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&mut ten, 90), Some(9));
        let mut eleven: Vec<i64> = (1..=11).collect();
        assert_eq!(percentile(&mut eleven, 90), Some(10));
        assert_eq!(percentile(&mut [7], 90), Some(7));
    }
}
