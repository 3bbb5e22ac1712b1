//! The configuration reference: every key the loader accepts, its default, its environment
//! variable and what it does, as README's table shows it. Tests hold it to the loader: the keys
//! are the fields serde accepts, the environment variables are the ones the loader reads, the
//! defaults load to the same settings as an empty file, and README carries exactly this table
//! (`OKTASYNC_BLESS=1 cargo test --lib config::reference` rewrites it).

/// A key's default, as the table shows it.
#[derive(Debug, Clone, Copy)]
pub enum DefaultValue {
    /// A TOML value, the same for every poller.
    Toml(&'static str),
    /// A TOML value per stream (`pollers.<stream>.…` keys).
    PerStream(&'static [(&'static str, &'static str)]),
    /// No literal default: what happens instead.
    Text(&'static str),
}

/// One row of the reference.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// Dotted key; `<stream>` stands for any of the pollers (`config::STREAMS`).
    pub key: &'static str,
    pub default: DefaultValue,
    /// Environment variables that set it (which win over the file), comma-separated.
    pub env: &'static str,
    pub meaning: &'static str,
}

const EVERY_5_MIN: &str = "\"0 */5 * * * *\"";

const SCHEDULES: [(&str, &str); 7] = [
    ("new_users", EVERY_5_MIN),
    ("updated_users", EVERY_5_MIN),
    ("system_log", "\"*/30 * * * * *\""),
    ("groups", EVERY_5_MIN),
    ("group_members", "\"30 * * * * *\""),
    ("apps", EVERY_5_MIN),
    ("app_users", EVERY_5_MIN),
];
const STARTS: [(&str, &str); 3] = [
    ("new_users", "\"all\""),
    ("updated_users", "\"all\""),
    ("system_log", "\"-24h\""),
];
const PAGE_SIZES: [(&str, &str); 7] = [
    ("new_users", "200"),
    ("updated_users", "200"),
    ("system_log", "1000"),
    ("groups", "1000"),
    ("group_members", "200"),
    ("apps", "200"),
    ("app_users", "500"),
];

/// Every key, in the order README lists them.
pub const KEYS: &[Key] = &[
    Key {
        key: "okta.domain",
        default: DefaultValue::Text("none: required to talk to Okta"),
        env: "OKTA_DOMAIN",
        meaning: "The org as Okta shows it: `dev-12345.okta.com`, `acme.oktapreview.com` or a custom domain (`https://` implied; admin-console hosts are normalised; `http://` only for loopback)",
    },
    Key {
        key: "okta.api_token",
        default: DefaultValue::Text("none"),
        env: "OKTA_API_TOKEN",
        meaning: "The SSWS API token. Better kept out of the file: `api_token_file`, or the systemd credential `okta-api-token` (read from `$CREDENTIALS_DIRECTORY` when neither is set)",
    },
    Key {
        key: "okta.api_token_file",
        default: DefaultValue::Text("none"),
        env: "OKTA_API_TOKEN_FILE, CREDENTIALS_DIRECTORY",
        meaning: "A file holding the token (trimmed), readable only by oktasync",
    },
    Key {
        key: "okta.rate_limit_share",
        default: DefaultValue::Toml("0.5"),
        env: "OKTASYNC_RATE_LIMIT_SHARE",
        meaning: "Share of each rate-limit bucket this process may use, in (0, 1]; the rest is left to other integrations",
    },
    Key {
        key: "okta.request_timeout_secs",
        default: DefaultValue::Toml("30"),
        env: "",
        meaning: "Timeout of one HTTP request",
    },
    Key {
        key: "okta.max_retries",
        default: DefaultValue::Toml("4"),
        env: "",
        meaning: "Retries of one request after a 429, a 5xx or a network error",
    },
    Key {
        key: "okta.auth",
        default: DefaultValue::Toml("\"api_token\""),
        env: "OKTA_AUTH",
        meaning: "The connection: `api_token` (SSWS), `client_credentials` (an OAuth 2.0 API Services app, `private_key_jwt`) or `authorization_code` (an OIDC web app an admin approves with `auth login`)",
    },
    Key {
        key: "okta.client_id",
        default: DefaultValue::Text("none: required for OAuth"),
        env: "OKTA_CLIENT_ID",
        meaning: "The OAuth app's Client ID (its General tab)",
    },
    Key {
        key: "okta.private_key_file",
        default: DefaultValue::Text("none"),
        env: "OKTA_PRIVATE_KEY_FILE, CREDENTIALS_DIRECTORY",
        meaning: "client_credentials: the app's private key, PEM (PKCS#8 or PKCS#1 RSA, EC P-256); else `private_key`, else the systemd credential `okta-private-key`",
    },
    Key {
        key: "okta.private_key",
        default: DefaultValue::Text("none"),
        env: "",
        meaning: "client_credentials: the private key inline (PEM); prefer the file or the credential",
    },
    Key {
        key: "okta.key_id",
        default: DefaultValue::Text("none"),
        env: "OKTA_KEY_ID",
        meaning: "client_credentials: the KID Okta shows for the key, sent as the assertion's `kid`",
    },
    Key {
        key: "okta.scopes",
        default: DefaultValue::Text(
            "the enabled pollers' read scopes: `okta.users.read okta.logs.read okta.groups.read okta.apps.read` (plus `offline_access` for authorization_code)",
        ),
        env: "OKTA_SCOPES",
        meaning: "OAuth scopes, space-separated, exactly as the app's Okta API Scopes tab shows them",
    },
    Key {
        key: "okta.dpop",
        default: DefaultValue::Toml("\"auto\""),
        env: "OKTA_DPOP",
        meaning: "DPoP: `auto` (when Okta says the app requires it), `always` or `never`",
    },
    Key {
        key: "okta.client_secret_file",
        default: DefaultValue::Text("none"),
        env: "OKTA_CLIENT_SECRET_FILE, CREDENTIALS_DIRECTORY",
        meaning: "authorization_code: a file holding the client secret; else `client_secret`, else the systemd credential `okta-client-secret`; none for a public client",
    },
    Key {
        key: "okta.client_secret",
        default: DefaultValue::Text("none"),
        env: "OKTA_CLIENT_SECRET",
        meaning: "authorization_code: the client secret inline; prefer the file or the credential",
    },
    Key {
        key: "okta.token_endpoint_auth_method",
        default: DefaultValue::Text("`client_secret_basic` with a secret, else `none`"),
        env: "",
        meaning: "authorization_code: `client_secret_basic`, `client_secret_post` or `none` (a public client)",
    },
    Key {
        key: "okta.redirect_port",
        default: DefaultValue::Toml("8765"),
        env: "",
        meaning: "authorization_code: the port of the redirect URI `http://127.0.0.1:<port>/callback` that `auth login` listens on",
    },
    Key {
        key: "sync.state",
        default: DefaultValue::Text(
            "`$STATE_DIRECTORY/oktasync.db` under systemd, else `./oktasync.db`",
        ),
        env: "OKTASYNC_STATE, STATE_DIRECTORY",
        meaning: "The state database: cursors, run history, and the mirror by default (`--state`)",
    },
    Key {
        key: "sync.sinks",
        default: DefaultValue::Text("a mirror in the state database"),
        env: "OKTASYNC_SINKS",
        meaning: "Where deltas go: `stdout`, `file:PATH`, `sqlite:PATH` (comma-separated in the environment; `--sink`)",
    },
    Key {
        key: "sync.lookback_secs",
        default: DefaultValue::Toml("300"),
        env: "",
        meaning: "How far behind the users and groups high-water marks each query reaches, for Okta's search-index lag",
    },
    Key {
        key: "sync.rotate_bytes",
        default: DefaultValue::Toml("104857600"),
        env: "",
        meaning: "Rotate NDJSON files at this size (0: never by size)",
    },
    Key {
        key: "sync.rotate_daily",
        default: DefaultValue::Toml("true"),
        env: "",
        meaning: "Rotate NDJSON files at each UTC day",
    },
    Key {
        key: "sync.reconcile",
        default: DefaultValue::Toml("\"0 0 3 * * *\""),
        env: "",
        meaning: "Cron schedule (with seconds, UTC) of the reconciliation `run` does: every user listed through `search`, missed versions emitted, users deleted in Okta tombstoned (`off` disables; `oktasync reconcile` runs one now)",
    },
    Key {
        key: "sync.runs_keep",
        default: DefaultValue::Toml("1000"),
        env: "",
        meaning: "Runs kept per stream in the `runs` table (0: no limit); older ones are pruned, their records still counted in `status`",
    },
    Key {
        key: "sync.runs_keep_days",
        default: DefaultValue::Toml("30"),
        env: "",
        meaning: "Runs older than this many days are pruned (0: no limit); the latest run and the latest success are always kept",
    },
    Key {
        key: "sync.system_log_retention_days",
        default: DefaultValue::Text("none: events are kept"),
        env: "",
        meaning: "Delete mirrored System Log events published more than this many days ago, after each caught-up run (0: keep)",
    },
    Key {
        key: "pollers.<stream>.enabled",
        default: DefaultValue::Toml("true"),
        env: "",
        meaning: "Run this poller (`run` and `sync`)",
    },
    Key {
        key: "pollers.<stream>.schedule",
        default: DefaultValue::PerStream(&SCHEDULES),
        env: "",
        meaning: "Cron schedule with seconds, UTC; `/readyz` expects a success within twice its interval",
    },
    Key {
        key: "pollers.<stream>.start",
        default: DefaultValue::PerStream(&STARTS),
        env: "",
        meaning: "Users and System Log: where a poller without a cursor starts: `now`, `all`, `-<N>s/m/h/d` or an RFC 3339 time (the directory streams always begin with a full listing)",
    },
    Key {
        key: "pollers.<stream>.page_size",
        default: DefaultValue::PerStream(&PAGE_SIZES),
        env: "",
        meaning: "Records per request (at most 200 for users and apps, 1000 for the System Log and group members, 500 for app users, 10000 for groups)",
    },
    Key {
        key: "pollers.system_log.filter",
        default: DefaultValue::Text("none"),
        env: "",
        meaning: "System Log only: a SCIM filter, e.g. `eventType sw \"user.session\"` (changing it needs `cursor reset system_log`)",
    },
    Key {
        key: "pollers.system_log.q",
        default: DefaultValue::Text("none"),
        env: "",
        meaning: "System Log only: keywords that must all match",
    },
    Key {
        key: "pollers.groups.reconcile",
        default: DefaultValue::Toml("\"0 0 * * * *\""),
        env: "",
        meaning: "When the `groups` run lists every group instead of searching for changes, and tombstones the groups gone from Okta (cron with seconds, UTC)",
    },
    Key {
        key: "pollers.app_users.reconcile",
        default: DefaultValue::Toml("\"0 0 3 * * *\""),
        env: "",
        meaning: "When the `app_users` run re-lists every app's assignments and heals what the System Log did not show (cron with seconds, UTC)",
    },
    Key {
        key: "metrics.listen",
        default: DefaultValue::Text("off"),
        env: "OKTASYNC_METRICS_LISTEN",
        meaning: "Address and port of `/metrics`, `/healthz` and `/readyz` for `oktasync run`, e.g. `127.0.0.1:9464` (`off` disables)",
    },
    Key {
        key: "hook.listen",
        default: DefaultValue::Text("off"),
        env: "OKTASYNC_HOOK_LISTEN",
        meaning: "Address and port of the event hook receiver inside `oktasync run`, e.g. `127.0.0.1:8088` behind a reverse proxy (`off` disables; `hook serve --listen` runs it alone)",
    },
    Key {
        key: "hook.secret_header",
        default: DefaultValue::Toml("\"Authorization\""),
        env: "",
        meaning: "The header Okta sends the hook's shared secret in (`hook register` sets it as the hook's `authScheme`)",
    },
    Key {
        key: "hook.secret_file",
        default: DefaultValue::Text(
            "none: the secrets `hook register` stored in the state database",
        ),
        env: "OKTASYNC_HOOK_SECRET_FILE",
        meaning: "A file holding the shared secret of a hook registered by hand (trimmed), readable only by oktasync",
    },
    Key {
        key: "hook.tls_cert",
        default: DefaultValue::Text("none: plain HTTP, TLS left to a reverse proxy"),
        env: "",
        meaning: "Certificate chain (PEM) for built-in HTTPS; needs `tls_key`",
    },
    Key {
        key: "hook.tls_key",
        default: DefaultValue::Text("none"),
        env: "",
        meaning: "Private key (PEM: PKCS#8, PKCS#1 or SEC1) for built-in HTTPS",
    },
    Key {
        key: "log.format",
        default: DefaultValue::Toml("\"text\""),
        env: "OKTASYNC_LOG_FORMAT",
        meaning: "`text` (coloured on a terminal) or `json` (one object per line); `--log-format` wins",
    },
];

/// The reference as a Markdown table.
pub fn markdown_table() -> String {
    let mut out = String::from("| Key | Default | Environment | Meaning |\n|---|---|---|---|\n");
    for k in KEYS {
        let default = match k.default {
            DefaultValue::Toml(v) => format!("`{v}`"),
            DefaultValue::PerStream(values) => per_stream(values),
            DefaultValue::Text(t) => t.to_owned(),
        };
        let env: Vec<String> = k
            .env
            .split(", ")
            .filter(|e| !e.is_empty())
            .map(|e| format!("`{e}`"))
            .collect();
        out.push_str(&format!(
            "| `{}` | {default} | {} | {} |\n",
            k.key,
            env.join(", "),
            k.meaning
        ));
    }
    out
}

/// Per-stream defaults grouped by value, e.g. `` `200` (users, apps), `1000` (system_log) ``.
fn per_stream(values: &[(&str, &str)]) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for (stream, value) in values {
        match groups.iter_mut().find(|(v, _)| v == value) {
            Some((_, streams)) => streams.push(stream),
            None => groups.push((value, vec![stream])),
        }
    }
    let shown: Vec<String> = groups
        .iter()
        .map(|(value, streams)| {
            let names = streams
                .join(", ")
                .replace("new_users, updated_users", "users");
            format!("`{value}` ({names})")
        })
        .collect();
    shown.join(", ")
}

#[cfg(test)]
mod tests;
