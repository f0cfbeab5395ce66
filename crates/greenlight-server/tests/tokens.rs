//! API tokens through the API and the admin page, in-process: expiry on creation, the 401 of
//! an expired token, rotation with a grace period, the last time a token was used, and a
//! token restricted to one production refused everywhere else.

mod studio;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Duration, Utc};
use greenlight_server::pages::session::csrf_token;
use greenlight_store::input::NewProduction;
use serde_json::{Value, json};
use studio::{Res, Studio, lighthouse_keeper};

const DECLARATION: &str = "greenlight: declaration/v1
production:
  title: The Lighthouse Keeper
use:
  ref: LK-001
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
";

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .unwrap_or_else(|| panic!("a timestamp: {v}"))
        .parse()
        .expect("RFC 3339")
}

/// Issues a token for the holder of `token` through the API.
async fn create(t: &Studio, token: &str, body: Value) -> Res {
    let me = t.user_id(token).await;
    t.post_json(&format!("/api/v1/users/{me}/tokens"), token, body, None)
        .await
}

/// The holder's tokens, as the API lists them.
async fn listed(t: &Studio, token: &str, id: &str) -> Value {
    let me = t.user_id(token).await;
    let r = t.get(&format!("/api/v1/users/{me}/tokens"), token).await;
    r.assert_status(StatusCode::OK);
    r.json()
        .as_array()
        .expect("a list")
        .iter()
        .find(|x| x["id"] == id)
        .cloned()
        .expect("listed")
}

async fn expire(t: &Studio, id: &str) {
    let url = t.state.store.config().database_url.clone();
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
    sqlx::query("UPDATE tokens SET expires_at = $1 WHERE id = $2")
        .bind(
            (Utc::now() - Duration::seconds(1))
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        )
        .bind(id.to_owned())
        .execute(&mut conn)
        .await
        .expect("expire the token");
}

#[tokio::test]
async fn tokens_are_created_with_an_expiry_and_rotated_with_a_grace_period() {
    let t = Studio::sqlite(lighthouse_keeper()).await;
    let r = create(&t, &t.admin, json!({"label": "ci"})).await;
    r.assert_status(StatusCode::CREATED);
    let made = r.json();
    let (created, expires) = (at(&made["created_at"]), at(&made["expires_at"]));
    assert_eq!(expires - created, Duration::days(90), "{made}");
    assert_eq!(made["production_id"], Value::Null);
    assert_eq!(made["last_used_at"], Value::Null);
    assert_eq!(made["replaced_by"], Value::Null);
    let secret = made["token"].as_str().expect("the secret").to_owned();
    let id = made["id"].as_str().expect("id").to_owned();

    for days in [0, 366] {
        let r = create(&t, &t.admin, json!({"label": "x", "expires_in_days": days})).await;
        r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            r.json()["errors"][0]["path"],
            "expires_in_days",
            "{}",
            r.text()
        );
    }
    let r = create(&t, &t.admin, json!({"label": "y", "expires_in_days": 365})).await;
    r.assert_status(StatusCode::CREATED);
    let y = r.json();
    assert_eq!(
        at(&y["expires_at"]) - at(&y["created_at"]),
        Duration::days(365)
    );

    // Used once: the list says when.
    t.get("/api/v1/me", &secret)
        .await
        .assert_status(StatusCode::OK);
    let used = listed(&t, &t.admin, &id).await;
    let last = at(&used["last_used_at"]);
    assert!((Utc::now() - last).num_seconds().abs() < 120, "{used}");

    // Rotation: a new secret, the old one working on for the grace period.
    let rotate = format!("/api/v1/tokens/{id}/rotate");
    let r = t
        .post_json(&rotate, &t.admin, json!({"grace_hours": 169}), None)
        .await;
    r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["path"], "grace_hours", "{}", r.text());
    let r = t
        .call(Method::POST, &rotate, Some(&t.admin), &[], Body::empty())
        .await;
    r.assert_status(StatusCode::CREATED);
    let new = r.json();
    let new_secret = new["token"].as_str().expect("the new secret").to_owned();
    assert_eq!(new["label"], "ci");
    assert_eq!(
        at(&new["expires_at"]) - at(&new["created_at"]),
        Duration::days(90)
    );
    let old = listed(&t, &t.admin, &id).await;
    assert_eq!(old["replaced_by"], new["id"]);
    let grace = at(&old["expires_at"]) - Utc::now();
    assert!(
        grace > Duration::hours(23) && grace <= Duration::hours(24),
        "{old}"
    );
    t.get("/api/v1/me", &secret)
        .await
        .assert_status(StatusCode::OK);
    t.get("/api/v1/me", &new_secret)
        .await
        .assert_status(StatusCode::OK);
    // Rotated already: rotate the replacement instead.
    t.call(Method::POST, &rotate, Some(&t.admin), &[], Body::empty())
        .await
        .assert_status(StatusCode::CONFLICT);

    // Past the grace period the old secret is refused, and the answer says why.
    expire(&t, &id).await;
    let r = t.get("/api/v1/me", &secret).await;
    r.assert_status(StatusCode::UNAUTHORIZED);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap_or("")
            .contains("expired"),
        "{}",
        r.text()
    );
    let r = t.get("/api/v1/me", "glt_never_issued").await;
    r.assert_status(StatusCode::UNAUTHORIZED);
    assert!(!r.text().contains("expired"), "{}", r.text());
    t.get("/api/v1/me", &new_secret)
        .await
        .assert_status(StatusCode::OK);

    // Another studio neither rotates nor sees it.
    let rival = t.rival().await;
    let new_rotate = format!("/api/v1/tokens/{}/rotate", new["id"].as_str().expect("id"));
    t.call(
        Method::POST,
        &new_rotate,
        Some(&rival.admin),
        &[],
        Body::empty(),
    )
    .await
    .assert_status(StatusCode::NOT_FOUND);

    // The OpenAPI document describes the new route and fields.
    let api = t.get("/api/openapi.json", &t.admin).await.json();
    assert!(api["paths"]["/api/v1/tokens/{id}/rotate"]["post"].is_object());
    let schemas = &api["components"]["schemas"];
    assert!(schemas["NewToken"]["properties"]["expires_in_days"].is_object());
    assert!(schemas["NewToken"]["properties"]["production_id"].is_object());
    assert!(schemas["TokenInfo"]["properties"]["last_used_at"].is_object());
    assert!(schemas["RotateToken"]["properties"]["grace_hours"].is_object());
}

