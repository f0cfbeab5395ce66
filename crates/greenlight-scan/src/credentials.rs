//! C2PA content credentials, read and validated by the `c2pa` crate (never hand-parsed):
//! validation state, the failing status codes, claim generator, actions with their
//! `digitalSourceType` (or, in older Adobe manifests, their parameters'
//! `com.adobe.digitalSourceType`) and software agent, and ingredients followed recursively
//! through the manifest store.
//! A manifest embedded in the file wins; otherwise a sidecar `NAME.c2pa` beside it is used.
//!
//! The scan is offline: no OCSP, timestamp or remote-manifest fetch. Without configured trust
//! anchors a correctly signed manifest is `valid`, not `trusted`; `--trust-anchors FILE` (a PEM
//! bundle) adds anchors.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::xmp::is_generative_ai;

/// How deep ingredients are followed (a manifest store is a DAG, but a hostile one may loop).
pub const MAX_INGREDIENT_DEPTH: usize = 16;

/// Where the manifest store came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialSource {
    /// Embedded in the file.
    Embedded,
    /// A `NAME.c2pa` file beside it.
    Sidecar,
}

/// The C2PA validation state of the active manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialState {
    /// Fails validation (tampered content, a broken signature, an ingredient failing).
    Invalid,
    /// Well-formed and cryptographically intact, signer not on a trust list.
    Valid,
    /// Valid, and the signer chains to a configured trust anchor.
    Trusted,
    /// The file only references its manifest at a URL (`failures` holds it): it cannot be
    /// checked offline, and the scan never fetches it.
    Remote,
}

/// One action of a manifest's actions assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// e.g. `c2pa.created`.
    pub action: String,
    /// e.g. `http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digital_source_type: Option<String>,
    /// The software agent's name, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software_agent: Option<String>,
}

/// An ingredient, with what its own manifest (if any) says, recursively.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ingredient {
    /// The ingredient's title (usually its file name).
    pub title: String,
    /// `parentOf`, `componentOf` or `inputTo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<String>,
    /// Actions of the ingredient's own manifest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    /// Its own ingredients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingredients: Vec<Ingredient>,
}

/// What a file's content credential says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    /// Embedded or sidecar.
    pub source: CredentialSource,
    /// Validation state.
    pub state: CredentialState,
    /// Failing validation status codes (e.g. `assertion.dataHash.mismatch`), with explanations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
    /// The claim generator (name and version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_generator: Option<String>,
    /// Actions of the active manifest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<Action>,
    /// Ingredients of the active manifest, followed recursively.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingredients: Vec<Ingredient>,
}

impl Credential {
    /// Every digital source type anywhere in the credential (actions and ingredients).
    pub fn digital_source_types(&self) -> Vec<&str> {
        fn walk<'a>(actions: &'a [Action], ingredients: &'a [Ingredient], out: &mut Vec<&'a str>) {
            out.extend(
                actions
                    .iter()
                    .filter_map(|a| a.digital_source_type.as_deref()),
            );
            for i in ingredients {
                walk(&i.actions, &i.ingredients, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.actions, &self.ingredients, &mut out);
        out
    }

    /// The software agents of the actions that declare generative-AI content, anywhere in the
    /// credential, each once.
    pub fn ai_software_agents(&self) -> Vec<&str> {
        fn walk<'a>(actions: &'a [Action], ingredients: &'a [Ingredient], out: &mut Vec<&'a str>) {
            for a in actions {
                if a.digital_source_type
                    .as_deref()
                    .is_some_and(is_generative_ai)
                    && let Some(agent) = a.software_agent.as_deref()
                    && !out.contains(&agent)
                {
                    out.push(agent);
                }
            }
            for i in ingredients {
                walk(&i.actions, &i.ingredients, out);
            }
        }
        let mut out = Vec::new();
        walk(&self.actions, &self.ingredients, &mut out);
        out
    }

    /// Whether the credential declares generative-AI content, in the file itself or in any
    /// ingredient.
    pub fn declares_ai(&self) -> bool {
        self.digital_source_types()
            .into_iter()
            .any(is_generative_ai)
    }
}

/// Why credentials could not be read at all (as opposed to a manifest that fails validation,
/// which is a [`Credential`] in state [`CredentialState::Invalid`]).
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// The trust anchors file could not be read or parsed.
    #[error("trust anchors {path}: {message}")]
    TrustAnchors {
        /// The file given.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// A reusable credential reader (shares one `c2pa` context across threads).
#[derive(Clone)]
pub struct CredentialReader {
    context: Arc<c2pa::Context>,
}

impl std::fmt::Debug for CredentialReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialReader").finish_non_exhaustive()
    }
}

