//! The types of declaration format v1 (`spec/declaration-v1.md`).
//!
//! The only way to get a [`Declaration`] is to parse one ([`crate::format::parse`]), so code
//! holding one never re-checks it. Defaults are filled in by the parser; every field here is the
//! value the policy sees. The serde attributes describe the file format: serializing a
//! declaration gives back a valid file, and [`crate::schema`] derives the JSON Schema from them.

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The format marker every declaration starts with.
pub const FORMAT_MARKER: &str = "declaration/v1";

/// Declares a string enumeration of the format: lower-case (kebab-case) spellings exactly as
/// the spec lists them, with `as_str` and the list of allowed values for error messages.
macro_rules! spec_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every allowed spelling, in the spec's order.
            pub const ALLOWED: &'static [&'static str] = &[$($text),+];

            /// The spelling used in files.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// Parses the exact spelling used in files.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

spec_enum!(
    /// What kind of production this is.
    ProductionKind { Scripted = "scripted", Documentary = "documentary", Unscripted = "unscripted", Animation = "animation" }
);
spec_enum!(
    /// The production stage the use happens in.
    Stage { Development = "development", PreProduction = "pre-production", Production = "production", PostProduction = "post-production", Marketing = "marketing" }
);
spec_enum!(
    /// What the AI is used for.
    Purpose {
        Ideation = "ideation", Previs = "previs", BackgroundElement = "background-element",
        KeyCreative = "key-creative", Vfx = "vfx", Talent = "talent", Voice = "voice",
        Localization = "localization", Training = "training", Other = "other",
    }
);
spec_enum!(
    /// What a tool does with its inputs and outputs.
    DataUse { None = "none", Stores = "stores", Trains = "trains", Unknown = "unknown" }
);
spec_enum!(
    /// What goes into a tool.
    InputKind {
        Prompt = "prompt", ReferenceImage = "reference-image", Script = "script", Footage = "footage",
        UnreleasedAsset = "unreleased-asset", Likeness = "likeness", Voice = "voice",
        PersonalData = "personal-data", TrainingSet = "training-set", Contract = "contract", Other = "other",
    }
);
spec_enum!(
    /// Who owns an input.
    Owner { Own = "own", Studio = "studio", ThirdParty = "third-party", PublicDomain = "public-domain", Unknown = "unknown" }
);
spec_enum!(
    /// What an input names or depicts.
    MentionType {
        CopyrightedWork = "copyrighted-work", Artist = "artist", PublicFigure = "public-figure",
        DeceasedPerson = "deceased-person", Performer = "performer",
    }
);
spec_enum!(
    /// How prominent a final output is.
    Prominence { Incidental = "incidental", Featured = "featured" }
);
spec_enum!(
    /// What an output is.
    Media { Image = "image", Video = "video", Audio = "audio", Text = "text" }
);
spec_enum!(
    /// What is done to a performer.
    Treatment {
        Replica = "replica", Voice = "voice", ReAgeing = "re-ageing", Alteration = "alteration",
        SyntheticPerformer = "synthetic-performer",
    }
);
spec_enum!(
    /// An exception the guidance allows for a talent treatment.
    TalentException {
        None = "none", AsScripted = "as-scripted", Unsafe = "unsafe", Unrecognizable = "unrecognizable",
        Customary = "customary", Dubbing = "dubbing",
    }
);
spec_enum!(
    /// Who gave a consent.
    ConsentBy { Performer = "performer", Estate = "estate", Union = "union" }
);
spec_enum!(
    /// A union agreement a production works under.
    Agreement {
        SagAftraTvTheatrical2023 = "sag-aftra-tv-theatrical-2023",
        SagAftraTvTheatrical2026 = "sag-aftra-tv-theatrical-2026",
        WgaMba2023 = "wga-mba-2023",
    }
);
spec_enum!(
    /// The genre of a use, from the First Amendment list of the SAG-AFTRA agreement.
    Genre {
        None = "none", Comment = "comment", Criticism = "criticism", Scholarship = "scholarship",
        SatireParody = "satire-parody", Docudrama = "docudrama",
        HistoricalBiographical = "historical-biographical",
    }
);
spec_enum!(
    /// A performer's engagement category.
    Role { Principal = "principal", Background = "background" }
);
spec_enum!(
    /// How a digital replica was made: with the performer's participation in this engagement
    /// (a scan, a session), or from existing material.
    ReplicaOrigin { Employment = "employment", Independent = "independent", Unknown = "unknown" }
);
spec_enum!(
    /// A performer's principal facial feature named in an input.
    Feature { None = "none", Eyes = "eyes", Nose = "nose", Mouth = "mouth", Ears = "ears" }
);
spec_enum!(
    /// An answer to one of the five principles.
    Answer { Met = "met", NotMet = "not-met", Unsure = "unsure" }
);

