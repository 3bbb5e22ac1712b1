-- oktasync state database, schema version 1.
--
-- One SQLite file holds the sync state (cursors, runs) and, when the sqlite sink points at it, the
-- mirror of Okta users and System Log events. oktasync applies this file in one transaction and
-- sets PRAGMA user_version = 1. Timestamps are RFC 3339 UTC text with milliseconds
-- ("2024-08-13T15:58:20.353Z"), so they sort and compare as strings.
--
-- Query it with sqlite3, for example:
--   sqlite3 -readonly state.db 'SELECT login, email FROM active_users'
--   sqlite3 -readonly state.db 'SELECT * FROM failed_sign_ins_last_day'

CREATE TABLE cursors (
    stream     TEXT PRIMARY KEY, -- poller stream name: new_users, updated_users, system_log
    value      TEXT NOT NULL,    -- opaque resume point chosen by the poller (often JSON); moves only together with its data
    updated_at TEXT NOT NULL     -- when this cursor was last written
);

CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,       -- run number, increasing
    stream       TEXT NOT NULL,             -- which stream this run polled
    started_at   TEXT NOT NULL,             -- when the run began
    ended_at     TEXT,                      -- when it finished; NULL while running or if the process died
    records      INTEGER NOT NULL DEFAULT 0, -- deltas committed by this run
    requests     INTEGER NOT NULL DEFAULT 0, -- HTTP requests made to Okta
    rate_limited INTEGER NOT NULL DEFAULT 0, -- responses that were HTTP 429 or near the rate limit
    error        TEXT                       -- why the run failed; NULL if it succeeded (or is still running)
);
CREATE INDEX runs_stream ON runs (stream, id);

CREATE TABLE users (
    id           TEXT PRIMARY KEY, -- Okta user id (00u…)
    status       TEXT,             -- STAGED, PROVISIONED, ACTIVE, RECOVERY, PASSWORD_EXPIRED, LOCKED_OUT, SUSPENDED, DEPROVISIONED
    login        TEXT,             -- profile.login
    email        TEXT,             -- profile.email
    created      TEXT,             -- when the user was created in Okta
    last_updated TEXT NOT NULL,    -- Okta lastUpdated; an older version never replaces a newer one
    data         TEXT NOT NULL CHECK (json_type(data) = 'object'), -- the whole Okta user object as received; read more with json_extract(data, '$.profile.department')
    synced_at    TEXT NOT NULL     -- when oktasync last wrote this row
);
CREATE INDEX users_login ON users (login);
CREATE INDEX users_email ON users (email);
CREATE INDEX users_status ON users (status);
CREATE INDEX users_last_updated ON users (last_updated);

CREATE TABLE system_log (
    uuid       TEXT PRIMARY KEY, -- Okta event uuid; events are immutable, so the first copy stays
    published  TEXT NOT NULL,    -- when the event happened (Okta published)
    event_type TEXT,             -- eventType, e.g. user.session.start, user.lifecycle.deactivate
    severity   TEXT,             -- DEBUG, INFO, WARN or ERROR
    actor_id   TEXT,             -- actor.id: who did it (a user, app or API token id)
    outcome    TEXT,             -- outcome.result: SUCCESS, FAILURE, SKIPPED, ALLOW, DENY, CHALLENGE, UNKNOWN
    data       TEXT NOT NULL CHECK (json_type(data) = 'object'), -- the whole Okta LogEvent as received; e.g. json_extract(data, '$.client.ipAddress')
    synced_at  TEXT NOT NULL     -- when oktasync wrote this row
);
CREATE INDEX system_log_published ON system_log (published);
CREATE INDEX system_log_event_type ON system_log (event_type, published);
CREATE INDEX system_log_actor_id ON system_log (actor_id, published);

CREATE VIEW active_users AS -- users whose status is ACTIVE, by login
SELECT id, login, email, created, last_updated
FROM users
WHERE status = 'ACTIVE'
ORDER BY login;

CREATE VIEW deprovisioned_users AS -- deactivated (DEPROVISIONED) users, most recently changed first
SELECT id, login, email, json_extract(data, '$.statusChanged') AS status_changed, last_updated
FROM users
WHERE status = 'DEPROVISIONED'
ORDER BY status_changed DESC;

CREATE VIEW failed_sign_ins_last_day AS -- user.session.start events with outcome FAILURE in the last 24 hours, newest first
SELECT published,
       json_extract(data, '$.actor.alternateId') AS login,
       actor_id,
       json_extract(data, '$.client.ipAddress') AS ip_address,
       json_extract(data, '$.outcome.reason') AS reason,
       uuid
FROM system_log
WHERE event_type = 'user.session.start'
  AND outcome = 'FAILURE'
  AND published >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day')
ORDER BY published DESC;

CREATE VIEW events_by_type_last_day AS -- how many events of each eventType were published in the last 24 hours
SELECT event_type, count(*) AS events
FROM system_log
WHERE published >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day')
GROUP BY event_type
ORDER BY events DESC, event_type;

CREATE VIEW stream_status AS -- per stream: cursor, latest run, last success and total records (what `oktasync status` shows)
WITH streams AS (SELECT stream FROM cursors UNION SELECT stream FROM runs),
     latest AS (SELECT stream, max(id) AS id FROM runs GROUP BY stream)
SELECT s.stream,
       c.value AS cursor,
       c.updated_at AS cursor_updated_at,
       (SELECT max(ended_at) FROM runs ok
         WHERE ok.stream = s.stream AND ok.ended_at IS NOT NULL AND ok.error IS NULL) AS last_success_at,
       r.id AS last_run_id,
       r.started_at AS last_run_started_at,
       r.ended_at AS last_run_ended_at,
       r.records AS last_run_records,
       r.requests AS last_run_requests,
       r.rate_limited AS last_run_rate_limited,
       r.error AS last_run_error,
       (SELECT coalesce(sum(records), 0) FROM runs t WHERE t.stream = s.stream) AS total_records
FROM streams s
LEFT JOIN cursors c ON c.stream = s.stream
LEFT JOIN latest l ON l.stream = s.stream
LEFT JOIN runs r ON r.id = l.id
ORDER BY s.stream;
