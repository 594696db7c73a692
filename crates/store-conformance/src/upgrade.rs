//! Upgrades of databases written by an earlier schema version, checked through the store API.
//!
//! A backend's upgrade test builds the old database by hand, in that backend's old shape
//! (its migrations applied and recorded, rows written with the binds the old code used),
//! from the data here; opens it with the current store, which applies the newer migrations;
//! checks what its `schema_migrations` lists; and then calls the check here, which needs only
//! [`DirectiveStore`].

use chrono::{DateTime, Utc};

/// Parses an RFC 3339 time.
pub fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A database at schema version 7 holding directives under consultation, and what
/// migration 0008 (consultation rounds) must make of it: every consultation and response
/// becomes round 1, and the upgraded database takes a second round.
///
/// Times are spelled as version 7 wrote them on SQLite: fixed-width RFC 3339 with six
/// fractional digits (parse them with [`time`] to bind a timestamp).
pub mod v7 {
    use serde_json::json;
    use tongxin_domain::Level;
    use tongxin_store::{
        Consultation, ConsultationResponse, DirectiveStatus, DirectiveStore, StoredDirective,
    };
    use uuid::Uuid;

    use super::time;
    use crate::code;
    use crate::directives::{conflict, rating};

    /// The directive whose consultation was opened and concluded ("revise") under version 7.
    pub const CONCLUDED: Uuid = Uuid::from_u128(0x0199_5a00_0000_7000_8000_0000_0000_0001);
    /// A directive whose consultation was still open when version 7 stopped.
    pub const OPEN: Uuid = Uuid::from_u128(0x0199_5a00_0000_7000_8000_0000_0000_0002);
    pub const BODY: Uuid = Uuid::from_u128(0x0199_5a00_0000_7000_8000_0000_0000_00b0);
    pub const AUTHOR: Uuid = Uuid::from_u128(0x0199_5a00_0000_7000_8000_0000_0000_00a0);
    pub const CADRE: Uuid = Uuid::from_u128(0x0199_5a00_0000_7000_8000_0000_0000_00c0);
    pub const OTHER_CADRE: Uuid = Uuid::from_u128(0x0199_5a00_0000_7000_8000_0000_0000_00c1);
    // Rating ids are random (v4); the anonymous one sorts first.
    pub const ANONYMOUS: Uuid = Uuid::from_u128(0x1f3c_9e2a_55d1_4b7e_9a10_3c4d_5e6f_7081);
    pub const NAMED: Uuid = Uuid::from_u128(0xa2b4_c6d8_e0f2_4a1b_8c3d_5e7f_9012_3456);
    pub const NAMED_ON_OPEN: Uuid = Uuid::from_u128(0x6e5d_4c3b_2a19_4f08_9e7d_6c5b_4a39_2817);
    /// The nonce the anonymous rating spent.
    pub const NONCE: [u8; 32] = [7; 32];

    pub const PROVINCE: &str = "35";
    pub const BODY_UNIT: &str = "3501";
    /// Both directives' document, targets and creation time; the JSON as version 7 wrote it.
    pub const DOCUMENT: &str =
        r#"{"id":"d","title":"关于建成某某公路的通知","tasks":[{"id":"road"},{"id":"survey"}]}"#;
    pub const TARGETS: &str = r#"["350102001","350102001001"]"#;
    pub const CREATED_AT: &str = "2026-11-02T02:00:00.123456Z";
    pub const CHECK: &str = r#"{"tasks":[],"conflicts":[]}"#;
    /// The directives: (id, status, check report, revision, updated at).
    pub const DIRECTIVES: [(Uuid, &str, Option<&str>, i32, &str); 2] =
        [(CONCLUDED, "draft", Some(CHECK), 3, CONCLUDED_AT), (OPEN, "consulting", None, 2, OPENS_AT)];

    /// Both consultations opened at once; written open (no conclusion, outcome, response
    /// or log index), the concluded one concluded afterwards.
    pub const OPENS_AT: &str = "2026-11-03T00:00:00.000001Z";
    /// The consultations: (directive, closes at).
    pub const CONSULTATIONS: [(Uuid, &str); 2] =
        [(CONCLUDED, "2026-11-08T00:00:00.500000Z"), (OPEN, "2026-12-01T00:00:00.000000Z")];

