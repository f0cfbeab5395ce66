//! What the templates show: plain view structs, filled by the handlers from store records,
//! and the askama templates compiled from `templates/`. Keeping the views apart from the
//! store types lets the benchmark render a queue or a report of 10,000 uses without a
//! database, and keeps formatting decisions (labels, dates, badges) in one place.

use askama::Template;

use super::form::{self, Choices, DeclForm};

/// The frame every signed-in page shares.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    pub title: String,
    pub user: Option<UserBadge>,
    pub nav: Vec<NavItem>,
    pub productions: Vec<ProductionOption>,
    pub csrf: String,
    pub flashes: Vec<Flash>,
}

/// The signed-in person, in the header.
#[derive(Debug, Clone, Default)]
pub struct UserBadge {
    pub name: String,
    pub roles: String,
}

/// A link of the main navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

/// An entry of the production switcher.
#[derive(Debug, Clone)]
pub struct ProductionOption {
    pub id: String,
    pub title: String,
    pub current: bool,
}

/// A message at the top of a page.
#[derive(Debug, Clone)]
pub struct Flash {
    /// `ok`, `error` or `info` (a CSS class).
    pub kind: &'static str,
    pub text: String,
}

/// A coloured label: an outcome, a state, a principle answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Badge {
    pub class: String,
    pub label: String,
}

/// The badge of an outcome (`notify`, `review`, `escalate`, `written_approval`).
pub fn outcome_badge(outcome: &str) -> Badge {
    let label = match outcome {
        "notify" => "Notify",
        "review" => "Review",
        "escalate" => "Escalate",
        "written_approval" => "Written approval",
        other => other,
    };
    Badge {
        class: format!("o-{outcome}"),
        label: label.to_owned(),
    }
}

/// The badge of a workflow state (`in_review`, `approved`, ...).
pub fn state_badge(state: &str) -> Badge {
    let label = match state {
        "submitted" => "Submitted",
        "acknowledged" => "Acknowledged",
        "in_review" => "In review",
        "approved" => "Approved",
        "rejected" => "Rejected",
        "changes_requested" => "Changes requested",
        "withdrawn" => "Withdrawn",
        "expired" => "Approval expired",
        "revoked" => "Approval revoked",
        "suspended" => "Suspended",
        other => other,
    };
    Badge {
        class: format!("s-{state}"),
        label: label.to_owned(),
    }
}

/// The badge of a principle answer (`met`, `not-met`, `unsure`).
pub fn answer_badge(answer: &str) -> Badge {
    let label = match answer {
        "met" => "Met",
        "not-met" => "Not met",
        "unsure" => "Unsure",
        other => other,
    };
    Badge {
        class: format!("p-{answer}"),
        label: label.to_owned(),
    }
}

