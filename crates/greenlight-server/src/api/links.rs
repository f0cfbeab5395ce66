//! `POST /api/v1/password-reset`: "forgot password" for API clients (a sign-in screen of
//! another front end). Like the page, it answers the same whether or not the address has
//! an account.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use greenlight_store::StoreError;
use serde::Deserialize;
use utoipa::ToSchema;

use super::ApiJson;
use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// Who forgot their password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    pub email: String,
}

/// Mails a link to choose a new password (single use, one hour) when the address has an
/// account whose studio allows passwords. Always 202, at once, whether or not it has: the
/// answer tells nobody whether the address is known. Limited per address and per source
/// address (429). Needs no token.
#[utoipa::path(post, path = "/api/v1/password-reset", tag = "people", request_body = PasswordResetRequest,
    security(()),
    responses((status = 202), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn password_reset(
    State(s): State<AppState>,
    parts: Parts,
    ApiJson(r): ApiJson<PasswordResetRequest>,
) -> ApiResult<StatusCode> {
    let email = crate::links::checked_email(&r.email)
        .map_err(|why| ApiError::from(StoreError::invalid("email", why)))?;
    let source = crate::client::source_address(&parts, &s.config);
    if let Err(wait) = s
        .link_mails
        .allow(Some(&source), &email, std::time::Instant::now())
    {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            format!(
                "too many links were asked for, for this address or from this network; try again in {} minutes",
                wait.as_secs().div_ceil(60).max(1)
            ),
        ));
    }
    crate::links::send_reset_in_background(&s, email);
    Ok(StatusCode::ACCEPTED)
}
