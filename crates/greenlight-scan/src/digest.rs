//! Content digests of delivered files: BLAKE3 always, SHA-256 on request.
//!
//! Large files are memory-mapped and hashed with BLAKE3's rayon-parallel tree mode, which is
//! what lets a scan keep up with `b3sum` (see `benches/hashing.rs`); small files are read into
//! one buffer, because for them the cost of a mapping outweighs the hashing.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Files at least this large are memory-mapped and hashed in parallel. Below it a plain read
/// is faster (BLAKE3's own advice for its `mmap` helpers uses the same order of magnitude).
pub const MMAP_THRESHOLD: u64 = 16 * 1024;

/// The digests of one file, as lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digests {
    /// BLAKE3 (256-bit), 64 hex digits.
    pub blake3: String,
    /// SHA-256, 64 hex digits, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// Hashes a file with BLAKE3 and, when `sha256` is set, SHA-256 too.
///
/// With SHA-256 the file is read once, in 1 MiB blocks: this thread reads and hashes each block
/// with BLAKE3, a second thread hashes the same block with SHA-256 (blocks are handed over and
/// recycled through two bounded channels, so at most [`BLOCKS_IN_FLIGHT`] MiB are held).
/// SHA-256 is the slower of the two (about a third of BLAKE3's single-core speed even with
/// SHA-NI), so the pair costs about what SHA-256 costs; a rayon join with BLAKE3's tree mode
/// made the two compete for the same cores (2.37 s against 1.39 s for SHA-256 alone on 1 GiB,
/// `benches/hashing.rs`), and two independent streams read the file twice.
pub fn digest_file(path: &Path, sha256: bool) -> io::Result<Digests> {
    let size = std::fs::metadata(path)?.len();
    if !sha256 {
        return Ok(Digests {
            blake3: blake3_file(path, size)?,
            sha256: None,
        });
    }
    use sha2::Digest;
    use std::sync::mpsc::sync_channel;
    let (full_tx, full_rx) = sync_channel::<(Vec<u8>, usize)>(BLOCKS_IN_FLIGHT);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(BLOCKS_IN_FLIGHT);
    for _ in 0..BLOCKS_IN_FLIGHT {
        empty_tx
            .send(vec![0u8; 1 << 20])
            .expect("the receiver is alive: it is held here");
    }
    std::thread::scope(|s| {
        let sha = s.spawn(move || {
            let mut hasher = sha2::Sha256::new();
            for (block, n) in full_rx {
                hasher.update(&block[..n]);
                // The reader may have stopped early (an error): then nobody needs the block back.
                let _ = empty_tx.send(block);
            }
            hex::encode(hasher.finalize())
        });
        let mut blake = blake3::Hasher::new();
        let read = (|| -> io::Result<()> {
            let mut file = File::open(path)?;
            while let Ok(mut block) = empty_rx.recv() {
                let n = read_block(&mut file, &mut block)?;
                if n == 0 {
                    break;
                }
                blake.update(&block[..n]);
                if full_tx.send((block, n)).is_err() {
                    break;
                }
            }
            Ok(())
        })();
        drop(full_tx);
        let sha = sha
            .join()
            .map_err(|_| io::Error::other("the SHA-256 thread panicked"))?;
        read?;
        Ok(Digests {
            blake3: blake.finalize().to_hex().to_string(),
            sha256: Some(sha),
        })
    })
}

/// How many 1 MiB blocks [`digest_file`] keeps in flight between its two hashers.
pub const BLOCKS_IN_FLIGHT: usize = 4;

/// Fills `block` as far as the file allows; 0 at the end.
fn read_block(file: &mut File, block: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < block.len() {
        match file.read(&mut block[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// BLAKE3 of a file: memory-mapped and multi-threaded above [`MMAP_THRESHOLD`].
pub fn blake3_file(path: &Path, size: u64) -> io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    if size >= MMAP_THRESHOLD {
        hasher.update_mmap_rayon(path)?;
    } else {
        let mut buf = Vec::with_capacity(size as usize);
        File::open(path)?.read_to_end(&mut buf)?;
        hasher.update(&buf);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// SHA-256 of a file, streamed through a 1 MiB buffer.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Digests of bytes already in memory.
pub fn digest_bytes(bytes: &[u8], sha256: bool) -> Digests {
    use sha2::Digest;
    Digests {
        blake3: blake3::hash(bytes).to_hex().to_string(),
        sha256: sha256.then(|| hex::encode(sha2::Sha256::digest(bytes))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers_for_the_empty_input() {
        let d = digest_bytes(b"", true);
        assert_eq!(
            d.blake3,
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        assert_eq!(
            d.sha256.as_deref(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
    }

    #[test]
    fn file_digests_equal_in_memory_digests_on_both_sides_of_the_mmap_threshold() {
        let dir = tempfile::tempdir().expect("temp dir");
        for len in [0usize, 100, MMAP_THRESHOLD as usize, 3 * 1024 * 1024 + 7] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let path = dir.path().join(format!("f{len}"));
            std::fs::write(&path, &bytes).expect("write");
            assert_eq!(
                digest_file(&path, true).expect("digest"),
                digest_bytes(&bytes, true),
                "len {len}"
            );
        }
    }
}
