//! How Greenlight's notifications go out.
//!
//! The store writes an [`event::Event`] in the same transaction as the change it reports;
//! a dispatcher then delivers it to each subscriber, at least once and always under the same
//! id. This crate is everything about *how* one message goes out, and nothing about which
//! ones are due:
//!
//! - [`event`]: the envelope (`id`, `type`, `timestamp`, `data`) and the event kinds.
//! - [`webhook`]: Standard Webhooks signatures and secrets (`whsec_…`, two valid during a
//!   rotation), the SSRF checks of a webhook URL (also after DNS resolution, with the
//!   checked addresses pinned), the [`webhook::Sender`] (no redirects, a deadline, a body
//!   limit), and the Slack message format.
//! - [`mail`]: `--smtp-url` / `--mail-from`, one event's mail or a daily digest (plain text
//!   and HTML, `X-Greenlight-Event`, a `Message-ID` derived from the events, one-click
//!   unsubscribe), and the [`mail::Mailer`].
//! - [`retry`]: exponential back-off with full jitter, dead after 24 h.
//! - [`seal`]: the key and format that keep the secrets Greenlight must use encrypted at
//!   rest.
//!
//! ```
//! use greenlight_notify::event::{Event, EventKind};
//! use greenlight_notify::webhook::{Secret, sign};
//!
//! let event = Event::new(
//!     EventKind::DeclarationSubmitted,
//!     chrono::Utc::now(),
//!     "northlight",
//!     Some("p-1".to_owned()),
//!     serde_json::json!({"declaration_id": "d-1", "outcome": "review"}),
//! );
//! let body = serde_json::to_vec(&event.webhook_body()).unwrap();
//! let secret = Secret::generate();
//! let header = sign(&[secret], &event.id.to_string(), 1_767_225_600, &body);
//! assert!(header.starts_with("v1,"));
//! ```

pub mod event;
pub mod mail;
pub mod message;
pub mod retry;
pub mod seal;
pub mod webhook;

pub use event::{Event, EventKind};
pub use message::MessageText;
