//! One-click unsubscribe (RFC 8058): every notification mail links here. The link is signed
//! for its person and event kind, so it needs no sign-in; following it shows a button, and a
//! mail client's one-click POST turns that kind of mail off at once.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use greenlight_store::UserId;
use greenlight_store::outbox::{EventKind, Mode};

use crate::notify::unsubscribe_valid;
use crate::state::AppState;

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title} · Greenlight</title><link rel=\"stylesheet\" href=\"/static/app.css\"></head><body><main class=\"narrow\"><h1>{title}</h1>{body}</main></body></html>"
    );
    (status, Html(html)).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn checked(state: &AppState, user: &str, kind: &str, mac: &str) -> Option<EventKind> {
    let kind = EventKind::parse(kind)?;
    unsubscribe_valid(state, user, kind.as_str(), mac).then_some(kind)
}

/// The page a person reaches from the mail's link: what they are turning off, and a button.
pub async fn show(
    State(state): State<AppState>,
    Path((user, kind, mac)): Path<(String, String, String)>,
) -> Response {
    let Some(kind) = checked(&state, &user, &kind, &mac) else {
        return page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "<p>This unsubscribe link is not valid. Choose what you hear about, per event, with <code>PUT /api/v1/me/notifications</code> (see docs/notifications.md).</p>",
        );
    };
    if user == "group" {
        return page(
            StatusCode::OK,
            "A group address",
            "<p>This mail went to a group address. Ask the studio's admin to change the production's contacts.</p>",
        );
    }
    let body = format!(
        "<p>Stop mails about <strong>{}</strong>?</p><form method=\"post\"><button class=\"btn primary\" type=\"submit\">Unsubscribe</button></form>",
        escape(kind.as_str())
    );
    page(StatusCode::OK, "Unsubscribe", &body)
}

/// The one-click POST (`List-Unsubscribe=One-Click`) or the page's button.
pub async fn one_click(
    State(state): State<AppState>,
    Path((user, kind, mac)): Path<(String, String, String)>,
) -> Response {
    let Some(kind) = checked(&state, &user, &kind, &mac) else {
        return page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "<p>This unsubscribe link is not valid.</p>",
        );
    };
    if user == "group" {
        return page(
            StatusCode::OK,
            "A group address",
            "<p>This mail went to a group address. Ask the studio's admin to change the production's contacts.</p>",
        );
    }
    match state
        .store
        .set_notification_mode(&UserId(user), kind, Mode::Off)
        .await
    {
        Ok(()) => page(
            StatusCode::OK,
            "Unsubscribed",
            &format!(
                "<p>You will get no more mails about <strong>{}</strong>. Turn them on again with <code>PUT /api/v1/me/notifications</code> (see docs/notifications.md).</p>",
                escape(kind.as_str())
            ),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "unsubscribing failed");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "<p>Unsubscribing failed; try again in a moment.</p>",
            )
        }
    }
}
