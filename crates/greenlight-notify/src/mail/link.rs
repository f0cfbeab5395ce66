//! A mail carrying one link for one person to follow: an invitation, a password reset. It
//! says what the link is for, where it goes, when it stops working and that the person may
//! ignore the mail; it has no unsubscribe address (the person asked for it, or an admin of
//! theirs sent it) and tells of no event.

use std::fmt::Write;

use askama::Template;
use chrono::{DateTime, Utc};
use url::Url;
use uuid::Uuid;

use super::compose::{MESSAGE_ID_DOMAIN, one_line, recipient};
use super::{Mail, MailError};

/// The words of a link's mail; [`Mail::link`] makes the mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkMessage {
    /// The subject (made one line), e.g. `Greenlight: join Northlight Studios`.
    pub subject: String,
    /// Paragraphs before the link.
    pub paragraphs: Vec<String>,
    /// What following the link does, e.g. `Choose your password`.
    pub action: String,
    /// The link.
    pub link: Url,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
    /// Why the person may ignore the mail, e.g. `If you did not ask for a new password,
    /// ignore this mail: your password stays as it is.`
    pub ignore: String,
}

#[derive(Template)]
#[template(path = "mail_link.html")]
struct LinkHtml<'a> {
    message: &'a LinkMessage,
    expires: String,
}

/// When a link expires, as people read it.
fn expiry(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

impl Mail {
    /// The mail of one link to `to`: plain-text and HTML parts with the paragraphs, the
    /// link, its expiry and the line saying the mail may be ignored. Its `Message-ID` is
    /// random (the link is sent once); it has no unsubscribe headers.
    pub fn link(message: &LinkMessage, to: &str) -> Result<Mail, MailError> {
        let to = recipient(to)?;
        match message.link.scheme() {
            "https" | "http" => {}
            other => {
                return Err(MailError::Build(format!(
                    "link: {other}: a link must be https (or http for a development server)"
                )));
            }
        }
        let expires = expiry(message.expires_at);
        let subject = one_line(&message.subject);
        let mut text = format!("{subject}\n\n");
        for p in &message.paragraphs {
            let _ = write!(text, "{}\n\n", one_line(p));
        }
        let _ = write!(
            text,
            "{}:\n{}\n\nThis link works once, until {expires}.\n\n-- \n{}\n",
            one_line(&message.action),
            message.link,
            one_line(&message.ignore)
        );
        let html = LinkHtml {
            message,
            expires: expires.clone(),
        }
        .render()
        .map_err(|e| MailError::Render(e.to_string()))?;
        Ok(Mail {
            to,
            subject,
            text,
            html,
            event_ids: Vec::new(),
            message_id: format!("<link-{}@{MESSAGE_ID_DOMAIN}>", Uuid::new_v4()),
            unsubscribe: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lettre::message::Mailbox;

    fn message() -> LinkMessage {
        LinkMessage {
            subject: "Greenlight: join Night <&> Day\r\nBcc: x@example.com".into(),
            paragraphs: vec!["Ana invited you as <b>Reviewer</b>.".into()],
            action: "Choose your password".into(),
            link: "https://greenlight.example/join/abc_DEF-123"
                .parse()
                .unwrap(),
            expires_at: "2026-12-13T10:00:00Z".parse().unwrap(),
            ignore: "If you did not expect this mail, ignore it.".into(),
        }
    }

    #[test]
    fn a_link_mail_says_where_until_when_and_that_it_may_be_ignored() {
        let mail = Mail::link(&message(), "new@example.com").unwrap();
        assert_eq!(
            mail.subject(),
            "Greenlight: join Night <&> Day Bcc: x@example.com"
        );
        let text = mail.text();
        assert!(
            text.contains("https://greenlight.example/join/abc_DEF-123\n"),
            "{text}"
        );
        assert!(text.contains("until 2026-12-13 10:00 UTC"), "{text}");
        assert!(text.contains("ignore it."), "{text}");
        let html = mail.html();
        assert!(
            html.contains("href=\"https://greenlight.example/join/abc_DEF-123\""),
            "{html}"
        );
        assert!(html.contains("&#60;b&#62;Reviewer"), "{html}");
        assert!(html.contains("2026-12-13 10:00 UTC"), "{html}");
        assert!(mail.headers().is_empty(), "no unsubscribe, no event");
        assert!(mail.message_id().starts_with("<link-"));
        let from: Mailbox = "Greenlight <noreply@greenlight.example>".parse().unwrap();
        let raw = String::from_utf8(mail.message(&from).unwrap().formatted()).unwrap();
        let (head, _) = raw.split_once("\r\n\r\n").unwrap();
        assert!(!head.contains("\r\nBcc:"), "{head}");
        assert!(!head.contains("List-Unsubscribe"), "{head}");
    }

    #[test]
    fn only_web_links_are_mailed() {
        let mut m = message();
        m.link = "javascript:alert(1)".parse().unwrap();
        let err = Mail::link(&m, "a@example.com").unwrap_err();
        assert!(err.to_string().contains("link: javascript"), "{err}");
    }
}
