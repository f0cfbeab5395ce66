//! Mail sent with the real `Mailer` to a real SMTP server (aiosmtpd, started here), and read
//! back with Python's own `email` parser. Without aiosmtpd each test says so and returns;
//! `scripts/install-aiosmtpd.sh` installs it.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod support;

use chrono::{NaiveDate, Utc};
use greenlight_notify::mail::{Mail, MailError, Mailer, Security, SmtpSettings};
use greenlight_notify::{Event, EventKind, MessageText};
use support::smtp::SmtpSink;
use url::Url;

const FROM: &str = "Greenlight <noreply@greenlight.example>";
const TO: &str = "reviewer@northlight.example";

fn event() -> Event {
    Event::new(
        EventKind::DeclarationSubmitted,
        Utc::now(),
        "northlight",
        Some("prod-1".into()),
        serde_json::json!({"declaration_id": "decl-1"}),
    )
}

fn text(use_ref: &str) -> MessageText {
    MessageText {
        subject: "Declaration submitted: needs written approval".into(),
        production: Some("Night <&> Day".into()),
        use_ref: Some(use_ref.into()),
        outcome: Some("Needs written approval".into()),
        reasons: vec!["A digital replica of a performer's voice".into()],
        blockers: vec!["Written consent of the performer".into()],
        link: format!("https://greenlight.example/declarations/{use_ref}")
            .parse()
            .unwrap(),
    }
}

fn unsubscribe() -> Url {
    "https://greenlight.example/unsubscribe/tok-123"
        .parse()
        .unwrap()
}

fn mailer(sink: &SmtpSink) -> Mailer {
    let settings = SmtpSettings::parse(&format!("smtp://127.0.0.1:{}", sink.port), FROM).unwrap();
    assert_eq!(settings.security(), Security::Plain);
    Mailer::new(&settings).unwrap()
}

#[tokio::test]
async fn an_event_mail_arrives_with_its_headers_and_both_parts() {
    let Some(sink) = SmtpSink::start(true) else {
        return;
    };
    let mailer = mailer(&sink);
    mailer.check().await.unwrap();
    let event = event();
    let mail = Mail::event(&event, &text("VFX-042"), TO, &unsubscribe()).unwrap();
    mailer.send(&mail).await.unwrap();

    let received = sink.received();
    assert_eq!(received.len(), 1);
    let m = &received[0];
    assert_eq!(m.mail_from, "noreply@greenlight.example");
    assert_eq!(m.rcpt_tos, [TO]);
    assert_eq!(m.header("To"), TO);
    assert_eq!(m.header("From"), FROM);
    assert_eq!(
        m.header("Subject"),
        "Declaration submitted: needs written approval"
    );
    assert_eq!(m.header("X-Greenlight-Event"), event.id.to_string());
    assert_eq!(m.header("Message-ID"), format!("<{}@greenlight>", event.id));
    assert_eq!(
        m.header("List-Unsubscribe"),
        "<https://greenlight.example/unsubscribe/tok-123>"
    );
    assert_eq!(
        m.header("List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    assert!(
        m.header("Content-Type")
            .starts_with("multipart/alternative")
    );

    let plain = m.part("text/plain");
    for want in [
        "Production: Night <&> Day",
        "Use: VFX-042",
        "Outcome: Needs written approval",
        "- A digital replica of a performer's voice",
        "- Written consent of the performer",
        "https://greenlight.example/declarations/VFX-042",
        "https://greenlight.example/unsubscribe/tok-123",
        &event.id.to_string(),
    ] {
        assert!(plain.contains(want), "{want:?} missing in\n{plain}");
    }
    let html = m.part("text/html");
    for want in [
        "<td>Night &#60;&#38;&#62; Day</td>",
        "<td>VFX-042</td>",
        "<td>Needs written approval</td>",
        "<li>A digital replica of a performer&#39;s voice</li>",
        "<li>Written consent of the performer</li>",
        "href=\"https://greenlight.example/declarations/VFX-042\"",
    ] {
        assert!(html.contains(want), "{want:?} missing in\n{html}");
    }
    assert!(
        !html.contains("Night <&> Day"),
        "unescaped value in\n{html}"
    );
}

#[tokio::test]
async fn the_same_event_sent_twice_keeps_its_message_id() {
    let Some(sink) = SmtpSink::start(true) else {
        return;
    };
    let mailer = mailer(&sink);
    let event = event();
    // As after a crash: the mail is built again from the stored event and sent again.
    for _ in 0..2 {
        let mail = Mail::event(&event, &text("VFX-042"), TO, &unsubscribe()).unwrap();
        mailer.send(&mail).await.unwrap();
    }
    let received = sink.received();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[0].header("Message-ID"),
        received[1].header("Message-ID")
    );
}

