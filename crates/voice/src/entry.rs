//! The transparency-log entry of a filing and of every transition.
//!
//! An entry is canonical UTF-8 text, one `key value` line each, in this order:
//!
//! ```text
//! tongxin-voice-entry/v1
//! kind transition                 (or: report, for the filing)
//! report <64 hex: ReportRef>
//! seq 2                           (0 for the filing, then Transition::seq)
//! event answer                    (file, for the filing; else EventKind::as_str)
//! state answered
//! escalation 0
//! hour 2026-03-02T02Z             (UTC, truncated to the hour)
//! commitment <64 hex>
//! ```
//!
//! What it shows and what it hides:
//! - the report appears only as [`ReportRef`], a hash of its id: the id is a UUIDv7 that
//!   carries the filing time to the millisecond;
//! - the time is truncated to the hour, so the log does not let a body match an entry
//!   with, say, the minute a given cadre left a meeting. (The log's own order and its
//!   one-second batches still order entries; a deployment that wants more can hold
//!   anonymous filings back and append them in shuffled hourly batches.)
//! - the content (the report's text, an answer, a message, a rating, a routing) is never
//!   in clear: only `SHA-256(prefix ‖ opening ‖ content)` with a random 32-byte opening. The
//!   commitment hides the content (the opening is secret and random) and binds it
//!   (SHA-256 collision resistance). The store keeps opening and content; showing both to
//!   the receipt holder or an auditor lets them check [`verify_commitment`].
//! - names never: a named report's identity is not part of the committed content.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use rand::CryptoRng;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::limits::Which;
use crate::machine::{EscalationCause, Event, EventKind, Party, Transition};
use crate::receipt::ct_eq;
use crate::report::{Report, State, put};

const HEADER: &str = "tongxin-voice-entry/v1";
const COMMIT_PREFIX: &[u8] = b"tongxin-voice/commitment/v1\0";
const REF_PREFIX: &[u8] = b"tongxin-voice/report-ref/v1\0";

/// The public reference of a report: SHA-256 of a prefix and its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReportRef(pub [u8; 32]);

impl ReportRef {
    pub fn of(id: Uuid) -> ReportRef {
        let mut h = Sha256::new();
        h.update(REF_PREFIX);
        h.update(id.as_bytes());
        ReportRef(h.finalize().into())
    }

    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

/// The random opening of a commitment; keep it with the content, secret like it.
#[derive(Clone, PartialEq, Eq)]
pub struct Opening(pub [u8; 32]);

impl std::fmt::Debug for Opening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Opening(…)")
    }
}

impl Opening {
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Opening {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        Opening(b)
    }
}

/// `SHA-256("tongxin-voice/commitment/v1\0" ‖ opening ‖ content)`.
pub fn commit(opening: &Opening, content: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(COMMIT_PREFIX);
    h.update(opening.0);
    h.update(content);
    h.finalize().into()
}

/// True when `content` with `opening` is what `entry` committed to.
pub fn verify_commitment(entry: &LogEntry, opening: &Opening, content: &[u8]) -> bool {
    ct_eq(&entry.commitment, &commit(opening, content))
}

/// The canonical bytes a transition's entry commits to: the event's data (addressee,
/// rating, …) and the text that came with it (an answer, a message; empty otherwise).
pub fn event_content(event: &Event, text: &str) -> Vec<u8> {
    let mut out = b"tongxin-voice/event-content/v1\n".to_vec();
    put(&mut out, event.kind().as_str().as_bytes());
    match event {
        Event::Route { to } => put(&mut out, to.as_bytes()),
        Event::Message { from } => put(
            &mut out,
            match from {
                Party::Submitter => b"submitter",
                Party::Body => b"body",
            },
        ),
        Event::Rate { rating } => put(&mut out, &[rating.satisfaction, u8::from(rating.resolved)]),
        Event::Escalate { cause } => put(
            &mut out,
            match cause {
                EscalationCause::Office => b"office".as_slice(),
                EscalationCause::Overdue(Which::Acknowledge) => b"overdue-acknowledge",
                EscalationCause::Overdue(Which::Answer) => b"overdue-answer",
            },
        ),
        Event::Acknowledge | Event::Answer | Event::CloseQuiet | Event::Reopen => put(&mut out, b""),
    }
    put(&mut out, text.as_bytes());
    out
}

/// The text that came with a transition (an answer, a message; empty otherwise), read
/// back from its [`event_content`] bytes; `None` when `content` is not such bytes.
pub fn event_content_text(content: &[u8]) -> Option<&str> {
    fn take<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        if tail.len() < len {
            return None;
        }
        let (field, tail) = tail.split_at(len);
        *rest = tail;
        Some(field)
    }
    let mut rest = content.strip_prefix(b"tongxin-voice/event-content/v1\n".as_slice())?;
    take(&mut rest)?; // the event kind
    take(&mut rest)?; // the event's data
    let text = take(&mut rest)?;
    if !rest.is_empty() {
        return None;
    }
    std::str::from_utf8(text).ok()
}

