//! One mail: an event's mail or a daily digest, with plain-text and HTML parts and the
//! headers that tie it to its events.

use std::fmt::Write;

use askama::Template;
use chrono::NaiveDate;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use sha2::{Digest, Sha256};
use url::Url;
use uuid::Uuid;

use super::MailError;
use crate::event::Event;
use crate::message::MessageText;

/// The domain part of every `Message-ID` Greenlight writes.
pub(super) const MESSAGE_ID_DOMAIN: &str = "greenlight";

/// A mail to one person, ready for [`Mailer::send`](super::Mailer::send).
///
/// Built from one event ([`Mail::event`]) or a day's events ([`Mail::digest`]). It carries
/// the ids of its events in `X-Greenlight-Event`, a `Message-ID` derived from them (the same
/// mail sent again after a crash has the same id, so mail clients show it once), and a
/// one-click unsubscribe (RFC 8058).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    pub(super) to: Mailbox,
    pub(super) subject: String,
    pub(super) text: String,
    pub(super) html: String,
    pub(super) event_ids: Vec<Uuid>,
    pub(super) message_id: String,
    /// `None` for a mail a person asked for or must get (a link to sign in with): no
    /// unsubscribe headers.
    pub(super) unsubscribe: Option<Url>,
}

#[derive(Template)]
#[template(path = "mail_event.html")]
struct EventHtml<'a> {
    text: &'a MessageText,
    event_id: Uuid,
    kind: &'a str,
    unsubscribe: &'a Url,
}

#[derive(Template)]
#[template(path = "mail_digest.html")]
struct DigestHtml<'a> {
    subject: &'a str,
    entries: Vec<DigestRow<'a>>,
    unsubscribe: &'a Url,
}

struct DigestRow<'a> {
    id: Uuid,
    subject: &'a str,
    production: &'a str,
    use_ref: &'a str,
    link: &'a Url,
}

impl Mail {
    /// The mail telling `to` about one event: the subject, the production, the use ref, the
    /// outcome in words, the reasons and blockers, and a link to the page. `unsubscribe` is
    /// the person's one-click unsubscribe address (https for RFC 8058; see
    /// [`Mail::headers`]).
    pub fn event(
        event: &Event,
        text: &MessageText,
        to: &str,
        unsubscribe: &Url,
    ) -> Result<Mail, MailError> {
        let to = recipient(to)?;
        check_unsubscribe(unsubscribe)?;
        let html = EventHtml {
            text,
            event_id: event.id,
            kind: event.kind.as_str(),
            unsubscribe,
        }
        .render()
        .map_err(|e| MailError::Render(e.to_string()))?;
        Ok(Mail {
            to,
            subject: one_line(&text.subject),
            text: event_text(event, text, unsubscribe),
            html,
            event_ids: vec![event.id],
            message_id: format!("<{}@{MESSAGE_ID_DOMAIN}>", event.id),
            unsubscribe: Some(unsubscribe.clone()),
        })
    }

    /// The daily digest of `day` for `to`: one line per event with its subject, production,
    /// use ref, link and id. Its `Message-ID` is derived from the set of its events' ids.
    pub fn digest(
        day: NaiveDate,
        entries: &[(&Event, &MessageText)],
        to: &str,
        unsubscribe: &Url,
    ) -> Result<Mail, MailError> {
        let to = recipient(to)?;
        check_unsubscribe(unsubscribe)?;
        if entries.is_empty() {
            return Err(MailError::EmptyDigest);
        }
        let subject = format!(
            "Greenlight digest for {day}: {} {}",
            entries.len(),
            if entries.len() == 1 {
                "event"
            } else {
                "events"
            }
        );
        let rows: Vec<DigestRow<'_>> = entries
            .iter()
            .map(|(event, text)| DigestRow {
                id: event.id,
                subject: &text.subject,
                production: text.production.as_deref().unwrap_or(""),
                use_ref: text.use_ref.as_deref().unwrap_or(""),
                link: &text.link,
            })
            .collect();
        let mut plain = format!("{subject}\n\n");
        for row in &rows {
            let _ = writeln!(plain, "- {}", one_line(row.subject));
            if !row.production.is_empty() {
                let _ = writeln!(plain, "  Production: {}", one_line(row.production));
            }
            if !row.use_ref.is_empty() {
                let _ = writeln!(plain, "  Use: {}", one_line(row.use_ref));
            }
            let _ = writeln!(plain, "  {}", row.link);
            let _ = writeln!(plain, "  Event {}\n", row.id);
        }
        let _ = write!(plain, "-- \nUnsubscribe from these mails: {unsubscribe}\n");
        let html = DigestHtml {
            subject: &subject,
            entries: rows,
            unsubscribe,
        }
        .render()
        .map_err(|e| MailError::Render(e.to_string()))?;

        let event_ids: Vec<Uuid> = entries.iter().map(|(e, _)| e.id).collect();
        let mut sorted = event_ids.clone();
        sorted.sort();
        sorted.dedup();
        let mut h = Sha256::new();
        h.update(b"greenlight-digest\n");
        for id in &sorted {
            h.update(id.as_bytes());
        }
        let digest = hex::encode(&h.finalize()[..16]);
        Ok(Mail {
            to,
            subject,
            text: plain,
            html,
            event_ids,
            message_id: format!("<digest-{digest}@{MESSAGE_ID_DOMAIN}>"),
            unsubscribe: Some(unsubscribe.clone()),
        })
    }

