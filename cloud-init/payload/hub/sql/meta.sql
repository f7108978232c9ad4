-- Run as koji on database koji. kojistack's own table: the stack identity and the koji version
-- the schema matches. Idempotent.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS kojistack_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
