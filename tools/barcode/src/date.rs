//! GS1 dates: `YYMMDD` with the GS1 century rule, and `DD = 00` meaning end of month.

use chrono::{Datelike, NaiveDate, NaiveDateTime};

use crate::problem::DateFault;

/// Expands a two-digit year by GS1 General Specifications 7.12: with `d = YY − (current
/// two-digit year)`, `d` in 51..=99 means last century, `d` in −99..=−50 means next
/// century, anything else this century. The "current year" is `today`'s, never the clock.
pub(crate) fn expand_year(yy: i32, today: NaiveDate) -> i32 {
    let current_yy = today.year().rem_euclid(100);
    let century = today.year() - current_yy;
    match yy - current_yy {
        51..=99 => century - 100 + yy,
        -99..=-50 => century + 100 + yy,
        _ => century + yy,
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (next_year, next_month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    NaiveDate::from_ymd_opt(next_year, next_month, 1).and_then(|first| first.pred_opt()).map_or(31, |last| last.day())
}

/// Two ASCII digits at `at` as a number. Callers have already checked the value is numeric.
fn two_digits(value: &str, at: usize) -> u32 {
    value.get(at..at + 2).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// Reads `YYMMDD`. With `allow_day_zero`, `DD = 00` is the last day of the month (GS1
/// allows this for AIs 11–17, where a pack often states only month and year).
pub(crate) fn parse_yymmdd(value: &str, today: NaiveDate, allow_day_zero: bool) -> Result<NaiveDate, DateFault> {
    // Two digits always fit in i32.
    let yy = two_digits(value, 0) as i32;
    let month = two_digits(value, 2);
    let day = two_digits(value, 4);
    let year = expand_year(yy, today);
    if !(1..=12).contains(&month) {
        return Err(DateFault::Month(month));
    }
    let last = days_in_month(year, month);
    let day = match day {
        0 if allow_day_zero => last,
        d if (1..=last).contains(&d) => d,
        _ => return Err(DateFault::Day { day, month, year }),
    };
    NaiveDate::from_ymd_opt(year, month, day).ok_or(DateFault::Day { day, month, year })
}

/// Reads `YYMMDDHHMM` (AI 7003). The day must be real: `00` is not allowed here.
pub(crate) fn parse_yymmddhhmm(value: &str, today: NaiveDate) -> Result<NaiveDateTime, DateFault> {
    let date = parse_yymmdd(value, today, false)?;
    let hour = two_digits(value, 6);
    let minute = two_digits(value, 8);
    date.and_hms_opt(hour, minute, 0).ok_or(DateFault::Time { hour, minute })
}

/// Writes `date` as `YYMMDD`. The century is dropped; a reader recovers it with the
/// century rule, so dates more than ~49 years from the reader's `today` do not round-trip.
pub(crate) fn format_yymmdd(date: NaiveDate) -> String {
    format!("{:02}{:02}{:02}", date.year().rem_euclid(100), date.month(), date.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// The worked cases of GS1 7.12, at the boundaries of the ±50 year window.
    #[test]
    fn century_window() {
        let cases = [
            // (today, YY, expected year)
            (day(2026, 6, 1), 26, 2026),
            (day(2026, 6, 1), 76, 2076), // d = 50: still this century
            (day(2026, 6, 1), 77, 1977), // d = 51: last century
            (day(2026, 6, 1), 0, 2000),
            (day(2080, 6, 1), 30, 2130), // d = -50: next century
            (day(2080, 6, 1), 31, 2031), // d = -49: this century
            (day(1999, 1, 1), 0, 2000),  // d = -99: next century
            (day(2000, 1, 1), 99, 1999), // d = 99: last century
        ];
        for (today, yy, want) in cases {
            assert_eq!(expand_year(yy, today), want, "today {today}, YY {yy:02}");
        }
    }

    #[test]
    fn day_zero_is_last_day_of_month_only_where_allowed() {
        let today = day(2026, 1, 1);
        assert_eq!(parse_yymmdd("280200", today, true), Ok(day(2028, 2, 29)));
        assert_eq!(parse_yymmdd("270200", today, true), Ok(day(2027, 2, 28)));
        assert_eq!(parse_yymmdd("261200", today, true), Ok(day(2026, 12, 31)));
        assert_eq!(parse_yymmdd("261200", today, false), Err(DateFault::Day { day: 0, month: 12, year: 2026 }));
    }
}
