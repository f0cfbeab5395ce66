//! Organisations, people, roles, API tokens, passwords and sessions.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::links::{IssuedLink, invite_new_person, link_invitation};
use super::record_state::{org_state, user_now};
use super::records::Salted;
use super::{MAX_NAME_CHARS, required, within};
use crate::audit::{digest, new_salt};
use crate::db::{OptTs, to_json, ts};
use crate::model::{
    Enrolment, Invitation, InvitationId, InvitationState, Membership, Org, OrgId, OrgKind,
    Principal, ProductionId, Role, TokenId, TokenInfo, User, UserId,
};
use crate::writer::WriteCtx;
use crate::{Result, Store, StoreError};

/// What `greenlight admin create` gets back: the studio, its first admin, a one-time token.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub org: Org,
    pub user: User,
    /// The API token's secret, shown once.
    pub token: String,
}

/// A person to add to an organisation (created when the email is new).
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    pub email: String,
    #[serde(default)]
    pub name: String,
    pub roles: Vec<Role>,
    /// Sets the web sign-in password (argon2); leave out for API-only users.
    #[serde(default)]
    pub password: Option<String>,
}

/// How long a new API token works when no expiry is asked for, in days.
pub const TOKEN_DAYS: i64 = 90;
/// The longest an API token works, in days.
pub const MAX_TOKEN_DAYS: i64 = 365;
/// How long a rotated token keeps working beside its replacement, by default and at most,
/// in hours.
pub const ROTATION_GRACE_HOURS: i64 = 24;
/// See [`ROTATION_GRACE_HOURS`].
pub const MAX_ROTATION_GRACE_HOURS: i64 = 168;
/// A token's `last_used_at` is written at most once in this many seconds, so a busy client
/// does not turn every request into a write.
const LAST_USED_EVERY_SECS: i64 = 60;

/// How long a new API token works and what it may act on.
#[derive(Debug, Clone, Default)]
pub struct TokenOptions {
    /// Days until it expires, 1 to [`MAX_TOKEN_DAYS`]; [`TOKEN_DAYS`] when `None`.
    pub expires_in_days: Option<i64>,
    /// The one production it acts on; `None`: whatever its person may do.
    pub production_id: Option<ProductionId>,
}

/// The validity a token request asks for, checked.
fn token_validity(days: Option<i64>) -> Result<chrono::Duration> {
    match days {
        None => Ok(chrono::Duration::days(TOKEN_DAYS)),
        Some(d) if (1..=MAX_TOKEN_DAYS).contains(&d) => Ok(chrono::Duration::days(d)),
        Some(d) => Err(StoreError::invalid(
            "expires_in_days",
            format!(
                "is {d}; a token works for 1 to {MAX_TOKEN_DAYS} days (the default is {TOKEN_DAYS})"
            ),
        )),
    }
}

/// What an authentication with a secret found.
#[derive(Debug, Clone)]
pub enum SignedIn {
    /// The secret is valid: who holds it.
    Principal(Principal),
    /// The secret was valid and has expired (not revoked).
    Expired,
    /// Unknown or revoked.
    Unknown,
}

/// A token row as authentication reads it.
#[derive(sqlx::FromRow)]
struct TokenUser {
    #[sqlx(flatten)]
    user: User,
    token_id: String,
    kind: String,
    #[sqlx(try_from = "OptTs")]
    expires_at: Option<DateTime<Utc>>,
    #[sqlx(try_from = "OptTs")]
    last_used_at: Option<DateTime<Utc>>,
    production_id: Option<ProductionId>,
}

const TOKEN_SELECT: &str = "SELECT id, user_id, label, created_at, revoked_at, expires_at, \
     last_used_at, production_id, replaced_by FROM tokens";

const TOKEN_PREFIX: &str = "glt_";
const SESSION_PREFIX: &str = "gls_";

/// A long random secret: prefix + 43 characters of base64url (256 bits).
pub(crate) fn new_secret(prefix: &str) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    )
}

/// Tokens are stored as SHA-256 (they are long random secrets, so a fast hash is right).
pub(crate) fn token_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn hash_password(password: &str) -> Result<String> {
    use argon2::password_hash::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Backend(format!("hashing a password: {e}")))
}

fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::PasswordVerifier;
    use argon2::password_hash::phc::PasswordHash;
    match PasswordHash::new(phc) {
        Ok(h) => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

pub(crate) async fn insert_org(
    conn: &mut sqlx::AnyConnection,
    name: &str,
    kind: OrgKind,
    parent: Option<&OrgId>,
    now: DateTime<Utc>,
) -> Result<(Org, String)> {
    let exists = sqlx::query("SELECT id FROM orgs WHERE name = $1")
        .bind(name.to_owned())
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_some() {
        return Err(StoreError::conflict(format!(
            "an organisation named {name:?} already exists"
        )));
    }
    let org = Org {
        id: OrgId::new(),
        name: name.to_owned(),
        kind,
        created_at: now,
    };
    let salt = new_salt();
    sqlx::query("INSERT INTO orgs (id, name, kind, parent_id, salt, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(org.id.0.clone())
        .bind(org.name.clone())
        .bind(kind.as_str())
        .bind(parent.map(|p| p.0.clone()))
        .bind(salt.clone())
        .bind(ts(now))
        .execute(&mut *conn)
        .await?;
    Ok((org, salt))
}

/// Creates the user when the email is new (with `password_hash`), then adds the roles.
/// An existing person's credentials are never touched. Returns the user, its salt and
/// whether it was created.
pub(crate) async fn upsert_member(
    conn: &mut sqlx::AnyConnection,
    org: &OrgId,
    email: &str,
    name: &str,
    roles: &[Role],
    password_hash: Option<String>,
    now: DateTime<Utc>,
) -> Result<(User, String, bool)> {
    let email = email.trim().to_lowercase();
    let existing: Option<Salted<User>> =
        sqlx::query_as("SELECT id, email, name, created_at, salt FROM users WHERE email = $1")
            .bind(email.clone())
            .fetch_optional(&mut *conn)
            .await?;
    let (user, salt, created) = match existing {
        Some(Salted { record, salt }) => (record, salt, false),
        None => {
            let user = User {
                id: UserId::new(),
                email: email.clone(),
                name: if name.trim().is_empty() {
                    email.clone()
                } else {
                    name.trim().to_owned()
                },
                created_at: now,
            };
            let salt = new_salt();
            sqlx::query("INSERT INTO users (id, email, name, password_hash, salt, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(user.id.0.clone())
                .bind(user.email.clone())
                .bind(user.name.clone())
                .bind(password_hash)
                .bind(salt.clone())
                .bind(ts(now))
                .execute(&mut *conn)
                .await?;
            (user, salt, true)
        }
    };
    for role in roles {
        sqlx::query(
            "INSERT INTO memberships (user_id, org_id, role) VALUES ($1, $2, $3) ON CONFLICT (user_id, org_id, role) DO NOTHING",
        )
        .bind(user.id.0.clone())
        .bind(org.0.clone())
        .bind(role.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok((user, salt, created))
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_token(
    conn: &mut sqlx::AnyConnection,
    user: &UserId,
    label: &str,
    kind: &str,
    expires: Option<DateTime<Utc>>,
    production: Option<&ProductionId>,
    now: DateTime<Utc>,
) -> Result<(TokenInfo, String)> {
    let secret = new_secret(if kind == "session" {
        SESSION_PREFIX
    } else {
        TOKEN_PREFIX
    });
    let info = TokenInfo {
        id: TokenId::new(),
        user_id: user.clone(),
        label: label.to_owned(),
        created_at: now,
        revoked_at: None,
        expires_at: expires,
        last_used_at: None,
        production_id: production.cloned(),
        replaced_by: None,
    };
    sqlx::query("INSERT INTO tokens (id, user_id, sha256, label, kind, created_at, expires_at, production_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(info.id.0.clone())
        .bind(user.0.clone())
        .bind(token_hash(&secret))
        .bind(label.to_owned())
        .bind(kind.to_owned())
        .bind(ts(now))
        .bind(expires.map(ts))
        .bind(production.map(|p| p.0.clone()))
        .execute(&mut *conn)
        .await?;
    Ok((info, secret))
}

/// Longest email address (RFC 5321's path limit).
pub(super) const MAX_EMAIL_CHARS: usize = 254;
/// Shortest and longest password, in characters (argon2 takes any length; the upper bound
/// keeps one request from costing seconds of hashing).
const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 12..=1024;
/// How long an invitation can be accepted.
pub(super) const INVITATION_DAYS: i64 = 7;

/// Checks a new password's length and hashes it with argon2, off the async threads.
pub(super) async fn hash_new_password(password: &str) -> Result<String> {
    let n = password.chars().count();
    if !PASSWORD_CHARS.contains(&n) {
        return Err(StoreError::invalid(
            "password",
            format!(
                "must be {} to {} characters long",
                PASSWORD_CHARS.start(),
                PASSWORD_CHARS.end()
            ),
        ));
    }
    let p = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&p))
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
}

/// A member of an organisation and one of their roles there.
#[derive(sqlx::FromRow)]
struct MemberRole {
    #[sqlx(flatten)]
    user: User,
    role: Role,
}

pub(super) const INVITATION_SELECT: &str = "SELECT i.id, i.org_id, o.name AS org_name, i.email, i.roles, \
     COALESCE(NULLIF(u.name, ''), u.email) AS invited_by, i.state, i.created_at, i.expires_at \
     FROM invitations i JOIN orgs o ON o.id = i.org_id JOIN users u ON u.id = i.invited_by";

/// The studio that manages `org` (itself for a studio), on the batch's connection.
pub(super) async fn studio_of_org(conn: &mut sqlx::AnyConnection, org: &OrgId) -> Result<OrgId> {
    sqlx::query_scalar("SELECT COALESCE(parent_id, id) AS studio FROM orgs WHERE id = $1")
        .bind(org.0.clone())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("organisation {org}")))
}

/// Every studio a person belongs to, directly or through a company or vendor it manages.
pub(crate) async fn studios_of_user(
    conn: &mut sqlx::AnyConnection,
    user: &UserId,
) -> Result<Vec<OrgId>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT COALESCE(o.parent_id, o.id) AS studio FROM memberships m \
         JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY studio",
    )
    .bind(user.0.clone())
    .fetch_all(&mut *conn)
    .await?)
}

/// Records `action` on a person's credentials in the audit log of every studio the person
/// belongs to, so each studio sees what was done to its people.
pub(super) async fn audit_in_studios_of(
    w: &mut WriteCtx,
    actor: &str,
    user: &UserId,
    action: &str,
    entity: &'static str,
    entity_id: &str,
) -> Result<()> {
    let studios = studios_of_user(&mut w.conn, user).await?;
    if studios.is_empty() {
        w.audit(Some(actor), None, action, entity, entity_id, None, None);
    }
    for studio in studios {
        w.audit(
            Some(actor),
            Some(&studio.0),
            action,
            entity,
            entity_id,
            None,
            None,
        );
    }
    Ok(())
}

/// The digest of a person's audited state as stored now.
pub(crate) async fn person_digest(w: &mut WriteCtx, user: &UserId) -> Result<String> {
    let (salt, state) = user_now(&mut w.conn, &user.0).await?;
    Ok(digest(&salt, &state))
}

/// Sets a person's password hash and audits the change, by `actor`, in every studio of the
/// person.
pub(super) async fn store_password(
    w: &mut WriteCtx,
    actor: &str,
    person: &UserId,
    hash: String,
) -> Result<()> {
    let before = person_digest(w, person).await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(person.0.clone())
        .execute(&mut w.conn)
        .await?;
    audit_person(
        w,
        Some(actor),
        person,
        "user.password",
        Some(before),
        Vec::new(),
    )
    .await
}

/// Records a change of a person (memberships, password) in the audit log of every studio in
/// `studios` and of every studio they belong to now, with the digest of their state after the
/// change. The first entry carries `before` (the digest before the change); the others record
/// the same change for another studio, so they start from the state it left.
pub(crate) async fn audit_person(
    w: &mut WriteCtx,
    actor: Option<&str>,
    user: &UserId,
    action: &str,
    before: Option<String>,
    mut studios: Vec<OrgId>,
) -> Result<()> {
    let after = person_digest(w, user).await?;
    studios.extend(studios_of_user(&mut w.conn, user).await?);
    studios.sort();
    studios.dedup();
    let mut before = before;
    let scopes: Vec<Option<OrgId>> = if studios.is_empty() {
        vec![None]
    } else {
        studios.into_iter().map(Some).collect()
    };
    for studio in scopes {
        w.audit(
            actor,
            studio.as_ref().map(|s| s.0.as_str()),
            action,
            "user",
            &user.0,
            before.take(),
            Some(after.clone()),
        );
    }
    Ok(())
}

