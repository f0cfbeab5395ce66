//! The words of one event, as a person reads them in a mail or a chat message.

use url::Url;

/// What a person is told about one event: the caller (which knows the production's name, the
/// declaration and the outcome) fills it in, and the mail and Slack renderers lay it out.
///
/// Values are plain text; each renderer escapes them for its format (HTML for mail, Slack's
/// `mrkdwn` for chat), so a production called `<b>Night & Day</b>` shows as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageText {
    /// One line saying what happened, e.g. `Declaration submitted: needs review`.
    pub subject: String,
    /// The production's name, when the event is about a production.
    pub production: Option<String>,
    /// The use the declaration covers (its `use_ref`), when the event is about a declaration.
    pub use_ref: Option<String>,
    /// The outcome in words, e.g. `Needs written approval`.
    pub outcome: Option<String>,
    /// Why: the reasons of the findings, one sentence each.
    pub reasons: Vec<String>,
    /// What must happen before the use may go ahead.
    pub blockers: Vec<String>,
    /// The page to open (under the public URL).
    pub link: Url,
}
