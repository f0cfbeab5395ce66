//! A real OpenID provider for tests: the OpenID Certified `oidc-provider` package, started with
//! node from `tests/oidc-provider/` of this crate, with static clients and users, and a sign-in
//! through its login form by an HTTP client that keeps cookies, as a browser would.
//!
//! Needs node (20.19 or newer) and the package installed by `scripts/install-oidc-provider.sh`;
//! where either is missing, [`TestProvider::start`] says so with [`StartError::Unavailable`],
//! and a test prints that it skipped and why.
//!
//! ```no_run
//! use greenlight_sso::test_provider::{ProviderConfig, StartError, TestClient, TestProvider, TestUser};
//!
//! let config = ProviderConfig {
//!     clients: vec![TestClient::new("greenlight", "a-long-client-secret", "http://127.0.0.1:8080/sso/callback")],
//!     users: vec![TestUser::new("ana", "ana-password", "ana-0001").groups(&["reviewers"])],
//!     id_token_claims: true,
//! };
//! let provider = match TestProvider::start(&config) {
//!     Ok(p) => p,
//!     Err(StartError::Unavailable(why)) => { eprintln!("skipped: {why}"); return; }
//!     Err(e) => panic!("{e}"),
//! };
//! println!("issuer: {}", provider.issuer());
//! ```

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde::Serialize;
use url::Url;

/// How long the provider may take to print its issuer.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How much of the provider's standard error is kept (the end of it).
const LOG_LIMIT: usize = 64 * 1024;

/// A client registered with the provider (confidential, `client_secret_basic`, code flow,
/// PKCE required).
#[derive(Clone, Debug, Serialize)]
pub struct TestClient {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
    /// The redirect URIs the provider accepts, exactly.
    pub redirect_uris: Vec<String>,
}

impl TestClient {
    /// A client with one redirect URI.
    pub fn new(client_id: &str, client_secret: &str, redirect_uri: &str) -> TestClient {
        TestClient {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_uris: vec![redirect_uri.into()],
        }
    }
}

/// A person who can sign in at the provider.
#[derive(Clone, Debug, Serialize)]
pub struct TestUser {
    /// What they type as login.
    pub login: String,
    /// Their password.
    pub password: String,
    /// Their `sub`.
    pub sub: String,
    /// The `email` claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The `email_verified` claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// The `name` claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The `groups` claim (released with the `groups` scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

impl TestUser {
    /// A person with a login, a password and a subject, and no other claim.
    pub fn new(login: &str, password: &str, sub: &str) -> TestUser {
        TestUser {
            login: login.into(),
            password: password.into(),
            sub: sub.into(),
            email: None,
            email_verified: None,
            name: None,
            groups: None,
        }
    }

    /// With an `email` claim, marked verified.
    pub fn email(mut self, email: &str) -> TestUser {
        self.email = Some(email.into());
        self.email_verified = Some(true);
        self
    }

    /// With a `name` claim.
    pub fn name(mut self, name: &str) -> TestUser {
        self.name = Some(name.into());
        self
    }

    /// With a `groups` claim.
    pub fn groups(mut self, groups: &[&str]) -> TestUser {
        self.groups = Some(groups.iter().map(|g| (*g).to_owned()).collect());
        self
    }
}

/// What the provider is started with.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderConfig {
    /// Registered clients.
    pub clients: Vec<TestClient>,
    /// People who can sign in.
    pub users: Vec<TestUser>,
    /// `true`: the ID token carries every granted claim; `false`: it carries only `sub` and
    /// the protocol claims, and the others come from the userinfo endpoint.
    pub id_token_claims: bool,
}

/// Why the provider did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// node or the npm packages are missing: the test should skip, saying this.
    #[error("{0}")]
    Unavailable(String),
    /// It was there but failed.
    #[error("the test OpenID provider failed to start: {0}")]
    Failed(String),
}

/// A running provider; stopped when dropped, and when the process that started it ends
/// (it watches its standard input), so one kept in a `static` for a whole test binary leaves
/// nothing behind.
#[derive(Debug)]
pub struct TestProvider {
    child: Child,
    issuer: String,
    log: Arc<Mutex<Vec<u8>>>,
}

