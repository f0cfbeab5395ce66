//! The `slack` format: a Slack incoming-webhook message, which Slack, Mattermost and Teams'
//! Slack-compatible connectors accept.

use serde_json::{Value, json};

use crate::event::Event;
use crate::message::MessageText;

// Slack's documented limits for the blocks used here; longer text is cut with "…" rather
// than making Slack refuse the whole message.
const HEADER_MAX: usize = 150;
const FIELD_MAX: usize = 2000;
const SECTION_MAX: usize = 3000;

/// The body of a Slack incoming-webhook message for `event`: `text` (the one-line
/// notification and the fallback where blocks are not shown) and `blocks` (a header with the
/// subject; a section with the production, the use ref and the outcome in words; the
/// reasons and blockers; a button linking to the page; the event's type and id).
pub fn slack_body(event: &Event, summary: &MessageText) -> Value {
    let mut fields = Vec::new();
    for (label, value) in [
        ("Production", &summary.production),
        ("Use", &summary.use_ref),
        ("Outcome", &summary.outcome),
    ] {
        if let Some(value) = value {
            fields.push(json!({
                "type": "mrkdwn",
                "text": cut(&format!("*{label}*\n{}", escape(value)), FIELD_MAX),
            }));
        }
    }

    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": cut(&summary.subject, HEADER_MAX), "emoji": false},
    })];
    if !fields.is_empty() {
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    for (label, items) in [
        ("Reasons", &summary.reasons),
        ("Blockers", &summary.blockers),
    ] {
        if items.is_empty() {
            continue;
        }
        let list: Vec<String> = items.iter().map(|i| format!("• {}", escape(i))).collect();
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": cut(&format!("*{label}*\n{}", list.join("\n")), SECTION_MAX)},
        }));
    }
    blocks.push(json!({
        "type": "actions",
        "elements": [{
            "type": "button",
            "text": {"type": "plain_text", "text": "Open in Greenlight"},
            "url": summary.link.as_str(),
        }],
    }));
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": format!("`{}` · event {}", event.kind, event.id)}],
    }));

    let mut text = escape(&summary.subject);
    if let Some(production) = &summary.production {
        text.push_str(&format!(" · {}", escape(production)));
    }
    if let Some(use_ref) = &summary.use_ref {
        text.push_str(&format!(" · {}", escape(use_ref)));
    }
    json!({
        "text": cut(&format!("{text} <{}|Open>", summary.link), SECTION_MAX),
        "blocks": blocks,
    })
}

/// Escapes the three characters Slack's `mrkdwn` gives meaning to (its documented rule for
/// text that should show as typed); small enough not to need a crate.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `text` cut to at most `max` characters, ending in "…" when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;
    use chrono::Utc;

    fn summary() -> MessageText {
        MessageText {
            subject: "Declaration submitted: needs written approval".into(),
            production: Some("Night <&> Day".into()),
            use_ref: Some("VFX-042".into()),
            outcome: Some("Needs written approval".into()),
            reasons: vec!["A digital replica of a performer".into()],
            blockers: vec!["Consent of the performer is missing".into()],
            link: "https://greenlight.example/declarations/d1"
                .parse()
                .unwrap(),
        }
    }

    #[test]
    fn slack_message_has_text_and_blocks_with_the_facts_and_a_link_button() {
        let event = Event::new(
            EventKind::DeclarationSubmitted,
            Utc::now(),
            "s1",
            Some("p1".into()),
            json!({}),
        );
        let body = slack_body(&event, &summary());
        let text = body["text"].as_str().unwrap();
        assert!(text.starts_with("Declaration submitted"), "{text}");
        assert!(text.contains("Night &lt;&amp;&gt; Day"), "{text}");
        let blocks = body["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        let fields = blocks[1]["fields"].to_string();
        for want in [
            "*Production*",
            "Night &lt;&amp;&gt; Day",
            "VFX-042",
            "Needs written approval",
        ] {
            assert!(fields.contains(want), "{want} missing in {fields}");
        }
        let all = body.to_string();
        assert!(all.contains("• A digital replica of a performer"));
        assert!(all.contains("• Consent of the performer is missing"));
        let button = blocks
            .iter()
            .find(|b| b["type"] == "actions")
            .map(|b| &b["elements"][0])
            .unwrap();
        assert_eq!(button["url"], "https://greenlight.example/declarations/d1");
        assert!(all.contains(&event.id.to_string()));
    }

    #[test]
    fn long_text_is_cut_to_slacks_limits() {
        let mut s = summary();
        s.subject = "x".repeat(400);
        s.reasons = vec!["y".repeat(5000)];
        let event = Event::new(EventKind::ScanFailed, Utc::now(), "s1", None, json!({}));
        let body = slack_body(&event, &s);
        let header = body["blocks"][0]["text"]["text"].as_str().unwrap();
        assert_eq!(header.chars().count(), HEADER_MAX);
        assert!(header.ends_with('…'));
        for block in body["blocks"].as_array().unwrap() {
            if let Some(t) = block["text"]["text"].as_str() {
                assert!(t.chars().count() <= SECTION_MAX);
            }
        }
    }
}
