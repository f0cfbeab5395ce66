//! From the values of the mapped claim to organisations and roles.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::error::SsoError;
use crate::settings::{ClaimRule, Role, Studio};

/// Roles granted in one organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// The organisation, as the mapping names it (always one of the studio's).
    pub organisation: String,
    /// The roles granted there, in [`Role`] order.
    pub roles: BTreeSet<Role>,
}

/// The values of `claim` in a set of claims: a string is one value, an array of strings is
/// several (other members are ignored), anything else or nothing is none. A name not found
/// at the top level is tried as a dotted path into nested objects (`realm_access.roles`);
/// names that contain dots themselves (`https://studio.example/groups`) are found first.
pub fn claim_values(claims: &serde_json::Map<String, Value>, claim: &str) -> Vec<String> {
    let found = claims.get(claim).or_else(|| {
        let mut parts = claim.split('.');
        let first = claims.get(parts.next()?)?;
        parts.try_fold(first, |v, part| v.as_object()?.get(part))
    });
    match found {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// What the rules grant a person whose claim holds `values`, merged per organisation.
///
/// Refused: a matching rule that names an organisation outside the studio (the settings were
/// checked when saved, but organisations may have moved since), and a person granted nothing,
/// with a message saying whom to ask.
pub fn grants(
    rules: &[ClaimRule],
    claim: &str,
    values: &[String],
    studio: &Studio,
) -> Result<Vec<Grant>, SsoError> {
    let mut merged: BTreeMap<&str, BTreeSet<Role>> = BTreeMap::new();
    for (index, rule) in rules.iter().enumerate() {
        if !values.contains(&rule.value) {
            continue;
        }
        if !studio.organisations.contains(&rule.organisation) {
            return Err(SsoError::ForeignOrganisation {
                rule: index,
                organisation: rule.organisation.clone(),
            });
        }
        merged
            .entry(&rule.organisation)
            .or_default()
            .extend(rule.roles.iter().copied());
    }
    merged.retain(|_, roles| !roles.is_empty());
    if merged.is_empty() {
        return Err(SsoError::NoRole {
            claim: claim.to_owned(),
            values: values.to_vec(),
            whom_to_ask: studio.whom_to_ask.clone(),
        });
    }
    Ok(merged
        .into_iter()
        .map(|(organisation, roles)| Grant {
            organisation: organisation.to_owned(),
            roles,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn studio() -> Studio {
        Studio {
            organisations: ["studio".to_owned(), "studio-legal".to_owned()].into(),
            whom_to_ask: "the admins of Northlight (access@northlight.example)".into(),
        }
    }

    fn rule(value: &str, organisation: &str, roles: &[Role]) -> ClaimRule {
        ClaimRule {
            value: value.into(),
            organisation: organisation.into(),
            roles: roles.to_vec(),
        }
    }

    #[test]
    fn a_string_or_an_array_of_strings_gives_values() {
        let claims = obj(json!({"groups": ["a", 3, "b"], "role": "x", "n": 1}));
        assert_eq!(claim_values(&claims, "groups"), ["a", "b"]);
        assert_eq!(claim_values(&claims, "role"), ["x"]);
        assert!(claim_values(&claims, "n").is_empty());
        assert!(claim_values(&claims, "missing").is_empty());
    }

    #[test]
    fn nested_claims_are_found_by_dotted_path_and_dotted_names_first() {
        let claims = obj(json!({
            "realm_access": {"roles": ["r1"]},
            "https://studio.example/groups": ["g1"],
            "https://studio": {"example/groups": ["wrong"]},
        }));
        assert_eq!(claim_values(&claims, "realm_access.roles"), ["r1"]);
        assert_eq!(
            claim_values(&claims, "https://studio.example/groups"),
            ["g1"]
        );
    }

    #[test]
    fn roles_merge_per_organisation() {
        let rules = [
            rule("reviewers", "studio", &[Role::Reviewer]),
            rule("admins", "studio", &[Role::Admin, Role::Reviewer]),
            rule("legal", "studio-legal", &[Role::Legal]),
            rule("others", "studio", &[Role::Auditor]),
        ];
        let values = [
            "admins".to_owned(),
            "reviewers".to_owned(),
            "legal".to_owned(),
        ];
        let got = grants(&rules, "groups", &values, &studio()).unwrap();
        assert_eq!(
            got,
            [
                Grant {
                    organisation: "studio".into(),
                    roles: [Role::Reviewer, Role::Admin].into()
                },
                Grant {
                    organisation: "studio-legal".into(),
                    roles: [Role::Legal].into()
                },
            ]
        );
    }

    #[test]
    fn values_match_exactly() {
        let rules = [rule("Reviewers", "studio", &[Role::Reviewer])];
        let err = grants(&rules, "groups", &["reviewers".into()], &studio()).unwrap_err();
        assert!(matches!(err, SsoError::NoRole { .. }), "{err}");
    }

    #[test]
    fn no_matching_rule_says_whom_to_ask() {
        let rules = [rule("reviewers", "studio", &[Role::Reviewer])];
        let err = grants(&rules, "groups", &["contractors".into()], &studio()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("access@northlight.example"), "{text}");
        assert!(text.contains("contractors"), "{text}");
    }

    #[test]
    fn a_rule_into_another_studio_is_refused_even_when_it_matches() {
        let rules = [
            rule("reviewers", "studio", &[Role::Reviewer]),
            rule("reviewers", "other-studio", &[Role::Admin]),
        ];
        let err = grants(&rules, "groups", &["reviewers".into()], &studio()).unwrap_err();
        assert!(
            matches!(err, SsoError::ForeignOrganisation { rule: 1, ref organisation } if organisation == "other-studio"),
            "{err}"
        );
    }
}