#[tokio::test]
async fn a_token_restricted_to_a_production_is_refused_everywhere_else() {
    let t = Studio::sqlite(lighthouse_keeper()).await;
    let store = t.state.store.clone();
    let admin = store
        .principal_by_secret(&t.admin)
        .await
        .expect("lookup")
        .expect("admin");
    let studio = admin.memberships[0].org_id.clone();
    let second = store
        .create_production(
            &admin,
            &studio,
            NewProduction {
                facts: greenlight_store::ProductionFacts {
                    title: "Second Unit".into(),
                    ..lighthouse_keeper()
                },
                packs: None,
            },
        )
        .await
        .expect("a second production");
    t.submit(&t.partner, DECLARATION)
        .await
        .assert_status(StatusCode::CREATED);

    // The admin's token restricted to the first production, and the partner's.
    let body = json!({"label": "keeper", "production_id": t.production});
    let r = create(&t, &t.admin, body.clone()).await;
    r.assert_status(StatusCode::CREATED);
    assert_eq!(r.json()["production_id"], t.production.as_str());
    let ci = r.json()["token"].as_str().expect("secret").to_owned();
    let r = create(&t, &t.partner, body).await;
    r.assert_status(StatusCode::CREATED);
    let partner_ci = r.json()["token"].as_str().expect("secret").to_owned();
    // Restricting to a production the person cannot read is refused.
    let rival = t.rival().await;
    let r = create(
        &t,
        &rival.admin,
        json!({"label": "x", "production_id": t.production}),
    )
    .await;
    r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["path"], "production_id");

    let me = t.get("/api/v1/me", &ci).await;
    me.assert_status(StatusCode::OK);
    assert_eq!(me.json()["restricted_to"], t.production.as_str());
    // Its production: read, listed alone, its declarations, ledger and report.
    let own = format!("/api/v1/productions/{}", t.production);
    t.get(&own, &ci).await.assert_status(StatusCode::OK);
    let list = t.get("/api/v1/productions", &ci).await.json();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["id"], t.production.as_str());
    for path in ["declarations", "ledger", "disclosure"] {
        t.get(&format!("{own}/{path}"), &ci)
            .await
            .assert_status(StatusCode::OK);
    }
    let decls = t.get("/api/v1/declarations", &ci).await.json();
    assert_eq!(decls["total"], 1, "{decls}");
    let decl = decls["items"][0]["id"].as_str().expect("id").to_owned();
    t.get(&format!("/api/v1/declarations/{decl}"), &ci)
        .await
        .assert_status(StatusCode::OK);
    // The partner's restricted token declares on it.
    let r = t
        .call(
            Method::POST,
            &format!("{own}/declarations"),
            Some(&partner_ci),
            &[("content-type", "application/yaml")],
            DECLARATION.replace("LK-001", "LK-002"),
        )
        .await;
    r.assert_status(StatusCode::CREATED);

    // Another production of the same studio, and everything studio-wide, is refused.
    let restricted = |r: &Res| {
        r.assert_status(StatusCode::FORBIDDEN);
        assert_eq!(r.content_type(), "application/problem+json");
        let detail = r.json()["detail"].as_str().unwrap_or("").to_owned();
        assert!(
            detail.contains(&format!("restricted to production {}", t.production)),
            "{detail}"
        );
    };
    let other = format!("/api/v1/productions/{}", second.id);
    for path in ["", "/declarations", "/ledger", "/disclosure"] {
        restricted(&t.get(&format!("{other}{path}"), &ci).await);
    }
    let user = t.user_id(&t.admin).await;
    for (method, path, body) in [
        (
            Method::POST,
            format!("/api/v1/users/{user}/tokens"),
            json!({"label": "more"}),
        ),
        (
            Method::POST,
            "/api/v1/productions".to_owned(),
            json!({"title": "New", "kind": "scripted"}),
        ),
        (
            Method::POST,
            "/api/v1/orgs".to_owned(),
            json!({"name": "X", "kind": "vendor"}),
        ),
        (
            Method::POST,
            format!("{own}/links"),
            json!({"org_id": studio.0}),
        ),
    ] {
        restricted(&t.send_json(method, &path, &ci, &body, None).await);
    }
    for path in [
        format!("/api/v1/users/{user}/tokens"),
        "/api/v1/orgs".to_owned(),
        format!("/api/v1/orgs/{studio}/members"),
        "/api/v1/tools".to_owned(),
        "/api/v1/consents".to_owned(),
        "/api/v1/packs".to_owned(),
        "/api/v1/webhooks".to_owned(),
        "/api/v1/audit".to_owned(),
    ] {
        restricted(&t.get(&path, &ci).await);
    }
    // The pages are for people signed in, not for a restricted token in a cookie.
    let r = t
        .call(
            Method::GET,
            "/admin",
            None,
            &[("cookie", &format!("gl_session={ci}"))],
            Body::empty(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    // The same person's unrestricted token still reaches both.
    let all = t.get("/api/v1/productions", &t.admin).await.json();
    assert_eq!(all.as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn the_tokens_page_shows_expiry_use_and_production_and_rotates() {
    let t = Studio::sqlite(lighthouse_keeper()).await;
    let user = t.user_id(&t.admin).await;
    let secret = t
        .state
        .store
        .create_session(&user, std::time::Duration::from_secs(600))
        .await
        .expect("a session");
    let cookie = format!("gl_session={secret}");
    let csrf = csrf_token(&secret);
    let form = [
        ("cookie", cookie.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    // Created on the page: 30 days, restricted to the production.
    let r = t
        .call(
            Method::POST,
            "/admin/tokens",
            None,
            &form,
            format!(
                "csrf={csrf}&label=nightly&expires_in_days=30&production={}",
                t.production
            ),
        )
        .await;
    r.assert_status(StatusCode::OK);
    let html = r.text();
    assert!(html.contains("copy it now"), "the secret is shown once");
    assert!(html.contains("Expires in 30 days"));
    assert!(
        html.contains("Expires in 90 days"),
        "the first admin's token"
    );
    assert!(
        html.contains("<td class=\"small\">The Lighthouse Keeper</td>"),
        "{html}"
    );
    assert!(
        html.contains("id=\"tok-days\""),
        "the expiry is chosen on creation"
    );
    assert!(
        html.contains("id=\"tok-production\""),
        "so is the production"
    );
    // Its use shows.
    let nightly = t
        .state
        .store
        .tokens(
            &t.state.store.principal(&user).await.expect("principal"),
            &user,
        )
        .await
        .expect("tokens")
        .into_iter()
        .find(|x| x.label == "nightly")
        .expect("the new token");
    assert!(html.contains("Never"), "not used yet");
    assert!(html.contains(&format!("/admin/tokens/{}/rotate", nightly.id)));
    // Rotated on the page: the new secret once, the old one marked.
    let r = t
        .call(
            Method::POST,
            &format!("/admin/tokens/{}/rotate", nightly.id),
            None,
            &form,
            format!("csrf={csrf}"),
        )
        .await;
    r.assert_status(StatusCode::OK);
    let html = r.text();
    assert!(html.contains("copy it now"));
    assert!(html.contains("Rotated; works until"), "{html}");
    // Without the CSRF token nothing is rotated.
    let r = t
        .call(
            Method::POST,
            &format!("/admin/tokens/{}/rotate", nightly.id),
            None,
            &form,
            String::new(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // An expired token says so.
    expire(&t, nightly.id.as_str()).await;
    let html = t
        .call(
            Method::GET,
            "/admin",
            None,
            &[("cookie", &cookie)],
            Body::empty(),
        )
        .await
        .text();
    assert!(html.contains(">Expired<"), "{html}");
}
