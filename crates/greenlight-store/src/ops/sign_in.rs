//! How people get in besides a password: a studio's single sign-on settings, SSO identities
//! (issuer, subject), sign-ins under way, the TOTP second factor, the second-factor step of a
//! password sign-in, and a studio's sign-in policy (local passwords, second factor for admins).
//!
//! The store knows nothing of OpenID Connect or TOTP arithmetic: the server does the protocol
//! (crate `greenlight-sso`) and seals the secrets (the client secret, TOTP seeds, sign-ins under
//! way) before they reach here, so nothing this module stores is readable without the secrets
//! key.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::tenancy::{
    audit_in_studios_of, audit_person, person_digest, studios_of_user, token_hash,
};
use crate::db::{Flag, Json, OptTs, Ts, ts};
use crate::model::{OrgId, OrgKind, Principal, Role, User, UserId};
use crate::writer::WriteCtx;
use crate::{Result, Store, StoreError};

/// How long the second-factor step of a password sign-in waits for the code.
pub const CHALLENGE_TTL: chrono::Duration = chrono::Duration::minutes(5);

/// Most sign-ins under way at once (each lives ten minutes): anyone may start one, so the
/// table has a ceiling.
const MAX_PENDING: i64 = 10_000;

/// A studio's single sign-on settings as stored (the client secret sealed).
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
pub struct SsoRecord {
    pub studio_id: OrgId,
    pub issuer_url: String,
    pub client_id: String,
    /// The client secret, sealed with the secrets key.
    #[serde(skip_serializing)]
    pub client_secret: String,
    #[sqlx(try_from = "Json<Vec<String>>")]
    pub scopes: Vec<String>,
    pub claim: String,
    /// The claim mapping: `[{"value", "organisation", "roles"}]`.
    #[sqlx(try_from = "Json<serde_json::Value>")]
    pub mapping: serde_json::Value,
    #[sqlx(try_from = "Ts")]
    pub updated_at: DateTime<Utc>,
}

/// A studio's sign-in policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInPolicy {
    /// False when local passwords are off for people whose every membership is in this
    /// studio: they sign in through the studio's provider only.
    pub local_passwords: bool,
    /// True when the studio's admins must use a second factor (TOTP) to act as admins.
    pub admin_totp: bool,
}

/// What a sign-in through the provider is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SsoIntent {
    /// Sign in (or, the first time, be provisioned).
    SignIn,
    /// Link the identity to the person who started it while signed in.
    Link { user_id: UserId },
    /// Set up the account of a new person invited by mail (the link's secret travels sealed
    /// with the protocol's record, never in clear).
    Join { user_id: UserId },
}

/// A sign-in under way, as stored.
#[derive(Debug, Clone)]
pub struct SsoPending {
    pub studio_id: OrgId,
    /// The sealed record of the protocol (state, nonce, PKCE verifier).
    pub record: String,
    pub intent: SsoIntent,
    pub next: String,
    pub expires_at: DateTime<Utc>,
}

/// The person a provider's sign-in is about, as the server verified it.
#[derive(Debug, Clone)]
pub struct SsoPerson {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// Roles per organisation the studio's mapping grants (never empty: the server refuses
    /// people granted nothing before calling the store).
    pub grants: Vec<(OrgId, Vec<Role>)>,
    /// The organisations the studio's mapping names: their roles are the mapping's to keep.
    pub mapped: Vec<OrgId>,
}

/// A person's second factor as stored.
#[derive(Debug, Clone)]
pub struct TotpRecord {
    /// The seed, sealed with the secrets key.
    pub seed: String,
    pub confirmed: bool,
    pub last_step: Option<u64>,
}

