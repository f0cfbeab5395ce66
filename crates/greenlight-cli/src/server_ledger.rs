//! `greenlight scan --server URL`: reads a production's asset ledger, the reference banks and
//! the declarations with their decisions from a Greenlight server
//! (`GET /api/v1/productions/{id}/ledger`, see `docs/api.md`), with the API token from
//! `GREENLIGHT_TOKEN`.
//!
//! Failures map to the scan's exit codes: a server that cannot be reached, answers 5xx or
//! sends something unreadable stops the scan (4); a refused token, an unknown production, a
//! token that cannot be sent, a plain `http://` URL to a host other than this machine and a
//! server that redirects elsewhere are the caller's to fix (2).
//!
//! The token goes to the server as it is and to no one else: plain HTTP only on loopback,
//! and redirects are never followed (a redirect would carry the token to another URL).

use std::net::IpAddr;
use std::time::Duration;

use anyhow::Context;
use base64::Engine as _;
use greenlight_scan::declarations::{Declarations, RecordedDeclaration};
use greenlight_scan::scan::Banks;
use greenlight_store::banks::{Asset, AudioReference, Reference};
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

/// The API token from the environment; a missing one, or one holding anything but visible
/// ASCII (a control character, a space, a non-ASCII letter), is a usage error.
pub fn token_from_env() -> anyhow::Result<String> {
    let unusable = || {
        UsageError(format!(
            "{TOKEN_ENV} holds a control character or a character other than visible ASCII; \
             an API token is printable ASCII without spaces: set it again"
        ))
    };
    let token = match std::env::var(TOKEN_ENV) {
        Ok(t) => t,
        Err(std::env::VarError::NotUnicode(_)) => return Err(unusable().into()),
        Err(std::env::VarError::NotPresent) => String::new(),
    };
    let token = token.trim();
    if token.is_empty() {
        return Err(UsageError(format!(
            "--server needs an API token in the environment variable {TOKEN_ENV}"
        ))
        .into());
    }
    // An HTTP header value carries visible ASCII; anything else would fail (or be mangled)
    // when the request is sent, and read as an unreachable server.
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(unusable().into());
    }
    Ok(token.to_owned())
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

/// The server's base URL without a trailing slash. Only `https`, and `http` to a loopback
/// host (127.0.0.0/8, ::1, localhost), are accepted: over plain HTTP the token would cross
/// the network unencrypted.
fn base_url(server: &str) -> anyhow::Result<String> {
    let s = server.trim().trim_end_matches('/');
    let bad = || {
        UsageError(format!(
            "--server {server:?}: give the server's URL, https://HOST[:PORT] \
             (or http://127.0.0.1[:PORT] for a server on this machine)"
        ))
    };
    let uri: ureq::http::Uri = s.parse().map_err(|_| bad())?;
    let host = match uri.host() {
        Some(h) if !h.is_empty() => h,
        _ => return Err(bad().into()),
    };
    match uri.scheme_str() {
        Some("https") => Ok(s.to_owned()),
        Some("http") if is_loopback(host) => Ok(s.to_owned()),
        Some("http") => Err(UsageError(format!(
            "--server {server:?}: over plain http the API token in {TOKEN_ENV} would cross the \
             network unencrypted; use https://{}",
            s.trim_start_matches("http://")
        ))
        .into()),
        _ => Err(bad().into()),
    }
}

