//! Calendar dates of Unix times, in UTC, for names and stamps (a date
//! crate for two format strings would be a dependency too many).

/// A Unix time broken into its UTC calendar fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u64,
    pub minute: u64,
    pub second: u64,
}

impl UtcTime {
    pub fn of(unix_s: u64) -> Self {
        let (year, month, day) = civil_from_days((unix_s / 86_400) as i64);
        let secs = unix_s % 86_400;
        Self { year, month, day, hour: secs / 3600, minute: secs / 60 % 60, second: secs % 60 }
    }

    pub fn now() -> Self {
        Self::of(unix_now_s())
    }
}

/// Seconds since the Unix epoch (0 on a clock set before it).
pub fn unix_now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_times_map_to_their_utc_calendar_fields() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_415), (2025, 11, 23));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        let t = UtcTime::of(20_415 * 86_400 + 16 * 3600 + 20 * 60 + 5);
        assert_eq!((t.year, t.month, t.day, t.hour, t.minute, t.second), (2025, 11, 23, 16, 20, 5));
    }
}
