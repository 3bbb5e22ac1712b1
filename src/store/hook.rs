//! The event hook receiver's tables: the durable inbox (events committed before Okta hears 200,
//! deleted only in the transaction that mirrors them once every other sink took them), the
//! receiver's counters, and the hooks `oktasync hook register` made with their shared secrets.

use chrono::Utc;
use rusqlite::{OptionalExtension, params};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::value::RawValue;

use super::{Context, Store, StoreError, count, mirror_rows, sql_int};
use crate::sink::{Delta, stream, utc_millis};

/// Events read from the inbox, oldest first, for the sinks.
#[derive(Debug)]
pub struct InboxBatch {
    /// The events, as deltas of stream `event_hook`.
    pub deltas: Vec<Delta>,
    /// Every inbox row up to this sequence number is in `deltas` (or was emitted before).
    pub through: i64,
}

/// What `oktasync hook status` shows from the state database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiverStats {
    /// Deliveries whose events were committed.
    pub deliveries: u64,
    /// Events in those deliveries.
    pub events: u64,
    pub last_delivery_at: Option<String>,
    /// Events committed but not yet delivered to every sink.
    pub inbox: u64,
    /// Mirror rows whose event reached oktasync first through the hook.
    pub mirrored_via_hook: u64,
}

/// One hook `oktasync hook register` made. The secret prints as `[REDACTED]`.
#[derive(Debug, Clone)]
pub struct HookRegistration {
    /// The hook's name at Okta.
    pub name: String,
    /// The org's base URL.
    pub org: String,
    /// Okta's id, once Okta created the hook.
    pub hook_id: Option<String>,
    pub url: String,
    /// The header Okta sends the secret in.
    pub secret_header: String,
    pub secret: SecretString,
}

impl Store {
    /// Makes every commit on this connection reach the disk (fsync) before it returns: the
    /// receiver answers Okta only after its commit, so the commit must survive a power cut.
    pub fn sync_every_commit(&self) -> Result<(), StoreError> {
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .ctx("set synchronous = FULL")
    }

