//! Links people follow from a mail: invitation links (`/join/SECRET`) and password-reset
//! links (`/reset/SECRET`).
//!
//! A link's secret is a long random string (256 bits, base64url), like an API token, and is
//! stored only as its SHA-256: invitation links in `invitations.token_sha256`, reset links in
//! `one_time_links`. Each works once: the write that uses it marks it used (an invitation
//! answered, a reset link's `used_at`), so a second use finds it used. Invitation links work
//! for as long as the invitation (7 days), reset links for one hour.
//!
//! An invitation of a **new address** is a row with no `user_id`: the person was created at
//! once with the roles (and no password), and the link lets them set up their account (a
//! password here, or the studio's single sign-on through
//! [`Store::consume_invitation_link`]). An invitation of an **existing person** carries their
//! id: its link only opens the invitation, which they accept signed in as themselves
//! ([`Store::answer_invitation`]); it never touches their credentials.

use chrono::{DateTime, Utc};

use super::tenancy::{
    INVITATION_DAYS, INVITATION_SELECT, hash_new_password, new_secret, store_password,
    studio_of_org, studios_of_user, token_hash,
};
use crate::db::{OptTs, Ts, to_json, ts};
use crate::model::{Invitation, InvitationId, InvitationState, OrgId, Role, User, UserId};
use crate::writer::WriteCtx;
use crate::{Result, Store, StoreError};

/// How long a password-reset link works.
pub const RESET_LINK_MINUTES: i64 = 60;

/// The `one_time_links.purpose` of a password-reset link.
const PURPOSE_RESET: &str = "password_reset";

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// An invitation into an organisation. `new_person`: the address was new, and the link
    /// sets up the account; otherwise the person signs in and accepts.
    Invitation { new_person: bool },
    /// Choosing a new password.
    PasswordReset,
}

/// A link just issued: what its mail needs. The secret is here once and nowhere else.
#[derive(Clone)]
pub struct IssuedLink {
    pub purpose: LinkPurpose,
    /// The link's secret (the last segment of its address).
    pub secret: String,
    /// Where the mail goes.
    pub email: String,
    /// The person's name (their address when they gave none).
    pub name: String,
    /// The organisation the mail names: the inviting one, or the person's studio.
    pub org_name: String,
    /// The roles an invitation gives (empty for a reset).
    pub roles: Vec<Role>,
    /// Who invited (their name or address); `None` for a reset.
    pub invited_by: Option<String>,
    /// The link stops working at this time.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for IssuedLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedLink")
            .field("purpose", &self.purpose)
            .field("secret", &"[redacted]")
            .field("email", &self.email)
            .field("org_name", &self.org_name)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Why a link cannot be used (any more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    /// It was used (the invitation was accepted, or the password was chosen).
    Used,
    /// The invitation was declined.
    Declined,
    /// The organisation's admin withdrew the invitation (or sent a newer one).
    Revoked,
    /// Its time ran out.
    Expired,
    /// The invited account already has a password (someone set one meanwhile).
    AlreadySetUp,
}

impl LinkProblem {
    /// The problem as people read it.
    pub fn message(self) -> &'static str {
        match self {
            LinkProblem::Used => "This link was already used. Each link works only once.",
            LinkProblem::Declined => "This invitation was declined.",
            LinkProblem::Revoked => {
                "This invitation was withdrawn by the organisation's admin (or replaced by a newer one)."
            }
            LinkProblem::Expired => {
                "This link has expired. Ask for a new one: the organisation's admin for an \
                 invitation, or \u{201c}Forgot your password?\u{201d} on the sign-in page."
            }
            LinkProblem::AlreadySetUp => {
                "This account already has a password: sign in with it, or choose a new one with \
                 \u{201c}Forgot your password?\u{201d} on the sign-in page."
            }
        }
    }
}

/// An invitation as found by its link ([`Store::invitation_by_link`]).
#[derive(Debug, Clone)]
pub struct InvitationLink {
    pub invitation: Invitation,
    /// The invited person (created at once when the address was new).
    pub person: UserId,
    /// The address was new: the link sets up the account ([`Store::consume_invitation_link`]);
    /// otherwise the person signs in and answers ([`Store::answer_invitation`]).
    pub new_person: bool,
    /// The person has a password.
    pub has_password: bool,
    /// The studio of the inviting organisation.
    pub studio: OrgId,
    /// That studio has single sign-on configured.
    pub sso: bool,
}

