//! The page pipeline of one run. A fetch task reads pages ahead and a parse thread parses each
//! object once; the committer gathers them into groups (up to [`GROUP_ROWS`] rows,
//! [`GROUP_BYTES`] bytes or about [`GROUP_AGE`], or until the scan has caught up) and commits
//! each group while the next pages are already being fetched: the writer plans the deltas, every
//! sink writes them at the same time as the writer writes the rows, and the transaction commits
//! only once every sink has them durable.
//!
//! On shutdown the group in hand is committed and the run stops. A sink still stuck
//! [`STUCK_GRACE`] after shutdown is abandoned: the group rolls back and no cursor moves.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use serde_json::value::RawValue;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use url::Url;

use super::records::Records;
use super::{Run, Shutdown, stopped};
use crate::okta::{Pages, Unparsed};

/// A group closes at this many rows...
pub const GROUP_ROWS: usize = 10_000;
/// ...or this many bytes of Okta objects (memory stays bounded whatever their size)...
pub const GROUP_BYTES: usize = 4 << 20;
/// ...or this long after its first page arrived, whichever comes first.
pub const GROUP_AGE: Duration = Duration::from_secs(1);
/// How long a sink may still take after shutdown before its write is abandoned.
pub const STUCK_GRACE: Duration = Duration::from_secs(5);

/// Parses a page's objects.
pub(super) type Parse = fn(Vec<Box<RawValue>>) -> anyhow::Result<Records>;

/// One page, parsed, as the fetch task hands it on.
#[derive(Debug)]
pub(super) struct Fetched {
    pub records: Records,
    /// Bytes of the page's body.
    pub bytes: usize,
    pub next: Option<Url>,
    /// The scan ends with this page (no `next`, or an empty System Log page: caught up).
    pub last: bool,
    /// Counts the page against the bytes read ahead until the committer takes it.
    _ahead: OwnedSemaphorePermit,
}

/// How the pages of a run move its cursors.
pub(super) trait Scan: Send {
    /// Moves the cursors past `page`; returns the newest record time passed, for progress.
    fn advance(&mut self, page: &Fetched) -> Option<String>;
    /// The cursors to store with the pages advanced so far.
    fn cursors(&self) -> anyhow::Result<Vec<(&'static str, String)>>;

    /// The bytes of Okta objects at which a group closes.
    fn group_bytes(&self) -> usize {
        GROUP_BYTES
    }
}

/// Reads pages ahead of the committer; dropping it stops the fetch task.
pub(super) struct Fetcher {
    rx: mpsc::Receiver<anyhow::Result<Fetched>>,
    task: JoinHandle<()>,
}

impl Drop for Fetcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts fetching: `first` (already fetched) if given, then `pages` until the last page.
/// With `until_empty`, an empty page is the last (a System Log polling query never ends).
/// Parsing runs on a thread of its own, so the next request is on its way while a page is
/// parsed.
/// Pages of up to `ahead` bytes wait for the committer: a group's worth, so the next group is
/// ready when the current one has committed.
pub(super) fn fetch_ahead(
    mut pages: Pages,
    first: Option<Unparsed>,
    parse: Parse,
    until_empty: bool,
    ahead: usize,
) -> anyhow::Result<Fetcher> {
    let (raw_tx, mut raw_rx) =
        mpsc::channel::<anyhow::Result<(Unparsed, OwnedSemaphorePermit, bool)>>(256);
    let (tx, rx) = mpsc::channel(256);
    let kib_ahead = u32::try_from(ahead >> 10).unwrap_or(u32::MAX);
    let ahead = Arc::new(Semaphore::new(kib_ahead as usize));
    let fetching = tokio::spawn(async move {
        let mut first = first;
        loop {
            let page = match first.take() {
                Some(p) => p,
                None => match pages.next_unparsed().await {
                    Ok(Some(p)) => p,
                    Ok(None) => break,
                    Err(e) => {
                        let _ = raw_tx.send(Err(e.into())).await;
                        break;
                    }
                },
            };
            let last = page.next.is_none() || (until_empty && page.is_empty());
            let kib = u32::try_from(page.body.len() >> 10)
                .unwrap_or(u32::MAX)
                .min(kib_ahead);
            let Ok(permit) = ahead.clone().acquire_many_owned(kib).await else {
                break;
            };
            if raw_tx.send(Ok((page, permit, last))).await.is_err() || last {
                break;
            }
        }
    });
    // Parsing is bulk work, on a thread of its own at a lower priority: the runtime's workers
    // stay free to send the next request the moment a response has arrived.
    crate::background::spawn("oktasync-parse".into(), move || {
        while let Some(fetched) = raw_rx.blocking_recv() {
            let fetched = fetched.and_then(|(page, permit, last)| {
                let bytes = page.body.len();
                let page = page.parse()?;
                parse(page.items).map(|records| Fetched {
                    records,
                    bytes,
                    next: page.next,
                    last,
                    _ahead: permit,
                })
            });
            let failed = fetched.is_err();
            if tx.blocking_send(fetched).is_err() || failed {
                break;
            }
        }
    })
    .context("cannot start a thread to parse pages")?;
    // Dropping the fetcher aborts the fetch task; the parse thread then ends with its channel.
    Ok(Fetcher { rx, task: fetching })
}

/// How a run's scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    /// The last page was committed.
    CaughtUp,
    /// Shutdown stopped it at a group boundary.
    Stopped,
}

