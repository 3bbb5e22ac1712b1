//! The `[hook]` section: where the event hook receiver listens (off unless set), which header
//! carries the shared secret, an optional secret of a hook registered by hand, and optional
//! built-in TLS.

use std::net::SocketAddr;
use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use super::{ConfigError, Env, invalid};

/// The header Okta sends the shared secret in, unless configured otherwise.
pub const DEFAULT_SECRET_HEADER: &str = "Authorization";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HookSection {
    listen: Option<String>,
    secret_header: Option<String>,
    secret_file: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
}

/// Certificate chain and private key files (PEM) for built-in TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The receiver's settings.
#[derive(Debug, Clone)]
pub struct HookSettings {
    /// `None`: no receiver in `oktasync run`.
    pub listen: Option<SocketAddr>,
    /// The header that carries the shared secret, e.g. `Authorization`.
    pub secret_header: String,
    /// A secret given by file (a hook registered by hand); `hook register` keeps its own in
    /// the state database.
    pub secret: Option<SecretString>,
    /// Serve HTTPS itself instead of behind a reverse proxy.
    pub tls: Option<TlsFiles>,
}

impl Default for HookSettings {
    fn default() -> HookSettings {
        HookSettings {
            listen: None,
            secret_header: DEFAULT_SECRET_HEADER.into(),
            secret: None,
            tls: None,
        }
    }
}

pub(super) fn hook_settings(section: HookSection, env: Env) -> Result<HookSettings, ConfigError> {
    let (key, value) = match env("OKTASYNC_HOOK_LISTEN") {
        Some(v) => ("OKTASYNC_HOOK_LISTEN", Some(v)),
        None => ("hook.listen", section.listen),
    };
    let listen = match value.as_deref().map(str::trim) {
        None | Some("" | "off") => None,
        Some(text) => Some(parse_listen(key, text)?),
    };
    let secret_header = section
        .secret_header
        .unwrap_or_else(|| DEFAULT_SECRET_HEADER.into());
    check_header_name(&secret_header)?;
    let (key, file) = match env("OKTASYNC_HOOK_SECRET_FILE") {
        Some(v) => ("OKTASYNC_HOOK_SECRET_FILE", Some(PathBuf::from(v))),
        None => ("hook.secret_file", section.secret_file),
    };
    let secret = file.map(|path| read_secret(key, &path)).transpose()?;
    let tls = match (section.tls_cert, section.tls_key) {
        (None, None) => None,
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (Some(_), None) => {
            return Err(invalid(
                "hook.tls_key",
                "tls_cert is set but tls_key is not: give both, or neither to leave TLS to a reverse proxy",
            ));
        }
        (None, Some(_)) => {
            return Err(invalid(
                "hook.tls_cert",
                "tls_key is set but tls_cert is not: give both, or neither to leave TLS to a reverse proxy",
            ));
        }
    };
    Ok(HookSettings {
        listen,
        secret_header,
        secret,
        tls,
    })
}

/// An address and port, as `hook.listen` or `hook serve --listen` takes it.
pub fn parse_listen(key: &str, text: &str) -> Result<SocketAddr, ConfigError> {
    text.trim().parse::<SocketAddr>().map_err(|_| {
        invalid(
            key,
            format!("{text:?} is not an address and port like 127.0.0.1:8088 or [::1]:8088"),
        )
    })
}

fn check_header_name(name: &str) -> Result<(), ConfigError> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(invalid(
            "hook.secret_header",
            format!("{name:?} is not an HTTP header name like Authorization or X-Okta-Secret"),
        ));
    }
    Ok(())
}

fn read_secret(key: &str, path: &std::path::Path) -> Result<SecretString, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        invalid(
            key,
            format!(
                "cannot read {}: {e}; check the path and that oktasync may read it",
                path.display()
            ),
        )
    })?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(invalid(
            key,
            format!(
                "{} is empty: put the hook's shared secret in it",
                path.display()
            ),
        ));
    }
    Ok(SecretString::from(secret.to_owned()))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_receiver_is_off_by_default_and_listens_where_told() {
        let off = hook_settings(HookSection::default(), &none).unwrap();
        assert_eq!(
            (off.listen, off.secret_header.as_str()),
            (None, "Authorization")
        );
        let section = HookSection {
            listen: Some("127.0.0.1:8088".into()),
            ..HookSection::default()
        };
        let on = hook_settings(section, &none).unwrap();
        assert_eq!(on.listen, Some("127.0.0.1:8088".parse().unwrap()));
        let env = |k: &str| (k == "OKTASYNC_HOOK_LISTEN").then(|| "off".to_owned());
        let section = HookSection {
            listen: Some("127.0.0.1:8088".into()),
            ..HookSection::default()
        };
        assert_eq!(hook_settings(section, &env).unwrap().listen, None);
    }

    #[test]
    fn bad_values_are_refused_with_the_key_to_fix() {
        let cases = [
            (
                HookSection {
                    listen: Some("hooks.example.com".into()),
                    ..HookSection::default()
                },
                "hook.listen: \"hooks.example.com\" is not an address",
            ),
            (
                HookSection {
                    secret_header: Some("X Secret".into()),
                    ..HookSection::default()
                },
                "hook.secret_header: \"X Secret\"",
            ),
            (
                HookSection {
                    tls_cert: Some("cert.pem".into()),
                    ..HookSection::default()
                },
                "hook.tls_key: tls_cert is set",
            ),
            (
                HookSection {
                    secret_file: Some("/nonexistent/secret".into()),
                    ..HookSection::default()
                },
                "hook.secret_file: cannot read /nonexistent/secret",
            ),
        ];
        for (section, expected) in cases {
            let err = hook_settings(section, &none).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{err}");
        }
    }

    #[test]
    fn a_secret_file_is_read_trimmed_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "hook-secret-123\n").unwrap();
        let section = HookSection {
            secret_file: Some(path),
            ..HookSection::default()
        };
        let settings = hook_settings(section, &none).unwrap();
        let secret = settings.secret.as_ref().unwrap();
        assert_eq!(secret.expose_secret(), "hook-secret-123");
        assert!(!format!("{settings:?}").contains("hook-secret-123"));
        std::fs::write(dir.path().join("empty"), "\n").unwrap();
        let section = HookSection {
            secret_file: Some(dir.path().join("empty")),
            ..HookSection::default()
        };
        let err = hook_settings(section, &none).unwrap_err().to_string();
        assert!(err.contains("is empty"), "{err}");
    }
}
