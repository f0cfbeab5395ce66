//! Drafting a production's disclosure text from the obligations of its uses.
//!
//! [`draft`] turns the obligations of every use of a production into one list a producer can
//! act on before release: the credit or programme-information line to add (one line drafted
//! from every `disclose-existence` obligation), the labels to place (`label`, `label-text`,
//! per use and media), and the markings to keep (`keep-marking`, per use). Obligations of any
//! other kind become one item each, with the pack's own text; the union pack's kinds
//! (`compensate`, `bargain-compensation`, `notice-48h`, `notify-union`) keep their own item
//! kind and say who must act. Each item carries its due date
//! (the earliest of the obligations it merges), the obligations it covers and whether all of
//! them are done. Pure: the caller supplies the obligations with their states.

use serde::{Deserialize, Serialize};

use crate::wire::Obligation;

/// Whether an obligation has been done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObligationState {
    Open,
    Done,
}

/// An obligation of a use with its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackedObligation {
    /// The caller's handle for the obligation (e.g. a database id), passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub obligation: Obligation,
    pub state: ObligationState,
    /// What was done, when done (e.g. the credit line as delivered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// One use of the production, as the drafting needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UseObligations {
    /// `use.ref`.
    pub reference: String,
    /// `use.summary`.
    pub summary: String,
    /// `outputs.media` (image, video, audio, text).
    #[serde(default)]
    pub media: Vec<String>,
    #[serde(default)]
    pub obligations: Vec<TrackedObligation>,
}

/// What an action item asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// A line to add to the credits or the programme information (`disclose-existence`).
    Credit,
    /// A label to place on the content of a use (`label`).
    Label,
    /// A notice that a text was generated or manipulated (`label-text`).
    LabelText,
    /// A machine-readable marking to keep through post-production and delivery.
    KeepMarking,
    /// Pay the performer (the union pack's `compensate`): the pack's text.
    Compensate,
    /// Bargain the replica's compensation with the performer (`bargain-compensation`).
    BargainCompensation,
    /// Tell the performer of a capture in time (`notice-48h`).
    #[serde(rename = "notice-48h")]
    Notice48h,
    /// Give the union notice and an opportunity to bargain (`notify-union`).
    NotifyUnion,
    /// An obligation of a kind this module does not draft for: the pack's text.
    Other,
}

impl ActionKind {
    /// The kind of item an obligation of another kind than the drafted ones becomes.
    fn of_other(obligation_kind: &str) -> Self {
        match obligation_kind {
            "compensate" => ActionKind::Compensate,
            "bargain-compensation" => ActionKind::BargainCompensation,
            "notice-48h" => ActionKind::Notice48h,
            "notify-union" => ActionKind::NotifyUnion,
            _ => ActionKind::Other,
        }
    }

    /// Who must act on items of this kind, when the kind says: the union pack's payments and
    /// capture notices fall to the production's payroll, its bargaining and union notices to
    /// the studio's labour relations.
    pub fn who_acts(self) -> Option<&'static str> {
        match self {
            ActionKind::Compensate | ActionKind::Notice48h => Some("the production's payroll"),
            ActionKind::BargainCompensation | ActionKind::NotifyUnion => {
                Some("the studio's labour relations")
            }
            _ => None,
        }
    }
}

/// An obligation an action item covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Covered {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub rule: String,
    pub pack: String,
    pub kind: String,
    #[serde(rename = "use")]
    pub use_ref: String,
    pub due: String,
    pub state: ObligationState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

/// One thing to do before release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionItem {
    pub kind: ActionKind,
    /// The drafted text: the credit line, the label's wording, or what to keep.
    pub text: String,
    /// The uses (`use.ref`) the item concerns.
    pub uses: Vec<String>,
    /// The media to label or keep marked (empty for a credit line).
    pub media: Vec<String>,
    /// The earliest due date of the obligations covered (`YYYY-MM-DD` or `first exposure`).
    pub due: String,
    pub covers: Vec<Covered>,
    /// True when every obligation covered is done.
    pub done: bool,
    /// Who must act, when the kind says ([`ActionKind::who_acts`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<String>,
}

/// The list a producer acts on before release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionList {
    pub title: String,
    pub items: Vec<ActionItem>,
    /// Items not done yet.
    pub open: usize,
}

/// The opening of the drafted credit line.
pub const CREDIT_PREFIX: &str =
    "This programme contains content generated or altered with artificial intelligence";

