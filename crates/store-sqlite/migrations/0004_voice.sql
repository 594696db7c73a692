-- Issue 5: the safe voice. Every growing table leads its primary key with the province of
-- the scope (see ARCHITECTURE.md). Times are RFC 3339 UTC text with six fractional digits
-- (fixed width, so text order is time order).

-- One issuer key per (scope, period). `secret_pkcs8` is the issuer's private key: protect
-- this database like the key.
CREATE TABLE voice_keys (
    province TEXT NOT NULL,
    scope TEXT NOT NULL,
    period TEXT NOT NULL,
    token_key_id BLOB NOT NULL,
    spki BLOB NOT NULL,
    secret_pkcs8 BLOB NOT NULL,
    not_before TEXT NOT NULL,
    not_after TEXT NOT NULL,
    log_index INTEGER,
    PRIMARY KEY (province, scope, period),
    UNIQUE (province, token_key_id)
);

-- Only that a user received the allowance of a scope and period; nothing about the tokens.
CREATE TABLE voice_allowances (
    province TEXT NOT NULL,
    scope TEXT NOT NULL,
    period TEXT NOT NULL,
    user_id BLOB NOT NULL,
    tokens INTEGER NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (province, scope, period, user_id)
) WITHOUT ROWID;

-- Spent token nonces: double spending is refused by this key.
CREATE TABLE voice_spent (
    province TEXT NOT NULL,
    nonce BLOB NOT NULL,
    PRIMARY KEY (province, nonce)
) WITHOUT ROWID;

-- Reports. An anonymous report keeps its public token and nothing about its submitter;
-- `user_id` is set only for a report filed by name. `report` is the whole report (JSON).
CREATE TABLE voice_reports (
    province TEXT NOT NULL,
    id BLOB NOT NULL,
    scope TEXT NOT NULL,
    addressed BLOB,
    token BLOB,
    user_id BLOB,
    receipt BLOB NOT NULL,
    state TEXT NOT NULL,
    escalation INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    submitted_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    report TEXT NOT NULL,
    PRIMARY KEY (province, id),
    UNIQUE (province, receipt)
);
CREATE INDEX voice_reports_id ON voice_reports (id);
CREATE INDEX voice_reports_receipt ON voice_reports (receipt);
CREATE INDEX voice_reports_submitted ON voice_reports (submitted_at, id);
CREATE INDEX voice_reports_addressed ON voice_reports (addressed, submitted_at);
CREATE INDEX voice_reports_scope ON voice_reports (province, scope, submitted_at);

-- The log bookkeeping of every transition (seq 0 is the filing). The openings stay here.
CREATE TABLE voice_events (
    province TEXT NOT NULL,
    report_id BLOB NOT NULL,
    seq INTEGER NOT NULL,
    opening BLOB NOT NULL,
    entry BLOB NOT NULL,
    log_index INTEGER,
    PRIMARY KEY (province, report_id, seq)
) WITHOUT ROWID;
CREATE INDEX voice_events_report ON voice_events (report_id, seq);
