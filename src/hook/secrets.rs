//! The shared secrets the receiver accepts, each with the header it travels in: the one from
//! `hook.secret_file`, and those `hook register` stored in the state database, read again (at
//! most once a second) when a request matches none, so a new registration takes effect at once.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderName};
use secrecy::{ExposeSecret, SecretString};

use super::delivery::secret_matches;
use crate::store::Store;

/// The shortest time between two reads of the stored secrets.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

type Entries = Vec<(HeaderName, SecretString)>;

pub(super) struct Secrets {
    fixed: Entries,
    stored: RwLock<Entries>,
    loaded_at: Mutex<Option<Instant>>,
    store: Arc<Mutex<Store>>,
}

impl Secrets {
    /// `fixed`: the configured header and secret, if any.
    pub(super) fn new(
        fixed: Option<(&str, SecretString)>,
        store: Arc<Mutex<Store>>,
    ) -> anyhow::Result<Secrets> {
        let fixed = match fixed {
            Some((header, secret)) => vec![(header_name(header)?, secret)],
            None => Vec::new(),
        };
        let secrets = Secrets {
            fixed,
            stored: RwLock::new(Vec::new()),
            loaded_at: Mutex::new(None),
            store,
        };
        secrets.reload_now();
        Ok(secrets)
    }

    /// How many secrets are known.
    pub(super) fn len(&self) -> usize {
        self.fixed.len() + self.stored.read().map_or(0, |s| s.len())
    }

    /// True when the request carries a known secret in that secret's header.
    pub(super) async fn admit(self: &Arc<Self>, headers: &HeaderMap) -> bool {
        if self.matches(headers) {
            return true;
        }
        if !self.reload_due() {
            return false;
        }
        let me = self.clone();
        if tokio::task::spawn_blocking(move || me.reload_now())
            .await
            .is_err()
        {
            return false;
        }
        self.matches(headers)
    }

    fn matches(&self, headers: &HeaderMap) -> bool {
        let stored = self.stored.read().unwrap_or_else(|p| p.into_inner());
        let pairs = self
            .fixed
            .iter()
            .chain(stored.iter())
            .map(|(name, secret)| {
                let presented = headers.get(name).map(|v| v.as_bytes());
                (presented, secret.expose_secret().as_bytes())
            });
        secret_matches(pairs)
    }

    fn reload_due(&self) -> bool {
        let mut at = self.loaded_at.lock().unwrap_or_else(|p| p.into_inner());
        let due = at.is_none_or(|t| t.elapsed() >= RELOAD_EVERY);
        if due {
            *at = Some(Instant::now());
        }
        due
    }

    /// Reads the stored secrets (blocking).
    fn reload_now(&self) {
        let read = self
            .store
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .hook_secrets();
        let rows = match read {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the stored hook secrets");
                return;
            }
        };
        let entries: Entries = rows
            .into_iter()
            .filter_map(|(header, secret)| match header_name(&header) {
                Ok(name) => Some((name, secret)),
                Err(e) => {
                    tracing::warn!(error = %e, "skipping a stored hook secret");
                    None
                }
            })
            .collect();
        *self.stored.write().unwrap_or_else(|p| p.into_inner()) = entries;
    }
}

fn header_name(text: &str) -> anyhow::Result<HeaderName> {
    HeaderName::from_bytes(text.as_bytes())
        .map_err(|_| anyhow::anyhow!("{text:?} is not an HTTP header name"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::HookRegistration;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(header_name(k).unwrap(), v.parse().unwrap());
        }
        map
    }

    #[tokio::test]
    async fn a_secret_registered_after_start_is_accepted_without_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Mutex::new(Store::open(&dir.path().join("s.db")).unwrap()));
        let fixed = Some(("X-Hook-Key", SecretString::from("from-file".to_owned())));
        let secrets = Arc::new(Secrets::new(fixed, store.clone()).unwrap());
        assert!(
            secrets
                .admit(&headers(&[("x-hook-key", "from-file")]))
                .await
        );
        assert!(
            !secrets
                .admit(&headers(&[("authorization", "from-file")]))
                .await
        );
        store
            .lock()
            .unwrap()
            .put_hook_registration(&HookRegistration {
                name: "oktasync".into(),
                org: "https://dev-1.okta.com/".into(),
                hook_id: None,
                url: "https://h.example.com/".into(),
                secret_header: "Authorization".into(),
                secret: SecretString::from("registered".to_owned()),
            })
            .unwrap();
        *secrets.loaded_at.lock().unwrap() = None;
        assert!(
            secrets
                .admit(&headers(&[("authorization", "registered")]))
                .await
        );
        assert_eq!(secrets.len(), 2);
        assert!(!secrets.admit(&headers(&[("authorization", "guess")])).await);
    }
}
