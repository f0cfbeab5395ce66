//! Single sign-on against a real OpenID provider (`oidc-provider`, started with node): the
//! whole authorization code flow, signed in through the provider's login form by an HTTP
//! client that keeps cookies. Skips, saying why, where node or the npm package is missing.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::BTreeSet;
use std::sync::OnceLock;

use chrono::Utc;
use greenlight_sso::test_provider::{
    ProviderConfig, StartError, TestClient, TestProvider, TestUser,
};
use greenlight_sso::{
    Callback, ClaimRule, Grant, HttpOptions, IdTokenProblem, OidcProvider, PendingLogin, Role,
    SsoError, SsoHttp, SsoSettings, Studio,
};
use secrecy::SecretString;
use url::Url;

const REDIRECT: &str = "http://127.0.0.1:9/sso/callback";
const OTHER_REDIRECT: &str = "http://127.0.0.1:9/other/callback";
const SECRET: &str = "greenlight-client-secret-0123456789";
const OTHER_SECRET: &str = "other-app-client-secret-0123456789";
const BROWSER: &str = "digest-of-the-pre-session-cookie";
const WHOM: &str = "the administrators of Northlight Studios (access@northlight.example)";

/// One provider per kind for the whole test binary (starting node costs about a second);
/// `None`, after printing why, where node or the npm package is missing.
fn provider(id_token_claims: bool) -> Option<&'static TestProvider> {
    static WITH_CLAIMS: OnceLock<Result<TestProvider, String>> = OnceLock::new();
    static USERINFO_ONLY: OnceLock<Result<TestProvider, String>> = OnceLock::new();
    let cell = if id_token_claims {
        &WITH_CLAIMS
    } else {
        &USERINFO_ONLY
    };
    match cell.get_or_init(|| start(id_token_claims)) {
        Ok(provider) => Some(provider),
        Err(why) => {
            eprintln!("skipped: {why}");
            None
        }
    }
}

fn start(id_token_claims: bool) -> Result<TestProvider, String> {
    let config = ProviderConfig {
        clients: vec![
            TestClient::new("greenlight", SECRET, REDIRECT),
            TestClient::new("other-app", OTHER_SECRET, OTHER_REDIRECT),
        ],
        users: vec![
            TestUser::new("ana", "ana-password", "ana-0001")
                .email("ana@northlight.example")
                .name("Ana Lima")
                .groups(&["staff", "greenlight-reviewers", "greenlight-legal"]),
            TestUser::new("bo", "bo-password", "bo-0002")
                .email("reviewer@northlight.example")
                .groups(&["contractors"]),
        ],
        id_token_claims,
    };
    match TestProvider::start(&config) {
        Ok(provider) => Ok(provider),
        Err(StartError::Unavailable(why)) => Err(why),
        Err(e) => panic!("{e}"),
    }
}

fn studio() -> Studio {
    Studio {
        organisations: ["northlight".to_owned(), "northlight-legal".to_owned()].into(),
        whom_to_ask: WHOM.into(),
    }
}

fn settings(issuer: &str) -> SsoSettings {
    SsoSettings {
        issuer_url: issuer.into(),
        client_id: "greenlight".into(),
        client_secret: SecretString::from(SECRET),
        redirect_url: REDIRECT.into(),
        scopes: vec!["email".into(), "profile".into(), "groups".into()],
        claim: "groups".into(),
        mapping: vec![
            ClaimRule {
                value: "greenlight-reviewers".into(),
                organisation: "northlight".into(),
                roles: vec![Role::Reviewer],
            },
            ClaimRule {
                value: "greenlight-legal".into(),
                organisation: "northlight-legal".into(),
                roles: vec![Role::Legal],
            },
        ],
    }
}

/// Loopback providers need private addresses allowed.
fn http() -> SsoHttp {
    SsoHttp::new(HttpOptions {
        allow_private: true,
        ..HttpOptions::default()
    })
    .unwrap()
}

async fn discover(issuer: &str, settings: SsoSettings) -> OidcProvider {
    OidcProvider::discover(settings, &studio(), &http())
        .await
        .unwrap_or_else(|e| panic!("discovery of {issuer}: {e}"))
}

