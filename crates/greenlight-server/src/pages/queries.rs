//! Reads the pages need that the store does not offer as one call; built on its public API.

use std::collections::HashMap;

use greenlight_store::{
    DeclarationFilter, DeclarationSummary, PageRequest, Principal, ProductionId, State, Store,
};

use super::PageResult;

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

/// How many declarations match a filter (one count query, no rows).
pub async fn count(store: &Store, who: &Principal, filter: DeclarationFilter) -> PageResult<i64> {
    Ok(store
        .declarations(
            who,
            &filter,
            PageRequest {
                offset: 0,
                limit: 1,
            },
        )
        .await?
        .total)
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

/// The counts of a production's (or every visible) declarations by outcome and by state.
pub async fn counts(
    store: &Store,
    who: &Principal,
    production: Option<ProductionId>,
) -> PageResult<(Vec<(String, i64)>, Vec<(State, i64)>)> {
    let mut by_outcome = Vec::new();
    for o in ["notify", "review", "escalate", "written_approval"] {
        let f = DeclarationFilter {
            production_id: production.clone(),
            outcome: Some(o.to_owned()),
            ..DeclarationFilter::default()
        };
        by_outcome.push((o.to_owned(), count(store, who, f).await?));
    }
    let mut by_state = Vec::new();
    for s in State::ALL {
        let f = DeclarationFilter {
            production_id: production.clone(),
            state: Some(*s),
            ..DeclarationFilter::default()
        };
        let n = count(store, who, f).await?;
        if n > 0 {
            by_state.push((*s, n));
        }
    }
    Ok((by_outcome, by_state))
}
