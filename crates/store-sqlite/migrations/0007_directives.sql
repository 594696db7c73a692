-- Issue 6: directives before issuance, their consultation windows and the executors'
-- ratings. Every table leads its primary key with the issuing body's province.
-- An anonymous rating keeps no user, time or token: its token's nonce goes into
-- voice_spent (issue 5) in the same transaction, so a token is spent once across
-- reports and ratings.
CREATE TABLE directives (
    province TEXT NOT NULL,
    id BLOB NOT NULL,
    issuing_body BLOB NOT NULL,
    body_unit TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'consulting', 'issued', 'withdrawn')),
    document TEXT NOT NULL,
    targets TEXT NOT NULL,
    check_report TEXT,
    revision INTEGER NOT NULL,
    created_by BLOB NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (province, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX directives_id ON directives (id);
CREATE INDEX directives_status ON directives (province, status);

CREATE TABLE directive_consultations (
    province TEXT NOT NULL,
    directive_id BLOB NOT NULL,
    opens_at TEXT NOT NULL,
    closes_at TEXT NOT NULL,
    concluded_at TEXT,
    outcome TEXT,
    response TEXT NOT NULL DEFAULT '',
    log_index INTEGER,
    PRIMARY KEY (province, directive_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX directive_consultations_id ON directive_consultations (directive_id);

CREATE TABLE directive_responses (
    province TEXT NOT NULL,
    directive_id BLOB NOT NULL,
    response_id BLOB NOT NULL,
    task_index INTEGER NOT NULL,
    level TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment TEXT NOT NULL,
    user_id BLOB,
    PRIMARY KEY (province, directive_id, response_id, task_index)
) WITHOUT ROWID;
CREATE UNIQUE INDEX directive_responses_named
    ON directive_responses (province, directive_id, user_id, task_index) WHERE user_id IS NOT NULL;
