-- Run as the RDS master user (CREATEDB CREATEROLE, not a superuser) on database postgres.
-- Idempotent: each statement runs only when its object is missing. Needs psql variable koji_password.
-- CREATE DATABASE ... OWNER koji needs the master to be able to SET ROLE koji (koji.md §9, §14.1):
-- up to PostgreSQL 15 membership gives that, so GRANT koji TO the master when it is no member;
-- from 16 a CREATEROLE role that creates koji is made a member WITH ADMIN but neither INHERIT nor
-- SET (https://www.postgresql.org/docs/16/release-16.html, createrole_self_grant), so there the
-- test is the SET privilege, and the GRANT (by the master, which holds ADMIN) adds SET.
\set ON_ERROR_STOP on
SELECT format('CREATE ROLE koji LOGIN PASSWORD %L', :'koji_password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'koji') \gexec
SELECT format('GRANT koji TO %I', current_user)
 WHERE NOT pg_has_role(current_user, 'koji',
         CASE WHEN current_setting('server_version_num')::int >= 160000 THEN 'SET' ELSE 'MEMBER' END) \gexec
SELECT 'CREATE DATABASE koji OWNER koji ENCODING ''UTF8'' TEMPLATE template0'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'koji') \gexec
