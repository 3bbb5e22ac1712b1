//! The hook at Okta: `hook register` creates it, or finds it (by name, else by URL) and brings it
//! up to date, with a shared secret kept in the state database; then activates and verifies it.
//! `unregister` deactivates and deletes it; `status` puts Okta's view beside the receiver's.
//! The checks and the create/replace/keep decision are plain functions.

use std::path::Path;

use anyhow::{Context as _, bail};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::eligible::is_eligible;
use crate::okta::OktaClient;
use crate::okta::api::NewEventHook;
use crate::store::{HookRegistration, Store};

/// What `hook register` was asked for.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub name: String,
    pub url: String,
    pub events: Vec<String>,
    /// `{"type":"EXPRESSION_LANGUAGE","eventFilterMap":[…]}`.
    pub filter: Option<Value>,
    /// Extra headers Okta sends with each delivery.
    pub headers: Vec<(String, String)>,
    /// The header the shared secret travels in.
    pub secret_header: String,
}

/// What to do at Okta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Create,
    /// The hook with this id differs from what was asked (or its secret is not ours).
    Replace(String),
    /// The hook with this id is already as asked, with our secret.
    Keep(String),
}

/// Checks the request before anything is sent: the URL, each event type against Okta's
/// hook-eligible list (unless `any_event`), the filter's shape and the extra headers.
pub fn check(wanted: &Wanted, any_event: bool) -> Result<(), String> {
    check_url(&wanted.url)?;
    if wanted.events.is_empty() {
        return Err("--event: give at least one event type, e.g. user.lifecycle.create".into());
    }
    if !any_event && let Some(bad) = wanted.events.iter().find(|e| !is_eligible(e)) {
        return Err(format!(
            "--event {bad:?}: Okta does not deliver this event type to event hooks; \
             pick a hook-eligible type such as user.lifecycle.create, user.lifecycle.deactivate \
             or group.user_membership.add (or pass --allow-any-event if Okta made it eligible since)"
        ));
    }
    if let Some(filter) = &wanted.filter {
        check_filter(filter, &wanted.events)?;
    }
    for (name, _) in &wanted.headers {
        if name.eq_ignore_ascii_case(&wanted.secret_header) {
            return Err(format!(
                "--header {name}: this header carries the generated shared secret (hook.secret_header); choose another name"
            ));
        }
    }
    Ok(())
}

fn check_url(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| {
        format!("--url {url:?} is not a URL ({e}), e.g. https://hooks.example.com/okta/event-hook")
    })?;
    let loopback = parsed.host_str().is_some_and(crate::config::is_loopback);
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!(
            "--url {url:?}: Okta delivers only to https:// URLs; put the receiver behind a reverse proxy with a certificate (see examples/) or set hook.tls_cert and hook.tls_key"
        )),
    }
}

fn check_filter(filter: &Value, events: &[String]) -> Result<(), String> {
    let hint = r#"expected {"type":"EXPRESSION_LANGUAGE","eventFilterMap":[{"event":"user.lifecycle.create","condition":{"expression":"…"}}]}"#;
    if filter["type"] != "EXPRESSION_LANGUAGE" {
        return Err(format!(
            "--filter: type must be EXPRESSION_LANGUAGE; {hint}"
        ));
    }
    let Some(map) = filter["eventFilterMap"]
        .as_array()
        .filter(|m| !m.is_empty())
    else {
        return Err(format!(
            "--filter: eventFilterMap must be a non-empty list; {hint}"
        ));
    };
    for (i, entry) in map.iter().enumerate() {
        let Some(event) = entry["event"].as_str() else {
            return Err(format!(
                "--filter: eventFilterMap[{i}].event is missing; {hint}"
            ));
        };
        if !events.iter().any(|e| e == event) {
            return Err(format!(
                "--filter: eventFilterMap[{i}] filters {event:?}, which is not one of the --event types"
            ));
        }
        let expression = entry["condition"]["expression"]
            .as_str()
            .unwrap_or_default();
        if expression.trim().is_empty() {
            return Err(format!(
                "--filter: eventFilterMap[{i}].condition.expression is missing; {hint}"
            ));
        }
    }
    Ok(())
}