/// An SSO identity linked to a person (for their account page).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LinkedIdentity {
    pub issuer: String,
    pub subject: String,
    pub studio_id: OrgId,
    pub email: String,
    #[sqlx(try_from = "Ts")]
    pub last_seen_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct PendingRow {
    studio_id: OrgId,
    record: String,
    #[sqlx(try_from = "Json<SsoIntent>")]
    intent: SsoIntent,
    next: String,
    #[sqlx(try_from = "Ts")]
    expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct TotpRow {
    seed: String,
    #[sqlx(try_from = "OptTs")]
    confirmed_at: Option<DateTime<Utc>>,
    last_step: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct PolicyRow {
    #[sqlx(try_from = "Flag")]
    local_passwords: bool,
    #[sqlx(try_from = "Flag")]
    admin_totp: bool,
}

/// The studio `actor` administers, named or implied (404 for a studio of someone else).
async fn administered_studio(
    store: &Store,
    actor: &Principal,
    studio: Option<&OrgId>,
) -> Result<OrgId> {
    let studio = super::named_studio(actor, studio, "sign-in settings")?;
    if !store.administers(actor, &studio).await? {
        return Err(StoreError::Forbidden(
            "only an admin of the studio changes how its people sign in".into(),
        ));
    }
    Ok(studio)
}

/// Every organisation of a studio: the studio and those it created.
async fn studio_orgs(conn: &mut sqlx::AnyConnection, studio: &OrgId) -> Result<Vec<OrgId>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM orgs WHERE id = $1 OR parent_id = $1 ORDER BY name")
            .bind(studio.0.clone())
            .fetch_all(&mut *conn)
            .await?,
    )
}

impl Store {
    /// The organisations of a studio (id and name), the studio first: what a claim mapping may
    /// grant roles in.
    pub async fn studio_organisations(&self, studio: &OrgId) -> Result<Vec<(OrgId, String)>> {
        let mut rows: Vec<(OrgId, String, String)> = sqlx::query_as(
            "SELECT id, name, kind FROM orgs WHERE id = $1 OR parent_id = $1 ORDER BY name",
        )
        .bind(studio.0.clone())
        .fetch_all(self.pool())
        .await?;
        rows.sort_by_key(|(id, _, kind)| (id != studio, kind != OrgKind::Studio.as_str()));
        Ok(rows.into_iter().map(|(id, name, _)| (id, name)).collect())
    }

    /// A studio named by id or by name (for the public sign-in start); `None` when unknown or
    /// not a studio.
    pub async fn studio_by_id_or_name(&self, key: &str) -> Result<Option<(OrgId, String)>> {
        Ok(sqlx::query_as(
            "SELECT id, name FROM orgs WHERE (id = $1 OR name = $1) AND kind = 'studio'",
        )
        .bind(key.trim().to_owned())
        .fetch_optional(self.pool())
        .await?)
    }

