//! Reads the pages need that the store does not offer as one call; built on its public API.

use std::collections::HashMap;

use greenlight_store::{
    AuditEntry, ConsentId, DeclarationFilter, DeclarationId, DeclarationSummary, PageRequest,
    Principal, ProductionId, State, Store,
};

use super::{Ctx, PageResult};

/// Names of the organisations the person sees, by id.
pub async fn org_names(store: &Store, who: &Principal) -> PageResult<HashMap<String, String>> {
    let mut names: HashMap<String, String> = who
        .memberships
        .iter()
        .map(|m| (m.org_id.0.clone(), m.org_name.clone()))
        .collect();
    for org in store.orgs(who).await? {
        names.insert(org.id.0, org.name);
    }
    Ok(names)
}

/// Names of people by id, looked up once each (for decisions and history).
pub async fn user_names(
    store: &Store,
    ids: impl IntoIterator<Item = String>,
) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for id in ids {
        if out.contains_key(&id) {
            continue;
        }
        let name = match store.principal(&id.as_str().into()).await {
            Ok(p) if !p.user.name.is_empty() => p.user.name,
            Ok(p) => p.user.email,
            Err(_) => id.clone(),
        };
        out.insert(id, name);
    }
    out
}

/// Every declaration matching a filter, paged through (for dashboards).
pub async fn all(
    store: &Store,
    who: &Principal,
    filter: DeclarationFilter,
) -> PageResult<Vec<DeclarationSummary>> {
    let mut out = Vec::new();
    loop {
        let page = store
            .declarations(
                who,
                &filter,
                PageRequest {
                    offset: out.len() as i64,
                    limit: PageRequest::MAX_LIMIT,
                },
            )
            .await?;
        let n = page.items.len();
        out.extend(page.items);
        if n == 0 || out.len() as i64 >= page.total {
            return Ok(out);
        }
    }
}

/// The counts of a production's (or every visible) declarations by outcome (every outcome,
/// in the spec's order) and by state (those that occur).
pub async fn counts(
    store: &Store,
    who: &Principal,
    production: Option<ProductionId>,
) -> PageResult<(Vec<(String, i64)>, Vec<(State, i64)>)> {
    let rows = store.declaration_counts(who, production).await?;
    let by_outcome = greenlight_core::Outcome::ALL
        .iter()
        .map(|o| {
            let n = rows
                .iter()
                .filter(|(x, ..)| x == o.as_str())
                .map(|r| r.2)
                .sum();
            (o.as_str().to_owned(), n)
        })
        .collect();
    let by_state = State::ALL
        .iter()
        .filter_map(|s| {
            let n: i64 = rows.iter().filter(|(_, x, _)| x == s).map(|r| r.2).sum();
            (n > 0).then_some((*s, n))
        })
        .collect();
    Ok((by_outcome, by_state))
}

/// The records audit entries name, as people know them: a use by its reference, a
/// production by its title, an organisation, a person, a tool or a consent by name, each
/// with a link where the reader has a page for it. Keyed by (entity, id); records the
/// reader may not see are left out (the line then names only the kind of record).
pub async fn record_labels(
    store: &Store,
    ctx: &Ctx,
    entries: &[AuditEntry],
) -> PageResult<HashMap<(String, String), (String, Option<String>)>> {
    let who = &ctx.principal;
    let mut out = HashMap::new();
    let orgs = org_names(store, who).await?;
    let tools = store.tools(who).await.unwrap_or_default();
    let user_ids: Vec<String> = entries
        .iter()
        .filter(|e| e.entity == "user")
        .map(|e| e.entity_id.clone())
        .collect();
    let users = user_names(store, user_ids).await;
    for e in entries {
        let key = (e.entity.clone(), e.entity_id.clone());
        if out.contains_key(&key) {
            continue;
        }
        let id = e.entity_id.as_str();
        let label = match e.entity.as_str() {
            "declaration" => store
                .declaration(who, &DeclarationId(id.to_owned()))
                .await
                .ok()
                .map(|d| {
                    (
                        format!(
                            "use {} on {}",
                            d.summary.reference, d.summary.production_title
                        ),
                        Some(format!("/declarations/{id}")),
                    )
                }),
            "production" => ctx.productions.iter().find(|p| p.id.0 == id).map(|p| {
                (
                    format!("production {}", p.facts.title),
                    Some(format!("/productions/{id}")),
                )
            }),
            "org" => orgs.get(id).map(|n| (format!("organisation {n}"), None)),
            "user" => users
                .get(id)
                .filter(|n| n.as_str() != id)
                .map(|n| (format!("person {n}"), None)),
            "tool" => tools.iter().find(|t| t.id.0 == id).map(|t| {
                (
                    format!("tool {}", t.name),
                    Some(format!("/legal/tools/{id}")),
                )
            }),
            "consent" => store
                .consent(who, &ConsentId(id.to_owned()))
                .await
                .ok()
                .map(|c| {
                    (
                        format!("{}'s consent signed {}", c.performer, c.signed),
                        Some("/legal/consents".to_owned()),
                    )
                }),
            "token" => Some(("an API token".to_owned(), None)),
            _ => None,
        };
        if let Some(l) = label {
            out.insert(key, l);
        }
    }
    Ok(out)
}
