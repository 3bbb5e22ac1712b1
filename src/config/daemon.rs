//! The `[metrics]` and `[log]` sections: where the metrics and health endpoints listen (off
//! unless set), and how log lines are written.

use std::net::SocketAddr;

use serde::Deserialize;

use super::{ConfigError, Env, invalid};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MetricsSection {
    listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LogSection {
    format: Option<String>,
}

/// Where `/metrics`, `/healthz` and `/readyz` are served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSettings {
    /// `None`: no listener.
    pub listen: Option<SocketAddr>,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    // Human-readable lines, coloured on a terminal (plain comments: no per-value help lines).
    #[default]
    Text,
    // One JSON object per line, for log shippers.
    Json,
}

/// The `[log]` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSettings {
    pub format: LogFormat,
}

pub(super) fn metrics_settings(
    section: MetricsSection,
    env: Env,
) -> Result<MetricsSettings, ConfigError> {
    let (key, value) = match env("OKTASYNC_METRICS_LISTEN") {
        Some(v) => ("OKTASYNC_METRICS_LISTEN", Some(v)),
        None => ("metrics.listen", section.listen),
    };
    let listen = match value.as_deref().map(str::trim) {
        None | Some("" | "off") => None,
        Some(text) => Some(text.parse::<SocketAddr>().map_err(|_| {
            invalid(
                key,
                format!("{text:?} is not an address and port like 127.0.0.1:9464 or [::1]:9464"),
            )
        })?),
    };
    Ok(MetricsSettings { listen })
}

pub(super) fn log_settings(section: LogSection, env: Env) -> Result<LogSettings, ConfigError> {
    let (key, value) = match env("OKTASYNC_LOG_FORMAT") {
        Some(v) => ("OKTASYNC_LOG_FORMAT", Some(v)),
        None => ("log.format", section.format),
    };
    let format = match value.as_deref().map(str::trim) {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => return Err(invalid(key, format!("{other:?} is not text or json"))),
    };
    Ok(LogSettings { format })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listener_is_off_unless_an_address_is_given_and_a_bad_one_names_its_key() {
        let none = |_: &str| None;
        assert_eq!(
            metrics_settings(MetricsSection::default(), &none)
                .unwrap()
                .listen,
            None
        );
        let section = || MetricsSection {
            listen: Some("127.0.0.1:9464".into()),
        };
        let listen = metrics_settings(section(), &none).unwrap().listen;
        assert_eq!(listen, Some("127.0.0.1:9464".parse().unwrap()));
        let off = |k: &str| (k == "OKTASYNC_METRICS_LISTEN").then(|| "off".to_string());
        assert_eq!(metrics_settings(section(), &off).unwrap().listen, None);
        let bad = MetricsSection {
            listen: Some("localhost:9464".into()),
        };
        let err = metrics_settings(bad, &none).unwrap_err().to_string();
        assert!(
            err.starts_with("metrics.listen: \"localhost:9464\""),
            "{err}"
        );
    }

    #[test]
    fn the_log_format_is_text_or_json_and_the_environment_wins() {
        let none = |_: &str| None;
        assert_eq!(
            log_settings(LogSection::default(), &none).unwrap().format,
            LogFormat::Text
        );
        let json = |k: &str| (k == "OKTASYNC_LOG_FORMAT").then(|| "json".to_string());
        let section = LogSection {
            format: Some("text".into()),
        };
        assert_eq!(
            log_settings(section, &json).unwrap().format,
            LogFormat::Json
        );
        let err = log_settings(
            LogSection {
                format: Some("xml".into()),
            },
            &none,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "log.format: \"xml\" is not text or json");
    }
}
