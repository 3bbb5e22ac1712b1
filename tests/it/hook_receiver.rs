//! The event hook receiver on its own, fed Okta-shaped requests: verification, authentication,
//! bad bodies, duplicates and order, bursts, sink failures, the inbox left by a crash, and TLS.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use oktasync::config::TlsFiles;
use oktasync::sink::{Delta, stream};
use oktasync::store::Store;
use serde_json::Value;

use crate::hook_support::*;

fn uuids(lines: &[Value]) -> BTreeSet<String> {
    lines
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn verification_echoes_the_challenge_and_a_get_without_one_is_400() {
    let r = receiver(Sinks::MirrorOnly).await;
    let client = reqwest::Client::new();
    let url = format!("{}/okta/event-hook", r.base);
    let answer = client
        .get(&url)
        .header(
            "X-Okta-Verification-Challenge",
            "2fJpT1DwpABTRm3ZPyvVVdmUzgSHiDl4",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"verification": "2fJpT1DwpABTRm3ZPyvVVdmUzgSHiDl4"})
    );
    let bare = client.get(&url).send().await.unwrap();
    assert_eq!(bare.status(), 400);
    assert_eq!(bare.text().await.unwrap(), "");
    let health = client
        .get(format!("{}/healthz", r.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            health.status().as_u16(),
            health.text().await.unwrap().as_str()
        ),
        (200, "ok\n")
    );
    let put = client.put(&url).send().await.unwrap();
    assert_eq!(put.status(), 405);
    r.stop().await;
}

#[tokio::test]
async fn a_delivery_without_the_secret_or_with_a_wrong_one_is_401_with_no_detail_and_nothing_kept()
{
    let r = receiver(Sinks::MirrorAndFile).await;
    let url = format!("{}/okta/event-hook", r.base);
    let body = delivery(&[log_event("u-auth-1", "user.lifecycle.create", 0)]);
    for secret in [
        None,
        Some("wrong"),
        Some(""),
        Some(&SECRET[..SECRET.len() - 1]),
    ] {
        let (status, text) = post(&url, secret, body.clone()).await;
        assert_eq!((status, text.as_str()), (401, ""), "{secret:?}");
    }
    assert!(mirror_events(&r.state()).is_empty());
    assert!(lines_of(&r.ndjson()).is_empty());
    let (status, _) = post(&url, Some(SECRET), body).await;
    assert_eq!(status, 200, "the right secret still gets in");
    assert_eq!(mirror_events(&r.state()).len(), 1);
    r.stop().await;
}

#[tokio::test]
async fn bodies_too_big_not_json_of_the_wrong_shape_or_type_get_4xx_and_nothing_is_kept() {
    let r = receiver(Sinks::MirrorAndFile).await;
    let url = format!("{}/hook", r.base);
    let huge = delivery(&[log_event("u-big", "user.lifecycle.create", 300 * 1024)]);
    let cases = [
        ("application/json", huge, 413),
        (
            "application/json",
            "{\"data\": {\"events\": [".to_owned(),
            400,
        ),
        ("application/json", "not json at all".to_owned(), 400),
        (
            "application/json",
            "{\"data\": {\"events\": \"none\"}}".to_owned(),
            400,
        ),
        (
            "application/json",
            "{\"data\": {\"events\": [{\"published\": \"x\"}]}}".to_owned(),
            400,
        ),
        ("application/json", "[]".to_owned(), 400),
        (
            "text/plain",
            delivery(&[log_event("u-text", "user.lifecycle.create", 0)]),
            415,
        ),
    ];
    for (content_type, body, expected) in cases {
        let shown = body.chars().take(40).collect::<String>();
        let (status, text) = post_as(&url, Some(SECRET), content_type, body).await;
        assert_eq!(
            (status, text.as_str()),
            (expected, ""),
            "{content_type} {shown}"
        );
    }
    assert!(mirror_events(&r.state()).is_empty());
    assert!(lines_of(&r.ndjson()).is_empty());
    assert_eq!(inbox_len(&r.state()), 0);
    let body = delivery(&[log_event("u-fine", "user.lifecycle.create", 100 * 1024)]);
    assert_eq!(
        post(&url, Some(SECRET), body).await.0,
        200,
        "a 100 KiB delivery is fine"
    );
    r.stop().await;
}