/// One intended use of generative AI on one production.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Greenlight declaration v1")]
pub struct Declaration {
    /// The format marker: exactly `declaration/v1`.
    #[schemars(schema_with = "format_marker_schema")]
    pub greenlight: String,
    /// The production the use belongs to.
    pub production: Production,
    /// The use itself.
    #[serde(rename = "use")]
    pub usage: Use,
    /// The tools used: one or more.
    #[schemars(length(min = 1))]
    pub tools: Vec<Tool>,
    /// What goes into the tools.
    #[serde(default)]
    pub inputs: Vec<Input>,
    /// What comes out.
    #[serde(default)]
    pub outputs: Outputs,
    /// Performers whose likeness, voice or performance is generated or altered.
    #[serde(default)]
    pub talent: Vec<Talent>,
    /// Union-covered work affected by the use.
    #[serde(default)]
    pub union_work: UnionWork,
    /// The partner's own answers to the five principles (optional).
    #[serde(default)]
    pub self_assessment: SelfAssessment,
}

fn format_marker_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({ "const": FORMAT_MARKER, "description": "The format marker." })
}

/// The production a use belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Production {
    /// The production's title (required, non-empty).
    #[schemars(length(min = 1))]
    pub title: String,
    /// What kind of production (default `scripted`).
    #[serde(default = "default_kind")]
    pub kind: ProductionKind,
    /// Released in the EU: drives EU AI Act duties (default false).
    #[serde(default)]
    pub eu_release: bool,
    /// First day the public can see or hear it; absent means not yet known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_date: Option<NaiveDate>,
    /// Union agreements the production works under (default none). On the server this is a
    /// fact of record of the production, replacing what a declaration says.
    #[serde(default)]
    #[schemars(extend("uniqueItems" = true))]
    pub agreements: Vec<Agreement>,
}

fn default_kind() -> ProductionKind {
    ProductionKind::Scripted
}

/// The use: the partner's reference, a summary, the stage and the purpose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Use {
    /// The partner's own reference, unique within the production (required).
    #[serde(rename = "ref")]
    #[schemars(length(min = 1))]
    pub reference: String,
    /// What the AI is used for, in plain words (required).
    #[schemars(length(min = 1))]
    pub summary: String,
    /// The production stage (default `pre-production`).
    #[serde(default = "default_stage")]
    pub stage: Stage,
    /// The purpose (default `other`).
    #[serde(default = "default_purpose")]
    pub purpose: Purpose,
    /// The genre, from the First Amendment list of the SAG-AFTRA agreement (default `none`).
    #[serde(default = "default_genre")]
    pub genre: Genre,
}

fn default_stage() -> Stage {
    Stage::PreProduction
}

fn default_purpose() -> Purpose {
    Purpose::Other
}

fn default_genre() -> Genre {
    Genre::None
}

/// A tool used for the use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// The tool's name (required).
    #[schemars(length(min = 1))]
    pub name: String,
    /// The tool's vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Covered by the studio's enterprise agreement (default false).
    #[serde(default)]
    pub enterprise_agreement: bool,
    /// What the tool does with inputs and outputs (default `unknown`).
    #[serde(default = "default_data_use")]
    pub data_use: DataUse,
    /// Date the partner reviewed the tool's terms; absent means never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_reviewed: Option<NaiveDate>,
}

fn default_data_use() -> DataUse {
    DataUse::Unknown
}

/// Something that goes into a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// What the input is (required).
    pub kind: InputKind,
    /// Who owns it (default `own`).
    #[serde(default = "default_owner")]
    pub owner: Owner,
    /// Rights or permissions for this use are cleared (default false).
    #[serde(default)]
    pub cleared: bool,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Works or people the input names or depicts.
    #[serde(default)]
    pub mentions: Vec<Mention>,
}

fn default_owner() -> Owner {
    Owner::Own
}

/// A work or person an input names or depicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mention {
    /// What is mentioned (required).
    #[serde(rename = "type")]
    pub kind: MentionType,
    /// Its name (required).
    #[schemars(length(min = 1))]
    pub name: String,
    /// A performer's principal facial feature the input names (default `none`).
    #[serde(default = "default_feature")]
    pub feature: Feature,
}

fn default_feature() -> Feature {
    Feature::None
}

