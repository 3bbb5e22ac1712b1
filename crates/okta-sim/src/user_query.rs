//! `GET /api/v1/users` query semantics: compile `search` and `filter` into typed predicates
//! over the user struct, order results by (sort key, id) and cut pages with a cursor so that
//! users sharing a timestamp are never skipped or repeated.

use std::borrow::Cow;

use super::cursor;
use super::model::{Org, PVal, User};
use super::scim::{self, Lit, Op, Tree};
use super::search_index::View;
use super::util::parse_ms;

#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Id,
    Status,
    Created,
    Activated,
    StatusChanged,
    LastUpdated,
    LastLogin,
    PasswordChanged,
    TypeId,
    Profile(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Str(String),
    Time(i64),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone)]
pub struct Pred {
    field: Field,
    op: Op,
    val: Val,
    fold: bool,
}

fn field_of(attr: &str) -> Option<Field> {
    Some(match attr {
        "id" => Field::Id,
        "status" => Field::Status,
        "created" => Field::Created,
        "activated" => Field::Activated,
        "statusChanged" => Field::StatusChanged,
        "lastUpdated" => Field::LastUpdated,
        "lastLogin" => Field::LastLogin,
        "passwordChanged" => Field::PasswordChanged,
        "type.id" => Field::TypeId,
        a => Field::Profile(
            a.strip_prefix("profile.")
                .filter(|k| !k.is_empty())?
                .to_string(),
        ),
    })
}

fn is_time(f: &Field) -> bool {
    matches!(
        f,
        Field::Created
            | Field::Activated
            | Field::StatusChanged
            | Field::LastUpdated
            | Field::LastLogin
            | Field::PasswordChanged
    )
}

fn leaf(c: &scim::Cond, fold: bool) -> Result<Pred, String> {
    let field = field_of(&c.attr).ok_or_else(|| format!("unknown attribute {}", c.attr))?;
    let val = match (&c.value, is_time(&field)) {
        (Lit::Str(s), true) => Val::Time(parse_ms(s).ok_or_else(|| format!("invalid date {s:?}"))?),
        (Lit::Str(s), false) => Val::Str(if fold { s.to_lowercase() } else { s.clone() }),
        (Lit::Num(n), _) => Val::Num(*n),
        (Lit::Bool(b), _) => Val::Bool(*b),
        (Lit::Null, _) => Val::Null,
    };
    Ok(Pred {
        field,
        op: c.op,
        val,
        fold,
    })
}

/// Compile a `search` expression (E0000031 on error).
pub fn compile_search(expr: &str) -> Result<Tree<Pred>, String> {
    let t = scim::parse(expr)?;
    if t.has_not() {
        return Err("not is not supported in search".into());
    }
    t.compile(&|c: &scim::Cond| {
        if matches!(c.op, Op::Ne | Op::Ew) {
            return Err(format!("operator {:?} is not supported", c.op));
        }
        let co_ok = ["profile.firstName", "profile.lastName", "profile.email", "profile.login"];
        if c.op == Op::Co && !co_ok.contains(&c.attr.as_str()) {
            return Err(format!(
                "co is supported only on profile.firstName, profile.lastName, profile.email and profile.login, not {}",
                c.attr
            ));
        }
        leaf(c, true)
    })
}

/// Compile a `filter` expression: fewer attributes, `eq` only (ranges on lastUpdated).
pub fn compile_filter(expr: &str) -> Result<Tree<Pred>, String> {
    let t = scim::parse(expr)?;
    if t.has_not() {
        return Err("not is not supported in filter".into());
    }
    t.compile(&|c: &scim::Cond| {
        let allowed = [
            "status",
            "lastUpdated",
            "id",
            "profile.login",
            "profile.email",
            "profile.firstName",
            "profile.lastName",
        ];
        if !allowed.contains(&c.attr.as_str()) {
            return Err(format!("{} cannot be used in filter", c.attr));
        }
        let range = matches!(c.op, Op::Gt | Op::Ge | Op::Lt | Op::Le);
        if !(c.op == Op::Eq || range && c.attr == "lastUpdated") {
            return Err(format!(
                "operator {:?} is not supported on {}",
                c.op, c.attr
            ));
        }
        leaf(c, false)
    })
}

