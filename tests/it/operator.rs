//! What an operator's tools meet: logs through a pipe, as JSON and under journald; completion
//! scripts loaded by the shells; the man page through `man -l`; the systemd unit through
//! `systemd-analyze`; `raw` paths as Okta's reference writes them. A check whose tool is missing
//! on this machine says so on the test output (not captured) instead of passing silently.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use okta_sim::{Sim, SimConfig};
use serde_json::Value;

use crate::helpers::spawn_sim;

fn oktasync(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_oktasync"));
    cmd.args(args)
        .env_remove("OKTASYNC_CONFIG")
        .env_remove("OKTASYNC_LOG_FORMAT")
        .env_remove("JOURNAL_STREAM")
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "oktasync=debug")
        .stdin(Stdio::null());
    cmd
}

/// `oktasync ARGS` against `sim`, state in `dir`.
fn against(sim: &Sim, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = oktasync(args);
    cmd.current_dir(dir)
        .env("OKTA_DOMAIN", &sim.base_url)
        .env("OKTA_API_TOKEN", &sim.token)
        .env("OKTASYNC_STATE", dir.join("state.db"));
    cmd
}

async fn output(mut cmd: Command) -> Output {
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Says on the test output (which `cargo test` does not capture for direct writes) that a check
/// did not run here.
fn skipped(what: &str, tool: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {what}: `{tool}` is not installed on this machine"
    );
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn small() -> SimConfig {
    SimConfig {
        users: 60,
        logs: 150,
        ..SimConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_and_listings_through_a_pipe_carry_no_ansi_escape_and_no_progress_line() {
    let (sim, _) = spawn_sim(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let week_ago = (chrono::Utc::now() - chrono::Duration::days(8))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let runs = [
        vec!["sync"],
        vec!["users", "list", "--all", "--limit", "20"],
        vec![
            "logs", "get", "--all", "--since", &week_ago, "--limit", "50",
        ],
    ];
    for args in runs {
        let mut cmd = against(&sim, d, &args);
        cmd.env("TERM", "xterm-256color");
        let out = output(cmd).await;
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            !stderr.contains('\x1b'),
            "{args:?}: an ANSI escape in {stderr}"
        );
        assert!(
            !stderr.contains('\r'),
            "{args:?}: a progress redraw in {stderr}"
        );
        let requests: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains("okta request"))
            .collect();
        assert!(!requests.is_empty(), "{args:?}: {stderr}");
        for line in requests {
            assert!(
                line.contains("request_id=\"") && !line.contains("request_id=\"\""),
                "{line}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_with_stable_field_names() {
    let (sim, _) = spawn_sim(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let out = output(against(&sim, dir.path(), &["sync", "--log-format", "json"])).await;
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for line in &lines {
        for key in ["timestamp", "level", "message", "target"] {
            assert!(line.get(key).is_some(), "no {key} in {line}");
        }
    }
    let request = lines
        .iter()
        .find(|l| l["message"] == "okta request")
        .expect("a request line");
    assert!(
        request["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{request}"
    );
    assert_eq!(request["status"], 200, "{request}");
    let synced: Vec<&Value> = lines.iter().filter(|l| l["message"] == "synced").collect();
    assert_eq!(synced.len(), oktasync::config::STREAMS.len(), "{stderr}");
    assert!(
        synced
            .iter()
            .any(|l| l["stream"] == "new_users" && l["count"] == 60),
        "{synced:?}"
    );

    let bad = against(
        &sim,
        dir.path(),
        &["cursor", "reset", "roles", "--log-format", "json"],
    )
    .output()
    .unwrap();
    let error: Value = serde_json::from_slice(&bad.stderr).expect("the failure is a JSON line");
    assert_eq!(error["level"], "ERROR", "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_journald_lines_carry_a_priority_and_no_timestamp() {
    let (sim, _) = spawn_sim(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let journal = std::fs::File::create(dir.path().join("journal")).unwrap();
    let meta = journal.metadata().unwrap();
    let mut cmd = against(&sim, dir.path(), &["sync", "system_log"]);
    cmd.env("JOURNAL_STREAM", format!("{}:{}", meta.dev(), meta.ino()))
        .env("RUST_LOG", "oktasync=info")
        .stderr(journal);
    output(cmd).await;
    let text = std::fs::read_to_string(dir.path().join("journal")).unwrap();
    assert!(!text.is_empty());
    for line in text.lines() {
        assert!(
            line.starts_with("<6> INFO ") || line.starts_with("<4> WARN "),
            "{line}"
        );
    }
}

#[tokio::test]
async fn completion_scripts_load_in_their_shells() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = output(oktasync(&["completions", shell])).await;
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            script.contains("oktasync") && script.contains("completions"),
            "{shell}"
        );
        let path = dir.path().join(format!("oktasync.{shell}"));
        std::fs::write(&path, &script).unwrap();
        if !have(shell) {
            skipped(&format!("loading the {shell} completion script"), shell);
            continue;
        }
        let check = match shell {
            "bash" => format!("source {} && complete -p oktasync", path.display()),
            "zsh" => format!(
                "autoload -U compinit && compinit -u && source {}",
                path.display()
            ),
            _ => format!(
                "source {} && complete -c oktasync | head -1",
                path.display()
            ),
        };
        let loaded = Command::new(shell).args(["-c", &check]).output().unwrap();
        let said = String::from_utf8_lossy(&loaded.stdout);
        assert!(
            loaded.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&loaded.stderr)
        );
        if shell == "bash" {
            assert!(said.contains("oktasync"), "{said}");
        }
    }
}

#[tokio::test]
async fn the_man_page_renders_with_man_l_and_lists_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("oktasync.1");
    std::fs::write(&page, output(oktasync(&["man"])).await.stdout).unwrap();
    output(oktasync(&[
        "man",
        "--out-dir",
        dir.path().to_str().unwrap(),
    ]))
    .await;
    assert!(dir.path().join("oktasync-run.1").exists());
    if !have("man") {
        return skipped("rendering the man page", "man");
    }
    let rendered = Command::new("man")
        .arg("-l")
        .arg(&page)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let text = String::from_utf8_lossy(&rendered.stdout);
    for needle in [
        "NAME",
        "oktasync",
        "SYNOPSIS",
        "run",
        "completions",
        "--log-format",
    ] {
        assert!(text.contains(needle), "no {needle} in {text}");
    }
}

#[tokio::test]
async fn the_systemd_unit_verifies_and_its_exposure_is_at_most_2() {
    if !have("systemd-analyze") {
        return skipped("checking deploy/oktasync.service", "systemd-analyze");
    }
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/oktasync.service"),
    )
    .unwrap();
    assert!(
        unit.contains("Type=notify") && unit.contains("WatchdogSec="),
        "{unit}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("oktasync.service");
    // verify checks that ExecStart exists: point it at the binary under test.
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/oktasync", env!("CARGO_BIN_EXE_oktasync")),
    )
    .unwrap();
    let verify = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let complaints = String::from_utf8_lossy(&verify.stderr);
    assert!(
        verify.status.success() && complaints.trim().is_empty(),
        "{complaints}"
    );
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&path)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&security.stdout);
    let exposure: f64 = report
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for oktasync.service:")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no exposure level in {report}{}",
                String::from_utf8_lossy(&security.stderr)
            )
        });
    assert!(exposure <= 2.0, "exposure {exposure}:\n{report}");
}

