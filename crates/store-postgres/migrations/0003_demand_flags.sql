-- Issue 4: what a demand is and requires beyond its costs (flags, a bit set of
-- tongxin_domain::Flag) and a meeting's principal speech length, read by the rules.
ALTER TABLE demands ADD COLUMN speech_minutes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE demands ADD COLUMN flags BIGINT NOT NULL DEFAULT 0;