/// Starts a sign-in and signs `login` in at the provider; returns the pending record and the
/// callback.
async fn sign_in(
    provider: &TestProvider,
    rp: &OidcProvider,
    login: &str,
    password: &str,
) -> (PendingLogin, Callback) {
    let start = rp.begin_login(Utc::now(), BROWSER).unwrap();
    let url = provider
        .sign_in(&start.authorization_url, login, password, REDIRECT)
        .await
        .unwrap();
    (start.pending, Callback::from_url(&url))
}

fn expected_ana(issuer: &str) -> (greenlight_sso::SsoIdentity, Vec<Grant>) {
    (
        greenlight_sso::SsoIdentity {
            issuer: issuer.into(),
            subject: "ana-0001".into(),
        },
        vec![
            Grant {
                organisation: "northlight".into(),
                roles: BTreeSet::from([Role::Reviewer]),
            },
            Grant {
                organisation: "northlight-legal".into(),
                roles: BTreeSet::from([Role::Legal]),
            },
        ],
    )
}

#[tokio::test]
async fn a_valid_sign_in_gives_the_identity_and_the_mapped_roles() {
    let Some(provider) = provider(true) else {
        return;
    };
    let rp = discover(provider.issuer(), settings(provider.issuer())).await;
    let (pending, callback) = sign_in(provider, &rp, "ana", "ana-password").await;
    assert_eq!(callback.state.as_deref(), Some(pending.state()));
    assert_eq!(callback.iss.as_deref(), Some(provider.issuer()));

    let signed_in = rp
        .complete_login(&pending, &callback, BROWSER, &studio(), Utc::now())
        .await
        .unwrap();
    let (identity, grants) = expected_ana(provider.issuer());
    assert_eq!(signed_in.identity, identity);
    assert_eq!(signed_in.grants, grants);
    assert_eq!(signed_in.email.as_deref(), Some("ana@northlight.example"));
    assert_eq!(signed_in.email_verified, Some(true));
    assert_eq!(signed_in.name.as_deref(), Some("Ana Lima"));
    assert_eq!(
        signed_in.claim_values,
        ["staff", "greenlight-reviewers", "greenlight-legal"]
    );
}

#[tokio::test]
async fn claims_the_id_token_lacks_are_read_from_the_userinfo_endpoint() {
    // The provider's default: a minimal ID token, the groups only at the userinfo endpoint.
    let Some(provider) = provider(false) else {
        return;
    };
    let rp = discover(provider.issuer(), settings(provider.issuer())).await;
    let (pending, callback) = sign_in(provider, &rp, "ana", "ana-password").await;
    let signed_in = rp
        .complete_login(&pending, &callback, BROWSER, &studio(), Utc::now())
        .await
        .unwrap();
    let (identity, grants) = expected_ana(provider.issuer());
    assert_eq!(signed_in.identity, identity);
    assert_eq!(signed_in.grants, grants);
    assert_eq!(signed_in.email.as_deref(), Some("ana@northlight.example"));
    assert_eq!(signed_in.name.as_deref(), Some("Ana Lima"));
}

