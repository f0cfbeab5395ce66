//! `greenlight serve --demo`: seeds (idempotently) a studio, a production company, a
//! vendor, a production linked to them, people of every role with passwords and API
//! tokens, the registries, and declarations covering every outcome and several states.
//!
//! Demo credentials are fixed (the demo only binds to loopback), so seeding twice changes
//! nothing and prints the same sign-in details.

use greenlight_store::input::{Document, NewConsent, NewProduction, NewTool};
use greenlight_store::{
    ConsentBy, DataTerms, DecisionAction, NewMember, Org, OrgKind, Principal, ProductionFacts,
    Role, Store, StoreError, Treatment,
};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "lighthouse-demo-2026";

/// A demo account as printed at start.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub email: &'static str,
    pub org: &'static str,
    pub roles: &'static [Role],
    pub token: &'static str,
}

const STUDIO: &str = "Northlight Studios";
const COMPANY: &str = "Harbour Films";
const VENDOR: &str = "Pixelforge VFX";

/// Every demo account.
pub const ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        email: "admin@northlight.example",
        org: STUDIO,
        roles: &[Role::Admin],
        token: "glt_demo_admin_0000000000000000000000000000000",
    },
    DemoAccount {
        email: "reviewer@northlight.example",
        org: STUDIO,
        roles: &[Role::Reviewer],
        token: "glt_demo_reviewer_000000000000000000000000000",
    },
    DemoAccount {
        email: "legal@northlight.example",
        org: STUDIO,
        roles: &[Role::Legal],
        token: "glt_demo_legal_0000000000000000000000000000000",
    },
    DemoAccount {
        email: "auditor@northlight.example",
        org: STUDIO,
        roles: &[Role::Auditor],
        token: "glt_demo_auditor_0000000000000000000000000000",
    },
    DemoAccount {
        email: "producer@harbourfilms.example",
        org: COMPANY,
        roles: &[Role::Partner],
        token: "glt_demo_partner_0000000000000000000000000000",
    },
    DemoAccount {
        email: "artist@pixelforge.example",
        org: VENDOR,
        roles: &[Role::Partner],
        token: "glt_demo_vendor_00000000000000000000000000000",
    },
];

const DECLARATIONS: &[(&str, &str)] = &[
    (
        "LK-001",
        include_str!("../demo/lk-001-storyboard-ideas.yaml"),
    ),
    (
        "LK-002",
        include_str!("../demo/lk-002-lantern-concepts.yaml"),
    ),
    ("LK-003", include_str!("../demo/lk-003-mood-board.yaml")),
    (
        "LK-004",
        include_str!("../demo/lk-004-flashback-de-ageing.yaml"),
    ),
    (
        "LK-005",
        include_str!("../demo/lk-005-harbour-extension.yaml"),
    ),
    ("LK-006", include_str!("../demo/lk-006-poster-on-wall.yaml")),
];

const CONSENT_DOCUMENT: &[u8] = b"Consent of Mara Quinn to a de-aged likeness in the flashback scenes of The Lighthouse Keeper.\nSigned 2026-05-04.\n";

async fn org(
    store: &Store,
    name: &str,
    kind: OrgKind,
    studio: Option<&Org>,
) -> Result<Org, StoreError> {
    if let Some(o) = store.org_by_name(name).await? {
        return Ok(o);
    }
    match studio {
        None => {
            // The studio and its admin come together, as with `greenlight admin create`.
            let b = store
                .bootstrap_admin(name, ACCOUNTS[0].email, "Studio admin")
                .await?;
            Ok(b.org)
        }
        Some(s) => store.system_create_org(&s.id, name, kind).await,
    }
}

async fn principal(store: &Store, email: &str) -> Result<Principal, StoreError> {
    let user = store
        .user_by_email(email)
        .await?
        .ok_or_else(|| StoreError::NotFound(email.to_owned()))?;
    store.principal(&user.id).await
}

