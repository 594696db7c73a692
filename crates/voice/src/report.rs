//! A report: what a cadre tells an upper level, addressed to a body or left to the
//! burden-reduction office to route, filed anonymously or by name.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tongxin_domain::{FieldError, Invalid, UnitCode};
use uuid::Uuid;

use crate::machine::{CloseReason, EventKind, Transition};
use crate::receipt::ReceiptHash;

/// Limits of the structured content, in characters (not bytes).
pub const MAX_DEMANDED: usize = 2000;
pub const MAX_BY_WHOM: usize = 500;
pub const MAX_COST: usize = 2000;
pub const MAX_FIX: usize = 2000;
/// At most this many cited demands, and as many cited bodies.
pub const MAX_CITED: usize = 50;
/// A Privacy Pass token (type 0x0002) is 2 + 32 + 32 + 256 = 322 bytes; this bounds any
/// token type we might accept without letting a row grow without limit.
pub const MAX_TOKEN: usize = 1024;

/// The four questions of a structured report. Each answer is trimmed, non-empty and
/// bounded; line breaks and tabs are allowed, other control characters are not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    /// What is demanded of the grassroots (反映什么要求).
    pub demanded: String,
    /// By whom: which bodies, which documents (谁提出的).
    pub by_whom: String,
    /// What it costs: cadre-days, visits, forms (代价是什么).
    pub cost: String,
    /// What would fix it (建议怎么改).
    pub fix: String,
}

fn check_text(field: &str, zh_name: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) {
    let v = value.trim();
    if v.is_empty() {
        errors.push(FieldError::new(
            field,
            format!("{zh_name}不能为空"),
            format!("{field} must not be empty"),
        ));
    } else if v.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("{zh_name}不能超过 {max} 个字"),
            format!("{field} must be at most {max} characters"),
        ));
    } else if v.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        errors.push(FieldError::new(
            field,
            format!("{zh_name}含有不可见的控制字符"),
            format!("{field} contains control characters"),
        ));
    }
}

impl Content {
    /// Validates every field (all problems at once) and trims each answer.
    pub fn new(demanded: &str, by_whom: &str, cost: &str, fix: &str) -> Result<Content, Invalid> {
        let mut errors = Vec::new();
        check_text("demanded", "“反映什么要求”", demanded, MAX_DEMANDED, &mut errors);
        check_text("by_whom", "“谁提出的”", by_whom, MAX_BY_WHOM, &mut errors);
        check_text("cost", "“代价是什么”", cost, MAX_COST, &mut errors);
        check_text("fix", "“建议怎么改”", fix, MAX_FIX, &mut errors);
        Invalid::check(errors)?;
        Ok(Content {
            demanded: demanded.trim().to_owned(),
            by_whom: by_whom.trim().to_owned(),
            cost: cost.trim().to_owned(),
            fix: fix.trim().to_owned(),
        })
    }

    /// Checks an already built value (e.g. one read back from a store).
    pub fn validate(&self) -> Result<(), Invalid> {
        Content::new(&self.demanded, &self.by_whom, &self.cost, &self.fix).map(|_| ())
    }
}

/// Who filed the report, by the cadre's choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Identity {
    /// Filed with a redeemed anonymous token, stored with the report so anyone can check
    /// that a real member of the scope filed it. Nothing else about the submitter is kept.
    Anonymous { token: Vec<u8> },
    /// Filed by name.
    Named { user: Uuid },
}

impl Identity {
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Identity::Anonymous { .. })
    }
}

/// Where a report is in its closed loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Submitted,
    Acknowledged,
    Answered,
    Closed,
}

impl State {
    pub const ALL: [State; 4] = [State::Submitted, State::Acknowledged, State::Answered, State::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Submitted => "submitted",
            State::Acknowledged => "acknowledged",
            State::Answered => "answered",
            State::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            State::Submitted => "已提交",
            State::Acknowledged => "已受理",
            State::Answered => "已答复",
            State::Closed => "已办结",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            State::Submitted => "submitted",
            State::Acknowledged => "acknowledged",
            State::Answered => "answered",
            State::Closed => "closed",
        }
    }
}

/// The submitter's judgement of an answer. Satisfaction and resolution are asked
/// separately so that satisfaction is never the only score (the 12345 "唯满意率" trap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// 1 (very dissatisfied) to 5 (very satisfied).
    pub satisfaction: u8,
    /// Whether the problem reported is solved.
    pub resolved: bool,
}

impl Rating {
    pub fn new(satisfaction: u8, resolved: bool) -> Result<Rating, Invalid> {
        if !(1..=5).contains(&satisfaction) {
            return Err(Invalid::one("satisfaction", "满意度应为 1 到 5", "satisfaction must be 1 to 5"));
        }
        Ok(Rating { satisfaction, resolved })
    }
}