    /// The recipient.
    pub fn to(&self) -> &Mailbox {
        &self.to
    }

    /// The subject, on one line.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The plain-text part.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The HTML part (every value escaped).
    pub fn html(&self) -> &str {
        &self.html
    }

    /// The ids of the events the mail tells about.
    pub fn event_ids(&self) -> &[Uuid] {
        &self.event_ids
    }

    /// The `Message-ID`, angle brackets included: `<{event id}@greenlight>` for one event,
    /// `<digest-{hash of the event ids}@greenlight>` for a digest.
    pub fn message_id(&self) -> &str {
        &self.message_id
    }

    /// The headers Greenlight adds besides From, To, Subject, Date and Message-ID:
    /// `X-Greenlight-Event` (the event ids, comma separated), `List-Unsubscribe`
    /// (`<address>`) and, when the address is https, `List-Unsubscribe-Post:
    /// List-Unsubscribe=One-Click` (RFC 8058 allows one-click only over https; a plain-http
    /// address, as a development server has, gets the RFC 2369 header alone). A mail of a
    /// link ([`Mail::link`]) tells of no event and has no unsubscribe address: neither is
    /// added.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = Vec::new();
        if !self.event_ids.is_empty() {
            let ids: Vec<String> = self.event_ids.iter().map(Uuid::to_string).collect();
            headers.push(("X-Greenlight-Event", ids.join(", ")));
        }
        if let Some(unsubscribe) = &self.unsubscribe {
            headers.push(("List-Unsubscribe", format!("<{unsubscribe}>")));
            if unsubscribe.scheme() == "https" {
                headers.push((
                    "List-Unsubscribe-Post",
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
            }
        }
        headers
    }

    /// The mail as a lettre message from `from`, dated now.
    pub fn message(&self, from: &Mailbox) -> Result<lettre::Message, MailError> {
        let mut builder = lettre::Message::builder()
            .from(from.clone())
            .to(self.to.clone())
            .subject(self.subject.clone())
            .message_id(Some(self.message_id.clone()));
        for (name, value) in self.headers() {
            let name = HeaderName::new_from_ascii_str(name);
            builder = builder.raw_header(HeaderValue::new(name, value));
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                self.text.clone(),
                self.html.clone(),
            ))
            .map_err(|e| MailError::Build(e.to_string()))
    }
}

fn event_text(event: &Event, text: &MessageText, unsubscribe: &Url) -> String {
    let mut out = format!("{}\n\n", one_line(&text.subject));
    for (label, value) in [
        ("Production", &text.production),
        ("Use", &text.use_ref),
        ("Outcome", &text.outcome),
    ] {
        if let Some(value) = value {
            let _ = writeln!(out, "{label}: {}", one_line(value));
        }
    }
    for (label, items) in [("Reasons", &text.reasons), ("Blockers", &text.blockers)] {
        if !items.is_empty() {
            let _ = writeln!(out, "\n{label}:");
            for item in items {
                let _ = writeln!(out, "- {}", one_line(item));
            }
        }
    }
    let _ = write!(
        out,
        "\nOpen in Greenlight: {}\n\n-- \nEvent {} ({}).\nUnsubscribe from these mails: {unsubscribe}\n",
        text.link, event.id, event.kind
    );
    out
}

/// Text on one line: line breaks and runs of whitespace become one space, so a value cannot
/// start a new line in the plain-text part or a header.
pub(super) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn recipient(to: &str) -> Result<Mailbox, MailError> {
    to.trim()
        .parse()
        .map_err(|e: lettre::address::AddressError| MailError::Recipient {
            address: to.to_owned(),
            cause: e.to_string(),
        })
}

