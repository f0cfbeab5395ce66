//! The tamper-evident audit log: a hash chain of entries, Ed25519-signed checkpoints, and
//! the verification anyone can run without the key.
//!
//! An entry records who, when, what, and digests of the state before and after. A digest
//! is BLAKE3 keyed with a per-record salt kept in the record's own (erasable) row: erase
//! the row and nobody can confirm a guess of the personal data it held, yet the chain still
//! verifies. Each entry's `hash` is SHA-256 over the previous hash and the entry's fields;
//! a checkpoint signs `(seq, hash)` of the head and is written in the same transaction as
//! the entries it covers, and appended to a checkpoint log file outside the database.
//!
//! Verification recomputes the chain and reports the first bad entry:
//! an edited entry breaks its hash, a deleted or reordered one breaks `seq` or
//! `prev_hash`, a truncated log falls short of the last checkpoint (in the database or in
//! the log file), and a fully re-hashed chain no longer matches the signed checkpoints.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signer, Verifier};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::{Result, StoreError};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry as stored and exported (one JSON line per entry in a bundle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    /// RFC 3339 UTC, as stored.
    pub at: String,
    /// The user who acted (`None` for the system: expiry, migrations).
    pub actor: Option<String>,
    /// The organisation (tenant) the change belongs to.
    pub org_id: Option<String>,
    /// What happened, e.g. `declaration.submit`, `consent.revoke`.
    pub action: String,
    /// The kind of record changed, e.g. `declaration`.
    pub entity: String,
    pub entity_id: String,
    /// Keyed digest of the record before (`None` when created).
    pub before_digest: Option<String>,
    /// Keyed digest of the record after (`None` when erased).
    pub after_digest: Option<String>,
    pub prev_hash: String,
    pub hash: String,
    /// True in an auditor's export bundle for an entry of another tenant: only `seq`,
    /// `prev_hash` and `hash` are kept, every other field is emptied. Verification checks
    /// its place in the chain (the next entry's `prev_hash`, the signed checkpoints) but
    /// cannot recompute its hash.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
}

/// The fields an entry's hash covers, in a fixed order.
#[derive(Serialize)]
struct Hashed<'a> {
    seq: i64,
    at: &'a str,
    actor: &'a Option<String>,
    org_id: &'a Option<String>,
    action: &'a str,
    entity: &'a str,
    entity_id: &'a str,
    before_digest: &'a Option<String>,
    after_digest: &'a Option<String>,
}

impl AuditEntry {
    /// The entry with everything but its place in the chain (`seq`, `prev_hash`, `hash`)
    /// removed, for a reader who may not see it.
    pub fn redact(&self) -> AuditEntry {
        AuditEntry {
            seq: self.seq,
            at: String::new(),
            actor: None,
            org_id: None,
            action: String::new(),
            entity: String::new(),
            entity_id: String::new(),
            before_digest: None,
            after_digest: None,
            prev_hash: self.prev_hash.clone(),
            hash: self.hash.clone(),
            redacted: true,
        }
    }

    /// The hash this entry must carry given its fields and `prev_hash`.
    pub fn compute_hash(&self) -> String {
        let fields = Hashed {
            seq: self.seq,
            at: &self.at,
            actor: &self.actor,
            org_id: &self.org_id,
            action: &self.action,
            entity: &self.entity,
            entity_id: &self.entity_id,
            before_digest: &self.before_digest,
            after_digest: &self.after_digest,
        };
        let mut h = Sha256::new();
        h.update(b"greenlight-audit-v1\n");
        h.update(self.prev_hash.as_bytes());
        h.update(b"\n");
        h.update(serde_json::to_vec(&fields).expect("audit fields serialize"));
        hex::encode(h.finalize())
    }
}

/// A signed head of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub at: String,
    /// Hex of the 32-byte Ed25519 public key.
    pub public_key: String,
    /// Hex of the 64-byte signature over [`Checkpoint::message`].
    pub signature: String,
}

impl Checkpoint {
    /// The bytes a checkpoint's signature covers.
    pub fn message(seq: i64, hash: &str, at: &str) -> Vec<u8> {
        format!("greenlight-audit-checkpoint-v1\n{seq}\n{hash}\n{at}\n").into_bytes()
    }

