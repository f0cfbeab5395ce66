//! Checking every asset a PKL lists: the file is where the ASSETMAP says, its size and its
//! SHA-1 are the PKL's. Files are hashed as streams (1 MiB at a time, whatever their size) and
//! in parallel with rayon; each check reads only its own file.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

use base64::Engine;
use rayon::prelude::*;
use sha1::{Digest, Sha1};

use super::{Package, PackageProblem, PackingList, PklAsset};

const CHUNK: usize = 1024 * 1024;

impl Package {
    /// Every problem of the package: those found while opening, then, for each asset of each
    /// PKL, a missing file, a size or a SHA-1 that differs from the PKL's. Reads every asset
    /// once; never panics on what it reads.
    pub fn verify(&self) -> Vec<PackageProblem> {
        let checks: Vec<(&PackingList, &PklAsset)> = self
            .packing_lists
            .iter()
            .flat_map(|p| p.assets.iter().map(move |a| (p, a)))
            .collect();
        let found: Vec<PackageProblem> = checks
            .par_iter()
            .filter_map(|(pkl, a)| self.check(pkl, a))
            .collect();
        let mut out = self.problems.clone();
        out.extend(found);
        out
    }

    fn check(&self, pkl: &PackingList, a: &PklAsset) -> Option<PackageProblem> {
        let Some(asset) = self.assets.get(&a.id) else {
            return Some(PackageProblem::Invalid {
                file: pkl.path.clone(),
                detail: format!("lists asset {}, which ASSETMAP.xml does not map", a.id),
            });
        };
        let invalid = |detail: String| {
            Some(PackageProblem::Invalid {
                file: asset.path.clone(),
                detail,
            })
        };
        let meta = match std::fs::metadata(&asset.path) {
            // Reported when the package was opened.
            Err(e) if e.kind() == ErrorKind::NotFound => return None,
            Err(e) => return invalid(e.to_string()),
            Ok(m) => m,
        };
        if !meta.is_file() {
            return invalid("not a regular file".into());
        }
        if meta.len() != a.size {
            return invalid(format!(
                "{} bytes, but {} says {} (asset {})",
                meta.len(),
                file_name(&pkl.path),
                a.size,
                a.id
            ));
        }
        match sha1_of(&asset.path, a.size) {
            Err(e) => invalid(format!("reading it: {e}")),
            Ok(digest) if digest != a.sha1 => {
                let b64 = base64::engine::general_purpose::STANDARD;
                invalid(format!(
                    "SHA-1 {}, but {} says {} (asset {})",
                    b64.encode(digest),
                    file_name(&pkl.path),
                    b64.encode(a.sha1),
                    a.id
                ))
            }
            Ok(_) => None,
        }
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// SHA-1 of a file, read in chunks; reads at most `size + 1` bytes so a file that grows while
/// it is read cannot keep the check going.
pub(crate) fn sha1_of(path: &Path, size: u64) -> std::io::Result<[u8; 20]> {
    let mut file = File::open(path)?.take(size.saturating_add(1));
    let mut hasher = Sha1::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_streams_to_the_known_answer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").expect("write");
        // FIPS 180 test vector for "abc".
        assert_eq!(
            hex::encode(sha1_of(&p, 3).expect("hash")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let big = dir.path().join("big");
        std::fs::write(&big, vec![7u8; CHUNK * 2 + 5]).expect("write");
        let mut h = Sha1::new();
        h.update(vec![7u8; CHUNK * 2 + 5]);
        let whole: [u8; 20] = h.finalize().into();
        assert_eq!(sha1_of(&big, (CHUNK * 2 + 5) as u64).expect("hash"), whole);
    }
}