#[tokio::test]
async fn a_person_whose_groups_map_to_no_role_is_told_whom_to_ask() {
    let Some(provider) = provider(true) else {
        return;
    };
    let rp = discover(provider.issuer(), settings(provider.issuer())).await;
    let (pending, callback) = sign_in(provider, &rp, "bo", "bo-password").await;
    let err = rp
        .complete_login(&pending, &callback, BROWSER, &studio(), Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(err, SsoError::NoRole { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains(WHOM), "{message}");
    assert!(message.contains("\"contractors\""), "{message}");
}

#[tokio::test]
async fn a_callback_with_another_state_or_from_another_browser_is_refused() {
    let Some(provider) = provider(true) else {
        return;
    };
    let rp = discover(provider.issuer(), settings(provider.issuer())).await;
    let (pending, callback) = sign_in(provider, &rp, "ana", "ana-password").await;
    // The attacker's own sign-in, its callback link opened in the victim's browser.
    let err = rp
        .complete_login(
            &pending,
            &callback,
            "victims-browser",
            &studio(),
            Utc::now(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SsoError::OtherBrowser), "{err}");
    assert!(matches!(
        rp.begin_login(Utc::now(), " "),
        Err(SsoError::NoBrowserKey)
    ));

    // A second sign-in's record does not accept the first one's response (login CSRF).
    let other = rp.begin_login(Utc::now(), BROWSER).unwrap().pending;
    let err = rp
        .complete_login(&other, &callback, BROWSER, &studio(), Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(err, SsoError::StateMismatch), "{err}");

    let mut no_state = callback.clone();
    no_state.state = None;
    let err = rp
        .complete_login(&other, &no_state, BROWSER, &studio(), Utc::now())
        .await
        .unwrap_err();
    assert!(matches!(err, SsoError::StateMismatch), "{err}");
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused() {
    let Some(provider) = provider(true) else {
        return;
    };
    let rp = discover(provider.issuer(), settings(provider.issuer())).await;
    let (pending, callback) = sign_in(provider, &rp, "ana", "ana-password").await;
    // The stored record with the nonce of another sign-in (state and PKCE verifier intact,
    // so the code exchange itself succeeds and only the nonce check can refuse).
    let other = rp.begin_login(Utc::now(), BROWSER).unwrap().pending;
    let mut record = serde_json::to_value(&pending).unwrap();
    record["nonce"] = serde_json::to_value(&other).unwrap()["nonce"].clone();
    let tampered: PendingLogin = serde_json::from_value(record).unwrap();
    let err = rp
        .complete_login(&tampered, &callback, BROWSER, &studio(), Utc::now())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SsoError::IdToken {
                problem: IdTokenProblem::Nonce,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn an_id_token_for_another_client_is_refused() {
    let Some(provider) = provider(true) else {
        return;
    };
    let issuer = provider.issuer().to_owned();
    // Another application of the same provider signs ana in and gets its own ID token.
    let mut other_settings = settings(&issuer);
    other_settings.client_id = "other-app".into();
    other_settings.client_secret = SecretString::from(OTHER_SECRET);
    other_settings.redirect_url = OTHER_REDIRECT.into();
    let other_rp = discover(&issuer, other_settings).await;
    let start_other = other_rp.begin_login(Utc::now(), BROWSER).unwrap();
    let callback_url = provider
        .sign_in(
            &start_other.authorization_url,
            "ana",
            "ana-password",
            OTHER_REDIRECT,
        )
        .await
        .unwrap();
    let record = serde_json::to_value(&start_other.pending).unwrap();
    let code = Callback::from_url(&callback_url).code.unwrap();
    let body = reqwest::Client::new()
        .post(format!("{issuer}/token"))
        .basic_auth("other-app", Some(OTHER_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", OTHER_REDIRECT),
            ("code_verifier", record["pkce_verifier"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let tokens: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id_token = tokens["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{tokens}"));
    let nonce = record["nonce"].as_str().unwrap();

    // The token is sound: the application it was issued to accepts it ...
    let identity = other_rp
        .verify_id_token(id_token, nonce, Utc::now())
        .await
        .unwrap();
    assert_eq!(identity.subject, "ana-0001");
    // ... and Greenlight, a different audience, refuses it.
    let rp = discover(&issuer, settings(&issuer)).await;
    let err = rp
        .verify_id_token(id_token, nonce, Utc::now())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SsoError::IdToken {
                problem: IdTokenProblem::Audience,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn responses_naming_another_issuer_or_an_error_or_arriving_late_are_refused() {
    let Some(provider) = provider(true) else {
        return;
    };
    let rp = discover(provider.issuer(), settings(provider.issuer())).await;
    let start = rp.begin_login(Utc::now(), BROWSER).unwrap();
    let pending = start.pending;
    let good = Callback {
        code: Some("code".into()),
        state: Some(pending.state().into()),
        iss: Some(provider.issuer().into()),
        ..Callback::default()
    };

    // RFC 9207: a response from another issuer (a mix-up), or without one from a provider
    // that always names itself.
    let mut mixed_up = good.clone();
    mixed_up.iss = Some("https://attacker.example".into());
    let err = rp
        .complete_login(&pending, &mixed_up, BROWSER, &studio(), Utc::now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SsoError::IssuerMismatch { got: Some(_), .. }),
        "{err}"
    );
    let mut unnamed = good.clone();
    unnamed.iss = None;
    let err = rp
        .complete_login(&pending, &unnamed, BROWSER, &studio(), Utc::now())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SsoError::IssuerMismatch { got: None, .. }),
        "{err}"
    );

    let refused = Callback {
        code: None,
        error: Some("access_denied".into()),
        error_description: Some("the person cancelled".into()),
        ..good.clone()
    };
    let err = rp
        .complete_login(&pending, &refused, BROWSER, &studio(), Utc::now())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SsoError::ProviderRefused { error, .. } if error == "access_denied"),
        "{err}"
    );

    let late = pending.expires_at();
    let err = rp
        .complete_login(&pending, &good, BROWSER, &studio(), late)
        .await
        .unwrap_err();
    assert!(matches!(err, SsoError::LoginExpired { .. }), "{err}");

    // A code the provider never issued fails at its token endpoint.
    let err = rp
        .complete_login(&pending, &good, BROWSER, &studio(), Utc::now())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SsoError::TokenExchange { reason } if reason.contains("invalid_grant")),
        "{err}"
    );
}

#[tokio::test]
async fn a_wrong_password_is_refused_at_the_provider() {
    let Some(provider) = provider(true) else {
        return;
    };
    let rp = discover(provider.issuer(), settings(provider.issuer())).await;
    let start = rp.begin_login(Utc::now(), BROWSER).unwrap();
    let err = provider
        .sign_in(
            &start.authorization_url,
            "ana",
            "not-her-password",
            REDIRECT,
        )
        .await
        .unwrap_err();
    assert!(err.contains("wrong password"), "{err}");
}

#[tokio::test]
async fn discovery_failures_name_the_issuer_setting() {
    // Nothing listens on a port just released: the connection is refused. No node needed.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let issuer = format!("http://127.0.0.1:{port}");
    let err = OidcProvider::discover(settings(&issuer), &studio(), &http())
        .await
        .unwrap_err();
    assert!(matches!(err, SsoError::Discovery { .. }), "{err}");
    let message = err.to_string();
    assert!(message.starts_with("issuer_url: "), "{message}");
    assert!(message.contains(&issuer), "{message}");

    // Settings that are wrong are refused before any request, every problem named.
    let mut bad = settings("not a url");
    bad.mapping[0].organisation = "another-studio".into();
    let err = OidcProvider::discover(bad, &studio(), &http())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("issuer_url"), "{message}");
    assert!(message.contains("mapping[0].organisation"), "{message}");

    let Some(provider) = provider(true) else {
        return;
    };
    // A document that names another issuer (here: a trailing slash the provider lacks).
    let slash = format!("{}/", provider.issuer());
    let err = OidcProvider::discover(settings(&slash), &studio(), &http())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("issuer_url: ") && message.contains("unexpected issuer"),
        "{message}"
    );
    // A path with no discovery document: the status is named.
    let wrong_path = format!("{}/realms/none", provider.issuer());
    let err = OidcProvider::discover(settings(&wrong_path), &studio(), &http())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("issuer_url: ") && message.contains("404"),
        "{message}"
    );
    // A loopback provider with the default options: refused as a private address.
    let strict = SsoHttp::new(HttpOptions::default()).unwrap();
    let err = OidcProvider::discover(settings(provider.issuer()), &studio(), &strict)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("issuer_url: ") && message.contains("only https"),
        "{message}"
    );
}

#[tokio::test]
async fn the_callback_url_parses_into_its_parameters() {
    let url = Url::parse(
        "https://gl.example/sso/callback?code=c1&state=s1&iss=https%3A%2F%2Fidp.example&x=1",
    )
    .unwrap();
    assert_eq!(
        Callback::from_url(&url),
        Callback {
            code: Some("c1".into()),
            state: Some("s1".into()),
            iss: Some("https://idp.example".into()),
            error: None,
            error_description: None,
        }
    );
}