/// "3 days", "5 hours", "just now": how long something has waited.
pub fn waited(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (n, unit) = if seconds < 60 {
        return "just now".to_owned();
    } else if seconds < 3600 {
        (seconds / 60, "minute")
    } else if seconds < 86_400 {
        (seconds / 3600, "hour")
    } else {
        (seconds / 86_400, "day")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Previous / next links of a paged list.
#[derive(Debug, Clone, Default)]
pub struct Pager {
    pub summary: String,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// The pager of `total` items shown `limit` at a time from `offset`; `base` is the page's
    /// URL with its other query parameters (ending in `?` or `&`).
    pub fn new(base: &str, offset: i64, limit: i64, total: i64) -> Self {
        let end = (offset + limit).min(total);
        let summary = if total == 0 {
            "Nothing to show".to_owned()
        } else {
            format!("{}–{} of {}", offset + 1, end, total)
        };
        Self {
            summary,
            prev: (offset > 0).then(|| format!("{base}offset={}", (offset - limit).max(0))),
            next: (end < total).then(|| format!("{base}offset={end}")),
        }
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub heading: String,
    pub detail: String,
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignInPage {
    pub layout: Layout,
    pub email: String,
    pub error: Option<String>,
    pub next: String,
}

/// A row of a list of declarations.
#[derive(Debug, Clone)]
pub struct UseRow {
    pub href: String,
    pub reference: String,
    pub summary: String,
    pub production: String,
    pub organisation: String,
    pub outcome: Badge,
    pub state: Badge,
    pub revision: i64,
    pub blockers: i64,
    pub waiting: String,
    pub updated: String,
    pub note: String,
}

/// The producer's uses.
#[derive(Template)]
#[template(path = "uses.html")]
pub struct UsesPage {
    pub layout: Layout,
    pub heading: String,
    pub declare_href: Option<String>,
    pub rows: Vec<UseRow>,
    pub pager: Pager,
}

/// A choice of a filter.
#[derive(Debug, Clone)]
pub struct FilterOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The reviewers' queue.
#[derive(Template)]
#[template(path = "queue.html")]
pub struct QueuePage {
    pub layout: Layout,
    pub outcomes: Vec<FilterOption>,
    pub productions: Vec<FilterOption>,
    pub ages: Vec<FilterOption>,
    pub rows: Vec<UseRow>,
    pub pager: Pager,
}

/// A principle with the engine's answer.
#[derive(Debug, Clone)]
pub struct PrincipleView {
    pub id: String,
    pub text: String,
    pub answer: Badge,
}

/// A finding.
#[derive(Debug, Clone)]
pub struct FindingView {
    pub rule: String,
    pub pack: String,
    pub outcome: Badge,
    pub level: String,
    pub message: String,
    pub source: String,
    pub fields: String,
}

/// Findings under one principle (or "not tied to a principle").
#[derive(Debug, Clone)]
pub struct FindingGroup {
    pub heading: String,
    /// The principle's answer, for a group under a principle.
    pub answer: Option<Badge>,
    /// Why the findings may be stricter than the principle's answer suggests.
    pub note: String,
    pub findings: Vec<FindingView>,
}

/// A blocker and what clears it.
#[derive(Debug, Clone)]
pub struct BlockerView {
    pub rule: String,
    pub message: String,
    pub clears: String,
    pub fields: String,
}

/// An obligation.
#[derive(Debug, Clone)]
pub struct ObligationView {
    pub kind: String,
    pub text: String,
    pub due: String,
    pub status: String,
}

/// One line of a revision diff.
#[derive(Debug, Clone)]
pub struct DiffLine {
    /// `add`, `del` or `same`.
    pub kind: &'static str,
    pub text: String,
}

/// A line of history.
#[derive(Debug, Clone)]
pub struct HistoryView {
    pub when: String,
    pub who: String,
    pub text: String,
}

/// A difference between the declaration and the record.
#[derive(Debug, Clone)]
pub struct DifferenceView {
    /// The field as the form names it.
    pub label: String,
    pub path: String,
    pub declared: String,
    pub effective: String,
    pub source: String,
}

/// A talent entry for which legal may link a consent.
#[derive(Debug, Clone)]
pub struct TalentLink {
    pub performer: String,
    pub treatment: String,
    pub linked: String,
    pub candidates: Vec<FilterOption>,
}

/// The reviewer's decision form, with what was typed and the problems found when a decision
/// comes back refused.
#[derive(Debug, Clone, Default)]
pub struct ReviewForm {
    pub action: String,
    pub etag: String,
    pub can_approve: bool,
    pub approve_blocked_because: String,
    pub reason: String,
    pub conditions: String,
    pub expires: String,
    pub reason_error: String,
    pub conditions_error: String,
    pub expires_error: String,
    /// A refusal not about one field (open blockers, a decision not possible now).
    pub general_error: String,
}

/// A declaration.
#[derive(Template)]
#[template(path = "declaration.html")]
pub struct DeclarationPage {
    pub layout: Layout,
    pub id: String,
    pub reference: String,
    pub summary: String,
    pub production: String,
    pub production_href: String,
    pub organisation: String,
    pub outcome: Badge,
    pub state: Badge,
    pub revision: i64,
    pub submitted: String,
    pub policies: String,
    pub principles: Vec<PrincipleView>,
    pub groups: Vec<FindingGroup>,
    pub blockers: Vec<BlockerView>,
    pub obligations: Vec<ObligationView>,
    pub differences: Vec<DifferenceView>,
    pub decision: Option<DecisionView>,
    pub diff: Vec<DiffLine>,
    pub diff_heading: String,
    pub history: Vec<HistoryView>,
    pub review: Option<ReviewForm>,
    pub revise_href: Option<String>,
    pub talent_links: Vec<TalentLink>,
    pub link_action: Option<String>,
    pub text: String,
}

/// The decision in force.
#[derive(Debug, Clone)]
pub struct DecisionView {
    pub action: String,
    pub by: String,
    pub at: String,
    pub reason: String,
    pub conditions: Vec<String>,
    pub expires: String,
}

/// A select's options with the current value marked.
#[derive(Debug, Clone)]
pub struct Opt {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// The options of an enumeration, `current` selected; with a leading "not stated" option
/// when `blank` names it.
pub fn options(choices: Choices, current: &str) -> Vec<Opt> {
    choices
        .iter()
        .map(|(value, label)| Opt {
            value,
            label,
            selected: *value == current,
        })
        .collect()
}

/// The options of an enumeration whose default the form offers as its blank "(default)"
/// option: the default is not listed a second time, and a current value equal to it selects
/// the blank option.
pub fn options_besides_default(choices: Choices, current: &str, default: &str) -> Vec<Opt> {
    choices
        .iter()
        .filter(|(value, _)| *value != default)
        .map(|(value, label)| Opt {
            value,
            label,
            selected: *value == current,
        })
        .collect()
}

/// A checkbox of the form.
#[derive(Debug, Clone)]
pub struct Flag {
    pub name: String,
    pub checked: bool,
    pub label: &'static str,
    pub help: &'static str,
}

/// A field problem shown beside its field.
#[derive(Debug, Clone)]
pub struct FieldError {
    pub path: String,
    /// The field as the form names it ("Your reference" for `use.ref`).
    pub label: String,
    pub message: String,
}

/// The guided declaration form.
#[derive(Template)]
#[template(path = "declare.html")]
pub struct DeclarePage {
    pub layout: Layout,
    pub heading: String,
    pub production_title: String,
    pub facts_note: String,
    pub action: String,
    pub edit_action: String,
    pub upload_action: String,
    pub yaml_action: String,
    pub triage_url: String,
    pub etag: String,
    pub declaration_id: String,
    pub form: DeclForm,
    pub errors: Vec<FieldError>,
    pub summary_error: String,
}

impl DeclarePage {
    /// The problem reported for a field path, if any.
    pub fn error_for(&self, path: &str) -> String {
        self.errors
            .iter()
            .filter(|e| e.path == path)
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The problems reported for a field path or anything under it (for a row or section).
    pub fn errors_under(&self, prefix: &str) -> String {
        self.errors
            .iter()
            .filter(|e| e.path.starts_with(prefix))
            .map(|e| format!("{}: {}", e.label, e.message))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn kinds(&self) -> Vec<Opt> {
        options(form::KINDS, &self.form.kind)
    }
    pub fn stages(&self) -> Vec<Opt> {
        options_besides_default(form::STAGES, &self.form.stage, "pre-production")
    }
    pub fn purposes(&self) -> Vec<Opt> {
        options_besides_default(form::PURPOSES, &self.form.purpose, "other")
    }
    pub fn data_uses(&self, current: &str) -> Vec<Opt> {
        options_besides_default(form::DATA_USES, current, "unknown")
    }
    pub fn input_kinds(&self, current: &str) -> Vec<Opt> {
        options(form::INPUT_KINDS, current)
    }
    pub fn owners(&self, current: &str) -> Vec<Opt> {
        options_besides_default(form::OWNERS, current, "own")
    }
    pub fn mention_types(&self, current: &str) -> Vec<Opt> {
        options(form::MENTIONS, current)
    }
    pub fn prominences(&self) -> Vec<Opt> {
        options_besides_default(form::PROMINENCE, &self.form.prominence, "featured")
    }
    pub fn media(&self) -> Vec<Opt> {
        form::MEDIA
            .iter()
            .map(|(value, label)| Opt {
                value,
                label,
                selected: self.form.has_media(value),
            })
            .collect()
    }
    pub fn treatments(&self, current: &str) -> Vec<Opt> {
        options(form::TREATMENTS, current)
    }
    pub fn exceptions(&self, current: &str) -> Vec<Opt> {
        options_besides_default(form::EXCEPTIONS, current, "none")
    }
    pub fn consent_by(&self, current: &str) -> Vec<Opt> {
        options_besides_default(form::CONSENT_BY, current, "performer")
    }
    pub fn genres(&self) -> Vec<Opt> {
        options_besides_default(form::GENRES, &self.form.genre, "none")
    }
    pub fn roles(&self, current: &str) -> Vec<Opt> {
        options_besides_default(form::ROLES, current, "principal")
    }
    pub fn replica_origins(&self, current: &str) -> Vec<Opt> {
        options_besides_default(form::REPLICA_ORIGINS, current, "unknown")
    }
    pub fn features(&self, current: &str) -> Vec<Opt> {
        options_besides_default(form::FEATURES, current, "none")
    }
    /// The problems of one row of a list (`tools`, 2), everything under it included.
    pub fn row_errors(&self, list: &str, index: impl std::fmt::Display) -> String {
        self.errors_under(&format!("{list}[{index}]"))
    }

    pub fn answers(&self, index: impl std::fmt::Display) -> Vec<Opt> {
        let index: usize = index.to_string().parse().unwrap_or(usize::MAX);
        options(
            form::ANSWERS,
            self.form
                .self_assessment
                .get(index)
                .map(String::as_str)
                .unwrap_or(""),
        )
    }
    /// The yes/no facts about the output, as checkboxes.
    pub fn output_flags(&self) -> Vec<Flag> {
        let f = &self.form;
        [
            (
                "outputs.key_creative",
                f.key_creative,
                "A key creative element",
                "A main character, a key visual, or a setting central to the story.",
            ),
            (
                "outputs.depicts_real_people",
                f.depicts_real_people,
                "Shows or voices identifiable real people",
                "",
            ),
            (
                "outputs.presented_as_real",
                f.presented_as_real,
                "Could be mistaken for real events, people or statements",
                "",
            ),
            (
                "outputs.resembles_existing",
                f.resembles_existing,
                "Resembles existing objects, places, entities or events",
                "Real people are covered above and under talent.",
            ),
            (
                "outputs.public_interest_text",
                f.public_interest_text,
                "Text published to inform the public on matters of public interest",
                "",
            ),
            (
                "outputs.editorial_review",
                f.editorial_review,
                "That text had human editorial review",
                "Under someone's editorial responsibility.",
            ),
        ]
        .into_iter()
        .map(|(name, checked, label, help)| Flag {
            name: name.to_owned(),
            checked,
            label,
            help,
        })
        .collect()
    }

    /// The yes/no facts about one talent entry, as checkboxes.
    pub fn talent_flags(&self, index: impl std::fmt::Display) -> Vec<Flag> {
        let i: usize = index.to_string().parse().unwrap_or(usize::MAX);
        let Some(t) = self.form.talent.get(i) else {
            return Vec::new();
        };
        [
            (
                "changes_performance",
                t.changes_performance,
                "Changes the emotional tone, delivery or intent of the performance",
            ),
            ("deceased", t.deceased, "The performer is deceased"),
            (
                "model_reused_elsewhere",
                t.model_reused_elsewhere,
                "A model trained on this performer is used for another production or pitch",
            ),
        ]
        .into_iter()
        .map(|(field, checked, label)| Flag {
            name: format!("talent[{i}].{field}"),
            checked,
            label,
            help: "",
        })
        .collect()
    }

    pub fn principles(&self) -> &'static [(String, String)] {
        form::principles()
    }
}

/// A consent in the registry.
#[derive(Debug, Clone)]
pub struct ConsentRow {
    pub id: String,
    pub performer: String,
    pub by: String,
    pub treatment: String,
    pub scope: String,
    pub production: String,
    pub signed: String,
    pub expires: String,
    pub status: Badge,
    pub document: String,
    pub document_href: String,
    pub sha256: String,
    pub uses: Vec<(String, String)>,
    pub revoke_action: Option<String>,
    /// Where legal records the separate signature (or its absence).
    pub signature_action: Option<String>,
    pub separately_signed: bool,
    /// Whether the consent counts as a valid consent under the union pack.
    pub union_valid: bool,
    /// Why it does not (the pack's wording), or what it would not cover.
    pub union_notes: Vec<String>,
}

/// Legal: the consent registry.
#[derive(Template)]
#[template(path = "consents.html")]
pub struct ConsentsPage {
    pub layout: Layout,
    pub rows: Vec<ConsentRow>,
    pub pager: Pager,
    pub productions: Vec<FilterOption>,
    pub can_record: bool,
}

impl ConsentsPage {
    pub fn treatments(&self) -> Vec<Opt> {
        options(form::TREATMENTS, "re-ageing")
    }
    pub fn givers(&self) -> Vec<Opt> {
        options(form::CONSENT_BY, "performer")
    }
}

/// A tool in the registry.
#[derive(Debug, Clone)]
pub struct ToolRowView {
    pub edit_href: String,
    /// Where the evidence file downloads ("" when there is none).
    pub evidence_href: String,
    pub name: String,
    pub vendor: String,
    pub plan: String,
    pub agreement: String,
    pub data_terms: String,
    pub reviewed: String,
    pub evidence: String,
    pub uses: Vec<(String, String)>,
    /// The traces its output carries, in words ("" when not recorded).
    pub traces: String,
    /// Legal recorded that it leaves none.
    pub no_trace: bool,
}

/// A trace checkbox of the tool forms.
pub struct TraceBox {
    pub name: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// The trace checkboxes, those in `traces` checked.
pub fn trace_boxes(traces: &[greenlight_store::ToolTrace]) -> Vec<TraceBox> {
    use greenlight_store::ToolTrace as T;
    [
        (T::C2pa, "trace_c2pa", "C2PA content credentials"),
        (T::Iptc, "trace_iptc", "IPTC AI fields in XMP"),
        (T::Watermark, "trace_watermark", "Invisible watermark"),
        (
            T::Metadata,
            "trace_metadata",
            "Generator metadata (prompt, workflow)",
        ),
        (
            T::None,
            "trace_none",
            "None: provenance depends on the ledger alone",
        ),
    ]
    .into_iter()
    .map(|(t, name, label)| TraceBox {
        name,
        label,
        checked: traces.contains(&t),
    })
    .collect()
}

/// The traces in words for the registry table.
pub fn traces_in_words(traces: &[greenlight_store::ToolTrace]) -> String {
    traces
        .iter()
        .map(|t| match t {
            greenlight_store::ToolTrace::C2pa => "C2PA",
            greenlight_store::ToolTrace::Iptc => "IPTC",
            greenlight_store::ToolTrace::Watermark => "watermark",
            greenlight_store::ToolTrace::Metadata => "metadata",
            greenlight_store::ToolTrace::None => "none",
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Legal: the tool registry.
#[derive(Template)]
#[template(path = "tools.html")]
pub struct ToolsPage {
    pub layout: Layout,
    pub rows: Vec<ToolRowView>,
    pub can_record: bool,
}

impl ToolsPage {
    pub fn data_terms(&self) -> Vec<Opt> {
        options(form::DATA_USES, "unknown")
    }

    pub fn trace_boxes(&self) -> Vec<TraceBox> {
        trace_boxes(&[])
    }
}

/// Legal: change a registered tool's reviewed terms.
#[derive(Template)]
#[template(path = "tool_edit.html")]
pub struct ToolEditPage {
    pub layout: Layout,
    pub action: String,
    pub name: String,
    pub vendor: String,
    pub plan: String,
    pub agreement: String,
    pub data_terms: String,
    pub reviewed: String,
    pub evidence: String,
    pub evidence_href: String,
    pub uses: Vec<(String, String)>,
    pub traces: Vec<TraceBox>,
}

impl ToolEditPage {
    pub fn data_terms_options(&self) -> Vec<Opt> {
        options(form::DATA_USES, &self.data_terms)
    }
}

/// An organisation with its people, for the admin page.
#[derive(Debug, Clone)]
pub struct OrgView {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub people: Vec<PersonView>,
    /// Pending invitations into the organisation (shown to its admins).
    pub invitations: Vec<PendingInvitationView>,
    pub administered: bool,
}

/// A pending invitation on the admin page.
#[derive(Debug, Clone)]
pub struct PendingInvitationView {
    pub id: String,
    pub email: String,
    pub roles: String,
    pub expires: String,
}

/// A person and their roles.
#[derive(Debug, Clone)]
pub struct PersonView {
    pub id: String,
    pub name: String,
    pub email: String,
    pub roles: String,
}

/// A production, for the admin page.
#[derive(Debug, Clone)]
pub struct ProductionView {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub eu_release: bool,
    pub release_date: String,
    /// The union agreements, as a person reads them.
    pub agreements: String,
    pub packs: String,
    pub linked: String,
}

/// An API token.
#[derive(Debug, Clone)]
pub struct TokenView {
    pub id: String,
    pub label: String,
    pub created: String,
    pub revoked: String,
    /// When it expires (empty: never).
    pub expires: String,
    /// "Expires in 12 days", "Expired", "Never expires".
    pub expiry: String,
    pub expired: bool,
    /// When it last signed a request in, or "Never".
    pub last_used: String,
    /// The production it is restricted to, or "All".
    pub production: String,
    /// A rotation replaced it; it works until it expires.
    pub rotated: bool,
}

/// Admin: organisations, productions, people, invitations, API tokens.
#[derive(Template)]
#[template(path = "admin.html")]
pub struct AdminPage {
    pub layout: Layout,
    pub orgs: Vec<OrgView>,
    pub productions: Vec<ProductionView>,
    pub tokens: Vec<TokenView>,
    pub new_secret: Option<String>,
    pub org_options: Vec<FilterOption>,
}

impl AdminPage {
    pub fn kinds(&self) -> Vec<Opt> {
        options(form::KINDS, "scripted")
    }

    /// The union agreements a production may record.
    pub fn agreements(&self) -> form::Choices {
        form::AGREEMENTS
    }

    /// The expiries a new API token may be given, in days (90 is the default).
    pub fn token_days(&self) -> &'static [i64] {
        &[7, 30, 90, 180, 365]
    }
}

/// An audit entry.
#[derive(Debug, Clone)]
pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub entity: String,
    /// The record's page, when the reader has one.
    pub entity_href: Option<String>,
    pub hash: String,
}

/// The auditor's page.
#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub verdict: Option<(bool, String)>,
    pub problems: Vec<String>,
    pub rows: Vec<AuditRow>,
    pub pager: Pager,
    pub entries: i64,
    pub checkpoints: i64,
    pub public_key: String,
}

/// A line of the disclosure report.
#[derive(Debug, Clone)]
pub struct ReportRow {
    pub reference: String,
    pub summary: String,
    pub href: String,
    pub organisation: String,
    pub outcome: Badge,
    pub state: Badge,
    pub decision: String,
    pub conditions: Vec<String>,
    pub consents: Vec<String>,
    pub tools: Vec<String>,
    /// "provenance depends on the ledger alone (...)" for a use of a tool that leaves no
    /// trace; "" otherwise.
    pub ledger_only: String,
}

/// The disclosure report of a production.
#[derive(Template)]
#[template(path = "report.html")]
pub struct ReportPage {
    pub layout: Layout,
    pub title: String,
    pub kind: String,
    pub eu_release: bool,
    pub release_date: String,
    /// The union agreements, as a person reads them.
    pub agreements: String,
    pub packs: String,
    pub generated: String,
    pub csv_href: String,
    pub json_href: String,
    pub rows: Vec<ReportRow>,
    pub counts: Vec<(Badge, usize)>,
    /// Whether the report lists every use of the production.
    pub complete: bool,
    /// What the report covers, in a sentence.
    pub scope: String,
    /// What the report says when it lists no use.
    pub empty: String,
    /// "Before release": drafted credit line, labels and markings (the page only).
    pub before_release: Option<super::before_release::BeforeRelease>,
    /// The aggregate rules' findings about the production (the studio's report only).
    pub production_findings: Vec<ProductionFindingView>,
}

/// A bar of a dashboard chart.
#[derive(Debug, Clone)]
pub struct BarView {
    pub label: String,
    pub class: String,
    pub count: i64,
    pub percent: i64,
}

/// A dated item on a dashboard (an approval or a consent expiring).
#[derive(Debug, Clone)]
pub struct DatedItem {
    pub href: String,
    pub text: String,
    pub detail: String,
    pub date: String,
}

/// A dashboard, per production or per studio.
#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub heading: String,
    pub scope: String,
    pub total: i64,
    pub waiting: i64,
    pub oldest_wait: String,
    pub open_blockers: i64,
    pub by_outcome: Vec<BarView>,
    pub by_state: Vec<BarView>,
    pub waiting_rows: Vec<UseRow>,
    pub expiring_approvals: Vec<DatedItem>,
    pub expiring_consents: Vec<DatedItem>,
    pub report_href: String,
    /// The disclosure report of each production, on a dashboard of several.
    pub reports: Vec<(String, String)>,
    pub declare_href: String,
    /// The production's facts of record (one production's dashboard only).
    pub facts: String,
    /// The aggregate rules' findings about the production (studio members only).
    pub production_findings: Vec<ProductionFindingView>,
    /// The page that shows the production's packs' rules.
    pub packs_href: String,
    /// The production's studio contacts, told of every use declared (one production only).
    pub contacts: String,
}

/// A production-level finding as the production page shows it.
pub struct ProductionFindingView {
    pub outcome: Badge,
    pub rule: String,
    pub pack: String,
    pub message: String,
    pub source: String,
    /// The uses it concerns: `(href, ref)`.
    pub uses: Vec<(String, String)>,
}

/// Builds bars from counts, scaled to the largest.
pub fn bars(counts: Vec<(String, String, i64)>) -> Vec<BarView> {
    let max = counts.iter().map(|c| c.2).max().unwrap_or(0).max(1);
    counts
        .into_iter()
        .map(|(label, class, count)| BarView {
            label,
            class,
            count,
            percent: (count * 100 / max).max(if count > 0 { 2 } else { 0 }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pager_links_only_where_there_is_more() {
        let p = Pager::new("/q?", 0, 50, 120);
        assert_eq!(p.summary, "1–50 of 120");
        assert_eq!(p.prev, None);
        assert_eq!(p.next.as_deref(), Some("/q?offset=50"));
        let last = Pager::new("/q?", 100, 50, 120);
        assert_eq!(last.next, None);
        assert_eq!(last.prev.as_deref(), Some("/q?offset=50"));
    }

    #[test]
    fn waiting_times_read_as_a_person_says_them() {
        assert_eq!(waited(5), "just now");
        assert_eq!(waited(3600), "1 hour");
        assert_eq!(waited(3 * 86_400 + 5), "3 days");
    }

    #[test]
    fn a_select_lists_its_default_once() {
        // The blank option reads "Pre-production (default)": listing "Pre-production" again
        // offered the same choice twice.
        let opts = options_besides_default(form::STAGES, "pre-production", "pre-production");
        assert!(opts.iter().all(|o| o.value != "pre-production"));
        assert!(
            opts.iter().all(|o| !o.selected),
            "the blank option stands for it"
        );
        let opts = options_besides_default(form::STAGES, "marketing", "pre-production");
        assert!(opts.iter().any(|o| o.value == "marketing" && o.selected));
    }

    #[test]
    fn a_script_in_a_value_is_escaped() {
        let page = ErrorPage {
            layout: Layout::default(),
            status: 404,
            heading: "<script>alert(1)</script>".into(),
            detail: String::new(),
        };
        let html = page.render().expect("renders");
        assert!(!html.contains("<script>alert(1)"));
        assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
    }
}
