//! The records the store keeps and hands out: organisations, users, productions,
//! declarations with their revisions and triage history, consents, tools, obligations.
//!
//! Everything here is plain data (`Serialize`, `ToSchema`); the workflow rules live in
//! the store's write path, so a record read back is always one the rules accepted.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// Column readers of the rows below (`#[sqlx(try_from = ...)]`): see `db.rs`.
use crate::db::{Day, Flag, Json, OptDay, OptTs, OutcomeText, Ts};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String)]
        pub struct $name(pub String);

        impl $name {
            /// A fresh, time-ordered identifier (UUID v7).
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl crate::db::FromText for $name {
            fn from_text(text: &str) -> Result<Self, String> {
                Ok(Self(text.to_owned()))
            }
        }

        crate::db::text_column!($name);
    };
}

id_type!(
    /// An organisation (studio, production company or vendor).
    OrgId
);
id_type!(
    /// A person who signs in or calls the API.
    UserId
);
id_type!(
    /// A production (a film, a series) owned by one studio.
    ProductionId
);
id_type!(
    /// A declaration: one intended use of generative AI, across all its revisions.
    DeclarationId
);
id_type!(
    /// A consent record in the studio's consent registry.
    ConsentId
);
id_type!(
    /// A tool record in the studio's tool registry.
    ToolId
);
id_type!(
    /// An obligation stored with a revision.
    ObligationId
);
id_type!(
    /// An API token (the id, never the secret).
    TokenId
);
id_type!(
    /// An invitation of a person into an organisation.
    InvitationId
);

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The spelling used in JSON, the database and the pages.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "{s:?} is not one of {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl crate::db::FromText for $name {
            fn from_text(text: &str) -> Result<Self, String> {
                text.parse()
            }
        }

        crate::db::text_column!($name);
    };
}

text_enum!(
    /// What kind of organisation this is.
    OrgKind {
        /// Commissions productions, reviews and decides.
        Studio = "studio",
        /// Makes a production for a studio.
        ProductionCompany = "production_company",
        /// Works on a production for a studio or a production company.
        Vendor = "vendor",
    }
);

text_enum!(
    /// A role a person holds in an organisation (a person may hold several).
    Role {
        /// Submits declarations for their organisation.
        Partner = "partner",
        /// Decides on declarations of the studio's productions.
        Reviewer = "reviewer",
        /// Records consents, tools, clearances and agreements.
        Legal = "legal",
        /// Manages organisations, productions, people and tokens.
        Admin = "admin",
        /// Reads everything, verifies the audit log; changes nothing.
        Auditor = "auditor",
    }
);

text_enum!(
    /// Where an invitation stands.
    InvitationState {
        /// Sent; the person has not answered yet.
        Pending = "pending",
        /// The person accepted: they hold the roles now.
        Accepted = "accepted",
        /// The person declined.
        Declined = "declined",
        /// An admin withdrew it, or a newer invitation replaced it.
        Revoked = "revoked",
    }
);

text_enum!(
    /// Where a declaration stands in the workflow.
    State {
        /// Received; triage is about to route it (transient).
        Submitted = "submitted",
        /// A `notify` outcome: recorded and acknowledged, no review needed.
        Acknowledged = "acknowledged",
        /// Waiting for a studio reviewer.
        InReview = "in_review",
        /// Approved on a given revision and triage result.
        Approved = "approved",
        /// Rejected by a reviewer.
        Rejected = "rejected",
        /// A reviewer asked for changes; a new revision answers.
        ChangesRequested = "changes_requested",
        /// Withdrawn by the partner.
        Withdrawn = "withdrawn",
        /// The approval's expiry date passed.
        Expired = "expired",
        /// The approval was revoked by a reviewer.
        Revoked = "revoked",
        /// A re-triage changed the result of an approved declaration; a reviewer must act again.
        Suspended = "suspended",
    }
);

/// What happens to a declaration, as far as its workflow state is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// A reviewer decides.
    Decide(DecisionAction),
    /// The partner withdraws it.
    Withdraw,
    /// A new revision. `same_terms`: nothing but `use.summary` and `inputs[].description`
    /// changed, so an approval stands; `routed`: where the new triage sends it.
    Revise { same_terms: bool, routed: State },
    /// Triaged again in place (a consent, tool, fact or pack changed). `changed`: the result
    /// differs from the stored one; `routed`: where that result would send a new submission.
    Retriage { changed: bool, routed: State },
    /// The approval's expiry date passed.
    Expire,
}