    /// One row per rated task: (directive, response id, task index, level, rating, comment,
    /// user).
    pub type RatingRow = (Uuid, Uuid, i32, &'static str, i32, &'static str, Option<Uuid>);
    /// The ratings. The anonymous one spent [`NONCE`] in the same transaction.
    pub const RATINGS: [RatingRow; 5] = [
        (CONCLUDED, ANONYMOUS, 0, "village", 2, "人手不够，雨季难以施工", None),
        (CONCLUDED, ANONYMOUS, 1, "village", 4, "", None),
        (CONCLUDED, NAMED, 0, "township", 5, "可以完成", Some(CADRE)),
        (CONCLUDED, NAMED, 1, "township", 1, "无勘测经费", Some(CADRE)),
        (OPEN, NAMED_ON_OPEN, 0, "township", 3, "", Some(CADRE)),
    ];

    /// [`CONCLUDED`]'s conclusion, written after the ratings, then its log index.
    pub const CONCLUDED_AT: &str = "2026-11-09T02:00:00.654321Z";
    pub const OUTCOME: &str = "revise";
    pub const RESPONSE: &str = "道路任务期限延至明年，勘测任务不变。";
    pub const LOG_INDEX: i64 = 41;

    fn round_1() -> Consultation {
        Consultation {
            directive: CONCLUDED,
            round: 1,
            opens_at: time("2026-11-03T00:00:00.000001Z"),
            closes_at: time("2026-11-08T00:00:00.5Z"),
            concluded_at: Some(time("2026-11-09T02:00:00.654321Z")),
            outcome: Some("revise".into()),
            response: RESPONSE.into(),
            log_index: Some(41),
        }
    }

    fn round_1_responses() -> Vec<ConsultationResponse> {
        vec![
            ConsultationResponse {
                id: ANONYMOUS,
                directive: CONCLUDED,
                round: 1,
                level: Level::Village,
                user: None,
                ratings: vec![rating(0, 2, "人手不够，雨季难以施工"), rating(1, 4, "")],
            },
            ConsultationResponse {
                id: NAMED,
                directive: CONCLUDED,
                round: 1,
                level: Level::Township,
                user: Some(CADRE),
                ratings: vec![rating(0, 5, "可以完成"), rating(1, 1, "无勘测经费")],
            },
        ]
    }

