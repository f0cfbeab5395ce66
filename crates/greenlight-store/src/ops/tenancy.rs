//! Organisations, people, roles, API tokens, passwords and sessions.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::record_state::{org_state, user_now};
use super::{get_i, get_os, get_s, required};
use crate::audit::{digest, new_salt};
use crate::db::{parse_enum, parse_opt_ts, parse_ts, ts};
use crate::model::{
    Membership, Org, OrgId, OrgKind, Principal, Role, TokenId, TokenInfo, User, UserId,
};
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

const TOKEN_PREFIX: &str = "glt_";
const SESSION_PREFIX: &str = "gls_";

/// A long random secret: prefix + 43 characters of base64url (256 bits).
fn new_secret(prefix: &str) -> String {
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

pub(crate) fn org_from_row(row: &sqlx::any::AnyRow) -> Result<Org> {
    Ok(Org {
        id: OrgId(get_s(row, "id")?),
        name: get_s(row, "name")?,
        kind: parse_enum(&get_s(row, "kind")?)?,
        created_at: parse_ts(&get_s(row, "created_at")?)?,
    })
}

pub(crate) fn user_from_row(row: &sqlx::any::AnyRow) -> Result<User> {
    Ok(User {
        id: UserId(get_s(row, "id")?),
        email: get_s(row, "email")?,
        name: get_s(row, "name")?,
        created_at: parse_ts(&get_s(row, "created_at")?)?,
    })
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

/// Creates the user when the email is new, then adds the roles. Returns the user.
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
    let existing =
        sqlx::query("SELECT id, email, name, created_at, salt FROM users WHERE email = $1")
            .bind(email.clone())
            .fetch_optional(&mut *conn)
            .await?;
    let (user, salt, created) = match existing {
        Some(row) => (user_from_row(&row)?, get_s(&row, "salt")?, false),
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
                .bind(password_hash.clone())
                .bind(salt.clone())
                .bind(ts(now))
                .execute(&mut *conn)
                .await?;
            (user, salt, true)
        }
    };
    if !created && let Some(h) = password_hash {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(h)
            .bind(user.id.0.clone())
            .execute(&mut *conn)
            .await?;
    }
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

pub(crate) async fn insert_token(
    conn: &mut sqlx::AnyConnection,
    user: &UserId,
    label: &str,
    kind: &str,
    expires: Option<DateTime<Utc>>,
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
    };
    sqlx::query("INSERT INTO tokens (id, user_id, sha256, label, kind, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(info.id.0.clone())
        .bind(user.0.clone())
        .bind(token_hash(&secret))
        .bind(label.to_owned())
        .bind(kind.to_owned())
        .bind(ts(now))
        .bind(expires.map(ts))
        .execute(&mut *conn)
        .await?;
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
                let (info, token) =
                    insert_token(&mut w.conn, &user.id, "first admin", "api", None, now).await?;
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
        let row = sqlx::query(
            "SELECT u.id, u.email, u.name, u.created_at, t.expires_at FROM tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.sha256 = $1 AND t.revoked_at IS NULL",
        )
        .bind(token_hash(secret))
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        if let Some(exp) = parse_opt_ts(get_os(&row, "expires_at")?)?
            && exp < Utc::now()
        {
            return Ok(None);
        }
        let user = user_from_row(&row)?;
        let memberships = self.memberships(&user.id).await?;
        Ok(Some(Principal { user, memberships }))
    }

    /// A person's principal (user and roles), without a secret: for sign-in and tests.
    pub async fn principal(&self, user: &UserId) -> Result<Principal> {
        let row = sqlx::query("SELECT id, email, name, created_at FROM users WHERE id = $1")
            .bind(user.0.clone())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {user}")))?;
        let user = user_from_row(&row)?;
        let memberships = self.memberships(&user.id).await?;
        Ok(Principal { user, memberships })
    }

    async fn memberships(&self, user: &UserId) -> Result<Vec<Membership>> {
        let rows = sqlx::query(
            "SELECT m.org_id, o.name, o.kind, m.role FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = $1 ORDER BY o.name, m.role",
        )
        .bind(user.0.clone())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Membership {
                    org_id: OrgId(r.try_get::<String, _>(0)?),
                    org_name: r.try_get::<String, _>(1)?,
                    org_kind: parse_enum(&r.try_get::<String, _>(2)?)?,
                    role: parse_enum(&r.try_get::<String, _>(3)?)?,
                })
            })
            .collect()
    }

    /// Checks an email and password (argon2, off the async threads). `None` when wrong.
    pub async fn check_password(&self, email: &str, password: &str) -> Result<Option<UserId>> {
        let row = sqlx::query("SELECT id, password_hash FROM users WHERE email = $1")
            .bind(email.trim().to_lowercase())
            .fetch_optional(self.pool())
            .await?;
        let (id, phc) = match row {
            Some(r) => (get_s(&r, "id")?, get_os(&r, "password_hash")?),
            None => (String::new(), None),
        };
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
                let row = sqlx::query(
                    "SELECT id, user_id FROM tokens WHERE sha256 = $1 AND revoked_at IS NULL",
                )
                .bind(hash)
                .fetch_optional(&mut w.conn)
                .await?;
                if let Some(row) = row {
                    let (id, user) = (get_s(&row, "id")?, get_s(&row, "user_id")?);
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
        let mut out: Vec<Org> = Vec::new();
        for m in &actor.memberships {
            if out.iter().any(|o| o.id == m.org_id) {
                continue;
            }
            let rows = sqlx::query("SELECT id, name, kind, created_at FROM orgs WHERE id = $1 OR parent_id = $1 ORDER BY name")
                .bind(m.org_id.0.clone())
                .fetch_all(self.pool())
                .await?;
            for r in &rows {
                let o = org_from_row(r)?;
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
        let row = sqlx::query("SELECT kind, parent_id FROM orgs WHERE id = $1")
            .bind(org.0.clone())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("organisation {org}")))?;
        Ok(match get_os(&row, "parent_id")? {
            Some(p) => OrgId(p),
            None => org.clone(),
        })
    }

    /// True when the caller administers `org` (an admin of it, or of the studio that created it).
    pub async fn administers(&self, actor: &Principal, org: &OrgId) -> Result<bool> {
        if actor.has_role(org, Role::Admin) {
            return Ok(true);
        }
        let studio = self.managing_studio(org).await?;
        Ok(actor.has_role(&studio, Role::Admin))
    }

    /// A studio admin creates a production company or vendor.
    pub async fn create_org(&self, actor: &Principal, name: &str, kind: OrgKind) -> Result<Org> {
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

    /// Adds a person (new or existing, by email) to an organisation with roles.
    pub async fn add_member(
        &self,
        actor: &Principal,
        org: &OrgId,
        member: NewMember,
    ) -> Result<User> {
        self.org(actor, org).await?;
        if !self.administers(actor, org).await? {
            return Err(StoreError::Forbidden(
                "only an admin of the organisation adds people".into(),
            ));
        }
        let email = required("email", &member.email)?;
        if !email.contains('@') {
            return Err(StoreError::invalid("email", "is not an email address"));
        }
        if member.roles.is_empty() {
            return Err(StoreError::invalid("roles", "give at least one role"));
        }
        let password_hash = match &member.password {
            Some(p) if p.chars().count() < 12 => {
                return Err(StoreError::invalid(
                    "password",
                    "must be at least 12 characters",
                ));
            }
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
        let (org, actor_id) = (org.clone(), actor.user.id.0.clone());
        self.write(move |w| {
            Box::pin(async move {
                let (user, _, created) = upsert_member(
                    &mut w.conn,
                    &org,
                    &email,
                    &member.name,
                    &member.roles,
                    password_hash,
                    w.now,
                )
                .await?;
                let (salt, after) = user_now(&mut w.conn, &user.id.0).await?;
                let action = if created { "user.add" } else { "user.roles" };
                w.audit(
                    Some(&actor_id),
                    Some(&org.0),
                    action,
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

    /// People of an organisation with their roles in it.
    pub async fn members(&self, actor: &Principal, org: &OrgId) -> Result<Vec<(User, Vec<Role>)>> {
        self.org(actor, org).await?;
        let rows = sqlx::query(
            "SELECT u.id, u.email, u.name, u.created_at, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1 ORDER BY u.email, m.role",
        )
        .bind(org.0.clone())
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<(User, Vec<Role>)> = Vec::new();
        for r in &rows {
            let user = user_from_row(r)?;
            let role: Role = parse_enum(&get_s(r, "role")?)?;
            match out.last_mut() {
                Some((u, roles)) if u.id == user.id => roles.push(role),
                _ => out.push((user, vec![role])),
            }
        }
        Ok(out)
    }

    /// Issues an API token for `user` (the caller themself, or an admin of one of their
    /// organisations). Returns the secret once.
    pub async fn create_token(
        &self,
        actor: &Principal,
        user: &UserId,
        label: &str,
    ) -> Result<(TokenInfo, String)> {
        self.may_manage_user(actor, user).await?;
        let (user, label, actor_id) = (
            user.clone(),
            label.trim().to_owned(),
            actor.user.id.0.clone(),
        );
        self.write(move |w| {
            Box::pin(async move {
                let (info, secret) =
                    insert_token(&mut w.conn, &user, &label, "api", None, w.now).await?;
                w.audit(
                    Some(&actor_id),
                    None,
                    "token.create",
                    "token",
                    &info.id.0,
                    None,
                    None,
                );
                Ok((info, secret))
            })
        })
        .await
    }

    /// A user's API tokens (never the secrets).
    pub async fn tokens(&self, actor: &Principal, user: &UserId) -> Result<Vec<TokenInfo>> {
        self.may_manage_user(actor, user).await?;
        let rows = sqlx::query("SELECT id, user_id, label, created_at, revoked_at FROM tokens WHERE user_id = $1 AND kind = 'api' ORDER BY created_at")
            .bind(user.0.clone())
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TokenInfo {
                    id: TokenId(get_s(r, "id")?),
                    user_id: UserId(get_s(r, "user_id")?),
                    label: get_s(r, "label")?,
                    created_at: parse_ts(&get_s(r, "created_at")?)?,
                    revoked_at: parse_opt_ts(get_os(r, "revoked_at")?)?,
                })
            })
            .collect()
    }

    /// Revokes an API token.
    pub async fn revoke_token(&self, actor: &Principal, token: &TokenId) -> Result<()> {
        let row = sqlx::query("SELECT user_id FROM tokens WHERE id = $1")
            .bind(token.0.clone())
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("token {token}")))?;
        let user = UserId(get_s(&row, "user_id")?);
        self.may_manage_user(actor, &user).await?;
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
                w.audit(
                    Some(&actor_id),
                    None,
                    "token.revoke",
                    "token",
                    &token.0,
                    None,
                    None,
                );
                Ok(())
            })
        })
        .await
    }

    /// Sets a user's web password (the user themself or an admin of one of their organisations).
    pub async fn set_password(
        &self,
        actor: &Principal,
        user: &UserId,
        password: &str,
    ) -> Result<()> {
        self.may_manage_user(actor, user).await?;
        if password.chars().count() < 12 {
            return Err(StoreError::invalid(
                "password",
                "must be at least 12 characters",
            ));
        }
        let p = password.to_owned();
        let hash = tokio::task::spawn_blocking(move || hash_password(&p))
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))??;
        let (user, actor_id) = (user.clone(), actor.user.id.0.clone());
        self.write(move |w| {
            Box::pin(async move {
                let (salt, before) = user_now(&mut w.conn, &user.0).await?;
                sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                    .bind(hash)
                    .bind(user.0.clone())
                    .execute(&mut w.conn)
                    .await?;
                let (_, after) = user_now(&mut w.conn, &user.0).await?;
                w.audit(
                    Some(&actor_id),
                    None,
                    "user.password",
                    "user",
                    &user.0,
                    Some(digest(&salt, &before)),
                    Some(digest(&salt, &after)),
                );
                Ok(())
            })
        })
        .await
    }

    async fn may_manage_user(&self, actor: &Principal, user: &UserId) -> Result<()> {
        if &actor.user.id == user {
            return Ok(());
        }
        let target = self.principal(user).await?;
        for m in &target.memberships {
            if self.administers(actor, &m.org_id).await? {
                return Ok(());
            }
        }
        Err(StoreError::NotFound(format!("user {user}")))
    }

    /// Number of users (for `/metrics` and the demo's idempotence check).
    pub async fn user_count(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(self.pool())
            .await?;
        get_i(&row, "n")
    }

    /// Finds an organisation by its exact name (system use: demo seeding, CLI).
    pub async fn org_by_name(&self, name: &str) -> Result<Option<Org>> {
        let row = sqlx::query("SELECT id, name, kind, created_at FROM orgs WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(org_from_row).transpose()
    }

    /// Finds a user by email (system use: demo seeding, CLI).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT id, email, name, created_at FROM users WHERE email = $1")
            .bind(email.trim().to_lowercase())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user_from_row).transpose()
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

    /// Issues an API token without an acting admin (system use: demo seeding).
    pub async fn system_create_token(&self, user: &UserId, label: &str) -> Result<String> {
        let (user, label) = (user.clone(), label.to_owned());
        self.write(move |w| {
            Box::pin(async move {
                let (info, secret) =
                    insert_token(&mut w.conn, &user, &label, "api", None, w.now).await?;
                w.audit(None, None, "token.create", "token", &info.id.0, None, None);
                Ok(secret)
            })
        })
        .await
    }

    /// Ensures a token with this exact secret exists for `user` (system use: the demo's
    /// fixed tokens, so seeding twice changes nothing). Returns true when it was created.
    pub async fn system_ensure_token(
        &self,
        user: &UserId,
        label: &str,
        secret: &str,
    ) -> Result<bool> {
        let (user, label, hash) = (user.clone(), label.to_owned(), token_hash(secret));
        self.write(move |w| {
            Box::pin(async move {
                let exists = sqlx::query("SELECT id FROM tokens WHERE sha256 = $1").bind(hash.clone()).fetch_optional(&mut w.conn).await?;
                if exists.is_some() {
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
