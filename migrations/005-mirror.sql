-- Schema version 5: an exact mirror that writes in arrival order.
--
-- * users.deleted_at: users deleted in Okta stay queryable but leave the views.
-- * system_log is keyed by an arrival-order integer, so inserts append; an event is unique by
--   (published, uuid) (an event's published never changes), and received_via says which stream
--   delivered it first (system_log or event_hook), carried over from version 3's column.
-- * user_state: what the users streams have emitted per user, touched only for a page's users;
--   it replaces the look-back set the users cursors carried.
-- * run_totals: the records of pruned runs, so `status` totals survive pruning.
-- Existing rows are kept; views are rebuilt to leave deleted users out.

DROP VIEW active_users;
DROP VIEW deprovisioned_users;
DROP VIEW failed_sign_ins_last_day;
DROP VIEW events_by_type_last_day;
DROP VIEW stream_status;

ALTER TABLE users ADD COLUMN deleted_at TEXT; -- when the user was seen deleted in Okta; NULL while it exists

CREATE TABLE system_log_v5 (
    id           INTEGER PRIMARY KEY, -- arrival order: the order oktasync received the events in
    uuid         TEXT NOT NULL,       -- Okta event uuid; events are immutable, so the first copy stays
    published    TEXT NOT NULL,       -- when the event happened (Okta published)
    event_type   TEXT,                -- eventType, e.g. user.session.start, user.lifecycle.deactivate
    severity     TEXT,                -- DEBUG, INFO, WARN or ERROR
    actor_id     TEXT,                -- actor.id: who did it (a user, app or API token id)
    outcome      TEXT,                -- outcome.result: SUCCESS, FAILURE, SKIPPED, ALLOW, DENY, CHALLENGE, UNKNOWN
    data         TEXT NOT NULL,       -- the whole Okta LogEvent as received; e.g. json_extract(data, '$.client.ipAddress')
    synced_at    TEXT NOT NULL,       -- when oktasync wrote this row
    received_via TEXT                 -- the stream that delivered the event first: system_log or event_hook
);
INSERT INTO system_log_v5
    (uuid, published, event_type, severity, actor_id, outcome, data, synced_at, received_via)
SELECT uuid, published, event_type, severity, actor_id, outcome, data, synced_at, received_via
FROM system_log ORDER BY published, uuid;
DROP TABLE system_log;
ALTER TABLE system_log_v5 RENAME TO system_log;
CREATE UNIQUE INDEX system_log_published_uuid ON system_log (published, uuid);
CREATE INDEX system_log_event_type ON system_log (event_type, published);
-- Dropped while a backfill runs and rebuilt once it has caught up (see README).
CREATE INDEX system_log_actor_id ON system_log (actor_id, published);

CREATE TABLE user_state (
    id           TEXT PRIMARY KEY, -- Okta user id
    created      TEXT,             -- created, as last seen
    last_updated TEXT NOT NULL,    -- the newest lastUpdated seen
    new_emitted  INTEGER NOT NULL DEFAULT 0, -- 1 once a new_users delta carried this user
    emitted      TEXT,             -- lastUpdated of the last updated_users delta
    deleted_at   TEXT,             -- when a tombstone said the user was deleted; NULL while it exists
    seen_at      TEXT              -- start of the last reconciliation that found the user
) WITHOUT ROWID;
-- What the mirror holds was emitted: versions 2 to 4 kept that in the users cursors' look-back sets.
INSERT INTO user_state (id, created, last_updated, new_emitted, emitted)
SELECT u.id, u.created, u.last_updated,
       u.created IS NOT NULL AND u.created <= coalesce(
           (SELECT json_extract(value, '$.hwm') FROM cursors WHERE stream = 'new_users'), ''),
       CASE WHEN u.last_updated <= coalesce(
           (SELECT json_extract(value, '$.hwm') FROM cursors WHERE stream = 'updated_users'), '')
            THEN u.last_updated END
FROM users u;

CREATE TABLE run_totals (
    stream  TEXT PRIMARY KEY, -- poller stream name
    runs    INTEGER NOT NULL, -- runs pruned from `runs`
    records INTEGER NOT NULL  -- records those runs committed
);

CREATE VIEW active_users AS -- users whose status is ACTIVE, by login
SELECT id, login, email, created, last_updated
FROM users
WHERE status = 'ACTIVE' AND deleted_at IS NULL
ORDER BY login;

CREATE VIEW deprovisioned_users AS -- deactivated (DEPROVISIONED) users not yet deleted, most recently changed first
SELECT id, login, email, json_extract(data, '$.statusChanged') AS status_changed, last_updated
FROM users
WHERE status = 'DEPROVISIONED' AND deleted_at IS NULL
ORDER BY status_changed DESC;

CREATE VIEW deleted_users AS -- users deleted in Okta, most recent first, with their last known state
SELECT id, login, email, status AS last_status, deleted_at, last_updated
FROM users
WHERE deleted_at IS NOT NULL
ORDER BY deleted_at DESC;

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

CREATE VIEW stream_status AS -- per stream: cursor, latest run, last success, failures in a row and total records (what `oktasync status` shows)
WITH streams AS (SELECT stream FROM cursors UNION SELECT stream FROM runs UNION SELECT stream FROM run_totals),
     latest AS (SELECT stream, max(id) AS id FROM runs GROUP BY stream),
     success AS (SELECT stream, max(id) AS id, max(ended_at) AS at FROM runs
                  WHERE ended_at IS NOT NULL AND error IS NULL GROUP BY stream)
SELECT s.stream,
       c.value AS cursor,
       c.updated_at AS cursor_updated_at,
       ok.at AS last_success_at,
       r.id AS last_run_id,
       r.started_at AS last_run_started_at,
       r.ended_at AS last_run_ended_at,
       r.records AS last_run_records,
       r.requests AS last_run_requests,
       r.rate_limited AS last_run_rate_limited,
       r.error AS last_run_error,
       (SELECT count(*) FROM runs f
         WHERE f.stream = s.stream AND f.error IS NOT NULL AND f.id > coalesce(ok.id, 0)) AS failures,
       (SELECT coalesce(sum(records), 0) FROM runs t WHERE t.stream = s.stream)
         + coalesce((SELECT records FROM run_totals p WHERE p.stream = s.stream), 0) AS total_records
FROM streams s
LEFT JOIN cursors c ON c.stream = s.stream
LEFT JOIN latest l ON l.stream = s.stream
LEFT JOIN runs r ON r.id = l.id
LEFT JOIN success ok ON ok.stream = s.stream
ORDER BY s.stream;
