//! The admin command line as scripts meet it: help texts, input errors caught before any
//! request, Okta's errors and exit codes, output formats, and secrets kept out of every output.

use serde_json::Value;

use super::admin_support::{new_active_user, org, run_cli};

const GROUPS: [&str; 10] = [
    "users",
    "groups",
    "apps",
    "hooks",
    "policies",
    "realms",
    "user-types",
    "logs",
    "raw",
    "pick",
];

/// The subcommands listed under "Commands:" in a help text.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect()
}

/// Every flag or argument line of a help text that lacks an example.
fn flags_without_example(help: &str) -> Vec<String> {
    help.lines()
        .filter(|l| l.trim_start().starts_with('-') || l.trim_start().starts_with('<'))
        .filter(|l| !l.contains("Print help") && !l.contains("Print version"))
        .filter(|l| !l.contains("e.g."))
        .map(str::to_owned)
        .collect()
}

async fn help(args: &[&str]) -> String {
    let out = run_cli("http://127.0.0.1:9", "unused", args, "").await;
    assert_eq!(out.code, 0, "{args:?}: {out:?}");
    out.stdout
}

#[tokio::test]
async fn every_command_and_flag_has_a_one_line_help_with_an_example() {
    let top = help(&["--help"]).await;
    for group in GROUPS {
        let line = top
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{group} ")))
            .unwrap_or_default();
        assert!(line.contains("e.g."), "oktasync --help: {group}: {line:?}");
        let group_help = help(&[group, "--help"]).await;
        assert!(
            flags_without_example(&group_help).is_empty(),
            "{group}: {:?}",
            flags_without_example(&group_help)
        );
        for verb in subcommands(&group_help) {
            let line = group_help
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{verb} ")))
                .unwrap();
            assert!(line.contains("e.g."), "{group} --help: {line}");
            let verb_help = help(&[group, &verb, "--help"]).await;
            let missing = flags_without_example(&verb_help);
            assert!(
                missing.is_empty(),
                "oktasync {group} {verb} --help: {missing:#?}"
            );
            let options = verb_help
                .lines()
                .skip_while(|l| !l.starts_with("Options:"))
                .skip(1);
            let stray: Vec<&str> = options
                .filter(|l| !l.trim_start().starts_with('-'))
                .collect();
            assert!(
                stray.is_empty(),
                "{group} {verb}: help runs over one line: {stray:?}"
            );
        }
    }
}

