//! Events delivered per second, one after another, to a local webhook receiver and a local
//! SMTP server, each against a plain loop sending the same messages with the same client in
//! the same run.
//!
//! - `webhook/greenlight`: per event, check the target (`Target::check`), serialize the
//!   envelope, sign it and post it with `Sender::deliver`. Baseline `webhook/plain_reqwest`:
//!   a `reqwest::Client` built the same way posting the same bytes, unsigned.
//! - `smtp/greenlight`: per event, render the mail (`Mail::event`, both parts, headers) and
//!   send it with `Mailer::send`. Baseline `smtp/plain_lettre`: a lettre transport built the
//!   same way sending the same messages, built beforehand. The SMTP server is Python's
//!   aiosmtpd (`scripts/install-aiosmtpd.sh`), counting messages without writing them; the
//!   group is skipped with a message when it is missing.
//!
//! The receiver (axum, answering 204) and the SMTP server run on this machine, so the
//! figures are the sending side's cost plus loopback and the receivers' own work, which is
//! the same for both loops of a group. Compare the throughputs within a group: their ratio
//! is what Greenlight's checks, signing and rendering cost.
//!
//! - `smtp_concurrent/*`: the same two, with 8 sends in flight over the pooled connections.
//!
//! lettre 0.11.23 leaves Nagle's algorithm on, and writes a message's body and its final
//! `.` line separately, so every message waits for the server's delayed ACK (40 ms on
//! Linux): about 22 messages a second per connection, whoever builds them. Both SMTP loops
//! pay it equally; the `smtp_concurrent` group shows what sending over several pooled
//! connections recovers. (lettre has merged setting `TCP_NODELAY`; a release with it lifts
//! the figure without a change here.)
//!
//! Knobs: `GREENLIGHT_BENCH_EVENTS`, events per measured batch (default 50).

#![allow(clippy::unwrap_used)]

#[path = "../tests/support/smtp.rs"]
mod smtp;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use greenlight_notify::mail::{Mail, Mailer, SmtpSettings};
use greenlight_notify::webhook::{Secret, Sender, SenderOptions, Target};
use greenlight_notify::{Event, EventKind, MessageText};
use lettre::AsyncTransport;

/// Sends at a time in the `smtp_concurrent` group (lettre's pool holds up to 10 connections).
const IN_FLIGHT: usize = 8;

fn events_per_batch() -> usize {
    std::env::var("GREENLIGHT_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

fn events(n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| {
            Event::new(
                EventKind::DeclarationSubmitted,
                Utc::now(),
                "northlight",
                Some("prod-1".into()),
                serde_json::json!({
                    "declaration_id": format!("decl-{i}"),
                    "production_id": "prod-1",
                    "use_ref": format!("VFX-{i:03}"),
                    "outcome": "written_approval",
                    "url": format!("https://greenlight.example/declarations/decl-{i}"),
                }),
            )
        })
        .collect()
}

fn text(i: usize) -> MessageText {
    MessageText {
        subject: "Declaration submitted: needs written approval".into(),
        production: Some("The Lighthouse Keeper".into()),
        use_ref: Some(format!("VFX-{i:03}")),
        outcome: Some("Needs written approval".into()),
        reasons: vec!["A digital replica of a performer's voice".into()],
        blockers: vec!["Written consent of the performer".into()],
        link: format!("https://greenlight.example/declarations/decl-{i}")
            .parse()
            .unwrap(),
    }
}

fn webhook(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let addr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(|_body: axum::body::Bytes| async {
                axum::http::StatusCode::NO_CONTENT
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    });
    let url = format!("http://{addr}/hook");
    let n = events_per_batch();
    let events = events(n);
    let bodies: Vec<Vec<u8>> = events
        .iter()
        .map(|e| serde_json::to_vec(&e.webhook_body()).unwrap())
        .collect();
    let secrets = [Secret::generate()];
    let sender = Sender::new(SenderOptions::default()).unwrap();
    let options = SenderOptions::default();
    // The baseline client: the same settings as the sender's, without the pinning resolver.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(options.timeout)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    // Whichever loop ran first measured slower (the receiver and both clients warming up),
    // so both make a few hundred requests before anything is measured.
    rt.block_on(async {
        let target = Target::check(&url, true).await.unwrap();
        for (event, body) in events.iter().zip(&bodies).cycle().take(500) {
            sender
                .deliver(&target, event, body, &secrets)
                .await
                .unwrap();
            plain.post(&url).body(body.clone()).send().await.unwrap();
        }
    });

    let mut group = c.benchmark_group("webhook");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("plain_reqwest", |b| {
        b.to_async(rt).iter(|| async {
            for body in &bodies {
                let response = plain
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success());
            }
        })
    });
    group.bench_function("greenlight", |b| {
        b.to_async(rt).iter(|| async {
            for event in &events {
                let target = Target::check(&url, true).await.unwrap();
                let body = serde_json::to_vec(&event.webhook_body()).unwrap();
                sender
                    .deliver(&target, event, &body, &secrets)
                    .await
                    .unwrap();
            }
        })
    });
    group.finish();
}

