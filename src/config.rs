//! The one `Config`: defaults, then the TOML file, then the environment, validated into typed
//! values at start-up. Every error names the key it is about; secrets print as `[redacted]`.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

mod auth;
mod daemon;
mod hook;
mod key;
pub mod reference;
mod sync;
pub use auth::{ClientAuthMethod, Credentials, DpopMode, POLLER_SCOPES, ServiceApp, WebApp};
pub use daemon::{LogFormat, LogSettings, MetricsSettings};
pub use hook::{DEFAULT_SECRET_HEADER, HookSettings, TlsFiles, parse_listen};
pub use key::SigningKey;
pub use sync::{DEFAULT_RECONCILE, PollerSettings, RunHistory, STREAMS, StartAt, SyncSettings};

/// Where the config file is looked for when `--config` is not given, in order.
pub const DEFAULT_CONFIG_PATHS: [&str; 2] = ["oktasync.toml", "/etc/oktasync/oktasync.toml"];

/// The example shown whenever a domain is rejected.
const DOMAIN_FORM: &str = "give the Okta domain as Okta shows it, e.g. dev-12345.okta.com, \
     acme.oktapreview.com or login.acme.com (https://… is accepted too)";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{key}: {problem}")]
    Invalid { key: String, problem: String },
    #[error("{key} is not set: {hint}")]
    Missing { key: String, hint: String },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
}

pub(crate) fn invalid(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        problem: problem.into(),
    }
}

/// Turns a domain as people paste it into the org's base URL (`https://host[:port]`).
///
/// Accepts `dev-12345.okta.com`, `https://dev-12345.okta.com/`, admin-console hosts
/// (`dev-12345-admin.okta.com` → `dev-12345.okta.com`), and plain `http://` for loopback only.
pub fn parse_org_url(input: &str) -> Result<Url, ConfigError> {
    const KEY: &str = "okta.domain";
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(invalid(KEY, format!("it is empty; {DOMAIN_FORM}")));
    }
    if trimmed.chars().any(char::is_whitespace) {
        return Err(invalid(
            KEY,
            format!("{trimmed:?} contains spaces; {DOMAIN_FORM}"),
        ));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("https://{trimmed}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| {
        invalid(
            KEY,
            format!("{trimmed:?} is not a domain ({e}); {DOMAIN_FORM}"),
        )
    })?;
    let host = url
        .host_str()
        .ok_or_else(|| invalid(KEY, format!("{trimmed:?} has no host; {DOMAIN_FORM}")))?;
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            KEY,
            format!("{trimmed:?} has a path or query; {DOMAIN_FORM}"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            KEY,
            format!("user info is not allowed; {DOMAIN_FORM}"),
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(invalid(
                KEY,
                format!(
                    "plain http:// is only allowed for loopback hosts (the simulator); \
                     use https://{host}"
                ),
            ));
        }
        other => {
            return Err(invalid(
                KEY,
                format!("scheme {other}:// is not supported; {DOMAIN_FORM}"),
            ));
        }
    }
    let host = admin_to_org_host(host);
    let mut base = format!("{}://{host}", url.scheme());
    if let Some(port) = url.port() {
        base.push_str(&format!(":{port}"));
    }
    Url::parse(&base).map_err(|e| invalid(KEY, e.to_string()))
}

/// True for `localhost` and loopback IP literals.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The Admin Console lives at `<org>-admin.okta.com`; the API at `<org>.okta.com`.
fn admin_to_org_host(host: &str) -> String {
    let lower = host.to_ascii_lowercase();
    for suffix in [
        ".okta.com",
        ".oktapreview.com",
        ".okta-emea.com",
        ".okta-gov.com",
    ] {
        if let Some(org) = lower
            .strip_suffix(suffix)
            .and_then(|h| h.strip_suffix("-admin"))
        {
            return format!("{org}{suffix}");
        }
    }
    lower
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    okta: auth::OktaSection,
    #[serde(default)]
    sync: sync::SyncSection,
    #[serde(default)]
    pollers: std::collections::BTreeMap<String, sync::PollerSection>,
    #[serde(default)]
    metrics: daemon::MetricsSection,
    #[serde(default)]
    log: daemon::LogSection,
    #[serde(default)]
    hook: hook::HookSection,
}