fn time_of(u: &User, f: &Field) -> Option<i64> {
    match f {
        Field::Created => Some(u.created),
        Field::Activated => u.activated,
        Field::StatusChanged => u.status_changed,
        Field::LastUpdated => Some(u.last_updated),
        Field::LastLogin => u.last_login,
        Field::PasswordChanged => u.password_changed,
        _ => None,
    }
}

fn pval<'a>(u: &'a User, f: &Field) -> Option<&'a PVal> {
    match f {
        Field::Profile(k) => u.profile.get(k),
        _ => None,
    }
}

fn match_str(p: &Pred, s: &str) -> bool {
    match &p.val {
        Val::Str(l) => scim::str_matches(p.op, s, l, p.fold),
        Val::Num(n) => s
            .parse::<f64>()
            .ok()
            .is_some_and(|v| scim::ord_matches(p.op, v.total_cmp(n))),
        _ => false,
    }
}

fn match_json(p: &Pred, v: &serde_json::Value) -> bool {
    match (v, &p.val) {
        (serde_json::Value::Array(items), _) => items.iter().any(|i| match_json(p, i)),
        (serde_json::Value::String(s), _) => match_str(p, s),
        (serde_json::Value::Bool(b), Val::Bool(l)) => scim::ord_matches(p.op, b.cmp(l)),
        (serde_json::Value::Bool(b), Val::Str(l)) => {
            scim::ord_matches(p.op, b.to_string().as_str().cmp(l))
        }
        (serde_json::Value::Number(n), Val::Num(l)) => n
            .as_f64()
            .is_some_and(|x| scim::ord_matches(p.op, x.total_cmp(l))),
        _ => false,
    }
}

/// Evaluate one predicate against a user.
pub fn test(p: &Pred, u: &User, org: &Org) -> bool {
    if is_time(&p.field) {
        let t = time_of(u, &p.field);
        return match (p.op, t, &p.val) {
            (Op::Pr, t, _) => t.is_some(),
            (op, Some(t), Val::Time(l)) => scim::ord_matches(op, t.cmp(l)),
            _ => false,
        };
    }
    match &p.field {
        Field::Id | Field::Status | Field::TypeId if p.op == Op::Pr => true,
        Field::Id => match_str(p, &u.id),
        Field::Status => match_str(p, u.status.as_str()),
        Field::TypeId => match_str(p, org.type_id(u.type_idx)),
        f => match (p.op, pval(u, f)) {
            (Op::Pr, v) => v.is_some_and(|v| *v != PVal::Null),
            (_, Some(PVal::Str(s))) => match_str(p, s),
            (_, Some(PVal::Json(j))) => match_json(p, j),
            _ => false,
        },
    }
}

/// A sort position: the sort key, then the id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key<'a> {
    T(i64),
    S(Cow<'a, str>),
}

/// How to order a search.
#[derive(Debug, Clone)]
pub struct Sort {
    pub by: Field,
    pub desc: bool,
}

pub fn parse_sort(by: Option<&str>, order: Option<&str>) -> Result<Sort, String> {
    let by = match by {
        None => Field::Id,
        Some(b) => field_of(b).ok_or_else(|| format!("cannot sort by {b}"))?,
    };
    let desc = match order.map(str::to_ascii_lowercase).as_deref() {
        None | Some("asc") | Some("ascending") => false,
        Some("desc") | Some("descending") => true,
        Some(o) => return Err(format!("invalid sortOrder {o}")),
    };
    Ok(Sort { by, desc })
}

pub fn key_of<'a>(u: &'a User, org: &'a Org, by: &Field) -> Key<'a> {
    if is_time(by) {
        return Key::T(time_of(u, by).unwrap_or(i64::MIN));
    }
    Key::S(match by {
        Field::Id => Cow::Borrowed(u.id.as_str()),
        Field::Status => Cow::Borrowed(u.status.as_str()),
        Field::TypeId => Cow::Borrowed(org.type_id(u.type_idx)),
        f => match pval(u, f) {
            Some(PVal::Str(s)) => Cow::Owned(s.to_lowercase()),
            Some(PVal::Json(j)) => Cow::Owned(j.to_string()),
            _ => Cow::Borrowed(""),
        },
    })
}

