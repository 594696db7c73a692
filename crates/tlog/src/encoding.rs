//! Strict text encodings shared by every format in this crate: standard padded
//! base64 (RFC 4648 §4) and ASCII decimals without leading zeroes.
//!
//! Every C2SP text format here says "base64" and "ASCII decimal with no
//! leading zeroes". Parsing both strictly (canonical padding, zero trailing
//! bits, no sign, no whitespace) means a parsed value always serialises back
//! to the exact bytes that were signed, so parse → serialise round trips hold.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Standard alphabet, padding written and required, non-zero trailing bits
/// refused: one canonical text per byte string.
const STRICT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(false),
);

/// Encodes bytes as standard padded base64.
pub fn b64_encode(bytes: &[u8]) -> String {
    STRICT.encode(bytes)
}

/// Decodes canonical standard padded base64, or `None`.
pub fn b64_decode(text: &str) -> Option<Vec<u8>> {
    STRICT.decode(text).ok()
}

/// Parses an ASCII decimal with no leading zeroes ("0" itself is allowed)
/// that fits in a `u64`, or `None`.
pub fn parse_decimal(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if bytes.len() > 1 && bytes[0] == b'0' {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_is_strict() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
        for bad in ["", "00", "01", "+1", "-1", " 1", "1 ", "18446744073709551616", "1e3", "٣"] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn base64_is_canonical() {
        assert_eq!(b64_decode("AA=="), Some(vec![0]));
        // Missing padding, non-zero trailing bits, URL alphabet, whitespace.
        for bad in ["AA", "AB==", "-_8=", "AA== ", " AA=="] {
            assert_eq!(b64_decode(bad), None, "{bad:?}");
        }
        assert_eq!(b64_encode(&[0xfb, 0xff]), "+/8=");
    }
}
