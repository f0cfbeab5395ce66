//! A studio's single sign-on settings, the claim mapping, and their validation.

use std::collections::BTreeSet;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

/// Longest text accepted in any setting (an issuer URL, a group name): enough for every
/// provider seen, small enough that a setting cannot hold a document.
pub const MAX_SETTING_LEN: usize = 2048;
/// Most rules one mapping may hold.
pub const MAX_RULES: usize = 500;
/// Most scopes one client may request besides `openid`.
pub const MAX_SCOPES: usize = 32;

/// The scopes asked for when the settings name none: the person's email and name come with
/// `email` and `profile`.
pub const DEFAULT_SCOPES: &[&str] = &["email", "profile"];

/// A studio's OpenID Connect settings.
///
/// Everything here but the client secret is plain configuration the caller may keep as it
/// likes; the client secret is a secret Greenlight must use, kept encrypted by the caller and
/// handed in wrapped so that it never reaches a log.
#[derive(Clone, Debug)]
pub struct SsoSettings {
    /// The provider's issuer identifier, exactly as its discovery document states it
    /// (e.g. `https://login.example.com/realms/studio`); `/.well-known/openid-configuration`
    /// is appended to find the document.
    pub issuer_url: String,
    /// The client id the provider gave Greenlight.
    pub client_id: String,
    /// The client secret the provider gave Greenlight (sent with HTTP Basic authentication).
    pub client_secret: SecretString,
    /// Greenlight's callback address, registered with the provider as the redirect URI.
    pub redirect_url: String,
    /// Scopes to ask for besides `openid`, which is always asked for; empty means
    /// [`DEFAULT_SCOPES`]. A provider that releases groups only under a scope of its own
    /// (`groups`, say) needs it named here.
    pub scopes: Vec<String>,
    /// The claim whose values the mapping reads, e.g. `groups` or `roles`. A claim whose name
    /// is not found at the top level is looked up as a dotted path (`realm_access.roles`).
    pub claim: String,
    /// Which claim values grant which roles in which of the studio's organisations.
    pub mapping: Vec<ClaimRule>,
}

/// One rule of the claim mapping: a person whose claim holds `value` gets `roles` in
/// `organisation`. Values match exactly, case included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRule {
    /// A value of the mapped claim, e.g. the group `greenlight-reviewers`.
    pub value: String,
    /// The organisation (its id, as the caller names organisations) the rule grants roles in.
    pub organisation: String,
    /// The roles granted there.
    pub roles: Vec<Role>,
}

/// A role in an organisation, spelt as everywhere else in Greenlight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Declares uses of generative AI for a production.
    Partner,
    /// Reviews and decides declarations.
    Reviewer,
    /// Keeps consents, tools, clearances and agreements.
    Legal,
    /// Administers the organisation.
    Admin,
    /// Reads everything, changes nothing.
    Auditor,
}

impl Role {
    /// Every role, in the order above.
    pub const ALL: &'static [Role] = &[
        Role::Partner,
        Role::Reviewer,
        Role::Legal,
        Role::Admin,
        Role::Auditor,
    ];

    /// The role's spelling in JSON, the database and the pages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Partner => "partner",
            Role::Reviewer => "reviewer",
            Role::Legal => "legal",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("\"{s}\" is not one of partner, reviewer, legal, admin, auditor")
            })
    }
}

/// What the caller knows about the studio whose settings these are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Studio {
    /// The studio's organisations: the only ones a mapping may grant roles in.
    pub organisations: BTreeSet<String>,
    /// Whom a person should ask when their claims grant them nothing, as a sentence fragment
    /// shown to them, e.g. `the administrators of Northlight Studios (access@northlight.example)`.
    pub whom_to_ask: String,
}

