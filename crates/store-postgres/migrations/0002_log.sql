-- Transparency logs: entries, stored Merkle hashes (by stored-hash index) and every
-- published checkpoint. `log` is the log's origin and leads every primary key: on Citus
-- these tables are distributed by it (a province runs its own log).
CREATE TABLE log_heads (
    log TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    root BYTEA NOT NULL,
    published BIGINT NOT NULL,
    writer UUID,
    heartbeat TIMESTAMPTZ
);

CREATE TABLE log_entries (
    log TEXT NOT NULL,
    idx BIGINT NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (log, idx)
);

CREATE TABLE log_hashes (
    log TEXT NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (log, idx)
);

CREATE TABLE log_checkpoints (
    log TEXT NOT NULL,
    size BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (log, size)
);
