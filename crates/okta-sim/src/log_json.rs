//! Writing System Log events as Okta's LogEvent JSON straight from the compact store, without
//! building a `serde_json::Value` per event (a page of 1000 events is about 1.7 MB).

use serde::Serialize;

use super::catalog::KINDS;
use super::log_view::View;
use super::logs::{Ent, Event, LogStore};
use super::util::{fmt_ms, mix2};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EntOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    alternate_id: &'a str,
    display_name: &'a str,
    detail_entry: Option<()>,
}

impl<'a> EntOut<'a> {
    fn of(e: Option<&'a Ent>) -> Self {
        match e {
            Some(e) => EntOut {
                id: &e.id,
                kind: e.kind,
                alternate_id: &e.alt,
                display_name: &e.display,
                detail_entry: None,
            },
            None => EntOut {
                id: "unknown",
                kind: "PublicClientApp",
                alternate_id: "unknown",
                display_name: "unknown",
                detail_entry: None,
            },
        }
    }
}

#[derive(Serialize, Clone, Copy)]
#[serde(rename_all = "camelCase")]
struct Geo<'a> {
    city: &'a str,
    state: &'a str,
    country: &'a str,
    postal_code: &'a str,
    geolocation: LatLon,
}

#[derive(Serialize, Clone, Copy)]
struct LatLon {
    lat: f64,
    lon: f64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserAgent<'a> {
    raw_user_agent: &'a str,
    os: &'a str,
    browser: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Client<'a> {
    user_agent: UserAgent<'a>,
    zone: &'a str,
    device: &'a str,
    id: Option<()>,
    ip_address: &'a str,
    geographical_context: Geo<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthContext<'a> {
    authentication_provider: Option<()>,
    credential_provider: Option<()>,
    credential_type: Option<()>,
    issuer: Option<()>,
    interface: Option<()>,
    authentication_step: u8,
    external_session_id: &'a str,
    root_session_id: &'a str,
}

#[derive(Serialize)]
struct Outcome<'a> {
    result: &'a str,
    reason: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Security<'a> {
    as_number: u32,
    as_org: &'a str,
    isp: &'a str,
    domain: Option<()>,
    is_proxy: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DebugData<'a> {
    request_id: &'a str,
    request_uri: &'a str,
    url: &'a str,
    threat_suspected: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DebugContext<'a> {
    debug_data: DebugData<'a>,
}

#[derive(Serialize)]
struct Transaction<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
    detail: Empty,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Hop<'a> {
    ip: &'a str,
    geographical_context: Geo<'a>,
    version: &'a str,
    source: Option<()>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Request<'a> {
    ip_chain: [Hop<'a>; 1],
}

/// One LogEvent, field order as Okta sends it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogEventOut<'a> {
    uuid: String,
    published: String,
    event_type: &'a str,
    version: &'a str,
    severity: &'a str,
    legacy_event_type: Option<&'a str>,
    display_message: &'a str,
    actor: EntOut<'a>,
    client: Client<'a>,
    device: Option<()>,
    authentication_context: AuthContext<'a>,
    outcome: Outcome<'a>,
    security_context: Security<'a>,
    debug_context: DebugContext<'a>,
    transaction: Transaction<'a>,
    request: Request<'a>,
    target: Option<Vec<EntOut<'a>>>,
}

fn client<'a>(v: &View<'a>, geo: Geo<'a>) -> Client<'a> {
    let &(ua, os, browser) = v.agent();
    Client {
        user_agent: UserAgent {
            raw_user_agent: ua,
            os,
            browser,
        },
        zone: "null",
        device: "Computer",
        id: None,
        ip_address: v.loc().0,
        geographical_context: geo,
    }
}

fn auth_context(session: &str) -> AuthContext<'_> {
    AuthContext {
        authentication_provider: None,
        credential_provider: None,
        credential_type: None,
        issuer: None,
        interface: None,
        authentication_step: 0,
        external_session_id: session,
        root_session_id: session,
    }
}

fn debug_context(rid: &str) -> DebugContext<'_> {
    let debug_data = DebugData {
        request_id: rid,
        request_uri: "/api/v1/users",
        url: "/api/v1/users?",
        threat_suspected: "false",
    };
    DebugContext { debug_data }
}