impl CredentialReader {
    /// A reader with the given PEM trust anchors (none: nothing can be `trusted`).
    pub fn new(trust_anchors_pem: Option<String>) -> Result<Self, c2pa::Error> {
        let mut settings = c2pa::Settings::default();
        if let Some(pem) = trust_anchors_pem {
            settings.trust.user_anchors = Some(pem);
        }
        let context = c2pa::Context::new().with_settings(settings)?;
        Ok(Self {
            context: context.into_shared(),
        })
    }

    /// A reader with the trust anchors in a PEM file.
    pub fn with_anchors_file(path: &Path) -> Result<Self, CredentialError> {
        let pem = std::fs::read_to_string(path).map_err(|e| CredentialError::TrustAnchors {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if !pem.contains("-----BEGIN CERTIFICATE-----") {
            return Err(CredentialError::TrustAnchors {
                path: path.to_path_buf(),
                message: "no PEM certificate in the file".into(),
            });
        }
        Self::new(Some(pem)).map_err(|e| CredentialError::TrustAnchors {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Reads the credential of the file at `path` (sniffed as `mime`): embedded, or from a
    /// sidecar `.c2pa` beside it. `Ok(None)`: no credential. `Err(message)`: the file could not
    /// be read at all (the caller reports `UNREADABLE`).
    pub fn read(&self, path: &Path, mime: &str) -> Result<Option<Credential>, String> {
        if supported(mime) {
            let file = File::open(path).map_err(|e| e.to_string())?;
            match c2pa::Reader::from_shared_context(&self.context).with_stream(mime, file) {
                Ok(reader) => return Ok(Some(summarize(&reader, CredentialSource::Embedded))),
                Err(
                    c2pa::Error::RemoteManifestUrl(url) | c2pa::Error::RemoteManifestFetch(url),
                ) => {
                    return Ok(Some(Credential {
                        source: CredentialSource::Embedded,
                        state: CredentialState::Remote,
                        failures: vec![url],
                        claim_generator: None,
                        actions: vec![],
                        ingredients: vec![],
                    }));
                }
                Err(e) if no_manifest(&e) => {}
                // A container the C2PA reader cannot parse (a truncated or corrupt file) holds a
                // broken credential only if a manifest store was there to break; otherwise the
                // decoder reports the file as unreadable and the credential is simply absent.
                Err(e) if !has_manifest_store(path) => {
                    tracing::debug!("{}: no manifest store ({e})", path.display())
                }
                Err(e) => return Ok(Some(broken(CredentialSource::Embedded, &e))),
            }
        }
        let sidecar = path.with_extension("c2pa");
        if sidecar != path && sidecar.is_file() {
            let data =
                std::fs::read(&sidecar).map_err(|e| format!("{}: {e}", sidecar.display()))?;
            let file = File::open(path).map_err(|e| e.to_string())?;
            return Ok(Some(
                match c2pa::Reader::from_shared_context(&self.context)
                    .with_manifest_data_and_stream(&data, mime, file)
                {
                    Ok(reader) => summarize(&reader, CredentialSource::Sidecar),
                    Err(e) => broken(CredentialSource::Sidecar, &e),
                },
            ));
        }
        Ok(None)
    }
}

/// Whether `c2pa` reads this media type.
pub fn supported(mime: &str) -> bool {
    static TYPES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    TYPES
        .get_or_init(c2pa::Reader::supported_mime_types)
        .iter()
        .any(|t| t == mime)
}

/// Whether the file holds the bytes of a C2PA manifest store: a JUMBF superbox (`jumb`)
/// labelled `c2pa`. Only the first [`MANIFEST_PROBE`] bytes are looked at.
fn has_manifest_store(path: &Path) -> bool {
    use std::io::Read;
    let mut buf = Vec::new();
    if File::open(path)
        .and_then(|f| f.take(MANIFEST_PROBE).read_to_end(&mut buf))
        .is_err()
    {
        return false;
    }
    let find = |needle: &[u8]| buf.windows(needle.len()).any(|w| w == needle);
    find(b"jumb") && find(b"c2pa")
}

/// How many leading bytes [`has_manifest_store`] probes.
const MANIFEST_PROBE: u64 = 64 * 1024 * 1024;

fn no_manifest(e: &c2pa::Error) -> bool {
    matches!(
        e,
        c2pa::Error::JumbfNotFound | c2pa::Error::ProvenanceMissing | c2pa::Error::UnsupportedType
    )
}

fn broken(source: CredentialSource, e: &c2pa::Error) -> Credential {
    Credential {
        source,
        state: CredentialState::Invalid,
        failures: vec![format!("manifest store unreadable: {e}")],
        claim_generator: None,
        actions: vec![],
        ingredients: vec![],
    }
}

fn summarize(reader: &c2pa::Reader, source: CredentialSource) -> Credential {
    let state = match reader.validation_state() {
        c2pa::ValidationState::Invalid => CredentialState::Invalid,
        c2pa::ValidationState::Valid => CredentialState::Valid,
        c2pa::ValidationState::Trusted => CredentialState::Trusted,
    };
    let mut failures = Vec::new();
    if let Some(results) = reader.validation_results() {
        let active = results
            .active_manifest()
            .map(|s| s.failure().as_slice())
            .unwrap_or_default();
        let deltas = results
            .ingredient_deltas()
            .into_iter()
            .flatten()
            .flat_map(|d| d.validation_deltas().failure());
        for status in active.iter().chain(deltas) {
            // An untrusted signer is not a failure of integrity; it is reported as its own code.
            if status.code() == "signingCredential.untrusted" {
                continue;
            }
            failures.push(match status.explanation() {
                Some(x) => format!("{}: {x}", status.code()),
                None => status.code().to_string(),
            });
        }
    }
    let store: Value = serde_json::from_str(&reader.json()).unwrap_or(Value::Null);
    let manifests = &store["manifests"];
    let active = reader
        .active_label()
        .map(|l| &manifests[l])
        .unwrap_or(&Value::Null);
    let mut seen = HashSet::new();
    if let Some(l) = reader.active_label() {
        seen.insert(l.to_string());
    }
    Credential {
        source,
        state,
        failures,
        claim_generator: claim_generator(active),
        actions: actions(active),
        ingredients: ingredients(active, manifests, &mut seen, 0),
    }
}

fn claim_generator(manifest: &Value) -> Option<String> {
    if let Some(info) = manifest["claim_generator_info"]
        .as_array()
        .and_then(|a| a.first())
    {
        let name = info["name"].as_str()?;
        return Some(match info["version"].as_str() {
            Some(v) => format!("{name} {v}"),
            None => name.to_string(),
        });
    }
    manifest["claim_generator"].as_str().map(str::to_string)
}

fn actions(manifest: &Value) -> Vec<Action> {
    let mut out = Vec::new();
    for assertion in manifest["assertions"].as_array().into_iter().flatten() {
        let label = assertion["label"].as_str().unwrap_or_default();
        if !(label == "c2pa.actions" || label.starts_with("c2pa.actions.")) {
            continue;
        }
        let agents = &assertion["data"]["softwareAgents"];
        for a in assertion["data"]["actions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let agent = match &a["softwareAgent"] {
                Value::String(s) => Some(s.clone()),
                Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_string),
                _ => a["softwareAgentIndex"]
                    .as_u64()
                    .and_then(|i| agents[i as usize]["name"].as_str())
                    .map(str::to_string),
            };
            // Older Adobe manifests (Firefly, Photoshop generative fill) give the source type
            // only in the action's parameters, as `com.adobe.digitalSourceType`.
            let source_type = a["digitalSourceType"]
                .as_str()
                .or_else(|| a["parameters"]["com.adobe.digitalSourceType"].as_str());
            out.push(Action {
                action: a["action"].as_str().unwrap_or_default().to_string(),
                digital_source_type: source_type.map(str::to_string),
                software_agent: agent,
            });
        }
    }
    out
}

fn ingredients(
    manifest: &Value,
    manifests: &Value,
    seen: &mut HashSet<String>,
    depth: usize,
) -> Vec<Ingredient> {
    let mut out = Vec::new();
    for i in manifest["ingredients"].as_array().into_iter().flatten() {
        let mut ingredient = Ingredient {
            title: i["title"].as_str().unwrap_or("(untitled)").to_string(),
            relationship: i["relationship"].as_str().map(str::to_string),
            actions: vec![],
            ingredients: vec![],
        };
        if let Some(label) = i["active_manifest"].as_str()
            && depth < MAX_INGREDIENT_DEPTH
            && seen.insert(label.to_string())
        {
            let m = &manifests[label];
            ingredient.actions = actions(m);
            ingredient.ingredients = ingredients(m, manifests, seen, depth + 1);
        }
        out.push(ingredient);
    }
    out
}
