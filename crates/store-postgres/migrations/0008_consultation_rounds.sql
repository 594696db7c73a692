-- Issue 6: consultation rounds. After a consultation concluded with "revise" the
-- directive is a draft again and may be put to consultation once more: consultations are
-- keyed by their round (1, 2, …) within the directive, and every response belongs to one
-- round. Existing consultations and responses become round 1.
ALTER TABLE directive_consultations ADD COLUMN round INTEGER NOT NULL DEFAULT 1 CHECK (round >= 1);
ALTER TABLE directive_consultations ALTER COLUMN round DROP DEFAULT;
ALTER TABLE directive_consultations DROP CONSTRAINT directive_consultations_pkey;
ALTER TABLE directive_consultations ADD PRIMARY KEY (province, directive_id, round);
DROP INDEX directive_consultations_id;
CREATE UNIQUE INDEX directive_consultations_id ON directive_consultations (directive_id, round);

ALTER TABLE directive_responses ADD COLUMN round INTEGER NOT NULL DEFAULT 1 CHECK (round >= 1);
ALTER TABLE directive_responses ALTER COLUMN round DROP DEFAULT;
ALTER TABLE directive_responses DROP CONSTRAINT directive_responses_pkey;
ALTER TABLE directive_responses ADD PRIMARY KEY (province, directive_id, round, response_id, task_index);
-- A cadre rates a task by name once per round.
DROP INDEX directive_responses_named;
CREATE UNIQUE INDEX directive_responses_named
    ON directive_responses (province, directive_id, round, user_id, task_index) WHERE user_id IS NOT NULL;
