-- Migration 004-directory: the directory mirror (groups, memberships, apps, app assignments).
--
-- Filled by the groups, group_members, apps and app_users streams. These tables are also what
-- those streams diff Okta against, so the state database keeps them even when the mirror is
-- another sink. A deleted group or app stays as a tombstone (deleted_at set); a membership or
-- assignment that goes away is deleted, and every add and remove after the first listing is
-- noted in access_changes.
--
--   sqlite3 -readonly state.db "SELECT group_name FROM user_groups WHERE login = 'ann@example.com'"
--   sqlite3 -readonly state.db "SELECT login, app_label, how FROM user_apps WHERE app_label = 'Slack'"

CREATE TABLE groups (
    id                      TEXT PRIMARY KEY, -- Okta group id (00g…)
    type                    TEXT,             -- OKTA_GROUP, APP_GROUP or BUILT_IN (Everyone)
    name                    TEXT,             -- profile.name
    description             TEXT,             -- profile.description
    created                 TEXT,             -- when the group was created in Okta
    last_updated            TEXT NOT NULL,    -- Okta lastUpdated: the profile's last change
    last_membership_updated TEXT,             -- Okta lastMembershipUpdated: when a member last joined or left
    members_synced          TEXT,             -- the last_membership_updated whose members group_members holds; NULL until first listed
    data                    TEXT NOT NULL,    -- the whole Okta group as received
    synced_at               TEXT NOT NULL,    -- when oktasync last wrote this row
    deleted_at              TEXT              -- when oktasync found the group gone from Okta; NULL while it exists
);
CREATE INDEX groups_name ON groups (name);

CREATE TABLE group_members (
    group_id TEXT NOT NULL, -- groups.id
    user_id  TEXT NOT NULL, -- users.id
    added_at TEXT NOT NULL, -- when oktasync first saw the membership
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members (user_id, group_id);

CREATE TABLE apps (
    id           TEXT PRIMARY KEY, -- Okta app id (0oa…)
    name         TEXT,             -- the app's integration name, e.g. slack, bookmark
    label        TEXT,             -- the name people see, e.g. "Slack"
    status       TEXT,             -- ACTIVE or INACTIVE
    sign_on_mode TEXT,             -- e.g. SAML_2_0, OPENID_CONNECT, BOOKMARK
    last_updated TEXT NOT NULL,    -- Okta lastUpdated
    data         TEXT NOT NULL,    -- the whole Okta app as received
    synced_at    TEXT NOT NULL,    -- when oktasync last wrote this row
    deleted_at   TEXT              -- when oktasync found the app gone from Okta; NULL while it exists
);
CREATE INDEX apps_label ON apps (label);

CREATE TABLE app_users (
    app_id       TEXT NOT NULL, -- apps.id
    user_id      TEXT NOT NULL, -- users.id
    scope        TEXT,          -- USER (assigned directly) or GROUP (through an assigned group)
    status       TEXT,          -- the assignment's status, e.g. ACTIVE, PROVISIONED
    last_updated TEXT NOT NULL, -- Okta lastUpdated of the assignment
    data         TEXT NOT NULL, -- the whole Okta AppUser as received
    synced_at    TEXT NOT NULL, -- when oktasync last wrote this row
    PRIMARY KEY (app_id, user_id)
) WITHOUT ROWID;
CREATE INDEX app_users_user ON app_users (user_id, app_id);

CREATE TABLE access_changes (
    seq        INTEGER PRIMARY KEY, -- increasing
    changed_at TEXT NOT NULL,       -- when it changed in Okta, as near as the API tells (lastMembershipUpdated, the assignment's lastUpdated, the event's published)
    seen_at    TEXT NOT NULL,       -- when oktasync applied it
    kind       TEXT NOT NULL,       -- group (a membership) or app (an assignment)
    op         TEXT NOT NULL,       -- add or remove
    target_id  TEXT NOT NULL,       -- the group or app id
    user_id    TEXT NOT NULL,       -- the user id
    scope      TEXT                 -- app assignments: USER or GROUP
);
CREATE INDEX access_changes_changed_at ON access_changes (changed_at);

CREATE TABLE pending_deltas (
    stream TEXT NOT NULL,    -- group_members or app_users
    seq    INTEGER NOT NULL, -- order within the page
    line   TEXT NOT NULL,    -- the delta as its NDJSON line
    PRIMARY KEY (stream, seq)
); -- a membership page written to the sinks but not yet committed: delivered again after a crash, so no sink keeps a change the mirror never saw

CREATE VIEW user_groups AS -- each user's groups (Everyone, which holds every user, left out), by login
SELECT u.login, m.user_id, g.name AS group_name, m.group_id, m.added_at
FROM group_members m
JOIN groups g ON g.id = m.group_id AND g.deleted_at IS NULL
LEFT JOIN users u ON u.id = m.user_id
ORDER BY u.login, g.name;

CREATE VIEW group_sizes AS -- members per group, largest first (Everyone left out)
SELECT g.id, g.name, g.type, count(m.user_id) AS members, g.last_membership_updated
FROM groups g
LEFT JOIN group_members m ON m.group_id = g.id
WHERE g.deleted_at IS NULL AND g.type IS NOT 'BUILT_IN'
GROUP BY g.id
ORDER BY members DESC, g.name;

CREATE VIEW user_apps AS -- each user's apps, assigned directly or through a group, by login
SELECT u.login, a.user_id, p.label AS app_label, a.app_id, a.scope,
       CASE a.scope WHEN 'GROUP' THEN 'by group' ELSE 'direct' END AS how,
       a.status, p.status AS app_status
FROM app_users a
JOIN apps p ON p.id = a.app_id AND p.deleted_at IS NULL
LEFT JOIN users u ON u.id = a.user_id
ORDER BY u.login, p.label;

CREATE VIEW recent_access_changes AS -- memberships and app assignments added or removed in the last 7 days, newest first
SELECT c.changed_at, c.op, c.kind, u.login, c.user_id,
       CASE c.kind WHEN 'group' THEN g.name ELSE p.label END AS target,
       c.target_id, c.scope, c.seen_at
FROM access_changes c
LEFT JOIN users u ON u.id = c.user_id
LEFT JOIN groups g ON c.kind = 'group' AND g.id = c.target_id
LEFT JOIN apps p ON c.kind = 'app' AND p.id = c.target_id
WHERE c.changed_at >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-7 days')
ORDER BY c.changed_at DESC, c.seq DESC;

CREATE VIEW empty_groups AS -- groups with no members once their members were listed (Everyone left out)
SELECT g.id, g.name, g.type, g.created, g.last_membership_updated
FROM groups g
WHERE g.deleted_at IS NULL AND g.type IS NOT 'BUILT_IN' AND g.members_synced IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id)
ORDER BY g.name;