pub fn encode_pos(k: &Key<'_>, id: &str) -> String {
    let k = match k {
        Key::T(t) => format!("t{t}"),
        Key::S(s) => format!(
            "s{}",
            s.bytes().map(|b| format!("{b:02x}")).collect::<String>()
        ),
    };
    cursor::encode("s", &[&k, id])
}

pub fn decode_pos(c: &str) -> Option<(Key<'static>, String)> {
    let f = cursor::decode("s", c)?;
    let [k, id] = f.as_slice() else { return None };
    let key = match k.split_at_checked(1)? {
        ("t", t) => Key::T(t.parse().ok()?),
        ("s", hex) => {
            let bytes: Option<Vec<u8>> = (0..hex.len())
                .step_by(2)
                .map(|i| {
                    hex.get(i..i + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                })
                .collect();
            Key::S(Cow::Owned(String::from_utf8(bytes?).ok()?))
        }
        _ => return None,
    };
    Some((key, id.clone()))
}

/// Users ordered by one sort key (then id), rebuilt only when the org has changed, so a page
/// of a sorted search costs a binary search plus the page, not a pass over every user.
#[derive(Debug)]
pub struct SortIndex {
    /// The org's version and the search index's generation it was built at.
    version: (u64, u64),
    by: Field,
    entries: Vec<(Key<'static>, Box<str>)>,
}

fn owned(k: Key<'_>) -> Key<'static> {
    match k {
        Key::T(t) => Key::T(t),
        Key::S(s) => Key::S(Cow::Owned(s.into_owned())),
    }
}

/// The index for `by` over the users a search sees, from the cache when neither the org nor
/// the search index has changed since it was built.
pub fn index<'c>(
    cache: &'c mut Option<SortIndex>,
    users: View<'_>,
    generation: u64,
    by: &Field,
) -> &'c SortIndex {
    let version = (users.org.version, generation);
    let fresh = cache
        .as_ref()
        .is_some_and(|c| c.version == version && c.by == *by);
    if !fresh {
        let org = users.org;
        let mut entries: Vec<(Key<'static>, Box<str>)> = users
            .users()
            .map(|u| (owned(key_of(u, org, by)), u.id.as_str().into()))
            .collect();
        entries.sort_unstable();
        *cache = Some(SortIndex {
            version,
            by: by.clone(),
            entries,
        });
    }
    match cache {
        Some(c) => c,
        None => unreachable!("the cache was just filled"),
    }
}

/// One page of matching users in (key, id) order after `after`, and whether more follow.
pub fn sorted_page<'a>(
    idx: &SortIndex,
    users: View<'a>,
    keep: &dyn Fn(&User) -> bool,
    desc: bool,
    after: Option<&(Key<'static>, String)>,
    limit: usize,
) -> (Vec<&'a User>, bool) {
    let pos = |(k, id): &(Key<'static>, String)| {
        let probe = (k, id.as_str());
        if desc {
            idx.entries
                .partition_point(|(ek, eid)| (ek, &**eid) < probe)
        } else {
            idx.entries
                .partition_point(|(ek, eid)| (ek, &**eid) <= probe)
        }
    };
    let users = |slice: &'_ [(Key<'static>, Box<str>)]| -> Vec<&'a User> {
        let found = |(_, id): &(Key<'static>, Box<str>)| users.get(id).filter(|u| keep(u));
        if desc {
            slice
                .iter()
                .rev()
                .filter_map(found)
                .take(limit + 1)
                .collect()
        } else {
            slice.iter().filter_map(found).take(limit + 1).collect()
        }
    };
    let mut page = match (after, desc) {
        (None, _) => users(&idx.entries),
        (Some(a), false) => users(&idx.entries[pos(a)..]),
        (Some(a), true) => users(&idx.entries[..pos(a)]),
    };
    let more = page.len() > limit;
    page.truncate(limit);
    (page, more)
}

#[cfg(test)]
mod tests;
