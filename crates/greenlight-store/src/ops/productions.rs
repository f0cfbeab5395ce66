//! Productions: facts of record, enabled packs, linked organisations.

use greenlight_core::declaration::Agreement;

use super::pack_records::{check_packs, names_with_digests, resolve_packs};
use super::record_state::production_state;
use super::records::load_production;
use super::triage::{Linked, retriage_linked};
use super::{get_s, required};
use crate::audit::{digest, new_salt};
use crate::db::{to_json, ts};
use crate::input::{NewProduction, ProductionUpdate};
use crate::model::{
    Contacts, OrgId, OrgKind, Principal, Production, ProductionFacts, ProductionId, Role,
};
use crate::writer::WriteCtx;
use crate::{Result, Store, StoreError};

/// Packs a new production enables when none are given.
/// `sag-aftra-2023` answers `SAG-NOT-APPLICABLE` until the production records the agreement,
/// so enabling it costs a production without one nothing. Existing productions keep the
/// packs they were created with.
pub const DEFAULT_PACKS: &[&str] = &["netflix-genai", "eu-ai-act-art50", "sag-aftra-2023"];

const KINDS: &[&str] = &["scripted", "documentary", "unscripted", "animation"];

fn check_facts(facts: &ProductionFacts) -> Result<()> {
    required("title", &facts.title)?;
    if !KINDS.contains(&facts.kind.as_str()) {
        return Err(StoreError::invalid(
            "kind",
            format!("{:?} is not one of {}", facts.kind, KINDS.join(", ")),
        ));
    }
    for (i, a) in facts.agreements.iter().enumerate() {
        if Agreement::parse(a).is_none() {
            return Err(StoreError::invalid(
                &format!("agreements[{i}]"),
                format!("{a:?} is not one of {}", Agreement::ALLOWED.join(", ")),
            ));
        }
        if facts.agreements[..i].contains(a) {
            return Err(StoreError::invalid(
                &format!("agreements[{i}]"),
                format!("{a:?} is listed twice"),
            ));
        }
    }
    Ok(())
}

/// What the caller may do on a production.
pub(crate) struct Access {
    /// Member of the owning studio (sees every declaration, per role).
    pub studio: bool,
    /// Linked organisations the caller belongs to (they see their own organisation's declarations).
    pub orgs: Vec<OrgId>,
}

impl Access {
    pub fn of(actor: &Principal, p: &Production) -> Option<Access> {
        // A token restricted to one production sees no other: every read and write of a
        // production, its declarations, ledger and reports passes here.
        if !actor.reaches(&p.id) {
            return None;
        }
        let studio = actor.is_member(&p.studio_id);
        let orgs: Vec<OrgId> = p
            .linked_orgs
            .iter()
            .filter(|o| actor.is_member(o))
            .cloned()
            .collect();
        (studio || !orgs.is_empty()).then_some(Access { studio, orgs })
    }

    /// May the caller see a declaration submitted by `org`?
    pub fn sees_org(&self, org: &OrgId) -> bool {
        self.studio || self.orgs.contains(org)
    }
}

