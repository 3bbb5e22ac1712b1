//! Telling systemd how the service is doing, over `$NOTIFY_SOCKET` (sd_notify(3)): `READY=1` once
//! the pollers are scheduled, `STATUS=` lines, `WATCHDOG=1` while the pollers are alive, and
//! `STOPPING=1` at shutdown. Outside systemd there is no socket and every notice is dropped.

use std::time::Duration;

use sd_notify::NotifyState;

/// One message to the service manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Ready,
    Status(String),
    Watchdog,
    Stopping,
}

/// Where notices go; the daemon takes one so tests can record what it says.
pub trait Notifier: Send + Sync {
    fn notify(&self, notice: Notice);
    /// The watchdog timeout systemd set (`WatchdogSec=`), if any.
    fn watchdog(&self) -> Option<Duration>;
}

/// The real service manager, found through `$NOTIFY_SOCKET` and `$WATCHDOG_USEC`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Systemd;

impl Notifier for Systemd {
    fn notify(&self, notice: Notice) {
        let state = match &notice {
            Notice::Ready => NotifyState::Ready,
            Notice::Status(text) => NotifyState::Status(text),
            Notice::Watchdog => NotifyState::Watchdog,
            Notice::Stopping => NotifyState::Stopping,
        };
        if let Err(e) = sd_notify::notify(&[state]) {
            tracing::warn!(error = %e, notice = ?notice, "cannot notify systemd");
        }
    }

    fn watchdog(&self) -> Option<Duration> {
        sd_notify::watchdog_enabled().filter(|d| !d.is_zero())
    }
}
