//! The tests the built-in packs carry pass, and a wrong expectation fails naming the field.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use greenlight_core::pack::{LoadOptions, Pack};
use greenlight_core::packtest;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date")
}

#[test]
fn every_builtin_pack_carries_passing_tests_of_each_outcome_it_gives() {
    for id in Pack::builtin_ids() {
        let source = Pack::builtin_source(id).expect("built in");
        // The built-in packs must load where there are no files beside them.
        let pack = Pack::from_yaml_with(
            source,
            LoadOptions {
                inline_tests_only: true,
            },
        )
        .expect("built-in pack loads inline only");
        let results = packtest::run(&pack, &BTreeMap::new(), today()).expect("tests run");
        let failed: Vec<_> = results.iter().filter(|t| !t.passed()).collect();
        assert!(failed.is_empty(), "{id}: {failed:#?}");
        let outcomes: std::collections::BTreeSet<_> = pack
            .file()
            .tests
            .iter()
            .filter_map(|t| t.expect.outcome)
            .collect();
        let given: std::collections::BTreeSet<_> =
            pack.file().rules.iter().map(|r| r.outcome).collect();
        assert!(
            given.is_subset(&outcomes),
            "{id}: tests cover {outcomes:?}, rules give {given:?}"
        );
    }
}
