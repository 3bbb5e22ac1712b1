//! How oktasync authenticates to the org: an SSWS API token, an OAuth 2.0 service app (client
//! credentials with `private_key_jwt`, DPoP when Okta asks), or an OAuth 2.0 web app
//! (authorization code with PKCE, refresh tokens kept in the state database). Each connection's
//! settings are checked here, so a bad combination is refused at start with the key to fix.

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

use super::key::SigningKey;
use super::{ConfigError, Env, invalid};

/// The `[okta]` section: the org, the connection and how the client paces itself.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OktaSection {
    pub domain: Option<String>,
    pub rate_limit_share: Option<f64>,
    pub request_timeout_secs: Option<u64>,
    pub max_retries: Option<usize>,
    pub auth: Option<String>,
    pub api_token: Option<SecretString>,
    pub api_token_file: Option<PathBuf>,
    pub client_id: Option<String>,
    pub private_key: Option<SecretString>,
    pub private_key_file: Option<PathBuf>,
    pub key_id: Option<String>,
    pub scopes: Option<String>,
    pub dpop: Option<String>,
    pub client_secret: Option<SecretString>,
    pub client_secret_file: Option<PathBuf>,
    pub token_endpoint_auth_method: Option<String>,
    pub redirect_port: Option<u16>,
}

/// When to bind tokens to a DPoP key (RFC 9449).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DpopMode {
    /// Only once Okta says the app requires it (then for the rest of the process).
    Auto,
    Always,
    Never,
}

/// How a web app proves itself at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthMethod {
    /// `Authorization: Basic` with the client id and secret.
    SecretBasic,
    /// The client id and secret as form fields.
    SecretPost,
    /// A public client: the client id only (PKCE protects the code).
    None,
}

/// An OAuth 2.0 service app (client credentials).
#[derive(Debug, Clone)]
pub struct ServiceApp {
    pub client_id: String,
    pub key: SigningKey,
    pub scopes: Vec<String>,
    pub dpop: DpopMode,
}

/// An OAuth 2.0 web or native app (authorization code with PKCE).
#[derive(Debug, Clone)]
pub struct WebApp {
    pub client_id: String,
    pub client_secret: Option<SecretString>,
    pub auth_method: ClientAuthMethod,
    pub scopes: Vec<String>,
    pub dpop: DpopMode,
    /// The loopback port of the redirect URI `http://127.0.0.1:<port>/callback`.
    pub redirect_port: u16,
}

/// The connection to the org.
#[derive(Debug, Clone)]
pub enum Credentials {
    ApiToken(SecretString),
    ClientCredentials(ServiceApp),
    AuthorizationCode(WebApp),
}

impl Credentials {
    /// The `auth` value this connection is configured with.
    pub fn kind(&self) -> &'static str {
        match self {
            Credentials::ApiToken(_) => "api_token",
            Credentials::ClientCredentials(_) => "client_credentials",
            Credentials::AuthorizationCode(_) => "authorization_code",
        }
    }
}

/// The scopes the pollers read with: users, the System Log, groups and apps.
pub const POLLER_SCOPES: [&str; 4] = [
    "okta.users.read",
    "okta.logs.read",
    "okta.groups.read",
    "okta.apps.read",
];

/// The scopes a poller reads with (`app_users` follows assignment events in the System Log).
pub fn poller_scopes(stream: &str) -> &'static [&'static str] {
    match stream {
        "system_log" => &["okta.logs.read"],
        "groups" | "group_members" => &["okta.groups.read"],
        "apps" => &["okta.apps.read"],
        "app_users" => &["okta.apps.read", "okta.logs.read"],
        _ => &["okta.users.read"],
    }
}

