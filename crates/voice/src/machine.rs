//! The closed loop as one transition function.
//!
//! ```text
//!              Answer (implies acknowledgement)
//!   submitted ───────────────────────────────┐
//!      │ Acknowledge                         ▼
//!      └──────────► acknowledged ──Answer──► answered ──Rate / CloseQuiet──► closed
//!                        ▲                      │                              │
//!                        └──────── Reopen ──────┴──────────── Reopen ──────────┘
//! ```
//!
//! Decisions (each enforced by [`apply`] and tested):
//! - **Answering before acknowledging is allowed**: a body that answers at once has also
//!   acknowledged, so the acknowledgement time is set to the answer time (and counts as on
//!   time if the answer is). Forcing two clicks would only punish quick bodies.
//! - **Rating only after an answer**, only by the submitter, once per answer; a rating
//!   closes the report (closed by rating).
//! - **Closing otherwise** needs the quiet period: `TimeLimits::quiet_close` working days
//!   after the answer without a rating (closed by quiet period). Bodies cannot close a
//!   report themselves.
//! - **Reopen** by the submitter from answered or closed, within
//!   `TimeLimits::reopen_within` working days of the answer and at most
//!   `TimeLimits::max_reopens` times; it returns to acknowledged, clears the answer and the
//!   rating, and restarts the answer time limit.
//! - **Escalation** is a level beside the state, not a state: an escalated report still
//!   waits for the same acknowledgement or answer, now visible to more bodies. Escalation
//!   for being overdue is accepted only when [`crate::limits::overdue`] says so, once per
//!   kind of lateness per round; the burden-reduction office may also escalate an open,
//!   unanswered report by hand.
//! - **Messages** (submitter ↔ body) change no state but are events: they are recorded and
//!   logged like the rest. Not after closing (reopen first).
//! - **Routing** (the office addressing or re-addressing a report) is possible until it is
//!   answered.
//! - Time never goes backwards: an event earlier than the last one is refused.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::calendar::{WorkCalendar, china_date};
use crate::limits::{TimeLimits, Which, overdue};
use crate::report::{Rating, Report, State};

/// What the loop needs to judge time: the working-day calendar and the limits.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    pub calendar: &'a WorkCalendar,
    pub limits: &'a TimeLimits,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    Submitter,
    Body,
}

/// Why a report was escalated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscalationCause {
    /// A time limit passed.
    Overdue(Which),
    /// The burden-reduction office escalated it by hand.
    Office,
}

/// How a report came to be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    Rated,
    QuietPeriod,
}

/// Something that happens to a report. Who may cause which event (a body, the
/// submitter through their receipt, the office, the scheduler) is the server's
/// authorisation; the variants say whose act each one is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// Office: address (or re-address) the report to a body.
    Route { to: Uuid },
    /// Addressed body: the report is received and being handled.
    Acknowledge,
    /// Addressed body: the answer (its text is stored and committed to elsewhere).
    Answer,
    /// Either side writes a message.
    Message { from: Party },
    /// Submitter: rates the answer, which closes the report.
    Rate { rating: Rating },
    /// Scheduler: closes an answered report after the quiet period.
    CloseQuiet,
    /// Submitter: the answer does not settle it.
    Reopen,
    /// Scheduler or office: raise the escalation level.
    Escalate { cause: EscalationCause },
}

/// The event's name, without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Route,
    Acknowledge,
    Answer,
    Message,
    Rate,
    CloseQuiet,
    Reopen,
    Escalate,
}

impl EventKind {
    pub const ALL: [EventKind; 8] = [
        EventKind::Route,
        EventKind::Acknowledge,
        EventKind::Answer,
        EventKind::Message,
        EventKind::Rate,
        EventKind::CloseQuiet,
        EventKind::Reopen,
        EventKind::Escalate,
    ];

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Route => "route",
            EventKind::Acknowledge => "acknowledge",
            EventKind::Answer => "answer",
            EventKind::Message => "message",
            EventKind::Rate => "rate",
            EventKind::CloseQuiet => "close_quiet",
            EventKind::Reopen => "reopen",
            EventKind::Escalate => "escalate",
        }
    }
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Route { .. } => EventKind::Route,
            Event::Acknowledge => EventKind::Acknowledge,
            Event::Answer => EventKind::Answer,
            Event::Message { .. } => EventKind::Message,
            Event::Rate { .. } => EventKind::Rate,
            Event::CloseQuiet => EventKind::CloseQuiet,
            Event::Reopen => EventKind::Reopen,
            Event::Escalate { .. } => EventKind::Escalate,
        }
    }
}

