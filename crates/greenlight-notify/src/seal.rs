//! Secrets Greenlight must use (webhook secrets, the OIDC client secret, the SMTP password,
//! TOTP seeds), encrypted at rest.
//!
//! The database holds only sealed text; the key lives outside it, in a file or an
//! environment secret given to every instance, as the audit key does. Sealing is
//! XChaCha20-Poly1305 with a random 24-byte nonce per value (random nonces of that size never
//! repeat in practice, so no counter has to be kept in step across instances). The text form
//! is `v1:<key id>:<base64 of nonce || ciphertext>`; the key id (8 hex digits of a digest of
//! the key) lets [`SealKey::open`] tell "sealed under another key" apart from "altered".

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};

const VERSION: &str = "v1";
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// The key that seals and opens secrets at rest: 32 random bytes. Never stored in the
/// database; `Debug` shows only its id.
pub struct SealKey {
    key: SecretBox<[u8; 32]>,
    id: String,
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Clone for SealKey {
    fn clone(&self) -> SealKey {
        SealKey::from_bytes(*self.key.expose_secret())
    }
}

impl SealKey {
    /// A fresh random key from the operating system.
    pub fn generate() -> SealKey {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        SealKey::from_bytes(bytes)
    }

    fn from_bytes(bytes: [u8; 32]) -> SealKey {
        let mut h = Sha256::new();
        h.update(b"greenlight-seal-key-id\n");
        h.update(bytes);
        let id = hex::encode(&h.finalize()[..4]);
        SealKey {
            key: SecretBox::new(Box::new(bytes)),
            id,
        }
    }

    /// Reads a key file: 64 hex digits (surrounding whitespace ignored), as
    /// [`SealKey::write_new_file`] writes, or exactly 32 raw bytes.
    pub fn from_file(path: &Path) -> Result<SealKey, SealError> {
        let bytes = std::fs::read(path).map_err(|e| SealError::Read {
            path: path.to_owned(),
            cause: e.to_string(),
        })?;
        let origin = || path.display().to_string();
        if let Ok(text) = std::str::from_utf8(&bytes)
            && let Some(key) = from_hex(text.trim())
        {
            return Ok(key);
        }
        let raw: [u8; 32] = bytes
            .try_into()
            .map_err(|_| SealError::KeyFormat { origin: origin() })?;
        Ok(SealKey::from_bytes(raw))
    }

    /// Reads a key given as text (64 hex digits), e.g. from an environment secret; `source`
    /// names where it came from (`GREENLIGHT_SEAL_KEY`) for the error.
    pub fn from_text(text: &str, source: &str) -> Result<SealKey, SealError> {
        from_hex(text.trim()).ok_or_else(|| SealError::KeyFormat {
            origin: source.to_owned(),
        })
    }

    /// Writes the key, as 64 hex digits and a newline, to a new file readable only by its
    /// owner (mode 0600). Refuses to overwrite an existing file.
    pub fn write_new_file(&self, path: &Path) -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(path)?;
        f.write_all(format!("{}\n", self.to_hex()).as_bytes())?;
        f.sync_all()
    }

    /// The key as 64 hex digits, for an environment secret. Handle it like a password.
    pub fn to_hex(&self) -> String {
        hex::encode(self.key.expose_secret())
    }

    /// The key's id: 8 hex digits of a digest of it, written into every sealed value. Not
    /// secret.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.key.expose_secret().into())
    }

    /// The associated data every value is sealed with: the format version and the key id,
    /// so neither can be altered without the value failing to open.
    fn aad(&self) -> String {
        format!("greenlight-seal {VERSION} {}", self.id)
    }

    /// Seals `plaintext`: `v1:<key id>:<base64 of nonce || ciphertext>`. Sealing the same
    /// value twice gives different text.
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, SealError> {
        let nonce = XNonce::try_generate().map_err(|_| SealError::Random)?;
        let aad = self.aad();
        let ciphertext = self
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::TooLong)?;
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(format!("{VERSION}:{}:{}", self.id, BASE64.encode(out)))
    }

    /// Opens what [`SealKey::seal`] made. A value sealed under another key, altered text and
    /// text that is not a sealed value are each a clear error.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, SealError> {
        let sealed = sealed.trim();
        let mut parts = sealed.splitn(3, ':');
        let (Some(version), Some(key_id), Some(data)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SealError::NotSealed);
        };
        if version != VERSION {
            return Err(SealError::Version(version.chars().take(16).collect()));
        }
        if key_id != self.id {
            return Err(SealError::WrongKey {
                sealed_with: key_id.chars().take(16).collect(),
                key: self.id.clone(),
            });
        }
        let bytes = BASE64.decode(data).map_err(|_| SealError::Tampered)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(SealError::Tampered);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| SealError::Tampered)?;
        let aad = self.aad();
        self.cipher()
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Tampered)
    }
}

fn from_hex(text: &str) -> Option<SealKey> {
    let bytes: [u8; 32] = hex::decode(text).ok()?.try_into().ok()?;
    Some(SealKey::from_bytes(bytes))
}

