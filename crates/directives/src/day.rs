//! Dates as `YYYY-MM-DD`, read from JSON strings and from TOML strings or bare TOML dates
//! (`deadline = 2026-06-01`), written as strings. Use with `#[serde(with = "crate::day")]`.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serializer, de};

pub fn serialize<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&d.format("%Y-%m-%d"))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    d.deserialize_any(DayVisitor)
}

/// Parses `YYYY-MM-DD`.
pub fn parse(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

struct DayVisitor;

impl<'de> de::Visitor<'de> for DayVisitor {
    type Value = NaiveDate;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a date YYYY-MM-DD")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<NaiveDate, E> {
        parse(v).ok_or_else(|| {
            E::custom(format!("日期“{v}”格式应为 YYYY-MM-DD / '{v}' is not a date YYYY-MM-DD"))
        })
    }

    /// A TOML date arrives as a one-entry map holding its text.
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<NaiveDate, A::Error> {
        match map.next_entry::<String, String>()? {
            Some((_, v)) => self.visit_str(&v),
            None => Err(de::Error::custom("expected a date YYYY-MM-DD")),
        }
    }
}

/// A date that deserializes like [`deserialize`]: for lists of dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day(pub NaiveDate);

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Day, D::Error> {
        deserialize(d).map(Day)
    }
}

/// `Vec<NaiveDate>` in the same forms.
pub mod vec {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[NaiveDate], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|d| d.format("%Y-%m-%d").to_string()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<NaiveDate>, D::Error> {
        Ok(Vec::<super::Day>::deserialize(d)?.into_iter().map(|d| d.0).collect())
    }
}
