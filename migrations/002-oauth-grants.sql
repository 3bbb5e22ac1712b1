-- Schema version 2: the authorization-code login (`oktasync auth login`).
--
-- The refresh token Okta issued, kept current as Okta rotates it, and the private DPoP key it is
-- bound to. Secrets: the state file is mode 0600; `auth logout` revokes the token at Okta and
-- deletes the row.

CREATE TABLE oauth_grants (
    org           TEXT NOT NULL, -- the org's base URL, e.g. https://dev-12345.okta.com/
    client_id     TEXT NOT NULL, -- the OAuth app's client id
    refresh_token TEXT NOT NULL, -- the current refresh token (secret)
    scope         TEXT NOT NULL, -- the scopes granted, space-separated
    dpop_key      BLOB,          -- PKCS#8 of the DPoP key the token is bound to (secret), or NULL
    updated_at    TEXT NOT NULL, -- when the login or the last rotation was stored
    PRIMARY KEY (org, client_id)
);
