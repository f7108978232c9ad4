-- STAND-IN for koji 1.35's /usr/share/koji/schema.sql, used only by tests/hub/test_database.py
-- (the real file is not installable here: no koji RPM on Debian, and the PyPI sdist lacks it).
-- It holds the objects the kojistack bootstrap touches, written to match koji-1.35.3's
-- schemas/schema.sql: events + get_event(), users, permissions (the 15 seeded), user_perms
-- (versioned, DEFAULT get_event()), channels (the 8 seeded), in one BEGIN WORK ... COMMIT WORK.
BEGIN WORK;

CREATE TABLE events (
	id SERIAL NOT NULL PRIMARY KEY,
	time TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
) WITHOUT OIDS;

CREATE FUNCTION get_event() RETURNS INTEGER AS '
	INSERT INTO events (time) VALUES (clock_timestamp());
	SELECT currval(''events_id_seq'')::INTEGER;
' LANGUAGE SQL;

CREATE TABLE users (
	id SERIAL NOT NULL PRIMARY KEY,
	name VARCHAR(255) UNIQUE NOT NULL,
	password VARCHAR(255),
	status INTEGER NOT NULL,
	usertype INTEGER NOT NULL
) WITHOUT OIDS;

CREATE TABLE permissions (
	id SERIAL NOT NULL PRIMARY KEY,
	name VARCHAR(50) UNIQUE NOT NULL,
	description TEXT
) WITHOUT OIDS;

INSERT INTO permissions (name) VALUES ('admin'), ('appliance'), ('dist-repo'), ('host'), ('image'),
	('image-import'), ('livecd'), ('maven-import'), ('repo'), ('sign'), ('tag'), ('target'),
	('win-admin'), ('win-import'), ('draft-promoter');

CREATE TABLE user_perms (
	user_id INTEGER NOT NULL REFERENCES users(id),
	perm_id INTEGER NOT NULL REFERENCES permissions(id),
	create_event INTEGER NOT NULL REFERENCES events(id) DEFAULT get_event(),
	revoke_event INTEGER REFERENCES events(id),
	creator_id INTEGER NOT NULL REFERENCES users(id),
	revoker_id INTEGER REFERENCES users(id),
	active BOOLEAN DEFAULT 'true' CHECK (active),
	CONSTRAINT active_revoke_sane CHECK (
		(active IS NULL AND revoke_event IS NOT NULL AND revoker_id IS NOT NULL)
		OR (active IS NOT NULL AND revoke_event IS NULL AND revoker_id IS NULL)),
	PRIMARY KEY (create_event, user_id, perm_id),
	UNIQUE (user_id,perm_id,active)
) WITHOUT OIDS;

CREATE TABLE channels (
	id SERIAL NOT NULL PRIMARY KEY,
	name VARCHAR(128) UNIQUE NOT NULL,
	description TEXT,
	enabled BOOLEAN NOT NULL DEFAULT 'true',
	comment TEXT
) WITHOUT OIDS;

INSERT INTO channels (name) VALUES ('default'), ('createrepo'), ('maven'), ('livecd'),
	('appliance'), ('vm'), ('image'), ('livemedia');

COMMIT WORK;
