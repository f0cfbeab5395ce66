//! API tokens: expiry (90 days by default, at most a year), the last time each was used,
//! restriction to one production, and rotation with a grace period; on SQLite always and on
//! a fresh PostgreSQL database when `GREENLIGHT_TEST_POSTGRES_URL` is set.

use chrono::{DateTime, Duration, Utc};
use greenlight_store::input::NewProduction;
use greenlight_store::*;
use sqlx::{Connection, Row};

mod backends;
use backends::{Db, member, northlight, with_each_backend};

/// A declaration of `production` (the title must match the production's).
fn declaration(title: &str, reference: &str) -> String {
    format!(
        "greenlight: declaration/v1
production:
  title: {title}
use:
  ref: {reference}
  summary: Storyboard ideas
  purpose: ideation
tools:
  - name: Acme Imagine Enterprise
    enterprise_agreement: true
    data_use: none
inputs:
  - kind: prompt
outputs:
  final: false
"
    )
}

async fn production(store: &Store, admin: &Principal, studio: &OrgId, title: &str) -> Production {
    store
        .create_production(
            admin,
            studio,
            NewProduction {
                facts: ProductionFacts {
                    title: title.into(),
                    kind: "scripted".into(),
                    eu_release: false,
                    release_date: None,
                    agreements: vec![],
                },
                packs: None,
            },
        )
        .await
        .expect("create production")
}

async fn token(store: &Store, who: &Principal, id: &TokenId) -> TokenInfo {
    store
        .tokens(who, &who.user.id)
        .await
        .expect("tokens")
        .into_iter()
        .find(|t| &t.id == id)
        .expect("the token is listed")
}

/// Sets a column of a token row by hand: the clock moved on (the store has no clock of its
/// own to move).
async fn set_time(db: &Db, token: &TokenId, column: &str, at: DateTime<Utc>) {
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("connect");
    let sql = format!("UPDATE tokens SET {column} = $1 WHERE id = $2");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .bind(token.0.clone())
        .execute(&mut conn)
        .await
        .expect("update the token row");
    conn.close().await.expect("close");
}

fn close_to(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    (a - b).num_seconds().abs() < 120
}

async fn expiry_story(db: Db) {
    let store = db.store().await;
    let n = northlight(&store).await;
    let me = &n.admin;
    // The first admin's token expires like any other.
    let first = store.tokens(me, &me.user.id).await.expect("tokens");
    let first = first.first().expect("the bootstrap token");
    assert_eq!(
        first.expires_at,
        Some(first.created_at + Duration::days(90)),
        "bootstrap_admin's token"
    );
    // No expiry asked for: 90 days.
    let (t, secret) = store
        .create_token(me, &me.user.id, "ci", TokenOptions::default())
        .await
        .expect("create");
    assert_eq!(t.expires_at, Some(t.created_at + Duration::days(90)));
    let stored = token(&store, me, &t.id).await;
    assert_eq!(
        stored.expires_at,
        Some(stored.created_at + Duration::days(90))
    );
    // At most a year; at least a day.
    let year = TokenOptions {
        expires_in_days: Some(365),
        ..Default::default()
    };
    let (y, _) = store
        .create_token(me, &me.user.id, "yearly", year)
        .await
        .expect("365 days is allowed");
    assert_eq!(y.expires_at, Some(y.created_at + Duration::days(365)));
    for days in [0, 366, -1] {
        let asked = TokenOptions {
            expires_in_days: Some(days),
            ..Default::default()
        };
        match store.create_token(me, &me.user.id, "x", asked).await {
            Err(StoreError::Invalid { problems, .. }) => {
                assert_eq!(
                    problems[0].path.as_deref(),
                    Some("expires_in_days"),
                    "{days}"
                );
            }
            other => panic!("{days} days: {other:?}"),
        }
    }
    // The system's tokens (tests, seeding) expire too.
    let system = store
        .system_create_token(&me.user.id, "system")
        .await
        .expect("system token");
    assert!(
        store
            .principal_by_secret(&system)
            .await
            .expect("lookup")
            .is_some()
    );
    let listed = store.tokens(me, &me.user.id).await.expect("tokens");
    assert!(
        listed.iter().all(|t| t.expires_at.is_some()),
        "every API token carries an expiry: {listed:?}"
    );

    // A token past its expiry signs nobody in, and says it expired.
    assert!(
        store
            .principal_by_secret(&secret)
            .await
            .expect("lookup")
            .is_some()
    );
    set_time(&db, &t.id, "expires_at", Utc::now() - Duration::seconds(1)).await;
    assert!(
        store
            .principal_by_secret(&secret)
            .await
            .expect("lookup")
            .is_none()
    );
    assert!(matches!(
        store.sign_in_with(&secret).await.expect("lookup"),
        SignedIn::Expired
    ));
    assert!(matches!(
        store.sign_in_with("glt_not_a_token").await.expect("lookup"),
        SignedIn::Unknown
    ));

    // The demo's fixed tokens never expire, and seeding again takes off an expiry the
    // upgrade gave them.
    let demo = "glt_demo_fixed_000000000000000000000000000000000";
    assert!(
        store
            .system_ensure_token(&me.user.id, "demo", demo)
            .await
            .expect("ensure")
    );
    let fixed = store
        .tokens(me, &me.user.id)
        .await
        .expect("tokens")
        .into_iter()
        .find(|t| t.label == "demo")
        .expect("the demo token");
    assert_eq!(fixed.expires_at, None);
    set_time(
        &db,
        &fixed.id,
        "expires_at",
        Utc::now() + Duration::days(90),
    )
    .await;
    assert!(
        !store
            .system_ensure_token(&me.user.id, "demo", demo)
            .await
            .expect("ensure")
    );
    assert_eq!(token(&store, me, &fixed.id).await.expires_at, None);

    let report = store.verify_audit(me).await.expect("verify");
    assert!(report.valid, "{report:?}");
    store.close().await;
    db.drop().await;
}

