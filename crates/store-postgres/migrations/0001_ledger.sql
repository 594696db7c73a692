-- The PostgreSQL twin of the SQLite schema. Citus-ready: every table that grows with use
-- has the province code first in its primary key, keys are app-generated UUIDv7, and no
-- unique constraint or foreign key leaves the distribution column out. `users` and
-- `sessions` are small lookup tables (reference / coordinator-local tables on Citus).
CREATE TABLE units (
    province TEXT NOT NULL,
    code TEXT NOT NULL,
    parent TEXT,
    level SMALLINT NOT NULL,
    name TEXT NOT NULL,
    cadres BIGINT NOT NULL,
    cadres_estimated BOOLEAN NOT NULL,
    PRIMARY KEY (province, code)
);
CREATE INDEX units_parent ON units (province, parent, code);
CREATE INDEX units_level ON units (level, code);
CREATE INDEX units_code ON units (code text_pattern_ops);

CREATE TABLE bodies (
    province TEXT NOT NULL,
    id UUID NOT NULL,
    unit TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent UUID,
    PRIMARY KEY (province, id)
);
CREATE INDEX bodies_id ON bodies (id);
CREATE INDEX bodies_unit ON bodies (province, unit, name);
CREATE INDEX bodies_parent ON bodies (parent);

CREATE TABLE demands (
    province TEXT NOT NULL,
    id UUID NOT NULL,
    kind TEXT NOT NULL,
    source_body UUID NOT NULL,
    source_department UUID NOT NULL,
    title TEXT NOT NULL,
    topic TEXT NOT NULL,
    targets TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    origin TEXT NOT NULL,
    cadre_hours DOUBLE PRECISION NOT NULL,
    cadres_required BIGINT NOT NULL,
    host_person_days DOUBLE PRECISION NOT NULL,
    visitors BIGINT NOT NULL,
    forms BIGINT NOT NULL,
    fields TEXT NOT NULL,
    attend_levels BIGINT NOT NULL,
    video BOOLEAN NOT NULL,
    indicators BIGINT NOT NULL,
    doc_chars BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL,
    changed_by TEXT NOT NULL,
    last_action TEXT NOT NULL,
    PRIMARY KEY (province, id)
);
CREATE INDEX demands_id ON demands (id);
CREATE INDEX demands_start ON demands (province, starts_at, id);
CREATE INDEX demands_department ON demands (source_department, starts_at);

CREATE TABLE demand_targets (
    province TEXT NOT NULL,
    demand_id UUID NOT NULL,
    unit TEXT NOT NULL,
    PRIMARY KEY (province, demand_id, unit)
);
CREATE INDEX demand_targets_unit ON demand_targets (province, unit, demand_id);

CREATE TABLE demand_revisions (
    province TEXT NOT NULL,
    demand_id UUID NOT NULL,
    revision BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    PRIMARY KEY (province, demand_id, revision)
);

CREATE TABLE users (
    province TEXT NOT NULL,
    id UUID NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    scope TEXT NOT NULL,
    body UUID,
    password_hash TEXT NOT NULL,
    PRIMARY KEY (province, id)
);
CREATE INDEX users_id ON users (id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id UUID NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