#[tokio::test]
async fn invalid_input_is_refused_before_any_request_with_the_flag_named() {
    let org = org().await;
    let cases: [(&[&str], &str); 12] = [
        (
            &[
                "users",
                "create",
                "--login",
                "a@x.io",
                "--profile-extra",
                "{bad",
            ],
            "--profile-extra",
        ),
        (&["users", "create", "--email", "a@x.io"], "--login"),
        (&["users", "update", "a@x.io"], "nothing to update"),
        (&["users", "get", "jane doe"], "<ID>"),
        (&["users", "list", "--param", "colour=red"], "--param"),
        (&["users", "set-password", "00u1"], "--new-password"),
        (&["groups", "create", "--description", "x"], "--name"),
        (&["groups", "get", "00g/../users"], "<ID>"),
        (&["policies", "list"], "--type"),
        (&["logs", "get", "--since", "yesterday"], "--since"),
        (
            &[
                "hooks",
                "create",
                "--name",
                "n",
                "--url",
                "https://x.io",
                "--events",
                "[1]",
            ],
            "--events",
        ),
        (&["apps", "assign", "0oa1", "jane@example.com"], "<USER_ID>"),
    ];
    for (args, flag) in cases {
        let out = org.cli(args).await;
        assert_ne!(out.code, 0, "{args:?} was accepted");
        assert!(
            out.stderr.contains(flag),
            "{args:?} should name {flag}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
    }
    let out = org
        .cli(&[
            "users",
            "create",
            "--login",
            "a@x.io",
            "--hash-password",
            "{\"value\":\"leak-me",
        ])
        .await;
    assert!(
        out.stderr.contains("--hash-password") && !out.stderr.contains("leak-me"),
        "{out:?}"
    );
    let out = org
        .cli(&[
            "logs",
            "get",
            "--since",
            "2024-01-01T00:00:00Z",
            "--after",
            "abc",
        ])
        .await;
    assert!(
        out.stderr.contains("--since") && out.stderr.contains("--after"),
        "{out:?}"
    );
    assert!(
        org.requests_unchecked().await.is_empty(),
        "no request reached the org"
    );
}

#[tokio::test]
async fn okta_errors_exit_non_zero_with_summary_causes_status_and_request_id() {
    let org = org().await;
    let out = org.cli(&["users", "get", "00uNOSUCHUSER0000000"]).await;
    assert_eq!(out.code, 1, "{out:?}");
    for part in ["404", "E0000007", "Not found", "request id"] {
        assert!(out.stderr.contains(part), "missing {part}: {}", out.stderr);
    }
    new_active_user(&org, "taken@example.com").await;
    let args = [
        "users",
        "create",
        "--login",
        "taken@example.com",
        "--email",
        "taken@example.com",
        "--first-name",
        "A",
        "--last-name",
        "B",
    ];
    let out = org.cli(&args).await;
    assert_eq!(out.code, 1);
    for part in [
        "400",
        "E0000001",
        "Api validation failed",
        "already exists",
        "request id",
    ] {
        assert!(out.stderr.contains(part), "missing {part}: {}", out.stderr);
    }
    let bad_token = run_cli(&org.sim.base_url, "not-the-token", &["users", "list"], "").await;
    assert_eq!(bad_token.code, 1);
    assert!(
        bad_token.stderr.contains("401") && !bad_token.stderr.contains("not-the-token"),
        "{bad_token:?}"
    );
}

#[tokio::test]
async fn output_is_compact_json_off_a_terminal_and_ndjson_or_a_table_on_request() {
    let org = org().await;
    let json = org.cli(&["groups", "list", "--limit", "2"]).await.ok();
    assert_eq!(
        json.stdout.lines().count(),
        1,
        "compact when piped: {}",
        json.stdout
    );
    let groups = json.json();
    assert_eq!(groups.as_array().unwrap().len(), 2);
    let nd = org
        .cli(&["groups", "list", "--limit", "2", "--output", "ndjson"])
        .await
        .ok();
    let lines: Vec<Value> = nd
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(Value::Array(lines), groups);
    let table = org
        .cli(&["groups", "list", "--limit", "2", "--output", "table"])
        .await
        .ok();
    let rows: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(rows.len(), 3, "{}", table.stdout);
    assert!(rows[0].starts_with("ID") && rows[0].contains("NAME"));
    assert!(rows[1].starts_with(groups[0]["id"].as_str().unwrap()));
    let one = org
        .cli(&[
            "groups",
            "get",
            groups[0]["id"].as_str().unwrap(),
            "--output",
            "ndjson",
        ])
        .await
        .ok();
    assert_eq!(one.stdout.lines().count(), 1);
}

#[tokio::test]
async fn dry_runs_and_errors_never_show_passwords_or_the_token() {
    let org = org().await;
    let data = r#"{"profile":{"login":"s@x.io"},"credentials":{"password":{"value":"Plain-Pw-123"},"recovery_question":{"question":"q","answer":"Ans-456"}}}"#;
    let out = org
        .cli(&[
            "raw",
            "POST",
            "/api/v1/users",
            "--data",
            data,
            "--header",
            "X-Api-Key: key-789",
            "--dry-run",
        ])
        .await
        .ok();
    for secret in ["Plain-Pw-123", "Ans-456", "key-789", org.sim.token.as_str()] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{secret} leaked: {out:?}"
        );
    }
    let shown = out.json();
    assert_eq!(
        shown["body"]["credentials"]["password"]["value"],
        "[redacted]"
    );
    assert_eq!(shown["body"]["profile"]["login"], "s@x.io");
    assert!(org.requests_unchecked().await.is_empty());
    let out = org
        .cli(&[
            "users",
            "create",
            "--login",
            "x",
            "--email",
            "bad",
            "--first-name",
            "A",
            "--last-name",
            "B",
            "--password",
            "Pw-In-Error-1",
        ])
        .await;
    assert_ne!(out.code, 0);
    assert!(!out.stderr.contains("Pw-In-Error-1"), "{out:?}");
}