#[tokio::test]
async fn an_answered_delivery_is_already_in_the_mirror_and_the_ndjson_file() {
    let r = receiver(Sinks::MirrorAndFile).await;
    let url = format!("{}/okta/event-hook", r.base);
    let events = [
        log_event("u-now-1", "user.lifecycle.create", 0),
        log_event("u-now-2", "user.lifecycle.activate", 0),
    ];
    assert_eq!(post(&url, Some(SECRET), delivery(&events)).await.0, 200);
    let mirrored = mirror_events(&r.state());
    assert_eq!(
        mirrored,
        [
            ("u-now-1".to_owned(), "event_hook".to_owned()),
            ("u-now-2".to_owned(), "event_hook".to_owned())
        ]
    );
    let lines = lines_of(&r.ndjson());
    assert_eq!(lines.len(), 2);
    for (line, event) in lines.iter().zip(&events) {
        assert_eq!(line["stream"], "event_hook");
        assert_eq!(line["id"], event["uuid"]);
        assert_eq!(line["version"], event["published"]);
        assert_eq!(line["data"], *event, "the event is kept whole");
    }
    assert_eq!(inbox_len(&r.state()), 0);
    r.stop().await;
}

#[tokio::test]
async fn repeated_and_reordered_deliveries_give_one_mirror_row_per_uuid_and_every_uuid_in_ndjson() {
    let r = receiver(Sinks::MirrorAndFile).await;
    let url = format!("{}/okta/event-hook", r.base);
    let e = |n: u32| log_event(&format!("u-dup-{n}"), "user.lifecycle.create", 0);
    for batch in [
        vec![e(3), e(1)],
        vec![e(1)],
        vec![e(2), e(3)],
        vec![e(3), e(2), e(1)],
    ] {
        assert_eq!(post(&url, Some(SECRET), delivery(&batch)).await.0, 200);
    }
    let mirrored: Vec<String> = mirror_events(&r.state())
        .into_iter()
        .map(|(u, _)| u)
        .collect();
    assert_eq!(mirrored, ["u-dup-1", "u-dup-2", "u-dup-3"]);
    let lines = lines_of(&r.ndjson());
    assert_eq!(uuids(&lines), mirrored.into_iter().collect::<BTreeSet<_>>());
    assert!(lines.len() >= 3, "at least once in NDJSON");
    r.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_concurrent_deliveries_is_all_committed_and_emitted() {
    let r = receiver(Sinks::MirrorAndFile).await;
    let url = format!("{}/okta/event-hook", r.base);
    let tasks: Vec<_> = (0..200)
        .map(|d| {
            let url = url.clone();
            let events: Vec<Value> = (0..5)
                .map(|i| log_event(&format!("u-burst-{d}-{i}"), "user.session.start", 0))
                .collect();
            tokio::spawn(async move { post(&url, Some(SECRET), delivery(&events)).await.0 })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    let expected: BTreeSet<String> = (0..200)
        .flat_map(|d| (0..5).map(move |i| format!("u-burst-{d}-{i}")))
        .collect();
    let mirrored: BTreeSet<String> = mirror_events(&r.state())
        .into_iter()
        .map(|(u, _)| u)
        .collect();
    assert_eq!(mirrored, expected);
    assert_eq!(uuids(&lines_of(&r.ndjson())), expected);
    let stats = Store::open(&r.state()).unwrap().receiver_stats().unwrap();
    assert_eq!(
        (stats.deliveries, stats.events, stats.inbox),
        (200, 1000, 0)
    );
    r.stop().await;
}

#[tokio::test]
async fn a_sink_failure_answers_503_keeps_the_events_and_emits_them_once_the_sink_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let file = sub.join("out.ndjson");
    let state = dir.path().join("state.db");
    let specs = vec![
        format!("sqlite:{}", state.display()),
        format!("file:{}", file.display()),
    ];
    let r = receiver_in(dir, Sinks::Specs(specs), hook_settings(None)).await;
    let url = format!("{}/okta/event-hook", r.base);
    let first = delivery(&[log_event("u-ok", "user.lifecycle.create", 0)]);
    assert_eq!(post(&url, Some(SECRET), first).await.0, 200);
    // The file's directory becomes a plain file: the sink cannot write until it is back.
    std::fs::remove_dir_all(&sub).unwrap();
    std::fs::write(&sub, "in the way").unwrap();
    let second = delivery(&[log_event("u-held", "user.lifecycle.create", 0)]);
    assert_eq!(post(&url, Some(SECRET), second).await.0, 503);
    assert_eq!(
        inbox_len(&r.state()),
        1,
        "the refused-to-emit event waits in the inbox"
    );
    let mirrored: Vec<String> = mirror_events(&r.state())
        .into_iter()
        .map(|(u, _)| u)
        .collect();
    assert_eq!(
        mirrored,
        ["u-ok"],
        "the mirror moves only with every other sink"
    );
    std::fs::remove_file(&sub).unwrap();
    std::fs::create_dir(&sub).unwrap();
    let state = r.state();
    eventually(
        Duration::from_secs(10),
        "the held event is emitted",
        || async { inbox_len(&state) == 0 },
    )
    .await;
    assert_eq!(
        uuids(&lines_of(&file)),
        BTreeSet::from(["u-held".to_owned()])
    );
    assert_eq!(mirror_events(&state).len(), 2);
    r.stop().await;
}

#[tokio::test]
async fn events_a_previous_process_left_in_the_inbox_are_emitted_when_the_receiver_starts() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = Store::open(&dir.path().join("state.db")).unwrap();
        let left: Vec<Delta> = ["u-left-1", "u-left-2"]
            .iter()
            .map(|u| {
                let raw =
                    serde_json::value::to_raw_value(&log_event(u, "user.lifecycle.create", 0))
                        .unwrap();
                Delta::new(stream::EVENT_HOOK, u, "2024-05-01T12:00:00.000Z", raw)
            })
            .collect();
        store.accept_hook_events(&left, 1, false).unwrap();
    }
    let r = receiver_in(dir, Sinks::MirrorAndFile, hook_settings(None)).await;
    let (state, ndjson) = (r.state(), r.ndjson());
    eventually(Duration::from_secs(5), "the inbox is drained", || async {
        inbox_len(&state) == 0 && lines_of(&ndjson).len() == 2
    })
    .await;
    assert_eq!(mirror_events(&state).len(), 2);
    r.stop().await;
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hook-tls")
        .join(name)
}

