//! UTC calendar months: the index a counter is kept under and when it resets.

/// Months since January 1970, UTC.
pub fn month_index(unix_ms: u64) -> u32 {
    let (y, m, _) = civil_from_days((unix_ms / 86_400_000) as i64);
    ((y - 1970) * 12 + (m as i64 - 1)) as u32
}

/// Unix seconds at the start of the month after the one holding `unix_ms`.
pub fn next_month_start_s(unix_ms: u64) -> u64 {
    let idx = month_index(unix_ms) + 1;
    let (y, m) = (1970 + i64::from(idx / 12), idx % 12 + 1);
    (days_from_civil(y, m, 1) * 86_400) as u64
}

/// Howard Hinnant's days-to-civil algorithm: (year, month 1-12, day 1-31).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_resets() {
        assert_eq!(month_index(0), 0);
        // 2026-11-28T00:00:00Z
        let t = 1_795_824_000_000;
        assert_eq!(month_index(t), (2026 - 1970) * 12 + 10);
        // 2026-12-01T00:00:00Z
        assert_eq!(next_month_start_s(t), 1_796_083_200);
        // December rolls into January.
        assert_eq!(next_month_start_s(1_796_083_200_000), 1_798_761_600);
        assert_eq!(month_index(1_798_761_600_000), (2027 - 1970) * 12);
        assert_eq!(month_index(1_798_761_599_999), (2026 - 1970) * 12 + 11);
    }
}
