//! `oktasync sim` as a process: it announces the domain and token on stdout and stops cleanly
//! on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn the_sim_command_prints_domain_and_token_and_exits_zero_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oktasync"))
        .args([
            "sim", "--port", "0", "--users", "30", "--logs", "50", "--seed", "3", "--token",
            "t0ken",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let domain = lines.next().expect("a first line").expect("utf-8");
    let token = lines.next().expect("a second line").expect("utf-8");
    assert!(
        domain.starts_with("OKTA_DOMAIN=http://127.0.0.1:"),
        "{domain}"
    );
    assert_eq!(token, "OKTA_API_TOKEN=t0ken");
    let base = domain.trim_start_matches("OKTA_DOMAIN=");
    let r = reqwest::Client::new()
        .get(format!("{base}/api/v1/users?limit=5"))
        .header("Authorization", "SSWS t0ken")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let mut waited = Duration::ZERO;
    let code = loop {
        if let Some(s) = child.try_wait().expect("wait works") {
            break s;
        }
        assert!(
            waited < Duration::from_secs(10),
            "the simulator did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    };
    assert_eq!(code.code(), Some(0));
}