    /// The studio's admins' addresses, for "whom to ask" messages.
    pub async fn studio_admin_emails(&self, studio: &OrgId) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT u.email FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1 AND m.role = 'admin' ORDER BY u.email",
        )
        .bind(studio.0.clone())
        .fetch_all(self.pool())
        .await?)
    }

    /// The studio the caller administers, named or implied (for the settings pages and API).
    pub async fn sign_in_studio(&self, actor: &Principal, studio: Option<&OrgId>) -> Result<OrgId> {
        administered_studio(self, actor, studio).await
    }

    /// A studio's single sign-on settings, for the server's sign-in (no caller: the studio is
    /// the one the browser named).
    pub async fn sso_record(&self, studio: &OrgId) -> Result<Option<SsoRecord>> {
        Ok(sqlx::query_as(
            "SELECT studio_id, issuer_url, client_id, client_secret, scopes, claim, mapping, updated_at \
             FROM sso_settings WHERE studio_id = $1",
        )
        .bind(studio.0.clone())
        .fetch_optional(self.pool())
        .await?)
    }

    /// A studio's settings for its admin (the sealed secret stays in the record; callers
    /// never show it).
    pub async fn sso_settings(
        &self,
        actor: &Principal,
        studio: Option<&OrgId>,
    ) -> Result<(OrgId, Option<SsoRecord>)> {
        let studio = administered_studio(self, actor, studio).await?;
        let record = self.sso_record(&studio).await?;
        Ok((studio, record))
    }

    /// Saves a studio's settings, checked by the server (fields, mapping, discovery) before
    /// this call. `client_secret: None` keeps the stored one (an admin who edits the mapping
    /// does not retype it); a first save must carry it.
    pub async fn put_sso_settings(
        &self,
        actor: &Principal,
        record: SsoRecord,
        keep_secret: bool,
    ) -> Result<()> {
        let studio = administered_studio(self, actor, Some(&record.studio_id)).await?;
        let actor_id = actor.user.id.0.clone();
        self.write(move |w| {
            Box::pin(async move {
                let mut record = record;
                if keep_secret {
                    let stored: Option<String> = sqlx::query_scalar(
                        "SELECT client_secret FROM sso_settings WHERE studio_id = $1",
                    )
                    .bind(studio.0.clone())
                    .fetch_optional(&mut w.conn)
                    .await?;
                    record.client_secret = stored.ok_or_else(|| {
                        StoreError::invalid("client_secret", "is required the first time")
                    })?;
                }
                sqlx::query("DELETE FROM sso_settings WHERE studio_id = $1")
                    .bind(studio.0.clone())
                    .execute(&mut w.conn)
                    .await?;
                sqlx::query(
                    "INSERT INTO sso_settings (studio_id, issuer_url, client_id, client_secret, scopes, claim, mapping, updated_at, updated_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(studio.0.clone())
                .bind(record.issuer_url)
                .bind(record.client_id)
                .bind(record.client_secret)
                .bind(crate::db::to_json(&record.scopes))
                .bind(record.claim)
                .bind(crate::db::to_json(&record.mapping))
                .bind(ts(w.now))
                .bind(actor_id.clone())
                .execute(&mut w.conn)
                .await?;
                audit_studio(w, &actor_id, &studio, "sso.settings");
                Ok(())
            })
        })
        .await
    }

    /// Removes a studio's single sign-on (its people keep their accounts; identities stay
    /// linked for when it is set up again). Local passwords come back on.
    pub async fn delete_sso_settings(
        &self,
        actor: &Principal,
        studio: Option<&OrgId>,
    ) -> Result<()> {
        let studio = administered_studio(self, actor, studio).await?;
        let actor_id = actor.user.id.0.clone();
        self.write(move |w| {
            Box::pin(async move {
                let n = sqlx::query("DELETE FROM sso_settings WHERE studio_id = $1")
                    .bind(studio.0.clone())
                    .execute(&mut w.conn)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound(
                        "single sign-on is not set up for this studio".into(),
                    ));
                }
                sqlx::query("UPDATE orgs SET local_passwords = 1 WHERE id = $1")
                    .bind(studio.0.clone())
                    .execute(&mut w.conn)
                    .await?;
                audit_studio(w, &actor_id, &studio, "sso.remove");
                Ok(())
            })
        })
        .await
    }

    /// A studio's sign-in policy.
    pub async fn sign_in_policy(&self, studio: &OrgId) -> Result<SignInPolicy> {
        let row: PolicyRow =
            sqlx::query_as("SELECT local_passwords, admin_totp FROM orgs WHERE id = $1")
                .bind(studio.0.clone())
                .fetch_optional(self.pool())
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("studio {studio}")))?;
        Ok(SignInPolicy {
            local_passwords: row.local_passwords,
            admin_totp: row.admin_totp,
        })
    }

    /// An admin sets the studio's sign-in policy. Passwords go off only where single sign-on
    /// is set up, so nobody is locked out; an admin who requires a second factor of admins
    /// while having none themself is told to enrol first.
    pub async fn set_sign_in_policy(
        &self,
        actor: &Principal,
        studio: Option<&OrgId>,
        policy: SignInPolicy,
    ) -> Result<OrgId> {
        let studio = administered_studio(self, actor, studio).await?;
        if !policy.local_passwords && self.sso_record(&studio).await?.is_none() {
            return Err(StoreError::invalid(
                "local_passwords",
                "can be switched off only once single sign-on is set up for the studio",
            ));
        }
        if policy.admin_totp
            && !self
                .totp(&actor.user.id)
                .await?
                .is_some_and(|t| t.confirmed)
        {
            return Err(StoreError::invalid(
                "admin_totp",
                "set up your own second factor first, or you would lose your admin role",
            ));
        }
        let actor_id = actor.user.id.0.clone();
        let id = studio.clone();
        self.write(move |w| {
            Box::pin(async move {
                sqlx::query("UPDATE orgs SET local_passwords = $1, admin_totp = $2 WHERE id = $3")
                    .bind(i64::from(policy.local_passwords))
                    .bind(i64::from(policy.admin_totp))
                    .bind(id.0.clone())
                    .execute(&mut w.conn)
                    .await?;
                audit_studio(w, &actor_id, &id, "signin.policy");
                Ok(())
            })
        })
        .await?;
        Ok(studio)
    }

    /// Whether a local password may sign this person in: not when every membership they hold
    /// is in studios that switched local passwords off.
    pub async fn local_password_allowed(&self, user: &UserId) -> Result<bool> {
        let flags: Vec<Flag> = sqlx::query_scalar(
            "SELECT s.local_passwords FROM memberships m JOIN orgs o ON o.id = m.org_id \
             JOIN orgs s ON s.id = COALESCE(o.parent_id, o.id) WHERE m.user_id = $1",
        )
        .bind(user.0.clone())
        .fetch_all(self.pool())
        .await?;
        Ok(flags.is_empty() || flags.into_iter().any(bool::from))
    }

    /// Keeps a sign-in under way, under its `state`, until it expires.
    pub async fn put_sso_pending(&self, state: &str, pending: SsoPending) -> Result<()> {
        let state = state.to_owned();
        self.write(move |w| {
            Box::pin(async move {
                sqlx::query("DELETE FROM sso_pending WHERE expires_at < $1")
                    .bind(ts(w.now))
                    .execute(&mut w.conn)
                    .await?;
                let open: i64 = sqlx::query_scalar("SELECT COUNT(*) AS n FROM sso_pending")
                    .fetch_one(&mut w.conn)
                    .await?;
                if open >= MAX_PENDING {
                    return Err(StoreError::conflict(
                        "too many sign-ins are under way; try again in a few minutes",
                    ));
                }
                sqlx::query(
                    "INSERT INTO sso_pending (state, studio_id, record, intent, next, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(state)
                .bind(pending.studio_id.0.clone())
                .bind(pending.record)
                .bind(crate::db::to_json(&pending.intent))
                .bind(pending.next)
                .bind(ts(pending.expires_at))
                .execute(&mut w.conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Takes (and removes) the sign-in under way with this `state`: each serves once, on one
    /// instance only.
    pub async fn take_sso_pending(&self, state: &str) -> Result<Option<SsoPending>> {
        let state = state.to_owned();
        self.write(move |w| {
            Box::pin(async move {
                let row: Option<PendingRow> = sqlx::query_as(
                    "SELECT studio_id, record, intent, next, expires_at FROM sso_pending WHERE state = $1",
                )
                .bind(state.clone())
                .fetch_optional(&mut w.conn)
                .await?;
                let Some(row) = row else { return Ok(None) };
                let gone = sqlx::query("DELETE FROM sso_pending WHERE state = $1")
                    .bind(state)
                    .execute(&mut w.conn)
                    .await?
                    .rows_affected();
                if gone == 0 {
                    return Ok(None);
                }
                Ok(Some(SsoPending {
                    studio_id: row.studio_id,
                    record: row.record,
                    intent: row.intent,
                    next: row.next,
                    expires_at: row.expires_at,
                }))
            })
        })
        .await
    }

    /// Signs in a person the studio's provider vouched for: found by (issuer, subject) only,
    /// or, on a first sign-in, created as a new person in the studio's mapped organisations.
    /// The mapping is authoritative for the organisations it names: the person's roles there
    /// become what it grants now. A first sign-in whose email already belongs to an account is
    /// refused (never linked): that person links single sign-on from their account.
    pub async fn sso_sign_in(&self, studio: &OrgId, person: SsoPerson) -> Result<UserId> {
        let studio = studio.clone();
        self.write(move |w| Box::pin(sso_sign_in_tx(w, studio, person)))
            .await
    }

    /// The person an SSO identity is linked to, if any.
    pub async fn sso_identity_owner(&self, issuer: &str, subject: &str) -> Result<Option<UserId>> {
        Ok(sqlx::query_scalar(
            "SELECT user_id FROM sso_identities WHERE issuer = $1 AND subject = $2",
        )
        .bind(issuer.to_owned())
        .bind(subject.to_owned())
        .fetch_optional(self.pool())
        .await?)
    }

    /// Links an SSO identity to the signed-in person who started the sign-in.
    pub async fn link_sso_identity(
        &self,
        user: &UserId,
        studio: &OrgId,
        person: SsoPerson,
    ) -> Result<()> {
        let (user, studio) = (user.clone(), studio.clone());
        self.write(move |w| {
            Box::pin(async move {
                let owner: Option<UserId> = sqlx::query_scalar(
                    "SELECT user_id FROM sso_identities WHERE issuer = $1 AND subject = $2",
                )
                .bind(person.issuer.clone())
                .bind(person.subject.clone())
                .fetch_optional(&mut w.conn)
                .await?;
                match owner {
                    Some(o) if o == user => return Ok(()),
                    Some(_) => {
                        return Err(StoreError::conflict(
                            "this single sign-on account is already linked to another person",
                        ));
                    }
                    None => {}
                }
                insert_identity(w, &user, &studio, &person).await?;
                audit_identity(w, &user, &studio, "sso.link").await
            })
        })
        .await
    }

    /// Whether a person has a local password (people provisioned by single sign-on have
    /// none until they choose one).
    pub async fn has_password(&self, user: &UserId) -> Result<bool> {
        let hash: Option<Option<String>> =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                .bind(user.0.clone())
                .fetch_optional(self.pool())
                .await?;
        Ok(hash.flatten().is_some())
    }

    /// The SSO identities linked to a person.
    pub async fn identities(&self, user: &UserId) -> Result<Vec<LinkedIdentity>> {
        Ok(sqlx::query_as(
            "SELECT issuer, subject, studio_id, email, last_seen_at FROM sso_identities WHERE user_id = $1 ORDER BY issuer",
        )
        .bind(user.0.clone())
        .fetch_all(self.pool())
        .await?)
    }

    /// A person's second factor, if they started or finished enrolling one.
    pub async fn totp(&self, user: &UserId) -> Result<Option<TotpRecord>> {
        let row: Option<TotpRow> = sqlx::query_as(
            "SELECT seed, confirmed_at, last_step FROM totp_factors WHERE user_id = $1",
        )
        .bind(user.0.clone())
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| TotpRecord {
            seed: r.seed,
            confirmed: r.confirmed_at.is_some(),
            last_step: r.last_step.and_then(|s| u64::try_from(s).ok()),
        }))
    }

    /// Starts enrolling a second factor with a fresh sealed seed (replacing one not yet
    /// confirmed). A confirmed factor is replaced only after removing it.
    pub async fn start_totp(&self, user: &UserId, sealed_seed: String) -> Result<()> {
        let user = user.clone();
        self.write(move |w| {
            Box::pin(async move {
                let confirmed: Option<OptTs> =
                    sqlx::query_scalar("SELECT confirmed_at FROM totp_factors WHERE user_id = $1")
                        .bind(user.0.clone())
                        .fetch_optional(&mut w.conn)
                        .await?;
                if confirmed.is_some_and(|c| Option::<DateTime<Utc>>::from(c).is_some()) {
                    return Err(StoreError::conflict(
                        "a second factor is already set up; remove it first to set up another",
                    ));
                }
                sqlx::query("DELETE FROM totp_factors WHERE user_id = $1")
                    .bind(user.0.clone())
                    .execute(&mut w.conn)
                    .await?;
                sqlx::query(
                    "INSERT INTO totp_factors (user_id, seed, created_at) VALUES ($1, $2, $3)",
                )
                .bind(user.0.clone())
                .bind(sealed_seed)
                .bind(ts(w.now))
                .execute(&mut w.conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Records an accepted code's step: only when it is later than the last accepted one, in
    /// one conditional write, so a code is accepted once across every instance. Confirms an
    /// enrolment on its first code. False when the step was already used.
    pub async fn accept_totp_step(&self, user: &UserId, step: u64) -> Result<bool> {
        let user = user.clone();
        let step = i64::try_from(step).map_err(|_| StoreError::invalid("code", "out of range"))?;
        self.write(move |w| {
            Box::pin(async move {
                let was_confirmed: Option<OptTs> = sqlx::query_scalar(
                    "SELECT confirmed_at FROM totp_factors WHERE user_id = $1",
                )
                .bind(user.0.clone())
                .fetch_optional(&mut w.conn)
                .await?;
                let Some(was_confirmed) = was_confirmed else {
                    return Err(StoreError::NotFound("no second factor is set up".into()));
                };
                let n = sqlx::query(
                    "UPDATE totp_factors SET last_step = $1, confirmed_at = COALESCE(confirmed_at, $2) \
                     WHERE user_id = $3 AND (last_step IS NULL OR last_step < $1)",
                )
                .bind(step)
                .bind(ts(w.now))
                .bind(user.0.clone())
                .execute(&mut w.conn)
                .await?
                .rows_affected();
                if n == 1 && Option::<DateTime<Utc>>::from(was_confirmed).is_none() {
                    audit_user_everywhere(w, &user, "totp.enable").await?;
                }
                Ok(n == 1)
            })
        })
        .await
    }

    /// Removes a person's second factor (themself, after a code or their password).
    pub async fn remove_totp(&self, user: &UserId) -> Result<()> {
        let user = user.clone();
        self.write(move |w| {
            Box::pin(async move {
                let n = sqlx::query("DELETE FROM totp_factors WHERE user_id = $1")
                    .bind(user.0.clone())
                    .execute(&mut w.conn)
                    .await?
                    .rows_affected();
                if n > 0 {
                    audit_user_everywhere(w, &user, "totp.disable").await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// Starts the second-factor step of a password sign-in; returns its secret (for a
    /// short-lived cookie).
    pub async fn create_challenge(&self, user: &UserId, next: &str) -> Result<String> {
        let (user, next) = (user.clone(), next.to_owned());
        let secret = super::tenancy::new_secret("glc_");
        let hash = token_hash(&secret);
        self.write(move |w| {
            Box::pin(async move {
                sqlx::query("DELETE FROM signin_challenges WHERE expires_at < $1")
                    .bind(ts(w.now))
                    .execute(&mut w.conn)
                    .await?;
                sqlx::query(
                    "INSERT INTO signin_challenges (sha256, user_id, next, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(hash)
                .bind(user.0.clone())
                .bind(next)
                .bind(ts(w.now))
                .bind(ts(w.now + CHALLENGE_TTL))
                .execute(&mut w.conn)
                .await?;
                Ok(())
            })
        })
        .await?;
        Ok(secret)
    }

    /// The person and destination of a second-factor step still open.
    pub async fn challenge(&self, secret: &str) -> Result<Option<(UserId, String)>> {
        let row: Option<(UserId, String, Ts)> = sqlx::query_as(
            "SELECT user_id, next, expires_at FROM signin_challenges WHERE sha256 = $1",
        )
        .bind(token_hash(secret))
        .fetch_optional(self.pool())
        .await?;
        Ok(row.and_then(|(user, next, expires)| {
            (DateTime::<Utc>::from(expires) > Utc::now()).then_some((user, next))
        }))
    }

    /// Ends a second-factor step (passed, or abandoned).
    pub async fn end_challenge(&self, secret: &str) -> Result<()> {
        let hash = token_hash(secret);
        self.write(move |w| {
            Box::pin(async move {
                sqlx::query("DELETE FROM signin_challenges WHERE sha256 = $1")
                    .bind(hash)
                    .execute(&mut w.conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// The organisations where this person holds the admin role but may not use it yet:
    /// their studio requires a second factor of admins and they have none.
    pub async fn admin_roles_on_hold(&self, principal: &Principal) -> Result<Vec<OrgId>> {
        if !principal.memberships.iter().any(|m| m.role == Role::Admin) {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_scalar(
            "SELECT m.org_id FROM memberships m JOIN orgs o ON o.id = m.org_id \
             JOIN orgs s ON s.id = COALESCE(o.parent_id, o.id) JOIN users u ON u.id = m.user_id \
             WHERE m.user_id = $1 AND m.role = 'admin' AND s.admin_totp = 1 \
             AND u.password_hash IS NOT NULL AND NOT EXISTS (SELECT 1 FROM totp_factors t \
             WHERE t.user_id = m.user_id AND t.confirmed_at IS NOT NULL)",
        )
        .bind(principal.user.id.0.clone())
        .fetch_all(self.pool())
        .await?)
    }
}

/// Records a change of the studio's sign-in (settings, policy) in its audit log.
fn audit_studio(w: &mut WriteCtx, actor: &str, studio: &OrgId, action: &str) {
    w.audit(
        Some(actor),
        Some(&studio.0),
        action,
        "org",
        &studio.0,
        None,
        None,
    );
}

async fn insert_identity(
    w: &mut WriteCtx,
    user: &UserId,
    studio: &OrgId,
    person: &SsoPerson,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sso_identities (issuer, subject, user_id, studio_id, email, created_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(person.issuer.clone())
    .bind(person.subject.clone())
    .bind(user.0.clone())
    .bind(studio.0.clone())
    .bind(person.email.clone().unwrap_or_default())
    .bind(ts(w.now))
    .execute(&mut w.conn)
    .await?;
    Ok(())
}

async fn audit_identity(
    w: &mut WriteCtx,
    user: &UserId,
    studio: &OrgId,
    action: &str,
) -> Result<()> {
    w.audit(
        Some(&user.0),
        Some(&studio.0),
        action,
        "user",
        &user.0,
        None,
        None,
    );
    Ok(())
}

async fn audit_user_everywhere(w: &mut WriteCtx, user: &UserId, action: &str) -> Result<()> {
    audit_in_studios_of(w, &user.0, user, action, "user", &user.0).await
}

async fn sso_sign_in_tx(w: &mut WriteCtx, studio: OrgId, person: SsoPerson) -> Result<UserId> {
    let orgs = studio_orgs(&mut w.conn, &studio).await?;
    if let Some(org) = person
        .grants
        .iter()
        .map(|(o, _)| o)
        .chain(&person.mapped)
        .find(|o| !orgs.contains(o))
    {
        return Err(StoreError::Forbidden(format!(
            "the mapping grants a role in {org}, which is not an organisation of this studio"
        )));
    }
    if person.grants.iter().all(|(_, roles)| roles.is_empty()) {
        return Err(StoreError::Forbidden(
            "the mapping grants this person no role".into(),
        ));
    }
    let found: Option<UserId> =
        sqlx::query_scalar("SELECT user_id FROM sso_identities WHERE issuer = $1 AND subject = $2")
            .bind(person.issuer.clone())
            .bind(person.subject.clone())
            .fetch_optional(&mut w.conn)
            .await?;
    let (user, before, studios_before) = match found {
        Some(user) => {
            sqlx::query(
                "UPDATE sso_identities SET last_seen_at = $1, email = $2 WHERE issuer = $3 AND subject = $4",
            )
            .bind(ts(w.now))
            .bind(person.email.clone().unwrap_or_default())
            .bind(person.issuer.clone())
            .bind(person.subject.clone())
            .execute(&mut w.conn)
            .await?;
            let before = person_digest(w, &user).await?;
            let studios = studios_of_user(&mut w.conn, &user).await?;
            (user, Some(before), studios)
        }
        None => {
            let email = person
                .email
                .as_deref()
                .map(|e| e.trim().to_lowercase())
                .filter(|e| e.contains('@') && e.chars().count() <= 254)
                .ok_or_else(|| {
                    StoreError::invalid(
                        "email",
                        "the provider sent no email address for this person; Greenlight needs one to reach them",
                    )
                })?;
            let taken: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
                .bind(email.clone())
                .fetch_optional(&mut w.conn)
                .await?;
            if taken.is_some() {
                return Err(StoreError::conflict(format!(
                    "a Greenlight account with the address {email} already exists, and single \
                     sign-on never takes over an account by its email. If it is yours, sign in \
                     with your password and link single sign-on from your account page; \
                     otherwise ask your studio's admins"
                )));
            }
            let user = User {
                id: UserId::new(),
                email: email.clone(),
                name: person
                    .name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .map(|n| n.trim().chars().take(super::MAX_NAME_CHARS).collect())
                    .unwrap_or_else(|| email.clone()),
                created_at: w.now,
            };
            sqlx::query("INSERT INTO users (id, email, name, password_hash, salt, created_at) VALUES ($1, $2, $3, NULL, $4, $5)")
                .bind(user.id.0.clone())
                .bind(user.email.clone())
                .bind(user.name.clone())
                .bind(crate::audit::new_salt())
                .bind(ts(w.now))
                .execute(&mut w.conn)
                .await?;
            insert_identity(w, &user.id, &studio, &person).await?;
            audit_identity(w, &user.id, &studio, "sso.provision").await?;
            (user.id, None, Vec::new())
        }
    };
    // The mapping decides the roles in the organisations it names.
    let mut changed = false;
    for org in &person.mapped {
        let held: Vec<Role> =
            sqlx::query_scalar("SELECT role FROM memberships WHERE user_id = $1 AND org_id = $2")
                .bind(user.0.clone())
                .bind(org.0.clone())
                .fetch_all(&mut w.conn)
                .await?;
        let granted: Vec<Role> = person
            .grants
            .iter()
            .filter(|(o, _)| o == org)
            .flat_map(|(_, r)| r.iter().copied())
            .collect();
        for role in held.iter().filter(|r| !granted.contains(r)) {
            sqlx::query("DELETE FROM memberships WHERE user_id = $1 AND org_id = $2 AND role = $3")
                .bind(user.0.clone())
                .bind(org.0.clone())
                .bind(role.as_str())
                .execute(&mut w.conn)
                .await?;
            changed = true;
        }
        for role in granted.iter().filter(|r| !held.contains(r)) {
            sqlx::query(
                "INSERT INTO memberships (user_id, org_id, role) VALUES ($1, $2, $3) ON CONFLICT (user_id, org_id, role) DO NOTHING",
            )
            .bind(user.0.clone())
            .bind(org.0.clone())
            .bind(role.as_str())
            .execute(&mut w.conn)
            .await?;
            changed = true;
        }
    }
    match before {
        // A first sign-in: the new person, with the roles the mapping granted.
        None => audit_person(w, Some(&user.0), &user, "user.add", None, vec![studio]).await?,
        Some(before) if changed => {
            audit_person(
                w,
                Some(&user.0),
                &user,
                "user.roles",
                Some(before),
                studios_before,
            )
            .await?
        }
        Some(_) => {}
    }
    Ok(user)
}