/// The pages of a group, gathered.
#[derive(Default)]
struct Group {
    pages: Vec<Records>,
    rows: usize,
    bytes: usize,
    positions: Vec<Option<String>>,
    last: bool,
}

impl Group {
    fn add(&mut self, page: Fetched, scan: &mut dyn Scan) {
        self.positions.push(scan.advance(&page));
        self.rows += page.records.len();
        self.bytes += page.bytes;
        self.last = page.last;
        self.pages.push(page.records);
    }
}

/// Commits the fetcher's pages group by group until the scan ends, shutdown, or an error
/// (after committing the pages that arrived before it).
pub(super) async fn drive(
    run: &mut Run,
    mut fetcher: Fetcher,
    scan: &mut dyn Scan,
    shutdown: &Shutdown,
) -> anyhow::Result<Ended> {
    let mut shutdown = shutdown.clone();
    loop {
        let first = tokio::select! {
            biased;
            () = stopped(&mut shutdown) => return Ok(Ended::Stopped),
            page = fetcher.rx.recv() => page,
        };
        let Some(first) = first else {
            return Ok(Ended::CaughtUp);
        };
        let mut group = Group::default();
        group.add(first?, scan);
        let failed = gather(&mut fetcher, &mut group, scan, &mut shutdown).await;
        run.commit_group(group.pages, scan.cursors()?, group.positions, &shutdown)
            .await?;
        if let Some(e) = failed {
            return Err(e);
        }
        if group.last {
            return Ok(Ended::CaughtUp);
        }
        if *shutdown.borrow() {
            return Ok(Ended::Stopped);
        }
    }
}

/// Adds pages to `group` until it is full, old, last, or shutdown; returns a fetch error that
/// ended it early.
async fn gather(
    fetcher: &mut Fetcher,
    group: &mut Group,
    scan: &mut dyn Scan,
    shutdown: &mut Shutdown,
) -> Option<anyhow::Error> {
    let deadline = Instant::now() + GROUP_AGE;
    let max_bytes = scan.group_bytes();
    let full = |g: &Group| g.rows >= GROUP_ROWS || g.bytes >= max_bytes;
    while !group.last && !full(group) && !*shutdown.borrow() {
        let next = tokio::select! {
            biased;
            () = stopped(shutdown) => return None,
            () = tokio::time::sleep_until(deadline) => return None,
            page = fetcher.rx.recv() => page,
        };
        match next {
            None => return None,
            Some(Err(e)) => return Some(e),
            Some(Ok(page)) => group.add(page, scan),
        }
    }
    None
}