impl Store {
    /// A studio admin creates a production (default packs: [`DEFAULT_PACKS`]).
    pub async fn create_production(
        &self,
        actor: &Principal,
        studio: &OrgId,
        new: NewProduction,
    ) -> Result<Production> {
        actor.studio_wide("create productions")?;
        if !actor.has_role(studio, Role::Admin) {
            return Err(StoreError::Forbidden(
                "only an admin of the studio creates productions".into(),
            ));
        }
        check_facts(&new.facts)?;
        let mut conn = self.pool().acquire().await?;
        let packs = match new.packs {
            Some(packs) => packs,
            None => studio_default_packs(&mut conn, studio).await?,
        };
        check_packs(&mut conn, studio, &packs).await?;
        drop(conn);
        let (studio, actor_id) = (studio.clone(), actor.user.id.0.clone());
        self.write(move |w| {
            Box::pin(async move {
                let kind = sqlx::query("SELECT kind FROM orgs WHERE id = $1").bind(studio.0.clone()).fetch_one(&mut w.conn).await?;
                if get_s(&kind, "kind")? != OrgKind::Studio.as_str() {
                    return Err(StoreError::invalid("studio_id", "is not a studio"));
                }
                let p = Production {
                    id: ProductionId::new(),
                    studio_id: studio.clone(),
                    facts: ProductionFacts { title: new.facts.title.trim().to_owned(), ..new.facts },
                    packs,
                    linked_orgs: vec![],
                    contacts: Default::default(),
                    created_at: w.now,
                    version: 1,
                };
                let salt = new_salt();
                sqlx::query(
                    "INSERT INTO productions (id, studio_id, title, kind, eu_release, release_date, packs, salt, version, created_at, agreements) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(p.id.0.clone())
                .bind(studio.0.clone())
                .bind(p.facts.title.clone())
                .bind(p.facts.kind.clone())
                .bind(p.facts.eu_release as i64)
                .bind(p.facts.release_date.map(|d| d.to_string()))
                .bind(to_json(&p.packs))
                .bind(salt.clone())
                .bind(1i64)
                .bind(ts(w.now))
                .bind(to_json(&p.facts.agreements))
                .execute(&mut w.conn)
                .await?;
                w.audit(Some(&actor_id), Some(&studio.0), "production.create", "production", &p.id.0, None, Some(digest(&salt, &production_state(&p))));
                Ok(p)
            })
        })
        .await
    }

    /// A production the caller may see.
    pub async fn production(&self, actor: &Principal, id: &ProductionId) -> Result<Production> {
        let mut conn = self.pool().acquire().await?;
        let (p, _) = load_production(&mut conn, id).await?;
        match Access::of(actor, &p) {
            Some(_) => Ok(p),
            None => Err(StoreError::NotFound(format!("production {id}"))),
        }
    }

    /// Every production the caller may see, by title.
    pub async fn productions(&self, actor: &Principal) -> Result<Vec<Production>> {
        let mut ids: Vec<String> = Vec::new();
        for m in &actor.memberships {
            let rows = sqlx::query(
                "SELECT id FROM productions WHERE studio_id = $1 UNION SELECT production_id AS id FROM production_orgs WHERE org_id = $1",
            )
            .bind(m.org_id.0.clone())
            .fetch_all(self.pool())
            .await?;
            for r in &rows {
                let id = get_s(r, "id")?;
                if !actor.reaches(&ProductionId(id.clone())) {
                    continue;
                }
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        let mut out = Vec::with_capacity(ids.len());
        let mut conn = self.pool().acquire().await?;
        for id in ids {
            out.push(load_production(&mut conn, &ProductionId(id)).await?.0);
        }
        out.sort_by(|a, b| a.facts.title.cmp(&b.facts.title));
        Ok(out)
    }

    /// A studio admin changes facts or packs; every live declaration of the production is
    /// triaged again.
    pub async fn update_production(
        &self,
        actor: &Principal,
        id: &ProductionId,
        update: ProductionUpdate,
    ) -> Result<Production> {
        Ok(self.update_production_answering(actor, id, update).await?.0)
    }

    /// As [`Store::update_production`]; when the packs change, also the change list a
    /// preview of the new packs gives (and adoption answers): the same path as adoption.
    pub async fn update_production_answering(
        &self,
        actor: &Principal,
        id: &ProductionId,
        update: ProductionUpdate,
    ) -> Result<(Production, Option<crate::PackPreview>)> {
        let current = self.production(actor, id).await?;
        if !actor.has_role(&current.studio_id, Role::Admin) {
            return Err(StoreError::Forbidden(
                "only an admin of the studio changes a production".into(),
            ));
        }
        let mut facts = current.facts.clone();
        if let Some(t) = update.title {
            facts.title = t.trim().to_owned();
        }
        if let Some(k) = update.kind {
            facts.kind = k;
        }
        if let Some(e) = update.eu_release {
            facts.eu_release = e;
        }
        if let Some(d) = update.release_date {
            facts.release_date = d;
        }
        if let Some(a) = update.agreements {
            facts.agreements = a;
        }
        check_facts(&facts)?;
        let packs = update.packs.unwrap_or_else(|| current.packs.clone());
        check_packs(
            &mut *self.pool().acquire().await?,
            &current.studio_id,
            &packs,
        )
        .await?;
        let changes = if packs != current.packs {
            Some(self.pack_changes(&current, &packs).await?)
        } else {
            None
        };
        let contacts = match update.contacts {
            Some(c) => self.checked_contacts(&current.studio_id, c).await?,
            None => current.contacts.clone(),
        };
        let (id, actor_id) = (id.clone(), actor.user.id.0.clone());
        let production = self
            .write(move |w| {
                Box::pin(write_production(
                    w,
                    id,
                    actor_id,
                    ProductionRecord {
                        facts,
                        packs,
                        contacts,
                    },
                    None,
                ))
            })
            .await?;
        Ok((production, changes))
    }

    /// The people among a production's studio contacts, as `(name or email, email)`, for those
    /// who may see the production.
    pub async fn contact_people(
        &self,
        actor: &Principal,
        production: &ProductionId,
    ) -> Result<Vec<(String, String)>> {
        let p = self.production(actor, production).await?;
        let mut out = Vec::with_capacity(p.contacts.people.len());
        for id in &p.contacts.people {
            if let Some(r) = sqlx::query("SELECT name, email FROM users WHERE id = $1")
                .bind(id.0.clone())
                .fetch_optional(self.pool())
                .await?
            {
                let (name, email) = (get_s(&r, "name")?, get_s(&r, "email")?);
                out.push((if name.is_empty() { email.clone() } else { name }, email));
            }
        }
        Ok(out)
    }

    /// Contacts as given, checked: each person a member of the studio, at most 20, the group
    /// an email address.
    async fn checked_contacts(&self, studio: &OrgId, mut c: Contacts) -> Result<Contacts> {
        if c.people.len() > 20 {
            return Err(StoreError::invalid(
                "contacts.people",
                "at most 20 people are a production's contacts",
            ));
        }
        let mut seen = Vec::new();
        for (i, person) in c.people.iter().enumerate() {
            let member =
                sqlx::query("SELECT 1 AS one FROM memberships WHERE user_id = $1 AND org_id = $2")
                    .bind(person.0.clone())
                    .bind(studio.0.clone())
                    .fetch_optional(self.pool())
                    .await?;
            if member.is_none() {
                return Err(StoreError::invalid(
                    &format!("contacts.people[{i}]"),
                    "is not a person of the production's studio",
                ));
            }
            if seen.contains(person) {
                return Err(StoreError::invalid(
                    &format!("contacts.people[{i}]"),
                    "is listed twice",
                ));
            }
            seen.push(person.clone());
        }
        c.group = match c.group.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(g) if is_address(g) => Some(g.to_owned()),
            Some(g) => {
                return Err(StoreError::invalid(
                    "contacts.group",
                    format!("{g:?} is not an email address"),
                ));
            }
        };
        Ok(c)
    }

    /// A studio admin links a production company or vendor (one the studio created) to a production.
    pub async fn link_org(
        &self,
        actor: &Principal,
        production: &ProductionId,
        org: &OrgId,
    ) -> Result<Production> {
        let p = self.production(actor, production).await?;
        if !actor.has_role(&p.studio_id, Role::Admin) {
            return Err(StoreError::Forbidden(
                "only an admin of the studio links organisations".into(),
            ));
        }
        let target = self
            .org(actor, org)
            .await
            .map_err(|_| StoreError::invalid("org_id", "no such organisation"))?;
        if target.kind == OrgKind::Studio {
            return Err(StoreError::invalid(
                "org_id",
                "a studio cannot be linked to another studio's production",
            ));
        }
        let (production, org, actor_id) =
            (production.clone(), org.clone(), actor.user.id.0.clone());
        self.write(move |w| {
            Box::pin(async move {
                let (before, salt) = load_production(&mut w.conn, &production).await?;
                sqlx::query("INSERT INTO production_orgs (production_id, org_id) VALUES ($1, $2) ON CONFLICT (production_id, org_id) DO NOTHING")
                    .bind(production.0.clone())
                    .bind(org.0.clone())
                    .execute(&mut w.conn)
                    .await?;
                let (after, _) = load_production(&mut w.conn, &production).await?;
                w.audit(
                    Some(&actor_id),
                    Some(&after.studio_id.0),
                    "production.link",
                    "production",
                    &production.0,
                    Some(digest(&salt, &production_state(&before))),
                    Some(digest(&salt, &production_state(&after))),
                );
                Ok(after)
            })
        })
        .await
    }
}

/// What a production's record holds besides its identity.
pub(crate) struct ProductionRecord {
    pub facts: ProductionFacts,
    pub packs: Vec<String>,
    pub contacts: Contacts,
}

/// An email address as a person types one: one `@`, something on each side, no spaces, at
/// most 254 characters. (Delivery is the final check; this catches typing mistakes.)
pub(crate) fn is_address(s: &str) -> bool {
    s.len() <= 254
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        && matches!(s.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.contains('@') && !domain.starts_with('.') && !domain.ends_with('.'))
}

/// A production's new facts, packs and contacts, written and audited, and every declaration
/// of the production triaged again when the facts or packs changed. `expected_version`:
/// refuse (412) unless the production is still at that version (the caller's `If-Match`).
pub(crate) async fn write_production(
    w: &mut WriteCtx,
    id: ProductionId,
    actor_id: String,
    record: ProductionRecord,
    expected_version: Option<i64>,
) -> Result<Production> {
    let ProductionRecord {
        facts,
        packs,
        contacts,
    } = record;
    let (before, salt) = load_production(&mut w.conn, &id).await?;
    if let Some(v) = expected_version
        && v != before.version
    {
        return Err(StoreError::Stale {
            record: "production",
            given: production_etag_of(v),
            current: production_etag_of(before.version),
        });
    }
    let facts_changed = before.facts != facts;
    let packs_changed = before.packs != packs;
    let contacts_changed = before.contacts != contacts;
    if !facts_changed && !packs_changed && !contacts_changed {
        return Ok(before);
    }
    sqlx::query(
        "UPDATE productions SET title = $1, kind = $2, eu_release = $3, release_date = $4, packs = $5, agreements = $6, contacts = $7, version = version + 1 WHERE id = $8",
    )
    .bind(facts.title.clone())
    .bind(facts.kind.clone())
    .bind(facts.eu_release as i64)
    .bind(facts.release_date.map(|d| d.to_string()))
    .bind(to_json(&packs))
    .bind(to_json(&facts.agreements))
    .bind(to_json(&contacts))
    .bind(id.0.clone())
    .execute(&mut w.conn)
    .await?;
    let (after, _) = load_production(&mut w.conn, &id).await?;
    w.audit(
        Some(&actor_id),
        Some(&after.studio_id.0),
        "production.update",
        "production",
        &id.0,
        Some(digest(&salt, &production_state(&before))),
        Some(digest(&salt, &production_state(&after))),
    );
    let what = match (facts_changed, packs_changed) {
        (true, true) => "production facts and packs changed",
        (true, false) => "production facts changed",
        (false, true) => "production packs changed",
        // Contacts alone change no declaration's triage.
        (false, false) => return Ok(after),
    };
    // The packs by name and digest, so the audit log and history say exactly what was
    // adopted.
    let reason = if packs_changed {
        let resolved = resolve_packs(&mut w.conn, &after.studio_id, &packs).await?;
        format!("{what} to {}", names_with_digests(&resolved))
    } else {
        what.to_owned()
    };
    retriage_linked(w, Linked::Production(&id), &reason, Some(&actor_id)).await?;
    Ok(after)
}

/// A production's ETag: its version, quoted.
pub fn production_etag_of(version: i64) -> String {
    format!("\"p{version}\"")
}

/// The packs a new production of `studio` enables when none are given: the studio's default
/// set when it chose one, else [`DEFAULT_PACKS`].
pub(crate) async fn studio_default_packs(
    conn: &mut sqlx::AnyConnection,
    studio: &OrgId,
) -> Result<Vec<String>> {
    let row = sqlx::query("SELECT default_packs FROM orgs WHERE id = $1")
        .bind(studio.0.clone())
        .fetch_optional(&mut *conn)
        .await?;
    let chosen: Vec<String> = match row {
        Some(r) => crate::db::parse_json(&get_s(&r, "default_packs")?)?,
        None => Vec::new(),
    };
    Ok(if chosen.is_empty() {
        DEFAULT_PACKS.iter().map(|s| s.to_string()).collect()
    } else {
        chosen
    })
}

impl Store {
    /// The studio's pack set for new productions (the built-in default when it chose none).
    pub async fn default_packs(&self, actor: &Principal, studio: &OrgId) -> Result<Vec<String>> {
        actor.studio_wide("read the studio's default packs")?;
        if !actor.is_member(studio) {
            return Err(StoreError::NotFound(format!("studio {}", studio.0)));
        }
        studio_default_packs(&mut *self.pool().acquire().await?, studio).await
    }

    /// A studio's legal or admin sets the pack set new productions enable when none are
    /// given; existing productions keep theirs. An empty list goes back to the built-in
    /// default.
    pub async fn set_default_packs(
        &self,
        actor: &Principal,
        studio: &OrgId,
        packs: Vec<String>,
    ) -> Result<Vec<String>> {
        actor.studio_wide("set the studio's default packs")?;
        if !actor.is_member(studio) {
            return Err(StoreError::NotFound(format!("studio {}", studio.0)));
        }
        if !(actor.has_role(studio, Role::Legal) || actor.has_role(studio, Role::Admin)) {
            return Err(StoreError::Forbidden(
                "only legal or an admin of the studio sets its default packs".into(),
            ));
        }
        let digests = if packs.is_empty() {
            String::new()
        } else {
            let resolved = check_packs(&mut *self.pool().acquire().await?, studio, &packs).await?;
            names_with_digests(&resolved)
        };
        let (studio, actor_id) = (studio.clone(), actor.user.id.0.clone());
        self.write(move |w| {
            Box::pin(async move {
                sqlx::query("UPDATE orgs SET default_packs = $1 WHERE id = $2")
                    .bind(to_json(&packs))
                    .bind(studio.0.clone())
                    .execute(&mut w.conn)
                    .await?;
                w.audit(
                    Some(&actor_id),
                    Some(&studio.0),
                    "studio.default_packs",
                    "pack_set",
                    &studio.0,
                    None,
                    (!digests.is_empty())
                        .then(|| crate::audit::digest("", &serde_json::json!(digests))),
                );
                studio_default_packs(&mut w.conn, &studio).await
            })
        })
        .await
    }
}
