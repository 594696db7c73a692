-- Issue 6: consultation rounds. After a consultation concluded with "revise" the
-- directive is a draft again and may be put to consultation once more: consultations are
-- keyed by their round (1, 2, …) within the directive, and every response belongs to one
-- round. Existing consultations and responses become round 1. SQLite cannot change a
-- primary key in place, so both tables are rebuilt (their indexes go with them and are
-- created again with the round).
CREATE TABLE directive_consultations_rounds (
    province TEXT NOT NULL,
    directive_id BLOB NOT NULL,
    round INTEGER NOT NULL CHECK (round >= 1),
    opens_at TEXT NOT NULL,
    closes_at TEXT NOT NULL,
    concluded_at TEXT,
    outcome TEXT,
    response TEXT NOT NULL DEFAULT '',
    log_index INTEGER,
    PRIMARY KEY (province, directive_id, round)
) WITHOUT ROWID;
INSERT INTO directive_consultations_rounds
    (province, directive_id, round, opens_at, closes_at, concluded_at, outcome, response, log_index)
    SELECT province, directive_id, 1, opens_at, closes_at, concluded_at, outcome, response, log_index
    FROM directive_consultations;
DROP TABLE directive_consultations;
ALTER TABLE directive_consultations_rounds RENAME TO directive_consultations;
CREATE UNIQUE INDEX directive_consultations_id ON directive_consultations (directive_id, round);

CREATE TABLE directive_responses_rounds (
    province TEXT NOT NULL,
    directive_id BLOB NOT NULL,
    round INTEGER NOT NULL CHECK (round >= 1),
    response_id BLOB NOT NULL,
    task_index INTEGER NOT NULL,
    level TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment TEXT NOT NULL,
    user_id BLOB,
    PRIMARY KEY (province, directive_id, round, response_id, task_index)
) WITHOUT ROWID;
INSERT INTO directive_responses_rounds
    (province, directive_id, round, response_id, task_index, level, rating, comment, user_id)
    SELECT province, directive_id, 1, response_id, task_index, level, rating, comment, user_id
    FROM directive_responses;
DROP TABLE directive_responses;
ALTER TABLE directive_responses_rounds RENAME TO directive_responses;
-- A cadre rates a task by name once per round.
CREATE UNIQUE INDEX directive_responses_named
    ON directive_responses (province, directive_id, round, user_id, task_index) WHERE user_id IS NOT NULL;