#[tokio::test]
async fn a_digest_lists_every_event_id_in_headers_and_parts() {
    let Some(sink) = SmtpSink::start(true) else {
        return;
    };
    let mailer = mailer(&sink);
    // Enough events that the event header must be folded over several lines.
    let events: Vec<Event> = (0..40).map(|_| event()).collect();
    let texts: Vec<MessageText> = (0..40).map(|i| text(&format!("VFX-{i:03}"))).collect();
    let entries: Vec<(&Event, &MessageText)> = events.iter().zip(&texts).collect();
    let day = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
    let mail = Mail::digest(day, &entries, TO, &unsubscribe()).unwrap();
    mailer.send(&mail).await.unwrap();

    let received = sink.received();
    assert_eq!(received.len(), 1);
    let m = &received[0];
    assert_eq!(
        m.header("Subject"),
        "Greenlight digest for 2026-05-01: 40 events"
    );
    assert!(m.header("Message-ID").starts_with("<digest-"));
    assert_eq!(m.header("Message-ID"), mail.message_id());
    let listed: Vec<String> = m
        .header("X-Greenlight-Event")
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    let ids: Vec<String> = events.iter().map(|e| e.id.to_string()).collect();
    assert_eq!(listed, ids);
    for line in m.raw_headers.split("\r\n") {
        assert!(line.len() <= 998, "a header line of {} bytes", line.len());
    }
    let (plain, html) = (m.part("text/plain"), m.part("text/html"));
    for (id, t) in ids.iter().zip(&texts) {
        assert!(
            plain.contains(id.as_str()) && html.contains(id.as_str()),
            "{id}"
        );
        assert!(plain.contains(t.link.as_str()) && html.contains(t.link.as_str()));
        let use_ref = t.use_ref.as_deref().unwrap();
        assert!(plain.contains(use_ref) && html.contains(use_ref));
    }
    assert!(plain.contains("Production: Night <&> Day"));
    assert!(html.contains("Night &#60;&#38;&#62; Day"));
}

#[tokio::test]
async fn starttls_required_refuses_a_server_without_it() {
    let Some(sink) = SmtpSink::start(true) else {
        return;
    };
    // The same loopback server, but the URL asks for STARTTLS (as every non-loopback
    // smtp:// URL does), and aiosmtpd here offers none: nothing may go out in plain text.
    let settings = SmtpSettings::parse(
        &format!("smtp://127.0.0.1:{}?tls=required", sink.port),
        FROM,
    )
    .unwrap();
    assert_eq!(settings.security(), Security::StartTls);
    assert_eq!(
        SmtpSettings::parse("smtp://mail.example.com:587", FROM)
            .unwrap()
            .security(),
        Security::StartTls
    );
    let mailer = Mailer::new(&settings).unwrap();
    let mail = Mail::event(&event(), &text("VFX-042"), TO, &unsubscribe()).unwrap();
    let err = mailer.send(&mail).await.unwrap_err();
    assert!(matches!(err, MailError::Send { .. }), "{err}");
    assert!(err.to_string().contains("STARTTLS"), "{err}");
    assert!(mailer.check().await.is_err());
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn permanent_refusals_are_final_and_temporary_ones_retryable() {
    let Some(sink) = SmtpSink::start(true) else {
        return;
    };
    let mailer = mailer(&sink);
    let e = event();
    let refused = Mail::event(&e, &text("a"), "refused@northlight.example", &unsubscribe());
    let err = mailer.send(&refused.unwrap()).await.unwrap_err();
    assert!(!err.retryable(), "{err}");
    assert!(err.to_string().contains("550"), "{err}");

    let later = Mail::event(&e, &text("a"), "later@northlight.example", &unsubscribe());
    let err = mailer.send(&later.unwrap()).await.unwrap_err();
    assert!(err.retryable(), "{err}");
    assert!(err.to_string().contains("451"), "{err}");
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn a_server_that_is_not_there_is_a_retryable_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let settings = SmtpSettings::parse(&format!("smtp://127.0.0.1:{port}"), FROM).unwrap();
    let mailer = Mailer::new(&settings).unwrap();
    let mail = Mail::event(&event(), &text("a"), TO, &unsubscribe()).unwrap();
    let err = mailer.send(&mail).await.unwrap_err();
    assert!(err.retryable(), "{err}");
}