/// One log entry, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub report: ReportRef,
    /// 0 for the filing, else the transition's `seq`.
    pub seq: u32,
    /// `None` for the filing.
    pub event: Option<EventKind>,
    pub state: State,
    pub escalation: u8,
    /// Truncated to the hour.
    pub hour: DateTime<Utc>,
    pub commitment: [u8; 32],
}

/// A malformed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryError(pub String);

impl std::fmt::Display for EntryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed voice log entry: {}", self.0)
    }
}

impl std::error::Error for EntryError {}

fn hour(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::hours(1)).expect("in range")
}

impl LogEntry {
    /// The entry of a new report, committing to [`Report::content_bytes`]. Returns the
    /// opening to store with the report.
    pub fn filing<R: CryptoRng + ?Sized>(report: &Report, rng: &mut R) -> (LogEntry, Opening) {
        let opening = Opening::generate(rng);
        let entry = LogEntry {
            report: ReportRef::of(report.id),
            seq: 0,
            event: None,
            state: State::Submitted,
            escalation: 0,
            hour: hour(report.submitted_at),
            commitment: commit(&opening, &report.content_bytes()),
        };
        (entry, opening)
    }

    /// The entry of a transition, committing to `content` (use [`event_content`]).
    pub fn transition<R: CryptoRng + ?Sized>(
        report_id: Uuid,
        t: &Transition,
        content: &[u8],
        rng: &mut R,
    ) -> (LogEntry, Opening) {
        let opening = Opening::generate(rng);
        let entry = LogEntry {
            report: ReportRef::of(report_id),
            seq: t.seq,
            event: Some(t.event.kind()),
            state: t.to,
            escalation: t.escalation,
            hour: hour(t.at),
            commitment: commit(&opening, content),
        };
        (entry, opening)
    }

    /// The canonical bytes appended to the log.
    pub fn encode(&self) -> Vec<u8> {
        format!(
            "{HEADER}\nkind {}\nreport {}\nseq {}\nevent {}\nstate {}\nescalation {}\nhour {}\ncommitment {}\n",
            if self.event.is_some() { "transition" } else { "report" },
            self.report.to_hex(),
            self.seq,
            self.event.map_or("file", EventKind::as_str),
            self.state.as_str(),
            self.escalation,
            self.hour.format("%Y-%m-%dT%HZ"),
            hex(&self.commitment),
        )
        .into_bytes()
    }

    /// Reads an entry; only the exact canonical encoding is accepted
    /// (`decode(b).encode() == b`).
    pub fn decode(bytes: &[u8]) -> Result<LogEntry, EntryError> {
        let err = |m: &str| EntryError(m.to_owned());
        let text = std::str::from_utf8(bytes).map_err(|_| err("not UTF-8"))?;
        let body = text.strip_suffix('\n').ok_or_else(|| err("no final newline"))?;
        let mut lines = body.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(err("unknown header"));
        }
        let mut field = |key: &str| -> Result<&str, EntryError> {
            lines
                .next()
                .and_then(|l| l.strip_prefix(key))
                .and_then(|l| l.strip_prefix(' '))
                .ok_or_else(|| EntryError(format!("expected '{key}'")))
        };
        let kind = field("kind")?;
        let report = ReportRef(unhex(field("report")?).ok_or_else(|| err("bad report"))?);
        let seq: u32 = field("seq")?.parse().map_err(|_| err("bad seq"))?;
        let event = match field("event")? {
            "file" => None,
            e => Some(EventKind::parse(e).ok_or_else(|| err("unknown event"))?),
        };
        let state = State::parse(field("state")?).ok_or_else(|| err("unknown state"))?;
        let escalation: u8 = field("escalation")?.parse().map_err(|_| err("bad escalation"))?;
        let hour_s = field("hour")?;
        let hour = chrono::NaiveDateTime::parse_from_str(&format!("{hour_s}:00"), "%Y-%m-%dT%HZ:%M")
            .map_err(|_| err("bad hour"))?
            .and_utc();
        let commitment = unhex(field("commitment")?).ok_or_else(|| err("bad commitment"))?;
        if lines.next().is_some() {
            return Err(err("trailing lines"));
        }
        if kind != if event.is_some() { "transition" } else { "report" } {
            return Err(err("kind does not match event"));
        }
        let entry = LogEntry { report, seq, event, state, escalation, hour, commitment };
        if entry.encode() != bytes {
            return Err(err("not canonical"));
        }
        Ok(entry)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Rating;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    /// The expected hashes were computed independently (Python hashlib) from the format
    /// described in the module documentation.
    #[test]
    fn golden_transition_entry() {
        let id = Uuid::parse_str("019a0000-0000-7000-8000-000000000001").unwrap();
        let t = Transition {
            seq: 3,
            event: Event::Rate { rating: Rating::new(4, true).unwrap() },
            from: State::Answered,
            to: State::Closed,
            escalation: 1,
            at: Utc.with_ymd_and_hms(2026, 3, 2, 2, 59, 59).unwrap(),
        };
        let content = event_content(&t.event, "");
        let mut rng = StdRng::seed_from_u64(0);
        let (entry, _) = LogEntry::transition(id, &t, &content, &mut rng);
        let opening = Opening([7; 32]);
        let entry = LogEntry { commitment: commit(&opening, &content), ..entry };
        let text = String::from_utf8(entry.encode()).unwrap();
        assert_eq!(
            text,
            "tongxin-voice-entry/v1\n\
             kind transition\n\
             report 2dd2a054f8299279dccb436d5363bcfd89c15a743c8caa0a235a37ad8d286bc1\n\
             seq 3\n\
             event rate\n\
             state closed\n\
             escalation 1\n\
             hour 2026-03-02T02Z\n\
             commitment 443c47dab02d32d68465ed39f7e2fb040f728a6dec1e94168f41893715b1fbe2\n"
        );
        assert_eq!(LogEntry::decode(text.as_bytes()).unwrap(), entry);
        assert!(verify_commitment(&entry, &opening, &content));
    }

