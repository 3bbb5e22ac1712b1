-- Schema version 3: the event hook receiver (`oktasync hook serve`, or `[hook] listen` in `run`).
--
-- * system_log.received_via: which stream delivered an event first, `system_log` (the poller) or
--   `event_hook` (the receiver). The first copy of a uuid stays, so this never changes afterwards.
-- * hook_inbox: events the receiver has committed (and may have answered 200 for) but not yet
--   delivered to every sink. A row is deleted in the same transaction that mirrors it, once every
--   other sink took it; the receiver drains this table when it starts, so a crash loses nothing.
-- * hook_receiver: one row of counters for `oktasync hook status`.
-- * event_hooks: each hook `oktasync hook register` made, with the shared secret Okta sends in the
--   configured header (a secret: the state file is mode 0600).

ALTER TABLE system_log ADD COLUMN received_via TEXT; -- system_log or event_hook: the stream that delivered the event first
UPDATE system_log SET received_via = 'system_log';

CREATE TABLE hook_inbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT, -- commit order; never reused
    uuid        TEXT NOT NULL UNIQUE,              -- Okta event uuid; a copy already waiting is not added again
    published   TEXT NOT NULL,                     -- the event's published time
    data        TEXT NOT NULL,                     -- the LogEvent exactly as delivered
    received_at TEXT NOT NULL                      -- when the receiver committed it
);

CREATE TABLE hook_receiver (
    id               INTEGER PRIMARY KEY CHECK (id = 1),
    deliveries       INTEGER NOT NULL DEFAULT 0, -- deliveries whose events were committed
    events           INTEGER NOT NULL DEFAULT 0, -- events in those deliveries
    last_delivery_at TEXT                        -- when the last one was committed
);
INSERT INTO hook_receiver (id) VALUES (1);

CREATE TABLE event_hooks (
    name          TEXT PRIMARY KEY, -- the hook's name at Okta (`hook register --name`)
    org           TEXT NOT NULL,    -- the org's base URL
    hook_id       TEXT,             -- Okta's id (who…); NULL until Okta has created it
    url           TEXT NOT NULL,    -- where Okta delivers
    secret_header TEXT NOT NULL,    -- the header that carries the secret, e.g. Authorization
    secret        TEXT NOT NULL,    -- the shared secret (secret)
    updated_at    TEXT NOT NULL     -- when this row was last written
);
