//! Mailed links: invitation links (a new person sets up their account; an existing person
//! only opens the invitation) and password-reset links. Each works once, until it expires,
//! and is stored only as its SHA-256. Run on SQLite always and on a fresh PostgreSQL
//! database when configured.

use greenlight_store::*;
use sqlx::Connection;

mod backends;
use backends::{Db, Northlight, northlight, with_each_backend};

const PASSWORD: &str = "a long enough password";

async fn sql(db: &Db, statement: &str) {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut conn)
        .await
        .expect("the statement runs");
}

/// Every text column of the tables that hold links, and the audit log, as one string.
async fn stored_text(db: &Db) -> String {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("connect");
    let mut out = String::new();
    for q in [
        "SELECT COALESCE(token_sha256, '') AS t FROM invitations",
        "SELECT sha256 AS t FROM one_time_links",
        "SELECT action || ' ' || entity || ' ' || entity_id AS t FROM audit_entries",
    ] {
        let rows: Vec<(String,)> = sqlx::query_as(q)
            .fetch_all(&mut conn)
            .await
            .expect("read back");
        for (t,) in rows {
            out.push_str(&t);
            out.push('\n');
        }
    }
    out
}

fn conflict_says(r: Result<UserId>, words: &str) {
    match r {
        Err(StoreError::Conflict { message, .. }) => {
            assert!(message.contains(words), "{message:?} should say {words:?}")
        }
        other => panic!("expected a conflict saying {words:?}, got {other:?}"),
    }
}

fn new_member(email: &str) -> NewMember {
    NewMember {
        email: email.into(),
        name: "New Person".into(),
        roles: vec![Role::Reviewer],
        password: None,
    }
}

