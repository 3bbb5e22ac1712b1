//! The System Log store: compact events kept in persistence order, visible only once their
//! persistence time has passed, with an index by `published` for bounded and descending
//! queries.

use super::util::Rng;

/// No entity (an absent actor or target slot).
pub const NONE: u32 = u32::MAX;

/// Something an event names as actor or target.
#[derive(Debug, Clone)]
pub struct Ent {
    pub kind: &'static str,
    pub id: Box<str>,
    pub alt: Box<str>,
    pub display: Box<str>,
}

/// One System Log event; everything not stored is derived from `seq` when rendered.
#[derive(Debug, Clone)]
pub struct Event {
    pub published: i64,
    pub persisted: i64,
    pub seq: u32,
    pub kind: u16,
    pub outcome: u8,
    pub actor: u32,
    pub targets: [u32; 2],
    /// The `X-Okta-Request-Id` of the API call that wrote the event, for events written live.
    pub request_id: Option<Box<str>>,
}

impl Event {
    fn key(&self) -> (i64, u32) {
        (self.persisted, self.seq)
    }
}

/// A position in one of the two orders: (time, seq), inclusive.
pub type Pos = (i64, u32);

#[derive(Debug)]
pub struct LogStore {
    pub seed: u64,
    pub ents: Vec<Ent>,
    /// Visible events, sorted by (persisted, seq).
    events: Vec<Event>,
    /// Not yet persisted, sorted by (persisted, seq).
    pending: Vec<Event>,
    /// Indices into `events` sorted by (published, seq).
    by_published: Vec<u32>,
    next_seq: u32,
    pub lag_ms: i64,
    rng: Rng,
}

impl LogStore {
    pub fn new(seed: u64, lag_ms: i64) -> Self {
        LogStore {
            seed,
            ents: Vec::new(),
            events: Vec::new(),
            pending: Vec::new(),
            by_published: Vec::new(),
            next_seq: 0,
            lag_ms,
            rng: Rng::new(seed ^ 0x1095),
        }
    }

    pub fn add_ent(&mut self, kind: &'static str, id: &str, alt: &str, display: &str) -> u32 {
        self.ents.push(Ent {
            kind,
            id: id.into(),
            alt: alt.into(),
            display: display.into(),
        });
        (self.ents.len() - 1) as u32
    }

    pub fn ent(&self, i: u32) -> Option<&Ent> {
        self.ents.get(i as usize)
    }

    /// Load generated history in one go: `events` must be sorted by (published, seq) with seq
    /// numbers 0..n.
    pub fn load(&mut self, mut events: Vec<Event>, now: i64) {
        self.next_seq = events.len() as u32;
        events.sort_by_key(Event::key);
        let split = events.partition_point(|e| e.persisted <= now);
        self.pending = events.split_off(split);
        self.events = events;
        let mut idx: Vec<u32> = (0..self.events.len() as u32).collect();
        idx.sort_by_key(|&i| {
            let e = &self.events[i as usize];
            (e.published, e.seq)
        });
        self.by_published = idx;
    }

    /// Write a new event published at `now`; it becomes visible after the persistence lag.
    pub fn append(&mut self, mut ev: Event, now: i64) {
        ev.seq = self.next_seq;
        self.next_seq += 1;
        ev.published = now;
        ev.persisted = now + self.rng.range(0, self.lag_ms.max(0));
        let at = self.pending.partition_point(|e| e.key() < ev.key());
        self.pending.insert(at, ev);
    }

    /// Make every event whose persistence time has come visible.
    pub fn flush(&mut self, now: i64) {
        let ready = self.pending.partition_point(|e| e.persisted <= now);
        for ev in self.pending.drain(..ready) {
            let i = self.events.len() as u32;
            let key = (ev.published, ev.seq);
            let events = &self.events;
            let at = self.by_published.partition_point(|&j| {
                let e = &events[j as usize];
                (e.published, e.seq) < key
            });
            self.events.push(ev);
            self.by_published.insert(at, i);
        }
    }

    pub fn visible(&self) -> &[Event] {
        &self.events
    }

    /// Polling order: up to `limit` matching events at or after `start` in persistence order,
    /// and the position to continue from (unchanged when nothing matched).
    pub fn poll(
        &self,
        start: Pos,
        limit: usize,
        keep: &dyn Fn(&Event) -> bool,
    ) -> (Vec<&Event>, Pos) {
        let from = self.events.partition_point(|e| e.key() < start);
        let page: Vec<&Event> = self.events[from..]
            .iter()
            .filter(|e| keep(e))
            .take(limit)
            .collect();
        let next = page
            .last()
            .map(|e| (e.persisted, e.seq + 1))
            .unwrap_or(start);
        (page, next)
    }

