//! Webhooks: Standard Webhooks signatures, the address checks, the sender, and the Slack
//! format.
//!
//! A delivery is a `POST` of `application/json` with the headers `webhook-id` (the event's
//! id), `webhook-timestamp` (seconds since the epoch at the attempt) and `webhook-signature`
//! (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, one per secret during a
//! rotation), as <https://www.standardwebhooks.com/> specifies.

mod sender;
mod signature;
mod slack;
mod target;

pub use sender::{Delivered, DeliveryError, Sender, SenderOptions};
pub use signature::{Secret, SecretError, sign};
pub use slack::slack_body;
pub use target::{Target, UrlError, forbidden};