impl InvitationLink {
    /// Why the link cannot be used at `now`, if it cannot.
    pub fn problem(&self, now: DateTime<Utc>) -> Option<LinkProblem> {
        invitation_problem(&self.invitation, self.new_person, self.has_password, now)
    }
}

fn invitation_problem(
    invitation: &Invitation,
    new_person: bool,
    has_password: bool,
    now: DateTime<Utc>,
) -> Option<LinkProblem> {
    match invitation.state {
        InvitationState::Accepted => Some(LinkProblem::Used),
        InvitationState::Declined => Some(LinkProblem::Declined),
        InvitationState::Revoked => Some(LinkProblem::Revoked),
        InvitationState::Pending if invitation.expires_at <= now => Some(LinkProblem::Expired),
        InvitationState::Pending if new_person && has_password => Some(LinkProblem::AlreadySetUp),
        InvitationState::Pending => None,
    }
}

/// A password-reset link as found by its secret ([`Store::reset_link`]).
#[derive(Debug, Clone)]
pub struct ResetLink {
    pub person: UserId,
    pub email: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

impl ResetLink {
    /// Why the link cannot be used at `now`, if it cannot.
    pub fn problem(&self, now: DateTime<Utc>) -> Option<LinkProblem> {
        if self.used_at.is_some() {
            Some(LinkProblem::Used)
        } else if self.expires_at <= now {
            Some(LinkProblem::Expired)
        } else {
            None
        }
    }
}

/// How a new person sets up their account from an invitation link.
#[derive(Clone)]
pub enum AccountSetup {
    /// With this password (checked for length, hashed with argon2).
    Password(String),
    /// Through the studio's single sign-on: the caller links the identity it verified.
    SingleSignOn,
}

impl std::fmt::Debug for AccountSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AccountSetup::Password(_) => "Password([redacted])",
            AccountSetup::SingleSignOn => "SingleSignOn",
        })
    }
}

/// A new link secret: 256 random bits, base64url, no prefix (it ends a path).
fn new_link_secret() -> String {
    new_secret("")
}

/// The name people are called by: their name, or their address when they gave none.
fn display_name(name: &str, email: &str) -> String {
    if name.trim().is_empty() {
        email.to_owned()
    } else {
        name.trim().to_owned()
    }
}

/// The studios whose audit logs record what happens to an invitation: the inviting
/// organisation's studio and every studio the invited person belongs to.
async fn invitation_studios(w: &mut WriteCtx, org: &OrgId, person: &UserId) -> Result<Vec<OrgId>> {
    let mut studios = studios_of_user(&mut w.conn, person).await?;
    studios.push(studio_of_org(&mut w.conn, org).await?);
    studios.sort();
    studios.dedup();
    Ok(studios)
}

fn audit_in(
    w: &mut WriteCtx,
    actor: Option<&str>,
    studios: &[OrgId],
    action: &str,
    entity: &'static str,
    entity_id: &str,
) {
    if studios.is_empty() {
        w.audit(actor, None, action, entity, entity_id, None, None);
    }
    for studio in studios {
        w.audit(
            actor,
            Some(&studio.0),
            action,
            entity,
            entity_id,
            None,
            None,
        );
    }
}

