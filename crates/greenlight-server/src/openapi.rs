//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::api;

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(title = "Greenlight API", description = "Declarations of generative-AI use, their triage and review, consents, tools, obligations and the audit log. Errors are RFC 9457 problem+json."),
    paths(
        api::tenancy::me, api::tenancy::list_orgs, api::tenancy::create_org, api::tenancy::list_members, api::tenancy::add_member,
        api::tenancy::org_invitations, api::tenancy::my_invitations, api::tenancy::accept_invitation,
        api::tenancy::decline_invitation, api::tenancy::revoke_invitation,
        api::tenancy::create_token, api::tenancy::list_tokens, api::tenancy::revoke_token,
        api::productions::list, api::productions::create, api::productions::get_one, api::productions::update, api::productions::link,
        api::productions::preview_packs, api::productions::adopt_packs,
        api::packs::upload, api::packs::list, api::packs::get_one, api::packs::default_packs, api::packs::set_default_packs,
        api::packs::replay,
        api::notifications::create, api::notifications::list, api::notifications::delete, api::notifications::rotate,
        api::notifications::webhook_deliveries, api::notifications::deliveries, api::notifications::retry,
        api::notifications::report_scan, api::notifications::scans, api::notifications::preferences,
        api::notifications::set_preferences,
        api::productions::disclosure,
        api::disclosure_actions::actions,
        api::ledger::ledger,
        api::declarations::triage, api::declarations::submit, api::declarations::list, api::declarations::list_for_production,
        api::declarations::queue, api::declarations::get_one, api::declarations::revisions, api::declarations::revise,
        api::declarations::decide, api::declarations::withdraw, api::declarations::link_consent, api::declarations::confirm,
        api::declarations::complete_obligation,
        api::registry::record_consent, api::registry::list_consents, api::registry::get_consent, api::registry::change_consent, api::registry::revoke_consent,
        api::registry::consent_document, api::registry::consent_uses, api::registry::register_tool, api::registry::update_tool,
        api::registry::list_tools, api::registry::get_tool, api::registry::tool_uses,
        api::audit::entries, api::audit::verify,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/openapi.json`.
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
