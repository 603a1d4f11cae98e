//! `Tidspunkt` (a UTC instant with a mandatory fraction of a second) and `Dato` (a calendar date), the two
//! time types of the formats (`types/tidspunkt.json`, `types/dato.json`).
//!
//! A `Tidspunkt` keeps the text it was read from, because `digisos-soker.json` is re-sent whole and a
//! hendelse must compare equal to itself across re-sends: `…00.1Z` and `…00.100Z` are the same instant but
//! not the same hendelse text. So equality and hashing are by text, and ordering is by instant (ties broken
//! by text, which keeps `Ord` consistent with `Eq`). It is stricter than the schema's pattern, which leaves
//! the dot before the fraction unescaped and so also lets through `13:37:00X134Z` or `13:37:0012Z`: such a
//! text passes the schema (as it does in Nav's own validator) but has no defined instant, so it is refused
//! here with a clear message. Calendar and clock values are checked too (no month 13, no second 60).
//! Fractions of any length are kept in the text; the instant keeps the first nine digits (nanoseconds).

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ParseError, quoted, text_type};

/// A point in time in UTC with a fraction of a second, written `YYYY-MM-DDTHH:MM:SS.fffZ`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tidspunkt {
    text: String,
    instant: DateTime<Utc>,
}

impl Tidspunkt {
    /// Parses `YYYY-MM-DDTHH:MM:SS.<1 or more digits>Z`: UTC only, a `.` and at least one fraction digit.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let refuse = |why: &str| {
            ParseError::new(
                "tidspunkt",
                format!(
                    "must be a UTC time with fractional seconds like 2018-10-04T13:37:00.134Z{why}, got {}",
                    quoted(input)
                ),
            )
        };
        let bytes = input.as_bytes();
        let shape_ok = bytes.len() >= 22
            && bytes.iter().enumerate().all(|(i, b)| match i {
                4 | 7 => *b == b'-',
                10 => *b == b'T',
                13 | 16 => *b == b':',
                19 => *b == b'.',
                i if i == bytes.len() - 1 => *b == b'Z',
                _ => b.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(refuse(""));
        }
        let number = |range: std::ops::Range<usize>| input[range].parse::<u32>().unwrap_or(u32::MAX);
        let date =
            NaiveDate::from_ymd_opt(i32::try_from(number(0..4)).unwrap_or(i32::MAX), number(5..7), number(8..10))
                .ok_or_else(|| refuse(" (no such date)"))?;
        let fraction = &input[20..input.len() - 1];
        let nanos = fraction
            .bytes()
            .chain(std::iter::repeat(b'0'))
            .take(9)
            .fold(0u32, |acc, digit| acc * 10 + u32::from(digit - b'0'));
        let (hour, minute, second) = (number(11..13), number(14..16), number(17..19));
        let time = (second < 60)
            .then(|| NaiveTime::from_hms_nano_opt(hour, minute, second, nanos))
            .flatten()
            .ok_or_else(|| refuse(" (no such time of day)"))?;
        Ok(Tidspunkt { text: input.to_owned(), instant: NaiveDateTime::new(date, time).and_utc() })
    }

    /// The tidspunkt of an instant, written with 3, 6 or 9 fraction digits, whichever is exact.
    pub fn from_instant(instant: DateTime<Utc>) -> Self {
        let nanos = instant.timestamp_subsec_nanos() % 1_000_000_000;
        let format = if nanos.is_multiple_of(1_000_000) {
            "%Y-%m-%dT%H:%M:%S%.3fZ"
        } else if nanos.is_multiple_of(1_000) {
            "%Y-%m-%dT%H:%M:%S%.6fZ"
        } else {
            "%Y-%m-%dT%H:%M:%S%.9fZ"
        };
        Tidspunkt { text: instant.format(format).to_string(), instant }
    }

    /// The text exactly as it was read (or written by [`Tidspunkt::from_instant`]).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The instant, to nanosecond precision.
    pub fn instant(&self) -> DateTime<Utc> {
        self.instant
    }
}

text_type!(Tidspunkt);

impl PartialEq for Tidspunkt {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Tidspunkt {}

impl Hash for Tidspunkt {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl PartialOrd for Tidspunkt {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Tidspunkt {
    fn cmp(&self, other: &Self) -> Ordering {
        self.instant.cmp(&other.instant).then_with(|| self.text.cmp(&other.text))
    }
}

/// A calendar date written `YYYY-MM-DD` (`forfallsdato`, `fom`, `tom`, `fodselsdato`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Dato {
    date: NaiveDate,
    text: [u8; 10],
}

impl Dato {
    /// Parses `YYYY-MM-DD` (four-digit year, two-digit month and day) naming a real calendar date.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let refuse = |why: &str| {
            ParseError::new("dato", format!("must be a date written YYYY-MM-DD{why}, got {}", quoted(input)))
        };
        let bytes = input.as_bytes();
        let text: [u8; 10] = bytes.try_into().map_err(|_| refuse(""))?;
        let shape_ok = text.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
        if !shape_ok {
            return Err(refuse(""));
        }
        let number = |range: std::ops::Range<usize>| input[range].parse::<u32>().unwrap_or(0);
        let year = i32::try_from(number(0..4)).unwrap_or_default();
        let date =
            NaiveDate::from_ymd_opt(year, number(5..7), number(8..10)).ok_or_else(|| refuse(" (no such date)"))?;
        Ok(Dato { date, text })
    }

