//! Helpers for the admin tests: a small simulated org with a client for it, the requests the
//! simulator recorded (each checked against the operation table, i.e. the spec), its ground
//! truth, and the `oktasync` binary run against it.

use std::process::Stdio;

use okta_sim::{self as sim, Sim, SimConfig};
use oktasync::okta::api::ops;
use oktasync::okta::{ClientOptions, OktaClient};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use url::Url;

/// A simulated org and a client for it.
pub struct Org {
    pub sim: Sim,
    pub client: OktaClient,
    http: reqwest::Client,
}

/// One request the simulator received.
#[derive(Debug, Clone)]
pub struct Sent {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Value,
    pub body: Value,
}

impl Sent {
    /// The value of query parameter `name`.
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts method, path and the exact query parameters (in any order).
    pub fn is(&self, method: &str, path: &str, query: &[(&str, &str)]) {
        assert_eq!(
            (self.method.as_str(), self.path.as_str()),
            (method, path),
            "{self:?}"
        );
        let mut got: Vec<(&str, &str)> = self
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut want = query.to_vec();
        got.sort();
        want.sort();
        assert_eq!(got, want, "query of {method} {path}");
    }

    /// The operationId this request is, by the table.
    pub fn operation(&self) -> &'static str {
        ops::find(&self.method, &self.path).map_or("?", |o| o.id)
    }
}

/// Checks one request against the operation table: a known method and path, query names and
/// value types the operation takes, and its required body fields.
pub fn assert_conforms(sent: &Sent) {
    let op = ops::find(&sent.method, &sent.path)
        .unwrap_or_else(|| panic!("{} {} is no operation in the table", sent.method, sent.path));
    for (k, v) in &sent.query {
        op.check_param(k, v)
            .unwrap_or_else(|e| panic!("{} {}: {e}", sent.method, sent.path));
    }
    let body = (!sent.body.is_null()).then_some(&sent.body);
    op.check_body(body)
        .unwrap_or_else(|e| panic!("{} {}: {e}", sent.method, sent.path));
}

pub fn small() -> SimConfig {
    SimConfig {
        users: 40,
        logs: 60,
        groups: 5,
        apps: 3,
        ..SimConfig::default()
    }
}

pub async fn org() -> Org {
    org_with(small()).await
}

pub async fn org_with(config: SimConfig) -> Org {
    let sim = sim::spawn(config).await.expect("the simulator starts");
    let base = Url::parse(&sim.base_url).expect("the simulator's URL");
    let opts = ClientOptions {
        min_backoff: std::time::Duration::from_millis(10),
        ..ClientOptions::default()
    };
    let client = OktaClient::new(base, sim.token.clone().into(), opts).expect("a client");
    Org {
        sim,
        client,
        http: reqwest::Client::new(),
    }
}

/// What one run of the binary printed.
#[derive(Debug)]
pub struct CliOut {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CliOut {
    /// Stdout parsed as JSON; panics with both streams when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    pub fn ok(self) -> CliOut {
        assert_eq!(self.code, 0, "the command failed: {self:?}");
        self
    }
}