/// The scopes asked for when `okta.scopes` is not set: those of the enabled pollers (all of
/// them when none is enabled), so a disabled poller's scope need not be granted.
pub fn default_scopes(enabled: &[&str]) -> Vec<&'static str> {
    let needed: Vec<&str> = enabled
        .iter()
        .flat_map(|s| poller_scopes(s))
        .copied()
        .collect();
    let scopes: Vec<&'static str> = POLLER_SCOPES
        .into_iter()
        .filter(|s| needed.contains(s))
        .collect();
    if scopes.is_empty() {
        POLLER_SCOPES.to_vec()
    } else {
        scopes
    }
}

pub(super) fn credentials(
    section: OktaSection,
    env: Env,
    defaults: &[&str],
) -> Result<Credentials, ConfigError> {
    let kind = env("OKTA_AUTH").or(section.auth.clone());
    match kind.as_deref().map(str::trim).unwrap_or("api_token") {
        "api_token" => Ok(Credentials::ApiToken(api_token(
            env,
            env("OKTA_API_TOKEN_FILE")
                .map(PathBuf::from)
                .or(section.api_token_file),
            section.api_token,
        )?)),
        "client_credentials" => {
            service_app(section, env, defaults).map(Credentials::ClientCredentials)
        }
        "authorization_code" => web_app(section, env, defaults).map(Credentials::AuthorizationCode),
        other => Err(invalid(
            "okta.auth",
            format!("{other:?} is not one of api_token, client_credentials, authorization_code"),
        )),
    }
}

fn client_id(section: &OktaSection, env: Env) -> Result<String, ConfigError> {
    env("OKTA_CLIENT_ID")
        .or(section.client_id.clone())
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ConfigError::Missing {
            key: "okta.client_id".into(),
            hint: "set OKTA_CLIENT_ID or client_id under [okta]: the Client ID on the app's \
                   General tab in the Admin Console"
                .into(),
        })
}

fn service_app(
    section: OktaSection,
    env: Env,
    defaults: &[&str],
) -> Result<ServiceApp, ConfigError> {
    let client_id = client_id(&section, env)?;
    let file = env("OKTA_PRIVATE_KEY_FILE")
        .map(PathBuf::from)
        .or(section.private_key_file);
    let (key_name, pem) = match (file, section.private_key) {
        (Some(path), _) => (
            "okta.private_key_file",
            read_secret("okta.private_key_file", &path)?,
        ),
        (None, Some(inline)) => ("okta.private_key", inline),
        (None, None) => match credential(env, "okta-private-key") {
            Some(path) => (
                "okta.private_key_file",
                read_secret("okta.private_key_file", &path)?,
            ),
            None => {
                return Err(invalid(
                    "okta.private_key_file",
                    "client_credentials needs the app's private key: set OKTA_PRIVATE_KEY_FILE, \
                     private_key_file or private_key under [okta], or the systemd credential \
                     okta-private-key",
                ));
            }
        },
    };
    let key_id = env("OKTA_KEY_ID")
        .or(section.key_id)
        .filter(|k| !k.trim().is_empty());
    let key = SigningKey::from_pem(secrecy::ExposeSecret::expose_secret(&pem), key_id)
        .map_err(|problem| invalid(key_name, problem))?;
    Ok(ServiceApp {
        client_id,
        key,
        scopes: scopes(env, section.scopes, defaults)?,
        dpop: dpop_mode(env, section.dpop)?,
    })
}

