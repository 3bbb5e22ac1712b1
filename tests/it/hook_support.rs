//! Helpers for the event hook tests: a receiver on port 0 with its state and sinks in a temporary
//! directory, Okta-shaped deliveries, and readers of what reached the mirror and the NDJSON file.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use oktasync::config::{HookSettings, StartAt, SyncSettings, TlsFiles};
use oktasync::hook::{self, HookListener, Running};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::watch;

/// The shared secret test receivers are configured with (as `hook.secret_file` would).
pub const SECRET: &str = "test-hook-secret-7f3a9c";

/// A receiver serving on 127.0.0.1, its state database and NDJSON file in `dir`.
pub struct TestReceiver {
    pub base: String,
    pub dir: tempfile::TempDir,
    stop: watch::Sender<bool>,
    running: Option<Running>,
    /// `<state>.lock`, held like `hook serve` holds it.
    lock: Option<std::fs::File>,
}

/// What a test receiver writes to.
pub enum Sinks {
    /// The state database's mirror and `out.ndjson`.
    MirrorAndFile,
    /// Only the state database's mirror: commits go straight into `system_log`.
    MirrorOnly,
    /// These specs.
    Specs(Vec<String>),
}

impl TestReceiver {
    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state.db")
    }

    pub fn ndjson(&self) -> PathBuf {
        self.dir.path().join("out.ndjson")
    }

    /// Stops it as SIGTERM would: requests in flight finish, the threads emit what they hold.
    pub async fn stop(mut self) -> tempfile::TempDir {
        let _ = self.stop.send(true);
        if let Some(running) = self.running.take() {
            running.finish(Duration::from_secs(5)).await.unwrap();
        }
        drop(self.lock.take());
        self.dir
    }
}

pub fn sync_settings(dir: &Path, sinks: &Sinks) -> SyncSettings {
    let state = dir.join("state.db");
    let specs = match sinks {
        Sinks::MirrorAndFile => vec![
            format!("sqlite:{}", state.display()),
            format!("file:{}", dir.join("out.ndjson").display()),
        ],
        Sinks::MirrorOnly => vec![format!("sqlite:{}", state.display())],
        Sinks::Specs(specs) => specs.clone(),
    };
    SyncSettings::local(state, specs, StartAt::Now)
}

pub fn hook_settings(tls: Option<TlsFiles>) -> HookSettings {
    HookSettings {
        secret: Some(SecretString::from(SECRET.to_owned())),
        tls,
        ..HookSettings::default()
    }
}

/// A receiver with the [`SECRET`] configured, writing to `sinks` in a new directory.
pub async fn receiver(sinks: Sinks) -> TestReceiver {
    receiver_in(tempfile::tempdir().unwrap(), sinks, hook_settings(None)).await
}

/// A receiver in `dir` (which may hold a state database from before).
pub async fn receiver_in(
    dir: tempfile::TempDir,
    sinks: Sinks,
    settings: HookSettings,
) -> TestReceiver {
    let (outputs, lock) = hook::open_outputs(&sync_settings(dir.path(), &sinks)).unwrap();
    let listener = HookListener::bind("127.0.0.1:0".parse().unwrap(), &settings)
        .await
        .unwrap();
    let (stop, mut stopped) = watch::channel(false);
    let shutdown = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    let running = hook::spawn(outputs, &settings, listener, None, shutdown).unwrap();
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    TestReceiver {
        base: format!("{scheme}://{}", running.addr),
        dir,
        stop,
        running: Some(running),
        lock: Some(lock),
    }
}

/// A System Log event as Okta delivers it (`pad` bytes of filler make it bigger).
pub fn log_event(uuid: &str, event_type: &str, pad: usize) -> Value {
    json!({
        "uuid": uuid, "published": "2024-05-01T12:00:00.000Z", "eventType": event_type,
        "version": "0", "severity": "INFO", "displayMessage": "Create Okta user",
        "actor": {"id": "00uADMIN", "type": "User", "alternateId": "admin@example.com"},
        "outcome": {"result": "SUCCESS"},
        "target": [{"id": "00uNEW", "type": "User", "alternateId": "new@example.com"}],
        "debugContext": {"debugData": {"filler": "x".repeat(pad)}},
    })
}

/// Okta's delivery envelope around `events`.
pub fn delivery(events: &[Value]) -> String {
    json!({
        "eventType": "com.okta.event_hook", "eventTypeVersion": "1.0", "cloudEventsVersion": "0.1",
        "source": "https://dev-1.okta.com/api/v1/eventHooks/who1", "eventId": "b5a188b9",
        "data": {"events": events}, "eventTime": "2024-05-01T12:00:01.000Z",
        "contentType": "application/json",
    })
    .to_string()
}

/// POSTs `body` as JSON with `secret` in the Authorization header; the status and body.
pub async fn post(url: &str, secret: Option<&str>, body: String) -> (u16, String) {
    post_as(url, secret, "application/json", body).await
}

pub async fn post_as(
    url: &str,
    secret: Option<&str>,
    content_type: &str,
    body: String,
) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("Content-Type", content_type)
        .body(body);
    if let Some(secret) = secret {
        request = request.header("Authorization", secret);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// `(uuid, received_via)` of every mirror event, by uuid.
pub fn mirror_events(state: &Path) -> Vec<(String, String)> {
    let db =
        rusqlite::Connection::open_with_flags(state, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    db.prepare("SELECT uuid, coalesce(received_via, '') FROM system_log ORDER BY uuid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Rows waiting in the inbox.
pub fn inbox_len(state: &Path) -> i64 {
    let db =
        rusqlite::Connection::open_with_flags(state, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    db.query_row("SELECT count(*) FROM hook_inbox", [], |r| r.get(0))
        .unwrap()
}

/// Every line of an NDJSON file (none if it does not exist), parsed.
pub fn lines_of(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect()
}

/// Waits until `check` passes, polling, for at most `limit`; panics with `what` otherwise.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