async fn insert_roles(
    conn: &mut sqlx::AnyConnection,
    user: &UserId,
    org: &OrgId,
    roles: &[Role],
) -> Result<()> {
    for role in roles {
        sqlx::query(
            "INSERT INTO memberships (user_id, org_id, role) VALUES ($1, $2, $3) ON CONFLICT (user_id, org_id, role) DO NOTHING",
        )
        .bind(user.0.clone())
        .bind(org.0.clone())
        .bind(role.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A new person with roles in `org` (the email is known to be new when the request was
/// checked; a concurrent enrolment of the same address loses to the unique index).
async fn enrol_new_person(
    w: &mut WriteCtx,
    actor: UserId,
    org: OrgId,
    email: String,
    member: NewMember,
    password_hash: Option<String>,
) -> Result<User> {
    let (user, _salt, created) = upsert_member(
        &mut w.conn,
        &org,
        &email,
        &member.name,
        &[],
        password_hash,
        w.now,
    )
    .await?;
    if !created {
        return Err(StoreError::conflict(format!(
            "{email} was enrolled by someone else meanwhile; send the invitation again"
        )));
    }
    insert_roles(&mut w.conn, &user.id, &org, &member.roles).await?;
    audit_person(w, Some(&actor.0), &user.id, "user.add", None, Vec::new()).await?;
    Ok(user)
}

/// Gives an existing person roles in `org` (their own choice: an accepted invitation, or an
/// admin adding themself).
async fn grant_roles(
    w: &mut WriteCtx,
    actor: Option<UserId>,
    user: UserId,
    org: OrgId,
    roles: Vec<Role>,
) -> Result<()> {
    let studios = studios_of_user(&mut w.conn, &user).await?;
    let before = person_digest(w, &user).await?;
    insert_roles(&mut w.conn, &user, &org, &roles).await?;
    let actor = actor.map(|a| a.0);
    audit_person(
        w,
        actor.as_deref(),
        &user,
        "user.roles",
        Some(before),
        studios,
    )
    .await
}

async fn invite_person(
    w: &mut WriteCtx,
    actor: UserId,
    inviter: String,
    org: OrgId,
    user: User,
    roles: Vec<Role>,
) -> Result<Invitation> {
    let now = w.now;
    // A newer invitation into the same organisation replaces a pending one.
    sqlx::query(
        "UPDATE invitations SET state = 'revoked', decided_at = $1 WHERE org_id = $2 AND user_id = $3 AND state = 'pending'",
    )
    .bind(ts(now))
    .bind(org.0.clone())
    .bind(user.id.0.clone())
    .execute(&mut w.conn)
    .await?;
    let org_name = sqlx::query_scalar("SELECT name FROM orgs WHERE id = $1")
        .bind(org.0.clone())
        .fetch_one(&mut w.conn)
        .await?;
    let invitation = Invitation {
        id: InvitationId::new(),
        org_id: org.clone(),
        org_name,
        email: user.email.clone(),
        roles,
        invited_by: inviter,
        state: InvitationState::Pending,
        created_at: now,
        expires_at: now + chrono::Duration::days(INVITATION_DAYS),
    };
    sqlx::query(
        "INSERT INTO invitations (id, org_id, user_id, email, roles, invited_by, state, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8)",
    )
    .bind(invitation.id.0.clone())
    .bind(org.0.clone())
    .bind(user.id.0.clone())
    .bind(invitation.email.clone())
    .bind(to_json(&invitation.roles))
    .bind(actor.0.clone())
    .bind(ts(now))
    .bind(ts(invitation.expires_at))
    .execute(&mut w.conn)
    .await?;
    let mut studios = studios_of_user(&mut w.conn, &user.id).await?;
    studios.push(studio_of_org(&mut w.conn, &org).await?);
    studios.sort();
    studios.dedup();
    for studio in studios {
        w.audit(
            Some(&actor.0),
            Some(&studio.0),
            "invitation.create",
            "invitation",
            &invitation.id.0,
            None,
            None,
        );
    }
    Ok(invitation)
}

async fn answer_invitation_tx(
    w: &mut WriteCtx,
    actor: UserId,
    id: InvitationId,
    accept: bool,
) -> Result<Invitation> {
    let sql = format!("{INVITATION_SELECT} WHERE i.id = $1 AND i.user_id = $2");
    let mut invitation: Invitation = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id.0.clone())
        .bind(actor.0.clone())
        .fetch_optional(&mut w.conn)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("invitation {id}")))?;
    if invitation.state != InvitationState::Pending {
        return Err(StoreError::conflict(format!(
            "this invitation was already {}",
            invitation.state
        )));
    }
    if invitation.expires_at <= w.now {
        return Err(StoreError::conflict(
            "this invitation has expired; ask the organisation's admin for a new one",
        ));
    }
    invitation.state = if accept {
        InvitationState::Accepted
    } else {
        InvitationState::Declined
    };
    sqlx::query("UPDATE invitations SET state = $1, decided_at = $2 WHERE id = $3")
        .bind(invitation.state.as_str())
        .bind(ts(w.now))
        .bind(id.0.clone())
        .execute(&mut w.conn)
        .await?;
    let studio = studio_of_org(&mut w.conn, &invitation.org_id).await?;
    if accept {
        let studios = studios_of_user(&mut w.conn, &actor).await?;
        let before = person_digest(w, &actor).await?;
        insert_roles(&mut w.conn, &actor, &invitation.org_id, &invitation.roles).await?;
        w.audit(
            Some(&actor.0),
            Some(&studio.0),
            "invitation.accept",
            "invitation",
            &id.0,
            None,
            None,
        );
        audit_person(
            w,
            Some(&actor.0),
            &actor,
            "user.roles",
            Some(before),
            studios,
        )
        .await?;
    } else {
        w.audit(
            Some(&actor.0),
            Some(&studio.0),
            "invitation.decline",
            "invitation",
            &id.0,
            None,
            None,
        );
    }
    Ok(invitation)
}

async fn rotate_token_tx(
    w: &mut WriteCtx,
    actor: String,
    user: UserId,
    old: TokenId,
    grace_hours: i64,
) -> Result<(TokenInfo, String)> {
    let sql = format!("{TOKEN_SELECT} WHERE id = $1");
    let current: TokenInfo = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(old.0.clone())
        .fetch_one(&mut w.conn)
        .await?;
    let now = w.now;
    if current.revoked_at.is_some() {
        return Err(StoreError::conflict(
            "this token was revoked; create a new one",
        ));
    }
    if current.expires_at.is_some_and(|e| e <= now) {
        return Err(StoreError::conflict(
            "this token has expired; create a new one",
        ));
    }
    if let Some(next) = &current.replaced_by {
        return Err(StoreError::conflict(format!(
            "this token was already rotated; rotate its replacement {next}"
        )));
    }
    let validity = match current.expires_at {
        Some(e) => (e - current.created_at).min(chrono::Duration::days(MAX_TOKEN_DAYS)),
        None => chrono::Duration::days(TOKEN_DAYS),
    };
    let validity = if validity > chrono::Duration::zero() {
        validity
    } else {
        chrono::Duration::days(TOKEN_DAYS)
    };
    let (info, secret) = insert_token(
        &mut w.conn,
        &user,
        &current.label,
        "api",
        Some(now + validity),
        current.production_id.as_ref(),
        now,
    )
    .await?;
    let grace_end = now + chrono::Duration::hours(grace_hours);
    let old_expiry = current.expires_at.map_or(grace_end, |e| e.min(grace_end));
    sqlx::query("UPDATE tokens SET replaced_by = $1, expires_at = $2 WHERE id = $3")
        .bind(info.id.0.clone())
        .bind(ts(old_expiry))
        .bind(old.0.clone())
        .execute(&mut w.conn)
        .await?;
    audit_in_studios_of(w, &actor, &user, "token.rotate", "token", &old.0).await?;
    audit_in_studios_of(w, &actor, &user, "token.create", "token", &info.id.0).await?;
    Ok((info, secret))
}

impl Store {
    /// Creates a studio and its first admin, and returns a one-time API token. Refuses when
    /// an organisation of that name exists.
    pub async fn bootstrap_admin(
        &self,
        org_name: &str,
        email: &str,
        name: &str,
    ) -> Result<Bootstrap> {
        let org_name = required("org", org_name)?;
        let email = required("email", email)?;
        if !email.contains('@') {
            return Err(StoreError::invalid("email", "is not an email address"));
        }
        let name = name.to_owned();
        self.write(move |w| {
            Box::pin(async move {
                let now = w.now;
                let (org, org_salt) =
                    insert_org(&mut w.conn, &org_name, OrgKind::Studio, None, now).await?;
                let (user, _, _) = upsert_member(
                    &mut w.conn,
                    &org.id,
                    &email,
                    &name,
                    &[Role::Admin],
                    None,
                    now,
                )
                .await?;
                let expires = now + chrono::Duration::days(TOKEN_DAYS);
                let (info, token) = insert_token(
                    &mut w.conn,
                    &user.id,
                    "first admin",
                    "api",
                    Some(expires),
                    None,
                    now,
                )
                .await?;
                let oid = org.id.0.clone();
                w.audit(
                    None,
                    Some(&oid),
                    "org.create",
                    "org",
                    &oid,
                    None,
                    Some(digest(&org_salt, &org_state(&org))),
                );
                let (user_salt, user_after) = user_now(&mut w.conn, &user.id.0).await?;
                w.audit(
                    None,
                    Some(&oid),
                    "user.add",
                    "user",
                    &user.id.0,
                    None,
                    Some(digest(&user_salt, &user_after)),
                );
                w.audit(
                    None,
                    Some(&oid),
                    "token.create",
                    "token",
                    &info.id.0,
                    None,
                    None,
                );
                Ok(Bootstrap { org, user, token })
            })
        })
        .await
    }

    /// Who holds this API token or session secret (`None` when unknown, revoked or expired).
    #[tracing::instrument(skip_all)]
    pub async fn principal_by_secret(&self, secret: &str) -> Result<Option<Principal>> {
        Ok(match self.sign_in_with(secret).await? {
            SignedIn::Principal(p) => Some(p),
            SignedIn::Expired | SignedIn::Unknown => None,
        })
    }

    /// Who holds this API token or session secret, or whether it expired. Records when an
    /// API token was used, at most once a minute per token: a request that finds the stored
    /// time recent enough writes nothing.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in_with(&self, secret: &str) -> Result<SignedIn> {
        let row: Option<TokenUser> = sqlx::query_as(
            "SELECT u.id, u.email, u.name, u.created_at, t.id AS token_id, t.kind, t.expires_at, \
             t.last_used_at, t.production_id FROM tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.sha256 = $1 AND t.revoked_at IS NULL",
        )
        .bind(token_hash(secret))
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(SignedIn::Unknown);
        };
        let now = Utc::now();
        if row.expires_at.is_some_and(|exp| exp <= now) {
            return Ok(SignedIn::Expired);
        }
        let every = chrono::Duration::seconds(LAST_USED_EVERY_SECS);
        if row.kind == "api" && row.last_used_at.is_none_or(|t| t <= now - every) {
            // Recording use must never refuse a request the token may make.
            if let Err(e) = self.record_token_use(row.token_id.clone()).await {
                tracing::warn!(error = %e, "recording when a token was last used");
            }
        }
        let memberships = self.memberships(&row.user.id).await?;
        Ok(SignedIn::Principal(Principal {
            user: row.user,
            memberships,
            restricted_to: row.production_id,
        }))
    }

    /// Sets a token's `last_used_at` unless another request did within the last minute.
    /// Not audited: it records use, not a change of what the token may do.
    async fn record_token_use(&self, token: String) -> Result<()> {
        self.write(move |w| {
            Box::pin(async move {
                let cutoff = w.now - chrono::Duration::seconds(LAST_USED_EVERY_SECS);
                sqlx::query(
                    "UPDATE tokens SET last_used_at = $1 WHERE id = $2 \
                     AND (last_used_at IS NULL OR last_used_at <= $3)",
                )
                .bind(ts(w.now))
                .bind(token)
                .bind(ts(cutoff))
                .execute(&mut w.conn)
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// A person's principal (user and roles), without a secret: for sign-in and tests.
    pub async fn principal(&self, user: &UserId) -> Result<Principal> {
        let user: User =
            sqlx::query_as("SELECT id, email, name, created_at FROM users WHERE id = $1")
                .bind(user.0.clone())
                .fetch_optional(self.pool())
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("user {user}")))?;
        let memberships = self.memberships(&user.id).await?;
        Ok(Principal {
            user,
            memberships,
            restricted_to: None,
        })
    }

    async fn memberships(&self, user: &UserId) -> Result<Vec<Membership>> {
        Ok(sqlx::query_as(
            "SELECT m.org_id, o.name AS org_name, o.kind AS org_kind, m.role FROM memberships m \
             JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY o.name, m.role",
        )
        .bind(user.0.clone())
        .fetch_all(self.pool())
        .await?)
    }

    /// Checks an email and password (argon2, off the async threads). `None` when wrong.
    pub async fn check_password(&self, email: &str, password: &str) -> Result<Option<UserId>> {
        let row: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1")
                .bind(email.trim().to_lowercase())
                .fetch_optional(self.pool())
                .await?;
        let (id, phc) = row.unwrap_or_default();
        let password = password.to_owned();
        // Verify against a dummy hash when the user is unknown, so timing does not tell.
        let ok = tokio::task::spawn_blocking(move || match phc {
            Some(phc) => verify_password(&password, &phc),
            None => {
                let _ = hash_password(&password);
                false
            }
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(ok.then_some(UserId(id)))
    }

    /// Starts a web session for a user; returns the session secret (for an HttpOnly cookie).
    pub async fn create_session(&self, user: &UserId, ttl: std::time::Duration) -> Result<String> {
        let user = user.clone();
        let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(12));
        self.write(move |w| {
            Box::pin(async move {
                let now = w.now;
                let (info, secret) = insert_token(
                    &mut w.conn,
                    &user,
                    "web session",
                    "session",
                    Some(now + ttl),
                    None,
                    now,
                )
                .await?;
                w.audit(
                    Some(&user.0),
                    None,
                    "session.start",
                    "token",
                    &info.id.0,
                    None,
                    None,
                );
                Ok(secret)
            })
        })
        .await
    }

    /// Ends a web session (sign-out).
    pub async fn end_session(&self, secret: &str) -> Result<()> {
        let hash = token_hash(secret);
        self.write(move |w| {
            Box::pin(async move {
                let now = ts(w.now);
                let row: Option<(String, String)> = sqlx::query_as(
                    "SELECT id, user_id FROM tokens WHERE sha256 = $1 AND revoked_at IS NULL",
                )
                .bind(hash)
                .fetch_optional(&mut w.conn)
                .await?;
                if let Some((id, user)) = row {
                    sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2")
                        .bind(now)
                        .bind(id.clone())
                        .execute(&mut w.conn)
                        .await?;
                    w.audit(Some(&user), None, "session.end", "token", &id, None, None);
                }
                Ok(())
            })
        })
        .await
    }

    /// Organisations the caller may see: their own, and those their studios created.
    pub async fn orgs(&self, actor: &Principal) -> Result<Vec<Org>> {
        actor.studio_wide("list organisations")?;
        let mut out: Vec<Org> = Vec::new();
        for m in &actor.memberships {
            if out.iter().any(|o| o.id == m.org_id) {
                continue;
            }
            let rows: Vec<Org> = sqlx::query_as("SELECT id, name, kind, created_at FROM orgs WHERE id = $1 OR parent_id = $1 ORDER BY name")
                .bind(m.org_id.0.clone())
                .fetch_all(self.pool())
                .await?;
            for o in rows {
                if !out.iter().any(|x| x.id == o.id) {
                    out.push(o);
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// One organisation, if the caller may see it.
    pub async fn org(&self, actor: &Principal, id: &OrgId) -> Result<Org> {
        self.orgs(actor)
            .await?
            .into_iter()
            .find(|o| &o.id == id)
            .ok_or_else(|| StoreError::NotFound(format!("organisation {id}")))
    }

    /// The studio that created `org` (itself for a studio).
    async fn managing_studio(&self, org: &OrgId) -> Result<OrgId> {
        let parent: Option<OrgId> = sqlx::query_scalar("SELECT parent_id FROM orgs WHERE id = $1")
            .bind(org.0.clone())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("organisation {org}")))?;
        Ok(parent.unwrap_or_else(|| org.clone()))
    }

    /// True when the caller administers `org` (an admin of it, or of the studio that created it).
    pub async fn administers(&self, actor: &Principal, org: &OrgId) -> Result<bool> {
        actor.studio_wide("act on organisations or their people")?;
        if actor.has_role(org, Role::Admin) {
            return Ok(true);
        }
        let studio = self.managing_studio(org).await?;
        Ok(actor.has_role(&studio, Role::Admin))
    }

    /// A studio admin creates a production company or vendor.
    pub async fn create_org(&self, actor: &Principal, name: &str, kind: OrgKind) -> Result<Org> {
        actor.studio_wide("create organisations")?;
        let name = required("name", name)?;
        if kind == OrgKind::Studio {
            return Err(StoreError::invalid(
                "kind",
                "a studio is created with `greenlight admin create`",
            ));
        }
        let studio = actor
            .memberships
            .iter()
            .find(|m| m.role == Role::Admin && m.org_kind == OrgKind::Studio)
            .map(|m| m.org_id.clone())
            .ok_or_else(|| {
                StoreError::Forbidden("only a studio admin creates organisations".into())
            })?;
        let actor_id = actor.user.id.0.clone();
        self.write(move |w| {
            Box::pin(async move {
                let (org, salt) =
                    insert_org(&mut w.conn, &name, kind, Some(&studio), w.now).await?;
                w.audit(
                    Some(&actor_id),
                    Some(&studio.0),
                    "org.create",
                    "org",
                    &org.id.0,
                    None,
                    Some(digest(&salt, &org_state(&org))),
                );
                Ok(org)
            })
        })
        .await
    }

    /// Adds a person to an organisation with roles. A new address becomes a new person with
    /// those roles (and the password, when one is given). A person who already has an
    /// account is never enrolled by someone else and their credentials are never touched:
    /// they get an invitation and hold the roles once they accept it, signed in as
    /// themselves. Admins adding themselves to an organisation they administer get the roles
    /// at once.
    pub async fn add_member(
        &self,
        actor: &Principal,
        org: &OrgId,
        member: NewMember,
    ) -> Result<Enrolment> {
        Ok(self.add_member_with_link(actor, org, member).await?.0)
    }

    /// [`Store::add_member`], and the invitation link to mail, issued in the same write: for
    /// a new person added without a password (the link sets up their account) and for an
    /// existing person (the link opens the invitation). `None` when a password was given or
    /// admins added themselves. The link's secret is returned once and stored as SHA-256.
    pub async fn add_member_with_link(
        &self,
        actor: &Principal,
        org: &OrgId,
        member: NewMember,
    ) -> Result<(Enrolment, Option<IssuedLink>)> {
        self.org(actor, org).await?;
        if !self.administers(actor, org).await? {
            return Err(StoreError::Forbidden(
                "only an admin of the organisation adds people".into(),
            ));
        }
        let email = required("email", &member.email)?;
        if !email.contains('@') || email.chars().count() > MAX_EMAIL_CHARS {
            return Err(StoreError::invalid("email", "is not an email address"));
        }
        within("name", member.name.trim(), MAX_NAME_CHARS)?;
        if member.roles.is_empty() {
            return Err(StoreError::invalid("roles", "give at least one role"));
        }
        let existing = self.user_by_email(&email).await?;
        let (org, actor_id) = (org.clone(), actor.user.id.clone());
        match existing {
            None => {
                let password_hash = match &member.password {
                    Some(p) => Some(hash_new_password(p).await?),
                    None => None,
                };
                let roles = member.roles.clone();
                let (user, link) = self
                    .write(move |w| {
                        Box::pin(async move {
                            let with_link = password_hash.is_none();
                            let user = enrol_new_person(
                                w,
                                actor_id.clone(),
                                org.clone(),
                                email,
                                member,
                                password_hash,
                            )
                            .await?;
                            let link = if with_link {
                                Some(invite_new_person(w, &actor_id, &org, &user, &roles).await?)
                            } else {
                                None
                            };
                            Ok((user, link))
                        })
                    })
                    .await?;
                Ok((Enrolment::Added(user), link))
            }
            Some(user) => {
                if member.password.is_some() {
                    return Err(StoreError::invalid(
                        "password",
                        format!(
                            "{email} already has an account and keeps their own password; \
                             leave the password out to invite them"
                        ),
                    ));
                }
                if user.id == actor.user.id {
                    let me = user.id.clone();
                    self.write(move |w| {
                        Box::pin(grant_roles(w, Some(actor_id), me, org, member.roles))
                    })
                    .await?;
                    return Ok((Enrolment::Added(user), None));
                }
                let inviter = if actor.user.name.trim().is_empty() {
                    actor.user.email.clone()
                } else {
                    actor.user.name.clone()
                };
                let (invitation, link) = self
                    .write(move |w| {
                        Box::pin(async move {
                            let invitation =
                                invite_person(w, actor_id, inviter, org, user, member.roles)
                                    .await?;
                            let link = link_invitation(w, &invitation, false).await?;
                            Ok((invitation, link))
                        })
                    })
                    .await?;
                Ok((Enrolment::Invited(invitation), Some(link)))
            }
        }
    }

    /// Invitations waiting for the caller's answer.
    pub async fn my_invitations(&self, actor: &Principal) -> Result<Vec<Invitation>> {
        let sql = format!(
            "{INVITATION_SELECT} WHERE i.user_id = $1 AND i.state = 'pending' AND i.expires_at > $2 ORDER BY i.created_at"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(actor.user.id.0.clone())
            .bind(ts(Utc::now()))
            .fetch_all(self.pool())
            .await?)
    }

    /// Pending invitations into an organisation (its admins only).
    pub async fn org_invitations(&self, actor: &Principal, org: &OrgId) -> Result<Vec<Invitation>> {
        self.org(actor, org).await?;
        if !self.administers(actor, org).await? {
            return Err(StoreError::Forbidden(
                "only an admin of the organisation sees its invitations".into(),
            ));
        }
        let sql = format!(
            "{INVITATION_SELECT} WHERE i.org_id = $1 AND i.state = 'pending' AND i.expires_at > $2 ORDER BY i.created_at"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org.0.clone())
            .bind(ts(Utc::now()))
            .fetch_all(self.pool())
            .await?)
    }

    /// The invited person accepts (they hold the roles from now on) or declines.
    pub async fn answer_invitation(
        &self,
        actor: &Principal,
        id: &InvitationId,
        accept: bool,
    ) -> Result<Invitation> {
        let (id, actor_id) = (id.clone(), actor.user.id.clone());
        self.write(move |w| Box::pin(answer_invitation_tx(w, actor_id, id, accept)))
            .await
    }

    /// An admin of the organisation withdraws a pending invitation.
    pub async fn revoke_invitation(&self, actor: &Principal, id: &InvitationId) -> Result<()> {
        let org: OrgId = sqlx::query_scalar("SELECT org_id FROM invitations WHERE id = $1")
            .bind(id.0.clone())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("invitation {id}")))?;
        if self.org(actor, &org).await.is_err() || !self.administers(actor, &org).await? {
            return Err(StoreError::NotFound(format!("invitation {id}")));
        }
        let (id, actor_id) = (id.clone(), actor.user.id.clone());
        self.write(move |w| {
            Box::pin(async move {
                let changed = sqlx::query(
                    "UPDATE invitations SET state = 'revoked', decided_at = $1 WHERE id = $2 AND state = 'pending'",
                )
                .bind(ts(w.now))
                .bind(id.0.clone())
                .execute(&mut w.conn)
                .await?
                .rows_affected();
                if changed == 0 {
                    return Err(StoreError::conflict("the invitation was already answered"));
                }
                let studio = studio_of_org(&mut w.conn, &org).await?;
                w.audit(
                    Some(&actor_id.0),
                    Some(&studio.0),
                    "invitation.revoke",
                    "invitation",
                    &id.0,
                    None,
                    None,
                );
                Ok(())
            })
        })
        .await
    }

    /// People of an organisation with their roles in it (its admins only).
    pub async fn members(&self, actor: &Principal, org: &OrgId) -> Result<Vec<(User, Vec<Role>)>> {
        self.org(actor, org).await?;
        if !self.administers(actor, org).await? {
            return Err(StoreError::Forbidden(
                "only an admin of the organisation lists its people".into(),
            ));
        }
        let rows: Vec<MemberRole> = sqlx::query_as(
            "SELECT u.id, u.email, u.name, u.created_at, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1 ORDER BY u.email, m.role",
        )
        .bind(org.0.clone())
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<(User, Vec<Role>)> = Vec::new();
        for MemberRole { user, role } in rows {
            match out.last_mut() {
                Some((u, roles)) if u.id == user.id => roles.push(role),
                _ => out.push((user, vec![role])),
            }
        }
        Ok(out)
    }

    /// Issues an API token for `user` (the caller themself, or an admin of every one of their
    /// organisations), valid for `options.expires_in_days` (90 by default, at most 365) and,
    /// when `options.production_id` is given, acting on that production alone (one both the
    /// caller and the token's person can read). Returns the secret once.
    pub async fn create_token(
        &self,
        actor: &Principal,
        user: &UserId,
        label: &str,
        options: TokenOptions,
    ) -> Result<(TokenInfo, String)> {
        self.may_manage_user(actor, user).await?;
        let label = label.trim().to_owned();
        within("label", &label, MAX_NAME_CHARS)?;
        let validity = token_validity(options.expires_in_days)?;
        if let Some(production) = &options.production_id {
            self.check_token_production(actor, user, production).await?;
        }
        let (user, actor_id) = (user.clone(), actor.user.id.0.clone());
        self.write(move |w| {
            Box::pin(async move {
                let expires = w.now + validity;
                let (info, secret) = insert_token(
                    &mut w.conn,
                    &user,
                    &label,
                    "api",
                    Some(expires),
                    options.production_id.as_ref(),
                    w.now,
                )
                .await?;
                audit_in_studios_of(w, &actor_id, &user, "token.create", "token", &info.id.0)
                    .await?;
                Ok((info, secret))
            })
        })
        .await
    }

    /// Refuses a production restriction that the caller or the token's person cannot read.
    /// The answer is the same whether the production exists elsewhere or not at all.
    async fn check_token_production(
        &self,
        actor: &Principal,
        user: &UserId,
        production: &ProductionId,
    ) -> Result<()> {
        let owner = self.principal(user).await?;
        for who in [actor, &owner] {
            match self.production(who, production).await {
                Ok(_) => {}
                Err(StoreError::NotFound(_)) => {
                    return Err(StoreError::invalid(
                        "production_id",
                        format!(
                            "{production} is not a production {} can read",
                            if who.user.id == *user {
                                "the token's person"
                            } else {
                                "you"
                            }
                        ),
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// A user's API tokens (never the secrets).
    pub async fn tokens(&self, actor: &Principal, user: &UserId) -> Result<Vec<TokenInfo>> {
        self.may_manage_user(actor, user).await?;
        let sql = format!("{TOKEN_SELECT} WHERE user_id = $1 AND kind = 'api' ORDER BY created_at");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(user.0.clone())
            .fetch_all(self.pool())
            .await?)
    }

    /// The person a token belongs to, when the caller may manage their credentials (else
    /// not found, so nobody learns another person's token ids).
    async fn managed_token_owner(&self, actor: &Principal, token: &TokenId) -> Result<UserId> {
        actor.studio_wide("manage tokens")?;
        let user: UserId =
            sqlx::query_scalar("SELECT user_id FROM tokens WHERE id = $1 AND kind = 'api'")
                .bind(token.0.clone())
                .fetch_optional(self.pool())
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("token {token}")))?;
        self.may_manage_user(actor, &user)
            .await
            .map_err(|_| StoreError::NotFound(format!("token {token}")))?;
        Ok(user)
    }

    /// Revokes an API token.
    pub async fn revoke_token(&self, actor: &Principal, token: &TokenId) -> Result<()> {
        let user = self.managed_token_owner(actor, token).await?;
        let (token, actor_id) = (token.clone(), actor.user.id.0.clone());
        self.write(move |w| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                )
                .bind(ts(w.now))
                .bind(token.0.clone())
                .execute(&mut w.conn)
                .await?;
                audit_in_studios_of(w, &actor_id, &user, "token.revoke", "token", &token.0).await?;
                Ok(())
            })
        })
        .await
    }

    /// Rotates an API token: a new secret with the same label and production restriction,
    /// valid as long as the old one was from its creation (at most a year; 90 days when it
    /// had no expiry). The old one keeps working for `grace_hours` (24 by default, 0 to
    /// 168), never past its own expiry, and names its replacement. Returns the new token and
    /// its secret, once. The same people may rotate a token as may create one.
    pub async fn rotate_token(
        &self,
        actor: &Principal,
        token: &TokenId,
        grace_hours: Option<i64>,
    ) -> Result<(TokenInfo, String)> {
        let grace = match grace_hours {
            None => ROTATION_GRACE_HOURS,
            Some(h) if (0..=MAX_ROTATION_GRACE_HOURS).contains(&h) => h,
            Some(h) => {
                return Err(StoreError::invalid(
                    "grace_hours",
                    format!(
                        "is {h}; the old token works on for 0 to {MAX_ROTATION_GRACE_HOURS} hours (the default is {ROTATION_GRACE_HOURS})"
                    ),
                ));
            }
        };
        let user = self.managed_token_owner(actor, token).await?;
        let (token, actor_id) = (token.clone(), actor.user.id.0.clone());
        self.write(move |w| Box::pin(rotate_token_tx(w, actor_id, user, token, grace)))
            .await
    }

    /// Sets a user's web password (the user themself, or an admin of every one of their
    /// organisations).
    pub async fn set_password(
        &self,
        actor: &Principal,
        user: &UserId,
        password: &str,
    ) -> Result<()> {
        self.may_manage_user(actor, user).await?;
        let hash = hash_new_password(password).await?;
        let (user, actor_id) = (user.clone(), actor.user.id.0.clone());
        self.write(move |w| {
            Box::pin(async move { store_password(w, &actor_id, &user, hash).await })
        })
        .await
    }

    /// Whether the caller may manage `user`'s credentials: themself, or an admin of every
    /// organisation the person belongs to. A person who also belongs elsewhere (another
    /// studio, or a studio whose admin the caller is not) manages their own credentials, so
    /// no admin can act as someone of another organisation.
    async fn may_manage_user(&self, actor: &Principal, user: &UserId) -> Result<()> {
        actor.studio_wide("manage passwords or tokens")?;
        if &actor.user.id == user {
            return Ok(());
        }
        let target = self.principal(user).await?;
        let mut some = false;
        let mut all = !target.memberships.is_empty();
        for m in &target.memberships {
            if self.administers(actor, &m.org_id).await? {
                some = true;
            } else {
                all = false;
            }
        }
        match (some, all) {
            (_, true) => Ok(()),
            (true, false) => Err(StoreError::Forbidden(
                "this person also belongs to organisations you do not administer; they manage \
                 their own password and tokens"
                    .into(),
            )),
            (false, false) => Err(StoreError::NotFound(format!("user {user}"))),
        }
    }

    /// Number of users (for `/metrics` and the demo's idempotence check).
    pub async fn user_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) AS n FROM users")
            .fetch_one(self.pool())
            .await?)
    }

    /// Finds an organisation by its exact name (system use: demo seeding, CLI).
    pub async fn org_by_name(&self, name: &str) -> Result<Option<Org>> {
        Ok(
            sqlx::query_as("SELECT id, name, kind, created_at FROM orgs WHERE name = $1")
                .bind(name.to_owned())
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Finds a user by email (system use: demo seeding, CLI).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        Ok(
            sqlx::query_as("SELECT id, email, name, created_at FROM users WHERE email = $1")
                .bind(email.trim().to_lowercase())
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// Adds a person with roles and a password without an acting admin (system use: demo
    /// seeding). Audited with no actor.
    pub async fn system_add_member(&self, org: &OrgId, member: NewMember) -> Result<User> {
        let password_hash = match &member.password {
            Some(p) => {
                let p = p.clone();
                Some(
                    tokio::task::spawn_blocking(move || hash_password(&p))
                        .await
                        .map_err(|e| StoreError::Backend(e.to_string()))??,
                )
            }
            None => None,
        };
        let org = org.clone();
        self.write(move |w| {
            Box::pin(async move {
                let (user, _, _) = upsert_member(
                    &mut w.conn,
                    &org,
                    &member.email,
                    &member.name,
                    &member.roles,
                    password_hash,
                    w.now,
                )
                .await?;
                let (salt, after) = user_now(&mut w.conn, &user.id.0).await?;
                w.audit(
                    None,
                    Some(&org.0),
                    "user.add",
                    "user",
                    &user.id.0,
                    None,
                    Some(digest(&salt, &after)),
                );
                Ok(user)
            })
        })
        .await
    }

    /// Sets a person's password without an acting person (system use: demo seeding, whose
    /// studio admin is created without one). Audited with no actor in the person's studios.
    pub async fn system_set_password(&self, user: &UserId, password: &str) -> Result<()> {
        let hash = hash_new_password(password).await?;
        let user = user.clone();
        self.write(move |w| {
            Box::pin(async move {
                let before = person_digest(w, &user).await?;
                sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                    .bind(hash)
                    .bind(user.0.clone())
                    .execute(&mut w.conn)
                    .await?;
                audit_person(w, None, &user, "user.password", Some(before), Vec::new()).await?;
                Ok(())
            })
        })
        .await
    }

    /// Issues an API token without an acting admin (system use: tests and seeding), valid
    /// for the default 90 days.
    pub async fn system_create_token(&self, user: &UserId, label: &str) -> Result<String> {
        let (user, label) = (user.clone(), label.to_owned());
        self.write(move |w| {
            Box::pin(async move {
                let expires = w.now + chrono::Duration::days(TOKEN_DAYS);
                let (info, secret) = insert_token(
                    &mut w.conn,
                    &user,
                    &label,
                    "api",
                    Some(expires),
                    None,
                    w.now,
                )
                .await?;
                w.audit(None, None, "token.create", "token", &info.id.0, None, None);
                Ok(secret)
            })
        })
        .await
    }

    /// Ensures a token with this exact secret exists for `user` and never expires (system
    /// use: the fixed tokens of a demo database, so seeding twice changes nothing; the
    /// upgrade that gave every existing token an expiry gave these one too, and seeding takes
    /// it off again). Never for anything but a demo database. Returns true when it was
    /// created.
    pub async fn system_ensure_token(
        &self,
        user: &UserId,
        label: &str,
        secret: &str,
    ) -> Result<bool> {
        let (user, label, hash) = (user.clone(), label.to_owned(), token_hash(secret));
        self.write(move |w| {
            Box::pin(async move {
                let exists: Option<(String, Option<String>)> =
                    sqlx::query_as("SELECT id, expires_at FROM tokens WHERE sha256 = $1")
                        .bind(hash.clone())
                        .fetch_optional(&mut w.conn)
                        .await?;
                if let Some((id, expires)) = exists {
                    if expires.is_some() {
                        sqlx::query("UPDATE tokens SET expires_at = NULL WHERE id = $1")
                            .bind(id.clone())
                            .execute(&mut w.conn)
                            .await?;
                        w.audit(None, None, "token.expiry", "token", &id, None, None);
                    }
                    return Ok(false);
                }
                let id = TokenId::new();
                sqlx::query("INSERT INTO tokens (id, user_id, sha256, label, kind, created_at) VALUES ($1, $2, $3, $4, 'api', $5)")
                    .bind(id.0.clone())
                    .bind(user.0.clone())
                    .bind(hash)
                    .bind(label)
                    .bind(ts(w.now))
                    .execute(&mut w.conn)
                    .await?;
                w.audit(None, None, "token.create", "token", &id.0, None, None);
                Ok(true)
            })
        })
        .await
    }

    /// A studio admin's counterpart: creates a company or vendor under `studio` (system use).
    pub async fn system_create_org(
        &self,
        studio: &OrgId,
        name: &str,
        kind: OrgKind,
    ) -> Result<Org> {
        let (studio, name) = (studio.clone(), name.to_owned());
        self.write(move |w| {
            Box::pin(async move {
                let (org, salt) =
                    insert_org(&mut w.conn, &name, kind, Some(&studio), w.now).await?;
                w.audit(
                    None,
                    Some(&studio.0),
                    "org.create",
                    "org",
                    &org.id.0,
                    None,
                    Some(digest(&salt, &org_state(&org))),
                );
                Ok(org)
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_and_distinct() {
        let (a, b) = (new_secret(TOKEN_PREFIX), new_secret(TOKEN_PREFIX));
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert_eq!(token_hash(&a).len(), 64);
    }

    #[test]
    fn a_password_verifies_only_against_its_own_hash() {
        let h = hash_password("correct horse battery").expect("hashes");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong horse battery", &h));
    }
}