fn web_app(section: OktaSection, env: Env, defaults: &[&str]) -> Result<WebApp, ConfigError> {
    let client_id = client_id(&section, env)?;
    let secret_file = env("OKTA_CLIENT_SECRET_FILE")
        .map(PathBuf::from)
        .or(section.client_secret_file)
        .or_else(|| {
            section
                .client_secret
                .is_none()
                .then(|| credential(env, "okta-client-secret"))
                .flatten()
        });
    let client_secret = match secret_file {
        Some(path) => Some(read_secret("okta.client_secret_file", &path)?),
        None => env("OKTA_CLIENT_SECRET")
            .map(SecretString::from)
            .or(section.client_secret),
    };
    let auth_method = match section.token_endpoint_auth_method.as_deref() {
        None if client_secret.is_some() => ClientAuthMethod::SecretBasic,
        None | Some("none") => ClientAuthMethod::None,
        Some("client_secret_basic") => ClientAuthMethod::SecretBasic,
        Some("client_secret_post") => ClientAuthMethod::SecretPost,
        Some(other) => {
            return Err(invalid(
                "okta.token_endpoint_auth_method",
                format!("{other:?} is not one of client_secret_basic, client_secret_post, none"),
            ));
        }
    };
    if auth_method != ClientAuthMethod::None && client_secret.is_none() {
        return Err(invalid(
            "okta.client_secret_file",
            "the app authenticates with a client secret: set OKTA_CLIENT_SECRET_FILE, \
             client_secret_file or client_secret under [okta], or the systemd credential \
             okta-client-secret (the Client Secret on the app's General tab)",
        ));
    }
    let mut default_scopes = defaults.to_vec();
    default_scopes.push("offline_access");
    let redirect_port = section.redirect_port.unwrap_or(8765);
    if redirect_port == 0 {
        return Err(invalid(
            "okta.redirect_port",
            "0 is not a port; use the one in the app's sign-in redirect URI",
        ));
    }
    Ok(WebApp {
        client_id,
        client_secret,
        auth_method,
        scopes: scopes(env, section.scopes, &default_scopes)?,
        dpop: dpop_mode(env, section.dpop)?,
        redirect_port,
    })
}

/// Scopes as Okta shows them: names separated by spaces.
fn scopes(
    env: Env,
    configured: Option<String>,
    default: &[&str],
) -> Result<Vec<String>, ConfigError> {
    let Some(text) = env("OKTA_SCOPES").or(configured) else {
        return Ok(default.iter().map(|s| s.to_string()).collect());
    };
    let list: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    if list.is_empty() {
        return Err(invalid(
            "okta.scopes",
            "it is empty; list the scopes granted on the app's \"Okta API Scopes\" tab, \
             separated by spaces, e.g. \"okta.users.read okta.logs.read\"",
        ));
    }
    if let Some(bad) = list.iter().find(|s| {
        !s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._:-/".contains(c))
    }) {
        return Err(invalid(
            "okta.scopes",
            format!(
                "{bad:?} is not a scope name{}; separate scopes with spaces exactly as Okta shows \
                 them, e.g. \"okta.users.read okta.logs.read\"",
                if bad.contains(',') {
                    " (it has a comma)"
                } else {
                    ""
                }
            ),
        ));
    }
    Ok(list)
}

fn dpop_mode(env: Env, configured: Option<String>) -> Result<DpopMode, ConfigError> {
    match env("OKTA_DPOP").or(configured).as_deref().map(str::trim) {
        None | Some("auto") => Ok(DpopMode::Auto),
        Some("always") => Ok(DpopMode::Always),
        Some("never") => Ok(DpopMode::Never),
        Some(other) => Err(invalid(
            "okta.dpop",
            format!("{other:?} is not one of auto, always, never"),
        )),
    }
}

/// A systemd credential of this name, when the service was given one.
fn credential(env: Env, name: &str) -> Option<PathBuf> {
    env("CREDENTIALS_DIRECTORY")
        .map(|dir| Path::new(&dir).join(name))
        .filter(|p| p.exists())
}

/// A secret file's contents, trimmed; an empty file is an error.
fn read_secret(key: &str, path: &Path) -> Result<SecretString, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    if text.trim().is_empty() {
        return Err(invalid(key, format!("{} is empty", path.display())));
    }
    Ok(SecretString::from(text.trim().to_owned()))
}

