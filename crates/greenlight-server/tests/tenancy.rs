//! Who may act on whose account, across two studios and their companies, on SQLite and (when
//! `GREENLIGHT_TEST_POSTGRES_URL` is set) PostgreSQL.
//!
//! Before invitations, any admin could add any existing person to their own organisation
//! (`POST /orgs/{own}/members`) and then mint API tokens for them or overwrite their password:
//! an account takeover across studios, invisible in the victim studio's audit log. Now an
//! existing person is only ever invited, and an admin manages the credentials of a person
//! only when every organisation of that person is one the admin administers.

mod studio;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use greenlight_store::{
    Enrolment, NewMember, OrgId, OrgKind, Principal, Role, Store, StoreError, UserId,
};
use serde_json::json;
use studio::{Studio, TestPostgres, lighthouse_keeper};

const ORIGINAL_PASSWORD: &str = "the-owners-own-password";

/// A person whose account the admins try to reach.
struct Target {
    name: &'static str,
    email: String,
    id: UserId,
    /// The organisations the person belongs to.
    orgs: BTreeSet<String>,
}

/// An admin and the organisations they administer.
struct Admin {
    name: &'static str,
    token: String,
    principal: Principal,
    /// The organisation they add people to.
    own_org: OrgId,
    administers: BTreeSet<String>,
}

async fn principal(store: &Store, token: &str) -> Principal {
    store
        .principal_by_secret(token)
        .await
        .expect("lookup")
        .expect("token works")
}

async fn enrol(store: &Store, admin: &Principal, org: &OrgId, email: &str, role: Role) -> UserId {
    match store
        .add_member(
            admin,
            org,
            NewMember {
                email: email.into(),
                name: String::new(),
                roles: vec![role],
                password: None,
            },
        )
        .await
        .expect("enrol")
    {
        Enrolment::Added(u) => u.id,
        Enrolment::Invited(_) => panic!("{email} is new and is enrolled at once"),
    }
}

/// Invites an existing person and has them accept, as they would while signed in.
async fn invite_and_accept(store: &Store, admin: &Principal, org: &OrgId, email: &str) {
    let inv = match store
        .add_member(
            admin,
            org,
            NewMember {
                email: email.into(),
                name: String::new(),
                roles: vec![Role::Partner],
                password: None,
            },
        )
        .await
        .expect("invite")
    {
        Enrolment::Invited(i) => i,
        Enrolment::Added(_) => panic!("{email} exists and is only invited"),
    };
    let user = store
        .user_by_email(email)
        .await
        .expect("lookup")
        .expect("exists");
    let me = store.principal(&user.id).await.expect("principal");
    store
        .answer_invitation(&me, &inv.id, true)
        .await
        .expect("accept");
}

async fn orgs_of(store: &Store, user: &UserId) -> BTreeSet<String> {
    store
        .principal(user)
        .await
        .expect("principal")
        .memberships
        .iter()
        .map(|m| m.org_id.0.clone())
        .collect()
}

