//! Packs as records: the packs a studio uploads (immutable, named `id@version`, identified by
//! the SHA-256 of their text), the built-in packs every studio sees, the resolution of a
//! production's pack names to compiled packs, and the replay of a stored triage with exactly
//! the pack texts it used.
//!
//! A pack's text is stored once per studio, id and version. A built-in pack's text is stored
//! the first time a writable store opens with it, so a later binary with a newer built-in
//! still finds the old text by its digest. Compiled packs are kept in memory by digest: two
//! texts with one digest are the same pack, whichever database they came from.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, NaiveDate, Utc};
use greenlight_core::CheckResult;
use greenlight_core::pack::{LoadOptions, Pack, PackError, digest, parse_name};
use greenlight_core::packtest::{self, TestError};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row as _};
use utoipa::ToSchema;

use super::{get_os, get_s, today};
use crate::db::{parse_json, parse_ts, to_json, ts};
use crate::error::FieldProblem;
use crate::model::{DeclarationId, OrgId, OrgKind, Principal, Role, UserId};
use crate::{Result, Store, StoreError};

/// Largest pack file the server takes, in bytes.
pub const MAX_PACK_BYTES: usize = 1024 * 1024;

/// `studio_id` of the built-in packs' rows.
const BUILTIN: &str = "";

/// A stored pack: a studio's upload or a built-in version this database has run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PackRecord {
    pub id: String,
    pub version: String,
    /// SHA-256 of the pack's text, lowercase hex.
    pub digest: String,
    /// The pack's `title`, when it has one.
    pub title: String,
    /// A built-in pack (read-only, every studio's); otherwise the studio that uploaded it.
    pub builtin: bool,
    #[schema(value_type = Option<String>)]
    pub studio_id: Option<OrgId>,
    /// Who uploaded it (none for a built-in).
    #[schema(value_type = Option<String>)]
    pub uploaded_by: Option<UserId>,
    /// Their name, as people read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_by_name: Option<String>,
    /// When it was uploaded, or when this database first ran the built-in version.
    pub created_at: DateTime<Utc>,
    /// The pack's own tests, as they ran when it was stored.
    pub tests: Vec<PackTestOutcome>,
}

impl PackRecord {
    /// `id@version`.
    pub fn name(&self) -> String {
        format!("{}@{}", self.id, self.version)
    }
}

/// One of a pack's own tests, as it ran when the pack was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PackTestOutcome {
    pub name: String,
    pub line: u64,
    pub passed: bool,
}

/// What a triage was evaluated with: the date and every pack by name and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TriageBasis {
    #[schema(value_type = String)]
    pub as_of: NaiveDate,
    pub packs: Vec<UsedPack>,
}

/// A pack a triage used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UsedPack {
    /// `id@version`.
    pub name: String,
    pub digest: String,
}

impl TriageBasis {
    pub(crate) fn of(packs: &[Arc<Pack>], as_of: NaiveDate) -> TriageBasis {
        TriageBasis {
            as_of,
            packs: packs
                .iter()
                .map(|p| UsedPack {
                    name: p.name(),
                    digest: p.digest().to_owned(),
                })
                .collect(),
        }
    }

    /// As the `triages.basis` column keeps it.
    pub(crate) fn to_column(&self) -> String {
        to_json(self)
    }
}

/// A stored triage evaluated again with the pack texts and the date it recorded.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Replay {
    #[schema(value_type = String)]
    pub declaration_id: DeclarationId,
    pub revision: i64,
    /// The triage's number within the revision.
    pub seq: i64,
    pub basis: TriageBasis,
    /// The replayed result equals the stored one.
    pub same: bool,
    #[schema(value_type = Object)]
    pub stored: CheckResult,
    #[schema(value_type = Object)]
    pub replayed: CheckResult,
}

/// Compiled packs by digest, shared by every store in the process.
fn compiled() -> &'static Mutex<HashMap<String, Arc<Pack>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Pack>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The pack `text` (stored under `digest`), compiled once per process.
fn compile(digest: &str, text: &str) -> std::result::Result<Arc<Pack>, PackError> {
    if let Some(p) = compiled()
        .lock()
        .expect("the pack cache lock is never held across a panic")
        .get(digest)
    {
        return Ok(Arc::clone(p));
    }
    let pack = Arc::new(Pack::from_yaml_with(
        text,
        LoadOptions {
            inline_tests_only: true,
        },
    )?);
    compiled()
        .lock()
        .expect("the pack cache lock is never held across a panic")
        .insert(digest.to_owned(), Arc::clone(&pack));
    Ok(pack)
}

