//! Sign-in records: SSO identities are (issuer, subject) and never an email; a first sign-in
//! provisions only into the studio's organisations; the mapping keeps the roles of the
//! organisations it names; a sign-in under way serves once; a TOTP step is accepted once;
//! local passwords and the admins' second factor follow the studio's policy; and the audit
//! log still verifies after all of it. Run on SQLite always and on a fresh PostgreSQL
//! database when configured.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use chrono::{Duration, Utc};
use greenlight_store::*;

mod backends;
use backends::{Db, Northlight, northlight, with_each_backend};

fn person(
    subject: &str,
    email: &str,
    grants: Vec<(OrgId, Vec<Role>)>,
    mapped: &[&OrgId],
) -> SsoPerson {
    SsoPerson {
        issuer: "https://login.northlight.example".into(),
        subject: subject.into(),
        email: Some(email.into()),
        name: Some("Ana Lima".into()),
        grants,
        mapped: mapped.iter().map(|o| (*o).clone()).collect(),
    }
}

fn record(studio: &OrgId) -> SsoRecord {
    SsoRecord {
        studio_id: studio.clone(),
        issuer_url: "https://login.northlight.example".into(),
        client_id: "greenlight".into(),
        client_secret: "sealed-secret-as-the-server-stores-it".into(),
        scopes: vec!["email".into(), "groups".into()],
        claim: "groups".into(),
        mapping: serde_json::json!([]),
        updated_at: Utc::now(),
    }
}

