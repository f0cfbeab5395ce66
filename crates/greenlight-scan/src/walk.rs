//! Walking a delivery: every regular file below the root, in parallel, honouring
//! `.greenlightignore` files (gitignore syntax) at any level. `.gitignore` and hidden-file
//! rules are *not* applied: a delivery is not a source tree, and a hidden file is still
//! delivered.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

/// Name of the ignore files honoured by the walk.
pub const IGNORE_FILE: &str = ".greenlightignore";

/// Files the scan itself reads or writes at the delivery root, never scanned as deliverables.
pub const OWN_FILES: &[&str] = &[IGNORE_FILE, OLD_CACHE_FILE, "greenlight-waivers.yaml"];

/// The name of the cache file that earlier versions wrote at the delivery root; a walk still
/// skips it, so an old cache left in a delivery is never scanned as content.
pub const OLD_CACHE_FILE: &str = ".greenlight-cache.jsonl";

/// What the file system says about a file; compared before and after hashing to catch a file
/// that changes during the scan, and part of the cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileStamp {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i128,
    /// Status-change time, nanoseconds since the Unix epoch (0 where the platform has none).
    pub ctime_ns: i128,
    /// Inode number (0 where the platform has none).
    pub inode: u64,
}

impl FileStamp {
    /// Reads the stamp of `path` (following no symlink: the walk never yields one).
    pub fn of(path: &Path) -> std::io::Result<Self> {
        let meta = std::fs::symlink_metadata(path)?;
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        #[cfg(unix)]
        let (ctime_ns, inode) = {
            use std::os::unix::fs::MetadataExt;
            (
                i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
                meta.ino(),
            )
        };
        #[cfg(not(unix))]
        let (ctime_ns, inode) = (0i128, 0u64);
        Ok(Self {
            size: meta.len(),
            mtime_ns,
            ctime_ns,
            inode,
        })
    }
}

/// One file found by the walk.
#[derive(Debug, Clone)]
pub struct WalkEntry {
    /// Absolute (or root-joined) path to open.
    pub path: PathBuf,
    /// Path relative to the delivery root with `/` separators, as reports show it.
    pub rel: String,
    /// The stamp taken when the file was found.
    pub stamp: FileStamp,
}

/// A path the walk could not read (a directory without permission, a broken ignore file).
#[derive(Debug, Clone)]
pub struct WalkProblem {
    /// The path concerned, relative to the root when possible.
    pub rel: String,
    /// What went wrong.
    pub message: String,
}

/// The result of a walk: files sorted by relative path, and the problems met on the way.
#[derive(Debug, Default)]
pub struct Walk {
    /// Regular files, sorted by `rel`.
    pub files: Vec<WalkEntry>,
    /// Paths that could not be read; the scan reports each as `UNREADABLE`.
    pub problems: Vec<WalkProblem>,
}

/// Errors that stop the walk before it starts.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    /// The delivery path does not exist or cannot be read.
    #[error("{path}: {source}")]
    Root {
        /// The root given.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Walks `root` (a directory, or a single file) with `threads` walker threads (0: automatic).
pub fn walk(root: &Path, threads: usize) -> Result<Walk, WalkError> {
    let meta = std::fs::metadata(root).map_err(|source| WalkError::Root {
        path: root.to_path_buf(),
        source,
    })?;
    if meta.is_file() {
        let stamp = FileStamp::of(root).map_err(|source| WalkError::Root {
            path: root.to_path_buf(),
            source,
        })?;
        let rel = root.file_name().map_or_else(
            || root.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        return Ok(Walk {
            files: vec![WalkEntry {
                path: root.to_path_buf(),
                rel,
                stamp,
            }],
            problems: vec![],
        });
    }
    let files = Mutex::new(Vec::new());
    let problems = Mutex::new(Vec::new());
    let walker = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .add_custom_ignore_filename(IGNORE_FILE)
        .follow_links(false)
        .threads(threads)
        .build_parallel();
    walker.run(|| {
        let files = &files;
        let problems = &problems;
        Box::new(move |result| {
            match result {
                Ok(entry) => {
                    let is_file = entry.file_type().is_some_and(|t| t.is_file());
                    if !is_file {
                        return ignore::WalkState::Continue;
                    }
                    let rel = relative(root, entry.path());
                    if entry.depth() == 1 && OWN_FILES.contains(&rel.as_str())
                        || rel.ends_with(IGNORE_FILE)
                    {
                        return ignore::WalkState::Continue;
                    }
                    match FileStamp::of(entry.path()) {
                        Ok(stamp) => lock(files).push(WalkEntry {
                            path: entry.path().to_path_buf(),
                            rel,
                            stamp,
                        }),
                        Err(e) => lock(problems).push(WalkProblem {
                            rel,
                            message: e.to_string(),
                        }),
                    }
                }
                Err(err) => {
                    let rel = err_path(&err)
                        .map_or_else(|| root.display().to_string(), |p| relative(root, p));
                    lock(problems).push(WalkProblem {
                        rel,
                        message: err.to_string(),
                    });
                }
            }
            ignore::WalkState::Continue
        })
    });
    let mut files = files.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut problems = problems.into_inner().unwrap_or_else(|e| e.into_inner());
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    problems.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(Walk { files, problems })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic in another walker thread must not hide what was found so far.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn err_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            err_path(err)
        }
        _ => None,
    }
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greenlightignore_is_honoured_and_gitignore_and_hidden_files_are_not() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("shots/tmp")).expect("mkdir");
        for f in [
            "a.txt",
            ".hidden",
            "shots/b.png",
            "shots/tmp/c.png",
            "shots/d.log",
            "e.log",
        ] {
            std::fs::write(root.join(f), f).expect("write");
        }
        std::fs::write(root.join(".greenlightignore"), "*.log\n!e.log\n").expect("write");
        std::fs::write(root.join("shots/.greenlightignore"), "tmp/\n").expect("write");
        std::fs::write(root.join(".gitignore"), "a.txt\n").expect("write");
        let walk = walk(root, 2).expect("walk");
        let rels: Vec<_> = walk.files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(
            rels,
            [".gitignore", ".hidden", "a.txt", "e.log", "shots/b.png"]
        );
        assert!(walk.problems.is_empty());
    }

    #[test]
    fn a_single_file_root_is_scanned_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("x.bin");
        std::fs::write(&file, b"x").expect("write");
        let walk = walk(&file, 0).expect("walk");
        assert_eq!(walk.files.len(), 1);
        assert_eq!(walk.files[0].rel, "x.bin");
        assert_eq!(walk.files[0].stamp.size, 1);
    }

    #[test]
    fn a_missing_root_is_an_error() {
        assert!(walk(Path::new("/nonexistent/delivery"), 0).is_err());
    }
}
