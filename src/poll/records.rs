//! A page's objects parsed once: the fields the pollers plan with and the mirror keeps in
//! columns, beside the object exactly as Okta sent it.

use anyhow::Context as _;
use serde_json::value::RawValue;

use crate::store::{EventColumns, UserColumns};

/// One user from a page.
#[derive(Debug)]
pub(super) struct UserRecord {
    pub cols: UserColumns,
    pub raw: Box<RawValue>,
}

/// One System Log event from a page.
#[derive(Debug)]
pub(super) struct EventRecord {
    pub cols: EventColumns,
    pub raw: Box<RawValue>,
}

/// A page's records.
#[derive(Debug)]
pub(super) enum Records {
    Users(Vec<UserRecord>),
    Events(Vec<EventRecord>),
}

impl Records {
    pub fn len(&self) -> usize {
        match self {
            Records::Users(u) => u.len(),
            Records::Events(e) => e.len(),
        }
    }
}

/// Parses a users page; every user needs an id and a `lastUpdated`.
pub(super) fn users(items: Vec<Box<RawValue>>) -> anyhow::Result<Records> {
    let mut out = Vec::with_capacity(items.len());
    for raw in items {
        let cols: UserColumns =
            serde_json::from_str(raw.get()).context("an Okta user without an id")?;
        if cols.last_updated.is_none() {
            anyhow::bail!("user {} has no lastUpdated", cols.id);
        }
        out.push(UserRecord { cols, raw });
    }
    Ok(Records::Users(out))
}

/// Parses a System Log page; every event needs a uuid and a `published`.
pub(super) fn events(items: Vec<Box<RawValue>>) -> anyhow::Result<Records> {
    let mut out = Vec::with_capacity(items.len());
    for raw in items {
        let cols: EventColumns = serde_json::from_str(raw.get())
            .context("a System Log event without uuid or published")?;
        out.push(EventRecord { cols, raw });
    }
    Ok(Records::Events(out))
}