/// Create, replace or keep: the hook named `name` (else the one delivering to the URL) among
/// Okta's `hooks`; kept only when it matches and `ours` says it carries our secret.
pub fn plan(hooks: &[Value], wanted: &Wanted, ours: Option<&str>) -> Plan {
    let by_name = hooks.iter().find(|h| h["name"] == wanted.name.as_str());
    let found = by_name.or_else(|| {
        hooks
            .iter()
            .find(|h| h["channel"]["config"]["uri"] == wanted.url.as_str())
    });
    let Some(hook) = found else {
        return Plan::Create;
    };
    let id = hook["id"].as_str().unwrap_or_default().to_owned();
    if ours == Some(id.as_str()) && same_spec(hook, wanted) {
        Plan::Keep(id)
    } else {
        Plan::Replace(id)
    }
}

fn same_spec(hook: &Value, wanted: &Wanted) -> bool {
    let mut have: Vec<&str> = hook["events"]["items"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut want: Vec<&str> = wanted.events.iter().map(String::as_str).collect();
    have.sort_unstable();
    want.sort_unstable();
    want.dedup();
    let config = &hook["channel"]["config"];
    let headers: Vec<(&str, &str)> = config["headers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|h| Some((h["key"].as_str()?, h["value"].as_str()?)))
                .collect()
        })
        .unwrap_or_default();
    let wanted_headers: Vec<(&str, &str)> = wanted
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let filter = hook["events"].get("filter").filter(|f| !f.is_null());
    hook["name"] == wanted.name.as_str()
        && have == want
        && filter == wanted.filter.as_ref()
        && config["uri"] == wanted.url.as_str()
        && headers == wanted_headers
        && config["authScheme"]["key"] == wanted.secret_header.as_str()
}

/// Runs `f` on the state database, opened for this call only (never held across an await).
async fn with_store<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce(&Store) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let store = Store::open(&path)
            .with_context(|| format!("cannot open the state database {}", path.display()))?;
        f(&store)
    })
    .await
    .context("state database task failed")?
}

/// Creates or updates the hook, stores its secret, activates and verifies it; returns what
/// `hook register` prints.
pub async fn register(client: &OktaClient, state: &Path, wanted: Wanted) -> anyhow::Result<Value> {
    let org = client.org().to_string();
    let name = wanted.name.clone();
    let stored = with_store(state, move |s| Ok(s.hook_registration(&name)?)).await?;
    let stored = stored.filter(|r| r.org == org);
    let hooks = client.event_hooks().list()?.collect(None).await?.items;
    let ours = stored.as_ref().and_then(|r| r.hook_id.as_deref());
    let plan = plan(&hooks, &wanted, ours);
    let mut registration = HookRegistration {
        name: wanted.name.clone(),
        org,
        hook_id: match &plan {
            Plan::Create => None,
            Plan::Replace(id) | Plan::Keep(id) => Some(id.clone()),
        },
        url: wanted.url.clone(),
        secret_header: wanted.secret_header.clone(),
        secret: stored.map_or_else(super::new_secret, |r| r.secret),
    };
    // The secret is stored before Okta hears of it, so a receiver never refuses a hook we made.
    save(state, &registration).await?;
    let spec = new_hook(&wanted, &registration.secret);
    let hooks_api = client.event_hooks();
    let (hook, action) = match &plan {
        Plan::Create => (hooks_api.create(&spec).await?, "created"),
        Plan::Replace(id) => (hooks_api.replace(id, &spec).await?, "updated"),
        Plan::Keep(id) => (hooks_api.get(id).await?, "unchanged"),
    };
    let id = hook["id"].as_str().unwrap_or_default().to_owned();
    registration.hook_id = Some(id.clone());
    save(state, &registration).await?;
    let hook = activate_and_verify(client, &id, hook, &wanted.url).await?;
    Ok(summary(&hook, action))
}

async fn save(state: &Path, registration: &HookRegistration) -> anyhow::Result<()> {
    let registration = registration.clone();
    with_store(state, move |s| Ok(s.put_hook_registration(&registration)?)).await
}

fn new_hook(wanted: &Wanted, secret: &SecretString) -> NewEventHook {
    NewEventHook {
        name: wanted.name.clone(),
        url: wanted.url.clone(),
        description: Some("Events for oktasync's receiver (oktasync hook register)".into()),
        events: wanted.events.clone(),
        filter: wanted.filter.clone(),
        headers: wanted.headers.clone(),
        auth_header: Some((
            wanted.secret_header.clone(),
            SecretString::from(secret.expose_secret().to_owned()),
        )),
        activate: true,
    }
}