/// A transition the workflow does not allow from the current state; the message says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotAllowed(pub String);

impl State {
    /// Where a declaration in this state goes after `t`, or why it cannot go anywhere. The
    /// whole review workflow is this one function; the store only applies its answer.
    pub fn after(self, t: Transition) -> Result<State, NotAllowed> {
        use DecisionAction as A;
        use State as S;
        match t {
            Transition::Decide(action) => match (action, self) {
                // Changes requested: only a new revision (back in review) can be approved.
                (A::Approve, S::InReview | S::Suspended) => Ok(S::Approved),
                (A::Reject, S::InReview | S::Suspended | S::ChangesRequested | S::Acknowledged) => {
                    Ok(S::Rejected)
                }
                (A::RequestChanges, S::InReview | S::Suspended | S::Acknowledged) => {
                    Ok(S::ChangesRequested)
                }
                (A::Revoke, S::Approved | S::Suspended) => Ok(S::Revoked),
                (action, state) => Err(NotAllowed(format!(
                    "cannot {} a declaration that is {state}",
                    action.as_str().replace('_', " ")
                ))),
            },
            Transition::Withdraw => match self {
                S::Withdrawn => Err(NotAllowed("the declaration is already withdrawn".into())),
                _ => Ok(S::Withdrawn),
            },
            Transition::Revise { same_terms, routed } => match self {
                S::Withdrawn | S::Revoked => Err(NotAllowed(format!(
                    "the declaration is {self}; it takes no new revision"
                ))),
                S::Approved if same_terms => Ok(S::Approved),
                _ => Ok(routed),
            },
            Transition::Retriage { changed, routed } => Ok(match self {
                S::Approved if changed => S::Suspended,
                S::Acknowledged if routed == S::InReview => S::InReview,
                other => other,
            }),
            Transition::Expire => match self {
                S::Approved => Ok(S::Expired),
                other => Err(NotAllowed(format!(
                    "only an approval expires; this one is {other}"
                ))),
            },
        }
    }

    /// Whether the declaration still counts (it is not withdrawn, rejected, revoked or
    /// expired): re-triage and the production's reports look at these.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            State::Submitted
                | State::Acknowledged
                | State::InReview
                | State::Approved
                | State::ChangesRequested
                | State::Suspended
        )
    }
}

text_enum!(
    /// What a decision does.
    DecisionAction {
        /// Approve (blockers must be clear).
        Approve = "approve",
        /// Reject.
        Reject = "reject",
        /// Ask for a new revision.
        RequestChanges = "request_changes",
        /// Revoke an earlier approval.
        Revoke = "revoke",
    }
);

text_enum!(
    /// A tool's data terms as reviewed by legal (the format's `data_use`).
    DataTerms {
        /// Neither stores nor trains on inputs or outputs.
        None = "none",
        /// Stores inputs or outputs.
        Stores = "stores",
        /// Trains on inputs or outputs.
        Trains = "trains",
        /// Not known.
        Unknown = "unknown",
    }
);

text_enum!(
    /// A trace a tool leaves in what it makes, by which a delivery scan can recognise its
    /// output without the ledger.
    ToolTrace {
        /// A C2PA manifest (content credentials).
        C2pa = "c2pa",
        /// IPTC digital source type or AI fields in XMP.
        Iptc = "iptc",
        /// An invisible watermark.
        Watermark = "watermark",
        /// Generator metadata (a prompt or workflow in PNG text, EXIF, MP4 or audio tags).
        Metadata = "metadata",
        /// None: its output is found at delivery only through the ledger.
        None = "none",
    }
);

text_enum!(
    /// Who gave a consent.
    ConsentBy {
        /// The performer themself.
        Performer = "performer",
        /// The performer's estate.
        Estate = "estate",
        /// The union.
        Union = "union",
    }
);

text_enum!(
    /// The treatment a consent covers (the format's `talent[].treatment`).
    Treatment {
        /// A digital replica.
        Replica = "replica",
        /// Voice.
        Voice = "voice",
        /// Re-ageing.
        ReAgeing = "re-ageing",
        /// Alteration of a performance.
        Alteration = "alteration",
        /// A synthetic performer.
        SyntheticPerformer = "synthetic-performer",
    }
);