async fn story(db: Db) {
    let store = Store::open(db.config()).await.expect("opens");
    let Northlight {
        org,
        admin,
        reviewer,
        ..
    } = northlight(&store).await;
    let other = store
        .bootstrap_admin("Southgate Pictures", "admin@southgate.example", "S")
        .await
        .expect("another studio");
    let other_admin = store
        .principal_by_secret(&other.token)
        .await
        .unwrap()
        .unwrap();

    // Settings: only the studio's admins, and another studio's admin sees nothing.
    assert!(matches!(
        store.put_sso_settings(&reviewer, record(&org), false).await,
        Err(StoreError::Forbidden(_))
    ));
    assert!(matches!(
        store.sso_settings(&other_admin, Some(&org)).await,
        Err(StoreError::NotFound(_))
    ));
    // Passwords cannot go off before single sign-on is set up.
    let off = SignInPolicy {
        local_passwords: false,
        admin_totp: false,
    };
    let err = store
        .set_sign_in_policy(&admin, Some(&org), off)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("local_passwords"), "{err}");
    // A first save must carry the secret.
    let err = store
        .put_sso_settings(&admin, record(&org), true)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("client_secret"), "{err}");
    store
        .put_sso_settings(&admin, record(&org), false)
        .await
        .expect("saved");
    // Saving again without a secret keeps the stored one.
    let mut changed = record(&org);
    changed.claim = "roles".into();
    changed.client_secret = String::new();
    store
        .put_sso_settings(&admin, changed, true)
        .await
        .expect("saved again");
    let stored = store.sso_record(&org).await.unwrap().unwrap();
    assert_eq!(stored.claim, "roles");
    assert_eq!(
        stored.client_secret,
        "sealed-secret-as-the-server-stores-it"
    );

    // A first sign-in provisions a new person with the mapped roles.
    let ana = store
        .sso_sign_in(
            &org,
            person(
                "ana-1",
                "Ana.Lima@northlight.example",
                vec![(org.clone(), vec![Role::Reviewer, Role::Legal])],
                &[&org],
            ),
        )
        .await
        .expect("provisioned");
    let p = store.principal(&ana).await.unwrap();
    assert_eq!(p.user.email, "ana.lima@northlight.example");
    assert!(p.has_role(&org, Role::Reviewer) && p.has_role(&org, Role::Legal));
    assert!(
        store
            .check_password("ana.lima@northlight.example", "anything-at-all")
            .await
            .unwrap()
            .is_none()
    );
    // The same (issuer, subject) finds the same person, whatever email the provider asserts
    // now; the mapping's roles are the mapping's: legal is gone.
    let again = store
        .sso_sign_in(
            &org,
            person(
                "ana-1",
                "someone.else@northlight.example",
                vec![(org.clone(), vec![Role::Reviewer])],
                &[&org],
            ),
        )
        .await
        .unwrap();
    assert_eq!(again, ana);
    let p = store.principal(&ana).await.unwrap();
    assert!(p.has_role(&org, Role::Reviewer) && !p.has_role(&org, Role::Legal));
    // Another subject asserting an existing account's email is refused, never linked.
    let err = store
        .sso_sign_in(
            &org,
            person(
                "mallory-9",
                "reviewer@northlight.example",
                vec![(org.clone(), vec![Role::Admin])],
                &[&org],
            ),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert!(
        store
            .identities(&reviewer.user.id)
            .await
            .unwrap()
            .is_empty()
    );
    let r = store.principal(&reviewer.user.id).await.unwrap();
    assert!(!r.has_role(&org, Role::Admin));
    // A mapping that names another studio's organisation grants nothing there.
    let err = store
        .sso_sign_in(
            &org,
            person(
                "bo-2",
                "bo@northlight.example",
                vec![(other.org.id.clone(), vec![Role::Admin])],
                &[&other.org.id],
            ),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Forbidden(_)), "{err}");
    assert!(
        store
            .user_by_email("bo@northlight.example")
            .await
            .unwrap()
            .is_none()
    );

    // Linking: to the person who asked; an identity linked elsewhere is refused.
    store
        .link_sso_identity(
            &reviewer.user.id,
            &org,
            person("rev-3", "r@idp.example", vec![], &[]),
        )
        .await
        .expect("linked");
    let err = store
        .link_sso_identity(
            &admin.user.id,
            &org,
            person("rev-3", "r@idp.example", vec![], &[]),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    let found = store
        .sso_sign_in(
            &org,
            person(
                "rev-3",
                "r@idp.example",
                vec![(org.clone(), vec![Role::Reviewer])],
                &[&org],
            ),
        )
        .await
        .unwrap();
    assert_eq!(found, reviewer.user.id);

    // A sign-in under way serves once.
    let pending = SsoPending {
        studio_id: org.clone(),
        record: "sealed".into(),
        intent: SsoIntent::Link {
            user_id: admin.user.id.clone(),
        },
        next: "/queue".into(),
        expires_at: Utc::now() + Duration::minutes(10),
    };
    store.put_sso_pending("state-1", pending).await.unwrap();
    let taken = store
        .take_sso_pending("state-1")
        .await
        .unwrap()
        .expect("there");
    assert_eq!(taken.next, "/queue");
    assert_eq!(
        taken.intent,
        SsoIntent::Link {
            user_id: admin.user.id.clone()
        }
    );
    assert!(store.take_sso_pending("state-1").await.unwrap().is_none());

    // TOTP: each step once, and only later steps; enrolment confirmed by the first code.
    store
        .start_totp(&admin.user.id, "sealed-seed".into())
        .await
        .unwrap();
    assert!(!store.totp(&admin.user.id).await.unwrap().unwrap().confirmed);
    assert!(store.accept_totp_step(&admin.user.id, 100).await.unwrap());
    assert!(!store.accept_totp_step(&admin.user.id, 100).await.unwrap());
    assert!(!store.accept_totp_step(&admin.user.id, 99).await.unwrap());
    assert!(store.accept_totp_step(&admin.user.id, 101).await.unwrap());
    let t = store.totp(&admin.user.id).await.unwrap().unwrap();
    assert!(t.confirmed);
    assert_eq!(t.last_step, Some(101));
    assert!(matches!(
        store.start_totp(&admin.user.id, "another".into()).await,
        Err(StoreError::Conflict { .. })
    ));

    // Policy: passwords off for people only in this studio; admins need a second factor.
    let reviewer_id = store
        .check_password("reviewer@northlight.example", "irrelevant")
        .await
        .unwrap();
    assert!(reviewer_id.is_none());
    store
        .set_sign_in_policy(
            &admin,
            Some(&org),
            SignInPolicy {
                local_passwords: false,
                admin_totp: true,
            },
        )
        .await
        .expect("policy");
    assert!(
        !store
            .local_password_allowed(&reviewer.user.id)
            .await
            .unwrap()
    );
    // Someone who also belongs to another studio keeps their password.
    store
        .system_add_member(
            &other.org.id,
            NewMember {
                email: "reviewer@northlight.example".into(),
                name: String::new(),
                roles: vec![Role::Auditor],
                password: None,
            },
        )
        .await
        .unwrap();
    assert!(
        store
            .local_password_allowed(&reviewer.user.id)
            .await
            .unwrap()
    );
    // An admin with a factor acts as admin; a new admin with a password and none waits.
    let admin_now = store.principal(&admin.user.id).await.unwrap();
    assert!(
        store
            .admin_roles_on_hold(&admin_now)
            .await
            .unwrap()
            .is_empty()
    );
    let second = store
        .system_add_member(
            &org,
            NewMember {
                email: "second-admin@northlight.example".into(),
                name: String::new(),
                roles: vec![Role::Admin],
                password: Some("a-long-enough-password".into()),
            },
        )
        .await
        .unwrap();
    let second = store.principal(&second.id).await.unwrap();
    assert_eq!(
        store.admin_roles_on_hold(&second).await.unwrap(),
        vec![org.clone()]
    );

    // Challenges of a password sign-in: found while fresh, gone once ended.
    let c = store
        .create_challenge(&admin.user.id, "/queue")
        .await
        .unwrap();
    assert_eq!(
        store.challenge(&c).await.unwrap(),
        Some((admin.user.id.clone(), "/queue".to_owned()))
    );
    store.end_challenge(&c).await.unwrap();
    assert!(store.challenge(&c).await.unwrap().is_none());
    assert!(store.challenge("glc_unknown").await.unwrap().is_none());

    // Removing single sign-on turns passwords back on.
    store.delete_sso_settings(&admin, Some(&org)).await.unwrap();
    assert!(store.sign_in_policy(&org).await.unwrap().local_passwords);

    // Every change above was audited in a way the log still verifies.
    // Rows are compared with their last audit entry, so a role changed without one shows.
    let trust = audit::Trust::anchored(&db.key.public_hex(), "the test's key");
    let report = store.verify_database(&trust).await.expect("verifies");
    assert!(report.valid, "{report:?}");
}

#[tokio::test]
async fn sign_in_records_on_each_backend() {
    with_each_backend("sign_in", |db| Box::pin(story(db))).await;
}