fn write_event(v: &View<'_>, out: &mut Vec<u8>) -> serde_json::Result<()> {
    let k = &KINDS[v.ev.kind as usize];
    let &(ip, city, state, country, postal, lat, lon, isp) = v.loc();
    let geo = Geo {
        city,
        state,
        country,
        postal_code: postal,
        geolocation: LatLon { lat, lon },
    };
    let (result, reason) = v.outcome();
    let rid = v.request_id();
    let session = format!(
        "102{:022x}",
        mix2(v.ev.actor as u64, v.store.seed) as u128 * 31
    );
    let targets: Vec<EntOut<'_>> = v.targets().map(|e| EntOut::of(Some(e))).collect();
    let security = Security {
        as_number: 7922 + v.ev.actor % 5,
        as_org: isp,
        isp,
        domain: None,
        is_proxy: false,
    };
    let hop = Hop {
        ip,
        geographical_context: geo,
        version: "V4",
        source: None,
    };
    let ev = LogEventOut {
        uuid: v.uuid(),
        published: fmt_ms(v.ev.published),
        event_type: k.event_type,
        version: "0",
        severity: k.severity,
        legacy_event_type: (!k.legacy.is_empty()).then_some(k.legacy),
        display_message: k.display,
        actor: EntOut::of(v.actor()),
        client: client(v, geo),
        device: None,
        authentication_context: auth_context(&session),
        outcome: Outcome { result, reason },
        security_context: security,
        debug_context: debug_context(&rid),
        transaction: Transaction {
            kind: if k.self_service { "WEB" } else { "JOB" },
            id: &rid,
            detail: Empty {},
        },
        request: Request { ip_chain: [hop] },
        target: (!targets.is_empty()).then_some(targets),
    };
    serde_json::to_writer(out, &ev)
}

/// A JSON array of events.
pub fn page(store: &LogStore, events: &[&Event]) -> String {
    let mut out = Vec::with_capacity(events.len() * 1800 + 2);
    out.push(b'[');
    for (i, ev) in events.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Writing into a Vec cannot fail, and every field serializes.
        let _ = write_event(&View { store, ev }, &mut out);
    }
    out.push(b']');
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::NONE;

    #[test]
    fn events_render_as_log_event_json() {
        let mut s = LogStore::new(7, 0);
        let a = s.add_ent("User", "00uADMIN", "admin@example.com", "Ada Admin");
        let t = s.add_ent("User", "00uTARGET", "tina@example.com", "Tina T");
        let kind = crate::catalog::kind_index("user.lifecycle.create").unwrap_or(0);
        let ev = Event {
            published: 1000,
            persisted: 1000,
            seq: 0,
            kind,
            outcome: 0,
            actor: a,
            targets: [t, NONE],
            request_id: None,
        };
        s.load(
            vec![
                ev.clone(),
                Event {
                    targets: [NONE, NONE],
                    seq: 1,
                    ..ev
                },
            ],
            2000,
        );
        let evs: Vec<&Event> = s.visible().iter().collect();
        let v: serde_json::Value = serde_json::from_str(&page(&s, &evs)).unwrap();
        let keys = [
            "uuid",
            "published",
            "eventType",
            "version",
            "severity",
            "legacyEventType",
            "displayMessage",
            "actor",
            "client",
            "device",
            "authenticationContext",
            "outcome",
            "securityContext",
            "debugContext",
            "transaction",
            "request",
            "target",
        ];
        for k in keys {
            assert!(v[0].get(k).is_some(), "{k}");
        }
        assert_eq!(v[0]["version"], "0");
        assert_eq!(v[0]["published"], "1970-01-01T00:00:01.000Z");
        assert_eq!(v[0]["target"][0]["id"], "00uTARGET");
        assert!(v[0]["client"]["geographicalContext"]["geolocation"]["lat"].is_number());
        assert!(v[1]["target"].is_null());
        assert_eq!(
            v[0]["debugContext"]["debugData"]["requestId"],
            v[0]["transaction"]["id"]
        );
    }
}