text_enum!(
    /// What legal confirmed on a declaration.
    ConfirmationKind {
        /// `inputs[i].cleared`: rights for that input are cleared.
        InputCleared = "input_cleared",
        /// `union_work.agreement`: the agreement covering union work.
        UnionAgreement = "union_agreement",
    }
);

text_enum!(
    /// Whether an obligation still needs doing.
    ObligationStatus {
        /// Not done yet.
        Open = "open",
        /// Done, with who, when and evidence.
        Done = "done",
        /// No longer required: a re-triage of the revision dropped it.
        Void = "void",
    }
);

/// An organisation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    pub kind: OrgKind,
    #[sqlx(try_from = "Ts")]
    pub created_at: DateTime<Utc>,
}

/// A person.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "Ts")]
    pub created_at: DateTime<Utc>,
}

/// One role of a person in one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Membership {
    pub org_id: OrgId,
    pub org_name: String,
    pub org_kind: OrgKind,
    pub role: Role,
}

/// Who is calling: the user and every role they hold, per organisation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Principal {
    pub user: User,
    pub memberships: Vec<Membership>,
    /// Set when the caller presented an API token restricted to one production: the caller
    /// then acts on that production alone (its declarations, ledger, reports), whatever
    /// roles the person holds, and on nothing studio-wide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restricted_to: Option<ProductionId>,
}

impl Principal {
    /// True when the caller may act on `production` at all: always, unless their token is
    /// restricted to another one. (Whether their roles let them is decided as before.)
    pub fn reaches(&self, production: &ProductionId) -> bool {
        self.restricted_to.as_ref().is_none_or(|r| r == production)
    }
    /// Refuses (Forbidden) an action beyond one production (`what`: "create tokens", "list
    /// the studio's tools") when the caller's token is restricted to one production.
    pub fn studio_wide(&self, what: &str) -> Result<(), crate::StoreError> {
        match &self.restricted_to {
            None => Ok(()),
            Some(p) => Err(crate::StoreError::Forbidden(format!(
                "this token is restricted to production {p}; it cannot {what}"
            ))),
        }
    }
    /// True when the person holds `role` in `org`.
    pub fn has_role(&self, org: &OrgId, role: Role) -> bool {
        self.memberships
            .iter()
            .any(|m| &m.org_id == org && m.role == role)
    }
    /// True when the person holds any role in `org`.
    pub fn is_member(&self, org: &OrgId) -> bool {
        self.memberships.iter().any(|m| &m.org_id == org)
    }
    /// The organisations in which the person holds `role`.
    pub fn orgs_with(&self, role: Role) -> impl Iterator<Item = &OrgId> {
        self.memberships
            .iter()
            .filter(move |m| m.role == role)
            .map(|m| &m.org_id)
    }
}

/// An API token's metadata (the secret is shown once, at creation, and stored as SHA-256).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct TokenInfo {
    pub id: TokenId,
    pub user_id: UserId,
    pub label: String,
    #[sqlx(try_from = "Ts")]
    pub created_at: DateTime<Utc>,
    #[sqlx(try_from = "OptTs")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// When the token stops working. Every API token has one; only the fixed tokens of a
    /// demo database have none.
    #[serde(default)]
    #[sqlx(try_from = "OptTs")]
    pub expires_at: Option<DateTime<Utc>>,
    /// When the token last signed a request in, to the minute (recorded at most once a
    /// minute).
    #[serde(default)]
    #[sqlx(try_from = "OptTs")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// The one production the token acts on; `None`: everything its person may do.
    #[serde(default)]
    pub production_id: Option<ProductionId>,
    /// The token a rotation issued in its place; this one works until `expires_at` (the
    /// grace period).
    #[serde(default)]
    pub replaced_by: Option<TokenId>,
}

