//! `oktasync raw METHOD PATH`: any request under `/api/v1` of the org (`/users` or
//! `/api/v1/users`, or a full URL of the same org), with JSON, form or file bodies and curl-like
//! timeout and retry flags.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::builder::PossibleValuesParser;
use reqwest::Method;
use serde_json::Value;

use super::common::{print_value, show_calls_raw};
use super::{Context, input};
use crate::okta::api::RawRequest;
use crate::okta::{Part, PartContent, RetryPolicy, Upload};

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// How the answer is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ResponseMode {
    // Parse as JSON and print in the --output format.
    Json,
    // Print the body as text.
    Text,
    // Write the body's bytes unchanged.
    Binary,
}

/// Options for `oktasync raw`. `Debug` shows names only: values may be credentials.
#[derive(clap::Args)]
pub struct Opts {
    #[command(flatten)]
    output: super::output::OutputArg,
    /// HTTP method, e.g. GET
    #[arg(value_parser = PossibleValuesParser::new(METHODS), ignore_case = true)]
    method: String,
    /// Path relative to the API base (/users/me is /api/v1/users/me), a path under /api/v1, or a full URL of the org, e.g. /users/me
    path: String,
    /// JSON body, inline or @file.json, e.g. '{"profile":{"name":"Sales"}}'
    #[arg(long, value_name = "JSON", value_parser = input::json, conflicts_with_all = ["form", "file"])]
    data: Option<Value>,
    /// Query parameter (repeatable), e.g. limit=10
    #[arg(long, value_name = "K=V", value_parser = input::key_value)]
    query: Vec<(String, String)>,
    /// Request header (repeatable), e.g. 'Prefer: respond-async'
    #[arg(long, value_name = "K:V", value_parser = input::header)]
    header: Vec<(String, String)>,
    /// Form field, urlencoded (multipart with --file; repeatable), e.g. grant_type=client_credentials
    #[arg(long, value_name = "K=V", value_parser = input::key_value)]
    form: Vec<(String, String)>,
    /// File sent as a multipart part (repeatable), e.g. file=@logo.png
    #[arg(long, value_name = "K=@PATH", value_parser = input::file_part)]
    file: Vec<Part>,
    /// How to print the answer, e.g. text
    #[arg(long, value_enum, value_name = "MODE", default_value = "json")]
    response: ResponseMode,
    /// Give up on one attempt after this many seconds, e.g. 10
    #[arg(long, value_name = "SECS", value_parser = input::seconds)]
    timeout: Option<Duration>,
    /// Send again up to this many times after a failure, e.g. 3
    #[arg(long, value_name = "N")]
    retries: Option<usize>,
    /// Seconds between attempts (the first wait with --exponential-backoff), e.g. 2
    #[arg(long, value_name = "SECS", value_parser = input::seconds)]
    retry_delay: Option<Duration>,
    /// Double the wait after each attempt, e.g. `--exponential-backoff`
    #[arg(long)]
    exponential_backoff: bool,
    /// Retry every failure, 4xx and writes included, e.g. `--retry-all-errors`
    #[arg(long)]
    retry_all_errors: bool,
    /// Print the request that would be sent, secrets redacted, and send nothing, e.g. `--dry-run`
    #[arg(long)]
    dry_run: bool,
}

impl std::fmt::Debug for Opts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names =
            |pairs: &[(String, String)]| pairs.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        f.debug_struct("Opts")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("data", &self.data.as_ref().map(|_| "[redacted]"))
            .field("query", &names(&self.query))
            .field("header", &names(&self.header))
            .field("form", &names(&self.form))
            .field("file", &self.file)
            .field("response", &self.response)
            .field("dry_run", &self.dry_run)
            .finish_non_exhaustive()
    }
}

impl Opts {
    fn policy(&self) -> Option<RetryPolicy> {
        let any = self.timeout.is_some()
            || self.retries.is_some()
            || self.retry_delay.is_some()
            || self.exponential_backoff
            || self.retry_all_errors;
        any.then_some(RetryPolicy {
            timeout: self.timeout,
            retries: self.retries,
            retry_delay: self.retry_delay,
            exponential_backoff: self.exponential_backoff,
            retry_all_errors: self.retry_all_errors,
        })
    }

    fn upload(&mut self) -> Option<Upload> {
        let fields = std::mem::take(&mut self.form);
        let files = std::mem::take(&mut self.file);
        match (fields.is_empty(), files.is_empty()) {
            (true, true) => None,
            (false, true) => Some(Upload::Form(fields)),
            _ => {
                let mut parts: Vec<Part> = fields
                    .into_iter()
                    .map(|(name, v)| Part {
                        name,
                        content: PartContent::Text(v),
                    })
                    .collect();
                parts.extend(files);
                Some(Upload::Multipart(parts))
            }
        }
    }
}

pub async fn run(mut opts: Opts, ctx: &Context) -> anyhow::Result<()> {
    let ctx = &ctx.with_output(opts.output);
    let method = Method::from_bytes(opts.method.to_uppercase().as_bytes()).context("METHOD")?;
    let upload = opts.upload();
    let raw = RawRequest {
        method,
        path: opts.path.clone(),
        query: std::mem::take(&mut opts.query),
        headers: std::mem::take(&mut opts.header),
        body: opts.data.take(),
        upload,
        policy: opts.policy(),
    };
    let client = ctx.client()?;
    let request = client.raw_request(&raw)?;
    if opts.dry_run {
        return show_calls_raw(ctx, &request);
    }
    let response = client.execute(request).await?;
    match opts.response {
        ResponseMode::Binary => write_stdout(&response.body),
        ResponseMode::Text => {
            let mut text = String::from_utf8_lossy(&response.body).into_owned();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            write_stdout(text.as_bytes())
        }
        ResponseMode::Json if response.body.iter().all(u8::is_ascii_whitespace) => {
            eprintln!("HTTP {} (no body)", response.status);
            Ok(())
        }
        ResponseMode::Json => {
            let Ok(value) = serde_json::from_slice::<Value>(&response.body) else {
                bail!(
                    "the answer (HTTP {}) is not JSON; use --response text or binary",
                    response.status
                );
            };
            print_json(ctx, &value)
        }
    }
}

fn print_json(ctx: &Context, value: &Value) -> anyhow::Result<()> {
    match value {
        Value::Array(items) => {
            let mut list = ctx.printer(&[]).list();
            list.items(items)?;
            list.finish()?;
            Ok(())
        }
        other => print_value(ctx, other, &[], ""),
    }
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to stdout")
        }
        _ => Ok(()),
    }
}