#[tokio::test]
async fn tokens_expire_after_90_days_by_default_and_a_year_at_most() {
    with_each_backend("token_expiry", |db| Box::pin(expiry_story(db))).await;
}

async fn last_used_story(db: Db) {
    let store = db.store().await;
    let n = northlight(&store).await;
    let me = &n.admin;
    let (t, secret) = store
        .create_token(me, &me.user.id, "ci", TokenOptions::default())
        .await
        .expect("create");
    assert_eq!(t.last_used_at, None);
    store
        .principal_by_secret(&secret)
        .await
        .expect("lookup")
        .expect("signs in");
    let first = token(&store, me, &t.id)
        .await
        .last_used_at
        .expect("recorded on use");
    assert!(close_to(first, Utc::now()), "{first}");
    // Within the minute nothing is written again.
    store
        .principal_by_secret(&secret)
        .await
        .expect("lookup")
        .expect("signs in");
    assert_eq!(token(&store, me, &t.id).await.last_used_at, Some(first));
    // A minute on, the next use is recorded.
    let earlier = Utc::now() - Duration::minutes(5);
    set_time(&db, &t.id, "last_used_at", earlier).await;
    store
        .principal_by_secret(&secret)
        .await
        .expect("lookup")
        .expect("signs in");
    let again = token(&store, me, &t.id)
        .await
        .last_used_at
        .expect("recorded");
    assert!(again > earlier + Duration::minutes(4), "{again}");
    store.close().await;
    db.drop().await;
}

#[tokio::test]
async fn a_token_records_when_it_was_last_used_at_most_once_a_minute() {
    with_each_backend("token_last_used", |db| Box::pin(last_used_story(db))).await;
}