/// One problem with the settings, with the setting it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsProblem {
    /// The setting, as a path: `issuer_url`, `scopes[1]`, `mapping[0].organisation`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for SettingsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every problem found in a set of settings (never only the first).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct SettingsError {
    /// The problems, in the order of the settings.
    pub problems: Vec<SettingsProblem>,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid single sign-on settings: ")?;
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl SsoSettings {
    /// The scopes sent with an authorization request: `openid`, then the configured ones
    /// (or [`DEFAULT_SCOPES`]), each once.
    pub fn requested_scopes(&self) -> Vec<String> {
        let mut out = vec!["openid".to_owned()];
        let configured: Vec<String> = if self.scopes.is_empty() {
            DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
        } else {
            self.scopes.iter().map(|s| s.trim().to_owned()).collect()
        };
        for scope in configured {
            if !out.contains(&scope) {
                out.push(scope);
            }
        }
        out
    }

    /// Checks every setting and reports every problem, each naming its setting. A mapping
    /// rule naming an organisation outside `studio` is a problem: single sign-on only ever
    /// grants roles in the studio's own organisations.
    pub fn validate(&self, studio: &Studio) -> Result<(), SettingsError> {
        let mut problems = Vec::new();
        let mut problem = |field: String, message: String| {
            problems.push(SettingsProblem { field, message });
        };

        if let Err(message) = check_issuer(&self.issuer_url) {
            problem("issuer_url".into(), message);
        }
        if let Err(message) = check_text(&self.client_id) {
            problem("client_id".into(), message);
        }
        if let Err(message) = check_text(self.client_secret.expose_secret()) {
            problem("client_secret".into(), message);
        }
        if let Err(message) = check_redirect(&self.redirect_url) {
            problem("redirect_url".into(), message);
        }
        if self.scopes.len() > MAX_SCOPES {
            problem(
                "scopes".into(),
                format!("{} scopes; at most {MAX_SCOPES}", self.scopes.len()),
            );
        }
        for (i, scope) in self.scopes.iter().enumerate() {
            if let Err(message) = check_scope(scope) {
                problem(format!("scopes[{i}]"), message);
            }
        }
        if let Err(message) = check_text(&self.claim) {
            problem("claim".into(), message);
        }
        if self.mapping.is_empty() {
            problem(
                "mapping".into(),
                "no rules: nobody could sign in; add a rule mapping a claim value to an \
                 organisation and roles"
                    .into(),
            );
        }
        if self.mapping.len() > MAX_RULES {
            problem(
                "mapping".into(),
                format!("{} rules; at most {MAX_RULES}", self.mapping.len()),
            );
        }
        for (i, rule) in self.mapping.iter().enumerate() {
            if let Err(message) = check_text(&rule.value) {
                problem(format!("mapping[{i}].value"), message);
            }
            if !studio.organisations.contains(&rule.organisation) {
                problem(
                    format!("mapping[{i}].organisation"),
                    format!(
                        "\"{}\" is not an organisation of this studio; single sign-on grants \
                         roles only in the studio's own organisations",
                        rule.organisation
                    ),
                );
            }
            if rule.roles.is_empty() {
                problem(
                    format!("mapping[{i}].roles"),
                    "no roles: a rule must grant at least one role".into(),
                );
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SettingsError { problems })
        }
    }
}

fn check_text(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("is empty".into());
    }
    if value.len() > MAX_SETTING_LEN {
        return Err(format!(
            "is {} bytes long; at most {MAX_SETTING_LEN}",
            value.len()
        ));
    }
    if value.chars().any(char::is_control) {
        return Err("contains a control character".into());
    }
    Ok(())
}

fn check_issuer(value: &str) -> Result<(), String> {
    check_text(value)?;
    let url = Url::parse(value).map_err(|e| format!("\"{value}\" is not a URL ({e})"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!("\"{value}\" is not an https URL"));
    }
    // OpenID Connect Discovery 1.0, section 2: an issuer has no query or fragment.
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "\"{value}\" has a query or a fragment; an issuer identifier has neither"
        ));
    }
    if url.host_str().is_none() {
        return Err(format!("\"{value}\" has no host"));
    }
    Ok(())
}

fn check_redirect(value: &str) -> Result<(), String> {
    check_text(value)?;
    let url = Url::parse(value).map_err(|e| format!("\"{value}\" is not a URL ({e})"))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(format!("\"{value}\" is not an http or https URL"));
    }
    if url.fragment().is_some() {
        return Err(format!(
            "\"{value}\" has a fragment; a redirect URI has none"
        ));
    }
    Ok(())
}

