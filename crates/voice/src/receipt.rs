//! The receipt secret: what lets an anonymous submitter come back to their report.
//!
//! The secret is 160 random bits written as 8 groups of 4 Crockford base32 characters
//! (`7K3M-Q9XD-…`), shown once with a printable copy and never stored. The store keeps only
//! [`ReceiptHash`]: SHA-256 over a domain-separation prefix and the secret's 20 bytes.
//!
//! A plain hash is enough here, unlike for passwords: a slow hash (argon2) defends
//! low-entropy human choices against guessing, but this secret is machine-chosen with 160
//! bits of entropy, so nobody holding the hash can guess it. A fast hash also lets the
//! hash be the lookup key of the report.

use rand::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tongxin_domain::Invalid;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const BYTES: usize = 20;
const CHARS: usize = 32;
const PREFIX: &[u8] = b"tongxin-voice/receipt/v1\0";

/// A receipt secret. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ReceiptSecret([u8; BYTES]);

impl std::fmt::Debug for ReceiptSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReceiptSecret(…)")
    }
}

impl ReceiptSecret {
    /// A fresh secret (160 bits) from a cryptographic generator.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> ReceiptSecret {
        let mut b = [0u8; BYTES];
        rng.fill_bytes(&mut b);
        ReceiptSecret(b)
    }

    /// The form shown to the submitter: `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`.
    pub fn display(&self) -> String {
        let mut out = String::with_capacity(CHARS + 7);
        // 160 bits = 32 five-bit symbols, most significant first.
        let mut acc: u64 = 0;
        let mut bits = 0;
        let mut n = 0;
        for &byte in &self.0 {
            acc = (acc << 8) | u64::from(byte);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                if n > 0 && n % 4 == 0 {
                    out.push('-');
                }
                out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
                n += 1;
            }
        }
        out
    }

    /// Reads a secret as typed: case, spaces and hyphens do not matter, and the Crockford
    /// look-alikes are accepted (`O` for 0, `I`/`L` for 1). The error says only that the
    /// secret is not valid (no hint of which character).
    pub fn parse(s: &str) -> Result<ReceiptSecret, Invalid> {
        let bad = || Invalid::one("receipt", "回执码无效", "the receipt secret is not valid");
        let mut acc: u64 = 0;
        let mut bits = 0;
        let mut out = Vec::with_capacity(BYTES);
        let mut n = 0;
        for c in s.chars() {
            if c == '-' || c.is_whitespace() {
                continue;
            }
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            let v = ALPHABET.iter().position(|&a| a as char == c).ok_or_else(bad)?;
            n += 1;
            if n > CHARS {
                return Err(bad());
            }
            acc = (acc << 5) | v as u64;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        let bytes: [u8; BYTES] = out.try_into().map_err(|_| bad())?;
        if n != CHARS {
            return Err(bad());
        }
        Ok(ReceiptSecret(bytes))
    }

    pub fn hash(&self) -> ReceiptHash {
        let mut h = Sha256::new();
        h.update(PREFIX);
        h.update(self.0);
        ReceiptHash(h.finalize().into())
    }
}

/// What the store keeps of a receipt secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReceiptHash([u8; 32]);

impl ReceiptHash {
    pub fn from_bytes(b: [u8; 32]) -> ReceiptHash {
        ReceiptHash(b)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// True when `secret` hashes to this, compared in constant time.
    pub fn matches(&self, secret: &ReceiptSecret) -> bool {
        ct_eq(&self.0, &secret.hash().0)
    }
}

/// Constant-time equality of two equal-length byte strings (the time does not depend on
/// where they differ).
pub(crate) fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn display_parse_and_match() {
        let mut rng = StdRng::seed_from_u64(1);
        let s = ReceiptSecret::generate(&mut rng);
        let shown = s.display();
        assert_eq!(shown.len(), 39);
        assert_eq!(shown.split('-').count(), 8);
        assert!(shown.split('-').all(|g| g.len() == 4));
        assert_eq!(ReceiptSecret::parse(&shown).unwrap(), s);
        let sloppy = shown.to_lowercase().replace('-', " ").replace('0', "o").replace('1', "l");
        assert_eq!(ReceiptSecret::parse(&sloppy).unwrap(), s);
        let h = s.hash();
        assert!(h.matches(&s));
        assert!(!h.matches(&ReceiptSecret::generate(&mut rng)));
        assert_eq!(format!("{s:?}"), "ReceiptSecret(…)");
        for bad in ["", "ABCD", &format!("{shown}A"), &shown.replace(&shown[..1], "U")] {
            let e = ReceiptSecret::parse(bad).unwrap_err();
            assert_eq!(e.0[0].field, "receipt");
        }
        // Known answer: all-zero bytes.
        assert_eq!(ReceiptSecret([0; 20]).display(), "0000-0000-0000-0000-0000-0000-0000-0000");
        assert_eq!(ReceiptSecret([0xff; 20]).display(), "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ");
    }

    proptest! {
        #[test]
        fn round_trip(bytes in any::<[u8; 20]>()) {
            let s = ReceiptSecret(bytes);
            prop_assert_eq!(ReceiptSecret::parse(&s.display()).unwrap(), s);
        }
    }
}