#[tokio::test]
async fn with_a_certificate_and_key_the_receiver_speaks_https() {
    let tls = TlsFiles {
        cert: fixture("cert.pem"),
        key: fixture("key.pem"),
    };
    let r = receiver_in(
        tempfile::tempdir().unwrap(),
        Sinks::MirrorOnly,
        hook_settings(Some(tls)),
    )
    .await;
    assert!(r.base.starts_with("https://"));
    let ca = reqwest::Certificate::from_pem(&std::fs::read(fixture("ca.pem")).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let url = format!("{}/okta/event-hook", r.base);
    let answer = client
        .get(&url)
        .header("X-Okta-Verification-Challenge", "tls-challenge")
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.json::<Value>().await.unwrap()["verification"],
        "tls-challenge"
    );
    let sent = client
        .post(&url)
        .header("Authorization", SECRET)
        .header("Content-Type", "application/json")
        .body(delivery(&[log_event("u-tls", "user.lifecycle.create", 0)]))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let plain = reqwest::get(format!("{}/healthz", r.base.replace("https", "http"))).await;
    assert!(
        plain.is_err() || !plain.unwrap().status().is_success(),
        "no plain HTTP"
    );
    r.stop().await;
}

/// Sends `body` in chunks without a Content-Length, as a raw HTTP/1.1 request; the status.
async fn post_chunked(base: &str, body: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /okta/event-hook HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {SECRET}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(16 * 1024) {
        let sent = async {
            tcp.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            tcp.write_all(chunk).await?;
            tcp.write_all(b"\r\n").await
        };
        if sent.await.is_err() {
            break; // the receiver stopped reading: its answer is already on the way
        }
    }
    let _ = tcp.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_chunked_body_without_a_length_is_refused_once_it_passes_256_kib() {
    let r = receiver(Sinks::MirrorOnly).await;
    let big = delivery(&[log_event(
        "u-chunked-big",
        "user.lifecycle.create",
        260 * 1024,
    )]);
    assert_eq!(post_chunked(&r.base, big.as_bytes()).await, 413);
    let small = delivery(&[log_event("u-chunked-small", "user.lifecycle.create", 1024)]);
    assert_eq!(post_chunked(&r.base, small.as_bytes()).await, 200);
    let mirrored: Vec<String> = mirror_events(&r.state())
        .into_iter()
        .map(|(u, _)| u)
        .collect();
    assert_eq!(mirrored, ["u-chunked-small"]);
    r.stop().await;
}
