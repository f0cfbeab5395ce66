//! Resolving `--policy` arguments to packs: a built-in id, or a pack file.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use greenlight_core::pack::Pack;

use crate::cmd::UsageError;

/// The default when no `--policy` is given.
pub const DEFAULT_PACK: &str = "netflix-genai";

/// Whether a `--policy` value names a file rather than a built-in pack: it contains `/` or ends
/// in a file extension (`spec/decisions.md`, "Packs on the command line").
fn is_file_argument(arg: &str) -> bool {
    arg.contains('/')
        || arg.contains(std::path::MAIN_SEPARATOR)
        || Path::new(arg).extension().is_some()
}

/// Loads every pack named, in order; an empty list means the default pack.
pub fn resolve(args: &[String]) -> anyhow::Result<Vec<Arc<Pack>>> {
    if args.is_empty() {
        return resolve(&[DEFAULT_PACK.to_owned()]);
    }
    let mut packs = Vec::with_capacity(args.len());
    for arg in args {
        if is_file_argument(arg) {
            let text =
                std::fs::read_to_string(arg).with_context(|| format!("reading pack file {arg}"))?;
            let pack = Pack::from_yaml(&text).map_err(|e| UsageError(format!("{arg}: {e}")))?;
            packs.push(Arc::new(pack));
        } else {
            let pack = Pack::builtin(arg).ok_or_else(|| {
                UsageError(format!(
                    "unknown pack `{arg}`; built-in packs: {} (or give a pack file path)",
                    Pack::builtin_ids().join(", ")
                ))
            })?;
            packs.push(pack);
        }
    }
    Ok(packs)
}

#[cfg(test)]
mod tests {
    use super::is_file_argument;

    #[test]
    fn ids_and_files_are_told_apart() {
        assert!(!is_file_argument("netflix-genai"));
        assert!(!is_file_argument("eu-ai-act-art50"));
        assert!(is_file_argument("packs/studio.yaml"));
        assert!(is_file_argument("studio.yaml"));
    }
}