    #[test]
    fn event_content_text_reads_back_the_text() {
        let answer = event_content(&Event::Answer, "已取消，答复如下：\n第二行");
        assert_eq!(event_content_text(&answer), Some("已取消，答复如下：\n第二行"));
        let reply = event_content(&Event::Message { from: Party::Submitter }, "谢谢");
        assert_eq!(event_content_text(&reply), Some("谢谢"));
        assert_eq!(event_content_text(&event_content(&Event::Acknowledge, "")), Some(""));
        assert_eq!(event_content_text(&reply[..reply.len() - 1]), None);
        assert_eq!(event_content_text(b""), None);
        assert_eq!(event_content_text(b"tongxin-voice/report-content/v1\n"), None);
    }

    #[test]
    fn filing_entry_hides_the_content() {
        let r = crate::machine::tests::sample(Utc.with_ymd_and_hms(2026, 3, 2, 2, 17, 3).unwrap());
        let mut rng = StdRng::seed_from_u64(1);
        let (e, o) = LogEntry::filing(&r, &mut rng);
        let bytes = e.encode();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(!text.contains("每周"));
        assert!(!text.contains(&r.id.to_string()));
        assert!(text.contains("kind report\n") && text.contains("event file\n"));
        assert!(text.contains("hour 2026-03-02T02Z\n"));
        assert!(verify_commitment(&e, &o, &r.content_bytes()));
        assert_eq!(LogEntry::decode(&bytes).unwrap(), e);
        // Two filings of the same content commit differently (fresh openings).
        let (e2, _) = LogEntry::filing(&r, &mut rng);
        assert_ne!(e.commitment, e2.commitment);
    }

    #[test]
    fn decode_refuses_non_canonical() {
        let r = crate::machine::tests::sample(Utc.with_ymd_and_hms(2026, 3, 2, 2, 17, 3).unwrap());
        let (e, _) = LogEntry::filing(&r, &mut StdRng::seed_from_u64(1));
        let good = String::from_utf8(e.encode()).unwrap();
        for bad in [
            good.replace("seq 0", "seq 00"),
            good.replace("kind report", "kind transition"),
            good.trim_end().to_owned(),
            good.replace("event file", "event nonsense"),
            format!("{good}x\n"),
            good.to_uppercase(),
        ] {
            assert!(LogEntry::decode(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = LogEntry::decode(&bytes);
        }

        #[test]
        fn encode_decode_round_trip(
            report in any::<[u8; 32]>(), seq in any::<u32>(), ev in 0usize..9, st in 0usize..4,
            escalation in any::<u8>(), hours in 0i64..200_000, commitment in any::<[u8; 32]>(),
        ) {
            let e = LogEntry {
                report: ReportRef(report), seq,
                event: EventKind::ALL.get(ev).copied(), state: State::ALL[st], escalation,
                hour: Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap() + TimeDelta::hours(hours),
                commitment,
            };
            prop_assert_eq!(LogEntry::decode(&e.encode()).unwrap(), e);
        }
    }

    proptest! {
        #[test]
        fn commitment_binds_every_byte(
            content in proptest::collection::vec(any::<u8>(), 0..200),
            opening in any::<[u8; 32]>(),
            flip in any::<proptest::sample::Index>(),
            bit in 0u8..8,
            in_opening in any::<bool>(),
        ) {
            let o = Opening(opening);
            let c = commit(&o, &content);
            let entry = LogEntry {
                report: ReportRef([0; 32]), seq: 1, event: Some(EventKind::Answer),
                state: State::Answered, escalation: 0,
                hour: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(), commitment: c,
            };
            prop_assert!(verify_commitment(&entry, &o, &content));
            if in_opening || content.is_empty() {
                let mut o2 = o.clone();
                o2.0[flip.index(32)] ^= 1 << bit;
                prop_assert!(!verify_commitment(&entry, &o2, &content));
            } else {
                let mut c2 = content.clone();
                c2[flip.index(content.len())] ^= 1 << bit;
                prop_assert!(!verify_commitment(&entry, &o, &c2));
            }
            // Extending or truncating the content fails too.
            let mut longer = content.clone();
            longer.push(0);
            prop_assert!(!verify_commitment(&entry, &o, &longer));
        }
    }
}
