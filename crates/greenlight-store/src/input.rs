//! What callers hand the store to change something.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{
    ConfirmationKind, ConsentBy, DataTerms, DecisionAction, ProductionFacts, ProductionId,
    ToolTrace, Treatment,
};

/// A decision a reviewer records.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub action: DecisionAction,
    /// Why (required for reject, request_changes and revoke).
    #[serde(default)]
    pub reason: Option<String>,
    /// Conditions of an approval.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// The approval lapses after this day.
    #[serde(default)]
    pub expires: Option<NaiveDate>,
}

/// A new production.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduction {
    #[serde(flatten)]
    pub facts: ProductionFacts,
    /// Enabled packs; default `netflix-genai`, `eu-ai-act-art50` and `sag-aftra-2023`.
    #[serde(default)]
    pub packs: Option<Vec<String>>,
}

/// A change of a production's facts or packs (fields left out stay as they are).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductionUpdate {
    pub title: Option<String>,
    pub kind: Option<String>,
    pub eu_release: Option<bool>,
    /// `Some(None)` clears the date.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub release_date: Option<Option<NaiveDate>>,
    /// Replaces the union agreements (`[]` clears them).
    pub agreements: Option<Vec<String>>,
    pub packs: Option<Vec<String>>,
    /// Replaces the studio contacts: people of the studio by user id, and a group address.
    pub contacts: Option<crate::model::Contacts>,
}

/// A document attached to a registry record.
#[derive(Debug, Clone)]
pub struct Document {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A consent to record.
#[derive(Debug, Clone)]
pub struct NewConsent {
    pub production_id: Option<ProductionId>,
    pub performer: String,
    pub by: ConsentBy,
    pub treatment: Treatment,
    pub scope: String,
    /// Signed apart from other terms (legal's record; see [`crate::model::Consent`]).
    pub separately_signed: bool,
    pub signed: NaiveDate,
    pub expires: Option<NaiveDate>,
    pub document: Document,
}

/// A tool to register, or its new terms.
#[derive(Debug, Clone)]
pub struct NewTool {
    pub name: String,
    pub vendor: Option<String>,
    pub plan: Option<String>,
    pub agreement: Option<String>,
    pub data_terms: DataTerms,
    pub terms_reviewed: Option<NaiveDate>,
    pub evidence: Option<Document>,
    /// The traces its output carries (`c2pa`, `iptc`, `watermark`, `metadata`, or `none`
    /// alone); empty: not recorded.
    pub traces: Vec<ToolTrace>,
}

/// A confirmation legal records on a declaration.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmationInput {
    pub kind: ConfirmationKind,
    /// The input index for `input_cleared`.
    #[serde(default)]
    pub index: i64,
    /// The clearance or agreement reference.
    pub reference: String,
}

mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            None => s.serialize_none(),
            Some(inner) => inner.serialize(s),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}
