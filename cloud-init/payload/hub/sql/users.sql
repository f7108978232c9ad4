-- Run as koji on database koji after schema.sql. Seeds the users kojistack needs and their
-- permissions (docs/architecture.md): the admin (psql variable admin_user) with admin, kojira's user
-- (kojira_user) with repo, the controller's (controller_user) with host and admin (the two from
-- names.env, kojistack/names.py, passed by kojistack-db); and the permission `packager`
-- (koji 1.35.3 has no `build` permission): the hub policy (conf/hub-policy.conf.in) lets its
-- holders build, and `kojistack user add` grants it by default. Idempotent: rows are inserted
-- only when missing, so a second run changes nothing (not even the events table).
\set ON_ERROR_STOP on
BEGIN;
INSERT INTO permissions (name, description)
SELECT 'packager', 'kojistack: build (SRPMs, and SCMs that AllowedScms allows) and add packages to the stack''s tag'
 WHERE NOT EXISTS (SELECT 1 FROM permissions WHERE name = 'packager');
INSERT INTO users (name, status, usertype)
SELECT v.name, 0, 0  -- status NORMAL, usertype NORMAL
  FROM (VALUES (:'admin_user'), (:'kojira_user'), (:'controller_user')) AS v(name)
 WHERE NOT EXISTS (SELECT 1 FROM users WHERE users.name = v.name);
INSERT INTO user_perms (user_id, perm_id, creator_id)
SELECT u.id, p.id, creator.id
  FROM (VALUES (:'admin_user', 'admin'), (:'kojira_user', 'repo'),
               (:'controller_user', 'host'), (:'controller_user', 'admin')) AS g(user_name, perm_name)
  JOIN users u ON u.name = g.user_name
  JOIN permissions p ON p.name = g.perm_name
  JOIN users creator ON creator.name = :'admin_user'
 WHERE NOT EXISTS (SELECT 1 FROM user_perms up
                    WHERE up.user_id = u.id AND up.perm_id = p.id AND up.active);
COMMIT;