fn smtp(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let Some(sink) = smtp::SmtpSink::start(false) else {
        eprintln!("smtp group skipped: aiosmtpd is missing (run scripts/install-aiosmtpd.sh)");
        return;
    };
    // lettre's connection pool starts its cleanup task, and stops it, on the runtime.
    let _runtime = rt.enter();
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    let settings = SmtpSettings::parse(&url, "Greenlight <noreply@greenlight.example>").unwrap();
    let mailer = Mailer::new(&settings).unwrap();
    let unsubscribe: url::Url = "https://greenlight.example/unsubscribe/tok"
        .parse()
        .unwrap();
    let to = "reviewer@northlight.example";
    let n = events_per_batch();
    let events = events(n);
    let texts: Vec<MessageText> = (0..n).map(text).collect();
    let messages: Vec<lettre::Message> = events
        .iter()
        .zip(&texts)
        .map(|(e, t)| {
            Mail::event(e, t, to, &unsubscribe)
                .unwrap()
                .message(settings.from())
                .unwrap()
        })
        .collect();
    // The baseline transport: the same settings as the mailer's (plain to loopback, pool).
    let plain =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(sink.port)
            .timeout(Some(settings.timeout()))
            .build();

    let mut group = c.benchmark_group("smtp");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("greenlight", |b| {
        b.to_async(rt).iter(|| async {
            for (event, text) in events.iter().zip(&texts) {
                let mail = Mail::event(event, text, to, &unsubscribe).unwrap();
                mailer.send(&mail).await.unwrap();
            }
        })
    });
    group.bench_function("plain_lettre", |b| {
        b.to_async(rt).iter(|| async {
            for message in &messages {
                plain.send(message.clone()).await.unwrap();
            }
        })
    });
    group.finish();

    // The same, with IN_FLIGHT sends at a time over the transports' connection pools, as a
    // dispatcher can send: each connection waits out its own Nagle stall (see above).
    let work: Arc<Vec<(Event, MessageText)>> = Arc::new(events.into_iter().zip(texts).collect());
    let messages = Arc::new(messages);
    let mut group = c.benchmark_group("smtp_concurrent");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("greenlight", |b| {
        b.to_async(rt).iter(|| async {
            let mut tasks = tokio::task::JoinSet::new();
            for lane in 0..IN_FLIGHT {
                let (work, mailer, unsubscribe) =
                    (work.clone(), mailer.clone(), unsubscribe.clone());
                tasks.spawn(async move {
                    for (event, text) in work.iter().skip(lane).step_by(IN_FLIGHT) {
                        let mail = Mail::event(event, text, to, &unsubscribe).unwrap();
                        mailer.send(&mail).await.unwrap();
                    }
                });
            }
            tasks.join_all().await;
        })
    });
    group.bench_function("plain_lettre", |b| {
        b.to_async(rt).iter(|| async {
            let mut tasks = tokio::task::JoinSet::new();
            for lane in 0..IN_FLIGHT {
                let (messages, plain) = (messages.clone(), plain.clone());
                tasks.spawn(async move {
                    for message in messages.iter().skip(lane).step_by(IN_FLIGHT) {
                        plain.send(message.clone()).await.unwrap();
                    }
                });
            }
            tasks.join_all().await;
        })
    });
    group.finish();
    drop((mailer, plain, sink));
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    webhook(c, &rt);
    smtp(c, &rt);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