    /// The date of a `NaiveDate` in the years 0 to 9999 (the format has four year digits).
    pub fn from_date(date: NaiveDate) -> Option<Self> {
        Dato::parse(&date.format("%Y-%m-%d").to_string()).ok()
    }

    /// The date as `YYYY-MM-DD`.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text).unwrap_or_default()
    }

    /// The calendar date.
    pub fn date(&self) -> NaiveDate {
        self.date
    }
}

text_type!(Dato);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidspunkt_with_fraction_in_utc_is_accepted_and_keeps_its_text() {
        for (text, nanos) in [
            ("2018-10-04T13:37:00.134Z", 134_000_000),
            ("2018-10-04T13:37:00.1Z", 100_000_000),
            ("2018-10-04T13:37:00.123456789Z", 123_456_789),
            ("2018-10-04T13:37:00.1234567891234Z", 123_456_789),
        ] {
            let t = Tidspunkt::parse(text).expect(text);
            assert_eq!(t.as_str(), text);
            assert_eq!(t.instant().timestamp_subsec_nanos(), nanos);
            assert_eq!(serde_json::to_value(&t).expect("json"), serde_json::json!(text));
        }
    }

    #[test]
    fn tidspunkt_without_fraction_or_utc_or_real_date_is_refused() {
        for bad in [
            "2018-10-04T13:37:00Z",
            "2018-10-04T13:37:00.Z",
            "2018-10-04T13:37:00.134",
            "2018-10-04T13:37:00.134+00:00",
            "2018-10-04 13:37:00.134Z",
            "2018-10-04T13:37:00X134Z",
            "2018-10-04T13:37:0012Z",
            "2018-13-04T13:37:00.134Z",
            "2019-02-29T13:37:00.134Z",
            "2018-10-04T24:00:00.000Z",
            "2018-10-04T23:59:60.000Z",
            "2018-10-04t13:37:00.134z",
            "",
        ] {
            let err = Tidspunkt::parse(bad).expect_err(bad);
            assert!(err.to_string().starts_with("tidspunkt must be a UTC time with fractional seconds"), "{err}");
        }
    }

    #[test]
    fn tidspunkt_orders_by_instant_and_compares_by_text() {
        let a = Tidspunkt::parse("2018-10-04T13:37:00.9Z").expect("a");
        let b = Tidspunkt::parse("2018-10-04T13:37:01.000Z").expect("b");
        let c = Tidspunkt::parse("2018-10-04T13:37:01.0Z").expect("c");
        assert!(a < b, "earlier instant first, though '9' > '0' as text");
        assert_eq!(b.instant(), c.instant());
        assert_ne!(b, c, "same instant written differently is a different text");
        assert_ne!(b.cmp(&c), Ordering::Equal, "Ord agrees with Eq");
    }

    #[test]
    fn tidspunkt_from_instant_round_trips_with_the_shortest_exact_fraction() {
        let t = Tidspunkt::parse("2018-10-04T13:37:00.134Z").expect("ms");
        assert_eq!(Tidspunkt::from_instant(t.instant()).as_str(), "2018-10-04T13:37:00.134Z");
        let whole = Tidspunkt::parse("2018-10-04T13:37:00.0Z").expect("whole second").instant();
        assert_eq!(Tidspunkt::from_instant(whole).as_str(), "2018-10-04T13:37:00.000Z");
        let micro = Tidspunkt::parse("2018-10-04T13:37:00.000001Z").expect("µs").instant();
        assert_eq!(Tidspunkt::from_instant(micro).as_str(), "2018-10-04T13:37:00.000001Z");
        let nano = Tidspunkt::parse("2018-10-04T13:37:00.000000001Z").expect("ns").instant();
        let back = Tidspunkt::from_instant(nano);
        assert_eq!(Tidspunkt::parse(back.as_str()), Ok(back));
    }

    #[test]
    fn dato_is_a_real_date_written_yyyy_mm_dd() {
        let d = Dato::parse("2024-02-29").expect("leap day");
        assert_eq!(d.as_str(), "2024-02-29");
        assert_eq!(d.date(), NaiveDate::from_ymd_opt(2024, 2, 29).expect("date"));
        assert_eq!(serde_json::to_string(&d).expect("json"), "\"2024-02-29\"");
        assert_eq!(Dato::from_date(d.date()), Some(d));
        assert!(Dato::parse("2018-10-11").ok() < Dato::parse("2018-11-01").ok());
        for bad in ["2023-02-29", "2018-1-01", "18-10-11", "2018/10/11", "2018-10-11T00:00:00.0Z", "2018-00-10", ""] {
            let err = Dato::parse(bad).expect_err(bad);
            assert!(err.to_string().starts_with("dato must be a date written YYYY-MM-DD"), "{err}");
        }
    }
}
