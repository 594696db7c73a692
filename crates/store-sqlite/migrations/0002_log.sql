-- Transparency logs: entries, stored Merkle hashes (by stored-hash index) and every
-- published checkpoint. `log` is the log's origin; on Citus these tables are distributed
-- by it (a province runs its own log).
CREATE TABLE log_heads (
    log TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    root BLOB NOT NULL,
    published INTEGER NOT NULL,
    writer BLOB,
    heartbeat TEXT
);

CREATE TABLE log_entries (
    log TEXT NOT NULL,
    idx INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (log, idx)
) WITHOUT ROWID;

CREATE TABLE log_hashes (
    log TEXT NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (log, idx)
) WITHOUT ROWID;

CREATE TABLE log_checkpoints (
    log TEXT NOT NULL,
    size INTEGER NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (log, size)
);