    /// Checks the signature against the key the checkpoint names.
    pub fn signature_valid(&self) -> bool {
        let Some(key) = decode_array::<32>(&self.public_key)
            .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok())
        else {
            return false;
        };
        let Some(sig) = decode_array::<64>(&self.signature) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(&sig);
        key.verify(&Checkpoint::message(self.seq, &self.hash, &self.at), &sig)
            .is_ok()
    }
}

fn decode_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    hex::decode(s).ok()?.try_into().ok()
}

/// The Ed25519 key that signs checkpoints. Never stored in the database.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        SigningKey(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// Reads a PKCS#8 PEM key file (as `greenlight admin keygen` writes).
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            StoreError::Backend(format!("reading audit key {}: {e}", path.display()))
        })?;
        Self::from_pem(&text)
            .map_err(|e| StoreError::Backend(format!("audit key {}: {e}", path.display())))
    }

    /// Parses a PKCS#8 PEM private key.
    pub fn from_pem(text: &str) -> std::result::Result<Self, String> {
        ed25519_dalek::SigningKey::from_pkcs8_pem(text.trim())
            .map(SigningKey)
            .map_err(|e| e.to_string())
    }

    /// PKCS#8 PEM of the private key.
    pub fn to_pem(&self) -> String {
        self.0
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .map(|s| s.to_string())
            .expect("an Ed25519 key encodes as PKCS#8")
    }

    /// Writes the key to a new file readable only by its owner (mode 0600). Refuses to
    /// overwrite an existing file.
    pub fn write_new_file(&self, path: &Path) -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(path)?;
        f.write_all(self.to_pem().as_bytes())?;
        f.sync_all()
    }

    /// Hex of the public key.
    pub fn public_hex(&self) -> String {
        hex::encode(self.0.verifying_key().to_bytes())
    }

    /// SPKI PEM of the public key (what an export bundle carries).
    pub fn public_pem(&self) -> String {
        self.0
            .verifying_key()
            .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .expect("an Ed25519 public key encodes as SPKI")
    }

    /// Signs the head `(seq, hash)` at `at`.
    pub fn checkpoint(&self, seq: i64, hash: &str, at: &str) -> Checkpoint {
        let sig = self.0.sign(&Checkpoint::message(seq, hash, at));
        Checkpoint {
            seq,
            hash: hash.to_owned(),
            at: at.to_owned(),
            public_key: self.public_hex(),
            signature: hex::encode(sig.to_bytes()),
        }
    }
}

/// Hex of a public key given as SPKI PEM or as 64 hex digits.
pub fn public_key_hex(text: &str) -> std::result::Result<String, String> {
    let t = text.trim();
    if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(t.to_ascii_lowercase());
    }
    ed25519_dalek::VerifyingKey::from_public_key_pem(t)
        .map(|k| hex::encode(k.to_bytes()))
        .map_err(|e| format!("not an Ed25519 public key: {e}"))
}

/// A fresh per-record salt (hex of 32 random bytes).
pub fn new_salt() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// The keyed digest of a record's state (its canonical JSON) under the record's salt.
pub fn digest(salt: &str, state: &serde_json::Value) -> String {
    let key: [u8; 32] =
        decode_array(salt).unwrap_or_else(|| *blake3::hash(salt.as_bytes()).as_bytes());
    let bytes = serde_json::to_vec(state).expect("JSON values serialize");
    blake3::keyed_hash(&key, &bytes).to_hex().to_string()
}

