-- Issue 2 (import speed): `demands_department` goes.
--
-- No query used it: the body filter of the demand list asks for `source_body = ? OR
-- source_department = ?`, which an index on one of the two cannot answer, so SQLite
-- scanned the table. Yet every large import sorted a million entries to rebuild it
-- (about 0.8 s of the 5 s a million-demand import took on the 2-core machine). The body
-- filter now also names the body's province, in which all its demands are (checked on
-- every write), and reads that province's run of `demands_start` in time order.
DROP INDEX demands_department;