/// An invitation of a person into an organisation with roles. A person who already has an
/// account is never enrolled by someone else: they accept while signed in as themselves.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub org_name: String,
    /// The invited address.
    pub email: String,
    /// The roles the person holds once they accept.
    #[sqlx(try_from = "Json<Vec<Role>>")]
    pub roles: Vec<Role>,
    /// Who sent it (their name, or their address when they have none).
    pub invited_by: String,
    pub state: InvitationState,
    #[sqlx(try_from = "Ts")]
    pub created_at: DateTime<Utc>,
    /// A pending invitation can no longer be accepted after this time.
    #[sqlx(try_from = "Ts")]
    pub expires_at: DateTime<Utc>,
}

/// What adding a person to an organisation did.
#[derive(Debug, Clone)]
pub enum Enrolment {
    /// A new person: created with the roles.
    Added(User),
    /// An existing person: invited; they hold the roles once they accept.
    Invited(Invitation),
}

impl Enrolment {
    /// The new person, when the address was new.
    pub fn added(self) -> Option<User> {
        match self {
            Enrolment::Added(u) => Some(u),
            Enrolment::Invited(_) => None,
        }
    }
}

/// The facts of record of a production: they replace a declaration's `production` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct ProductionFacts {
    pub title: String,
    /// scripted | documentary | unscripted | animation
    pub kind: String,
    #[sqlx(try_from = "Flag")]
    pub eu_release: bool,
    #[sqlx(try_from = "OptDay")]
    pub release_date: Option<NaiveDate>,
    /// Union agreements the production works under (the format's `production.agreements`
    /// values, e.g. `sag-aftra-tv-theatrical-2023`); none when left out.
    #[serde(default)]
    #[sqlx(try_from = "Json<Vec<String>>")]
    pub agreements: Vec<String>,
}

/// A production: owned by one studio, worked on by linked companies and vendors.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Production {
    pub id: ProductionId,
    pub studio_id: OrgId,
    #[serde(flatten)]
    #[sqlx(flatten)]
    pub facts: ProductionFacts,
    /// Enabled packs, in evaluation order.
    #[sqlx(try_from = "Json<Vec<String>>")]
    pub packs: Vec<String>,
    /// Organisations linked to the production (not including the studio).
    #[sqlx(skip)]
    pub linked_orgs: Vec<OrgId>,
    /// The studio contacts told of every use declared on the production.
    #[serde(default)]
    #[sqlx(try_from = "Json<Contacts>")]
    pub contacts: Contacts,
    #[sqlx(try_from = "Ts")]
    pub created_at: DateTime<Utc>,
    pub version: i64,
}

/// A production's studio contacts: people of the studio, and optionally a group address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Contacts {
    /// People of the studio (user ids).
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub people: Vec<UserId>,
    /// A group address (e.g. a team's mailbox).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl Contacts {
    /// No contact at all.
    pub fn is_empty(&self) -> bool {
        self.people.is_empty() && self.group.is_none()
    }
}

/// A decision recorded on a declaration.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    pub action: DecisionAction,
    pub by: UserId,
    pub at: DateTime<Utc>,
    pub revision: i64,
    /// The triage (sequence within the revision) the decision was given on.
    pub triage: i64,
    pub reason: Option<String>,
    pub conditions: Vec<String>,
    pub expires: Option<NaiveDate>,
}

/// A declaration's current state and the summary lists and pages need.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct DeclarationSummary {
    pub id: DeclarationId,
    pub production_id: ProductionId,
    pub production_title: String,
    /// The organisation of the partner who submitted it.
    pub org_id: OrgId,
    /// The partner's own reference (`use.ref`).
    #[sqlx(rename = "ref")]
    pub reference: String,
    pub summary: String,
    pub state: State,
    /// notify | review | escalate | written_approval (of the current triage)
    #[schema(value_type = String)]
    #[sqlx(try_from = "OutcomeText")]
    pub outcome: greenlight_core::Outcome,
    pub open_blockers: i64,
    pub open_obligations: i64,
    pub revision: i64,
    pub submitted_by: UserId,
    #[sqlx(try_from = "Ts")]
    pub created_at: DateTime<Utc>,
    #[sqlx(try_from = "Ts")]
    pub updated_at: DateTime<Utc>,
    /// When the current revision was submitted: what the review queue's waiting time counts
    /// from.
    #[sqlx(try_from = "Ts")]
    pub revision_at: DateTime<Utc>,
    /// Changes on every write; the ETag is derived from it.
    pub version: i64,
}