/// Stores the text of each built-in pack of this binary, once (nothing when it is there).
pub(crate) async fn store_builtins(conn: &mut AnyConnection) -> Result<()> {
    let now = ts(Utc::now());
    for id in Pack::builtin_ids() {
        let (Some(pack), Some(text)) = (Pack::builtin(id), Pack::builtin_source(id)) else {
            continue;
        };
        let tests = builtin_tests(&pack);
        sqlx::query(
            "INSERT INTO packs (studio_id, pack_id, version, digest, title, body, tests, uploaded_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8) ON CONFLICT (studio_id, pack_id, version) DO NOTHING",
        )
        .bind(BUILTIN)
        .bind(pack.id().to_owned())
        .bind(pack.version().to_owned())
        .bind(pack.digest().to_owned())
        .bind(pack.file().title.clone())
        .bind(text.to_owned())
        .bind(to_json(&tests))
        .bind(now.clone())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn builtin_tests(pack: &Pack) -> Vec<PackTestOutcome> {
    // The built-in packs' tests carry their declarations inline or beside the pack in the
    // source tree; here only the inline ones can run, and the build's own tests run them all.
    packtest::run(pack, &BTreeMap::new(), today())
        .map(|results| {
            results
                .into_iter()
                .map(|r| PackTestOutcome {
                    passed: r.passed(),
                    name: r.name,
                    line: r.line,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Resolves the pack names a production of `studio` enables, in order.
///
/// A bare id is the built-in pack of that id. `id@version` is, for a built-in id, that
/// built-in at that version (this binary's, or one an earlier binary stored), and otherwise the
/// studio's own pack of that id and version. Errors name the pack.
pub(crate) async fn resolve_packs(
    conn: &mut AnyConnection,
    studio: &OrgId,
    names: &[String],
) -> Result<Vec<Arc<Pack>>> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        out.push(resolve_one(conn, studio, name).await.map_err(|message| {
            StoreError::Evaluation {
                pack: name.clone(),
                message,
            }
        })?);
    }
    Ok(out)
}

async fn resolve_one(
    conn: &mut AnyConnection,
    studio: &OrgId,
    name: &str,
) -> std::result::Result<Arc<Pack>, String> {
    let (id, version) = match parse_name(name) {
        Some((id, version)) => (id, Some(version)),
        None => (name.trim(), None),
    };
    let builtin = Pack::builtin(id);
    match (builtin, version) {
        (Some(pack), None) => Ok(pack),
        (Some(pack), Some(v)) if v == pack.version() => Ok(pack),
        (Some(pack), Some(v)) => stored(conn, BUILTIN, id, v).await?.ok_or_else(|| {
            format!(
                "{name:?}: the built-in {id} is version {} here and version {v} was never run on this database (known: {id}@{})",
                pack.version(),
                pack.version()
            )
        }),
        (None, None) => Err(format!(
            "{name:?} is not a built-in pack ({}); name a studio pack with its version, as {name}@VERSION",
            Pack::builtin_ids().join(", ")
        )),
        (None, Some(v)) => stored(conn, &studio.0, id, v).await?.ok_or_else(|| {
            format!(
                "{name:?} is neither a built-in pack ({}) nor a pack this studio uploaded",
                Pack::builtin_ids().join(", ")
            )
        }),
    }
}

/// The stored pack `id@version` of `studio` (`""`: the built-ins), compiled.
async fn stored(
    conn: &mut AnyConnection,
    studio: &str,
    id: &str,
    version: &str,
) -> std::result::Result<Option<Arc<Pack>>, String> {
    let row = sqlx::query(
        "SELECT digest, body FROM packs WHERE studio_id = $1 AND pack_id = $2 AND version = $3",
    )
    .bind(studio.to_owned())
    .bind(id.to_owned())
    .bind(version.to_owned())
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| format!("reading the pack: {e}"))?;
    let Some(row) = row else { return Ok(None) };
    let (d, body) = (
        get_s(&row, "digest").map_err(|e| e.to_string())?,
        get_s(&row, "body").map_err(|e| e.to_string())?,
    );
    compile(&d, &body)
        .map(Some)
        .map_err(|e| format!("the stored pack no longer loads: {e}"))
}

/// The pack stored with `digest` (any studio's: the digest came from a record the caller may
/// read), compiled.
async fn by_digest(conn: &mut AnyConnection, d: &str) -> Result<Option<Arc<Pack>>> {
    let row = sqlx::query("SELECT body FROM packs WHERE digest = $1 LIMIT 1")
        .bind(d.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let body = get_s(&row, "body")?;
    compile(d, &body)
        .map(Some)
        .map_err(|e| StoreError::Evaluation {
            pack: d.to_owned(),
            message: format!("the stored pack no longer loads: {e}"),
        })
}

/// Checks a production's pack list (none twice, at least one, each resolvable for the
/// studio) and resolves it; errors name `packs[i]`.
pub(crate) async fn check_packs(
    conn: &mut AnyConnection,
    studio: &OrgId,
    packs: &[String],
) -> Result<Vec<Arc<Pack>>> {
    if packs.is_empty() {
        return Err(StoreError::invalid("packs", "enable at least one pack"));
    }
    let mut out = Vec::with_capacity(packs.len());
    for (i, name) in packs.iter().enumerate() {
        if packs[..i].contains(name) {
            return Err(StoreError::invalid(
                &format!("packs[{i}]"),
                format!("{name:?} is listed twice"),
            ));
        }
        let pack = resolve_one(conn, studio, name)
            .await
            .map_err(|why| StoreError::invalid(&format!("packs[{i}]"), why))?;
        if let Some(j) = out.iter().position(|p: &Arc<Pack>| p.id() == pack.id()) {
            return Err(StoreError::invalid(
                &format!("packs[{i}]"),
                format!(
                    "{name:?} is another version of {:?}; enable one version of a pack",
                    packs[j]
                ),
            ));
        }
        out.push(pack);
    }
    Ok(out)
}

/// Pack names with the first 12 hex digits of each one's digest (`netflix-genai@2025.08
/// sha256:1a2b3c4d5e6f`), as history and the audit log name an adopted set.
pub(crate) fn names_with_digests(packs: &[Arc<Pack>]) -> String {
    packs
        .iter()
        .map(|p| {
            format!(
                "{} sha256:{}",
                p.name(),
                &p.digest()[..12.min(p.digest().len())]
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn record_from_row(row: &sqlx::any::AnyRow) -> Result<PackRecord> {
    let studio = get_s(row, "studio_id")?;
    Ok(PackRecord {
        id: get_s(row, "pack_id")?,
        version: get_s(row, "version")?,
        digest: get_s(row, "digest")?,
        title: get_s(row, "title")?,
        builtin: studio.is_empty(),
        studio_id: (!studio.is_empty()).then_some(OrgId(studio)),
        uploaded_by: get_os(row, "uploaded_by")?.map(UserId),
        uploaded_by_name: row
            .try_get::<Option<String>, _>("uploader_name")
            .ok()
            .flatten(),
        created_at: parse_ts(&get_s(row, "created_at")?)?,
        tests: parse_json(&get_s(row, "tests")?)?,
    })
}

const RECORD_COLUMNS: &str =
    "studio_id, pack_id, version, digest, title, tests, uploaded_by, created_at";

/// The record already stored under an uploaded pack's name: itself when the text is the
/// same, else a conflict (packs are immutable).
fn existing_or_conflict(record: PackRecord, digest: &str) -> Result<(PackRecord, bool)> {
    if record.digest == digest {
        return Ok((record, false));
    }
    Err(StoreError::conflict(format!(
        "{} is already stored with other text (sha256:{}); packs are immutable: give the change a new version",
        record.name(),
        &record.digest[..12.min(record.digest.len())]
    )))
}

/// Whether `actor` may upload packs for `studio` and adopt them.
fn may_manage(actor: &Principal, studio: &OrgId) -> bool {
    actor.has_role(studio, Role::Legal) || actor.has_role(studio, Role::Admin)
}

/// A pack file's problem as a field problem: the test or rule it names, and its line.
fn pack_problem(e: &PackError) -> FieldProblem {
    let (path, line) = match e {
        PackError::Item {
            place, id, line, ..
        } => (Some(format!("{}/{id}", place.replace(' ', "_"))), *line),
        PackError::Test { test, line, .. } => (Some(format!("tests/{test}")), Some(*line)),
        _ => (None, None),
    };
    FieldProblem {
        path,
        line: line.and_then(|l| usize::try_from(l).ok()),
        column: None,
        message: e.to_string(),
    }
}

impl Store {
    /// A studio's legal or admin uploads a pack file: it must load as `check --policy` loads
    /// one, carry its tests' declarations inline, and pass its own tests. Stored immutable
    /// under `id@version`; the same text again is the record already there (`false`), other
    /// text under the same name is a conflict. Built-in ids are reserved.
    pub async fn upload_pack(
        &self,
        actor: &Principal,
        studio: Option<&OrgId>,
        text: &str,
    ) -> Result<(PackRecord, bool)> {
        let studio = super::named_studio(actor, studio, "packs")?;
        if !may_manage(actor, &studio) {
            return Err(StoreError::Forbidden(
                "only legal or an admin of the studio uploads packs".into(),
            ));
        }
        if text.len() > MAX_PACK_BYTES {
            return Err(StoreError::TooLarge {
                summary: format!(
                    "the pack is {} bytes; at most {MAX_PACK_BYTES} are taken",
                    text.len()
                ),
                limit: MAX_PACK_BYTES,
                problems: vec![],
            });
        }
        let pack = Pack::from_yaml_with(
            text,
            LoadOptions {
                inline_tests_only: true,
            },
        )
        .map_err(|e| StoreError::Invalid {
            summary: format!("the pack does not load: {e}"),
            problems: vec![pack_problem(&e)],
        })?;
        if Pack::builtin(pack.id()).is_some() {
            return Err(StoreError::invalid(
                "pack",
                format!(
                    "{:?} is a built-in pack's id ({}); a studio pack takes another id",
                    pack.id(),
                    Pack::builtin_ids().join(", ")
                ),
            ));
        }
        // The name is checked before the tests run: other text under a stored name is a
        // conflict whatever its tests say.
        if let Some(row) = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RECORD_COLUMNS} FROM packs WHERE studio_id = $1 AND pack_id = $2 AND version = $3"
        )))
        .bind(studio.0.clone())
        .bind(pack.id().to_owned())
        .bind(pack.version().to_owned())
        .fetch_optional(self.pool())
        .await?
        {
            return existing_or_conflict(record_from_row(&row)?, &digest(text));
        }
        let results = packtest::run(&pack, &BTreeMap::new(), today()).map_err(|e| {
            let (test, line) = match &e {
                TestError::Declaration { test, line, .. }
                | TestError::Evaluation { test, line, .. } => (test.clone(), *line),
            };
            StoreError::Invalid {
                summary: format!("the pack's tests do not run: {e}"),
                problems: vec![FieldProblem {
                    path: Some(format!("tests/{test}")),
                    line: usize::try_from(line).ok(),
                    column: None,
                    message: e.to_string(),
                }],
            }
        })?;
        let failing: Vec<FieldProblem> = results
            .iter()
            .filter(|r| !r.passed())
            .map(|r| FieldProblem {
                path: Some(format!("tests/{}", r.name)),
                line: usize::try_from(r.line).ok(),
                column: None,
                message: format!(
                    "test `{}` fails: {}",
                    r.name,
                    r.differences
                        .iter()
                        .map(|d| format!("{} expected {} but is {}", d.field, d.expected, d.actual))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            })
            .collect();
        if !failing.is_empty() {
            return Err(StoreError::Invalid {
                summary: format!(
                    "{} of the pack's {} tests fail; a pack is stored only when its own tests pass",
                    failing.len(),
                    results.len()
                ),
                problems: failing,
            });
        }
        let tests: Vec<PackTestOutcome> = results
            .into_iter()
            .map(|r| PackTestOutcome {
                passed: r.passed(),
                name: r.name,
                line: r.line,
            })
            .collect();
        let (text, actor_id) = (text.to_owned(), actor.user.id.clone());
        let title = pack.file().title.clone();
        let (id, version, d) = (
            pack.id().to_owned(),
            pack.version().to_owned(),
            digest(&text),
        );
        self.write(move |w| {
            Box::pin(async move {
                let existing = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {RECORD_COLUMNS} FROM packs WHERE studio_id = $1 AND pack_id = $2 AND version = $3"
                )))
                .bind(studio.0.clone())
                .bind(id.clone())
                .bind(version.clone())
                .fetch_optional(&mut w.conn)
                .await?;
                if let Some(row) = existing {
                    return existing_or_conflict(record_from_row(&row)?, &d);
                }
                sqlx::query(
                    "INSERT INTO packs (studio_id, pack_id, version, digest, title, body, tests, uploaded_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(studio.0.clone())
                .bind(id.clone())
                .bind(version.clone())
                .bind(d.clone())
                .bind(title.clone())
                .bind(text)
                .bind(to_json(&tests))
                .bind(actor_id.0.clone())
                .bind(ts(w.now))
                .execute(&mut w.conn)
                .await?;
                w.audit(
                    Some(&actor_id.0),
                    Some(&studio.0),
                    "pack.upload",
                    "pack",
                    &format!("{id}@{version}"),
                    None,
                    Some(d.clone()),
                );
                Ok((
                    PackRecord {
                        id,
                        version,
                        digest: d,
                        title,
                        builtin: false,
                        studio_id: Some(studio),
                        uploaded_by: Some(actor_id),
                        uploaded_by_name: None,
                        created_at: w.now,
                        tests,
                    },
                    true,
                ))
            })
        })
        .await
    }

    /// The packs `actor` may read: the built-ins, every pack of the studios where they hold a
    /// role other than partner (only `studio` when given), and, as a partner, the packs the
    /// productions they work on enable. Sorted by id, then newest first.
    pub async fn packs(
        &self,
        actor: &Principal,
        studio: Option<&OrgId>,
    ) -> Result<Vec<PackRecord>> {
        actor.studio_wide("list the studio's packs")?;
        let scope = studio
            .map(|s| super::named_studio(actor, Some(s), "packs"))
            .transpose()?;
        let full: Vec<OrgId> = actor
            .memberships
            .iter()
            .filter(|m| m.org_kind == OrgKind::Studio && m.role != Role::Partner)
            .map(|m| m.org_id.clone())
            .filter(|o| scope.as_ref().is_none_or(|s| s == o))
            .collect();
        let used = self.packs_used_as_partner(actor, &full).await?;
        let mut conn = self.pool().acquire().await?;
        let rows = sqlx::query(
            "SELECT p.studio_id, p.pack_id, p.version, p.digest, p.title, p.tests, p.uploaded_by, p.created_at, \
             u.name AS uploader_name FROM packs p LEFT JOIN users u ON u.id = p.uploaded_by \
             ORDER BY p.pack_id, p.created_at DESC, p.version DESC",
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let record = record_from_row(r)?;
            let visible = match &record.studio_id {
                None => true,
                Some(s) => {
                    scope.as_ref().is_none_or(|x| x == s)
                        && (full.contains(s)
                            || used.iter().any(|(st, n)| st == s && *n == record.name()))
                }
            };
            if visible {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// `(studio, pack name)` of every studio pack enabled by a production the caller sees
    /// without a full studio role (`full`): the packs a partner may read.
    async fn packs_used_as_partner(
        &self,
        actor: &Principal,
        full: &[OrgId],
    ) -> Result<Vec<(OrgId, String)>> {
        let mut out = Vec::new();
        for p in self.productions(actor).await? {
            if full.contains(&p.studio_id) {
                continue;
            }
            for n in &p.packs {
                if parse_name(n).is_some_and(|(id, _)| Pack::builtin(id).is_none()) {
                    out.push((p.studio_id.clone(), n.clone()));
                }
            }
        }
        Ok(out)
    }

    /// One pack record and its text, when `actor` may read it (see [`Store::packs`]).
    pub async fn pack(
        &self,
        actor: &Principal,
        id: &str,
        version: &str,
        studio: Option<&OrgId>,
    ) -> Result<(PackRecord, String)> {
        let not_found = || StoreError::NotFound(format!("pack {id}@{version}"));
        let visible = self.packs(actor, studio).await?;
        let record = visible
            .into_iter()
            .find(|r| r.id == id && r.version == version)
            .ok_or_else(not_found)?;
        let studio_key = record
            .studio_id
            .as_ref()
            .map(|s| s.0.clone())
            .unwrap_or_default();
        let row = sqlx::query(
            "SELECT body FROM packs WHERE studio_id = $1 AND pack_id = $2 AND version = $3",
        )
        .bind(studio_key)
        .bind(id.to_owned())
        .bind(version.to_owned())
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(not_found)?;
        Ok((record, get_s(&row, "body")?))
    }

    /// Evaluates a declaration's stored triage (the latest of its current revision, or
    /// number `seq`) again with the pack texts and the date it recorded, and says whether the
    /// result is the same. For anyone who may read the declaration.
    pub async fn replay_triage(
        &self,
        actor: &Principal,
        id: &DeclarationId,
        seq: Option<i64>,
    ) -> Result<Replay> {
        let summary = self.declaration(actor, id).await?.summary;
        let revision = summary.revision;
        let mut conn = self.pool().acquire().await?;
        let row = sqlx::query(
            "SELECT seq, effective, result, basis FROM triages WHERE declaration_id = $1 AND revision = $2 \
             AND ($3 < 0 OR seq = $4) ORDER BY seq DESC LIMIT 1",
        )
        .bind(summary.id.0.clone())
        .bind(revision)
        .bind(seq.unwrap_or(-1))
        .bind(seq.unwrap_or(-1))
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "triage {} of declaration {id}",
                seq.map(|s| s.to_string()).unwrap_or_else(|| "latest".into())
            ))
        })?;
        let basis_text = get_s(&row, "basis")?;
        if basis_text.is_empty() {
            return Err(StoreError::conflict(
                "this triage was stored before triages recorded their packs' digests; it cannot be replayed exactly",
            ));
        }
        let basis: TriageBasis = parse_json(&basis_text)?;
        let mut packs = Vec::with_capacity(basis.packs.len());
        for used in &basis.packs {
            let pack = by_digest(&mut conn, &used.digest).await?.ok_or_else(|| {
                StoreError::Evaluation {
                    pack: used.name.clone(),
                    message: format!("no pack text with digest {} is stored", used.digest),
                }
            })?;
            packs.push(pack);
        }
        let declaration: greenlight_core::declaration::Declaration =
            parse_json(&get_s(&row, "effective")?)?;
        let stored: CheckResult = parse_json(&get_s(&row, "result")?)?;
        let replayed =
            greenlight_core::evaluate(&declaration, &packs, basis.as_of).map_err(|e| {
                StoreError::Evaluation {
                    pack: basis
                        .packs
                        .iter()
                        .map(|p| p.name.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                    message: e.to_string(),
                }
            })?;
        Ok(Replay {
            declaration_id: summary.id,
            revision,
            seq: super::get_i(&row, "seq")?,
            same: replayed == stored,
            basis,
            stored,
            replayed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_triage_basis_names_each_pack_with_its_digest() {
        let pack = Pack::builtin("netflix-genai").expect("built in");
        let date = NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
        let basis = TriageBasis::of(&[Arc::clone(&pack)], date);
        assert_eq!(basis.packs[0].name, pack.name());
        assert_eq!(basis.packs[0].digest, pack.digest());
        let back: TriageBasis = parse_json(&basis.to_column()).expect("round trip");
        assert_eq!(back, basis);
    }

    #[test]
    fn a_pack_problem_names_the_rule_and_its_line() {
        let e = PackError::Item {
            pack: "p".into(),
            place: "rule",
            id: "R-1".into(),
            line: Some(7),
            field: "when",
            message: "bad".into(),
        };
        let p = pack_problem(&e);
        assert_eq!(p.path.as_deref(), Some("rule/R-1"));
        assert_eq!(p.line, Some(7));
    }
}
