//! `oktasync sim` with OAuth flags, as a process: it prints the lines a client exports,
//! writes the generated private key where only its owner can read it, and never prints a
//! secret.

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey};

use super::support::*;

/// Start `oktasync sim` with `args`; its stdout lines.
fn sim(args: &[&str]) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oktasync"))
        .args([
            "sim", "--port", "0", "--users", "20", "--logs", "20", "--token", "t0ken",
        ])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let out = child.stdout.take().expect("stdout is piped");
    (child, BufReader::new(out).lines())
}

fn next(lines: &mut Lines<BufReader<ChildStdout>>) -> String {
    lines.next().expect("another line").expect("utf-8")
}

/// SIGTERM, then wait (with a deadline) for exit status 0.
async fn stop(mut child: Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(killed.expect("kill runs").success());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait works") {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the simulator did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn the_sim_command_prints_the_oauth_lines_and_a_private_key_file_only_its_owner_reads() {
    let (child, mut lines) = sim(&[
        "--oauth-client-id",
        "0oacli",
        "--oauth-scopes",
        "okta.users.read okta.logs.read",
    ]);
    let domain = next(&mut lines);
    assert_eq!(next(&mut lines), "OKTA_API_TOKEN=t0ken");
    assert_eq!(next(&mut lines), "OKTA_AUTH=client_credentials");
    assert_eq!(next(&mut lines), "OKTA_CLIENT_ID=0oacli");
    let key_line = next(&mut lines);
    assert_eq!(
        next(&mut lines),
        "OKTA_SCOPES=\"okta.users.read okta.logs.read\""
    );
    let key_file = key_line
        .strip_prefix("OKTA_PRIVATE_KEY_FILE=")
        .expect(&key_line)
        .to_string();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{key_file}");
    }
    let pem = std::fs::read_to_string(&key_file).unwrap();
    let key = EncodingKey::from_ec_pem(pem.as_bytes()).expect("a PKCS#8 EC key");
    let base = domain.strip_prefix("OKTA_DOMAIN=").unwrap();
    let aud = format!("{base}/oauth2/v1/token");
    let claims = serde_json::json!({"iss": "0oacli", "sub": "0oacli", "aud": aud, "exp": now() + 60, "jti": new_jti()});
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "okta.logs.read"),
        ("client_assertion_type", ASSERTION_TYPE),
        (
            "client_assertion",
            &assertion_with(&claims, &key, Algorithm::ES256),
        ),
    ];
    let r = reqwest::Client::new()
        .post(&aud)
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        200,
        "the printed key signs assertions the simulator accepts"
    );
    stop(child).await;
    assert!(
        !std::path::Path::new(&key_file).exists(),
        "the generated key is removed on exit"
    );
}

#[tokio::test]
async fn the_sim_command_prints_where_the_web_apps_secret_is_but_never_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("secret.txt");
    std::fs::write(&secret_file, "s3cret-value\n").unwrap();
    let path = secret_file.to_str().unwrap();
    let (child, mut lines) = sim(&[
        "--oauth-web-client-id",
        "0oaweb",
        "--oauth-client-secret-file",
        path,
        "--oauth-redirect-port",
        "9123",
    ]);
    let printed: Vec<String> = (0..7).map(|_| next(&mut lines)).collect();
    assert_eq!(
        printed[2],
        "# authorization-code app, redirect URI http://127.0.0.1:9123/callback"
    );
    assert_eq!(
        printed[3..6],
        [
            "OKTA_AUTH=authorization_code".to_string(),
            "OKTA_CLIENT_ID=0oaweb".into(),
            format!("OKTA_CLIENT_SECRET_FILE={path}")
        ]
    );
    assert!(
        printed[6].starts_with("OKTA_SCOPES=\"okta.users.read okta.users.manage "),
        "{}",
        printed[6]
    );
    assert!(printed.iter().all(|l| !l.contains("s3cret-value")));
    stop(child).await;
}
