//! The scan cache: what was learnt about each file (digests, media type, perceptual hashes,
//! credentials), keyed so that a re-scan of an unchanged delivery reads nothing but metadata.
//!
//! It is a JSON-lines file (one entry per line), by default in the user's cache folder
//! (`$XDG_CACHE_HOME/greenlight/scan/`, `~/.cache/greenlight/scan/` on Linux), one file per
//! delivery path, or wherever `--cache FILE` says. Never in the delivery itself: a file
//! written there would ship with it. JSON lines rather than SQLite: it is read
//! once and written once per scan, needs no locking beyond an atomic rename, and stays
//! readable with `jq` when someone asks why a file was not re-hashed.
//!
//! The key is the relative path, size, mtime, ctime and inode, the program version, and the
//! options that change results (hash kinds, PDQ path). Any difference is a miss. Matching
//! against banks and verdicts are never cached: banks change between scans.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::walk::FileStamp;

/// The default cache file of the delivery at `root` (an absolute path): in the user's cache
/// folder, named after a digest of the path, so deliveries never share one and nothing is
/// written into the delivery. `None` when the system names no cache folder.
pub fn default_path(root: &Path) -> Option<PathBuf> {
    let base = dirs::cache_dir()?;
    let digest = blake3::hash(root.as_os_str().as_encoded_bytes());
    let name = root
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .take(40)
                .collect::<String>()
        })
        .unwrap_or_default();
    Some(
        base.join("greenlight")
            .join("scan")
            .join(format!("{name}-{}.jsonl", &digest.to_hex()[..16])),
    )
}

/// The cache key of one file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CacheKey {
    /// Path relative to the delivery root.
    pub rel: String,
    /// What the file system said about it.
    pub stamp: FileStamp,
    /// Program version and result-changing options, e.g. `0.1.0;sha256;pdq=exact`.
    pub config: String,
}

#[derive(Serialize, Deserialize)]
struct Line<T> {
    key: CacheKey,
    value: T,
}

/// An open cache: what was loaded, and what this scan will write back.
#[derive(Debug)]
pub struct Cache<T> {
    path: PathBuf,
    loaded: HashMap<CacheKey, T>,
    fresh: HashMap<CacheKey, T>,
}

impl<T: Serialize + DeserializeOwned + Clone> Cache<T> {
    /// Opens the cache at `path`; a missing file is an empty cache, and unreadable lines (an
    /// older program version, a torn write) are skipped.
    pub fn open(path: &Path) -> Self {
        let mut loaded = HashMap::new();
        if let Ok(file) = File::open(path) {
            for line in BufReader::new(file).lines() {
                let Ok(line) = line else { break };
                if let Ok(l) = serde_json::from_str::<Line<T>>(&line) {
                    loaded.insert(l.key, l.value);
                }
            }
        }
        Self {
            path: path.to_path_buf(),
            loaded,
            fresh: HashMap::new(),
        }
    }

    /// How many entries were loaded.
    pub fn len(&self) -> usize {
        self.loaded.len()
    }

    /// Whether nothing was loaded.
    pub fn is_empty(&self) -> bool {
        self.loaded.is_empty()
    }

    /// The cached value for `key`, if its every part matches.
    pub fn get(&self, key: &CacheKey) -> Option<&T> {
        self.loaded.get(key)
    }

    /// Records a value to write back.
    pub fn put(&mut self, key: CacheKey, value: T) {
        self.fresh.insert(key, value);
    }

    /// Writes the entries recorded by this scan (entries of files no longer present are
    /// dropped), through a temporary file and an atomic rename.
    pub fn save(&self) -> io::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("jsonl.tmp");
        {
            let mut out = BufWriter::new(File::create(&tmp)?);
            let mut keys: Vec<_> = self.fresh.keys().collect();
            keys.sort_by(|a, b| a.rel.cmp(&b.rel));
            for key in keys {
                let line = Line {
                    key: key.clone(),
                    value: self.fresh[key].clone(),
                };
                serde_json::to_writer(&mut out, &line).map_err(io::Error::other)?;
                out.write_all(b"\n")?;
            }
            out.flush()?;
        }
        std::fs::rename(&tmp, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(rel: &str, size: u64, config: &str) -> CacheKey {
        CacheKey {
            rel: rel.into(),
            stamp: FileStamp {
                size,
                mtime_ns: 1,
                ctime_ns: 2,
                inode: 3,
            },
            config: config.into(),
        }
    }

    #[test]
    fn a_saved_entry_is_found_only_under_the_same_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("c.jsonl");
        let mut c: Cache<String> = Cache::open(&path);
        assert!(c.is_empty());
        c.put(key("a", 1, "v1"), "facts".into());
        c.save().expect("save");
        let c: Cache<String> = Cache::open(&path);
        assert_eq!(c.get(&key("a", 1, "v1")).map(String::as_str), Some("facts"));
        assert_eq!(c.get(&key("a", 2, "v1")), None, "size changed");
        assert_eq!(c.get(&key("a", 1, "v1;sha256")), None, "options changed");
    }

    #[test]
    fn garbage_lines_are_skipped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("c.jsonl");
        let good = serde_json::to_string(&Line {
            key: key("a", 1, "v"),
            value: 7u32,
        })
        .expect("json");
        std::fs::write(&path, format!("not json\n{good}\n{{\"key\":1}}\n")).expect("write");
        let c: Cache<u32> = Cache::open(&path);
        assert_eq!(c.len(), 1);
    }
}
