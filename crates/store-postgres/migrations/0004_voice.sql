-- Issue 5: the safe voice. Every growing table leads its primary key with the province of
-- the scope (see ARCHITECTURE.md). Times are TIMESTAMPTZ (microseconds).

-- One issuer key per (scope, period). `secret_pkcs8` is the issuer's private key: protect
-- this database like the key.
CREATE TABLE voice_keys (
    province TEXT NOT NULL,
    scope TEXT NOT NULL,
    period TEXT NOT NULL,
    token_key_id BYTEA NOT NULL,
    spki BYTEA NOT NULL,
    secret_pkcs8 BYTEA NOT NULL,
    not_before TIMESTAMPTZ NOT NULL,
    not_after TIMESTAMPTZ NOT NULL,
    log_index BIGINT,
    PRIMARY KEY (province, scope, period),
    UNIQUE (province, token_key_id)
);

-- Only that a user received the allowance of a scope and period; nothing about the tokens.
CREATE TABLE voice_allowances (
    province TEXT NOT NULL,
    scope TEXT NOT NULL,
    period TEXT NOT NULL,
    user_id UUID NOT NULL,
    tokens BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (province, scope, period, user_id)
);

-- Spent token nonces: double spending is refused by this key.
CREATE TABLE voice_spent (
    province TEXT NOT NULL,
    nonce BYTEA NOT NULL,
    PRIMARY KEY (province, nonce)
);

-- Reports. An anonymous report keeps its public token and nothing about its submitter;
-- `user_id` is set only for a report filed by name. `report` is the whole report (JSON).
CREATE TABLE voice_reports (
    province TEXT NOT NULL,
    id UUID NOT NULL,
    -- "C": unit subtrees are code ranges, compared byte by byte.
    scope TEXT COLLATE "C" NOT NULL,
    addressed UUID,
    token BYTEA,
    user_id UUID,
    receipt BYTEA NOT NULL,
    state TEXT NOT NULL,
    escalation BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    submitted_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    report JSONB NOT NULL,
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
    report_id UUID NOT NULL,
    seq BIGINT NOT NULL,
    opening BYTEA NOT NULL,
    entry BYTEA NOT NULL,
    log_index BIGINT,
    PRIMARY KEY (province, report_id, seq)
);
CREATE INDEX voice_events_report ON voice_events (report_id, seq);