    /// Commits the events of `deliveries` deliveries in one transaction: into the mirror tables
    /// when `mirror_now` (the mirror is the only sink), else into the inbox (a copy already
    /// waiting there is not added twice). Returns the inbox's high-water sequence number: once
    /// the emitter has emitted through it, these events are in every sink.
    pub fn accept_hook_events(
        &mut self,
        deltas: &[Delta],
        deliveries: u64,
        mirror_now: bool,
    ) -> Result<i64, StoreError> {
        let now = utc_millis(Utc::now());
        let tx = self.write_tx()?;
        if mirror_now {
            mirror_rows(&tx, deltas, &now)?;
        } else {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO hook_inbox (uuid, published, data, received_at)
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT(uuid) DO NOTHING",
                )
                .ctx("prepare the inbox insert")?;
            for d in deltas {
                insert
                    .execute(params![d.id, d.version, d.data.get(), now])
                    .ctx("add an event to the hook inbox")?;
            }
        }
        tx.execute(
            "UPDATE hook_receiver SET deliveries = deliveries + ?1, events = events + ?2,
             last_delivery_at = ?3 WHERE id = 1",
            params![sql_int(deliveries), sql_int(deltas.len() as u64), now],
        )
        .ctx("count the deliveries")?;
        let through = inbox_high_water(&tx)?;
        tx.commit().ctx("commit the hook deliveries")?;
        Ok(through)
    }

    /// Up to `limit` inbox events, oldest first.
    pub fn inbox_batch(&self, limit: usize) -> Result<InboxBatch, StoreError> {
        let high = inbox_high_water(&self.conn)?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, uuid, published, data FROM hook_inbox
                 WHERE seq <= ?1 ORDER BY seq LIMIT ?2",
            )
            .ctx("read the hook inbox")?;
        let rows = stmt
            .query_map(params![high, sql_int(limit as u64)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .ctx("read the hook inbox")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx("read the hook inbox")?;
        let through = match rows.last() {
            Some((seq, ..)) if rows.len() == limit => *seq,
            _ => high,
        };
        let mut deltas = Vec::with_capacity(rows.len());
        for (_, uuid, published, data) in rows {
            let raw = RawValue::from_string(data).map_err(|e| StoreError::Shape {
                stream: stream::EVENT_HOOK.into(),
                id: uuid.clone(),
                problem: format!("the inbox holds invalid JSON ({e})"),
            })?;
            deltas.push(Delta::new(stream::EVENT_HOOK, &uuid, &published, raw));
        }
        Ok(InboxBatch { deltas, through })
    }

    /// In one transaction: mirror the batch (when `mirror`) and delete its inbox rows. Call it
    /// only once every other sink has taken the batch.
    pub fn finish_inbox_batch(
        &mut self,
        batch: &InboxBatch,
        mirror: bool,
    ) -> Result<(), StoreError> {
        let now = utc_millis(Utc::now());
        let tx = self.write_tx()?;
        if mirror {
            mirror_rows(&tx, &batch.deltas, &now)?;
        }
        tx.execute("DELETE FROM hook_inbox WHERE seq <= ?1", [batch.through])
            .ctx("empty the hook inbox")?;
        tx.commit().ctx("commit the emitted hook events")
    }

    /// The receiver's counters and backlog.
    pub fn receiver_stats(&self) -> Result<ReceiverStats, StoreError> {
        self.conn
            .query_row(
                "SELECT deliveries, events, last_delivery_at,
                        (SELECT count(*) FROM hook_inbox),
                        (SELECT count(*) FROM system_log WHERE received_via = 'event_hook')
                 FROM hook_receiver WHERE id = 1",
                [],
                |r| {
                    Ok(ReceiverStats {
                        deliveries: count(r, 0)?,
                        events: count(r, 1)?,
                        last_delivery_at: r.get(2)?,
                        inbox: count(r, 3)?,
                        mirrored_via_hook: count(r, 4)?,
                    })
                },
            )
            .ctx("read the receiver's counters")
    }

    /// The registration of the hook called `name`, if `hook register` made one.
    pub fn hook_registration(&self, name: &str) -> Result<Option<HookRegistration>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT name, org, hook_id, url, secret_header, secret FROM event_hooks
                 WHERE name = ?1",
            )
            .and_then(|mut s| s.query_row([name], registration).optional())
            .ctx("read the hook registration")
    }

    /// Every stored shared secret, with the header it travels in.
    pub fn hook_secrets(&self) -> Result<Vec<(String, SecretString)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT secret_header, secret FROM event_hooks ORDER BY name")
            .ctx("read the hook secrets")?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, SecretString::from(r.get::<_, String>(1)?)))
            })
            .ctx("read the hook secrets")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .ctx("read the hook secrets")
    }

    /// Stores (or replaces) a registration.
    pub fn put_hook_registration(&self, reg: &HookRegistration) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO event_hooks (name, org, hook_id, url, secret_header, secret, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(name) DO UPDATE SET org = excluded.org, hook_id = excluded.hook_id,
                   url = excluded.url, secret_header = excluded.secret_header,
                   secret = excluded.secret, updated_at = excluded.updated_at",
                params![
                    reg.name,
                    reg.org,
                    reg.hook_id,
                    reg.url,
                    reg.secret_header,
                    reg.secret.expose_secret(),
                    utc_millis(Utc::now())
                ],
            )
            .ctx("store the hook registration")
            .map(drop)
    }

    /// Forgets the registration (and its secret); true if there was one.
    pub fn delete_hook_registration(&self, name: &str) -> Result<bool, StoreError> {
        self.conn
            .execute("DELETE FROM event_hooks WHERE name = ?1", [name])
            .ctx("forget the hook registration")
            .map(|n| n > 0)
    }
}

fn registration(r: &rusqlite::Row<'_>) -> rusqlite::Result<HookRegistration> {
    Ok(HookRegistration {
        name: r.get(0)?,
        org: r.get(1)?,
        hook_id: r.get(2)?,
        url: r.get(3)?,
        secret_header: r.get(4)?,
        secret: SecretString::from(r.get::<_, String>(5)?),
    })
}

