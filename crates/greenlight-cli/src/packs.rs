//! Resolving `--policy` arguments to packs: a pack name (`id@version`), a built-in id, or a
//! pack file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use greenlight_core::pack::{self, Pack};

use crate::cmd::UsageError;

/// The default when no `--policy` is given.
pub const DEFAULT_PACK: &str = "netflix-genai";

/// What a `--policy` value names.
#[derive(Debug, PartialEq, Eq)]
enum PackArg<'a> {
    /// `id@version`: the built-in pack of that id, which must be at that version.
    Named { id: &'a str, version: &'a str },
    /// A bare id: the built-in pack.
    Builtin(&'a str),
    /// A pack file.
    File(&'a Path),
}

/// Tells names, ids and files apart (`spec/decisions.md`, "Packs on the command line" and
/// "Studio packs"): a value with `@` is a pack name, never a file, whatever it ends in; else a
/// value with `/` or a file extension is a file; anything else a built-in id.
fn classify(arg: &str) -> PackArg<'_> {
    if let Some((id, version)) = pack::parse_name(arg) {
        return PackArg::Named { id, version };
    }
    if arg.contains('/')
        || arg.contains(std::path::MAIN_SEPARATOR)
        || Path::new(arg).extension().is_some()
    {
        PackArg::File(Path::new(arg))
    } else {
        PackArg::Builtin(arg)
    }
}

/// A pack and the file it was read from (none for a built-in pack).
pub struct Loaded {
    pub pack: Arc<Pack>,
    pub file: Option<PathBuf>,
}

fn builtin(id: &str, shown: &str) -> Result<Arc<Pack>, UsageError> {
    Pack::builtin(id).ok_or_else(|| {
        UsageError(format!(
            "unknown pack `{shown}`; built-in packs: {} (or give a pack file path)",
            Pack::builtin_ids().join(", ")
        ))
    })
}

/// Loads the pack one `--policy` value names. A file that cannot be read is an I/O error (the
/// caller decides its exit code); a pack that does not load, or a name that names no pack, is a
/// [`UsageError`].
pub fn load(arg: &str) -> anyhow::Result<Loaded> {
    match classify(arg) {
        PackArg::Named { id, version } => {
            if id.is_empty() || version.is_empty() {
                return Err(UsageError(format!(
                    "`{arg}` is not a pack name; expected ID@VERSION, such as netflix-genai@2025.08"
                ))
                .into());
            }
            let pack = builtin(id, arg)?;
            if pack.version() != version {
                return Err(UsageError(format!(
                    "pack `{arg}`: {id} has no version {version}; versions known: {}",
                    pack.version()
                ))
                .into());
            }
            Ok(Loaded { pack, file: None })
        }
        PackArg::Builtin(id) => Ok(Loaded {
            pack: builtin(id, id)?,
            file: None,
        }),
        PackArg::File(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading pack file {arg}"))?;
            let pack = Pack::from_yaml(&text).map_err(|e| UsageError(format!("{arg}: {e}")))?;
            Ok(Loaded {
                pack: Arc::new(pack),
                file: Some(path.to_owned()),
            })
        }
    }
}

/// Loads every pack named, in order; an empty list means the default pack.
pub fn resolve(args: &[String]) -> anyhow::Result<Vec<Arc<Pack>>> {
    if args.is_empty() {
        return resolve(&[DEFAULT_PACK.to_owned()]);
    }
    args.iter().map(|arg| load(arg).map(|l| l.pack)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ids_and_files_are_told_apart() {
        assert_eq!(classify("netflix-genai"), PackArg::Builtin("netflix-genai"));
        assert_eq!(
            classify("eu-ai-act-art50"),
            PackArg::Builtin("eu-ai-act-art50")
        );
        assert_eq!(
            classify("packs/studio.yaml"),
            PackArg::File(Path::new("packs/studio.yaml"))
        );
        assert_eq!(
            classify("studio.yaml"),
            PackArg::File(Path::new("studio.yaml"))
        );
        assert_eq!(
            classify("netflix-genai@2025.08"),
            PackArg::Named {
                id: "netflix-genai",
                version: "2025.08"
            }
        );
        // A name is never a file, whatever it ends in or contains.
        assert_eq!(
            classify("studio@1.yaml"),
            PackArg::Named {
                id: "studio",
                version: "1.yaml"
            }
        );
        assert_eq!(
            classify("./studio@1"),
            PackArg::Named {
                id: "./studio",
                version: "1"
            }
        );
    }
}