async fn activate_and_verify(
    client: &OktaClient,
    id: &str,
    mut hook: Value,
    url: &str,
) -> anyhow::Result<Value> {
    let hooks = client.event_hooks();
    if hook["status"] != "ACTIVE" {
        hook = hooks.activate(id).await?;
    }
    if hook["verificationStatus"] != "VERIFIED" {
        hook = hooks.verify(id).await.with_context(|| {
            format!(
                "Okta could not verify {url}: start the receiver first (`oktasync run` with [hook] listen, or `oktasync hook serve`), make sure {url} reaches it through your proxy, then run hook register again"
            )
        })?;
    }
    Ok(hook)
}

fn summary(hook: &Value, action: &str) -> Value {
    json!({
        "id": hook["id"],
        "name": hook["name"],
        "status": hook["status"],
        "verificationStatus": hook["verificationStatus"],
        "url": hook["channel"]["config"]["uri"],
        "events": hook["events"]["items"],
        "action": action,
    })
}

/// The hook called `name` at Okta: the registered id first, else by name.
async fn find(
    client: &OktaClient,
    name: &str,
    stored: Option<&HookRegistration>,
) -> anyhow::Result<Option<Value>> {
    let hooks = client.event_hooks();
    if let Some(id) = stored.and_then(|r| r.hook_id.as_deref()) {
        match hooks.get(id).await {
            Ok(hook) => return Ok(Some(hook)),
            Err(e) if e.status() == Some(404) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let all = hooks.list()?.collect(None).await?.items;
    Ok(all.into_iter().find(|h| h["name"] == name))
}

/// Deactivates and deletes the hook, and forgets its secret; returns what `unregister` prints.
pub async fn unregister(client: &OktaClient, state: &Path, name: &str) -> anyhow::Result<Value> {
    let key = name.to_owned();
    let stored = with_store(state, move |s| Ok(s.hook_registration(&key)?)).await?;
    let hook = find(client, name, stored.as_ref()).await?;
    let id = hook
        .as_ref()
        .and_then(|h| h["id"].as_str())
        .map(str::to_owned);
    if let (Some(hook), Some(id)) = (&hook, &id) {
        if hook["status"] != "INACTIVE" {
            client.event_hooks().deactivate(id).await?;
        }
        client.event_hooks().delete(id).await?;
    }
    let key = name.to_owned();
    let forgot = with_store(state, move |s| Ok(s.delete_hook_registration(&key)?)).await?;
    if id.is_none() && !forgot {
        bail!("no event hook named {name:?} at Okta or in the state database; nothing to remove");
    }
    Ok(json!({ "name": name, "id": id, "deleted": id.is_some(), "secret_forgotten": forgot }))
}

/// Okta's view of the hook beside the receiver's counters.
pub async fn status(client: &OktaClient, state: &Path, name: &str) -> anyhow::Result<Value> {
    let key = name.to_owned();
    let (stored, stats) = with_store(state, move |s| {
        Ok((s.hook_registration(&key)?, s.receiver_stats()?))
    })
    .await?;
    // The receiver's side is worth showing even when Okta cannot be asked.
    let (hook, okta_error) = match find(client, name, stored.as_ref()).await {
        Ok(hook) => (hook.unwrap_or(Value::Null), None),
        Err(e) => (Value::Null, Some(format!("{e:#}"))),
    };
    let status = match (&okta_error, hook["status"].as_str()) {
        (Some(_), _) => "UNKNOWN",
        (None, Some(s)) => s,
        (None, None) => "NOT_FOUND",
    };
    Ok(json!({
        "name": name,
        "id": hook["id"],
        "status": status,
        "okta_error": okta_error,
        "verificationStatus": hook["verificationStatus"],
        "url": hook["channel"]["config"]["uri"],
        "events": hook["events"]["items"],
        "secret_stored": stored.is_some(),
        "last_delivery_at": stats.last_delivery_at,
        "deliveries": stats.deliveries,
        "events_received": stats.events,
        "inbox": stats.inbox,
        "mirrored_via_hook": stats.mirrored_via_hook,
    }))
}

#[cfg(test)]
mod tests;