/// The system calls a `SystemCallFilter=` token stands for: a group expanded (nested groups
/// too) by `systemd-analyze syscall-filter`, or a single call.
fn syscalls(token: &str) -> Vec<String> {
    if !token.starts_with('@') {
        return vec![token.to_owned()];
    }
    let out = Command::new("systemd-analyze")
        .args(["syscall-filter", "--no-pager", token])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = text
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(!names.is_empty(), "systemd-analyze knows no group {token}");
    names.into_iter().flat_map(syscalls).collect()
}

#[tokio::test]
async fn the_systemd_units_syscall_filter_allows_every_call_that_tunes_the_bulk_threads() {
    if !have("systemd-analyze") {
        return skipped(
            "expanding deploy/oktasync.service's filter",
            "systemd-analyze",
        );
    }
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/oktasync.service"),
    )
    .unwrap();
    // The first assignment is an allow list; later ones add to it, or remove with `~`.
    let mut allowed = std::collections::BTreeSet::new();
    for line in unit.lines() {
        let Some(value) = line.strip_prefix("SystemCallFilter=") else {
            continue;
        };
        let (deny, tokens) = match value.strip_prefix('~') {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        for name in tokens.split_whitespace().flat_map(syscalls) {
            if deny {
                allowed.remove(&name);
            } else {
                allowed.insert(name);
            }
        }
    }
    assert!(allowed.contains("read"), "no allow list in the unit");
    // A call outside the filter kills the service (SIGSYS): each one src/background.rs and the
    // file sink make must be allowed.
    for call in [
        "getpriority",
        "setpriority",
        "sched_getscheduler",
        "sched_setscheduler",
        "fadvise64",
    ] {
        assert!(allowed.contains(call), "the unit's filter kills {call}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_takes_paths_relative_to_the_api_base_as_well_as_api_v1_paths() {
    let (sim, _) = spawn_sim(small()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut answers = Vec::new();
    for path in [
        "/users",
        "/api/v1/users",
        &format!("{}/api/v1/users", sim.base_url),
    ] {
        let out = output(against(
            &sim,
            dir.path(),
            &["raw", "GET", path, "--query", "limit=3"],
        ))
        .await;
        let users: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(users.as_array().map(Vec::len), Some(3), "{path}: {users}");
        answers.push(users);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]));
}