async fn matrix(t: Studio) {
    let store = t.state.store.clone();
    let admin_a = principal(&store, &t.admin).await;
    let studio_a = admin_a.memberships[0].org_id.clone();
    let company_a = store
        .orgs(&admin_a)
        .await
        .expect("orgs")
        .into_iter()
        .find(|o| o.kind == OrgKind::ProductionCompany)
        .expect("Harbour Films")
        .id;
    let rival = t.rival().await;
    let admin_b = principal(&store, &rival.admin).await;
    let studio_b = rival.org.clone();
    let company_b = store
        .create_org(&admin_b, "Rival Post", OrgKind::Vendor)
        .await
        .expect("vendor")
        .id;

    // Admins of the two companies, each enrolled by their studio.
    let admin_ca_id = enrol(
        &store,
        &admin_a,
        &company_a,
        "boss@harbour.example",
        Role::Admin,
    )
    .await;
    let admin_cb_id = enrol(
        &store,
        &admin_b,
        &company_b,
        "boss@rivalpost.example",
        Role::Admin,
    )
    .await;
    let admin_ca_token = store
        .system_create_token(&admin_ca_id, "t")
        .await
        .expect("token");
    let admin_cb_token = store
        .system_create_token(&admin_cb_id, "t")
        .await
        .expect("token");

    // People whose accounts the admins try to reach.
    let both_id = enrol(
        &store,
        &admin_a,
        &studio_a,
        "both@northlight.example",
        Role::Legal,
    )
    .await;
    invite_and_accept(&store, &admin_a, &company_a, "both@northlight.example").await;
    let post_id = enrol(
        &store,
        &admin_b,
        &company_b,
        "post@rivalpost.example",
        Role::Partner,
    )
    .await;
    let free_id = enrol(
        &store,
        &admin_a,
        &company_a,
        "freelancer@harbour.example",
        Role::Partner,
    )
    .await;
    let admin_cb = principal(&store, &admin_cb_token).await;
    invite_and_accept(&store, &admin_cb, &company_b, "freelancer@harbour.example").await;

    let mut targets = Vec::new();
    for (name, email, id) in [
        (
            "studio A reviewer",
            "reviewer@northlight.example".to_owned(),
            t.user_id(&t.reviewer).await,
        ),
        (
            "company A partner",
            "producer@harbour.example".to_owned(),
            t.user_id(&t.partner).await,
        ),
        (
            "studio A legal and company A partner",
            "both@northlight.example".to_owned(),
            both_id,
        ),
        (
            "studio B reviewer",
            "reviewer@rival.example".to_owned(),
            t.user_id(&rival.reviewer).await,
        ),
        (
            "company B partner",
            "post@rivalpost.example".to_owned(),
            post_id,
        ),
        (
            "company A and company B partner",
            "freelancer@harbour.example".to_owned(),
            free_id,
        ),
    ] {
        let me = store.principal(&id).await.expect("principal");
        store
            .set_password(&me, &id, ORIGINAL_PASSWORD)
            .await
            .expect("a person sets their own password");
        let orgs = orgs_of(&store, &id).await;
        targets.push(Target {
            name,
            email,
            id,
            orgs,
        });
    }

    let set = |orgs: &[&OrgId]| orgs.iter().map(|o| o.0.clone()).collect::<BTreeSet<_>>();
    let admins = vec![
        Admin {
            name: "studio A admin",
            principal: admin_a.clone(),
            token: t.admin.clone(),
            own_org: studio_a.clone(),
            administers: set(&[&studio_a, &company_a]),
        },
        Admin {
            name: "company A admin",
            principal: principal(&store, &admin_ca_token).await,
            token: admin_ca_token.clone(),
            own_org: company_a.clone(),
            administers: set(&[&company_a]),
        },
        Admin {
            name: "studio B admin",
            principal: admin_b.clone(),
            token: rival.admin.clone(),
            own_org: studio_b.clone(),
            administers: set(&[&studio_b, &company_b]),
        },
        Admin {
            name: "company B admin",
            principal: admin_cb.clone(),
            token: admin_cb_token.clone(),
            own_org: company_b.clone(),
            administers: set(&[&company_b]),
        },
    ];

    let mut allowed_pairs = 0;
    let mut passwords: std::collections::HashMap<UserId, &str> = targets
        .iter()
        .map(|t| (t.id.clone(), ORIGINAL_PASSWORD))
        .collect();
    for admin in &admins {
        for target in &targets {
            let who = format!("{} → {}", admin.name, target.name);
            let allowed = target.orgs.is_subset(&admin.administers);
            allowed_pairs += usize::from(allowed);
            let before = orgs_of(&store, &target.id).await;

            // Adding an existing person with a password never sets it.
            let uri = format!("/api/v1/orgs/{}/members", admin.own_org);
            let r = t
                .post_json(
                    &uri,
                    &admin.token,
                    json!({"email": target.email, "roles": ["auditor"], "password": "attackers-password-1"}),
                    None,
                )
                .await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{who}: add with a password: {}",
                r.text()
            );
            // Without one, the person is invited, not enrolled.
            let r = t
                .post_json(
                    &uri,
                    &admin.token,
                    json!({"email": target.email, "roles": ["auditor"]}),
                    None,
                )
                .await;
            assert_eq!(r.status, StatusCode::ACCEPTED, "{who}: add: {}", r.text());
            assert_eq!(r.json()["state"], "pending", "{who}");
            assert_eq!(
                orgs_of(&store, &target.id).await,
                before,
                "{who}: memberships unchanged"
            );

            // Tokens: list, mint, revoke.
            let r = t
                .get(&format!("/api/v1/users/{}/tokens", target.id), &admin.token)
                .await;
            assert_eq!(
                r.status == StatusCode::OK,
                allowed,
                "{who}: list tokens: {}",
                r.status
            );
            if !allowed {
                assert!(r.status.is_client_error(), "{who}: {}", r.status);
            }
            let r = t
                .post_json(
                    &format!("/api/v1/users/{}/tokens", target.id),
                    &admin.token,
                    json!({"label": "x"}),
                    None,
                )
                .await;
            assert_eq!(
                r.status == StatusCode::CREATED,
                allowed,
                "{who}: mint a token: {}",
                r.status
            );
            let label = format!("owned by {} for {}", target.name, admin.name);
            let victims = store
                .system_create_token(&target.id, &label)
                .await
                .expect("token");
            let victim_token = principal(&store, &victims).await;
            let token_id = store
                .tokens(&victim_token, &target.id)
                .await
                .expect("own tokens")
                .into_iter()
                .find(|k| k.label == label)
                .expect("the token just made")
                .id;
            let r = t
                .call(
                    Method::DELETE,
                    &format!("/api/v1/tokens/{token_id}"),
                    Some(&admin.token),
                    &[],
                    Body::empty(),
                )
                .await;
            assert_eq!(
                r.status == StatusCode::NO_CONTENT,
                allowed,
                "{who}: revoke a token: {}",
                r.status
            );
            let still_works = store
                .principal_by_secret(&victims)
                .await
                .expect("lookup")
                .is_some();
            assert_eq!(still_works, !allowed, "{who}: the token's fate");

            // Passwords.
            let r = store
                .set_password(&admin.principal, &target.id, "a-new-password-123")
                .await;
            match (allowed, r) {
                (true, Ok(())) => {
                    passwords.insert(target.id.clone(), "a-new-password-123");
                }
                (false, Err(StoreError::Forbidden(_) | StoreError::NotFound(_))) => {}
                (a, r) => panic!("{who}: set password (allowed {a}): {r:?}"),
            }
            let expected = passwords[&target.id];
            assert!(
                store
                    .check_password(&target.email, expected)
                    .await
                    .expect("check")
                    .is_some(),
                "{who}: the password is still the one its owner or an admin of all their organisations set"
            );
        }
    }
    // The matrix has both outcomes, so neither half of the assertions is vacuous.
    assert!(allowed_pairs > 0 && allowed_pairs < admins.len() * targets.len());

    // The freelancer of both studios' companies is nobody's to manage, and keeps their
    // password; their invitations wait for them.
    let free = targets[5].id.clone();
    assert!(
        store
            .check_password("freelancer@harbour.example", ORIGINAL_PASSWORD)
            .await
            .expect("check")
            .is_some()
    );
    let me = store.principal(&free).await.expect("principal");
    let pending = store.my_invitations(&me).await.expect("invitations");
    assert_eq!(
        pending.len(),
        4,
        "one pending invitation per admin's organisation: {pending:?}"
    );

    // A company admin cannot make themself studio legal: the studio is not theirs.
    let r = t
        .post_json(
            &format!("/api/v1/orgs/{studio_a}/members"),
            &admin_ca_token,
            json!({"email": "boss@harbour.example", "roles": ["legal"]}),
            None,
        )
        .await;
    assert!(
        r.status == StatusCode::FORBIDDEN || r.status == StatusCode::NOT_FOUND,
        "{}",
        r.text()
    );

    // Every membership change shows in every studio the person belongs to: the freelancer's
    // joining company B is in studio A's log as well as studio B's.
    for (auditor, studio) in [(&t.auditor, "A"), (&rival.auditor, "B")] {
        let entries = t.get("/api/v1/audit?limit=500", auditor).await.json();
        let joined = entries["items"]
            .as_array()
            .expect("entries")
            .iter()
            .filter(|e| e["entity_id"] == free.0.as_str() && e["action"] == "user.roles")
            .count();
        assert!(
            joined >= 1,
            "studio {studio} sees the freelancer's new membership: {entries}"
        );
    }
    // Every row the matrix wrote (people, memberships, tokens, passwords) matches the audit
    // log, as `audit verify --database-url` checks it.
    let key = store
        .config()
        .signing_key
        .as_ref()
        .expect("a key")
        .public_hex();
    let trust = greenlight_store::audit::Trust::anchored(&key, "the test's key");
    let report = store.verify_database(&trust).await.expect("verifies");
    assert!(report.valid, "{report:?}");
    t.state.store.close().await;
}