    /// Checks a store just opened on the version-7 database above (and upgraded by that):
    /// the directives are untouched, both consultations are round 1 with every field and
    /// their ratings, the open round still takes ratings and blocks round 2, the concluded
    /// one takes round 2 (not 1 or 3) where the same cadre rates again once, the version-7
    /// nonce stays spent, and round 1 is kept. Writes to the store; panics on a failure.
    pub async fn check_upgraded(ds: &dyn DirectiveStore) {
        // The directives themselves are untouched.
        let concluded = StoredDirective {
            id: CONCLUDED,
            issuing_body: BODY,
            body_unit: code("3501"),
            status: DirectiveStatus::Draft,
            document: json!({"id": "d", "title": "关于建成某某公路的通知", "tasks": [{"id": "road"}, {"id": "survey"}]}),
            targets: vec![code("350102001"), code("350102001001")],
            check: Some(json!({"tasks": [], "conflicts": []})),
            revision: 3,
            created_by: AUTHOR,
            created_at: time("2026-11-02T02:00:00.123456Z"),
            updated_at: time("2026-11-09T02:00:00.654321Z"),
        };
        assert_eq!(ds.directive(CONCLUDED).await.unwrap(), Some(concluded));

        // The concluded consultation is round 1 with every field.
        assert_eq!(ds.consultation(CONCLUDED).await.unwrap(), Some(round_1()));
        assert_eq!(ds.consultations(CONCLUDED).await.unwrap(), vec![round_1()]);
        // Its responses are round 1's, with their levels, ratings, comments and users.
        assert_eq!(ds.responses(CONCLUDED, 1).await.unwrap(), round_1_responses());
        assert_eq!(ds.responses(CONCLUDED, 2).await.unwrap(), vec![]);

        // The open one is round 1, still open: it takes responses and blocks round 2.
        let open_1 = Consultation {
            directive: OPEN,
            round: 1,
            opens_at: time("2026-11-03T00:00:00.000001Z"),
            closes_at: time("2026-12-01T00:00:00Z"),
            concluded_at: None,
            outcome: None,
            response: String::new(),
            log_index: None,
        };
        assert_eq!(ds.consultations(OPEN).await.unwrap(), vec![open_1.clone()]);
        let on_open = ConsultationResponse {
            id: NAMED_ON_OPEN,
            directive: OPEN,
            round: 1,
            level: Level::Township,
            user: Some(CADRE),
            ratings: vec![rating(0, 3, "")],
        };
        assert_eq!(ds.responses(OPEN, 1).await.unwrap(), vec![on_open.clone()]);
        conflict(ds.consultation_put(&Consultation { round: 2, ..open_1.clone() }).await);
        // A cadre still rates a task by name once in round 1…
        conflict(
            ds.response_put(
                &ConsultationResponse {
                    id: Uuid::from_u128(0x4000_0000_0000_4000_8000_0000_0000_0001),
                    ..on_open
                },
                None,
            )
            .await,
        );
        // …and another cadre may still rate it.
        ds.response_put(
            &ConsultationResponse {
                id: Uuid::from_u128(0x4000_0000_0000_4000_8000_0000_0000_0002),
                directive: OPEN,
                round: 1,
                level: Level::Village,
                user: Some(OTHER_CADRE),
                ratings: vec![rating(0, 4, "")],
            },
            None,
        )
        .await
        .unwrap();
        assert_eq!(ds.responses(OPEN, 1).await.unwrap().len(), 2);

        // After the concluded round 1, round 2 opens (and only round 2).
        let round_2 = Consultation {
            directive: CONCLUDED,
            round: 2,
            opens_at: time("2026-11-10T00:00:00Z"),
            closes_at: time("2026-11-17T00:00:00Z"),
            concluded_at: None,
            outcome: None,
            response: String::new(),
            log_index: None,
        };
        conflict(ds.consultation_put(&Consultation { round: 1, ..round_2.clone() }).await);
        conflict(ds.consultation_put(&Consultation { round: 3, ..round_2.clone() }).await);
        ds.consultation_put(&round_2).await.unwrap();
        assert_eq!(ds.consultation(CONCLUDED).await.unwrap(), Some(round_2.clone()));
        assert_eq!(ds.consultations(CONCLUDED).await.unwrap(), vec![round_1(), round_2.clone()]);

        // The cadre who rated by name in round 1 rates the same task again in round 2, once.
        let named_2 = ConsultationResponse {
            id: Uuid::from_u128(0x5000_0000_0000_4000_8000_0000_0000_0001),
            directive: CONCLUDED,
            round: 2,
            level: Level::Township,
            user: Some(CADRE),
            ratings: vec![rating(0, 4, "延期后可以完成")],
        };
        ds.response_put(&named_2, None).await.unwrap();
        conflict(
            ds.response_put(
                &ConsultationResponse {
                    id: Uuid::from_u128(0x5000_0000_0000_4000_8000_0000_0000_0002),
                    ..named_2.clone()
                },
                None,
            )
            .await,
        );
        // The nonce spent by the version-7 anonymous rating stays spent.
        let anonymous_2 = ConsultationResponse {
            id: Uuid::from_u128(0x0500_0000_0000_4000_8000_0000_0000_0003),
            directive: CONCLUDED,
            round: 2,
            level: Level::Village,
            user: None,
            ratings: vec![rating(0, 3, "")],
        };
        conflict(ds.response_put(&anonymous_2, Some(("35", NONCE))).await);
        ds.response_put(&anonymous_2, Some(("35", [8; 32]))).await.unwrap();

        assert_eq!(ds.responses(CONCLUDED, 2).await.unwrap(), vec![anonymous_2, named_2]);
        assert_eq!(ds.responses(CONCLUDED, 1).await.unwrap(), round_1_responses());

        // Round 2 concludes and is logged on its own; round 1 keeps its conclusion.
        ds.consultation_conclude(CONCLUDED, 2, "issue", "按期执行", time("2026-11-18T00:00:00Z"))
            .await
            .unwrap();
        ds.consultation_logged(CONCLUDED, 2, 57).await.unwrap();
        let rounds = ds.consultations(CONCLUDED).await.unwrap();
        assert_eq!(rounds[0], round_1());
        assert_eq!(
            rounds[1],
            Consultation {
                concluded_at: Some(time("2026-11-18T00:00:00Z")),
                outcome: Some("issue".into()),
                response: "按期执行".into(),
                log_index: Some(57),
                ..round_2
            }
        );
    }
}
