//! Loading packs: a pack file parsed, compiled, checked for its tests and dry-run over sample
//! declarations, and the built-in packs loaded once. Kept apart from `pack` (the types and
//! their compilation) so that `pack` does not depend on `eval`, which evaluates packs: the
//! arrows go `load` -> `eval` -> `pack`.

use std::sync::{Arc, OnceLock};

use crate::pack::{BUILTIN_SOURCES, LoadOptions, Pack, PackError, PackFile, digest, locate};

impl Pack {
    /// Parses and validates a pack file.
    pub fn from_yaml(text: &str) -> Result<Pack, PackError> {
        Pack::from_yaml_with(text, LoadOptions::default())
    }

    /// Parses and validates a pack file, as `options` say.
    pub fn from_yaml_with(text: &str, options: LoadOptions) -> Result<Pack, PackError> {
        let file: PackFile =
            serde_saphyr::from_str(text).map_err(|e| PackError::Syntax(e.to_string()))?;
        let mut pack = Pack::compile(file, digest(text)).map_err(|e| locate(text, e))?;
        crate::packtest::validate(&pack, options)?;
        crate::eval::constant_terms(&mut pack.terms);
        crate::eval::dry_run(&pack).map_err(|e| locate(text, e))?;
        Ok(pack)
    }

    /// A built-in pack by id (`netflix-genai`, `eu-ai-act-art50`, `sag-aftra-2023`).
    pub fn builtin(id: &str) -> Option<Arc<Pack>> {
        static PACKS: OnceLock<Vec<(String, Arc<Pack>)>> = OnceLock::new();
        let packs = PACKS.get_or_init(|| {
            BUILTIN_SOURCES
                .iter()
                .map(|(id, text)| {
                    // The built-in packs are tested on every build (`builtin_packs_load`).
                    let pack = Pack::from_yaml(text)
                        .unwrap_or_else(|e| panic!("built-in pack {id} is invalid: {e}"));
                    ((*id).to_owned(), Arc::new(pack))
                })
                .collect()
        });
        packs
            .iter()
            .find(|(pid, _)| pid == id)
            .map(|(_, p)| Arc::clone(p))
    }
}