/// RFC 6749, section 3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn check_scope(value: &str) -> Result<(), String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("is empty".into());
    }
    if value.len() > 256 {
        return Err("is longer than 256 bytes".into());
    }
    if let Some(c) = value
        .chars()
        .find(|&c| !matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E'))
    {
        return Err(format!(
            "\"{value}\" contains {c:?}; a scope is one word of printable ASCII without \
             quotes or backslashes (list several scopes as several entries)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn studio() -> Studio {
        Studio {
            organisations: ["org-studio".to_owned(), "org-legal".to_owned()].into(),
            whom_to_ask: "the studio's admins".into(),
        }
    }

    fn settings() -> SsoSettings {
        SsoSettings {
            issuer_url: "https://login.example.com/realms/studio".into(),
            client_id: "greenlight".into(),
            client_secret: SecretString::from("secret"),
            redirect_url: "https://greenlight.example.com/sso/callback".into(),
            scopes: vec![],
            claim: "groups".into(),
            mapping: vec![ClaimRule {
                value: "reviewers".into(),
                organisation: "org-studio".into(),
                roles: vec![Role::Reviewer],
            }],
        }
    }

    fn fields(err: SettingsError) -> Vec<String> {
        err.problems.into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn good_settings_pass() {
        assert_eq!(settings().validate(&studio()), Ok(()));
    }

    #[test]
    fn every_problem_is_reported_with_its_setting() {
        let mut s = settings();
        s.issuer_url = "ftp://login.example.com".into();
        s.client_id = " ".into();
        s.client_secret = SecretString::from("");
        s.redirect_url = "not a url".into();
        s.scopes = vec!["groups".into(), "email profile".into()];
        s.claim = String::new();
        s.mapping.push(ClaimRule {
            value: "x".into(),
            organisation: "org-of-another-studio".into(),
            roles: vec![],
        });
        let err = s.validate(&studio()).unwrap_err();
        assert_eq!(
            fields(err.clone()),
            [
                "issuer_url",
                "client_id",
                "client_secret",
                "redirect_url",
                "scopes[1]",
                "claim",
                "mapping[1].organisation",
                "mapping[1].roles"
            ]
        );
        let text = err.to_string();
        assert!(text.contains("org-of-another-studio"), "{text}");
        assert!(!text.contains("secret\""), "{text}");
    }

    #[test]
    fn a_mapping_into_another_studios_organisation_is_refused() {
        let mut s = settings();
        s.mapping[0].organisation = "org-elsewhere".into();
        let err = s.validate(&studio()).unwrap_err();
        assert_eq!(fields(err), ["mapping[0].organisation"]);
    }

    #[test]
    fn an_empty_mapping_is_refused() {
        let mut s = settings();
        s.mapping.clear();
        assert_eq!(fields(s.validate(&studio()).unwrap_err()), ["mapping"]);
    }

    #[test]
    fn an_issuer_with_a_query_is_refused() {
        let mut s = settings();
        s.issuer_url = "https://login.example.com/?tenant=1".into();
        assert_eq!(fields(s.validate(&studio()).unwrap_err()), ["issuer_url"]);
    }

    #[test]
    fn openid_is_always_requested_once() {
        let mut s = settings();
        assert_eq!(s.requested_scopes(), ["openid", "email", "profile"]);
        s.scopes = vec!["openid".into(), "groups".into(), "groups".into()];
        assert_eq!(s.requested_scopes(), ["openid", "groups"]);
    }

    #[test]
    fn roles_parse_from_their_spelling() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
        }
        assert!("owner".parse::<Role>().is_err());
        let rule: ClaimRule = serde_json::from_str(
            r#"{"value": "g", "organisation": "o", "roles": ["legal", "admin"]}"#,
        )
        .unwrap();
        assert_eq!(rule.roles, [Role::Legal, Role::Admin]);
    }
}