/// One accepted event, as recorded in [`Report::history`] and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    /// 1 for the first event of a report, then 2, 3, …
    pub seq: u32,
    pub event: Event,
    pub from: State,
    pub to: State,
    /// The escalation level after the event.
    pub escalation: u8,
    pub at: DateTime<Utc>,
}

/// Why an event was refused; the report is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionError {
    /// This event cannot happen in this state.
    NotAllowed {
        event: EventKind,
        state: State,
    },
    /// The event is dated before the report's last event.
    TimeBeforeLast,
    /// Reopening is possible only within the limit after the answer.
    ReopenTooLate,
    TooManyReopens,
    /// The quiet period after the answer has not passed yet.
    QuietPeriodNotOver,
    /// Escalation for lateness when the report is not (or not that) late.
    NotOverdue,
    /// Already escalated for this lateness in this round.
    AlreadyEscalated,
    EscalationLimit,
    /// Routing to the body it is already addressed to.
    SameAddressee,
}

impl TransitionError {
    pub fn code(self) -> &'static str {
        match self {
            TransitionError::NotAllowed { .. } => "not_allowed",
            TransitionError::TimeBeforeLast => "time_before_last",
            TransitionError::ReopenTooLate => "reopen_too_late",
            TransitionError::TooManyReopens => "too_many_reopens",
            TransitionError::QuietPeriodNotOver => "quiet_period_not_over",
            TransitionError::NotOverdue => "not_overdue",
            TransitionError::AlreadyEscalated => "already_escalated",
            TransitionError::EscalationLimit => "escalation_limit",
            TransitionError::SameAddressee => "same_addressee",
        }
    }

    pub fn zh(self) -> String {
        match self {
            TransitionError::NotAllowed { event, state } => {
                format!("事项处于“{}”状态，不能进行此操作（{}）", state.zh(), event.as_str())
            }
            TransitionError::TimeBeforeLast => "操作时间早于上一操作".into(),
            TransitionError::ReopenTooLate => "已超过可重新提出的期限".into(),
            TransitionError::TooManyReopens => "重新提出的次数已达上限".into(),
            TransitionError::QuietPeriodNotOver => "答复后的等待期尚未结束".into(),
            TransitionError::NotOverdue => "尚未超期，不能因超期升级".into(),
            TransitionError::AlreadyEscalated => "已因此次超期升级过".into(),
            TransitionError::EscalationLimit => "升级次数已达上限".into(),
            TransitionError::SameAddressee => "已经转交给该部门".into(),
        }
    }

    pub fn en(self) -> String {
        match self {
            TransitionError::NotAllowed { event, state } => {
                format!("cannot {} a report that is {}", event.as_str(), state.en())
            }
            TransitionError::TimeBeforeLast => "the event is dated before the last one".into(),
            TransitionError::ReopenTooLate => "the time to reopen has passed".into(),
            TransitionError::TooManyReopens => "the report was reopened too many times".into(),
            TransitionError::QuietPeriodNotOver => "the quiet period after the answer is not over".into(),
            TransitionError::NotOverdue => "the report is not overdue".into(),
            TransitionError::AlreadyEscalated => "already escalated for this delay".into(),
            TransitionError::EscalationLimit => "the escalation level is at its maximum".into(),
            TransitionError::SameAddressee => "the report is already addressed to that body".into(),
        }
    }
}

impl std::fmt::Display for TransitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.en())
    }
}

impl std::error::Error for TransitionError {}

/// The highest escalation level.
pub const MAX_ESCALATION: u8 = 16;

