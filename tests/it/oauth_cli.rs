//! The binary with each OAuth 2.0 connection, as people run it: the admin commands and `sync`
//! with client credentials and with an authorization-code login, with and without DPoP; the
//! login, refresh-token rotation and logout; and no secret in any output, at any log level.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use okta_sim::{OAuthApp, Sim, SimConfig};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::requests;
use crate::oauth::{CLIENT_ID, all_scopes, fixture, service_app, sim_with};

const WEB_ID: &str = "0oa-web-app";
const WEB_SECRET: &str = "web-secret-7b2f9c";

/// A connection as the environment and config file give it, with its own state directory.
struct Conn {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
}

fn client_credentials(sim: &Sim) -> Conn {
    let dir = tempfile::tempdir().unwrap();
    let env = vec![
        ("OKTA_AUTH", "client_credentials".to_owned()),
        ("OKTA_CLIENT_ID", CLIENT_ID.to_owned()),
        (
            "OKTA_PRIVATE_KEY_FILE",
            fixture("rsa-pkcs1.pem").display().to_string(),
        ),
        ("OKTA_KEY_ID", "k1".to_owned()),
        ("OKTA_SCOPES", all_scopes().join(" ")),
    ];
    conn(sim, dir, env, 0)
}

fn authorization_code(sim: &Sim, port: u16) -> Conn {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("client-secret");
    std::fs::write(&secret, WEB_SECRET).unwrap();
    let mut scopes = all_scopes();
    scopes.push("offline_access".into());
    let env = vec![
        ("OKTA_AUTH", "authorization_code".to_owned()),
        ("OKTA_CLIENT_ID", WEB_ID.to_owned()),
        ("OKTA_CLIENT_SECRET_FILE", secret.display().to_string()),
        ("OKTA_SCOPES", scopes.join(" ")),
    ];
    conn(sim, dir, env, port)
}

fn conn(
    sim: &Sim,
    dir: tempfile::TempDir,
    mut env: Vec<(&'static str, String)>,
    port: u16,
) -> Conn {
    let config = dir.path().join("oktasync.toml");
    std::fs::write(
        &config,
        format!("[okta]\nredirect_port = {}\n", port.max(1)),
    )
    .unwrap();
    env.push(("OKTASYNC_CONFIG", config.display().to_string()));
    env.push(("OKTA_DOMAIN", sim.base_url.clone()));
    env.push((
        "OKTASYNC_STATE",
        dir.path().join("state.db").display().to_string(),
    ));
    Conn { dir, env }
}

/// A web app whose redirect URI is on `port`.
fn web_app(dpop: bool, port: u16) -> OAuthApp {
    let mut scopes = all_scopes();
    scopes.push("offline_access".into());
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let mut app = OAuthApp::web(WEB_ID, Some(WEB_SECRET.to_owned()), vec![redirect], scopes);
    app.dpop = dpop;
    app
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// What one run printed.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Conn {
    fn command(&self, args: &[&str], log: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_oktasync"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("OKTA_API_TOKEN")
            .env_remove("OKTA_API_TOKEN_FILE")
            .env("RUST_LOG", log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    async fn run_at(&self, args: &[&str], log: &str) -> Out {
        let out = self
            .command(args, log)
            .output()
            .await
            .expect("the binary runs");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    async fn ok(&self, args: &[&str]) -> Out {
        let out = self.run_at(args, "oktasync=warn").await;
        assert_eq!(
            out.code, 0,
            "{args:?} failed:\n{}\n{}",
            out.stdout, out.stderr
        );
        out
    }

    /// `auth login --no-browser`, approving at the printed URL as a person would.
    async fn login(&self) -> Out {
        let mut child = self
            .command(
                &["auth", "login", "--no-browser", "--timeout", "20"],
                "oktasync=warn",
            )
            .spawn()
            .expect("auth login starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let url = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(line) = lines.next_line().await.expect("stderr") {
                if let (Some(at), true) = (line.find("http"), line.contains("/oauth2/v1/authorize"))
                {
                    return line[at..].trim().to_owned();
                }
            }
            panic!("auth login printed no authorize URL")
        })
        .await
        .expect("the authorize URL within 20 s");
        let page = reqwest::get(&url)
            .await
            .expect("the approval redirects to the callback");
        assert_eq!(page.status(), 200, "the callback page answers");
        let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
            .await
            .expect("auth login ends after the callback")
            .expect("auth login's output");
        let mut stderr = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            stderr.push_str(&line);
            stderr.push('\n');
        }
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr,
        }
    }
}