async fn rotation_story(db: Db) {
    let store = db.store().await;
    let n = northlight(&store).await;
    let me = &n.admin;
    let mine = production(&store, me, &n.org, "The Lighthouse Keeper").await;
    let options = TokenOptions {
        expires_in_days: Some(30),
        production_id: Some(mine.id.clone()),
    };
    let (old, old_secret) = store
        .create_token(me, &me.user.id, "ci", options)
        .await
        .expect("create");
    for hours in [-1, 169] {
        match store.rotate_token(me, &old.id, Some(hours)).await {
            Err(StoreError::Invalid { problems, .. }) => {
                assert_eq!(problems[0].path.as_deref(), Some("grace_hours"));
            }
            other => panic!("{hours} hours: {other:?}"),
        }
    }
    let (new, new_secret) = store
        .rotate_token(me, &old.id, Some(2))
        .await
        .expect("rotate");
    assert_ne!(new_secret, old_secret);
    assert_ne!(new.id, old.id);
    assert_eq!(new.label, "ci");
    assert_eq!(
        new.production_id.as_ref(),
        Some(&mine.id),
        "the same restriction"
    );
    assert_eq!(
        new.expires_at,
        Some(new.created_at + Duration::days(30)),
        "as long as the old one was valid"
    );
    let old_now = token(&store, me, &old.id).await;
    assert_eq!(old_now.replaced_by.as_ref(), Some(&new.id));
    let grace_end = old_now.expires_at.expect("an expiry");
    assert!(
        close_to(grace_end, Utc::now() + Duration::hours(2)),
        "{grace_end}"
    );
    // Both work during the grace period; the new one keeps the restriction.
    let during = store
        .principal_by_secret(&old_secret)
        .await
        .expect("lookup");
    assert!(
        during.is_some(),
        "the old secret works during the grace period"
    );
    let p = store
        .principal_by_secret(&new_secret)
        .await
        .expect("lookup")
        .expect("the new secret works");
    assert_eq!(p.restricted_to.as_ref(), Some(&mine.id));
    // Once the grace period is over, only the new one does.
    set_time(
        &db,
        &old.id,
        "expires_at",
        Utc::now() - Duration::seconds(1),
    )
    .await;
    assert!(
        store
            .principal_by_secret(&old_secret)
            .await
            .expect("lookup")
            .is_none()
    );
    assert!(
        store
            .principal_by_secret(&new_secret)
            .await
            .expect("lookup")
            .is_some()
    );
    // A token rotates once; its replacement rotates on. Without a grace period the old one
    // stops at once; the grace never extends a token's own expiry.
    assert!(matches!(
        store.rotate_token(me, &old.id, None).await,
        Err(StoreError::Conflict { .. })
    ));
    let (third, third_secret) = store
        .rotate_token(me, &new.id, Some(0))
        .await
        .expect("rotate the replacement");
    assert!(
        store
            .principal_by_secret(&new_secret)
            .await
            .expect("lookup")
            .is_none()
    );
    assert!(
        store
            .principal_by_secret(&third_secret)
            .await
            .expect("lookup")
            .is_some()
    );
    set_time(
        &db,
        &third.id,
        "expires_at",
        Utc::now() + Duration::hours(1),
    )
    .await;
    let (_, _) = store
        .rotate_token(me, &third.id, None)
        .await
        .expect("rotate");
    let third_now = token(&store, me, &third.id)
        .await
        .expires_at
        .expect("expiry");
    assert!(
        close_to(third_now, Utc::now() + Duration::hours(1)),
        "a day's grace does not outlive an hour's validity: {third_now}"
    );
    // Another studio's admin cannot rotate it (nor learn it exists).
    let other = store
        .bootstrap_admin("Other Studios", "admin@other.example", "Other")
        .await
        .expect("bootstrap");
    let other = store
        .principal_by_secret(&other.token)
        .await
        .expect("lookup")
        .expect("token");
    assert!(matches!(
        store.rotate_token(&other, &third.id, None).await,
        Err(StoreError::NotFound(_))
    ));
    // Rotation is audited, and the tokens it issued are ones the log knows.
    let entries = store
        .audit_entries(
            me,
            0,
            PageRequest {
                offset: 0,
                limit: 500,
            },
        )
        .await
        .expect("audit");
    let rotations = entries
        .items
        .iter()
        .filter(|e| e.action == "token.rotate")
        .count();
    assert_eq!(rotations, 3, "{entries:?}");
    let report = store.verify_audit(me).await.expect("verify");
    assert!(report.valid, "{report:?}");
    store.close().await;
    db.drop().await;
}

#[tokio::test]
async fn a_rotated_token_works_for_its_grace_period_and_then_not() {
    with_each_backend("token_rotation", |db| Box::pin(rotation_story(db))).await;
}