/// One report and the whole of its loop so far. Build with [`Report::new`]; change only
/// through [`crate::machine::apply`], which keeps the invariants of
/// [`Report::check_invariants`] and records every accepted event in `history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// UUIDv7. It embeds the filing time to the millisecond, so it is never published:
    /// the log and public pages use [`crate::entry::ReportRef`], a hash of it.
    pub id: Uuid,
    /// The disclosure scope the submitter chose (a county, a city, …).
    pub scope: UnitCode,
    /// The body the report is addressed to; `None` leaves it to the burden-reduction
    /// office of the scope to route.
    pub addressed: Option<Uuid>,
    pub cited_demands: Vec<Uuid>,
    pub cited_bodies: Vec<Uuid>,
    pub content: Content,
    pub identity: Identity,
    /// The hash of the receipt secret; the secret itself is shown once and never kept.
    pub receipt: ReceiptHash,
    pub state: State,
    /// 0 when never escalated; each escalation raises it by one (visible to all).
    pub escalation: u8,
    pub submitted_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// The answer of the current round (cleared by a reopen).
    pub answered_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<CloseReason>,
    /// When the submitter last reopened it; the answer time limit restarts from here.
    pub reopened_at: Option<DateTime<Utc>>,
    pub reopens: u8,
    /// The submitter's rating of the current answer (cleared by a reopen).
    pub rating: Option<Rating>,
    /// Every accepted event, oldest first (the filing itself is not an event).
    pub history: Vec<Transition>,
}