impl DeclarationSummary {
    /// The strong ETag of the declaration's current version (quoted, as in the header).
    pub fn etag(&self) -> String {
        format!("\"{}-{}\"", self.id, self.version)
    }
}

/// One difference between what the partner declared and what is on record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Difference {
    /// The field path, e.g. `tools[0].data_use`.
    pub path: String,
    /// What the partner declared (JSON text).
    pub declared: serde_json::Value,
    /// What the record says and the policy used.
    pub effective: serde_json::Value,
    /// Where the effective value comes from (production record, tool registry, consent registry...).
    pub source: String,
}

/// One evaluation of a revision: the effective declaration, the result, the packs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Triage {
    pub revision: i64,
    /// 1 for the triage at submission, then one more per re-triage.
    pub seq: i64,
    #[sqlx(rename = "created_at", try_from = "Ts")]
    pub at: DateTime<Utc>,
    /// Why it ran: `submitted`, `consent revoked: ...`, `tool terms changed: ...`.
    pub reason: String,
    /// The effective declaration (format v1 JSON).
    #[schema(value_type = Object)]
    #[sqlx(try_from = "Json<serde_json::Value>")]
    pub effective: serde_json::Value,
    /// The check result (the object `greenlight check --format json` prints).
    #[schema(value_type = Object)]
    #[sqlx(try_from = "Json<greenlight_core::CheckResult>")]
    pub result: greenlight_core::CheckResult,
    #[schema(value_type = String)]
    #[sqlx(try_from = "OutcomeText")]
    pub outcome: greenlight_core::Outcome,
    #[sqlx(try_from = "Json<Vec<Difference>>")]
    pub differences: Vec<Difference>,
}

/// A revision: the text as submitted and its triage history (the last is current).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Revision {
    pub number: i64,
    /// The body exactly as submitted.
    #[sqlx(rename = "body")]
    pub text: String,
    /// `yaml` or `json`.
    pub media: String,
    pub submitted_by: UserId,
    #[sqlx(rename = "created_at", try_from = "Ts")]
    pub at: DateTime<Utc>,
    #[sqlx(skip)]
    pub triages: Vec<Triage>,
}

/// A line of a declaration's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct HistoryEvent {
    #[sqlx(try_from = "Ts")]
    pub at: DateTime<Utc>,
    #[sqlx(rename = "by_user")]
    pub by: Option<UserId>,
    pub action: String,
    pub from_state: Option<State>,
    pub to_state: Option<State>,
    pub detail: String,
}

/// A consent linked to a talent entry of a declaration.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct ConsentLink {
    pub consent_id: ConsentId,
    /// The talent entry's performer, as declared.
    pub performer: String,
    #[sqlx(rename = "by_user")]
    pub by: UserId,
    #[sqlx(try_from = "Ts")]
    pub at: DateTime<Utc>,
}

/// A confirmation legal recorded on a declaration (a clearance or an agreement).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Confirmation {
    pub kind: ConfirmationKind,
    /// The input index for `input_cleared`; 0 for `union_agreement`.
    #[sqlx(rename = "idx")]
    pub index: i64,
    pub reference: String,
    #[sqlx(rename = "by_user")]
    pub by: UserId,
    #[sqlx(try_from = "Ts")]
    pub at: DateTime<Utc>,
}

/// An obligation from a pack, stored with a revision, markable done.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Obligation {
    pub id: ObligationId,
    pub declaration_id: DeclarationId,
    pub revision: i64,
    pub rule: String,
    pub pack: String,
    pub kind: String,
    pub text: String,
    pub due: Option<String>,
    pub status: ObligationStatus,
    pub done_by: Option<UserId>,
    #[sqlx(try_from = "OptTs")]
    pub done_at: Option<DateTime<Utc>>,
    /// What was done, e.g. the credit line as delivered.
    pub evidence: Option<String>,
}

/// Everything about one declaration.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeclarationDetail {
    #[serde(flatten)]
    pub summary: DeclarationSummary,
    /// The current revision with its triage history.
    pub current: Revision,
    /// The decision in force (approval, rejection, change request), if any.
    pub decision: Option<Decision>,
    pub consent_links: Vec<ConsentLink>,
    pub confirmations: Vec<Confirmation>,
    pub obligations: Vec<Obligation>,
    pub history: Vec<HistoryEvent>,
}