fn check_unsubscribe(url: &Url) -> Result<(), MailError> {
    match url.scheme() {
        "https" | "http" => Ok(()),
        other => Err(MailError::Unsubscribe(format!(
            "{other}: the unsubscribe address must be https (or http for a development server)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use chrono::Utc;

    fn event() -> Event {
        Event::new(
            EventKind::DeclarationSubmitted,
            Utc::now(),
            "northlight",
            Some("p1".into()),
            serde_json::json!({}),
        )
    }

    fn text() -> MessageText {
        MessageText {
            subject: "Declaration submitted: needs review".into(),
            production: Some("Night <&> Day".into()),
            use_ref: Some("VFX-042".into()),
            outcome: Some("Needs review".into()),
            reasons: vec!["Uses a <script>alert(1)</script> voice".into()],
            blockers: vec!["Consent missing".into()],
            link: "https://greenlight.example/d/1?a=1&b=2".parse().unwrap(),
        }
    }

    fn unsubscribe() -> Url {
        "https://greenlight.example/unsubscribe/tok"
            .parse()
            .unwrap()
    }

    #[test]
    fn html_part_escapes_every_value() {
        let mail = Mail::event(&event(), &text(), "a@example.com", &unsubscribe()).unwrap();
        let html = mail.html();
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{html}"
        );
        assert!(html.contains("Night &#60;&#38;&#62; Day"), "{html}");
        // The link's `&` is escaped in the attribute too.
        assert!(
            html.contains("href=\"https://greenlight.example/d/1?a=1&#38;b=2\""),
            "{html}"
        );
        assert!(mail.text().contains("Night <&> Day"), "{}", mail.text());
    }

    #[test]
    fn message_id_is_derived_from_the_event() {
        let e = event();
        let a = Mail::event(&e, &text(), "a@example.com", &unsubscribe()).unwrap();
        assert_eq!(a.message_id(), format!("<{}@greenlight>", e.id));
        assert_eq!(a.event_ids(), &[e.id]);
    }

    #[test]
    fn a_digest_id_depends_on_its_set_of_events_only() {
        let (e1, e2, e3) = (event(), event(), event());
        let t = text();
        let u = unsubscribe();
        let day = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        let a = Mail::digest(day, &[(&e1, &t), (&e2, &t)], "a@example.com", &u).unwrap();
        let b = Mail::digest(day, &[(&e2, &t), (&e1, &t)], "a@example.com", &u).unwrap();
        let c = Mail::digest(day, &[(&e1, &t), (&e3, &t)], "a@example.com", &u).unwrap();
        assert_eq!(a.message_id(), b.message_id());
        assert_ne!(a.message_id(), c.message_id());
        assert!(a.message_id().starts_with("<digest-"));
        assert_eq!(a.subject(), "Greenlight digest for 2026-05-01: 2 events");
        for id in [e1.id, e2.id] {
            assert!(a.text().contains(&id.to_string()));
            assert!(a.html().contains(&id.to_string()));
        }
        assert_eq!(
            Mail::digest(day, &[], "a@example.com", &u).unwrap_err(),
            MailError::EmptyDigest
        );
    }

    #[test]
    fn one_click_unsubscribe_only_over_https() {
        let e = event();
        let https = Mail::event(&e, &text(), "a@example.com", &unsubscribe()).unwrap();
        let names: Vec<&str> = https.headers().iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "X-Greenlight-Event",
                "List-Unsubscribe",
                "List-Unsubscribe-Post"
            ]
        );
        let http: Url = "http://127.0.0.1:8080/unsubscribe/tok".parse().unwrap();
        let plain = Mail::event(&e, &text(), "a@example.com", &http).unwrap();
        let names: Vec<&str> = plain.headers().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["X-Greenlight-Event", "List-Unsubscribe"]);
        let mailto: Url = "mailto:x@example.com".parse().unwrap();
        let err = Mail::event(&e, &text(), "a@example.com", &mailto).unwrap_err();
        assert!(err.to_string().starts_with("unsubscribe: "), "{err}");
    }

    #[test]
    fn a_bad_recipient_is_named() {
        let err = Mail::event(&event(), &text(), "not an address", &unsubscribe()).unwrap_err();
        assert!(
            err.to_string().starts_with("to: \"not an address\""),
            "{err}"
        );
    }

    #[test]
    fn a_line_break_in_a_value_cannot_add_a_header() {
        let mut t = text();
        t.subject = "Hello\r\nBcc: victim@example.com".into();
        let mail = Mail::event(&event(), &t, "a@example.com", &unsubscribe()).unwrap();
        assert_eq!(mail.subject(), "Hello Bcc: victim@example.com");
        let from: Mailbox = "Greenlight <noreply@greenlight.example>".parse().unwrap();
        let raw = String::from_utf8(mail.message(&from).unwrap().formatted()).unwrap();
        let (head, _body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(!head.contains("\r\nBcc:"), "{head}");
    }
}