impl Report {
    /// A new report in state `submitted`, checked: the content, the citations (no
    /// duplicates, bounded) and an anonymous token's size.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        scope: UnitCode,
        addressed: Option<Uuid>,
        cited_demands: Vec<Uuid>,
        cited_bodies: Vec<Uuid>,
        content: Content,
        identity: Identity,
        receipt: ReceiptHash,
        at: DateTime<Utc>,
    ) -> Result<Report, Invalid> {
        let report = Report {
            id: tongxin_domain::new_id(),
            scope,
            addressed,
            cited_demands,
            cited_bodies,
            content,
            identity,
            receipt,
            state: State::Submitted,
            escalation: 0,
            submitted_at: at,
            acknowledged_at: None,
            answered_at: None,
            closed_at: None,
            closed_by: None,
            reopened_at: None,
            reopens: 0,
            rating: None,
            history: Vec::new(),
        };
        report.validate()?;
        Ok(report)
    }

    /// Checks the submitted parts (not the loop; see [`Report::check_invariants`]).
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut errors = match self.content.validate() {
            Ok(()) => Vec::new(),
            Err(Invalid(e)) => e,
        };
        for (field, zh, list) in [
            ("cited_demands", "引用的事项", &self.cited_demands),
            ("cited_bodies", "引用的部门", &self.cited_bodies),
        ] {
            if list.len() > MAX_CITED {
                errors.push(FieldError::new(
                    field,
                    format!("{zh}不能超过 {MAX_CITED} 项"),
                    format!("{field} must list at most {MAX_CITED} entries"),
                ));
            }
            for (i, id) in list.iter().enumerate() {
                if list[..i].contains(id) {
                    errors.push(FieldError::new(
                        format!("{field}[{i}]"),
                        format!("{zh}重复"),
                        format!("{field}[{i}] repeats an earlier entry"),
                    ));
                }
            }
        }
        if let Identity::Anonymous { token } = &self.identity
            && (token.is_empty() || token.len() > MAX_TOKEN)
        {
            errors.push(FieldError::new("token", "匿名凭证无效", "the anonymous token is invalid"));
        }
        Invalid::check(errors)
    }

    /// The time of the latest event, or of the filing.
    pub fn last_event_at(&self) -> DateTime<Utc> {
        self.history.last().map(|t| t.at).unwrap_or(self.submitted_at)
    }

    /// The canonical bytes the filing's log entry commits to: scope, addressee,
    /// citations and the four answers, each length-prefixed so no two reports share an
    /// encoding. The identity is not included (an anonymous token is published on its
    /// own; a name never is).
    pub fn content_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(b"tongxin-voice/report-content/v1\n");
        put(&mut out, self.scope.as_str().as_bytes());
        match self.addressed {
            Some(b) => put(&mut out, b.as_bytes()),
            None => put(&mut out, b""),
        }
        out.extend_from_slice(&(self.cited_demands.len() as u32).to_be_bytes());
        for d in &self.cited_demands {
            out.extend_from_slice(d.as_bytes());
        }
        out.extend_from_slice(&(self.cited_bodies.len() as u32).to_be_bytes());
        for b in &self.cited_bodies {
            out.extend_from_slice(b.as_bytes());
        }
        for s in [&self.content.demanded, &self.content.by_whom, &self.content.cost, &self.content.fix] {
            put(&mut out, s.as_bytes());
        }
        out
    }

    /// The loop's invariants; `Err` names the first one broken. [`crate::machine::apply`]
    /// never breaks them (property-tested).
    pub fn check_invariants(&self) -> Result<(), String> {
        let fail = |s: &str| Err(s.to_owned());
        match self.state {
            State::Submitted => {
                if self.acknowledged_at.is_some() || self.answered_at.is_some() {
                    return fail("submitted but acknowledged or answered");
                }
            }
            State::Acknowledged => {
                if self.acknowledged_at.is_none() || self.answered_at.is_some() {
                    return fail("acknowledged without acknowledgement time or with an answer");
                }
            }
            State::Answered => {
                if self.acknowledged_at.is_none() || self.answered_at.is_none() {
                    return fail("answered without acknowledgement or answer time");
                }
            }
            State::Closed => {
                if self.answered_at.is_none() || self.closed_at.is_none() || self.closed_by.is_none() {
                    return fail("closed without answer, closing time or reason");
                }
                if (self.closed_by == Some(CloseReason::Rated)) != self.rating.is_some() {
                    return fail("closed by rating iff rated");
                }
            }
        }
        if self.state != State::Closed && (self.closed_at.is_some() || self.closed_by.is_some()) {
            return fail("open with a closing time");
        }
        if self.state != State::Closed && self.rating.is_some() {
            return fail("rated but not closed");
        }
        let times = [Some(self.submitted_at), self.acknowledged_at, self.answered_at, self.closed_at];
        let mut last = self.submitted_at;
        for t in times.into_iter().flatten() {
            if t < last {
                return fail("loop times go backwards");
            }
            last = t;
        }
        if let Some(r) = self.reopened_at
            && (r < self.submitted_at || self.answered_at.is_some_and(|a| a < r))
        {
            return fail("reopen time out of order");
        }
        match self.history.last() {
            Some(t) if t.to != self.state || t.escalation != self.escalation => {
                return fail("history does not end in the current state");
            }
            None if self.state != State::Submitted || self.escalation != 0 => {
                return fail("state changed without history");
            }
            _ => {}
        }
        let escalations = self.history.iter().filter(|t| t.event.kind() == EventKind::Escalate).count();
        if escalations != self.escalation as usize {
            return fail("escalation level differs from escalations recorded");
        }
        let reopens = self.history.iter().filter(|t| t.event.kind() == EventKind::Reopen).count();
        if reopens != self.reopens as usize {
            return fail("reopen count differs from reopens recorded");
        }
        for w in self.history.windows(2) {
            if w[1].from != w[0].to || w[1].at < w[0].at {
                return fail("history is not a chain");
            }
        }
        Ok(())
    }
}

pub(crate) fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_errors_name_each_field() {
        let long = "字".repeat(MAX_BY_WHOM + 1);
        let err = Content::new("  ", &long, "x\u{0}y", "ok").unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["demanded", "by_whom", "cost"]);
        assert!(err.0[0].en.contains("must not be empty"));
        assert!(err.0[1].en.contains("at most 500"));
        assert!(err.0[1].zh.contains("500"));
        assert!(err.0[2].en.contains("control"));
        let ok = Content::new(" 每周填报 \n三张表 ", "县农业局", "每周 4 小时", "合并为一张").unwrap();
        assert_eq!(ok.demanded, "每周填报 \n三张表");
    }

    #[test]
    fn report_checks_citations_and_token() {
        let c = Content::new("a", "b", "c", "d").unwrap();
        let d = Uuid::from_u128(7);
        let at = DateTime::from_timestamp(1_780_000_000, 0).unwrap();
        let hash = ReceiptHash::from_bytes([0; 32]);
        let err = Report::new(
            UnitCode::parse("350102").unwrap(),
            None,
            vec![d, d],
            vec![],
            c.clone(),
            Identity::Anonymous { token: vec![] },
            hash,
            at,
        )
        .unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["cited_demands[1]", "token"]);
        let r = Report::new(
            UnitCode::parse("350102").unwrap(),
            None,
            vec![d],
            vec![],
            c,
            Identity::Named { user: d },
            hash,
            at,
        )
        .unwrap();
        assert_eq!(r.state, State::Submitted);
        assert_eq!(r.id.get_version_num(), 7);
        r.check_invariants().unwrap();
    }
}