/// Runs `oktasync args…` with the org in the environment, `stdin` piped in.
pub async fn run_cli(base_url: &str, token: &str, args: &[&str], stdin: &str) -> CliOut {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_oktasync"))
        .args(args)
        .current_dir(dir.path())
        .env("OKTA_DOMAIN", base_url)
        .env("OKTA_API_TOKEN", token)
        .env_remove("OKTASYNC_CONFIG")
        .env_remove("OKTA_API_TOKEN_FILE")
        .env("RUST_LOG", "oktasync=warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.as_bytes())
            .await
            .expect("stdin is written");
    }
    let out = child.wait_with_output().await.expect("the binary ends");
    CliOut {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Org {
    /// Forgets the recorded requests.
    pub async fn reset(&self) {
        let url = format!("{}/__sim/requests/reset", self.sim.base_url);
        self.http.post(url).send().await.expect("reset answers");
    }

    /// Queues scripted answers (`{"status":500,"path_prefix":"/api/v1/groups",…}`).
    pub async fn script(&self, responses: Value) {
        let url = format!("{}/__sim/script", self.sim.base_url);
        let body = serde_json::json!({ "responses": responses });
        self.http
            .post(url)
            .json(&body)
            .send()
            .await
            .expect("script answers");
    }

    async fn admin(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.sim.base_url);
        let response = self.http.get(url).send().await.expect("admin answers");
        response.json().await.expect("admin JSON")
    }

    /// Every request recorded since the last reset, each checked against the spec table.
    pub async fn requests(&self) -> Vec<Sent> {
        let sent = self.requests_unchecked().await;
        sent.iter().for_each(assert_conforms);
        sent
    }

    /// The recorded requests without the spec check (for raw requests).
    pub async fn requests_unchecked(&self) -> Vec<Sent> {
        let recorded = self.admin("/__sim/requests").await;
        let items = recorded.as_array().cloned().unwrap_or_default();
        items
            .into_iter()
            .map(|r| Sent {
                method: r["method"].as_str().unwrap_or_default().to_owned(),
                path: r["path"].as_str().unwrap_or_default().to_owned(),
                query: url::form_urlencoded::parse(
                    r["query"].as_str().unwrap_or_default().as_bytes(),
                )
                .into_owned()
                .collect(),
                headers: r["headers"].clone(),
                body: r["body"].clone(),
            })
            .collect()
    }

    /// The one request recorded since the last reset.
    pub async fn only_request(&self) -> Sent {
        let mut sent = self.requests().await;
        assert_eq!(sent.len(), 1, "expected one request, got {sent:#?}");
        sent.remove(0)
    }

    /// The simulator's ground truth: users, groups with members, apps with users, hooks.
    pub async fn truth(&self) -> Value {
        self.admin("/__sim/truth?logs=false").await
    }

    /// The ids of the truth's `kind` (users, groups, apps, hooks) for which `keep` holds, sorted.
    pub async fn truth_ids(&self, kind: &str, keep: impl Fn(&Value) -> bool) -> Vec<String> {
        let truth = self.truth().await;
        let mut ids: Vec<String> = truth[kind]
            .as_array()
            .expect("a truth list")
            .iter()
            .filter(|x| keep(x))
            .map(|x| x["id"].as_str().expect("an id").to_owned())
            .collect();
        ids.sort();
        ids
    }

    /// The simulator's own view of a user's status (`None` once deleted).
    pub async fn status_of(&self, user_id: &str) -> Option<String> {
        let truth = self.admin("/__sim/truth?logs=false").await;
        truth["users"]
            .as_array()?
            .iter()
            .find(|u| u["id"] == user_id)
            .and_then(|u| u["status"].as_str().map(str::to_owned))
    }

    /// The id of some OKTA_GROUP (the kind whose members can be changed).
    pub async fn okta_group(&self) -> String {
        let groups = self
            .client
            .groups()
            .list(&Default::default())
            .unwrap()
            .collect(None)
            .await
            .unwrap();
        let group = groups
            .items
            .iter()
            .find(|g| g["type"] == "OKTA_GROUP")
            .expect("an OKTA_GROUP");
        group["id"].as_str().unwrap().to_owned()
    }

    /// The id of some user in `status`, by the simulator's truth.
    pub async fn user_in(&self, status: &str) -> Option<String> {
        let truth = self.admin("/__sim/truth?logs=false").await;
        truth["users"]
            .as_array()?
            .iter()
            .find(|u| u["status"] == status)
            .and_then(|u| u["id"].as_str().map(str::to_owned))
    }

    /// Runs the binary against this org.
    pub async fn cli(&self, args: &[&str]) -> CliOut {
        run_cli(&self.sim.base_url, &self.sim.token, args, "").await
    }

    /// Runs the binary with `stdin` piped in.
    pub async fn cli_with_stdin(&self, args: &[&str], stdin: &str) -> CliOut {
        run_cli(&self.sim.base_url, &self.sim.token, args, stdin).await
    }
}

/// A new ACTIVE user (with a password) made through the library, for tests that change one.
pub async fn new_active_user(org: &Org, login: &str) -> String {
    use oktasync::okta::api::{CredentialsInput, NewUser, Password, ProfileInput};
    let user = NewUser {
        profile: ProfileInput {
            login: Some(login.into()),
            email: Some(login.into()),
            first_name: Some("Test".into()),
            last_name: Some("User".into()),
            ..ProfileInput::default()
        },
        credentials: CredentialsInput {
            password: Some(Password::Plain("Initial-Pa55word!".into())),
            ..CredentialsInput::default()
        },
        activate: Some(true),
        ..NewUser::default()
    };
    let created = org
        .client
        .users()
        .create(&user)
        .await
        .expect("the user is created");
    created["id"].as_str().expect("an id").to_owned()
}
