//! `greenlight scan --server URL`: reads a production's asset ledger, the reference banks and
//! the declarations with their decisions from a Greenlight server
//! (`GET /api/v1/productions/{id}/ledger`, see `docs/api.md`), with the API token from
//! `GREENLIGHT_TOKEN`.
//!
//! Failures map to the scan's exit codes: a server that cannot be reached, answers 5xx or
//! sends something unreadable stops the scan (4); a refused token and an unknown production
//! are the caller's to fix (2).

use std::time::Duration;

use anyhow::Context;
use base64::Engine as _;
use greenlight_scan::bank::{Asset, Reference};
use greenlight_scan::declarations::{Declarations, RecordedDeclaration};
use greenlight_scan::scan::Banks;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use crate::cmd::UsageError;

/// The environment variable holding the API token.
pub const TOKEN_ENV: &str = "GREENLIGHT_TOKEN";
/// Largest response read: a ledger of ten thousand entries with thumbnails is ~100 MiB.
pub const MAX_RESPONSE_BYTES: u64 = 512 * 1024 * 1024;
/// Time to open the connection (TCP and TLS).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// Time for a whole request, response body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// What a scan takes from the server.
#[derive(Debug)]
pub struct ServerInputs {
    /// The production's id on the server.
    pub production: String,
    /// Its ledger and every reference bank.
    pub banks: Banks,
    /// Its declarations by `use.ref`.
    pub declarations: Declarations,
}

/// The API token from the environment; a missing one is a usage error.
pub fn token_from_env() -> anyhow::Result<String> {
    match std::env::var(TOKEN_ENV) {
        Ok(t) if !t.trim().is_empty() => Ok(t.trim().to_owned()),
        _ => Err(UsageError(format!(
            "--server needs an API token in the environment variable {TOKEN_ENV}"
        ))
        .into()),
    }
}

/// Reads what a scan needs for `production` (or for the only production the token sees)
/// from the server at `server`. Thumbnails are fetched only when `thumbnails` (an HTML
/// report shows them).
pub fn fetch(
    server: &str,
    token: &str,
    production: Option<&str>,
    thumbnails: bool,
) -> anyhow::Result<ServerInputs> {
    let base = base_url(server)?;
    let client = Client::new(&base, token);
    let production = match production {
        Some(p) => p.to_owned(),
        None => client.only_production()?,
    };
    let path = format!(
        "/api/v1/productions/{}/ledger{}",
        utf8_percent_encode(&production, NON_ALPHANUMERIC),
        if thumbnails { "" } else { "?thumbnails=false" }
    );
    let body = match client.get(&path)? {
        Reply::Ok(body) => body,
        Reply::NotFound => {
            return Err(UsageError(format!(
                "the server {base} has no production {production:?} that this token may read"
            ))
            .into());
        }
    };
    let doc: LedgerDoc = serde_json::from_slice(&body)
        .with_context(|| format!("the server {base} sent a ledger that cannot be read"))?;
    let inputs = doc
        .into_inputs()
        .with_context(|| format!("the server {base} sent a ledger that cannot be read"))?;
    tracing::info!(
        server = %base,
        production = %inputs.production,
        ledger = inputs.banks.ledger.len(),
        references = inputs.banks.references.len(),
        declarations = inputs.declarations.by_ref.len(),
        "read the production's ledger from the server"
    );
    Ok(inputs)
}

/// The server's base URL without a trailing slash; only `http` and `https` are accepted.
fn base_url(server: &str) -> anyhow::Result<String> {
    let s = server.trim().trim_end_matches('/');
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() => Ok(s.to_owned()),
        _ => Err(UsageError(format!(
            "--server {server:?}: give the server's URL, http://HOST[:PORT] or https://HOST[:PORT]"
        ))
        .into()),
    }
}

/// A successful answer, or a 404 (which the caller names).
enum Reply {
    Ok(Vec<u8>),
    NotFound,
}

struct Client<'a> {
    agent: ureq::Agent,
    base: &'a str,
    token: &'a str,
}

impl<'a> Client<'a> {
    fn new(base: &'a str, token: &'a str) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .user_agent(concat!("greenlight/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client { agent, base, token }
    }

    /// GET `path`: the body of a 200, `NotFound` for a problem+json 404, an error otherwise.
    fn get(&self, path: &str) -> anyhow::Result<Reply> {
        let url = format!("{}{path}", self.base);
        let mut res = self
            .agent
            .get(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .header("Accept", "application/json")
            .call()
            .map_err(|e| anyhow::anyhow!("cannot reach the server {}: {e}", self.base))?;
        let status = res.status().as_u16();
        let problem = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/problem+json"));
        let body = res
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(n) => anyhow::anyhow!(
                    "the server {} sent more than {n} bytes for {path}",
                    self.base
                ),
                e => anyhow::anyhow!("reading the answer of the server {}: {e}", self.base),
            })?;
        match status {
            200 => Ok(Reply::Ok(body)),
            401 | 403 => Err(UsageError(format!(
                "the server {} refused the token in {TOKEN_ENV} ({status}{})",
                self.base,
                detail(&body).map(|d| format!(": {d}")).unwrap_or_default()
            ))
            .into()),
            // A 404 from the API is problem+json; anything else is not this API at all.
            404 if problem => Ok(Reply::NotFound),
            _ => Err(anyhow::anyhow!(
                "the server {} answered {status} to GET {path}{}",
                self.base,
                detail(&body).map(|d| format!(": {d}")).unwrap_or_default()
            )),
        }
    }

