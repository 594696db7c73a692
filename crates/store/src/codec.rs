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

/// The RFC 6962 root of the empty tree: SHA-256 of the empty string.
pub const EMPTY_ROOT: [u8; 32] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27,
    0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// A stored 32-byte hash.
pub fn hash32(bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    bytes.try_into().map_err(|_| StoreError::Database(format!("corrupt hash of {} bytes", bytes.len())))
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