/// Why a key could not be loaded or a value could not be sealed or opened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The key file could not be read.
    #[error("reading the seal key {}: {cause}", path.display())]
    Read {
        /// The key file.
        path: PathBuf,
        /// What the operating system said.
        cause: String,
    },
    /// The key file or value is not a key.
    #[error("{origin}: a seal key is 32 random bytes, written as 64 hex digits (or raw)")]
    KeyFormat {
        /// The file or setting it came from.
        origin: String,
    },
    /// The text is not a sealed value at all.
    #[error("not a sealed value (expected v1:<key id>:<base64>)")]
    NotSealed,
    /// The text names a format version this build does not know.
    #[error("sealed value of unknown version {0:?} (this build knows v1)")]
    Version(String),
    /// The value was sealed under another key.
    #[error(
        "the value was sealed with another key (key id {sealed_with}; the key given has id {key})"
    )]
    WrongKey {
        /// The id the sealed value names.
        sealed_with: String,
        /// The id of the key given.
        key: String,
    },
    /// The value does not authenticate under the key whose id it names: it was altered or
    /// is corrupt.
    #[error("the sealed value was altered or is corrupt: it does not authenticate under its key")]
    Tampered,
    /// The operating system's random source failed.
    #[error("the operating system's random source failed")]
    Random,
    /// The plaintext is larger than the cipher can seal (256 GiB).
    #[error("the value is too long to seal")]
    TooLong,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_to_what_was_sealed() {
        let key = SealKey::generate();
        for plain in [
            &b""[..],
            b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            &[0u8; 1000],
        ] {
            let sealed = key.seal(plain).unwrap();
            assert!(sealed.starts_with(&format!("v1:{}:", key.id())), "{sealed}");
            assert_eq!(key.open(&sealed).unwrap(), plain);
        }
    }

    #[test]
    fn sealing_twice_gives_different_text() {
        let key = SealKey::generate();
        assert_ne!(key.seal(b"x").unwrap(), key.seal(b"x").unwrap());
    }

    #[test]
    fn another_key_cannot_open_and_says_so() {
        let sealed = SealKey::generate().seal(b"secret").unwrap();
        let other = SealKey::generate();
        let err = other.open(&sealed).unwrap_err();
        assert!(matches!(err, SealError::WrongKey { .. }), "{err}");
        assert!(err.to_string().contains("another key"), "{err}");
    }

    #[test]
    fn another_key_with_a_forged_key_id_is_still_refused() {
        let key = SealKey::generate();
        let other = SealKey::generate();
        let sealed = other.seal(b"secret").unwrap();
        let forged = sealed.replacen(other.id(), key.id(), 1);
        assert_eq!(key.open(&forged).unwrap_err(), SealError::Tampered);
    }

    #[test]
    fn any_altered_byte_is_detected() {
        let key = SealKey::generate();
        let sealed = key.seal(b"the smtp password").unwrap();
        let prefix_len = format!("v1:{}:", key.id()).len();
        let mut bytes = BASE64.decode(&sealed[prefix_len..]).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 0x01;
            let altered = format!("{}{}", &sealed[..prefix_len], BASE64.encode(&bytes));
            assert_eq!(
                key.open(&altered).unwrap_err(),
                SealError::Tampered,
                "byte {i}"
            );
            bytes[i] ^= 0x01;
        }
        assert_eq!(
            key.open(&format!("{sealed}AAAA")).unwrap_err(),
            SealError::Tampered
        );
        assert_eq!(
            key.open(&sealed[..sealed.len() - 8]).unwrap_err(),
            SealError::Tampered
        );
    }

    #[test]
    fn text_that_is_not_sealed_is_a_clear_error() {
        let key = SealKey::generate();
        assert_eq!(key.open("hunter2").unwrap_err(), SealError::NotSealed);
        assert_eq!(
            key.open("v9:abcd:AAAA").unwrap_err(),
            SealError::Version("v9".into())
        );
        let id = key.id().to_owned();
        assert_eq!(
            key.open(&format!("v1:{id}:***")).unwrap_err(),
            SealError::Tampered
        );
        assert_eq!(
            key.open(&format!("v1:{id}:AAAA")).unwrap_err(),
            SealError::Tampered
        );
    }

    #[test]
    fn key_files_are_written_owner_only_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("greenlight.seal.key");
        let key = SealKey::generate();
        key.write_new_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let read = SealKey::from_file(&path).unwrap();
        assert_eq!(read.id(), key.id());
        assert_eq!(read.open(&key.seal(b"x").unwrap()).unwrap(), b"x");
        // Never overwritten.
        assert!(SealKey::generate().write_new_file(&path).is_err());
        assert_eq!(SealKey::from_file(&path).unwrap().id(), key.id());
    }

    #[test]
    fn raw_key_files_and_hex_values_are_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.key");
        let key = SealKey::generate();
        std::fs::write(&path, hex::decode(key.to_hex()).unwrap()).unwrap();
        assert_eq!(SealKey::from_file(&path).unwrap().id(), key.id());
        let env = SealKey::from_text(&format!(" {}\n", key.to_hex()), "GREENLIGHT_SEAL_KEY");
        assert_eq!(env.unwrap().id(), key.id());
    }

    #[test]
    fn bad_keys_name_their_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.key");
        std::fs::write(&path, "abcd\n").unwrap();
        let err = SealKey::from_file(&path).unwrap_err();
        assert!(
            err.to_string().starts_with(&path.display().to_string()),
            "{err}"
        );
        let err = SealKey::from_file(&dir.path().join("missing.key")).unwrap_err();
        assert!(err.to_string().contains("missing.key"), "{err}");
        let err = SealKey::from_text("zz", "GREENLIGHT_SEAL_KEY").unwrap_err();
        assert!(
            err.to_string().starts_with("GREENLIGHT_SEAL_KEY: "),
            "{err}"
        );
    }

    #[test]
    fn debug_shows_the_id_not_the_key() {
        let key = SealKey::generate();
        let shown = format!("{key:?}");
        assert!(shown.contains(key.id()));
        assert!(!shown.contains(&key.to_hex()[..16]), "{shown}");
    }
}