/// The earlier of two `due` values. A due that is not a date (`first exposure`) comes first:
/// it may fall on any day.
fn earlier(a: &str, b: &str) -> bool {
    let date = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    match (date(a), date(b)) {
        (Some(x), Some(y)) => x < y,
        (None, Some(_)) => true,
        (Some(_), None) => false,
        (None, None) => a < b,
    }
}

fn earliest<'a>(dues: impl Iterator<Item = &'a str>) -> String {
    dues.fold(None::<&str>, |acc, d| match acc {
        Some(a) if !earlier(d, a) => Some(a),
        _ => Some(d),
    })
    .unwrap_or("first exposure")
    .to_owned()
}

/// A use's summary as a phrase inside a sentence: trimmed, without its final full stop, and
/// lower-cased at the start unless it opens with an acronym or a name in capitals.
fn phrase(summary: &str) -> String {
    let s = summary.trim().trim_end_matches(['.', ';']).trim_end();
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(first), Some(second)) if first.is_uppercase() && !second.is_uppercase() => {
            let mut out: String = first.to_lowercase().collect();
            out.push(second);
            out.extend(chars);
            out
        }
        _ => s.to_owned(),
    }
}

fn covered(u: &UseObligations, t: &TrackedObligation) -> Covered {
    Covered {
        id: t.id.clone(),
        rule: t.obligation.rule.clone(),
        pack: t.obligation.pack.clone(),
        kind: t.obligation.kind.clone(),
        use_ref: u.reference.clone(),
        due: t.obligation.due.clone(),
        state: t.state,
        evidence: t.evidence.clone(),
    }
}

fn item(
    kind: ActionKind,
    text: String,
    uses: Vec<String>,
    media: Vec<String>,
    covers: Vec<Covered>,
) -> ActionItem {
    ActionItem {
        kind,
        text,
        uses,
        media,
        due: earliest(covers.iter().map(|c| c.due.as_str())),
        done: covers.iter().all(|c| c.state == ObligationState::Done),
        covers,
        who: kind.who_acts().map(str::to_owned),
    }
}

/// The media a label or marking concerns: the audiovisual media of the use for `label` and
/// `keep-marking`, the text for `label-text`.
fn media_for(kind: ActionKind, media: &[String]) -> Vec<String> {
    match kind {
        ActionKind::LabelText => vec!["text".to_owned()],
        ActionKind::Label | ActionKind::KeepMarking => media
            .iter()
            .filter(|m| matches!(m.as_str(), "image" | "video" | "audio"))
            .cloned()
            .collect(),
        _ => media.to_vec(),
    }
}

/// Drafts the production's list of actions before release. Items come in this order: the
/// credit line, labels, text labels, markings to keep, others; within a kind, in the order
/// of the uses.
pub fn draft(title: &str, uses: &[UseObligations]) -> ActionList {
    let mut items = Vec::new();

    // (a) One credit line from every disclose-existence obligation of the production.
    let mut credit_uses: Vec<&UseObligations> = Vec::new();
    let mut credit_covers = Vec::new();
    for u in uses {
        let mut any = false;
        for t in u
            .obligations
            .iter()
            .filter(|t| t.obligation.kind == "disclose-existence")
        {
            credit_covers.push(covered(u, t));
            any = true;
        }
        if any {
            credit_uses.push(u);
        }
    }
    if !credit_covers.is_empty() {
        let phrases: Vec<String> = credit_uses
            .iter()
            .map(|u| phrase(&u.summary))
            .filter(|p| !p.is_empty())
            .collect();
        let text = if phrases.is_empty() {
            format!("{CREDIT_PREFIX}.")
        } else {
            format!("{CREDIT_PREFIX}: {}.", phrases.join("; "))
        };
        items.push(item(
            ActionKind::Credit,
            text,
            credit_uses.iter().map(|u| u.reference.clone()).collect(),
            Vec::new(),
            credit_covers,
        ));
    }

    // (b) and (c): per use, one item per kind.
    for (kind, word) in [
        (ActionKind::Label, "label"),
        (ActionKind::LabelText, "label-text"),
        (ActionKind::KeepMarking, "keep-marking"),
    ] {
        for u in uses {
            let covers: Vec<Covered> = u
                .obligations
                .iter()
                .filter(|t| t.obligation.kind == word)
                .map(|t| covered(u, t))
                .collect();
            if covers.is_empty() {
                continue;
            }
            let media = media_for(kind, &u.media);
            let on = if media.is_empty() {
                String::new()
            } else {
                format!(" ({})", media.join(", "))
            };
            let summary = phrase(&u.summary);
            let text = match kind {
                ActionKind::Label => format!(
                    "Label as artificially generated or manipulated, clearly and at the latest when the audience first sees or hears it: {summary}{on}"
                ),
                ActionKind::LabelText => {
                    format!(
                        "Disclose that the text was artificially generated or manipulated: {summary}"
                    )
                }
                _ => format!(
                    "Keep the generating tool's machine-readable marking (e.g. C2PA Content Credentials) through post-production and delivery: {summary}{on}"
                ),
            };
            items.push(item(kind, text, vec![u.reference.clone()], media, covers));
        }
    }

    // Anything else: one item per obligation, with the pack's own text.
    for u in uses {
        for t in u.obligations.iter().filter(|t| {
            !matches!(
                t.obligation.kind.as_str(),
                "disclose-existence" | "label" | "label-text" | "keep-marking"
            )
        }) {
            items.push(item(
                ActionKind::of_other(&t.obligation.kind),
                t.obligation.text.clone(),
                vec![u.reference.clone()],
                u.media.clone(),
                vec![covered(u, t)],
            ));
        }
    }

    let open = items.iter().filter(|i| !i.done).count();
    ActionList {
        title: title.to_owned(),
        items,
        open,
    }
}