async fn restriction_story(db: Db) {
    let store = db.store().await;
    let n = northlight(&store).await;
    let keeper = production(&store, &n.admin, &n.org, "The Lighthouse Keeper").await;
    let other = production(&store, &n.admin, &n.org, "Second Unit").await;
    // Someone whose roles would let them do anything in the studio.
    let roles = [Role::Admin, Role::Partner, Role::Legal, Role::Reviewer];
    let boss = member(&store, &n.admin, &n.org, "boss@northlight.example", &roles).await;
    for (p, r) in [(&keeper, "LK-001"), (&other, "SU-001")] {
        let body = declaration(&p.facts.title, r);
        store
            .submit(&boss, &p.id, body.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("submit to {}: {e:?}", p.facts.title));
    }
    // Restricted to a production of another studio, or to none that exists: the same answer.
    let elsewhere = store
        .bootstrap_admin("Other Studios", "admin@other.example", "Other")
        .await
        .expect("bootstrap");
    let elsewhere = store
        .principal_by_secret(&elsewhere.token)
        .await
        .expect("lookup")
        .expect("token");
    let studio = elsewhere.memberships[0].org_id.clone();
    let theirs = production(&store, &elsewhere, &studio, "Their Film").await;
    let mut answers = Vec::new();
    for id in [theirs.id.clone(), ProductionId::new()] {
        let o = TokenOptions {
            production_id: Some(id.clone()),
            ..Default::default()
        };
        match store.create_token(&boss, &boss.user.id, "x", o).await {
            Err(StoreError::Invalid { problems, .. }) => {
                assert_eq!(problems[0].path.as_deref(), Some("production_id"));
                answers.push(problems[0].message.replace(id.as_str(), "<id>"));
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(answers[0], answers[1], "nothing tells the two apart");

    let o = TokenOptions {
        production_id: Some(keeper.id.clone()),
        ..Default::default()
    };
    let (t, secret) = store
        .create_token(&boss, &boss.user.id, "keeper ci", o)
        .await
        .expect("restricted token");
    assert_eq!(t.production_id.as_ref(), Some(&keeper.id));
    let ci = store
        .principal_by_secret(&secret)
        .await
        .expect("lookup")
        .expect("signs in");
    assert_eq!(ci.restricted_to.as_ref(), Some(&keeper.id));
    // Its production, and nothing else.
    store
        .production(&ci, &keeper.id)
        .await
        .expect("its production");
    let listed = store.productions(&ci).await.expect("productions");
    assert_eq!(
        listed.iter().map(|p| &p.id).collect::<Vec<_>>(),
        vec![&keeper.id]
    );
    assert!(matches!(
        store.production(&ci, &other.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.disclosure(&ci, &other.id).await,
        Err(StoreError::NotFound(_))
    ));
    store.disclosure(&ci, &keeper.id).await.expect("its report");
    let all = store
        .declarations(&ci, &DeclarationFilter::default(), PageRequest::default())
        .await
        .expect("declarations");
    assert_eq!(all.total, 1);
    assert_eq!(all.items[0].production_id, keeper.id);
    let theirs_decl = store
        .declarations(&boss, &DeclarationFilter::default(), PageRequest::default())
        .await
        .expect("declarations")
        .items
        .into_iter()
        .find(|d| d.production_id == other.id)
        .expect("the other production's declaration");
    assert!(matches!(
        store.declaration(&ci, &theirs_decl.id).await,
        Err(StoreError::NotFound(_))
    ));
    let body = declaration("Second Unit", "SU-002");
    assert!(matches!(
        store.submit(&ci, &other.id, body.as_bytes()).await,
        Err(StoreError::NotFound(_))
    ));
    let body = declaration("The Lighthouse Keeper", "LK-002");
    store
        .submit(&ci, &keeper.id, body.as_bytes())
        .await
        .expect("it declares on its production");
    // Nothing studio-wide, whatever the person's roles: the refusal names the production.
    let restricted = |r: Result<(), StoreError>| match r {
        Err(StoreError::Forbidden(why)) => {
            assert!(
                why.contains(&format!("restricted to production {}", keeper.id)),
                "{why}"
            );
        }
        other => panic!("{other:?}"),
    };
    restricted(
        store
            .create_token(&ci, &ci.user.id, "more", TokenOptions::default())
            .await
            .map(drop),
    );
    restricted(store.tokens(&ci, &ci.user.id).await.map(drop));
    restricted(store.rotate_token(&ci, &t.id, None).await.map(drop));
    restricted(store.revoke_token(&ci, &t.id).await);
    let new = NewProduction {
        facts: keeper.facts.clone(),
        packs: None,
    };
    restricted(store.create_production(&ci, &n.org, new).await.map(drop));
    restricted(
        store
            .create_org(&ci, "Harbour Films", OrgKind::ProductionCompany)
            .await
            .map(drop),
    );
    restricted(store.orgs(&ci).await.map(drop));
    restricted(store.members(&ci, &n.org).await.map(drop));
    restricted(
        store
            .add_member(
                &ci,
                &n.org,
                NewMember {
                    email: "new@northlight.example".into(),
                    name: String::new(),
                    roles: vec![Role::Partner],
                    password: None,
                },
            )
            .await
            .map(drop),
    );
    restricted(store.tools(&ci).await.map(drop));
    restricted(store.packs(&ci, None).await.map(drop));
    restricted(store.verify_audit(&ci).await.map(drop));
    restricted(
        store
            .set_password(&ci, &ci.user.id, "a long enough passphrase")
            .await,
    );
    // The same person without the token's restriction reaches both.
    assert_eq!(
        store.productions(&boss).await.expect("productions").len(),
        2
    );
    store
        .production(&boss, &other.id)
        .await
        .expect("unrestricted");
    store.close().await;
    db.drop().await;
}

#[tokio::test]
async fn a_token_restricted_to_a_production_acts_on_it_alone() {
    with_each_backend("token_restriction", |db| Box::pin(restriction_story(db))).await;
}

/// A database an earlier binary wrote (every migration before 0160) with an API token that
/// has no expiry, a revoked one and a session: the upgrade gives the live API token an expiry
/// 90 days out and leaves the others alone.
async fn upgrade_story(db: Db) {
    let mut conn = backends::migrated_with(&db.url, |v| v < 160).await;
    let created = "2026-01-02T03:04:05.000000Z";
    sqlx::query(
        "INSERT INTO users (id, email, name, password_hash, salt, created_at) \
         VALUES ('u1', 'old@example.com', 'Old', NULL, 'salt', $1)",
    )
    .bind(created)
    .execute(&mut conn)
    .await
    .expect("a person");
    for (id, kind, revoked) in [
        ("t-live", "api", None),
        ("t-revoked", "api", Some(created)),
        ("t-session", "session", None),
    ] {
        sqlx::query(
            "INSERT INTO tokens (id, user_id, sha256, label, kind, created_at, expires_at, revoked_at) \
             VALUES ($1, 'u1', $2, 'old', $3, $4, NULL, $5)",
        )
        .bind(id)
        .bind(format!("{id:0>64}"))
        .bind(kind)
        .bind(created)
        .bind(revoked)
        .execute(&mut conn)
        .await
        .expect("a token from before");
    }
    let store = db.store().await;
    let opened = Utc::now();
    let rows = sqlx::query("SELECT id, expires_at FROM tokens ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .expect("tokens");
    let expiry = |id: &str| -> Option<String> {
        rows.iter()
            .find(|r| r.get::<String, _>("id") == id)
            .expect("the row")
            .get("expires_at")
    };
    let live: DateTime<Utc> = expiry("t-live")
        .expect("the live API token now expires")
        .parse()
        .expect("a timestamp");
    assert!(
        close_to(live, opened + Duration::days(90)),
        "90 days after the upgrade: {live}"
    );
    assert_eq!(expiry("t-revoked"), None, "a revoked token is left alone");
    assert_eq!(expiry("t-session"), None, "sessions are left alone");
    store.close().await;
    conn.close().await.expect("close");
    db.drop().await;
}

#[tokio::test]
async fn tokens_from_before_the_upgrade_expire_90_days_after_it() {
    with_each_backend("token_upgrade", |db| Box::pin(upgrade_story(db))).await;
}