/// Validated connection settings for the Okta client.
#[derive(Debug, Clone)]
pub struct OktaSettings {
    pub org: Url,
    pub credentials: Credentials,
    /// Share of each rate-limit bucket this process may use; the rest is left to others.
    pub rate_limit_share: f64,
    pub request_timeout: Duration,
    /// Retries after a 429, a 5xx or a network error, per request.
    pub max_retries: usize,
}

/// Everything oktasync is configured with.
#[derive(Debug)]
pub struct Config {
    /// Absent domain or token is only an error for commands that talk to Okta.
    okta: Result<OktaSettings, ConfigError>,
    pub sync: SyncSettings,
    pub metrics: MetricsSettings,
    pub log: LogSettings,
    pub hook: HookSettings,
}

/// Reads environment variables; tests pass a closure instead of the process environment.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

impl Config {
    /// Loads `path` (or the first default path that exists), then applies the environment.
    pub fn load(path: Option<&Path>, env: Env) -> Result<Config, ConfigError> {
        let file = match path {
            Some(p) => read_file(p)?,
            None => match DEFAULT_CONFIG_PATHS
                .iter()
                .map(Path::new)
                .find(|p| p.exists())
            {
                Some(p) => read_file(p)?,
                None => FileConfig::default(),
            },
        };
        let sync = sync::sync_settings(file.sync, file.pollers, env)?;
        let enabled: Vec<&str> = sync
            .pollers
            .iter()
            .filter(|p| p.enabled)
            .map(|p| p.stream)
            .collect();
        let okta = match okta_settings(file.okta, env, &auth::default_scopes(&enabled)) {
            Err(e @ ConfigError::Missing { .. }) => Err(e),
            other => Ok(other?),
        };
        Ok(Config {
            okta,
            sync,
            metrics: daemon::metrics_settings(file.metrics, env)?,
            log: daemon::log_settings(file.log, env)?,
            hook: hook::hook_settings(file.hook, env)?,
        })
    }

