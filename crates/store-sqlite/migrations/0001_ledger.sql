-- Units: the administrative hierarchy. The province code leads every primary key so that
-- the PostgreSQL twin of this schema can be distributed by province (see ARCHITECTURE.md).
CREATE TABLE units (
    province TEXT NOT NULL,
    code TEXT NOT NULL,
    parent TEXT,
    level INTEGER NOT NULL,
    name TEXT NOT NULL,
    cadres INTEGER NOT NULL,
    cadres_estimated INTEGER NOT NULL,
    PRIMARY KEY (province, code)
) WITHOUT ROWID;
CREATE INDEX units_parent ON units (province, parent, code);
CREATE INDEX units_level ON units (level, code);

CREATE TABLE bodies (
    province TEXT NOT NULL,
    id BLOB NOT NULL,
    unit TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent BLOB,
    PRIMARY KEY (province, id)
);
CREATE INDEX bodies_id ON bodies (id);
CREATE INDEX bodies_unit ON bodies (province, unit, name);
CREATE INDEX bodies_parent ON bodies (parent);

-- Demands are never deleted: a change keeps the previous state in demand_revisions.
CREATE TABLE demands (
    province TEXT NOT NULL,
    id BLOB NOT NULL,
    kind TEXT NOT NULL,
    source_body BLOB NOT NULL,
    source_department BLOB NOT NULL,
    title TEXT NOT NULL,
    topic TEXT NOT NULL,
    targets TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    status TEXT NOT NULL,
    origin TEXT NOT NULL,
    cadre_hours REAL NOT NULL,
    cadres_required INTEGER NOT NULL,
    host_person_days REAL NOT NULL,
    visitors INTEGER NOT NULL,
    forms INTEGER NOT NULL,
    fields TEXT NOT NULL,
    attend_levels INTEGER NOT NULL,
    video INTEGER NOT NULL,
    indicators INTEGER NOT NULL,
    doc_chars INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    changed_at TEXT NOT NULL,
    changed_by TEXT NOT NULL,
    last_action TEXT NOT NULL,
    PRIMARY KEY (province, id)
) WITHOUT ROWID;
CREATE INDEX demands_id ON demands (id);
CREATE INDEX demands_start ON demands (province, starts_at, id);
CREATE INDEX demands_department ON demands (source_department, starts_at);

CREATE TABLE demand_targets (
    province TEXT NOT NULL,
    demand_id BLOB NOT NULL,
    unit TEXT NOT NULL,
    PRIMARY KEY (province, demand_id, unit)
) WITHOUT ROWID;
CREATE INDEX demand_targets_unit ON demand_targets (province, unit, demand_id);

CREATE TABLE demand_revisions (
    province TEXT NOT NULL,
    demand_id BLOB NOT NULL,
    revision INTEGER NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    PRIMARY KEY (province, demand_id, revision)
);

CREATE TABLE users (
    province TEXT NOT NULL,
    id BLOB NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    scope TEXT NOT NULL,
    body BLOB,
    password_hash TEXT NOT NULL,
    PRIMARY KEY (province, id)
);
CREATE INDEX users_id ON users (id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BLOB NOT NULL,
    expires_at TEXT NOT NULL
);