/// Appends checkpoints to the log file outside the database, one JSON line each, and
/// flushes them to disk.
pub fn append_checkpoint_log(path: &Path, checkpoints: &[Checkpoint]) -> std::io::Result<()> {
    if checkpoints.is_empty() {
        return Ok(());
    }
    let mut text = String::new();
    for c in checkpoints {
        text.push_str(&serde_json::to_string(c).expect("checkpoints serialize"));
        text.push('\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_data()
}

/// Reads a checkpoint log (JSON lines); a line that does not parse is reported by number.
pub fn read_checkpoint_log(
    path: &Path,
) -> std::io::Result<std::result::Result<Vec<Checkpoint>, String>> {
    let text = std::fs::read_to_string(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Checkpoint>(line) {
            Ok(c) => out.push(c),
            Err(e) => return Ok(Err(format!("{} line {}: {e}", path.display(), i + 1))),
        }
    }
    Ok(Ok(out))
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VerifyReport {
    /// True when nothing is wrong.
    pub valid: bool,
    pub entries: usize,
    pub checkpoints: usize,
    /// Checkpoints read from the log file outside the database.
    pub logged_checkpoints: usize,
    /// The last entry's sequence number (0 when empty).
    pub head_seq: i64,
    /// The first bad entry (or the sequence number where an entry is missing).
    pub first_bad_seq: Option<i64>,
    /// What is wrong, first problem first.
    pub problems: Vec<String>,
}

/// Verifies entries (in stored order), checkpoints, and optionally a checkpoint log and
/// a trusted public key (hex). Never needs the private key.
pub fn verify(
    entries: &[AuditEntry],
    checkpoints: &[Checkpoint],
    logged: Option<&[Checkpoint]>,
    trusted_key: Option<&str>,
) -> VerifyReport {
    let mut problems: Vec<(i64, String)> = Vec::new();
    let mut prev_hash = GENESIS.to_owned();
    let mut hashes: std::collections::HashMap<i64, &str> = std::collections::HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if e.seq != expected_seq {
            problems.push((
                expected_seq.min(e.seq),
                format!("entry {expected_seq} expected in position {expected_seq}, found entry {} (deleted or reordered)", e.seq),
            ));
            break;
        }
        if e.prev_hash != prev_hash {
            problems.push((
                e.seq,
                format!(
                    "entry {}: prev_hash does not match the hash of entry {}",
                    e.seq,
                    e.seq - 1
                ),
            ));
            break;
        }
        // A redacted entry's content is not in the bundle: its hash is taken as given and
        // bound by the next entry's prev_hash and by the signed checkpoints.
        if !e.redacted && e.compute_hash() != e.hash {
            problems.push((
                e.seq,
                format!("entry {}: content does not match its hash (edited)", e.seq),
            ));
            break;
        }
        hashes.insert(e.seq, &e.hash);
        prev_hash = e.hash.clone();
    }
    let head_seq = entries.last().map(|e| e.seq).unwrap_or(0);

    let mut key_seen: Option<String> = trusted_key.map(str::to_owned);
    let mut check_cp = |c: &Checkpoint, origin: &str, problems: &mut Vec<(i64, String)>| {
        if !c.signature_valid() {
            problems.push((
                c.seq,
                format!("{origin} checkpoint at entry {}: bad signature", c.seq),
            ));
            return;
        }
        match &key_seen {
            Some(k) if !k.eq_ignore_ascii_case(&c.public_key) => {
                problems.push((
                    c.seq,
                    format!(
                        "{origin} checkpoint at entry {}: signed by an unknown key {}",
                        c.seq, c.public_key
                    ),
                ));
                return;
            }
            None => key_seen = Some(c.public_key.clone()),
            _ => {}
        }
        match hashes.get(&c.seq) {
            Some(h) if *h == c.hash => {}
            Some(_) => problems.push((c.seq, format!("entry {}: hash differs from the signed {origin} checkpoint (re-hashed)", c.seq))),
            None if c.seq > head_seq => problems.push((
                head_seq + 1,
                format!("entry {}: missing, but a {origin} checkpoint covers up to entry {} (truncated)", head_seq + 1, c.seq),
            )),
            None => {} // an earlier problem already stopped the chain walk
        }
    };
    for c in checkpoints {
        check_cp(c, "database", &mut problems);
    }
    if let Some(logged) = logged {
        for c in logged {
            check_cp(c, "logged", &mut problems);
        }
    }
    let last_cp = checkpoints.iter().map(|c| c.seq).max().unwrap_or(0);
    if head_seq > last_cp && problems.is_empty() {
        problems.push((
            last_cp + 1,
            format!(
                "entries {}..={head_seq} are not under any signed checkpoint",
                last_cp + 1
            ),
        ));
    }
    problems.sort_by_key(|(seq, _)| *seq);
    VerifyReport {
        valid: problems.is_empty(),
        entries: entries.len(),
        checkpoints: checkpoints.len(),
        logged_checkpoints: logged.map(|l| l.len()).unwrap_or(0),
        head_seq,
        first_bad_seq: problems.first().map(|(s, _)| *s),
        problems: problems.into_iter().map(|(_, p)| p).collect(),
    }
}

/// An entry not yet chained: what an operation records; the writer assigns seq and hashes.
#[derive(Debug, Clone)]
pub(crate) struct PendingEntry {
    pub at: DateTime<Utc>,
    pub actor: Option<String>,
    pub org_id: Option<String>,
    pub action: String,
    pub entity: &'static str,
    pub entity_id: String,
    pub before_digest: Option<String>,
    pub after_digest: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> (Vec<AuditEntry>, SigningKey) {
        let key = SigningKey::generate();
        let mut prev = GENESIS.to_owned();
        let mut out = Vec::new();
        for seq in 1..=n {
            let mut e = AuditEntry {
                seq,
                at: format!("2026-01-01T00:00:{seq:02}.000000Z"),
                actor: Some("u1".into()),
                org_id: Some("o1".into()),
                action: "declaration.submit".into(),
                entity: "declaration".into(),
                entity_id: format!("d{seq}"),
                before_digest: None,
                after_digest: Some(digest(&new_salt(), &serde_json::json!({"n": seq}))),
                prev_hash: prev.clone(),
                hash: String::new(),
                redacted: false,
            };
            e.hash = e.compute_hash();
            prev = e.hash.clone();
            out.push(e);
        }
        (out, key)
    }

    fn head(entries: &[AuditEntry], key: &SigningKey) -> Vec<Checkpoint> {
        let last = entries.last().expect("non-empty chain");
        vec![key.checkpoint(last.seq, &last.hash, &last.at)]
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let (e, k) = chain(5);
        let r = verify(&e, &head(&e, &k), None, Some(&k.public_hex()));
        assert!(r.valid, "{r:?}");
    }

    #[test]
    fn an_edited_entry_is_named() {
        let (mut e, k) = chain(5);
        let cps = head(&e, &k);
        e[2].action = "declaration.approve".into();
        let r = verify(&e, &cps, None, None);
        assert_eq!(r.first_bad_seq, Some(3), "{r:?}");
    }

    #[test]
    fn a_deleted_entry_is_named() {
        let (mut e, k) = chain(5);
        let cps = head(&e, &k);
        e.remove(1);
        let r = verify(&e, &cps, None, None);
        assert_eq!(r.first_bad_seq, Some(2), "{r:?}");
    }

    #[test]
    fn reordered_entries_are_detected() {
        let (mut e, k) = chain(5);
        let cps = head(&e, &k);
        e.swap(1, 2);
        let r = verify(&e, &cps, None, None);
        assert_eq!(r.first_bad_seq, Some(2), "{r:?}");
    }

    #[test]
    fn truncation_is_detected_by_the_checkpoint_log() {
        let (e, k) = chain(5);
        let logged = head(&e, &k);
        let kept = &e[..3];
        let cps = head(kept, &k); // the attacker keeps a genuine earlier checkpoint
        let r = verify(kept, &cps, Some(&logged), None);
        assert_eq!(r.first_bad_seq, Some(4), "{r:?}");
    }

    #[test]
    fn a_fully_rehashed_chain_fails_its_signatures() {
        let (mut e, k) = chain(5);
        let cps = head(&e, &k);
        e[1].action = "forged".into();
        let mut prev = GENESIS.to_owned();
        for x in e.iter_mut() {
            x.prev_hash = prev.clone();
            x.hash = x.compute_hash();
            prev = x.hash.clone();
        }
        let r = verify(&e, &cps, None, None);
        assert!(!r.valid);
        assert_eq!(r.first_bad_seq, Some(5), "{r:?}");
        // Re-signing with another key is caught by the trusted key.
        let other = SigningKey::generate();
        let r = verify(&e, &head(&e, &other), None, Some(&k.public_hex()));
        assert!(!r.valid, "{r:?}");
    }

    #[test]
    fn the_same_state_under_two_salts_gives_unrelated_digests() {
        let v = serde_json::json!({"performer": "Jane Doe"});
        assert_ne!(digest(&new_salt(), &v), digest(&new_salt(), &v));
    }

    #[test]
    fn a_key_survives_a_pem_round_trip() {
        let k = SigningKey::generate();
        let back = SigningKey::from_pem(&k.to_pem()).expect("round trip");
        assert_eq!(back.public_hex(), k.public_hex());
        assert_eq!(public_key_hex(&k.public_pem()), Ok(k.public_hex()));
    }
}
