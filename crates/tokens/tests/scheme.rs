//! tongxin's key scheme: scopes, challenges, key records.

mod common;

use common::{other_key, rfc_key};
use tongxin_tokens::scheme::{
    KeyRecord, KeyScope, active_key_count, challenge, check_server_name, logged_key, origin_info,
};
use tongxin_tokens::{Error, TOKEN_TYPE, TokenChallenge};

const SERVER: &str = "tongxin.example.gov.cn";

#[test]
fn scopes_are_dns_labels() {
    assert!(KeyScope::new("440305", "2026-11").is_ok());
    assert!(KeyScope::new("44", "2026").is_ok());
    for (scope, period) in [
        ("", "2026-11"),
        ("440305", ""),
        ("44 03", "2026-11"),
        ("440305", "2026/11"),
        ("-44", "2026-11"),
        ("440305", "2026-11-"),
        ("ABC", "2026-11"),
        ("4403050000000000000000000000000000", "2026-11"),
        ("44.03", "2026-11"),
        ("广东", "2026-11"),
    ] {
        assert!(matches!(KeyScope::new(scope, period), Err(Error::InvalidScope(_))), "{scope:?} {period:?}");
    }
    assert_eq!(KeyScope::monthly("440305", 2026, 1).unwrap().period, "2026-01");
    assert!(KeyScope::monthly("440305", 2026, 13).is_err());
    assert!(KeyScope::monthly("440305", 2026, 0).is_err());
}

#[test]
fn server_names() {
    for ok in ["tongxin.example.gov.cn", "localhost", "localhost:8080", "a-b.c"] {
        check_server_name(ok).unwrap();
    }
    for bad in [
        "",
        "Tongxin.example",
        "tongxin..example",
        "tongxin.example.",
        "-a.example",
        "a_b.example",
        "host:0",
        "host:080",
        "host:65536",
        "host:",
        "https://tongxin.example",
        "tongxin.example/path",
        "a,b",
    ] {
        assert!(check_server_name(bad).is_err(), "{bad:?}");
    }
    assert_eq!(origin_info(SERVER).unwrap(), SERVER);
}

#[test]
fn the_challenge_binds_issuer_scope_period_and_origin() {
    let scope = KeyScope::monthly("440305", 2026, 11).unwrap();
    let c = challenge(SERVER, &scope).unwrap();
    assert_eq!(c.token_type(), TOKEN_TYPE);
    assert_eq!(c.issuer_name(), "2026-11.440305.issuer.tongxin.example.gov.cn");
    assert_eq!(c.origin_info(), SERVER);
    assert_eq!(c.redemption_context(), Some(&scope.redemption_context()));
    let bytes = c.to_bytes();
    assert_eq!(TokenChallenge::decode(&bytes).unwrap(), c);
    // RFC 9577 §2.1 layout.
    assert_eq!(&bytes[..2], &[0, 2]);
    assert_eq!(usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), c.issuer_name().len());

    // Every member of the scope computes the same challenge.
    assert_eq!(challenge(SERVER, &scope.clone()).unwrap().digest(), c.digest());
    // Anything else changes the digest.
    let others = [
        challenge(SERVER, &KeyScope::monthly("440305", 2026, 12).unwrap()),
        challenge(SERVER, &KeyScope::monthly("440306", 2026, 11).unwrap()),
        challenge("other.example", &scope),
    ];
    for other in others {
        assert_ne!(other.unwrap().digest(), c.digest());
    }
}

#[test]
fn redemption_contexts_are_length_prefixed() {
    let a = KeyScope::new("1", "23").unwrap();
    let b = KeyScope::new("12", "3").unwrap();
    assert_ne!(a.redemption_context(), b.redemption_context());
}

#[test]
fn a_scope_that_is_not_valid_cannot_make_a_challenge() {
    let bad = KeyScope { scope_code: "44 03".into(), period: "2026-11".into() };
    assert!(challenge(SERVER, &bad).is_err());
    assert!(challenge("Bad Server", &KeyScope::new("44", "2026-11").unwrap()).is_err());
}

fn record() -> KeyRecord {
    KeyRecord::new(
        KeyScope::monthly("440305", 2026, 11).unwrap(),
        rfc_key().public_key(),
        1_793_462_400,
        1_796_054_400,
    )
    .unwrap()
}

