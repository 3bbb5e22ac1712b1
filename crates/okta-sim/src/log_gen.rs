//! System Log history and synthetic traffic: events spread over the seven days before `now`,
//! with bursts that share a `published` millisecond, actors and targets drawn from the org.

use super::catalog::{KINDS, TargetShape, kind_index};
use super::logs::{Event, LogStore, NONE};
use super::model::Org;
use super::util::Rng;

const WEEK: i64 = 7 * 86_400_000;

/// Entity indices events can refer to.
pub struct Cast {
    pub admin: u32,
    pub users: Vec<u32>,
    pub groups: Vec<u32>,
    pub apps: Vec<u32>,
}

impl Cast {
    pub fn of(org: &Org) -> Cast {
        Cast {
            admin: org.users.get(&org.admin_id).map(|u| u.ent).unwrap_or(NONE),
            users: org.users.values().map(|u| u.ent).collect(),
            groups: org
                .groups
                .values()
                .filter(|g| !g.built_in)
                .map(|g| g.ent)
                .collect(),
            apps: org.apps.values().map(|a| a.ent).collect(),
        }
    }
}

fn pick(rng: &mut Rng, v: &[u32]) -> u32 {
    if v.is_empty() { NONE } else { *rng.pick(v) }
}

fn outcome_for(event_type: &str, rng: &mut Rng) -> u8 {
    let r = rng.below(100);
    match event_type {
        "user.session.start" if r < 10 => 1,
        "user.session.start" if r < 15 => 2,
        "user.authentication.auth_via_mfa" if r < 10 => 2,
        "policy.evaluate_sign_on" if r < 80 => 3,
        "policy.evaluate_sign_on" if r < 95 => 5,
        "policy.evaluate_sign_on" => 4,
        "user.account.lock" => 6,
        _ => 0,
    }
}

/// One synthetic event of a weighted-random kind (time fields are set by the caller).
pub fn random_event(rng: &mut Rng, cast: &Cast, total_weight: u64) -> Event {
    let mut r = rng.below(total_weight.max(1));
    let mut kind = 0;
    for (i, k) in KINDS.iter().enumerate() {
        if r < k.weight as u64 {
            kind = i;
            break;
        }
        r -= k.weight as u64;
    }
    let k = &KINDS[kind];
    let user = pick(rng, &cast.users);
    let actor = if k.self_service || cast.admin == NONE {
        user
    } else {
        cast.admin
    };
    let targets = match k.targets {
        TargetShape::User | TargetShape::Factor => [user, NONE],
        TargetShape::UserGroup => [user, pick(rng, &cast.groups)],
        TargetShape::UserApp => [user, pick(rng, &cast.apps)],
        TargetShape::App => [pick(rng, &cast.apps), NONE],
        TargetShape::None | TargetShape::Hook => [NONE, NONE],
    };
    Event {
        published: 0,
        persisted: 0,
        seq: 0,
        kind: kind as u16,
        outcome: outcome_for(k.event_type, rng),
        actor,
        targets,
        request_id: None,
    }
}

pub fn total_weight() -> u64 {
    KINDS.iter().map(|k| k.weight as u64).sum()
}

/// `count` historic events published within the week before `now`; about a fifth share the
/// millisecond of the event before them.
pub fn history(count: usize, seed: u64, now: i64, lag_ms: i64, cast: &Cast) -> Vec<Event> {
    let mut rng = Rng::new(seed ^ 0x0051_57E3);
    let mean_gap = 1000u64;
    let gaps: Vec<u32> = (0..count)
        .map(|_| {
            if rng.chance(0.2) {
                0
            } else {
                rng.below(2 * mean_gap) as u32 + 1
            }
        })
        .collect();
    let total: i128 = gaps.iter().map(|g| *g as i128).sum::<i128>().max(1);
    let start = now - WEEK;
    let tw = total_weight();
    let mut acc: i128 = 0;
    let mut out = Vec::with_capacity(count);
    for (i, g) in gaps.iter().enumerate() {
        acc += *g as i128;
        let mut ev = random_event(&mut rng, cast, tw);
        ev.published = start + (acc * (WEEK - 1) as i128 / total) as i64;
        ev.persisted = ev.published + rng.range(0, lag_ms.max(0));
        ev.seq = i as u32;
        out.push(ev);
    }
    out
}

/// Write `count` synthetic events published now.
pub fn append_synthetic(logs: &mut LogStore, cast: &Cast, count: usize, now: i64, seed: u64) {
    let mut rng = Rng::new(seed ^ (now as u64).rotate_left(17) ^ logs.visible().len() as u64);
    let tw = total_weight();
    for _ in 0..count {
        let ev = random_event(&mut rng, cast, tw);
        logs.append(ev, now);
    }
    logs.flush(now);
}

/// An event written by an API call.
pub fn live(event_type: &str, actor: u32, targets: [u32; 2], request_id: &str) -> Event {
    Event {
        published: 0,
        persisted: 0,
        seq: 0,
        kind: kind_index(event_type).unwrap_or(0),
        outcome: 0,
        actor,
        targets,
        request_id: Some(request_id.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_spans_the_last_week_in_published_order_with_shared_milliseconds() {
        let cast = Cast {
            admin: 0,
            users: vec![0, 1, 2],
            groups: vec![3],
            apps: vec![4],
        };
        let now = 1_709_287_200_000;
        let h = history(5000, 7, now, 0, &cast);
        assert_eq!(h.len(), 5000);
        assert!(h.windows(2).all(|w| w[0].published <= w[1].published));
        assert!(
            h.iter()
                .all(|e| e.published >= now - WEEK && e.published < now)
        );
        let ties = h
            .windows(2)
            .filter(|w| w[0].published == w[1].published)
            .count();
        assert!(ties > 500, "{ties}");
        assert!(
            h.iter().all(|e| e.persisted == e.published),
            "no lag, no delay"
        );
        let failures = h
            .iter()
            .filter(|e| KINDS[e.kind as usize].event_type == "user.session.start" && e.outcome != 0)
            .count();
        assert!(failures > 0);
    }
}
