//! How a stored System Log event looks from outside: its LogEvent JSON, the values its filter
//! attributes resolve to, and the compiled `filter`/`q` predicates of `GET /api/v1/logs`.

use super::catalog::{AGENTS, KINDS, LOCATIONS, Location, OUTCOMES};
use super::logs::{Ent, Event, LogStore, NONE};
use super::scim::{self, Lit, Op, Tree};
use super::util::{mix2, uuid_from};

/// Attributes a log filter can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Uuid,
    EventType,
    LegacyEventType,
    DisplayMessage,
    Severity,
    Version,
    Actor(EntPart),
    Target(EntPart),
    OutcomeResult,
    OutcomeReason,
    IpAddress,
    City,
    State,
    Country,
    Browser,
    Os,
    RawUserAgent,
    TransactionId,
    RequestId,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntPart {
    Id,
    Type,
    AltId,
    Display,
}

fn field_of(attr: &str) -> Result<Field, String> {
    let ent = |p: &str| match p {
        "id" => Some(EntPart::Id),
        "type" => Some(EntPart::Type),
        "alternateId" => Some(EntPart::AltId),
        "displayName" => Some(EntPart::Display),
        _ => None,
    };
    Ok(match attr {
        "published" => {
            return Err("published cannot be used in a filter; use since and until".into());
        }
        "uuid" => Field::Uuid,
        "eventType" => Field::EventType,
        "legacyEventType" => Field::LegacyEventType,
        "displayMessage" => Field::DisplayMessage,
        "severity" => Field::Severity,
        "version" => Field::Version,
        "outcome.result" => Field::OutcomeResult,
        "outcome.reason" => Field::OutcomeReason,
        "client.ipAddress" | "request.ipChain.ip" => Field::IpAddress,
        "client.geographicalContext.city" => Field::City,
        "client.geographicalContext.state" => Field::State,
        "client.geographicalContext.country" => Field::Country,
        "client.userAgent.browser" => Field::Browser,
        "client.userAgent.os" => Field::Os,
        "client.userAgent.rawUserAgent" => Field::RawUserAgent,
        "transaction.id" => Field::TransactionId,
        "debugContext.debugData.requestId" => Field::RequestId,
        "debugContext.debugData.url" | "debugContext.debugData.requestUri" => Field::Unknown,
        a => match a.split_once('.') {
            Some(("actor", p)) => ent(p).map(Field::Actor).unwrap_or(Field::Unknown),
            Some(("target", p)) => ent(p).map(Field::Target).unwrap_or(Field::Unknown),
            // Fields of Okta's LogEvent that these events leave empty match nothing.
            Some((top, _)) if LOG_EVENT_OBJECTS.contains(&top) => Field::Unknown,
            _ => return Err(format!("{a} is not a field of a System Log event")),
        },
    })
}

/// The object-valued top-level fields of Okta's LogEvent.
const LOG_EVENT_OBJECTS: [&str; 10] = [
    "actor",
    "authenticationContext",
    "client",
    "debugContext",
    "device",
    "outcome",
    "request",
    "securityContext",
    "target",
    "transaction",
];

/// A compiled leaf of a log filter.
#[derive(Debug, Clone)]
pub struct Pred {
    field: Field,
    op: Op,
    value: String,
}

/// Compile a System Log `filter`; every error is an E0000053 for the caller.
pub fn compile_filter(expr: &str) -> Result<Tree<Pred>, String> {
    let tree = scim::parse(expr)?;
    tree.compile(&|c: &scim::Cond| {
        let field = field_of(&c.attr)?;
        if matches!(
            c.attr.as_str(),
            "debugContext.debugData.url" | "debugContext.debugData.requestUri"
        ) && c.op == Op::Co
        {
            return Err(format!("co is not supported on {}", c.attr));
        }
        let value = match &c.value {
            Lit::Str(s) => s.clone(),
            Lit::Num(n) => n.to_string(),
            Lit::Bool(b) => b.to_string(),
            Lit::Null => String::new(),
        };
        Ok(Pred {
            field,
            op: c.op,
            value,
        })
    })
}