/// A consent record (the document is stored alongside, with its SHA-256).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Consent {
    pub id: ConsentId,
    pub studio_id: OrgId,
    /// Limits the consent to one production; `None` = any production of the studio.
    pub production_id: Option<ProductionId>,
    pub performer: String,
    #[sqlx(rename = "given_by")]
    pub by: ConsentBy,
    pub treatment: Treatment,
    /// The description of the use consented to.
    pub scope: String,
    /// The consent is clear and conspicuous and signed apart from other terms, as legal
    /// recorded it (the union pack's *valid consent* needs it).
    #[sqlx(try_from = "Flag")]
    pub separately_signed: bool,
    #[sqlx(try_from = "Day")]
    pub signed: NaiveDate,
    #[sqlx(try_from = "OptDay")]
    pub expires: Option<NaiveDate>,
    #[sqlx(try_from = "OptTs")]
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
    pub document_name: String,
    pub document_sha256: String,
    pub recorded_by: UserId,
    #[sqlx(try_from = "Ts")]
    pub created_at: DateTime<Utc>,
}

impl Consent {
    /// Why the consent would not count as a *valid consent* of the union pack
    /// (`sag-aftra-2023`), in the pack's own words; empty when it counts. `deceased`: it
    /// covers the replica of a deceased performer (only the estate or the union can consent).
    pub fn union_problems(&self, deceased: bool) -> Vec<&'static str> {
        let mut out = Vec::new();
        if !self.separately_signed {
            out.push("not signed separately from other terms");
        }
        if self.scope.trim().is_empty() {
            out.push("no reasonably specific description of the use");
        }
        if deceased && self.by == ConsentBy::Performer {
            out.push(
                "given by the performer, and for a deceased performer only the estate or the union can consent",
            );
        }
        out
    }
}

/// A tool record: legal's reviewed terms, which the policy uses over what a partner declares.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Tool {
    pub id: ToolId,
    pub studio_id: OrgId,
    pub name: String,
    pub vendor: Option<String>,
    pub plan: Option<String>,
    /// Reference of the enterprise agreement covering the tool, if any.
    pub agreement: Option<String>,
    pub data_terms: DataTerms,
    #[sqlx(try_from = "OptDay")]
    pub terms_reviewed: Option<NaiveDate>,
    pub evidence_name: Option<String>,
    pub evidence_sha256: Option<String>,
    /// The traces its output carries, as legal recorded them; empty when not recorded.
    #[serde(default)]
    #[sqlx(try_from = "Json<Vec<ToolTrace>>")]
    pub traces: Vec<ToolTrace>,
    #[sqlx(try_from = "Ts")]
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Tool {
    /// Whether legal recorded that the tool leaves no trace: its output's provenance then
    /// depends on the ledger alone.
    pub fn leaves_no_trace(&self) -> bool {
        self.traces == [ToolTrace::None]
    }
}

/// One page of a list, and how to get the next.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Total number of items matching the filter.
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
}

/// A page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PageRequest {
    pub offset: i64,
    pub limit: i64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            offset: 0,
            limit: 50,
        }
    }
}

impl PageRequest {
    /// The largest page anyone gets.
    pub const MAX_LIMIT: i64 = 500;
    /// Clamps to sane bounds.
    pub fn clamped(self) -> Self {
        Self {
            offset: self.offset.max(0),
            limit: self.limit.clamp(1, Self::MAX_LIMIT),
        }
    }
}