#[test]
fn a_key_record_is_canonical_text() {
    let r = record();
    let bytes = r.to_bytes();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        &lines[..7],
        [
            "tongxin/voice/issuer-key/v1",
            "token-type 2",
            "scope 440305",
            "period 2026-11",
            "not-before 1793462400",
            "not-after 1796054400",
            "token-key-id ca572f8982a9ca248a3056186322d93ca147266121ddeb5632c07f1f71cd2708",
        ]
    );
    // RFC 9578 directories publish base64url (with padding) of the SPKI.
    assert!(lines[7].starts_with("token-key MIIBUjA9BgkqhkiG9w0BAQow"), "{}", lines[7]);
    assert_eq!(lines.len(), 8);
    assert!(text.ends_with('\n'));
    assert!(bytes.len() < 1024);

    let back = KeyRecord::from_bytes(&bytes).unwrap();
    assert_eq!(back, r);
    assert_eq!(back.public_key(), rfc_key().public_key());
    assert_eq!(back.spki(), rfc_key().public_key().spki());
    assert!(back.covers(1_793_462_400));
    assert!(!back.covers(1_796_054_400));
    assert!(!back.covers(1_793_462_399));
}

#[test]
fn non_canonical_key_records_are_refused() {
    let good = String::from_utf8(record().to_bytes()).unwrap();
    let other_id = {
        let other =
            KeyRecord::new(KeyScope::monthly("440305", 2026, 11).unwrap(), other_key().public_key(), 1, 2)
                .unwrap();
        let text = String::from_utf8(other.to_bytes()).unwrap();
        text.lines().nth(6).unwrap().to_string()
    };
    let good_id = good.lines().nth(6).unwrap().to_string();
    let variants = [
        good.trim_end().to_string(),
        good.replace('\n', "\r\n"),
        format!("{good}\n"),
        format!("{good}extra 1\n"),
        good.replace("token-type 2", "token-type 1"),
        good.replace("token-type 2", "token-type 02"),
        good.replace("not-before 1793462400", "not-before 01793462400"),
        good.replace("not-before 1793462400", "not-before +1793462400"),
        good.replace("not-before 1793462400", "not-before 1796054400"),
        good.replace("scope 440305", "scope  440305"),
        good.replace("scope 440305", "scope 44 0305"),
        good.replace("period 2026-11", "period 2026/11"),
        good.replace(&good_id, &good_id.to_uppercase().replace("TOKEN-KEY-ID", "token-key-id")),
        good.replace(&good_id, &other_id),
        good.replace("tongxin/voice/issuer-key/v1", "tongxin/voice/issuer-key/v2"),
        good.replacen("scope 440305\nperiod 2026-11", "period 2026-11\nscope 440305", 1),
        good.replace("token-key M", "token-key m"),
        good.replace("token-key MIIB", "token-key MII"),
    ];
    for (i, bad) in variants.iter().enumerate() {
        assert_ne!(bad, &good, "variant {i} is not a change");
        assert!(KeyRecord::from_bytes(bad.as_bytes()).is_err(), "variant {i} accepted: {bad}");
    }
    assert!(KeyRecord::from_bytes(&[0xff, 0xfe]).is_err());
    assert!(KeyRecord::new(KeyScope::new("44", "x").unwrap(), rfc_key().public_key(), 5, 5).is_err());
}

#[test]
fn clients_use_only_logged_keys() {
    let scope = KeyScope::monthly("440305", 2026, 11).unwrap();
    let logged = [record()];
    let now = 1_794_000_000;
    let key = rfc_key().public_key();
    assert!(logged_key(&logged, &scope, key.token_key_id(), now).is_some());
    // A key that is not in the log (for example, one made for one person).
    assert!(logged_key(&logged, &scope, other_key().public_key().token_key_id(), now).is_none());
    // A logged key outside its validity, or for another scope.
    assert!(logged_key(&logged, &scope, key.token_key_id(), 1_796_054_400).is_none());
    let elsewhere = KeyScope::monthly("440306", 2026, 11).unwrap();
    assert!(logged_key(&logged, &elsewhere, key.token_key_id(), now).is_none());

    assert_eq!(active_key_count(&logged, &scope, now), 1);
    let second = KeyRecord::new(scope.clone(), other_key().public_key(), 0, u64::MAX).unwrap();
    let both = [record(), second, record()];
    assert_eq!(active_key_count(&both, &scope, now), 2);
    assert_eq!(active_key_count(&both, &elsewhere, now), 0);
}