/// The highest inbox sequence number ever assigned (0 before the first).
fn inbox_high_water(conn: &rusqlite::Connection) -> Result<i64, StoreError> {
    conn.prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'hook_inbox'")
        .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)).optional())
        .map(Option::unwrap_or_default)
        .ctx("read the inbox sequence")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(uuid: &str) -> Delta {
        let data = format!(
            r#"{{"uuid":"{uuid}","published":"2024-05-01T00:00:00.000Z","eventType":"user.lifecycle.create"}}"#
        );
        Delta::new(
            stream::EVENT_HOOK,
            uuid,
            "2024-05-01T00:00:00.000Z",
            RawValue::from_string(data).unwrap(),
        )
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn inbox_events_stay_until_finished_and_a_waiting_copy_is_not_added_twice() {
        let (_dir, mut s) = store();
        let first = s
            .accept_hook_events(&[event("e1"), event("e2")], 1, false)
            .unwrap();
        let again = s
            .accept_hook_events(&[event("e2"), event("e3")], 1, false)
            .unwrap();
        assert!(again > first);
        let batch = s.inbox_batch(10).unwrap();
        let ids: Vec<&str> = batch.deltas.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["e1", "e2", "e3"]);
        assert_eq!(batch.through, again);
        assert_eq!(s.mirror_counts().unwrap().system_log, 0);
        s.finish_inbox_batch(&batch, true).unwrap();
        assert!(s.inbox_batch(10).unwrap().deltas.is_empty());
        let stats = s.receiver_stats().unwrap();
        assert_eq!(
            (
                stats.deliveries,
                stats.events,
                stats.inbox,
                stats.mirrored_via_hook
            ),
            (2, 4, 0, 3)
        );
        assert!(stats.last_delivery_at.is_some());
    }

    #[test]
    fn a_partial_inbox_batch_ends_at_its_last_row_and_the_rest_stays() {
        let (_dir, mut s) = store();
        s.accept_hook_events(&[event("a"), event("b"), event("c")], 3, false)
            .unwrap();
        let batch = s.inbox_batch(2).unwrap();
        assert_eq!(batch.deltas.len(), 2);
        s.finish_inbox_batch(&batch, false).unwrap();
        let rest = s.inbox_batch(2).unwrap();
        let ids: Vec<&str> = rest.deltas.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["c"]);
        assert!(rest.through > batch.through);
    }

    #[test]
    fn sequence_numbers_keep_growing_after_the_inbox_empties() {
        let (_dir, mut s) = store();
        let one = s.accept_hook_events(&[event("a")], 1, false).unwrap();
        let batch = s.inbox_batch(10).unwrap();
        s.finish_inbox_batch(&batch, false).unwrap();
        let two = s.accept_hook_events(&[event("b")], 1, false).unwrap();
        assert!(two > one, "{two} after {one}");
        assert_eq!(s.inbox_batch(10).unwrap().through, two);
    }

    #[test]
    fn accepting_straight_into_the_mirror_skips_the_inbox_and_marks_the_hook_as_first() {
        let (_dir, mut s) = store();
        let mut polled = event("p1");
        polled.stream = stream::SYSTEM_LOG.into();
        s.upsert(&[polled]).unwrap();
        s.accept_hook_events(&[event("p1"), event("h1")], 1, true)
            .unwrap();
        assert_eq!(s.inbox_batch(10).unwrap().deltas.len(), 0);
        let via: Vec<(String, String)> = s
            .conn
            .prepare("SELECT uuid, received_via FROM system_log ORDER BY uuid")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            via,
            [
                ("h1".to_owned(), "event_hook".to_owned()),
                ("p1".to_owned(), "system_log".to_owned())
            ]
        );
    }

    #[test]
    fn registrations_round_trip_and_their_secret_never_prints() {
        let (_dir, s) = store();
        let reg = HookRegistration {
            name: "oktasync".into(),
            org: "https://dev-1.okta.com/".into(),
            hook_id: None,
            url: "https://hooks.example.com/okta".into(),
            secret_header: "Authorization".into(),
            secret: SecretString::from("s3cr3t-value".to_owned()),
        };
        s.put_hook_registration(&reg).unwrap();
        let stored = s.hook_registration("oktasync").unwrap().unwrap();
        assert_eq!(stored.secret.expose_secret(), "s3cr3t-value");
        assert!(!format!("{stored:?}").contains("s3cr3t"));
        let secrets = s.hook_secrets().unwrap();
        assert_eq!(secrets.len(), 1);
        assert_eq!(secrets[0].0, "Authorization");
        assert!(s.delete_hook_registration("oktasync").unwrap());
        assert!(!s.delete_hook_registration("oktasync").unwrap());
        assert!(s.hook_registration("oktasync").unwrap().is_none());
    }
}