#[tokio::test]
async fn admins_reach_only_the_accounts_wholly_in_their_organisations_on_sqlite() {
    matrix(Studio::sqlite(lighthouse_keeper()).await).await;
}

#[tokio::test]
async fn admins_reach_only_the_accounts_wholly_in_their_organisations_on_postgres() {
    let Some(pg) = TestPostgres::create("the account matrix").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    matrix(Studio::open(&pg.url, dir, lighthouse_keeper()).await).await;
    pg.drop().await;
}

#[tokio::test]
async fn an_invitation_is_answered_only_by_the_person_invited_and_only_once() {
    let t = Studio::sqlite(lighthouse_keeper()).await;
    let rival = t.rival().await;
    let r = t
        .post_json(
            &format!("/api/v1/orgs/{}/members", rival.org),
            &rival.admin,
            json!({"email": "reviewer@northlight.example", "roles": ["reviewer"]}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    // The studio admin who invited cannot accept for the person, nor can anyone else.
    for token in [&rival.admin, &t.admin, &t.legal] {
        let r = t
            .post_json(
                &format!("/api/v1/invitations/{id}/accept"),
                token,
                json!({}),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    }
    let mine = t.get("/api/v1/me/invitations", &t.reviewer).await.json();
    assert_eq!(mine[0]["id"], id.as_str());
    assert_eq!(mine[0]["org_name"], "Rival Pictures");
    let r = t
        .post_json(
            &format!("/api/v1/invitations/{id}/accept"),
            &t.reviewer,
            json!({}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let me = t.get("/api/v1/me", &t.reviewer).await.json();
    assert!(
        me["memberships"]
            .as_array()
            .expect("memberships")
            .iter()
            .any(|m| m["org_id"] == rival.org.0.as_str() && m["role"] == "reviewer"),
        "{me}"
    );
    let r = t
        .post_json(
            &format!("/api/v1/invitations/{id}/decline"),
            &t.reviewer,
            json!({}),
            None,
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "answered once: {}",
        r.text()
    );
    // Now a member of both studios, the reviewer's credentials are no admin's to manage.
    let reviewer = t.user_id(&t.reviewer).await;
    for token in [&t.admin, &rival.admin] {
        let r = t
            .post_json(
                &format!("/api/v1/users/{reviewer}/tokens"),
                token,
                json!({"label": "x"}),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    }
    // Members are listed to admins only.
    for token in [&t.reviewer, &t.legal, &t.auditor, &t.partner] {
        let r = t
            .get(&format!("/api/v1/orgs/{}/members", rival.org), token)
            .await;
        assert!(r.status.is_client_error(), "{}", r.status);
    }
    let r = t
        .get(&format!("/api/v1/orgs/{}/members", rival.org), &rival.admin)
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn the_people_page_invites_an_existing_person_and_leaves_their_password() {
    let t = Studio::sqlite(lighthouse_keeper()).await;
    let rival = t.rival().await;
    let reviewer = t.user_id(&t.reviewer).await;
    let me = t.state.store.principal(&reviewer).await.expect("principal");
    t.state
        .store
        .set_password(&me, &reviewer, ORIGINAL_PASSWORD)
        .await
        .expect("own password");
    // The rival admin's API token works as a page session as well.
    let csrf = greenlight_server::pages::session::csrf_token(&rival.admin);
    let form = format!(
        "csrf={csrf}&org={}&name=x&email=reviewer%40northlight.example&role=admin&password=attackers-password-1",
        rival.org
    );
    let r = t
        .call(
            Method::POST,
            "/admin/people",
            None,
            &[
                ("cookie", &format!("gl_session={}", rival.admin)),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            form,
        )
        .await;
    // No mail on this server: the admin is shown the invitation's link once, to pass on.
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let page = r.text();
    assert!(page.contains("Invitation created"), "{page}");
    assert!(page.contains("mail is not configured"), "{page}");
    assert!(page.contains("/join/"), "{page}");
    let store = &t.state.store;
    assert!(
        store
            .check_password("reviewer@northlight.example", ORIGINAL_PASSWORD)
            .await
            .expect("check")
            .is_some()
    );
    assert!(
        store
            .check_password("reviewer@northlight.example", "attackers-password-1")
            .await
            .expect("check")
            .is_none()
    );
    assert!(!orgs_of(store, &reviewer).await.contains(&rival.org.0));
}