    /// Bounded order by `published` between `since` (inclusive) and `until` (exclusive),
    /// starting at the cursor `start` in the requested direction. Returns the page and, when
    /// more matching events follow, the cursor of the first of them.
    pub fn bounded(
        &self,
        q: &Bounded,
        keep: &dyn Fn(&Event) -> bool,
    ) -> (Vec<&Event>, Option<Pos>) {
        let key = |j: &u32| {
            let e = &self.events[*j as usize];
            (e.published, e.seq)
        };
        let lo = self.by_published.partition_point(|j| key(j) < (q.since, 0));
        let hi = self.by_published.partition_point(|j| key(j) < (q.until, 0));
        let slice = &self.by_published[lo..hi.max(lo)];
        let ev = |j: &u32| &self.events[*j as usize];
        let mut out = Vec::with_capacity(q.limit.min(1000));
        let mut next = None;
        let mut push = |j: &u32| {
            let e = ev(j);
            if !keep(e) {
                return true;
            }
            if out.len() == q.limit {
                next = Some((e.published, e.seq));
                return false;
            }
            out.push(e);
            true
        };
        if q.descending {
            let end = q
                .start
                .map(|s| slice.partition_point(|j| key(j) <= s))
                .unwrap_or(slice.len());
            for j in slice[..end].iter().rev() {
                if !push(j) {
                    break;
                }
            }
        } else {
            let begin = q
                .start
                .map(|s| slice.partition_point(|j| key(j) < s))
                .unwrap_or(0);
            for j in &slice[begin..] {
                if !push(j) {
                    break;
                }
            }
        }
        (out, next)
    }
}

/// A bounded (or descending) query.
#[derive(Debug, Clone)]
pub struct Bounded {
    pub since: i64,
    pub until: i64,
    pub descending: bool,
    pub start: Option<Pos>,
    pub limit: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(published: i64, persisted: i64, seq: u32) -> Event {
        Event {
            published,
            persisted,
            seq,
            kind: 0,
            outcome: 0,
            actor: NONE,
            targets: [NONE, NONE],
            request_id: None,
        }
    }

    fn seqs(page: &[&Event]) -> Vec<u32> {
        page.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn events_become_visible_only_once_persisted() {
        let mut s = LogStore::new(1, 0);
        s.load(vec![ev(10, 10, 0), ev(20, 50, 1), ev(30, 30, 2)], 40);
        assert_eq!(
            s.visible().iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![0, 2]
        );
        s.flush(50);
        assert_eq!(
            s.visible().iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![0, 2, 1]
        );
    }

    #[test]
    fn polling_pages_by_persistence_and_resumes_where_it_stopped() {
        let mut s = LogStore::new(1, 0);
        s.load((0..5).map(|i| ev(100, 100, i)).collect(), 1000);
        let all = |_: &Event| true;
        let (p, next) = s.poll((0, 0), 2, &all);
        assert_eq!(seqs(&p), vec![0, 1]);
        let (p, next) = s.poll(next, 2, &all);
        assert_eq!(seqs(&p), vec![2, 3]);
        let (p, next) = s.poll(next, 2, &all);
        assert_eq!(seqs(&p), vec![4]);
        let (p, again) = s.poll(next, 2, &all);
        assert!(p.is_empty());
        assert_eq!(again, next, "an empty page keeps the position");
        s.append(ev(0, 0, 0), 2000);
        s.flush(2000);
        let (p, _) = s.poll(again, 2, &all);
        assert_eq!(
            seqs(&p),
            vec![5],
            "new events show up behind the saved position"
        );
    }

    #[test]
    fn bounded_queries_order_by_published_in_both_directions() {
        let mut s = LogStore::new(1, 0);
        s.load(
            vec![ev(10, 40, 0), ev(20, 20, 1), ev(20, 21, 2), ev(30, 30, 3)],
            100,
        );
        let all = |_: &Event| true;
        let mut q = Bounded {
            since: 0,
            until: 100,
            descending: false,
            start: None,
            limit: 2,
        };
        let (p, next) = s.bounded(&q, &all);
        assert_eq!((seqs(&p), next), (vec![0, 1], Some((20, 2))));
        q.start = next;
        let (p, next) = s.bounded(&q, &all);
        assert_eq!((seqs(&p), next), (vec![2, 3], None));
        let q = Bounded {
            since: 0,
            until: 30,
            descending: true,
            start: None,
            limit: 2,
        };
        let (p, next) = s.bounded(&q, &all);
        assert_eq!((seqs(&p), next), (vec![2, 1], Some((10, 0))));
    }
}
