//! The event envelope: what happened, when, to which studio and production, with a JSON
//! payload. Every channel sends the same event under the same id, retries included, so a
//! receiver can drop duplicates by id.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One thing that happened which someone should hear about.
///
/// The store writes it in the same transaction as the change it reports, and every delivery
/// of it (to every subscriber, on every retry) carries the same [`Event::id`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// A UUID v7: unique, and ordered by the time it was made.
    pub id: Uuid,
    /// What happened.
    pub kind: EventKind,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The studio it belongs to (its id).
    pub studio: String,
    /// The production it is about (its id), when it is about one.
    pub production: Option<String>,
    /// The payload, documented per kind in the OpenAPI document; for a declaration event it
    /// carries at least `declaration_id`, `production_id`, `use_ref`, `outcome` and `url`.
    pub data: serde_json::Value,
}

impl Event {
    /// A new event with a fresh UUID v7.
    pub fn new(
        kind: EventKind,
        at: DateTime<Utc>,
        studio: impl Into<String>,
        production: Option<String>,
        data: serde_json::Value,
    ) -> Event {
        Event {
            id: Uuid::now_v7(),
            kind,
            at,
            studio: studio.into(),
            production,
            data,
        }
    }

    /// The body a webhook receiver gets, exactly `{"id", "type", "timestamp", "data"}` in
    /// that order, as the Standard Webhooks specification lays out a payload; `timestamp`
    /// is RFC 3339 in UTC (`Z`). The same event always gives the same bytes.
    pub fn webhook_body(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id.to_string(),
            "type": self.kind.as_str(),
            "timestamp": self.at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            "data": self.data,
        })
    }
}

/// The kinds of event, with their wire names (`declaration.submitted`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// A declaration was submitted, whatever its outcome (`notify` included).
    #[serde(rename = "declaration.submitted")]
    DeclarationSubmitted,
    /// A submitted declaration was revised.
    #[serde(rename = "declaration.revised")]
    DeclarationRevised,
    /// A reviewer approved, rejected, requested changes to or revoked a declaration.
    #[serde(rename = "declaration.decided")]
    DeclarationDecided,
    /// A declaration went back to triage after a consent, tool, fact or pack changed.
    #[serde(rename = "declaration.suspended")]
    DeclarationSuspended,
    /// A consent expires within 30 or 7 days.
    #[serde(rename = "consent.expiring")]
    ConsentExpiring,
    /// A consent was revoked.
    #[serde(rename = "consent.revoked")]
    ConsentRevoked,
    /// A production whose release is within 30 days has open obligations.
    #[serde(rename = "obligation.due")]
    ObligationDue,
    /// A delivery scan reported its verdict.
    #[serde(rename = "scan.completed")]
    ScanCompleted,
    /// A delivery scan reported a fail verdict.
    #[serde(rename = "scan.failed")]
    ScanFailed,
}

impl EventKind {
    /// Every kind, in the order above.
    pub const ALL: [EventKind; 9] = [
        EventKind::DeclarationSubmitted,
        EventKind::DeclarationRevised,
        EventKind::DeclarationDecided,
        EventKind::DeclarationSuspended,
        EventKind::ConsentExpiring,
        EventKind::ConsentRevoked,
        EventKind::ObligationDue,
        EventKind::ScanCompleted,
        EventKind::ScanFailed,
    ];

    /// The wire name, e.g. `declaration.submitted`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::DeclarationSubmitted => "declaration.submitted",
            EventKind::DeclarationRevised => "declaration.revised",
            EventKind::DeclarationDecided => "declaration.decided",
            EventKind::DeclarationSuspended => "declaration.suspended",
            EventKind::ConsentExpiring => "consent.expiring",
            EventKind::ConsentRevoked => "consent.revoked",
            EventKind::ObligationDue => "obligation.due",
            EventKind::ScanCompleted => "scan.completed",
            EventKind::ScanFailed => "scan.failed",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the event kinds.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not an event type; one of {list}", list = EventKind::ALL.map(EventKind::as_str).join(", "))]
pub struct UnknownEventKind(pub String);

impl FromStr for EventKind {
    type Err = UnknownEventKind;

    fn from_str(s: &str) -> Result<EventKind, UnknownEventKind> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownEventKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn wire_names_round_trip_through_str_and_serde() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<EventKind>(&json).unwrap(), kind);
        }
    }

    #[test]
    fn an_unknown_kind_lists_the_known_ones() {
        let err = "declaration.created".parse::<EventKind>().unwrap_err();
        assert!(err.to_string().contains("\"declaration.created\""), "{err}");
        assert!(err.to_string().contains("scan.failed"), "{err}");
    }

    #[test]
    fn webhook_body_has_exactly_the_four_fields_in_order() {
        let at = Utc.with_ymd_and_hms(2026, 5, 1, 12, 30, 0).unwrap();
        let event = Event::new(
            EventKind::DeclarationSubmitted,
            at,
            "northlight",
            Some("p1".into()),
            serde_json::json!({"declaration_id": "d1", "outcome": "review"}),
        );
        assert_eq!(event.id.get_version_num(), 7);
        let body = serde_json::to_string(&event.webhook_body()).unwrap();
        assert_eq!(
            body,
            format!(
                r#"{{"id":"{}","type":"declaration.submitted","timestamp":"2026-05-01T12:30:00Z","data":{{"declaration_id":"d1","outcome":"review"}}}}"#,
                event.id
            )
        );
    }
}
