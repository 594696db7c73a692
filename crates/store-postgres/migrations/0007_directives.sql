-- Issue 6: directives before issuance, their consultation windows and the executors'
-- ratings. Every table leads its primary key with the issuing body's province.
-- An anonymous rating keeps no user, time or token: its token's nonce goes into
-- voice_spent (issue 5) in the same transaction, so a token is spent once across
-- reports and ratings.
CREATE TABLE directives (
    province TEXT NOT NULL,
    id UUID NOT NULL,
    issuing_body UUID NOT NULL,
    body_unit TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'consulting', 'issued', 'withdrawn')),
    document JSONB NOT NULL,
    targets JSONB NOT NULL,
    check_report JSONB,
    revision INTEGER NOT NULL,
    created_by UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (province, id)
);
CREATE UNIQUE INDEX directives_id ON directives (id);
CREATE INDEX directives_status ON directives (province, status);

CREATE TABLE directive_consultations (
    province TEXT NOT NULL,
    directive_id UUID NOT NULL,
    opens_at TIMESTAMPTZ NOT NULL,
    closes_at TIMESTAMPTZ NOT NULL,
    concluded_at TIMESTAMPTZ,
    outcome TEXT,
    response TEXT NOT NULL DEFAULT '',
    log_index BIGINT,
    PRIMARY KEY (province, directive_id)
);
CREATE UNIQUE INDEX directive_consultations_id ON directive_consultations (directive_id);

CREATE TABLE directive_responses (
    province TEXT NOT NULL,
    directive_id UUID NOT NULL,
    response_id UUID NOT NULL,
    task_index INTEGER NOT NULL,
    level TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment TEXT NOT NULL,
    user_id UUID,
    PRIMARY KEY (province, directive_id, response_id, task_index)
);
CREATE UNIQUE INDEX directive_responses_named
    ON directive_responses (province, directive_id, user_id, task_index) WHERE user_id IS NOT NULL;