/// Gives `invitation` a fresh link (replacing any earlier one) in the same write, and audits
/// `invitation.link` (never the secret). `new_person` says which kind of link it is.
pub(super) async fn link_invitation(
    w: &mut WriteCtx,
    invitation: &Invitation,
    new_person: bool,
) -> Result<IssuedLink> {
    let secret = new_link_secret();
    sqlx::query("UPDATE invitations SET token_sha256 = $1 WHERE id = $2")
        .bind(token_hash(&secret))
        .bind(invitation.id.0.clone())
        .execute(&mut w.conn)
        .await?;
    let (user_id, invited_by): (Option<String>, String) =
        sqlx::query_as("SELECT user_id, invited_by FROM invitations WHERE id = $1")
            .bind(invitation.id.0.clone())
            .fetch_one(&mut w.conn)
            .await?;
    let person: Option<(String, String, String)> = match user_id {
        Some(id) => {
            sqlx::query_as("SELECT id, email, name FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut w.conn)
                .await?
        }
        None => {
            sqlx::query_as("SELECT id, email, name FROM users WHERE email = $1")
                .bind(invitation.email.clone())
                .fetch_optional(&mut w.conn)
                .await?
        }
    };
    let name = person
        .as_ref()
        .map(|(_, email, name)| display_name(name, email))
        .unwrap_or_else(|| invitation.email.clone());
    let person = person.map(|(id, _, _)| UserId(id));
    let studios = match &person {
        Some(p) => invitation_studios(w, &invitation.org_id, p).await?,
        None => vec![studio_of_org(&mut w.conn, &invitation.org_id).await?],
    };
    audit_in(
        w,
        Some(&invited_by),
        &studios,
        "invitation.link",
        "invitation",
        &invitation.id.0,
    );
    Ok(IssuedLink {
        purpose: LinkPurpose::Invitation { new_person },
        secret,
        email: invitation.email.clone(),
        name,
        org_name: invitation.org_name.clone(),
        roles: invitation.roles.clone(),
        invited_by: Some(invitation.invited_by.clone()),
        expires_at: invitation.expires_at,
    })
}

/// Records the invitation of a person just created without a password (their roles were
/// given at once) and issues its link, in the enrolment's write. The row has no `user_id`:
/// the address was new, and the person does not answer it on `/invitations`.
pub(super) async fn invite_new_person(
    w: &mut WriteCtx,
    actor: &UserId,
    org: &OrgId,
    user: &User,
    roles: &[Role],
) -> Result<IssuedLink> {
    let now = w.now;
    let (org_name, inviter): (String, String) = sqlx::query_as(
        "SELECT o.name, COALESCE(NULLIF(u.name, ''), u.email) AS inviter FROM orgs o, users u \
         WHERE o.id = $1 AND u.id = $2",
    )
    .bind(org.0.clone())
    .bind(actor.0.clone())
    .fetch_one(&mut w.conn)
    .await?;
    let invitation = Invitation {
        id: InvitationId::new(),
        org_id: org.clone(),
        org_name,
        email: user.email.clone(),
        roles: roles.to_vec(),
        invited_by: inviter,
        state: InvitationState::Pending,
        created_at: now,
        expires_at: now + chrono::Duration::days(INVITATION_DAYS),
    };
    sqlx::query(
        "INSERT INTO invitations (id, org_id, user_id, email, roles, invited_by, state, created_at, expires_at) \
         VALUES ($1, $2, NULL, $3, $4, $5, 'pending', $6, $7)",
    )
    .bind(invitation.id.0.clone())
    .bind(org.0.clone())
    .bind(invitation.email.clone())
    .bind(to_json(&invitation.roles))
    .bind(actor.0.clone())
    .bind(ts(now))
    .bind(ts(invitation.expires_at))
    .execute(&mut w.conn)
    .await?;
    let studios = invitation_studios(w, org, &user.id).await?;
    audit_in(
        w,
        Some(&actor.0),
        &studios,
        "invitation.create",
        "invitation",
        &invitation.id.0,
    );
    link_invitation(w, &invitation, true).await
}

/// An invitation row found by its link's hash, with whom it invites.
#[derive(sqlx::FromRow)]
struct LinkedInvitation {
    #[sqlx(flatten)]
    invitation: Invitation,
    user_id: Option<String>,
}

/// The person an invitation is for: `user_id`, or (a new address) the person of that email.
async fn invited_person(
    conn: &mut sqlx::AnyConnection,
    row: &LinkedInvitation,
) -> Result<Option<(UserId, Option<String>)>> {
    let found: Option<(String, Option<String>)> = match &row.user_id {
        Some(id) => {
            sqlx::query_as("SELECT id, password_hash FROM users WHERE id = $1")
                .bind(id.clone())
                .fetch_optional(&mut *conn)
                .await?
        }
        None => {
            sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1")
                .bind(row.invitation.email.clone())
                .fetch_optional(&mut *conn)
                .await?
        }
    };
    Ok(found.map(|(id, hash)| (UserId(id), hash)))
}

async fn linked_invitation(
    conn: &mut sqlx::AnyConnection,
    secret: &str,
) -> Result<Option<LinkedInvitation>> {
    if secret.is_empty() || secret.len() > 128 {
        return Ok(None);
    }
    let sql = INVITATION_SELECT.replacen("SELECT i.id,", "SELECT i.user_id, i.id,", 1)
        + " WHERE i.token_sha256 = $1";
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(token_hash(secret))
        .fetch_optional(&mut *conn)
        .await?)
}