    /// The connection settings, or what is missing to talk to Okta.
    pub fn okta(&self) -> Result<&OktaSettings, &ConfigError> {
        self.okta.as_ref()
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

fn okta_settings(
    file: auth::OktaSection,
    env: Env,
    default_scopes: &[&str],
) -> Result<OktaSettings, ConfigError> {
    let domain =
        env("OKTA_DOMAIN")
            .or(file.domain.clone())
            .ok_or_else(|| ConfigError::Missing {
                key: "okta.domain".into(),
                hint: "set OKTA_DOMAIN or domain under [okta] in the config file".into(),
            })?;
    let share = match env("OKTASYNC_RATE_LIMIT_SHARE") {
        Some(v) => parse_num("OKTASYNC_RATE_LIMIT_SHARE", &v)?,
        None => file.rate_limit_share.unwrap_or(0.5),
    };
    if !(share > 0.0 && share <= 1.0) {
        return Err(invalid(
            "okta.rate_limit_share",
            format!(
                "{share} is outside (0, 1]; 0.5 leaves half of each bucket to other integrations"
            ),
        ));
    }
    let org = parse_org_url(&domain)?;
    let request_timeout = Duration::from_secs(file.request_timeout_secs.unwrap_or(30));
    let max_retries = file.max_retries.unwrap_or(4);
    Ok(OktaSettings {
        org,
        credentials: auth::credentials(file, env, default_scopes)?,
        rate_limit_share: share,
        request_timeout,
        max_retries,
    })
}

fn parse_num<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(key, format!("{value:?} is not a number")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn domains_as_people_paste_them_become_https_base_urls() {
        for (input, want) in [
            ("dev-12345.okta.com", "https://dev-12345.okta.com/"),
            ("  dev-12345.okta.com  ", "https://dev-12345.okta.com/"),
            ("dev-12345.okta.com/", "https://dev-12345.okta.com/"),
            ("https://dev-12345.okta.com", "https://dev-12345.okta.com/"),
            ("https://dev-12345.okta.com/", "https://dev-12345.okta.com/"),
            ("acme.oktapreview.com", "https://acme.oktapreview.com/"),
            ("login.acme.com", "https://login.acme.com/"),
            ("Dev-12345.OKTA.com", "https://dev-12345.okta.com/"),
            ("dev-12345-admin.okta.com", "https://dev-12345.okta.com/"),
            (
                "https://acme-admin.oktapreview.com/",
                "https://acme.oktapreview.com/",
            ),
            ("http://127.0.0.1:8089", "http://127.0.0.1:8089/"),
            ("http://localhost:8089/", "http://localhost:8089/"),
            ("http://[::1]:8089", "http://[::1]:8089/"),
        ] {
            let got = parse_org_url(input).map(|u| u.to_string());
            assert_eq!(got.ok().as_deref(), Some(want), "input {input:?}");
        }
    }

    #[test]
    fn bad_domains_are_rejected_with_the_expected_form() {
        for (input, needle) in [
            ("", "empty"),
            ("dev 12345.okta.com", "spaces"),
            ("dev-12345.okta.com/admin", "path"),
            ("https://dev-12345.okta.com/api/v1", "path"),
            ("https://dev-12345.okta.com?x=1", "path or query"),
            ("http://dev-12345.okta.com", "only allowed for loopback"),
            ("http://10.0.0.5:8089", "only allowed for loopback"),
            ("ftp://dev-12345.okta.com", "not supported"),
            ("https://user:pw@dev-12345.okta.com", "user info"),
        ] {
            let err = parse_org_url(input).expect_err(input).to_string();
            assert!(err.contains(needle), "{input:?}: {err}");
            assert!(err.starts_with("okta.domain"), "{input:?}: {err}");
        }
    }

    fn api_token_of(config: &Config) -> &str {
        match &config.okta().unwrap().credentials {
            Credentials::ApiToken(t) => t.expose_secret(),
            other => panic!("expected an API token, got {}", other.kind()),
        }
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn environment_overrides_the_config_file_and_token_stays_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oktasync.toml");
        std::fs::write(
            &path,
            "[okta]\ndomain = \"a.okta.com\"\napi_token = \"file-secret\"\n",
        )
        .unwrap();
        let env = env_of(&[
            ("OKTA_DOMAIN", "b.okta.com"),
            ("OKTA_API_TOKEN", "env-secret"),
        ]);
        let config = Config::load(Some(&path), &env).unwrap();
        assert_eq!(config.okta().unwrap().org.as_str(), "https://b.okta.com/");
        assert_eq!(api_token_of(&config), "env-secret");
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("env-secret") && debug.contains("REDACTED"),
            "{debug}"
        );
    }

    #[test]
    fn token_file_is_read_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "from-file\n").unwrap();
        let config_path = dir.path().join("c.toml");
        let body = format!(
            "[okta]\ndomain = \"a.okta.com\"\napi_token_file = {:?}\n",
            token
        );
        std::fs::write(&config_path, body).unwrap();
        let config = Config::load(Some(&config_path), &env_of(&[])).unwrap();
        assert_eq!(api_token_of(&config), "from-file");
    }

    #[test]
    fn config_errors_name_the_key_that_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[okta]\ndomian = \"a.okta.com\"\n").unwrap();
        let err = Config::load(Some(&path), &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("domian"), "{err}");

        std::fs::write(
            &path,
            "[okta]\ndomain = \"a.okta.com\"\nrate_limit_share = 1.5\n",
        )
        .unwrap();
        let err = Config::load(Some(&path), &env_of(&[("OKTA_API_TOKEN", "t")])).unwrap_err();
        assert!(
            err.to_string().starts_with("okta.rate_limit_share"),
            "{err}"
        );

        std::fs::write(&path, "[okta]\ndomain = \"a.okta.com\"\n").unwrap();
        let config = Config::load(Some(&path), &env_of(&[])).unwrap();
        let err = config.okta().unwrap_err().to_string();
        assert!(
            err.contains("okta.api_token") && err.contains("OKTA_API_TOKEN"),
            "{err}"
        );
    }

    #[test]
    fn the_shipped_example_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/oktasync.toml");
        let config = Config::load(Some(&path), &env_of(&[("OKTA_API_TOKEN", "t")])).unwrap();
        assert_eq!(
            config.okta().unwrap().org.as_str(),
            "https://dev-12345.okta.com/"
        );
        assert_eq!(config.sync.sinks.len(), 2);
        assert_eq!(
            config.sync.poller("system_log").unwrap().schedule,
            "*/30 * * * * *"
        );
        assert_eq!(config.sync.reconcile.as_deref(), Some("0 0 3 * * *"));
        assert_eq!(
            (
                config.sync.run_history.keep,
                config.sync.run_history.keep_days
            ),
            (1000, 30)
        );
    }
}