/// Whether `host` (a URL's host, IPv6 in brackets) names this machine: `localhost`, an
/// address in 127.0.0.0/8, or ::1 (also written as the IPv4-mapped ::ffff:127.x.y.z).
fn is_loopback(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let ip = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ip.parse::<IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Where a redirect for `path` points, as a `--server` value: the `Location` with `path`
/// taken off its end when it ends so (`https://gl.example/api/v1/productions` becomes
/// `https://gl.example`), a path-only `Location` joined to the origin of `base`.
fn redirect_target(base: &str, path: &str, location: &str) -> String {
    let absolute = if location.starts_with('/') && !location.starts_with("//") {
        let origin = base
            .parse::<ureq::http::Uri>()
            .ok()
            .and_then(|u| Some(format!("{}://{}", u.scheme_str()?, u.authority()?)))
            .unwrap_or_else(|| base.to_owned());
        format!("{origin}{location}")
    } else {
        location.to_owned()
    };
    match absolute.strip_suffix(path) {
        Some(b) if b.contains("://") && !b.ends_with("://") => b.trim_end_matches('/').to_owned(),
        _ => absolute,
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
            // A redirect is reported, never followed: following it would send the token to
            // a URL the caller did not name.
            .max_redirects(0)
            .user_agent(concat!("greenlight/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client { agent, base, token }
    }

    /// GET `path`: the body of a 200, `NotFound` for a problem+json 404, an error otherwise.
    fn get(&self, path: &str) -> anyhow::Result<Reply> {
        let url = format!("{}{path}", self.base);
        let res = self
            .agent
            .get(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .header("Accept", "application/json")
            .call();
        self.answer("GET", path, res)
    }

    /// POST `body` (JSON) to `path`, answered as [`Client::get`] answers.
    fn post(&self, path: &str, body: &[u8]) -> anyhow::Result<Reply> {
        let url = format!("{}{path}", self.base);
        let res = self
            .agent
            .post(&url)
            .header("Authorization", &format!("Bearer {}", self.token))
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .send(body);
        self.answer("POST", path, res)
    }

    fn answer(
        &self,
        method: &str,
        path: &str,
        res: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> anyhow::Result<Reply> {
        let mut res =
            res.map_err(|e| anyhow::anyhow!("cannot reach the server {}: {e}", self.base))?;
        let status = res.status().as_u16();
        if (300..400).contains(&status)
            && let Some(location) = res
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|l| !l.is_empty())
        {
            // The caller's to fix (2): the URL they gave is not the server's.
            return Err(UsageError(format!(
                "the server {} redirects to {}: use that URL",
                self.base,
                redirect_target(self.base, path, location)
            ))
            .into());
        }
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
            200..=299 => Ok(Reply::Ok(body)),
            401 | 403 => Err(UsageError(format!(
                "the server {} refused the token in {TOKEN_ENV} ({status}{})",
                self.base,
                detail(&body).map(|d| format!(": {d}")).unwrap_or_default()
            ))
            .into()),
            // A 404 from the API is problem+json; anything else is not this API at all.
            404 if problem => Ok(Reply::NotFound),
            _ => Err(anyhow::anyhow!(
                "the server {} answered {status} to {method} {path}{}",
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

/// `POST /api/v1/declarations/{id}/replay[?seq=N]` on the server at `server`: the stored
/// triage evaluated again with the pack texts it recorded, as the server answers it (JSON).
pub fn replay(
    server: &str,
    token: &str,
    declaration: &str,
    seq: Option<i64>,
) -> anyhow::Result<Vec<u8>> {
    let base = base_url(server)?;
    let client = Client::new(&base, token);
    let path = format!(
        "/api/v1/declarations/{}/replay{}",
        utf8_percent_encode(declaration, NON_ALPHANUMERIC),
        seq.map(|n| format!("?seq={n}")).unwrap_or_default()
    );
    match client.post(&path, b"")? {
        Reply::Ok(body) => Ok(body),
        Reply::NotFound => Err(UsageError(format!(
            "the server {base} has no declaration {declaration:?} (or triage) that this token may read"
        ))
        .into()),
    }
}

/// `POST /api/v1/productions/{id}/scans`: the scan's verdict, summary and findings, kept on
/// the production for the studio (and told to its contacts and webhooks).
pub fn report_scan(server: &str, token: &str, production: &str, body: &[u8]) -> anyhow::Result<()> {
    let base = base_url(server)?;
    let client = Client::new(&base, token);
    let path = format!(
        "/api/v1/productions/{}/scans",
        utf8_percent_encode(production, NON_ALPHANUMERIC)
    );
    match client.post(&path, body)? {
        Reply::Ok(_) => Ok(()),
        Reply::NotFound => Err(UsageError(format!(
            "the server {base} has no production {production:?} that this token may report on"
        ))
        .into()),
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
    /// Audio fingerprints of protected recordings (servers before audio send none).
    #[serde(default)]
    audio_references: Vec<AudioReference>,
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
                audio_references: self.audio_references,
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
        for bad in ["gl.example", "ftp://gl.example", "http://", "https://", ""] {
            let e = base_url(bad).expect_err(bad);
            assert!(e.downcast_ref::<UsageError>().is_some(), "{bad}: {e}");
        }
    }

    #[test]
    fn plain_http_is_accepted_only_to_this_machine() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://localhost:8080/",
            "http://LOCALHOST.",
            "http://[::1]:8080",
            "http://[::ffff:127.0.0.1]",
        ] {
            assert!(base_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://gl.example",
            "http://10.0.0.5:8080",
            "http://[::2]",
            "http://localhost.gl.example",
            "http://127.0.0.1@gl.example",
        ] {
            let e = base_url(bad).expect_err(bad);
            assert!(e.downcast_ref::<UsageError>().is_some(), "{bad}: {e}");
            assert!(e.to_string().contains("unencrypted"), "{bad}: {e}");
        }
        assert!(base_url("https://gl.example:8443").is_ok());
    }

    #[test]
    fn a_redirect_names_the_url_to_give_instead() {
        let path = "/api/v1/productions";
        assert_eq!(
            redirect_target(
                "http://127.0.0.1:8080",
                path,
                "https://gl.example/api/v1/productions"
            ),
            "https://gl.example"
        );
        assert_eq!(
            redirect_target("https://gl.example", path, "/greenlight/api/v1/productions"),
            "https://gl.example/greenlight"
        );
        assert_eq!(
            redirect_target("https://gl.example", path, "https://sso.example/login"),
            "https://sso.example/login"
        );
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