/// What the use produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    /// Part of the final deliverables (default false).
    #[serde(rename = "final", default)]
    pub is_final: bool,
    /// Incidental or featured; read only when final (default `featured`).
    #[serde(default = "default_prominence")]
    pub prominence: Prominence,
    /// A main character, key visual, or story-central setting or element (default false).
    #[serde(default)]
    pub key_creative: bool,
    /// Shows or voices identifiable real people (default false).
    #[serde(default)]
    pub depicts_real_people: bool,
    /// Could be mistaken for real events, people or statements (default false).
    #[serde(default)]
    pub presented_as_real: bool,
    /// What the output is: any of image, video, audio, text; empty means not stated.
    #[serde(default)]
    #[schemars(extend("uniqueItems" = true))]
    pub media: Vec<Media>,
    /// Looks or sounds like real recordings, not evidently stylised (default true).
    #[serde(default = "default_true")]
    pub realistic: bool,
    /// Resembles existing objects, places, entities or events (default false).
    #[serde(default)]
    pub resembles_existing: bool,
    /// Text published to inform the public on matters of public interest (default false).
    #[serde(default)]
    pub public_interest_text: bool,
    /// That text had human editorial review under someone's editorial responsibility (default false).
    #[serde(default)]
    pub editorial_review: bool,
}

fn default_prominence() -> Prominence {
    Prominence::Featured
}

fn default_true() -> bool {
    true
}

impl Default for Outputs {
    fn default() -> Self {
        Self {
            is_final: false,
            prominence: Prominence::Featured,
            key_creative: false,
            depicts_real_people: false,
            presented_as_real: false,
            media: Vec::new(),
            realistic: true,
            resembles_existing: false,
            public_interest_text: false,
            editorial_review: false,
        }
    }
}

/// A performer whose likeness, voice or performance is generated or altered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Talent {
    /// The performer's name (required).
    #[schemars(length(min = 1))]
    pub performer: String,
    /// What is done (required).
    pub treatment: Treatment,
    /// Alters emotional tone, delivery or intent, e.g. visual ADR (default false).
    #[serde(default)]
    pub changes_performance: bool,
    /// An exception the guidance allows (default `none`).
    #[serde(default = "default_exception")]
    pub exception: TalentException,
    /// The performer is deceased (default false).
    #[serde(default)]
    pub deceased: bool,
    /// A model trained on this talent is used for another production or pitch (default false).
    #[serde(default)]
    pub model_reused_elsewhere: bool,
    /// The performer's engagement category (default `principal`).
    #[serde(default = "default_role")]
    pub role: Role,
    /// How the replica was made (default `unknown`).
    #[serde(default = "default_replica_origin")]
    pub replica_origin: ReplicaOrigin,
    /// The replica's capture session; absent means none is declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<Scan>,
    /// A synthetic performer used where a human performer would have been engaged (default false).
    #[serde(default)]
    pub replaces_human_role: bool,
    /// The consent on file; absent means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
}

fn default_exception() -> TalentException {
    TalentException::None
}

fn default_role() -> Role {
    Role::Principal
}

fn default_replica_origin() -> ReplicaOrigin {
    ReplicaOrigin::Unknown
}

/// The capture session of a digital replica (a scan), and when the performer was told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scan {
    /// The day of the capture (required).
    pub date: NaiveDate,
    /// The day the performer was told of it; absent means never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<NaiveDate>,
    /// The day the performer was engaged; absent means not stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engaged: Option<NaiveDate>,
}

/// A consent on file for a talent entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    /// The consent document's reference (required).
    #[schemars(length(min = 1))]
    pub document: String,
    /// The reasonably specific description of the use consented to (required).
    #[schemars(length(min = 1))]
    pub scope: String,
    /// Date signed (required).
    pub signed: NaiveDate,
    /// Who gave it (default `performer`).
    #[serde(default = "default_consent_by")]
    pub by: ConsentBy,
    /// The consent is clear and conspicuous, signed apart from other terms (default false). On
    /// the server this comes from the consent registry, never from what the partner typed.
    #[serde(default)]
    pub separately_signed: bool,
}

fn default_consent_by() -> ConsentBy {
    ConsentBy::Performer
}

/// Union-covered work affected by the use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnionWork {
    /// Replaces or materially affects union-covered work (default false).
    #[serde(default)]
    pub affected: bool,
    /// Reference of the agreement or approval covering it (nullable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<String>,
}

/// The partner's own answers to the five principles.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelfAssessment {
    /// Outputs do not replicate unowned or copyrighted material.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p1: Option<Answer>,
    /// Tools do not store, reuse or train on production data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p2: Option<Answer>,
    /// Tools run in an enterprise-secured environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p3: Option<Answer>,
    /// Generated material is temporary and not in the final deliverables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p4: Option<Answer>,
    /// No talent performance or union work replaced without consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p5: Option<Answer>,
}

impl SelfAssessment {
    /// The answers given, in principle order.
    pub fn answers(&self) -> impl Iterator<Item = (&'static str, Answer)> + '_ {
        [
            ("p1", self.p1),
            ("p2", self.p2),
            ("p3", self.p3),
            ("p4", self.p4),
            ("p5", self.p5),
        ]
        .into_iter()
        .filter_map(|(id, answer)| answer.map(|a| (id, a)))
    }
}