impl TestProvider {
    /// The folder holding `provider.mjs`, `package.json` and the lock file.
    pub fn directory() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc-provider")
    }

    /// Starts the provider on a free loopback port and waits until it listens.
    pub fn start(config: &ProviderConfig) -> Result<TestProvider, StartError> {
        let dir = Self::directory();
        let node = std::env::var_os("NODE").unwrap_or_else(|| "node".into());
        let version = Command::new(&node).arg("--version").output().map_err(|e| {
            StartError::Unavailable(format!(
                "node is not installed ({e}); the OpenID provider tests need node 20.19 or newer"
            ))
        })?;
        let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
        if !node_is_recent(&version) {
            return Err(StartError::Unavailable(format!(
                "node {version} is too old; the OpenID provider tests need node 20.19 or newer"
            )));
        }
        if !dir
            .join("node_modules/oidc-provider/package.json")
            .is_file()
        {
            return Err(StartError::Unavailable(format!(
                "the npm package oidc-provider is not installed in {}; run scripts/install-oidc-provider.sh",
                dir.display()
            )));
        }

        let failed =
            |what: &str, e: &dyn std::fmt::Display| StartError::Failed(format!("{what}: {e}"));
        let json =
            serde_json::to_string(config).map_err(|e| failed("writing its configuration", &e))?;
        let mut child = Command::new(&node)
            .arg(dir.join("provider.mjs"))
            .arg("--config-json")
            .arg(json)
            .arg("--exit-on-stdin-close")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| failed("starting node", &e))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut log_reader = None;
        if let Some(mut stderr) = child.stderr.take() {
            let log = Arc::clone(&log);
            log_reader = Some(std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stderr.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut log) = log.lock() {
                        log.extend_from_slice(&buf[..n]);
                        let excess = log.len().saturating_sub(LOG_LIMIT);
                        log.drain(..excess);
                    }
                }
            }));
        }
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err(StartError::Failed("no standard output".into()));
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = tx.send(reader.read_line(&mut line).map(|_| line));
            // Keep reading, so the provider never writes into a closed pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let mut provider = TestProvider {
            child,
            issuer: String::new(),
            log,
        };
        let outcome = rx.recv_timeout(START_TIMEOUT);
        let problem = match &outcome {
            Ok(Ok(line)) if !line.is_empty() => None,
            Ok(Ok(_)) => Some("it exited".to_owned()),
            Ok(Err(e)) => Some(format!("reading its output: {e}")),
            Err(_) => Some(format!(
                "it printed no issuer within {} s",
                START_TIMEOUT.as_secs()
            )),
        };
        if let Some(problem) = problem {
            // Stop it and read all it said before giving up.
            let _ = provider.child.kill();
            let _ = provider.child.wait();
            if let Some(reader) = log_reader {
                let _ = reader.join();
            }
            return Err(StartError::Failed(format!(
                "{problem}: {}",
                provider.log_text()
            )));
        }
        let line = match outcome {
            Ok(Ok(line)) => line,
            _ => String::new(),
        };
        #[derive(serde::Deserialize)]
        struct Ready {
            issuer: String,
        }
        let ready: Ready = serde_json::from_str(&line)
            .map_err(|e| failed(&format!("reading its first line {line:?}"), &e))?;
        provider.issuer = ready.issuer;
        Ok(provider)
    }

    /// The issuer identifier, `http://127.0.0.1:PORT`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// What the provider wrote on standard error so far (notices, errors; the last 64 KiB).
    pub fn log_text(&self) -> String {
        match self.log.lock() {
            Ok(log) => String::from_utf8_lossy(&log).into_owned(),
            Err(_) => String::new(),
        }
    }

    /// Signs `login` in as a browser would: follows the authorization URL to the login form,
    /// posts the login and password to the form's action with the cookies the provider set,
    /// and follows the redirects until the provider sends the browser to `redirect_url`.
    /// Returns that callback URL (with `code`, `state` and `iss`), or what the provider said
    /// instead.
    pub async fn sign_in(
        &self,
        authorization_url: &Url,
        login: &str,
        password: &str,
        redirect_url: &str,
    ) -> Result<Url, String> {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        let mut next = authorization_url.clone();
        let mut form: Option<Vec<(&str, &str)>> = None;
        for _ in 0..10 {
            let request = match form.take() {
                Some(fields) => client.post(next.clone()).form(&fields),
                None => client.get(next.clone()),
            };
            let response = request.send().await.map_err(|e| format!("{next}: {e}"))?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .ok_or_else(|| format!("{next}: {status} without a Location"))?;
                let target = next
                    .join(location)
                    .map_err(|e| format!("{location}: {e}"))?;
                if target.as_str().starts_with(redirect_url) {
                    return Ok(target);
                }
                next = target;
                continue;
            }
            let body = response.text().await.map_err(|e| format!("{next}: {e}"))?;
            if !status.is_success() {
                return Err(format!("{next}: {status}: {}", text_of(&body)));
            }
            if let Some(error) = between(&body, "role=\"alert\">", "</p>") {
                return Err(format!(
                    "the provider refused the login: {}",
                    unescape(error)
                ));
            }
            let action = between(&body, "<form method=\"post\" action=\"", "\"")
                .ok_or_else(|| format!("{next}: no login form in {}", text_of(&body)))?;
            next = next
                .join(&unescape(action))
                .map_err(|e| format!("{action}: {e}"))?;
            form = Some(vec![("login", login), ("password", password)]);
        }
        Err("more than 10 redirects".into())
    }
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn node_is_recent(version: &str) -> bool {
    let mut parts = version
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    major > 20 || (major == 20 && minor >= 19)
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("&#") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        match after.find(';').and_then(|end| {
            let c = after[..end].parse::<u32>().ok().and_then(char::from_u32)?;
            Some((c, end))
        }) {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("&#");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.replace("&amp;", "&")
}

fn text_of(body: &str) -> String {
    body.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_versions_are_compared_by_number() {
        assert!(node_is_recent("v20.19.0"));
        assert!(node_is_recent("v20.20.2"));
        assert!(node_is_recent("v22.1.0"));
        assert!(!node_is_recent("v20.9.0"));
        assert!(!node_is_recent("v18.19.1"));
        assert!(!node_is_recent(""));
    }

    #[test]
    fn html_character_references_are_decoded() {
        assert_eq!(unescape("a&#38;b &amp; &#60;c&#62; &#x;"), "a&b & <c> &#x;");
    }
}