/// Resolves [`STUCK_GRACE`] after shutdown was first seen (by any run of the engine, so runs
/// committing one after another share one deadline); never without shutdown.
pub(super) fn grace(stopping: Arc<OnceLock<Instant>>, shutdown: &Shutdown) -> Grace {
    let mut shutdown = shutdown.clone();
    Box::pin(async move {
        stopped(&mut shutdown).await;
        let since = *stopping.get_or_init(Instant::now);
        tokio::time::sleep_until(since + STUCK_GRACE).await;
    })
}

/// The end of the grace after shutdown, see [`grace`].
pub(super) type Grace = Pin<Box<dyn Future<Output = ()> + Send>>;

/// `step`, unless the grace after shutdown ends first: then the group is abandoned (it rolls
/// back and no cursor moves; a sink stuck in a write is left to it).
pub(super) async fn within<T>(
    step: impl Future<Output = T>,
    grace: &mut Grace,
) -> anyhow::Result<T> {
    tokio::select! {
        done = step => Ok(done),
        () = grace.as_mut() => anyhow::bail!(
            "a sink or the state database did not take the batch within {} s of shutdown, so \
             the batch was abandoned; the cursor did not move and the next run delivers it again",
            STUCK_GRACE.as_secs()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::watch;

    /// A scan that moves no cursor.
    struct Still;

    impl Scan for Still {
        fn advance(&mut self, _: &Fetched) -> Option<String> {
            None
        }
        fn cursors(&self) -> anyhow::Result<Vec<(&'static str, String)>> {
            Ok(Vec::new())
        }
    }

    /// A page of `rows` users said to be `bytes` long.
    fn page(rows: usize, bytes: usize, last: bool) -> anyhow::Result<Fetched> {
        let items = (0..rows)
            .map(|i| {
                let json = format!(r#"{{"id":"00u{i}","lastUpdated":"2024-01-01T00:00:00.000Z"}}"#);
                RawValue::from_string(json).unwrap()
            })
            .collect();
        let permit = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
        Ok(Fetched {
            records: super::super::records::users(items)?,
            bytes,
            next: None,
            last,
            _ahead: permit,
        })
    }

    /// Gathers one group from `pages` (the first page starts it, as `drive` does); returns its
    /// page count and whether it ended the scan.
    async fn one_group(pages: Vec<anyhow::Result<Fetched>>) -> (usize, bool) {
        let (tx, rx) = mpsc::channel(pages.len().max(1));
        for p in pages {
            tx.send(p).await.unwrap();
        }
        let mut fetcher = Fetcher {
            rx,
            task: tokio::spawn(async {}),
        };
        let (_keep, mut shutdown) = watch::channel(false);
        let mut group = Group::default();
        let first = fetcher.rx.recv().await.unwrap().unwrap();
        group.add(first, &mut Still);
        assert!(
            gather(&mut fetcher, &mut group, &mut Still, &mut shutdown)
                .await
                .is_none()
        );
        // Keeps the sender open, so an empty channel waits instead of reading as the end.
        drop(tx);
        (group.pages.len(), group.last)
    }

    #[tokio::test]
    async fn a_group_closes_at_ten_thousand_rows_and_holds_several_pages() {
        let pages = (0..60).map(|_| page(200, 1000, false)).collect();
        assert_eq!(one_group(pages).await, (GROUP_ROWS / 200, false));
    }

    #[tokio::test]
    async fn a_group_closes_at_its_byte_limit() {
        let pages = (0..10).map(|_| page(10, GROUP_BYTES / 4, false)).collect();
        assert_eq!(one_group(pages).await, (4, false));
    }

    #[tokio::test]
    async fn the_last_page_closes_the_group_and_ends_the_scan() {
        let pages = vec![
            page(10, 100, false),
            page(10, 100, false),
            page(10, 100, true),
            page(10, 100, false),
        ];
        assert_eq!(one_group(pages).await, (3, true));
    }

    #[tokio::test(start_paused = true)]
    async fn a_group_waits_at_most_its_age_for_more_pages() {
        let started = Instant::now();
        let pages = vec![page(10, 100, false), page(10, 100, false)];
        assert_eq!(one_group(pages).await, (2, false));
        assert_eq!(started.elapsed(), GROUP_AGE);
    }
}
