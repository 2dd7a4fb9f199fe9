//! Rates in reports: whole per mille (‰), rounded down so 999 of 1000 never shows as all, and
//! absent when there was nothing to count (no slot offered, nobody in the audience) rather than
//! a misleading zero.

/// `part` of `whole` in per mille, or `None` if `whole` is zero.
pub fn per_mille(part: u32, whole: u32) -> Option<u32> {
    (whole > 0).then(|| (u64::from(part) * 1000 / u64::from(whole)) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounded_down_and_absent_for_nothing() {
        assert_eq!(per_mille(2, 3), Some(666));
        assert_eq!(per_mille(999, 1000), Some(999));
        assert_eq!(per_mille(4, 4), Some(1000));
        assert_eq!(per_mille(0, 0), None);
    }
}