/// A password-reset link's row.
#[derive(sqlx::FromRow)]
struct ResetRow {
    user_id: String,
    email: String,
    #[sqlx(try_from = "Ts")]
    expires_at: DateTime<Utc>,
    #[sqlx(try_from = "OptTs")]
    used_at: Option<DateTime<Utc>>,
}

const RESET_SELECT: &str = "SELECT l.user_id, u.email, l.expires_at, l.used_at \
     FROM one_time_links l JOIN users u ON u.id = l.user_id \
     WHERE l.sha256 = $1 AND l.purpose = 'password_reset'";

/// The name of the first studio (by name) that lets `user` use a local password: one of
/// their organisations' studios with `local_passwords` on. `None` when every membership is
/// in studios that switched local passwords off (or they have none).
async fn password_studio(conn: &mut sqlx::AnyConnection, user: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT s.name FROM memberships m JOIN orgs o ON o.id = m.org_id \
         JOIN orgs s ON s.id = COALESCE(o.parent_id, o.id) \
         WHERE m.user_id = $1 AND s.local_passwords = 1 ORDER BY s.name LIMIT 1",
    )
    .bind(user.to_owned())
    .fetch_optional(&mut *conn)
    .await?)
}

impl Store {
    /// The invitation a link opens, whatever its state (`None` for a link that was never
    /// issued, or was replaced by a newer one). Check [`InvitationLink::problem`] before
    /// using it. For the pages and for single sign-on, which sets up an invited new person
    /// with [`Store::consume_invitation_link`].
    pub async fn invitation_by_link(&self, secret: &str) -> Result<Option<InvitationLink>> {
        let mut conn = self.pool().acquire().await?;
        let Some(row) = linked_invitation(&mut conn, secret).await? else {
            return Ok(None);
        };
        let Some((person, hash)) = invited_person(&mut conn, &row).await? else {
            return Ok(None);
        };
        let studio = studio_of_org(&mut conn, &row.invitation.org_id).await?;
        let sso: i64 =
            sqlx::query_scalar("SELECT COUNT(*) AS n FROM sso_settings WHERE studio_id = $1")
                .bind(studio.0.clone())
                .fetch_one(&mut *conn)
                .await?;
        Ok(Some(InvitationLink {
            new_person: row.user_id.is_none(),
            invitation: row.invitation,
            person,
            has_password: hash.is_some(),
            studio,
            sso: sso > 0,
        }))
    }

    /// Uses the link of an invitation of a new address: the person (created with the roles
    /// when they were added) sets up their account, with a password or through single
    /// sign-on ([`AccountSetup`]). In one write the invitation becomes accepted (so the link
    /// is used: a second use is refused with "already used") and the password is set; both
    /// are audited in the studios of the person and of the inviting organisation. Returns
    /// the person, for the caller to start their session.
    ///
    /// Refused (409) when the link is used, declined, withdrawn or expired, when it is the
    /// link of an existing person's invitation (they sign in and accept instead), and when
    /// the account already has a password; 404 for an unknown link; 422 naming `password`
    /// for a password of the wrong length.
    pub async fn consume_invitation_link(
        &self,
        secret: &str,
        setup: AccountSetup,
    ) -> Result<UserId> {
        let hash = match &setup {
            AccountSetup::Password(p) => Some(hash_new_password(p).await?),
            AccountSetup::SingleSignOn => None,
        };
        let secret = secret.to_owned();
        self.write(move |w| {
            Box::pin(async move {
                let row = linked_invitation(&mut w.conn, &secret)
                    .await?
                    .ok_or_else(|| StoreError::NotFound("invitation link".into()))?;
                let (person, existing_hash) = invited_person(&mut w.conn, &row)
                    .await?
                    .ok_or_else(|| StoreError::NotFound("invitation link".into()))?;
                if row.user_id.is_some() {
                    return Err(StoreError::conflict(
                        "this invitation is for an existing account: sign in as yourself and accept it",
                    ));
                }
                let invitation = row.invitation;
                if let Some(problem) =
                    invitation_problem(&invitation, true, existing_hash.is_some(), w.now)
                {
                    return Err(StoreError::conflict(problem.message()));
                }
                let changed = sqlx::query(
                    "UPDATE invitations SET state = 'accepted', decided_at = $1 WHERE id = $2 AND state = 'pending'",
                )
                .bind(ts(w.now))
                .bind(invitation.id.0.clone())
                .execute(&mut w.conn)
                .await?
                .rows_affected();
                if changed == 0 {
                    return Err(StoreError::conflict(LinkProblem::Used.message()));
                }
                let studios = invitation_studios(w, &invitation.org_id, &person).await?;
                audit_in(
                    w,
                    Some(&person.0),
                    &studios,
                    "invitation.accept",
                    "invitation",
                    &invitation.id.0,
                );
                if let Some(hash) = hash {
                    store_password(w, &person.0, &person, hash).await?;
                }
                Ok(person)
            })
        })
        .await
    }