/// Split `q` into lower-cased keywords (at most 10 of at most 40 characters).
pub fn keywords(q: &str) -> Result<Vec<String>, String> {
    let words: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
    if words.len() > 10 || words.iter().any(|w| w.chars().count() > 40) {
        return Err("q allows at most 10 keywords of at most 40 characters".into());
    }
    Ok(words)
}

/// Read-only view of one event with the store it lives in.
pub struct View<'a> {
    pub store: &'a LogStore,
    pub ev: &'a Event,
}

impl<'a> View<'a> {
    fn h(&self, salt: u64) -> u64 {
        mix2(self.ev.seq as u64 ^ (self.store.seed << 32), salt)
    }

    pub fn loc(&self) -> &'static Location {
        let actor = self.ev.actor as u64;
        &LOCATIONS[(mix2(actor, self.store.seed) % LOCATIONS.len() as u64) as usize]
    }

    pub fn agent(&self) -> &'static (&'static str, &'static str, &'static str) {
        &AGENTS[(self.h(2) % AGENTS.len() as u64) as usize]
    }

    pub fn actor(&self) -> Option<&'a Ent> {
        self.store.ent(self.ev.actor)
    }

    pub fn targets(&self) -> impl Iterator<Item = &'a Ent> + '_ {
        self.ev
            .targets
            .iter()
            .filter(|t| **t != NONE)
            .filter_map(|t| self.store.ent(*t))
    }

    pub fn uuid(&self) -> String {
        uuid_from(self.ev.seq as u64, self.store.seed)
    }

    pub fn request_id(&self) -> String {
        match &self.ev.request_id {
            Some(r) => r.to_string(),
            None => format!("{:016x}{:016x}", self.h(3), self.h(4)),
        }
    }

    pub fn outcome(&self) -> (&'static str, Option<&'static str>) {
        OUTCOMES[self.ev.outcome as usize % OUTCOMES.len()]
    }

    /// Call `f` on each value the field has (targets may give several); true if any matched.
    fn any_value(&self, field: Field, f: &dyn Fn(&str) -> bool) -> bool {
        let k = &KINDS[self.ev.kind as usize];
        let part = |e: &Ent, p: EntPart| -> bool {
            f(match p {
                EntPart::Id => &e.id,
                EntPart::Type => e.kind,
                EntPart::AltId => &e.alt,
                EntPart::Display => &e.display,
            })
        };
        match field {
            Field::Uuid => f(&self.uuid()),
            Field::EventType => f(k.event_type),
            Field::LegacyEventType => !k.legacy.is_empty() && f(k.legacy),
            Field::DisplayMessage => f(k.display),
            Field::Severity => f(k.severity),
            Field::Version => f("0"),
            Field::Actor(p) => self.actor().is_some_and(|e| part(e, p)),
            Field::Target(p) => self.targets().any(|e| part(e, p)),
            Field::OutcomeResult => f(self.outcome().0),
            Field::OutcomeReason => self.outcome().1.is_some_and(f),
            Field::IpAddress => f(self.loc().0),
            Field::City => f(self.loc().1),
            Field::State => f(self.loc().2),
            Field::Country => f(self.loc().3),
            Field::Browser => f(self.agent().2),
            Field::Os => f(self.agent().1),
            Field::RawUserAgent => f(self.agent().0),
            Field::TransactionId | Field::RequestId => f(&self.request_id()),
            Field::Unknown => false,
        }
    }

    pub fn matches(&self, filter: Option<&Tree<Pred>>, words: &[String]) -> bool {
        let ok = filter.is_none_or(|t| {
            t.eval(&|p: &Pred| match p.op {
                Op::Pr => self.any_value(p.field, &|_| true),
                Op::Ne => !self.any_value(p.field, &|v| v == p.value),
                op => self.any_value(p.field, &|v| scim::str_matches(op, v, &p.value, false)),
            })
        });
        ok && (words.is_empty() || self.keywords_match(words))
    }

    fn keywords_match(&self, words: &[String]) -> bool {
        let fields = [
            Field::EventType,
            Field::DisplayMessage,
            Field::Actor(EntPart::AltId),
            Field::Actor(EntPart::Display),
            Field::Actor(EntPart::Id),
            Field::Target(EntPart::AltId),
            Field::Target(EntPart::Display),
            Field::Target(EntPart::Id),
            Field::OutcomeResult,
            Field::IpAddress,
            Field::City,
            Field::Country,
            Field::Severity,
        ];
        words.iter().all(|w| {
            fields
                .iter()
                .any(|fl| self.any_value(*fl, &|v| keyword_matches(v, w)))
        })
    }
}