    /// The id of the one production the token sees.
    fn only_production(&self) -> anyhow::Result<String> {
        let body = match self.get("/api/v1/productions")? {
            Reply::Ok(b) => b,
            Reply::NotFound => anyhow::bail!(
                "the server {} has no /api/v1/productions: is it a Greenlight server?",
                self.base
            ),
        };
        let list: Vec<ProductionDoc> = serde_json::from_slice(&body).with_context(|| {
            format!(
                "the server {} sent a list of productions that cannot be read",
                self.base
            )
        })?;
        match list.as_slice() {
            [one] => Ok(one.id.clone()),
            [] => Err(UsageError(format!(
                "the token sees no production on the server {}",
                self.base
            ))
            .into()),
            many => Err(UsageError(format!(
                "the token sees several productions on the server {}; name one with --production: {}",
                self.base,
                many.iter()
                    .map(|p| format!("{} ({})", p.id, p.title))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into()),
        }
    }
}

/// The `detail` of a problem+json body, or its first line of text.
fn detail(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Problem {
        detail: Option<String>,
        request_id: Option<String>,
    }
    if let Ok(p) = serde_json::from_slice::<Problem>(body) {
        return p.detail.map(|d| match p.request_id {
            Some(id) => format!("{d} (request id {id})"),
            None => d,
        });
    }
    let text = String::from_utf8_lossy(body);
    let line = text.lines().next()?.trim();
    (!line.is_empty()).then(|| line.chars().take(200).collect())
}

#[derive(Debug, Deserialize)]
struct ProductionDoc {
    id: String,
    #[serde(default)]
    title: String,
}

/// The ledger document as this client reads it. Ledger entries stay JSON until each is read
/// as the bank's own record, so a field the bank adds passes through.
#[derive(Debug, Deserialize)]
struct LedgerDoc {
    production: ProductionDoc,
    ledger: Vec<serde_json::Value>,
    references: Vec<Reference>,
    declarations: Vec<UseDoc>,
}

#[derive(Debug, Deserialize)]
struct UseDoc {
    declaration_id: String,
    reference: String,
    state: String,
    revision: i64,
    #[serde(rename = "final")]
    is_final: bool,
    approved: bool,
    decision: Option<DecisionDoc>,
    decided_by_email: Option<String>,
    keep_marking: bool,
}

#[derive(Debug, Deserialize)]
struct DecisionDoc {
    by: String,
    at: String,
    #[serde(default)]
    conditions: Vec<String>,
}

impl LedgerDoc {
    fn into_inputs(self) -> anyhow::Result<ServerInputs> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut ledger = Vec::with_capacity(self.ledger.len());
        for (i, mut entry) in self.ledger.into_iter().enumerate() {
            let thumbnail = match entry.as_object_mut().and_then(|o| o.remove("thumbnail")) {
                Some(serde_json::Value::String(t)) => Some(
                    b64.decode(t.as_bytes())
                        .with_context(|| format!("ledger[{i}].thumbnail is not base64"))?,
                ),
                _ => None,
            };
            let mut asset: Asset = serde_json::from_value(entry)
                .with_context(|| format!("ledger[{i}] is not a ledger entry"))?;
            asset.thumbnail = thumbnail;
            ledger.push(asset);
        }
        let declarations = Declarations::recorded(self.declarations.into_iter().map(|u| {
            let decided = u.decision.map(|d| {
                (
                    u.decided_by_email.clone().unwrap_or(d.by),
                    d.at,
                    d.conditions,
                )
            });
            (
                u.reference,
                RecordedDeclaration {
                    id: u.declaration_id,
                    revision: u.revision,
                    state: u.state,
                    approved: u.approved,
                    final_use: u.is_final,
                    decided,
                    keep_marking: u.keep_marking,
                },
            )
        }));
        Ok(ServerInputs {
            production: self.production.id,
            banks: Banks {
                ledger,
                references: self.references,
            },
            declarations,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_servers_are_accepted() {
        assert_eq!(
            base_url("https://gl.example/").expect("valid"),
            "https://gl.example"
        );
        assert_eq!(
            base_url("http://127.0.0.1:8080").expect("valid"),
            "http://127.0.0.1:8080"
        );
        for bad in ["gl.example", "ftp://gl.example", "http://", ""] {
            let e = base_url(bad).expect_err(bad);
            assert!(e.downcast_ref::<UsageError>().is_some(), "{bad}: {e}");
        }
    }

    #[test]
    fn a_problem_detail_names_the_request_id() {
        let body = br#"{"type":"x","title":"Internal error","status":500,"detail":"internal error","request_id":"r-1"}"#;
        assert_eq!(
            detail(body).as_deref(),
            Some("internal error (request id r-1)")
        );
        assert_eq!(detail(b"<html>\n").as_deref(), Some("<html>"));
    }
}