/// Applies `event` at `at`: on success the report is updated, the transition appended to
/// its history and returned (log it); on error the report is unchanged.
pub fn apply(
    report: &mut Report,
    event: Event,
    at: DateTime<Utc>,
    policy: &Policy<'_>,
) -> Result<Transition, TransitionError> {
    use State::*;
    if at < report.last_event_at() {
        return Err(TransitionError::TimeBeforeLast);
    }
    let state = report.state;
    let not_allowed = Err(TransitionError::NotAllowed { event: event.kind(), state });
    let cal = policy.calendar;
    let limits = policy.limits;
    let since_answer = |r: &Report| {
        r.answered_at.map(|a| cal.working_days_between(china_date(a), china_date(at))).unwrap_or(0)
    };
    // Check first, then change.
    let to = match event {
        Event::Route { to } => {
            if !matches!(state, Submitted | Acknowledged) {
                return not_allowed;
            }
            if report.addressed == Some(to) {
                return Err(TransitionError::SameAddressee);
            }
            state
        }
        Event::Acknowledge => {
            if state != Submitted {
                return not_allowed;
            }
            Acknowledged
        }
        Event::Answer => {
            if !matches!(state, Submitted | Acknowledged) {
                return not_allowed;
            }
            Answered
        }
        Event::Message { .. } => {
            if state == Closed {
                return not_allowed;
            }
            state
        }
        Event::Rate { .. } => {
            if state != Answered {
                return not_allowed;
            }
            Closed
        }
        Event::CloseQuiet => {
            if state != Answered {
                return not_allowed;
            }
            if since_answer(report) < i64::from(limits.quiet_close) {
                return Err(TransitionError::QuietPeriodNotOver);
            }
            Closed
        }
        Event::Reopen => {
            if !matches!(state, Answered | Closed) {
                return not_allowed;
            }
            if report.reopens >= limits.max_reopens {
                return Err(TransitionError::TooManyReopens);
            }
            if since_answer(report) > i64::from(limits.reopen_within) {
                return Err(TransitionError::ReopenTooLate);
            }
            Acknowledged
        }
        Event::Escalate { cause } => {
            if !matches!(state, Submitted | Acknowledged) {
                return not_allowed;
            }
            if report.escalation >= MAX_ESCALATION {
                return Err(TransitionError::EscalationLimit);
            }
            if let EscalationCause::Overdue(which) = cause {
                let late = overdue(report, at, cal, limits).map(|o| o.which);
                // Answer lateness includes acknowledgement lateness when both passed.
                let ok = match which {
                    Which::Acknowledge => late.is_some() && state == Submitted,
                    Which::Answer => late == Some(Which::Answer),
                };
                if !ok {
                    return Err(TransitionError::NotOverdue);
                }
                let round_start =
                    report.history.iter().rposition(|t| t.event == Event::Reopen).map_or(0, |i| i + 1);
                if report.history[round_start..].iter().any(|t| t.event == event) {
                    return Err(TransitionError::AlreadyEscalated);
                }
            }
            state
        }
    };

    match event {
        Event::Route { to } => report.addressed = Some(to),
        Event::Acknowledge => report.acknowledged_at = Some(at),
        Event::Answer => {
            report.acknowledged_at.get_or_insert(at);
            report.answered_at = Some(at);
        }
        Event::Message { .. } => {}
        Event::Rate { rating } => {
            report.rating = Some(rating);
            report.closed_at = Some(at);
            report.closed_by = Some(CloseReason::Rated);
        }
        Event::CloseQuiet => {
            report.closed_at = Some(at);
            report.closed_by = Some(CloseReason::QuietPeriod);
        }
        Event::Reopen => {
            report.answered_at = None;
            report.rating = None;
            report.closed_at = None;
            report.closed_by = None;
            report.reopened_at = Some(at);
            report.reopens += 1;
        }
        Event::Escalate { .. } => report.escalation += 1,
    }
    report.state = to;
    let t = Transition {
        seq: report.history.len() as u32 + 1,
        event,
        from: state,
        to,
        escalation: report.escalation,
        at,
    };
    report.history.push(t);
    Ok(t)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::receipt::ReceiptHash;
    use crate::report::{Content, Identity};
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;
    use tongxin_domain::UnitCode;

    pub(crate) fn sample(at: DateTime<Utc>) -> Report {
        Report::new(
            UnitCode::parse("350102").unwrap(),
            Some(Uuid::from_u128(1)),
            vec![],
            vec![],
            Content::new("每周填三张表", "市农业局", "每周 6 小时", "合并").unwrap(),
            Identity::Anonymous { token: vec![2; 322] },
            ReceiptHash::from_bytes([9; 32]),
            at,
        )
        .unwrap()
    }

    fn t0() -> DateTime<Utc> {
        // Monday 2026-03-02 10:00 in Beijing.
        Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap()
    }

    #[test]
    fn the_happy_path_and_its_refusals() {
        let cal = WorkCalendar::cn_default();
        let limits = TimeLimits::default();
        let p = Policy { calendar: &cal, limits: &limits };
        let mut r = sample(t0());
        let rate = Event::Rate { rating: Rating::new(4, true).unwrap() };
        assert_eq!(
            apply(&mut r, rate, t0(), &p),
            Err(TransitionError::NotAllowed { event: EventKind::Rate, state: State::Submitted })
        );
        assert_eq!(apply(&mut r, Event::CloseQuiet, t0(), &p).unwrap_err().code(), "not_allowed");
        let esc = Event::Escalate { cause: EscalationCause::Overdue(Which::Acknowledge) };
        assert_eq!(apply(&mut r, esc, t0() + Duration::days(1), &p), Err(TransitionError::NotOverdue));
        apply(&mut r, Event::Acknowledge, t0() + Duration::hours(1), &p).unwrap();
        assert_eq!(apply(&mut r, Event::Answer, t0(), &p), Err(TransitionError::TimeBeforeLast));
        let t = apply(&mut r, Event::Answer, t0() + Duration::days(2), &p).unwrap();
        assert_eq!((t.seq, t.from, t.to), (2, State::Acknowledged, State::Answered));
        assert_eq!(
            apply(&mut r, Event::CloseQuiet, t0() + Duration::days(3), &p),
            Err(TransitionError::QuietPeriodNotOver)
        );
        apply(&mut r, rate, t0() + Duration::days(3), &p).unwrap();
        assert_eq!(r.state, State::Closed);
        assert_eq!(r.closed_by, Some(CloseReason::Rated));
        apply(&mut r, Event::Reopen, t0() + Duration::days(4), &p).unwrap();
        assert_eq!((r.state, r.rating, r.reopens), (State::Acknowledged, None, 1));
        apply(&mut r, Event::Answer, t0() + Duration::days(5), &p).unwrap();
        // The quiet period: 10 working days after the answer (Sat 2026-03-07 → 3/20).
        let quiet = t0() + Duration::days(5 + 14);
        apply(&mut r, Event::CloseQuiet, quiet, &p).unwrap();
        assert_eq!(r.closed_by, Some(CloseReason::QuietPeriod));
        apply(&mut r, Event::Reopen, quiet, &p).unwrap();
        apply(&mut r, Event::Answer, quiet, &p).unwrap();
        assert_eq!(apply(&mut r, Event::Reopen, quiet, &p), Err(TransitionError::TooManyReopens));
        r.check_invariants().unwrap();
        assert_eq!(r.history.len(), 8);
    }

    #[test]
    fn answering_first_implies_acknowledging_and_reopen_has_a_limit() {
        let cal = WorkCalendar::cn_default();
        let limits = TimeLimits::default();
        let p = Policy { calendar: &cal, limits: &limits };
        let mut r = sample(t0());
        apply(&mut r, Event::Answer, t0() + Duration::hours(3), &p).unwrap();
        assert_eq!(r.acknowledged_at, r.answered_at);
        let late = t0() + Duration::days(30);
        assert_eq!(apply(&mut r, Event::Reopen, late, &p), Err(TransitionError::ReopenTooLate));
        assert_eq!(r.history.len(), 1);
    }

    #[test]
    fn overdue_escalation_once_per_lateness_per_round() {
        let cal = WorkCalendar::cn_default();
        let limits = TimeLimits::default();
        let p = Policy { calendar: &cal, limits: &limits };
        let mut r = sample(t0());
        // Acknowledgement due by the end of Thu 2026-03-05 (Beijing).
        let ack_late = Event::Escalate { cause: EscalationCause::Overdue(Which::Acknowledge) };
        let fri = Utc.with_ymd_and_hms(2026, 3, 5, 16, 0, 0).unwrap();
        assert_eq!(apply(&mut r, ack_late, fri - Duration::seconds(1), &p), Err(TransitionError::NotOverdue));
        apply(&mut r, ack_late, fri, &p).unwrap();
        assert_eq!(apply(&mut r, ack_late, fri, &p), Err(TransitionError::AlreadyEscalated));
        let office = Event::Escalate { cause: EscalationCause::Office };
        apply(&mut r, office, fri, &p).unwrap();
        assert_eq!(r.escalation, 2);
        apply(&mut r, Event::Acknowledge, fri, &p).unwrap();
        // Acknowledged now: lateness to acknowledge is over.
        assert_eq!(apply(&mut r, ack_late, fri, &p), Err(TransitionError::NotOverdue));
        r.check_invariants().unwrap();
    }

    /// The property test below is only as good as the states it reaches: a long seeded
    /// random walk must see every kind of event accepted and every state entered.
    #[test]
    fn random_walks_reach_every_event_and_state() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let cal = WorkCalendar::cn_default();
        let limits = TimeLimits::default();
        let p = Policy { calendar: &cal, limits: &limits };
        let mut rng = StdRng::seed_from_u64(5);
        let mut kinds = std::collections::HashSet::new();
        let mut states = std::collections::HashSet::new();
        let mut errors = std::collections::HashSet::new();
        for _ in 0..300 {
            let mut r = sample(t0());
            let mut now = t0();
            for _ in 0..30 {
                now += Duration::hours(rng.random_range(0..24 * 8));
                let event = match rng.random_range(0..10) {
                    0 => Event::Route { to: Uuid::from_u128(rng.random_range(0..3)) },
                    1 | 2 => Event::Acknowledge,
                    3 => Event::Answer,
                    4 => Event::Message { from: Party::Body },
                    5 => Event::Rate { rating: Rating::new(3, false).unwrap() },
                    6 => Event::CloseQuiet,
                    7 => Event::Reopen,
                    8 => Event::Escalate { cause: EscalationCause::Overdue(Which::Answer) },
                    _ => Event::Escalate { cause: EscalationCause::Overdue(Which::Acknowledge) },
                };
                match apply(&mut r, event, now, &p) {
                    Ok(t) => {
                        kinds.insert(t.event.kind());
                        states.insert(t.to);
                    }
                    Err(e) => {
                        errors.insert(e.code());
                    }
                }
                r.check_invariants().unwrap();
            }
        }
        assert_eq!(kinds.len(), EventKind::ALL.len(), "{kinds:?}");
        assert_eq!(states.len(), State::ALL.len());
        for code in [
            "not_allowed",
            "too_many_reopens",
            "reopen_too_late",
            "quiet_period_not_over",
            "already_escalated",
            "not_overdue",
            "same_addressee",
        ] {
            assert!(errors.contains(code), "{code} never seen: {errors:?}");
        }
    }

    fn arb_event() -> impl Strategy<Value = Event> {
        prop_oneof![
            (0u128..3).prop_map(|b| Event::Route { to: Uuid::from_u128(b) }),
            Just(Event::Acknowledge),
            Just(Event::Answer),
            prop_oneof![Just(Party::Submitter), Just(Party::Body)].prop_map(|from| Event::Message { from }),
            (1u8..=5, any::<bool>()).prop_map(|(s, r)| Event::Rate { rating: Rating::new(s, r).unwrap() }),
            Just(Event::CloseQuiet),
            Just(Event::Reopen),
            prop_oneof![
                Just(EscalationCause::Office),
                Just(EscalationCause::Overdue(Which::Acknowledge)),
                Just(EscalationCause::Overdue(Which::Answer)),
            ]
            .prop_map(|cause| Event::Escalate { cause }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn any_sequence_keeps_the_invariants(
            steps in proptest::collection::vec((arb_event(), -2i64..(24 * 9)), 0..40)
        ) {
            let cal = WorkCalendar::cn_default();
            let limits = TimeLimits::default();
            let p = Policy { calendar: &cal, limits: &limits };
            let mut r = sample(t0());
            let mut now = t0();
            let mut accepted = 0;
            for (event, hours) in steps {
                now += Duration::hours(hours);
                let before = r.clone();
                match apply(&mut r, event, now, &p) {
                    Ok(t) => {
                        accepted += 1;
                        prop_assert_eq!(r.history.last(), Some(&t));
                        prop_assert_eq!(t.event, event);
                        prop_assert_eq!(t.seq as usize, accepted);
                        prop_assert_eq!(t.from, before.state);
                    }
                    Err(_) => prop_assert_eq!(&r, &before),
                }
                prop_assert_eq!(r.history.len(), accepted);
                if let Err(e) = r.check_invariants() {
                    return Err(TestCaseError::fail(e));
                }
            }
        }
    }
}
