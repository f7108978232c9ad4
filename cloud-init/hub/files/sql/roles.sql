-- Run as the RDS master user (CREATEDB CREATEROLE, not a superuser) on database postgres.
-- Idempotent: each statement runs only when its object is missing. Needs psql variable koji_password.
-- GRANT koji TO the master comes before CREATE DATABASE ... OWNER koji (koji.md §9).
\set ON_ERROR_STOP on
SELECT format('CREATE ROLE koji LOGIN PASSWORD %L', :'koji_password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'koji') \gexec
SELECT format('GRANT koji TO %I', current_user)
 WHERE NOT pg_has_role(current_user, 'koji', 'MEMBER') \gexec
SELECT 'CREATE DATABASE koji OWNER koji ENCODING ''UTF8'' TEMPLATE template0'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'koji') \gexec