/// Seeds the demo data; running it again changes nothing.
pub async fn seed(store: &Store) -> Result<(), StoreError> {
    let studio = org(store, STUDIO, OrgKind::Studio, None).await?;
    let company = org(store, COMPANY, OrgKind::ProductionCompany, Some(&studio)).await?;
    let vendor = org(store, VENDOR, OrgKind::Vendor, Some(&studio)).await?;
    for a in ACCOUNTS {
        let o = [&studio, &company, &vendor]
            .into_iter()
            .find(|o| o.name == a.org)
            .expect("demo accounts name demo organisations");
        let exists = match store.user_by_email(a.email).await? {
            Some(u) => store
                .principal(&u.id)
                .await?
                .memberships
                .iter()
                .any(|m| m.org_id == o.id && a.roles.contains(&m.role)),
            None => false,
        };
        if !exists {
            let member = NewMember {
                email: a.email.to_owned(),
                name: String::new(),
                roles: a.roles.to_vec(),
                password: Some(DEMO_PASSWORD.to_owned()),
            };
            store.system_add_member(&o.id, member).await?;
        }
        let user = store
            .user_by_email(a.email)
            .await?
            .ok_or_else(|| StoreError::NotFound(a.email.to_owned()))?;
        // Adding never touches an existing person's password: the studio's first admin,
        // created without one, gets the demo password here.
        if store
            .check_password(a.email, DEMO_PASSWORD)
            .await?
            .is_none()
        {
            store.system_set_password(&user.id, DEMO_PASSWORD).await?;
        }
        store.system_ensure_token(&user.id, "demo", a.token).await?;
    }
    let admin = principal(store, ACCOUNTS[0].email).await?;
    let reviewer = principal(store, ACCOUNTS[1].email).await?;
    let legal = principal(store, ACCOUNTS[2].email).await?;
    let partner = principal(store, ACCOUNTS[4].email).await?;

    let production = match store
        .productions(&admin)
        .await?
        .into_iter()
        .find(|p| p.facts.title == "The Lighthouse Keeper")
    {
        Some(p) => p,
        None => {
            let facts = ProductionFacts {
                title: "The Lighthouse Keeper".into(),
                kind: "scripted".into(),
                eu_release: true,
                release_date: chrono::NaiveDate::from_ymd_opt(2027, 3, 5),
                agreements: vec![],
            };
            store
                .create_production(&admin, &studio.id, NewProduction { facts, packs: None })
                .await?
        }
    };
    for o in [&company, &vendor] {
        if !production.linked_orgs.contains(&o.id) {
            store.link_org(&admin, &production.id, &o.id).await?;
        }
    }
    // The reviewer is the studio contact: a declaration submitted to the production mails them.
    if !production.contacts.people.contains(&reviewer.user.id) {
        let mut contacts = production.contacts.clone();
        contacts.people.push(reviewer.user.id.clone());
        store
            .update_production(
                &admin,
                &production.id,
                greenlight_store::input::ProductionUpdate {
                    contacts: Some(contacts),
                    ..Default::default()
                },
            )
            .await?;
    }
    if store.tools(&legal).await?.is_empty() {
        let tool = NewTool {
            name: "Acme Imagine Enterprise".into(),
            vendor: Some("Acme Inc.".into()),
            plan: Some("Enterprise".into()),
            agreement: Some("EA-2026-014".into()),
            data_terms: DataTerms::None,
            terms_reviewed: chrono::NaiveDate::from_ymd_opt(2026, 9, 1),
            evidence: Some(Document { name: "acme-enterprise-terms.txt".into(), bytes: b"Acme Imagine Enterprise: inputs and outputs are neither stored nor used for training.\n".to_vec() }),
            traces: vec![],
        };
        store.register_tool(&legal, Some(&studio.id), tool).await?;
    }
    let consent = match store
        .consents(&legal, Default::default())
        .await?
        .items
        .into_iter()
        .find(|c| c.performer == "Mara Quinn")
    {
        Some(c) => c,
        None => {
            let c = NewConsent {
                production_id: Some(production.id.clone()),
                performer: "Mara Quinn".into(),
                by: ConsentBy::Performer,
                treatment: Treatment::ReAgeing,
                scope: "De-aged likeness in the flashback scenes of The Lighthouse Keeper only"
                    .into(),
                separately_signed: true,
                signed: chrono::NaiveDate::from_ymd_opt(2026, 5, 4).expect("a valid date"),
                expires: None,
                document: Document {
                    name: "LK-CONSENT-001.txt".into(),
                    bytes: CONSENT_DOCUMENT.to_vec(),
                },
            };
            store.record_consent(&legal, Some(&studio.id), c).await?
        }
    };
    for (reference, text) in DECLARATIONS {
        let d = match store
            .submit(&partner, &production.id, text.as_bytes())
            .await
        {
            Ok(d) => d,
            Err(StoreError::DuplicateReference { .. }) => continue, // seeded before
            Err(e) => return Err(e),
        };
        match *reference {
            // Legal links the registry consent (the typed one only counts as claimed).
            "LK-004" => {
                store
                    .link_consent(&legal, &d.id, "Mara Quinn", &consent.id)
                    .await?;
            }
            // The reviewer approves with a condition.
            "LK-005" => {
                let input = greenlight_store::input::DecisionInput {
                    action: DecisionAction::Approve,
                    reason: Some("Set extension only; no real vessels identifiable".into()),
                    conditions: vec!["Credit the VFX vendor in the end titles".into()],
                    expires: chrono::NaiveDate::from_ymd_opt(2027, 12, 31),
                };
                store
                    .decide(&reviewer, &d.id, Some(&d.etag()), input)
                    .await?;
            }
            // The reviewer asks for changes.
            "LK-003" => {
                let input = greenlight_store::input::DecisionInput {
                    action: DecisionAction::RequestChanges,
                    reason: Some(
                        "Use the enterprise tool, or tell us the generator's data terms".into(),
                    ),
                    conditions: vec![],
                    expires: None,
                };
                store
                    .decide(&reviewer, &d.id, Some(&d.etag()), input)
                    .await?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The sign-in text `serve --demo` prints.
pub fn credentials(base_url: &str) -> String {
    let mut out = format!(
        "Demo data is ready. Sign in at {base_url}/signin with any of these (password: {DEMO_PASSWORD}):\n"
    );
    for a in ACCOUNTS {
        let roles: Vec<&str> = a.roles.iter().map(|r| r.as_str()).collect();
        out.push_str(&format!(
            "  {:<32} {:<10} {:<20} token {}\n",
            a.email,
            roles.join(","),
            a.org,
            a.token
        ));
    }
    out.push_str(&format!(
        "API example: curl -H 'Authorization: Bearer {}' {base_url}/api/v1/declarations\n",
        ACCOUNTS[1].token
    ));
    out
}
