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
        api::tenancy::rotate_token,
        api::links::password_reset,
        api::productions::list, api::productions::create, api::productions::get_one, api::productions::update, api::productions::link,
        api::productions::preview_packs, api::productions::adopt_packs,
        api::packs::upload, api::packs::list, api::packs::get_one, api::packs::default_packs, api::packs::set_default_packs,
        api::packs::replay,
        api::sign_in::get_sso, api::sign_in::put_sso, api::sign_in::delete_sso, api::sign_in::put_policy,
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

/// `GET /api/openapi.json`: the API, and in its `webhooks` section what Greenlight posts to a
/// studio's webhooks, per event type.
pub async fn serve() -> Json<serde_json::Value> {
    Json(document())
}

/// The OpenAPI document with its `webhooks` section.
pub fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    if let Some(o) = doc.as_object_mut() {
        o.insert("webhooks".into(), webhooks());
    }
    doc
}

/// The fields of each event type's `data`, with their descriptions.
fn event_data(kind: greenlight_store::outbox::EventKind) -> (Vec<&'static str>, serde_json::Value) {
    use greenlight_store::outbox::EventKind as K;
    use serde_json::json;
    let s = |d: &str| json!({"type": "string", "description": d});
    let list = |d: &str| json!({"type": "array", "items": {"type": "string"}, "description": d});
    let declaration = || {
        json!({
            "declaration_id": s("the declaration's id"),
            "production_id": s("its production's id"),
            "production_title": s("its production's title"),
            "use_ref": s("the use's reference (use.ref)"),
            "summary": s("the use's summary"),
            "outcome": s("notify, review, escalate or written_approval"),
            "state": s("the workflow state after the change"),
            "organisation_id": s("the organisation that declared the use"),
            "url": s("the declaration's page"),
        })
    };
    let consent = || {
        json!({
            "consent_id": s("the consent record's id"),
            "performer": s("the performer"),
            "treatment": s("what the consent covers"),
            "scope": s("the description of use"),
            "expires": s("the expiry date, or null"),
            "production_id": s("the production it is limited to, or null"),
        })
    };
    let merge = |mut base: serde_json::Value, more: serde_json::Value| {
        if let (Some(b), Some(m)) = (base.as_object_mut(), more.as_object()) {
            for (k, v) in m {
                b.insert(k.clone(), v.clone());
            }
        }
        base
    };
    let declaration_required = vec![
        "declaration_id",
        "production_id",
        "use_ref",
        "outcome",
        "url",
    ];
    match kind {
        K::DeclarationSubmitted | K::DeclarationRevised => (
            declaration_required,
            merge(
                declaration(),
                json!({"reasons": list("the findings' messages"), "blockers": list("open blockers, RULE: message")}),
            ),
        ),
        K::DeclarationDecided => (
            declaration_required,
            merge(
                declaration(),
                json!({"action": s("approve, reject, request_changes or revoke"), "reason": s("the reviewer's reason, or null"),
                       "conditions": list("conditions of an approval"), "expires": s("an approval's expiry, or null")}),
            ),
        ),
        K::DeclarationSuspended => (
            declaration_required,
            merge(
                declaration(),
                json!({"reason": s("what changed (a consent, a tool, the production's facts or packs)"), "reasons": list("the findings' messages now")}),
            ),
        ),
        K::ConsentExpiring => (
            vec!["consent_id", "performer", "expires", "days_left"],
            merge(
                consent(),
                json!({"days_left": {"type": "integer"}, "threshold_days": {"type": "integer", "description": "30 or 7"}}),
            ),
        ),
        K::ConsentRevoked => (
            vec!["consent_id", "performer", "reason"],
            merge(consent(), json!({"reason": s("why it was revoked")})),
        ),
        K::ObligationDue => (
            vec![
                "obligation_id",
                "kind",
                "declaration_id",
                "use_ref",
                "production_id",
                "release_date",
                "url",
            ],
            json!({
                "obligation_id": s("the obligation's id"), "kind": s("the obligation's kind"), "text": s("what must be done"),
                "rule": s("the rule that asked for it"), "pack": s("its pack"), "declaration_id": s("the declaration"),
                "use_ref": s("the use's reference"), "production_id": s("the production"), "production_title": s("its title"),
                "release_date": s("the production's release date"), "url": s("the declaration's page"),
            }),
        ),
        K::ScanCompleted | K::ScanFailed => (
            vec!["scan_id", "production_id", "verdict", "url"],
            json!({
                "scan_id": s("the scan report's id"), "production_id": s("the production"), "production_title": s("its title"),
                "verdict": s("pass or fail"), "summary": {"type": "object", "description": "the scan's summary"},
                "findings": {"type": "integer", "description": "how many findings it reported"}, "url": s("the production's page"),
            }),
        ),
    }
}

fn webhooks() -> serde_json::Value {
    use serde_json::json;
    let mut out = serde_json::Map::new();
    for kind in greenlight_store::outbox::EventKind::ALL {
        let (required, properties) = event_data(kind);
        out.insert(
            kind.as_str().to_owned(),
            json!({"post": {
                "summary": format!("{}: posted to every webhook subscribed to it", kind.as_str()),
                "description": "Signed as the Standard Webhooks specification says: headers webhook-id (the event's id, the same on every retry), webhook-timestamp and webhook-signature (v1,<base64 HMAC-SHA256 of id.timestamp.body>, one per valid secret). A 2xx answer is delivered; anything else is retried with back-off for 24 hours.",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object",
                    "required": ["id", "type", "timestamp", "data"],
                    "properties": {
                        "id": {"type": "string", "format": "uuid", "description": "the event's id (UUID v7)"},
                        "type": {"type": "string", "const": kind.as_str()},
                        "timestamp": {"type": "string", "format": "date-time"},
                        "data": {"type": "object", "required": required, "properties": properties},
                    },
                }}}},
                "responses": {"2XX": {"description": "received"}},
            }}),
        );
    }
    serde_json::Value::Object(out)
}
