//! Outcomes, ordered from weakest to strictest.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a declaration needs before the use may go ahead, weakest first:
/// `notify < review < escalate < written_approval`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Share the use with the studio contact; nothing to wait for.
    Notify,
    /// The studio reviews the use.
    Review,
    /// Escalate to the studio contact, who decides.
    Escalate,
    /// Written approval from the studio is required.
    WrittenApproval,
}

impl Outcome {
    /// Every outcome, weakest first.
    pub const ALL: [Outcome; 4] = [
        Outcome::Notify,
        Outcome::Review,
        Outcome::Escalate,
        Outcome::WrittenApproval,
    ];

    /// The JSON spelling (`written_approval`).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Notify => "notify",
            Outcome::Review => "review",
            Outcome::Escalate => "escalate",
            Outcome::WrittenApproval => "written_approval",
        }
    }

    /// Words a producer reads (`written approval`).
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Notify => "notify",
            Outcome::Review => "review",
            Outcome::Escalate => "escalate",
            Outcome::WrittenApproval => "written approval",
        }
    }

    /// Parses the JSON spelling, or the kebab-case one (`written-approval`).
    pub fn parse(text: &str) -> Option<Outcome> {
        match text {
            "notify" => Some(Outcome::Notify),
            "review" => Some(Outcome::Review),
            "escalate" => Some(Outcome::Escalate),
            "written_approval" | "written-approval" => Some(Outcome::WrittenApproval),
            _ => None,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    #[test]
    fn outcomes_are_ordered_as_the_spec_says() {
        assert!(Outcome::Notify < Outcome::Review);
        assert!(Outcome::Review < Outcome::Escalate);
        assert!(Outcome::Escalate < Outcome::WrittenApproval);
    }

    #[test]
    fn both_spellings_parse() {
        assert_eq!(
            Outcome::parse("written-approval"),
            Some(Outcome::WrittenApproval)
        );
        assert_eq!(
            Outcome::parse("written_approval"),
            Some(Outcome::WrittenApproval)
        );
        assert_eq!(Outcome::parse("approve"), None);
    }
}