/// Filters of a declaration list.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct DeclarationFilter {
    pub production_id: Option<ProductionId>,
    pub state: Option<State>,
    pub outcome: Option<String>,
    /// Only declarations submitted by this organisation.
    pub org_id: Option<OrgId>,
    /// Oldest first (the review queue) instead of newest first.
    pub oldest_first: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use DecisionAction as A;

    fn decide(from: State, action: DecisionAction) -> Result<State, NotAllowed> {
        from.after(Transition::Decide(action))
    }

    #[test]
    fn a_declaration_in_review_or_suspended_can_be_approved() {
        assert_eq!(decide(State::InReview, A::Approve), Ok(State::Approved));
        assert_eq!(decide(State::Suspended, A::Approve), Ok(State::Approved));
    }

    #[test]
    fn changes_requested_waits_for_a_new_revision_before_approval() {
        let err = decide(State::ChangesRequested, A::Approve).unwrap_err();
        assert_eq!(
            err.0,
            "cannot approve a declaration that is changes_requested"
        );
        let routed = State::ChangesRequested.after(Transition::Revise {
            same_terms: false,
            routed: State::InReview,
        });
        assert_eq!(routed, Ok(State::InReview));
    }

    #[test]
    fn an_acknowledgement_can_be_rejected_or_sent_back_but_not_approved() {
        assert_eq!(decide(State::Acknowledged, A::Reject), Ok(State::Rejected));
        assert_eq!(
            decide(State::Acknowledged, A::RequestChanges),
            Ok(State::ChangesRequested)
        );
        assert!(decide(State::Acknowledged, A::Approve).is_err());
    }

    #[test]
    fn only_an_approval_or_a_suspended_one_is_revoked() {
        assert_eq!(decide(State::Approved, A::Revoke), Ok(State::Revoked));
        assert_eq!(decide(State::Suspended, A::Revoke), Ok(State::Revoked));
        for s in [
            State::InReview,
            State::Rejected,
            State::Acknowledged,
            State::Expired,
        ] {
            assert!(decide(s, A::Revoke).is_err(), "{s}");
        }
    }

    #[test]
    fn no_decision_reopens_a_closed_declaration() {
        for s in [
            State::Rejected,
            State::Withdrawn,
            State::Revoked,
            State::Expired,
        ] {
            for a in DecisionAction::ALL {
                assert!(decide(s, *a).is_err(), "{a} on {s}");
            }
        }
    }

    #[test]
    fn withdrawing_twice_is_refused() {
        assert_eq!(
            State::InReview.after(Transition::Withdraw),
            Ok(State::Withdrawn)
        );
        assert!(State::Withdrawn.after(Transition::Withdraw).is_err());
    }

    #[test]
    fn a_revision_keeps_an_approval_only_when_the_terms_are_the_same() {
        let revise = |same_terms| {
            State::Approved.after(Transition::Revise {
                same_terms,
                routed: State::InReview,
            })
        };
        assert_eq!(revise(true), Ok(State::Approved));
        assert_eq!(revise(false), Ok(State::InReview));
        // Same terms mean nothing to a declaration that was not approved.
        assert_eq!(
            State::Rejected.after(Transition::Revise {
                same_terms: true,
                routed: State::Acknowledged
            }),
            Ok(State::Acknowledged)
        );
    }

    #[test]
    fn withdrawn_and_revoked_declarations_take_no_revision() {
        for s in [State::Withdrawn, State::Revoked] {
            let err = s
                .after(Transition::Revise {
                    same_terms: false,
                    routed: State::InReview,
                })
                .unwrap_err();
            assert!(err.0.contains("takes no new revision"), "{err}");
        }
    }

    #[test]
    fn a_changed_result_suspends_an_approval_and_sends_an_acknowledgement_to_review() {
        let retriage =
            |s: State, changed, routed| s.after(Transition::Retriage { changed, routed });
        assert_eq!(
            retriage(State::Approved, true, State::Acknowledged),
            Ok(State::Suspended)
        );
        assert_eq!(
            retriage(State::Approved, false, State::InReview),
            Ok(State::Approved)
        );
        assert_eq!(
            retriage(State::Acknowledged, true, State::InReview),
            Ok(State::InReview)
        );
        assert_eq!(
            retriage(State::Acknowledged, false, State::Acknowledged),
            Ok(State::Acknowledged)
        );
        assert_eq!(
            retriage(State::InReview, true, State::Acknowledged),
            Ok(State::InReview)
        );
    }

    #[test]
    fn only_an_approval_expires() {
        assert_eq!(
            State::Approved.after(Transition::Expire),
            Ok(State::Expired)
        );
        assert!(State::Suspended.after(Transition::Expire).is_err());
    }

    #[test]
    fn live_states_are_the_ones_still_in_play() {
        let live: Vec<State> = State::ALL.iter().copied().filter(|s| s.is_live()).collect();
        assert_eq!(
            live,
            vec![
                State::Submitted,
                State::Acknowledged,
                State::InReview,
                State::Approved,
                State::ChangesRequested,
                State::Suspended
            ]
        );
    }
}
