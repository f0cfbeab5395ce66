//! Aggregate rules: production-level findings over a production's live declarations.

mod builders;

use std::sync::Arc;

use builders::*;
use greenlight_core::declaration::{Declaration, Treatment};
use greenlight_core::pack::Pack;
use greenlight_core::{CheckResult, LiveDeclaration, Outcome, evaluate, evaluate_production};

const VENDORS: &str = r#"
pack: vendors
version: "1"
rules:
  - {id: V-NONE, outcome: notify, source: s, message: m, when: 'false'}
aggregates:
  - id: V-SHARED-TOOL
    outcome: escalate
    source: "Security policy 3: shared tools"
    for_each: declarations.map(d, d.declaration.tools.map(t, t.name)).flatten().distinct()
    when: >-
      declarations.filter(d, d.declaration.tools.exists(t, t.name == item))
      .map(d, d.organisation).distinct().size() >= 3
    declarations: declarations.filter(d, d.declaration.tools.exists(t, t.name == item)).map(d, d.ref)
    message_expr: '"the tool " + item + " is used by three vendors or more: it needs a security review"'
  - id: V-ABOVE-NOTIFY
    outcome: review
    source: "Studio policy 1"
    when: declarations.exists(d, d.result.outcome != "notify")
    declarations: declarations.filter(d, d.result.outcome != "notify").map(d, d.ref)
    message: A use above notify is on the production.
"#;

fn with_tool(reference: &str, tool: &str) -> Declaration {
    let mut d = safe();
    d.usage.reference = reference.to_owned();
    d.tools[0].name = tool.to_owned();
    d
}

fn findings(
    decls: &[(Declaration, Option<&str>)],
    packs: &[Arc<Pack>],
) -> Vec<greenlight_core::wire::ProductionFinding> {
    let results: Vec<CheckResult> = decls
        .iter()
        .map(|(d, _)| evaluate(d, packs, as_of()).expect("evaluates"))
        .collect();
    let live: Vec<LiveDeclaration> = decls
        .iter()
        .zip(&results)
        .map(|((d, org), r)| LiveDeclaration {
            reference: &d.usage.reference,
            organisation: *org,
            declaration: d,
            result: r,
        })
        .collect();
    evaluate_production(&live, packs, as_of()).expect("evaluates")
}

#[test]
fn a_tool_used_by_three_vendors_gives_one_finding_naming_its_declarations() {
    let pack = Arc::new(Pack::from_yaml(VENDORS).expect("loads"));
    let decls = vec![
        (with_tool("A-1", "Shared model"), Some("Vendor A")),
        (with_tool("B-1", "Shared model"), Some("Vendor B")),
        (with_tool("B-2", "Other model"), Some("Vendor B")),
        (with_tool("C-1", "Shared model"), Some("Vendor C")),
    ];
    let found = findings(&decls, std::slice::from_ref(&pack));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].rule, "V-SHARED-TOOL");
    assert_eq!(found[0].pack, "vendors");
    assert_eq!(found[0].outcome, Outcome::Escalate);
    assert_eq!(found[0].declarations, ["A-1", "B-1", "C-1"]);
    assert!(found[0].message.contains("Shared model"));

    // Two vendors are not three: the same declarations without Vendor C give nothing.
    let two = &decls[..3];
    assert!(findings(two, &[pack]).is_empty());
}

#[test]
fn aggregate_rules_see_each_declarations_result_with_the_same_packs() {
    let pack = Arc::new(Pack::from_yaml(VENDORS).expect("loads"));
    let mut replica = with_tool("R-1", "Replica suite");
    replica.talent = vec![talent(Treatment::Replica)];
    let decls = vec![(with_tool("S-1", "Model"), None), (replica, None)];
    // With the partner guidance, the replica use is above notify and the safe one is not;
    // with the vendors pack alone, both are notify and the rule does not fire.
    let with_netflix = vec![
        Pack::builtin("netflix-genai").expect("built in"),
        pack.clone(),
    ];
    let outcomes: Vec<Outcome> = decls
        .iter()
        .map(|(d, _)| {
            evaluate(d, &with_netflix, as_of())
                .expect("evaluates")
                .outcome
        })
        .collect();
    assert_eq!(outcomes[0], Outcome::Notify);
    assert!(outcomes[1] > Outcome::Notify, "{outcomes:?}");
    let found = findings(&decls, &with_netflix);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].rule, "V-ABOVE-NOTIFY");
    assert_eq!(found[0].declarations, ["R-1"]);
    assert!(findings(&decls, &[pack]).is_empty());
}

#[test]
fn no_declarations_give_no_findings_and_packs_without_aggregates_are_skipped() {
    let pack = Arc::new(Pack::from_yaml(VENDORS).expect("loads"));
    assert!(
        evaluate_production(&[], &[pack], as_of())
            .expect("evaluates")
            .is_empty()
    );
    let decls = vec![(safe(), Some("Vendor A"))];
    assert!(findings(&decls, &all_packs()).is_empty());
}

#[test]
fn a_misspelt_field_in_an_aggregate_rule_is_caught_when_loading_naming_it() {
    let broken = VENDORS.replace("d.result.outcome", "d.result.outcom");
    let err = Pack::from_yaml(&broken).unwrap_err().to_string();
    assert!(err.contains("aggregate rule `V-ABOVE-NOTIFY`"), "{err}");
}

#[test]
fn an_aggregate_rule_may_not_reuse_a_rule_id() {
    let twice = VENDORS.replace("id: V-ABOVE-NOTIFY", "id: V-NONE");
    let err = Pack::from_yaml(&twice).unwrap_err().to_string();
    assert!(err.contains("V-NONE") && err.contains("twice"), "{err}");
}