    /// "Forgot password": issues a reset link (one hour, single use) for the person with this
    /// address, when there is one and a studio of theirs allows local passwords
    /// (`orgs.local_passwords`; a person whose every membership is in studios that switched
    /// them off gets none, password or not). `None` otherwise. The caller answers the same
    /// either way and sends the mail out of band, so the answer tells nobody whether the
    /// address has an account. Audited as `password_reset.link` in the person's studios,
    /// with no actor (nobody is signed in).
    pub async fn request_password_reset(&self, email: &str) -> Result<Option<IssuedLink>> {
        let email = email.trim().to_lowercase();
        let found: Option<(String, String, String)> =
            sqlx::query_as("SELECT id, email, name FROM users WHERE email = $1")
                .bind(email.clone())
                .fetch_optional(self.pool())
                .await?;
        // The same questions for an unknown address, so the work does not tell either.
        let id = found.as_ref().map(|f| f.0.clone()).unwrap_or_default();
        let mut conn = self.pool().acquire().await?;
        let studio = password_studio(&mut conn, &id).await?;
        drop(conn);
        let (Some((id, email, name)), Some(org_name)) = (found, studio) else {
            return Ok(None);
        };
        self.write(move |w| {
            Box::pin(async move {
                let secret = new_link_secret();
                let expires_at = w.now + chrono::Duration::minutes(RESET_LINK_MINUTES);
                sqlx::query(
                    "INSERT INTO one_time_links (sha256, purpose, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(token_hash(&secret))
                .bind(PURPOSE_RESET)
                .bind(id.clone())
                .bind(ts(w.now))
                .bind(ts(expires_at))
                .execute(&mut w.conn)
                .await?;
                let user = UserId(id);
                let studios = studios_of_user(&mut w.conn, &user).await?;
                audit_in(w, None, &studios, "password_reset.link", "user", &user.0);
                Ok(Some(IssuedLink {
                    purpose: LinkPurpose::PasswordReset,
                    secret,
                    name: display_name(&name, &email),
                    email,
                    org_name,
                    roles: Vec::new(),
                    invited_by: None,
                    expires_at,
                }))
            })
        })
        .await
    }

    /// The reset link of this secret, whatever its state (`None` when never issued). Check
    /// [`ResetLink::problem`] before showing its form.
    pub async fn reset_link(&self, secret: &str) -> Result<Option<ResetLink>> {
        if secret.is_empty() || secret.len() > 128 {
            return Ok(None);
        }
        let row: Option<ResetRow> = sqlx::query_as(RESET_SELECT)
            .bind(token_hash(secret))
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| ResetLink {
            person: UserId(r.user_id),
            email: r.email,
            expires_at: r.expires_at,
            used_at: r.used_at,
        }))
    }

    /// Uses a reset link: in one write the link is marked used, the new password (argon2) is
    /// set, the person's web sessions and every other outstanding reset link of theirs are
    /// revoked, and all of it is audited in their studios (`password_reset.use`,
    /// `user.password`). Returns the person, for the caller to start a new session.
    ///
    /// Refused (409) when the link was used or has expired, or when no studio of the person
    /// allows local passwords any more; 404 for an unknown link; 422 naming `password` for
    /// a password of the wrong length (the link stays usable).
    pub async fn consume_reset_link(&self, secret: &str, password: &str) -> Result<UserId> {
        let hash = hash_new_password(password).await?;
        let secret_hash = token_hash(secret);
        self.write(move |w| {
            Box::pin(async move {
                let row: ResetRow = sqlx::query_as(RESET_SELECT)
                    .bind(secret_hash.clone())
                    .fetch_optional(&mut w.conn)
                    .await?
                    .ok_or_else(|| StoreError::NotFound("reset link".into()))?;
                let link = ResetLink {
                    person: UserId(row.user_id),
                    email: row.email,
                    expires_at: row.expires_at,
                    used_at: row.used_at,
                };
                if let Some(problem) = link.problem(w.now) {
                    return Err(StoreError::conflict(problem.message()));
                }
                let person = link.person;
                if password_studio(&mut w.conn, &person.0).await?.is_none() {
                    return Err(StoreError::conflict(
                        "your studio signs you in with its single sign-on only; passwords are off",
                    ));
                }
                let now = ts(w.now);
                let changed = sqlx::query(
                    "UPDATE one_time_links SET used_at = $1 WHERE sha256 = $2 AND used_at IS NULL",
                )
                .bind(now.clone())
                .bind(secret_hash)
                .execute(&mut w.conn)
                .await?
                .rows_affected();
                if changed == 0 {
                    return Err(StoreError::conflict(LinkProblem::Used.message()));
                }
                // The other links of the person stop working too: one reset ends them all.
                sqlx::query(
                    "UPDATE one_time_links SET used_at = $1 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
                )
                .bind(now.clone())
                .bind(person.0.clone())
                .bind(PURPOSE_RESET)
                .execute(&mut w.conn)
                .await?;
                // Whoever had a session of the person (perhaps who learnt the old password)
                // is signed out, each end recorded as a sign-out is.
                let sessions: Vec<String> = sqlx::query_scalar(
                    "SELECT id FROM tokens WHERE user_id = $1 AND kind = 'session' AND revoked_at IS NULL",
                )
                .bind(person.0.clone())
                .fetch_all(&mut w.conn)
                .await?;
                sqlx::query(
                    "UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND kind = 'session' AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(person.0.clone())
                .execute(&mut w.conn)
                .await?;
                for id in &sessions {
                    w.audit(Some(&person.0), None, "session.end", "token", id, None, None);
                }
                let studios = studios_of_user(&mut w.conn, &person).await?;
                audit_in(
                    w,
                    Some(&person.0),
                    &studios,
                    "password_reset.use",
                    "user",
                    &person.0,
                );
                store_password(w, &person.0, &person, hash).await?;
                Ok(person)
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_secrets_are_256_bits_of_base64url() {
        let s = new_link_secret();
        assert_eq!(s.len(), 43);
        assert!(
            s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{s}"
        );
        assert_ne!(s, new_link_secret());
    }

    #[test]
    fn a_reset_link_is_used_then_expired_in_that_order() {
        let now = Utc::now();
        let mut link = ResetLink {
            person: UserId("u".into()),
            email: "a@example.com".into(),
            expires_at: now + chrono::Duration::minutes(1),
            used_at: None,
        };
        assert_eq!(link.problem(now), None);
        assert_eq!(
            link.problem(now + chrono::Duration::minutes(2)),
            Some(LinkProblem::Expired)
        );
        link.used_at = Some(now);
        assert_eq!(
            link.problem(now + chrono::Duration::minutes(2)),
            Some(LinkProblem::Used)
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let link = IssuedLink {
            purpose: LinkPurpose::PasswordReset,
            secret: "s3cret-value".into(),
            email: "a@example.com".into(),
            name: "A".into(),
            org_name: "Northlight".into(),
            roles: Vec::new(),
            invited_by: None,
            expires_at: Utc::now(),
        };
        assert!(!format!("{link:?}").contains("s3cret"));
        let setup = AccountSetup::Password("hunter2hunter2".into());
        assert!(!format!("{setup:?}").contains("hunter2"));
    }
}
