//! How domain values are spelled in table columns, shared by both backends so that a
//! database written by one reads the same through the other.

use tongxin_domain::{Invalid, Level, UnitCode};

use crate::StoreError;

/// Levels as a bit set: bit `n` for level number `n`.
pub fn levels_to_bits(levels: &[Level]) -> i64 {
    levels.iter().fold(0, |acc, l| acc | (1 << l.number()))
}

pub fn bits_to_levels(bits: i64) -> Vec<Level> {
    Level::ALL.into_iter().filter(|l| bits & (1 << l.number()) != 0).collect()
}

/// The bits of `level` and every level below it.
pub fn levels_at_or_below(level: Level) -> i64 {
    Level::ALL.into_iter().filter(|l| *l >= level).fold(0, |acc, l| acc | (1 << l.number()))
}

/// Targets as `code;code;…`.
pub fn targets_to_text(targets: &[UnitCode]) -> String {
    let mut s = String::with_capacity(targets.len() * 10);
    for (i, t) in targets.iter().enumerate() {
        if i > 0 {
            s.push(';');
        }
        s.push_str(t.as_str());
    }
    s
}

pub fn text_to_targets(text: &str) -> Result<Vec<UnitCode>, StoreError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(';').map(|c| UnitCode::parse(c).map_err(corrupt)).collect()
}

pub fn fields_to_text(fields: &[String]) -> String {
    serde_json::to_string(fields).expect("strings serialise")
}

pub fn text_to_fields(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Database(format!("corrupt fields column: {e}")))
}

/// A stored value that no longer parses: the database was changed behind our back.
pub fn corrupt(e: Invalid) -> StoreError {
    StoreError::Database(format!("corrupt stored value: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_bits_round_trip() {
        let l = vec![Level::County, Level::Village];
        assert_eq!(bits_to_levels(levels_to_bits(&l)), l);
        assert_eq!(bits_to_levels(levels_at_or_below(Level::Township)), [Level::Township, Level::Village]);
    }
}