/// The API token: `OKTA_API_TOKEN`, else a token file, else the config value, else the systemd
/// credential `okta-api-token`. Never taken from the command line.
fn api_token(
    env: Env,
    file: Option<PathBuf>,
    inline: Option<SecretString>,
) -> Result<SecretString, ConfigError> {
    if let Some(token) = env("OKTA_API_TOKEN").filter(|t| !t.trim().is_empty()) {
        return Ok(SecretString::from(token.trim().to_owned()));
    }
    let credential = env("CREDENTIALS_DIRECTORY")
        .map(|dir| Path::new(&dir).join("okta-api-token"))
        .filter(|p| p.exists());
    if let Some(path) = file.or_else(|| inline.is_none().then_some(credential).flatten()) {
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        if text.trim().is_empty() {
            return Err(invalid(
                "okta.api_token_file",
                format!("{} is empty", path.display()),
            ));
        }
        return Ok(SecretString::from(text.trim().to_owned()));
    }
    inline.ok_or_else(|| ConfigError::Missing {
        key: "okta.api_token".into(),
        hint: "set OKTA_API_TOKEN, OKTA_API_TOKEN_FILE, or api_token_file under [okta]".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oauth")
    }

    /// Loads `[okta]` with `body` and the given environment.
    fn load(body: &str, env: &[(&str, &str)]) -> Result<Credentials, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, format!("[okta]\ndomain = \"a.okta.com\"\n{body}")).unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let config = Config::load(Some(&path), &lookup).map_err(|e| e.to_string())?;
        config
            .okta()
            .map(|s| s.credentials.clone())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_service_app_reads_its_key_file_and_defaults_to_the_pollers_scopes() {
        let key = fixtures().join("rsa-pkcs1.pem");
        let body = format!(
            "auth = \"client_credentials\"\nclient_id = \"0oa1\"\nprivate_key_file = {key:?}\nkey_id = \"kid1\"\n"
        );
        let Ok(Credentials::ClientCredentials(app)) = load(&body, &[]) else {
            panic!("a service app");
        };
        assert_eq!(app.client_id, "0oa1");
        assert_eq!(app.key.key_id.as_deref(), Some("kid1"));
        assert_eq!(
            app.scopes,
            [
                "okta.users.read",
                "okta.logs.read",
                "okta.groups.read",
                "okta.apps.read"
            ]
        );
        assert_eq!(app.dpop, DpopMode::Auto);
        let shown = format!("{app:?}");
        assert!(!shown.contains("MII"), "{shown}");
    }

    #[test]
    fn a_disabled_pollers_scope_is_not_asked_for_by_default() {
        let key = fixtures().join("rsa-pkcs1.pem");
        let off = ["groups", "group_members", "apps"]
            .map(|s| format!("[pollers.{s}]\nenabled = false\n"))
            .concat();
        let body = format!(
            "auth = \"client_credentials\"\nclient_id = \"0oa1\"\nprivate_key_file = {key:?}\n{off}"
        );
        let Ok(Credentials::ClientCredentials(app)) = load(&body, &[]) else {
            panic!("a service app");
        };
        assert_eq!(
            app.scopes,
            ["okta.users.read", "okta.logs.read", "okta.apps.read"],
            "app_users still runs, so okta.apps.read stays"
        );
        let off = ["system_log", "groups", "group_members", "apps", "app_users"]
            .map(|s| format!("[pollers.{s}]\nenabled = false\n"))
            .concat();
        let body = format!(
            "auth = \"client_credentials\"\nclient_id = \"0oa1\"\nprivate_key_file = {key:?}\n{off}"
        );
        let Ok(Credentials::ClientCredentials(app)) = load(&body, &[]) else {
            panic!("a service app");
        };
        assert_eq!(app.scopes, ["okta.users.read"]);
    }

    #[test]
    fn the_environment_chooses_the_connection_and_its_settings() {
        let key = fixtures().join("ec-p256-pkcs8.pem");
        let key = key.to_str().unwrap();
        let env = [
            ("OKTA_AUTH", "client_credentials"),
            ("OKTA_CLIENT_ID", "0oa2"),
            ("OKTA_PRIVATE_KEY_FILE", key),
            ("OKTA_SCOPES", "okta.users.manage  okta.logs.read"),
            ("OKTA_DPOP", "always"),
        ];
        let Ok(Credentials::ClientCredentials(app)) = load("", &env) else {
            panic!("a service app from the environment");
        };
        assert_eq!(app.scopes, ["okta.users.manage", "okta.logs.read"]);
        assert_eq!(app.dpop, DpopMode::Always);
    }

    #[test]
    fn a_web_app_uses_basic_authentication_when_it_has_a_secret() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cret\n").unwrap();
        let body = format!(
            "auth = \"authorization_code\"\nclient_id = \"0oa3\"\nclient_secret_file = {secret:?}\n"
        );
        let Ok(Credentials::AuthorizationCode(app)) = load(&body, &[]) else {
            panic!("a web app");
        };
        assert_eq!(app.auth_method, ClientAuthMethod::SecretBasic);
        assert_eq!(app.redirect_port, 8765);
        assert!(app.scopes.contains(&"offline_access".to_owned()));
        let public = load("auth = \"authorization_code\"\nclient_id = \"0oa4\"\n", &[]);
        let Ok(Credentials::AuthorizationCode(app)) = public else {
            panic!("a public client");
        };
        assert_eq!(app.auth_method, ClientAuthMethod::None);
    }

    #[test]
    fn bad_combinations_are_refused_with_the_key_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("key.txt");
        std::fs::write(&not_pem, "hello").unwrap();
        let rsa = fixtures().join("rsa-pkcs1.pem");
        let cc = "auth = \"client_credentials\"\nclient_id = \"0oa1\"\n";
        for (body, want) in [
            ("auth = \"oauth\"\n".to_owned(), "okta.auth: \"oauth\" is not one of"),
            (cc.to_owned(), "okta.private_key_file: client_credentials needs"),
            (
                format!("{cc}private_key_file = {not_pem:?}\n"),
                "okta.private_key_file: this is not a PEM key",
            ),
            (
                format!("{cc}private_key_file = {rsa:?}\nscopes = \"okta.users.read,okta.logs.read\"\n"),
                "(it has a comma); separate scopes with spaces",
            ),
            (
                format!("{cc}private_key_file = {rsa:?}\ndpop = \"yes\"\n"),
                "okta.dpop: \"yes\" is not one of auto, always, never",
            ),
            (
                "auth = \"client_credentials\"\n".to_owned(),
                "okta.client_id is not set",
            ),
            (
                "auth = \"authorization_code\"\nclient_id = \"x\"\ntoken_endpoint_auth_method = \"client_secret_post\"\n".to_owned(),
                "okta.client_secret_file: the app authenticates with a client secret",
            ),
        ] {
            let err = load(&body, &[]).expect_err(&body);
            assert!(err.contains(want), "{body}\n→ {err}");
        }
    }

    #[test]
    fn the_example_config_of_each_connection_is_valid() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s").unwrap();
        let key = fixtures().join("rsa-pkcs1.pem");
        let files = [
            ("OKTA_API_TOKEN", "t".to_owned()),
            ("OKTA_PRIVATE_KEY_FILE", key.display().to_string()),
            ("OKTA_CLIENT_SECRET_FILE", secret.display().to_string()),
        ];
        let lookup = |k: &str| files.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        for (name, kind) in [
            ("api-token", "api_token"),
            ("client-credentials", "client_credentials"),
            ("authorization-code", "authorization_code"),
        ] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples/config")
                .join(format!("{name}.toml"));
            let config =
                Config::load(Some(&path), &lookup).unwrap_or_else(|e| panic!("{name}: {e}"));
            let creds = &config
                .okta()
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .credentials;
            assert_eq!(creds.kind(), kind, "{name}");
        }
    }
}