/// Okta's `q`: a keyword matches a whole value, a whitespace-separated word of it, or any part
/// of such a word split at hyphens and other punctuation (case-insensitive), never a fragment.
fn keyword_matches(value: &str, keyword: &str) -> bool {
    let value = value.to_lowercase();
    value == keyword
        || value.split_whitespace().any(|word| {
            word == keyword
                || word
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|part| part == keyword)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> LogStore {
        let mut s = LogStore::new(7, 0);
        let a = s.add_ent("User", "00uADMIN", "admin@example.com", "Ada Admin");
        let t = s.add_ent("User", "00uTARGET", "tina@example.com", "Tina T");
        let ev = |seq, kind: &str, outcome| Event {
            published: 1000,
            persisted: 1000,
            seq,
            kind: super::super::catalog::kind_index(kind).unwrap(),
            outcome,
            actor: a,
            targets: [t, NONE],
            request_id: None,
        };
        s.load(
            vec![
                ev(0, "user.session.start", 1),
                ev(1, "user.lifecycle.create", 0),
            ],
            2000,
        );
        s
    }

    #[test]
    fn log_filters_select_events_by_their_fields() {
        let s = store();
        let count = |f: &str| {
            let t = compile_filter(f).unwrap();
            s.visible()
                .iter()
                .filter(|e| View { store: &s, ev: e }.matches(Some(&t), &[]))
                .count()
        };
        let cases = [
            (r#"eventType eq "user.session.start""#, 1),
            (r#"outcome.result eq "FAILURE""#, 1),
            (r#"target.id eq "00uTARGET""#, 2),
            (r#"actor.alternateId sw "admin""#, 2),
            (r#"eventType ew ".create" or severity eq "WARN""#, 1),
            (r#"not (eventType eq "user.session.start")"#, 1),
            (r#"eventType ne "user.session.start""#, 1),
            (r#"outcome.reason pr"#, 1),
            (r#"securityContext.isProxy eq "true""#, 0),
        ];
        for (f, want) in cases {
            assert_eq!(count(f), want, "{f}");
        }
    }

    #[test]
    fn log_filters_refuse_published_and_broken_syntax() {
        for f in [
            r#"published gt "2024-01-01T00:00:00Z""#,
            "eventType eq",
            r#"debugContext.debugData.url co "x""#,
            r#"colour eq "red""#,
            r#"eventTyp eq "user.session.start""#,
        ] {
            assert!(compile_filter(f).is_err(), "{f}");
        }
    }

    #[test]
    fn keyword_search_is_case_insensitive_and_needs_every_word() {
        let s = store();
        let n = |q: &str| {
            let w = keywords(q).unwrap();
            s.visible()
                .iter()
                .filter(|e| View { store: &s, ev: e }.matches(None, &w))
                .count()
        };
        assert_eq!(n("TINA login"), 1);
        assert_eq!(n("tina"), 2);
        assert_eq!(n("tina nobody"), 0);
        assert_eq!(n("tin"), 0, "a keyword, not a substring");
        assert_eq!(n("tina@example.com"), 2, "a whole value");
        assert!(
            keyword_matches("Jean-Luc Picard", "luc"),
            "a hyphenated part"
        );
        assert!(keyword_matches("Jean-Luc Picard", "jean-luc"));
        assert!(!keyword_matches("Jean-Luc Picard", "pica"));
        assert!(keywords(&"w ".repeat(11)).is_err());
    }
}
