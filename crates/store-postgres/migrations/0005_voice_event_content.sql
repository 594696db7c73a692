-- Issue 5: the committed content of every voice event (the exact canonical bytes its log
-- entry commits to: the report's content for the filing, the event's data and text for a
-- transition), so that the receipt holder and the body can read answers and replies and
-- an auditor can open the commitment. Never written to the log: only the commitment is.
-- Rows written before this migration keep an empty content.
ALTER TABLE voice_events ADD COLUMN content BYTEA NOT NULL DEFAULT '\x'::bytea;
