//! The corpora the check benchmark and the `corpus` example run: the public scenarios
//! (`../shared/scenarios/public` and `eu-public`; `sag-public` for the union pack) when present,
//! otherwise the crate's sample declarations.

use std::path::Path;

/// The declarations' texts of the public and EU scenarios, in file-name order.
pub fn corpus() -> Vec<String> {
    scenarios(&["public", "eu-public"])
}

/// The declarations' texts of the union pack's scenarios, in file-name order.
#[allow(dead_code)] // not every user of the module runs the union pack
pub fn union_corpus() -> Vec<String> {
    scenarios(&["sag-public"])
}

fn scenarios(folders: &[&str]) -> Vec<String> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/scenarios");
    let mut texts = Vec::new();
    for folder in folders {
        if let Ok(entries) = std::fs::read_dir(shared.join(folder)) {
            let mut paths: Vec<_> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                .collect();
            paths.sort();
            texts.extend(paths.iter().filter_map(|p| std::fs::read_to_string(p).ok()));
        }
    }
    if texts.is_empty() {
        eprintln!(
            "../shared/scenarios/{{{}}} not found: using the crate's sample declarations instead",
            folders.join(",")
        );
        for sample in [
            include_str!("../../packs/samples/minimal.yaml"),
            include_str!("../../packs/samples/everything-false.yaml"),
            include_str!("../../packs/samples/everything-true.yaml"),
        ] {
            texts.push(sample.to_owned());
        }
    }
    texts
}