async fn story(db: Db) {
    let store = db.store().await;
    let Northlight {
        org,
        admin,
        reviewer,
        partner,
        ..
    } = northlight(&store).await;

    // A new address without a password: created at once with the roles, and a link.
    let (enrolment, link) = store
        .add_member_with_link(&admin, &org, new_member("New@Northlight.example"))
        .await
        .expect("added");
    let user = enrolment.added().expect("a new person");
    let link = link.expect("a link to set up the account");
    assert_eq!(link.purpose, LinkPurpose::Invitation { new_person: true });
    assert_eq!(link.email, "new@northlight.example");
    assert_eq!(link.org_name, "Northlight Studios");
    assert_eq!(link.roles, [Role::Reviewer]);
    assert_eq!(link.secret.len(), 43);
    let days = (link.expires_at - chrono::Utc::now()).num_hours();
    assert!((7 * 24 - 1..=7 * 24).contains(&days), "{days} hours");
    assert!(
        store.principal(&user.id).await.expect("exists").memberships[0].role == Role::Reviewer,
        "the roles are given at once"
    );
    // Added with a password: no link.
    let (_, none) = store
        .add_member_with_link(
            &admin,
            &org,
            NewMember {
                password: Some(PASSWORD.into()),
                ..new_member("api@northlight.example")
            },
        )
        .await
        .expect("added with a password");
    assert!(none.is_none());

    let found = store
        .invitation_by_link(&link.secret)
        .await
        .expect("reads")
        .expect("the link is known");
    assert!(found.new_person && !found.has_password && !found.sso);
    assert_eq!(found.person, user.id);
    assert_eq!(found.problem(chrono::Utc::now()), None);
    assert!(
        store
            .invitation_by_link("not-a-link")
            .await
            .expect("reads")
            .is_none()
    );
    // The new person's invitation is not one they answer on /invitations.
    let me = store.principal(&user.id).await.expect("exists");
    assert!(store.my_invitations(&me).await.expect("lists").is_empty());

    // A password of the wrong length is refused, naming the field; the link still works.
    let short = store
        .consume_invitation_link(&link.secret, AccountSetup::Password("short".into()))
        .await;
    assert!(
        matches!(&short, Err(StoreError::Invalid { summary, .. }) if summary.starts_with("password:")),
        "{short:?}"
    );
    let used = store
        .consume_invitation_link(&link.secret, AccountSetup::Password(PASSWORD.into()))
        .await
        .expect("the link sets the password");
    assert_eq!(used, user.id);
    assert_eq!(
        store
            .check_password("new@northlight.example", PASSWORD)
            .await
            .expect("checks"),
        Some(user.id.clone())
    );
    // Once only.
    conflict_says(
        store
            .consume_invitation_link(&link.secret, AccountSetup::Password(PASSWORD.into()))
            .await,
        "already used",
    );
    let after = store
        .invitation_by_link(&link.secret)
        .await
        .expect("reads")
        .expect("still known");
    assert_eq!(after.problem(chrono::Utc::now()), Some(LinkProblem::Used));

    // An existing person: the link opens the invitation and never sets anything.
    let (enrolment, link) = store
        .add_member_with_link(&admin, &org, new_member("reviewer@northlight.example"))
        .await
        .expect("invited");
    let invitation = match enrolment {
        Enrolment::Invited(i) => i,
        Enrolment::Added(_) => panic!("an existing person is only invited"),
    };
    let link = link.expect("the invitation's link");
    assert_eq!(link.purpose, LinkPurpose::Invitation { new_person: false });
    let found = store
        .invitation_by_link(&link.secret)
        .await
        .expect("reads")
        .expect("known");
    assert!(!found.new_person);
    assert_eq!(found.person, reviewer.user.id);
    assert_eq!(found.invitation.id, invitation.id);
    conflict_says(
        store
            .consume_invitation_link(&link.secret, AccountSetup::Password(PASSWORD.into()))
            .await,
        "sign in as yourself",
    );
    assert_eq!(
        store
            .check_password("reviewer@northlight.example", PASSWORD)
            .await
            .expect("checks"),
        None,
        "the existing person's password was not touched"
    );
    store
        .answer_invitation(&reviewer, &invitation.id, true)
        .await
        .expect("accepted signed in");
    let after = store
        .invitation_by_link(&link.secret)
        .await
        .expect("reads")
        .expect("known");
    assert_eq!(after.problem(chrono::Utc::now()), Some(LinkProblem::Used));

    // Expired and withdrawn invitation links.
    let (_, late) = store
        .add_member_with_link(&admin, &org, new_member("late@northlight.example"))
        .await
        .expect("added");
    let late = late.expect("a link");
    sql(
        &db,
        "UPDATE invitations SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE email = 'late@northlight.example'",
    )
    .await;
    conflict_says(
        store
            .consume_invitation_link(&late.secret, AccountSetup::SingleSignOn)
            .await,
        "expired",
    );
    let (_, gone) = store
        .add_member_with_link(&admin, &org, new_member("gone@northlight.example"))
        .await
        .expect("added");
    let gone = gone.expect("a link");
    let id = store
        .invitation_by_link(&gone.secret)
        .await
        .expect("reads")
        .expect("known")
        .invitation
        .id;
    store
        .revoke_invitation(&admin, &id)
        .await
        .expect("withdrawn");
    let withdrawn = store
        .invitation_by_link(&gone.secret)
        .await
        .expect("reads")
        .expect("known");
    assert_eq!(
        withdrawn.problem(chrono::Utc::now()),
        Some(LinkProblem::Revoked)
    );
    // Single sign-on sets up an account without a password.
    let (_, sso) = store
        .add_member_with_link(&admin, &org, new_member("sso@northlight.example"))
        .await
        .expect("added");
    let sso = sso.expect("a link");
    sql(
        &db,
        &format!(
            "INSERT INTO sso_settings (studio_id, issuer_url, client_id, client_secret, scopes, claim, mapping, updated_at, updated_by) \
             VALUES ('{}', 'https://login.northlight.example', 'greenlight', 'sealed', '', 'groups', '[]', '2026-12-01T00:00:00.000000Z', '{}')",
            org.0, admin.user.id.0
        ),
    )
    .await;
    let offered = store
        .invitation_by_link(&sso.secret)
        .await
        .expect("reads")
        .expect("known");
    assert!(offered.sso, "the studio's single sign-on is offered");
    assert_eq!(offered.studio, org);
    store
        .consume_invitation_link(&sso.secret, AccountSetup::SingleSignOn)
        .await
        .expect("set up through single sign-on");
    conflict_says(
        store
            .consume_invitation_link(&sso.secret, AccountSetup::SingleSignOn)
            .await,
        "already used",
    );

    // Password reset: an unknown address gets nothing, a known one a link for one hour.
    assert!(
        store
            .request_password_reset("nobody@northlight.example")
            .await
            .expect("asks")
            .is_none()
    );
    let first = store
        .request_password_reset(" Producer@Northlight.example ")
        .await
        .expect("asks")
        .expect("a person of a studio with passwords gets a link");
    assert_eq!(first.purpose, LinkPurpose::PasswordReset);
    assert_eq!(first.email, "producer@northlight.example");
    assert_eq!(first.org_name, "Northlight Studios");
    let minutes = (first.expires_at - chrono::Utc::now()).num_minutes();
    assert!((59..=60).contains(&minutes), "{minutes} minutes");
    let second = store
        .request_password_reset("producer@northlight.example")
        .await
        .expect("asks")
        .expect("another link");
    let session = store
        .create_session(&partner.user.id, std::time::Duration::from_secs(3600))
        .await
        .expect("a session");
    let short = store.consume_reset_link(&first.secret, "short").await;
    assert!(
        matches!(&short, Err(StoreError::Invalid { .. })),
        "{short:?}"
    );
    assert_eq!(
        store
            .consume_reset_link(&first.secret, PASSWORD)
            .await
            .expect("resets"),
        partner.user.id
    );
    assert_eq!(
        store
            .check_password("producer@northlight.example", PASSWORD)
            .await
            .expect("checks"),
        Some(partner.user.id.clone())
    );
    assert!(
        store
            .principal_by_secret(&session)
            .await
            .expect("looks up")
            .is_none(),
        "the reset signed the person out everywhere"
    );
    conflict_says(
        store.consume_reset_link(&first.secret, PASSWORD).await,
        "already used",
    );
    conflict_says(
        store.consume_reset_link(&second.secret, PASSWORD).await,
        "already used",
    );
    assert!(matches!(
        store.consume_reset_link("unknown", PASSWORD).await,
        Err(StoreError::NotFound(_))
    ));

    // An expired reset link.
    let third = store
        .request_password_reset("producer@northlight.example")
        .await
        .expect("asks")
        .expect("a link");
    sql(
        &db,
        "UPDATE one_time_links SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE used_at IS NULL",
    )
    .await;
    let expired = store
        .reset_link(&third.secret)
        .await
        .expect("reads")
        .expect("known");
    assert_eq!(
        expired.problem(chrono::Utc::now()),
        Some(LinkProblem::Expired)
    );
    conflict_says(
        store.consume_reset_link(&third.secret, PASSWORD).await,
        "expired",
    );

    // A studio that switched local passwords off: its people get no reset link.
    sql(&db, "UPDATE orgs SET local_passwords = 0").await;
    assert!(
        store
            .request_password_reset("producer@northlight.example")
            .await
            .expect("asks")
            .is_none()
    );

    // Audited, never with a secret; the chain still verifies.
    let text = stored_text(&db).await;
    for action in [
        "invitation.create",
        "invitation.link",
        "invitation.accept",
        "password_reset.link",
        "password_reset.use",
    ] {
        assert!(text.contains(action), "{action} is audited:\n{text}");
    }
    for secret in [&link.secret, &first.secret, &second.secret, &late.secret] {
        assert!(!text.contains(secret.as_str()), "a secret was stored");
    }
    let report = store.verify_audit_system().await.expect("verifies");
    assert!(report.valid, "{report:?}");
    store.close().await;
    db.drop().await;
}

#[tokio::test]
async fn links_work_once_until_they_expire() {
    with_each_backend("links", |db| Box::pin(story(db))).await;
}