/// One admin command of each family, a write with a login in its path, and a sync.
async fn every_family_works(conn: &Conn, tag: &str) {
    for args in [
        vec!["users", "list", "--limit", "3"],
        vec!["groups", "list", "--limit", "2"],
        vec!["apps", "list", "--limit", "2"],
        vec!["hooks", "list"],
        vec!["policies", "list", "--type", "okta_sign_on"],
        vec!["realms", "list"],
        vec!["user-types", "list"],
        vec!["logs", "get", "--limit", "5"],
        vec!["pick", "groups"],
        vec!["raw", "GET", "/api/v1/groups"],
    ] {
        conn.ok(&args).await;
    }
    let login = format!("{tag}.oauth@example.com");
    conn.ok(&[
        "users",
        "create",
        "--login",
        &login,
        "--email",
        &login,
        "--first-name",
        "O",
        "--last-name",
        "Auth",
    ])
    .await;
    conn.ok(&["users", "deactivate", &login]).await;
    conn.ok(&["users", "delete", &login]).await;
    conn.ok(&["sync"]).await;
    let db = rusqlite::Connection::open(conn.dir.path().join("state.db")).unwrap();
    let users: i64 = db
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert!(users > 0, "{tag}: the sync mirrored users");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_command_and_sync_work_with_client_credentials_with_and_without_dpop() {
    for dpop in [false, true] {
        let app = service_app(dpop, Duration::from_secs(3600));
        let sim = sim_with(vec![app], SimConfig::default()).await;
        every_family_works(&client_credentials(&sim), &format!("cc{dpop}")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_logs_in_with_pkce_and_every_command_then_refreshes_from_the_stored_login() {
    for dpop in [false, true] {
        let port = free_port();
        let sim = sim_with(vec![web_app(dpop, port)], SimConfig::default()).await;
        let conn = authorization_code(&sim, port);
        let before = conn
            .run_at(&["users", "list", "--limit", "1"], "oktasync=warn")
            .await;
        assert_ne!(before.code, 0);
        assert!(
            before.stderr.contains("run `oktasync auth login`"),
            "{}",
            before.stderr
        );
        let login = conn.login().await;
        assert_eq!(login.code, 0, "{}\n{}", login.stdout, login.stderr);
        assert!(
            login.stdout.contains("authorization_code"),
            "{}",
            login.stdout
        );
        every_family_works(&conn, &format!("ac{dpop}")).await;
        let status = conn.ok(&["auth", "status", "--json"]).await;
        let status: Value = serde_json::from_str(&status.stdout).unwrap();
        assert_eq!(status["connection"], "authorization_code");
        assert_eq!(status["dpop"], dpop, "{status}");
        assert!(
            status["scopes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == "offline_access")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_the_refresh_token_and_later_commands_ask_for_a_new_login() {
    let port = free_port();
    let sim = sim_with(vec![web_app(true, port)], SimConfig::default()).await;
    let conn = authorization_code(&sim, port);
    assert_eq!(conn.login().await.code, 0);
    conn.ok(&["users", "list", "--limit", "1"]).await;
    conn.ok(&["auth", "logout"]).await;
    let after = conn
        .run_at(&["users", "list", "--limit", "1"], "oktasync=warn")
        .await;
    assert_ne!(after.code, 0);
    assert!(after.stderr.contains("not logged in"), "{}", after.stderr);
    let truth = crate::helpers::sim_get(&sim, "/__sim/oauth")
        .await
        .to_string();
    assert!(
        truth.contains("revoc"),
        "the simulator saw the revocation: {truth}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_revoked_at_okta_asks_for_a_new_login() {
    let port = free_port();
    let sim = sim_with(vec![web_app(false, port)], SimConfig::default()).await;
    let conn = authorization_code(&sim, port);
    assert_eq!(conn.login().await.code, 0);
    let db = rusqlite::Connection::open(conn.dir.path().join("state.db")).unwrap();
    let refresh: String = db
        .query_row("SELECT refresh_token FROM oauth_grants", [], |r| r.get(0))
        .expect("the login is stored");
    let revoked = reqwest::Client::new()
        .post(format!("{}/oauth2/v1/revoke", sim.base_url))
        .basic_auth(WEB_ID, Some(WEB_SECRET))
        .form(&[
            ("token", refresh.as_str()),
            ("token_type_hint", "refresh_token"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let out = conn
        .run_at(&["users", "list", "--limit", "1"], "oktasync=warn")
        .await;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("invalid_grant") && out.stderr.contains("auth login` again"),
        "{}",
        out.stderr
    );
}

/// Every secret the simulator saw: tokens and proofs in API requests, assertions, codes,
/// verifiers and refresh tokens in token requests.
async fn secrets_seen(sim: &Sim) -> Vec<String> {
    let mut secrets = Vec::new();
    for r in requests(sim).await {
        for name in ["authorization", "dpop"] {
            if let Some(v) = r["headers"][name].as_str() {
                secrets.extend(v.split_whitespace().last().map(str::to_owned));
            }
        }
        if let Some(form) = r["body"].as_str() {
            for (k, v) in url::form_urlencoded::parse(form.as_bytes()) {
                if [
                    "client_assertion",
                    "refresh_token",
                    "code",
                    "code_verifier",
                    "client_secret",
                    "token",
                ]
                .contains(&k.as_ref())
                {
                    secrets.push(v.into_owned());
                }
            }
        }
    }
    secrets.retain(|s| s.len() >= 16);
    secrets
}

/// The lines of a PEM key's body.
fn key_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 16)
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_any_output_at_trace_level() {
    let port = free_port();
    let apps = vec![
        service_app(true, Duration::from_secs(3600)),
        web_app(true, port),
    ];
    let sim = sim_with(apps, SimConfig::default()).await;
    let mut printed = String::new();
    let service = client_credentials(&sim);
    let web = authorization_code(&sim, port);
    let login = web.login().await;
    printed.push_str(&login.stdout);
    printed.push_str(&login.stderr);
    let user = "00uNOSUCHUSER0000000";
    for conn in [&service, &web] {
        for args in [
            vec!["users", "list", "--limit", "2"],
            vec!["users", "delete", user, "--dry-run"],
            vec!["users", "get", user],
            vec!["auth", "status"],
            vec!["auth", "status", "--json"],
            vec!["sync", "system_log"],
            vec!["status"],
        ] {
            let out = conn.run_at(&args, "trace").await;
            printed.push_str(&out.stdout);
            printed.push_str(&out.stderr);
        }
    }
    let mut secrets = secrets_seen(&sim).await;
    assert!(
        secrets.len() >= 10,
        "the simulator recorded the tokens, proofs and assertions: {secrets:?}"
    );
    secrets.push(WEB_SECRET.to_owned());
    secrets.extend(key_lines(&fixture("rsa-pkcs1.pem")));
    let leaked: Vec<&String> = secrets
        .iter()
        .filter(|s| printed.contains(s.as_str()))
        .collect();
    assert!(leaked.is_empty(), "secrets printed: {leaked:?}");
    assert!(
        printed.contains("okta request"),
        "trace logs were written and scanned"
    );
}
