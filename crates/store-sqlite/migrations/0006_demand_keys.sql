-- Issue 2 (import speed): two fewer B-trees per demand.
--
-- 1. `demands_id` goes. A lookup by id alone probes the primary key (province, id) once
--    per possible province code (`WHERE province IN ('00', …, '99') AND id = ?`, see
--    `rows::BY_ID`): a hundred index seeks, well under a millisecond, instead of a
--    second index over every demand that each insert and import had to maintain.
-- 2. `demand_targets` is keyed the way it is read: by unit (the calendars, the unit
--    filters, the rollup comparison), so the table itself is the index and
--    `demand_targets_unit` goes. The targets of one demand are in its `targets` column;
--    an update deletes the old rows by their full key.
DROP INDEX demands_id;

CREATE TABLE demand_targets_by_unit (
    province TEXT NOT NULL,
    unit TEXT NOT NULL,
    demand_id BLOB NOT NULL,
    PRIMARY KEY (province, unit, demand_id)
) WITHOUT ROWID;
INSERT INTO demand_targets_by_unit (province, unit, demand_id)
    SELECT province, unit, demand_id FROM demand_targets ORDER BY province, unit, demand_id;
DROP TABLE demand_targets;
ALTER TABLE demand_targets_by_unit RENAME TO demand_targets;
