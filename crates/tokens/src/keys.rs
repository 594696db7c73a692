//! Issuer keys: RSA-2048 for token type `0x0002`.

use std::fmt;

use blind_rsa_signatures::reexports::rsa::traits::PublicKeyParts as _;
use blind_rsa_signatures::{Deterministic, KeyPair, PSS, PublicKey, SecretKey, Sha384};
use zeroize::Zeroizing;

use crate::{CryptoRng, DIGEST_LEN, Error, NK, sha256, to_hex};

/// RSABSSA-SHA384-PSS-Deterministic, the RFC 9474 variant RFC 9578 §6 uses.
pub(crate) type Pk = PublicKey<Sha384, PSS, Deterministic>;
pub(crate) type Sk = SecretKey<Sha384, PSS, Deterministic>;

/// Largest SPKI or PKCS#8 input considered (an RSA-2048 PKCS#8 document is
/// about 1.2 KiB); bounds work on hostile input.
const MAX_KEY_DOCUMENT: usize = 4096;

/// An issuer's public key with its RFC 9578 §6.5 encoding and identifier.
///
/// The encoding is a DER SubjectPublicKeyInfo with the RSASSA-PSS OID and
/// parameters (SHA-384, MGF1 with SHA-384, 48-byte salt), and
/// `token_key_id = SHA-256(SPKI)`. Only that exact encoding is accepted, so
/// one key has one id.
#[derive(Clone)]
pub struct IssuerPublicKey {
    pk: Pk,
    spki: Vec<u8>,
    token_key_id: [u8; DIGEST_LEN],
}

impl IssuerPublicKey {
    fn from_pk(pk: Pk) -> Result<Self, Error> {
        let rsa = pk.as_ref();
        // Exactly 2048 bits: 256 bytes with the top bit set.
        let n = rsa.n_bytes();
        if n.len() != NK || n[0] & 0x80 == 0 {
            return Err(Error::InvalidKey("modulus is not 2048 bits"));
        }
        let spki = pk.to_spki().map_err(|_| Error::InvalidKey("cannot encode the public key"))?;
        let token_key_id = sha256(&[&spki]);
        Ok(IssuerPublicKey { pk, spki, token_key_id })
    }

    /// Parses the RFC 9578 §6.5 SPKI; refuses any other encoding (a plain
    /// `rsaEncryption` SPKI, other PSS parameters, trailing bytes) and any
    /// modulus that is not exactly 2048 bits.
    pub fn from_spki(spki: &[u8]) -> Result<Self, Error> {
        if spki.len() > MAX_KEY_DOCUMENT {
            return Err(Error::InvalidKey("SPKI is too long"));
        }
        // The crate's parser reads the key bits and checks only the
        // RSASSA-PSS OID; re-encoding and comparing checks the rest.
        let pk = Pk::from_spki(spki).map_err(|_| Error::InvalidKey("not an RSASSA-PSS SPKI"))?;
        let key = Self::from_pk(pk)?;
        if key.spki != spki {
            return Err(Error::InvalidKey(
                "SPKI is not the RFC 9578 encoding (RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48)",
            ));
        }
        Ok(key)
    }

    /// The RFC 9578 §6.5 SPKI (DER), what the issuer directory and tongxin's
    /// [`crate::KeyRecord`] publish.
    pub fn spki(&self) -> &[u8] {
        &self.spki
    }

    /// `token_key_id = SHA-256(SPKI)`.
    pub fn token_key_id(&self) -> &[u8; DIGEST_LEN] {
        &self.token_key_id
    }

    /// The last byte of `token_key_id`, which a token request carries.
    pub fn truncated_token_key_id(&self) -> u8 {
        self.token_key_id[DIGEST_LEN - 1]
    }

    pub(crate) fn inner(&self) -> &Pk {
        &self.pk
    }
}

impl PartialEq for IssuerPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki == other.spki
    }
}

impl Eq for IssuerPublicKey {}

impl fmt::Debug for IssuerPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerPublicKey").field("token_key_id", &to_hex(&self.token_key_id)).finish()
    }
}

/// An issuer's secret key (RSA-2048). Its `Debug` shows only the key id;
/// its serializations are wrapped in [`Zeroizing`].
pub struct IssuerKey {
    sk: Sk,
    public: IssuerPublicKey,
}

impl IssuerKey {
    /// Generates a fresh RSA-2048 key (e = 65537). Takes about a second in
    /// a release build; much longer unoptimized.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Result<Self, Error> {
        let pair = KeyPair::<Sha384, PSS, Deterministic>::generate(rng, NK * 8)?;
        Self::from_sk(pair.sk)
    }

    fn from_sk(sk: Sk) -> Result<Self, Error> {
        let pk =
            sk.public_key().map_err(|_| Error::InvalidKey("unsupported public exponent or modulus size"))?;
        let public = IssuerPublicKey::from_pk(pk)?;
        Ok(IssuerKey { sk, public })
    }

    /// Reads a PKCS#8 DER private key (PKCS#1 is accepted too), checking the
    /// key's consistency and that the modulus is 2048 bits.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, Error> {
        if der.len() > MAX_KEY_DOCUMENT {
            return Err(Error::InvalidKey("private key document is too long"));
        }
        let sk = Sk::from_der(der).map_err(|_| Error::InvalidKey("not a valid RSA private key"))?;
        Self::from_sk(sk)
    }

    /// Reads a PEM `PRIVATE KEY` (PKCS#8; `RSA PRIVATE KEY` is accepted
    /// too).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, Error> {
        if pem.len() > 2 * MAX_KEY_DOCUMENT {
            return Err(Error::InvalidKey("private key document is too long"));
        }
        let sk = Sk::from_pem(pem).map_err(|_| Error::InvalidKey("not a valid RSA private key"))?;
        Self::from_sk(sk)
    }

    /// The key as PKCS#8 DER.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        Ok(Zeroizing::new(self.sk.to_der()?))
    }

    /// The key as a PKCS#8 PEM `PRIVATE KEY`.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, Error> {
        Ok(Zeroizing::new(self.sk.to_pem()?))
    }

    /// The public half.
    pub fn public_key(&self) -> &IssuerPublicKey {
        &self.public
    }

    pub(crate) fn inner(&self) -> &Sk {
        &self.sk
    }
}

impl fmt::Debug for IssuerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerKey")
            .field("token_key_id", &to_hex(&self.public.token_key_id))
            .field("secret", &"<redacted>")
            .finish()
    }
}