/// One CSV field: always quoted, and neutralised so a spreadsheet never runs it as a
/// formula (OWASP's CSV injection list: a leading `=`, `+`, `-`, `@`, tab or carriage return,
/// also after leading spaces, gets a `'` in front).
pub fn csv_field(s: &str) -> String {
    format!("\"{}\"", formula_safe(s).replace('"', "\"\""))
}

/// `s` with a leading `'` when a spreadsheet would run it as a formula (`=`, `+`, `-`, `@`,
/// TAB or CR first, after any spaces; or a leading line break); unquoted, for writers that
/// quote themselves.
pub fn formula_safe(s: &str) -> String {
    let risky = s.starts_with(['\t', '\r', '\n'])
        || s.trim_start().starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky { format!("'{s}") } else { s.to_owned() }
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_fields_never_start_a_formula() {
        for risky in [
            "=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "  =1", "\n=1",
        ] {
            let f = super::csv_field(risky);
            assert!(f.starts_with("\"'"), "{risky:?} gave {f}");
        }
        assert_eq!(
            super::csv_field("plain \"quoted\""),
            "\"plain \"\"quoted\"\"\""
        );
    }

    use super::*;

    fn ob(rule: &str, kind: &str, due: &str, state: ObligationState) -> TrackedObligation {
        TrackedObligation {
            id: Some(format!("{rule}-id")),
            obligation: Obligation {
                rule: rule.into(),
                pack: "eu-ai-act-art50".into(),
                kind: kind.into(),
                text: format!("text of {rule}"),
                due: due.into(),
                source: "Art. 50".into(),
                fields: vec![],
            },
            state,
            evidence: (state == ObligationState::Done).then(|| "done it".to_owned()),
        }
    }

    fn use_(r: &str, summary: &str, media: &[&str], obs: Vec<TrackedObligation>) -> UseObligations {
        UseObligations {
            reference: r.into(),
            summary: summary.into(),
            media: media.iter().map(|m| m.to_string()).collect(),
            obligations: obs,
        }
    }

    use ObligationState::{Done, Open};

    #[test]
    fn one_credit_line_merges_every_disclose_existence() {
        let uses = vec![
            use_(
                "TLK-1",
                "De-ageing of the lead in the 1990s flashback.",
                &["video"],
                vec![
                    ob("EU-50-2-MARKING", "keep-marking", "2026-09-01", Open),
                    ob(
                        "EU-50-4-DEEPFAKE-ARTISTIC",
                        "disclose-existence",
                        "2026-09-01",
                        Done,
                    ),
                ],
            ),
            use_(
                "TLK-2",
                "AI voice of the narrator",
                &["audio"],
                vec![ob(
                    "EU-50-4-DEEPFAKE-ARTISTIC",
                    "disclose-existence",
                    "2026-08-15",
                    Open,
                )],
            ),
        ];
        let list = draft("The Lighthouse Keeper", &uses);
        let credit = &list.items[0];
        assert_eq!(credit.kind, ActionKind::Credit);
        assert_eq!(
            credit.text,
            "This programme contains content generated or altered with artificial intelligence: \
             de-ageing of the lead in the 1990s flashback; AI voice of the narrator."
        );
        assert_eq!(credit.uses, vec!["TLK-1", "TLK-2"]);
        assert_eq!(credit.due, "2026-08-15");
        assert_eq!(credit.covers.len(), 2);
        assert_eq!(credit.covers[1].use_ref, "TLK-2");
        assert!(!credit.done);
        let marking = &list.items[1];
        assert_eq!(marking.kind, ActionKind::KeepMarking);
        assert_eq!(marking.uses, vec!["TLK-1"]);
        assert_eq!(marking.media, vec!["video"]);
        assert_eq!(list.items.len(), 2);
        assert_eq!(list.open, 2);
    }

    #[test]
    fn labels_name_the_use_and_media_and_done_needs_all() {
        let uses = vec![
            use_(
                "DOC-1",
                "De-ageing of the interviewee",
                &["video", "text"],
                vec![ob("EU-50-4-DEEPFAKE", "label", "first exposure", Done)],
            ),
            use_(
                "NEWS-1",
                "Episode recap on the news page",
                &["text"],
                vec![ob("EU-50-4-TEXT", "label-text", "2026-10-01", Open)],
            ),
        ];
        let list = draft("Docs", &uses);
        assert_eq!(list.items.len(), 2);
        assert_eq!(list.items[0].kind, ActionKind::Label);
        assert_eq!(list.items[0].media, vec!["video"]);
        assert_eq!(list.items[0].due, "first exposure");
        assert!(list.items[0].done);
        assert!(
            list.items[0]
                .text
                .contains("de-ageing of the interviewee (video)")
        );
        assert_eq!(list.items[1].kind, ActionKind::LabelText);
        assert_eq!(list.items[1].uses, vec!["NEWS-1"]);
        assert_eq!(list.items[1].media, vec!["text"]);
        assert!(!list.items[1].done);
        assert_eq!(list.open, 1);
    }

    #[test]
    fn earliest_due_prefers_words_then_dates() {
        assert_eq!(
            earliest(["2026-09-01", "2026-08-02"].into_iter()),
            "2026-08-02"
        );
        assert_eq!(
            earliest(["2026-09-01", "first exposure"].into_iter()),
            "first exposure"
        );
        assert_eq!(earliest(std::iter::empty()), "first exposure");
    }

    #[test]
    fn union_obligations_keep_their_kind_and_say_who_acts() {
        let uses = vec![use_(
            "LK-9",
            "Replica of the lead",
            &["video"],
            vec![
                ob("SAG-EBDR", "compensate", "before use", Open),
                ob("SAG-SCAN-NOTICE", "notice-48h", "before use", Open),
                ob("SAG-ICDR", "bargain-compensation", "before use", Done),
                ob("SAG-SYNTHETIC", "notify-union", "before use", Open),
            ],
        )];
        let list = draft("T", &uses);
        let got: Vec<(ActionKind, Option<&str>)> = list
            .items
            .iter()
            .map(|i| (i.kind, i.who.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (ActionKind::Compensate, Some("the production's payroll")),
                (ActionKind::Notice48h, Some("the production's payroll")),
                (
                    ActionKind::BargainCompensation,
                    Some("the studio's labour relations")
                ),
                (
                    ActionKind::NotifyUnion,
                    Some("the studio's labour relations")
                ),
            ]
        );
        assert_eq!(list.open, 3, "the bargained one is done");
        let json = serde_json::to_value(&list).unwrap();
        assert_eq!(json["items"][1]["kind"], "notice-48h");
        assert_eq!(json["items"][2]["kind"], "bargain-compensation");
        let back: ActionList = serde_json::from_value(json).unwrap();
        assert_eq!(back, list);
    }

    #[test]
    fn nothing_to_do_and_other_kinds() {
        assert!(draft("T", &[]).items.is_empty());
        let uses = vec![use_(
            "X-1",
            "Poster",
            &[],
            vec![ob("R-1", "notice", "2026-12-01", Open)],
        )];
        let list = draft("T", &uses);
        assert_eq!(list.items.len(), 1);
        assert_eq!(list.items[0].kind, ActionKind::Other);
        assert_eq!(list.items[0].text, "text of R-1");
        assert_eq!(list.items[0].who, None);
        let json = serde_json::to_value(&list).unwrap();
        assert_eq!(json["items"][0]["kind"], "other");
        assert!(json["items"][0].get("who").is_none());
        assert_eq!(json["items"][0]["covers"][0]["use"], "X-1");
        let back: ActionList = serde_json::from_value(json).unwrap();
        assert_eq!(back, list);
    }

    #[test]
    fn phrases_keep_acronyms_and_names() {
        assert_eq!(phrase("VFX crowd."), "VFX crowd");
        assert_eq!(phrase("Replica of a car"), "replica of a car");
        assert_eq!(phrase(""), "");
    }
}
