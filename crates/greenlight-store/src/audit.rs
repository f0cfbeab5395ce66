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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
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
    #[sqlx(skip)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
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
    /// Checkpoints read from the logs kept outside the database.
    pub logged_checkpoints: usize,
    /// The last entry's sequence number (0 when empty).
    pub head_seq: i64,
    /// The first bad entry (or the sequence number where an entry is missing).
    pub first_bad_seq: Option<i64>,
    /// What is wrong, first problem first.
    pub problems: Vec<String>,
    /// True when the signatures were checked against a public key the verifier holds
    /// (`--public-key`); false when against a key that came with what is verified.
    #[serde(default)]
    pub anchored: bool,
    /// What the signatures were checked against, in words: "anchored to the public key in
    /// FILE", or "not anchored: checked against …".
    #[serde(default)]
    pub anchor: String,
    /// Hex of the public key the checkpoints were checked against (`None` when there was
    /// no key and no checkpoint named one).
    #[serde(default)]
    pub public_key: Option<String>,
    /// The checkpoint logs read (their paths, or where they came from).
    #[serde(default)]
    pub checkpoint_logs: Vec<String>,
    /// Rows of the audited tables compared with their last audit entry (`None` when no
    /// tables were read, as for a bundle).
    #[serde(default)]
    pub records_checked: Option<usize>,
    /// Records whose personal data was erased (their salt is gone): not compared, and not
    /// tampering. Each is `KIND ID`.
    #[serde(default)]
    pub erased: Vec<String>,
}

impl VerifyReport {
    /// Adds a problem found outside the chain walk (a missing checkpoint log, a row that
    /// differs from its entry). `seq` is the entry it concerns, if one.
    pub fn add_problem(&mut self, seq: Option<i64>, problem: String) {
        self.valid = false;
        if self.first_bad_seq.is_none() && self.problems.is_empty() {
            self.first_bad_seq = seq;
        }
        self.problems.push(problem);
    }
}

/// What verification trusts: the key it checks signatures against and the checkpoint logs
/// kept outside the database.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// The auditor's public key (hex) and where it came from (a file name): the anchor.
    pub anchor: Option<(String, String)>,
    /// A key that came with what is verified (hex) and how to say where it was found, e.g.
    /// "the key found beside the database". Used only when there is no anchor, and never
    /// counted as one.
    pub found: Option<(String, String)>,
    /// Checkpoint logs, each named by its path or origin.
    pub logs: Vec<(String, Vec<Checkpoint>)>,
    /// Where the deployment keeps a checkpoint log that is not there.
    pub missing_logs: Vec<String>,
}

impl Trust {
    /// Anchored to `public_key_hex`, found in `source`.
    pub fn anchored(public_key_hex: &str, source: &str) -> Trust {
        Trust {
            anchor: Some((public_key_hex.to_ascii_lowercase(), source.to_owned())),
            ..Trust::default()
        }
    }
}

/// Verifies entries (in stored order), checkpoints, and optionally a checkpoint log and
/// a trusted public key (hex). Never needs the private key.
pub fn verify(
    entries: &[AuditEntry],
    checkpoints: &[Checkpoint],
    logged: Option<&[Checkpoint]>,
    trusted_key: Option<&str>,
) -> VerifyReport {
    let trust = Trust {
        found: trusted_key.map(|k| (k.to_owned(), "the key given".to_owned())),
        logs: logged
            .map(|l| vec![("checkpoint log".to_owned(), l.to_vec())])
            .unwrap_or_default(),
        ..Trust::default()
    };
    verify_trusting(entries, checkpoints, &trust)
}

/// Verifies the chain, every checkpoint signature (against the anchor, else the key found,
/// else the key each checkpoint names), and the database's checkpoints and entries against
/// every checkpoint log. A log missing where the deployment keeps one is a problem.
pub fn verify_trusting(
    entries: &[AuditEntry],
    checkpoints: &[Checkpoint],
    trust: &Trust,
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

    let trusted = trust.anchor.as_ref().or(trust.found.as_ref());
    let mut key_seen: Option<String> = trusted.map(|(k, _)| k.clone());
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
    for (name, logged) in &trust.logs {
        let origin = if trust.logs.len() == 1 {
            "logged".to_owned()
        } else {
            format!("logged ({name})")
        };
        for c in logged {
            check_cp(c, &origin, &mut problems);
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
    let (anchored, anchor) = match (&trust.anchor, &trust.found) {
        (Some((_, source)), _) => (true, format!("anchored to the public key in {source}")),
        (None, Some((_, found))) => (false, format!("not anchored: checked against {found}")),
        (None, None) => (
            false,
            "not anchored: checked against the key each checkpoint names".to_owned(),
        ),
    };
    let mut report = VerifyReport {
        valid: problems.is_empty(),
        entries: entries.len(),
        checkpoints: checkpoints.len(),
        logged_checkpoints: trust.logs.iter().map(|(_, l)| l.len()).sum(),
        head_seq,
        first_bad_seq: problems.first().map(|(s, _)| *s),
        problems: problems.into_iter().map(|(_, p)| p).collect(),
        anchored,
        anchor,
        public_key: key_seen,
        checkpoint_logs: trust.logs.iter().map(|(n, _)| n.clone()).collect(),
        records_checked: None,
        erased: Vec::new(),
    };
    for path in &trust.missing_logs {
        // Only a log that should hold something is missed: before the first checkpoint
        // the writer has appended nothing.
        if !checkpoints.is_empty() || !entries.is_empty() {
            report.add_problem(
                None,
                format!("the checkpoint log {path} is missing (checkpoints are appended there; deleted?)"),
            );
        }
    }
    report
}

/// One row of an audited table as it is now, for [`StateCheck`].
#[derive(Debug, Clone)]
pub struct CurrentRecord {
    /// The kind of record, as audit entries name it (`declaration`).
    pub entity: &'static str,
    pub id: String,
    pub state: RowState,
}

/// What a row says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowState {
    /// The keyed digest of its state under its salt.
    Digest(String),
    /// Its personal data was erased and its salt with it.
    Erased,
    /// As it stands the row needs no audit entry (an obligation not completed).
    Unrecorded,
    /// A record audited without digests (an API token or session); `ended` when revoked.
    Undigested { ended: bool },
}

/// The kinds of record whose rows verification compares with the audit log.
pub const AUDITED_KINDS: &[&str] = &[
    "org",
    "user",
    "production",
    "declaration",
    "obligation",
    "consent",
    "tool",
    "token",
];

#[derive(Default)]
struct Trail {
    /// The last entry carrying a digest: its seq and after-digest.
    last: Option<(i64, Option<String>)>,
    /// The last entry that ended it (a token revoked, a session ended).
    ended: Option<i64>,
}

/// Compares the rows of the audited tables with the audit log: for each current row, the
/// keyed digest of its state must equal the after-digest of its last entry; a row no entry
/// records, or whose entry says it was ended, is named; so is a record an entry describes
/// whose row is gone. Also checks, entry by entry, that each change started from the state
/// the previous change of the same record left (a row edited between two changes).
pub struct StateCheck {
    trails: std::collections::HashMap<(String, String), Trail>,
    seen: std::collections::HashSet<(String, String)>,
    records: usize,
    erased: Vec<String>,
    problems: Vec<(Option<i64>, String)>,
}

impl StateCheck {
    /// Indexes the entries (the whole chain, unredacted).
    pub fn new(entries: &[AuditEntry]) -> StateCheck {
        let mut trails: std::collections::HashMap<(String, String), Trail> =
            std::collections::HashMap::new();
        let mut problems = Vec::new();
        for e in entries {
            if e.redacted || !AUDITED_KINDS.contains(&e.entity.as_str()) {
                continue;
            }
            let t = trails
                .entry((e.entity.clone(), e.entity_id.clone()))
                .or_default();
            if let (Some(before), Some((m, Some(after)))) = (&e.before_digest, &t.last)
                && before != after
            {
                problems.push((
                    Some(e.seq),
                    format!(
                        "entry {}: {} {} was not in the state entry {m} left (changed outside the application in between)",
                        e.seq, e.entity, e.entity_id
                    ),
                ));
            }
            if e.before_digest.is_some() || e.after_digest.is_some() {
                t.last = Some((e.seq, e.after_digest.clone()));
            }
            if matches!(e.action.as_str(), "token.revoke" | "session.end") {
                t.ended = Some(e.seq);
            }
        }
        StateCheck {
            trails,
            seen: Default::default(),
            records: 0,
            erased: Vec::new(),
            problems,
        }
    }

    /// Compares one current row with its trail in the log.
    pub fn check(&mut self, r: CurrentRecord) {
        self.records += 1;
        let key = (r.entity.to_owned(), r.id.clone());
        let trail = self.trails.get(&key);
        let what = format!("{} {}", r.entity, r.id);
        match (&r.state, trail) {
            (RowState::Erased, _) => self.erased.push(what),
            (
                RowState::Digest(d),
                Some(Trail {
                    last: Some((m, Some(after))),
                    ..
                }),
            ) => {
                if d != after {
                    self.problems.push((Some(*m), format!("{what}: the row does not match the state entry {m} recorded (changed outside the application)")));
                }
            }
            (
                RowState::Digest(_),
                Some(Trail {
                    last: Some((m, None)),
                    ..
                }),
            ) => {
                self.problems.push((
                    Some(*m),
                    format!("{what}: entry {m} removed it, yet the row is there"),
                ));
            }
            (RowState::Digest(_), _) => {
                self.problems.push((
                    None,
                    format!(
                        "{what}: no audit entry records its state (written outside the application)"
                    ),
                ));
            }
            (
                RowState::Unrecorded,
                Some(Trail {
                    last: Some((m, Some(_))),
                    ..
                }),
            ) => {
                self.problems.push((Some(*m), format!("{what}: entry {m} recorded it as completed; the row says it is not (changed outside the application)")));
            }
            (RowState::Unrecorded, _) => {}
            (RowState::Undigested { .. }, None) => {
                self.problems.push((
                    None,
                    format!("{what}: no audit entry records it (issued outside the application)"),
                ));
            }
            (RowState::Undigested { ended: false }, Some(Trail { ended: Some(m), .. })) => {
                self.problems.push((Some(*m), format!("{what}: entry {m} ended it; the row is active again (changed outside the application)")));
            }
            (RowState::Undigested { .. }, Some(_)) => {}
        }
        self.seen.insert(key);
    }

    /// Records described by the log whose rows are gone, then the findings into `report`.
    pub fn finish(mut self, report: &mut VerifyReport) {
        let mut gone: Vec<(i64, String)> = self
            .trails
            .iter()
            .filter(|(k, _)| !self.seen.contains(*k))
            .filter_map(|((entity, id), t)| match &t.last {
                Some((m, Some(_))) => Some((*m, format!("{entity} {id}: entry {m} recorded it, but its row is gone (deleted outside the application)"))),
                _ => None,
            })
            .collect();
        gone.sort();
        self.problems
            .extend(gone.into_iter().map(|(m, p)| (Some(m), p)));
        // Entries first (by the entry they concern), then rows no entry records.
        self.problems
            .sort_by_key(|(seq, _)| seq.unwrap_or(i64::MAX));
        for (seq, p) in self.problems {
            report.add_problem(seq, p);
        }
        report.records_checked = Some(self.records);
        self.erased.sort();
        report.erased = self.erased;
    }
}

/// The bundle's format name, in a single-file bundle.
pub const BUNDLE_FORMAT: &str = "greenlight-audit-bundle/v1";

/// An export bundle: everything needed to verify the audit log away from the server. One
/// format, written either as a folder (`entries.jsonl`, `checkpoints.jsonl`,
/// `checkpoint-log.jsonl`, `public-key.pem`) or as one JSON file holding the same members;
/// [`Bundle::read`] takes either.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// [`BUNDLE_FORMAT`].
    pub format: String,
    /// The public key the server signs with (SPKI PEM or hex), as the server states it: it
    /// tells which key signed, and is never an anchor.
    #[serde(default)]
    pub public_key: Option<String>,
    pub entries: Vec<AuditEntry>,
    pub checkpoints: Vec<Checkpoint>,
    /// The server's checkpoint log at export time; `None` when the server found none.
    #[serde(default)]
    pub checkpoint_log: Option<Vec<Checkpoint>>,
}

/// Why a bundle could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file of the bundle cannot be read (or the path is neither a folder nor a file).
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file of the bundle does not parse: a broken bundle, which verification reports as
    /// tampering.
    #[error("{0}")]
    Malformed(String),
}

const ENTRIES_FILE: &str = "entries.jsonl";
const CHECKPOINTS_FILE: &str = "checkpoints.jsonl";
const LOG_FILE: &str = "checkpoint-log.jsonl";
const KEY_FILE: &str = "public-key.pem";

fn read_jsonl<T: serde::de::DeserializeOwned>(
    path: &Path,
) -> std::result::Result<Vec<T>, BundleError> {
    let text = std::fs::read_to_string(path).map_err(|source| BundleError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(v) => out.push(v),
            Err(e) => {
                return Err(BundleError::Malformed(format!(
                    "{} line {}: {e}",
                    path.display(),
                    i + 1
                )));
            }
        }
    }
    Ok(out)
}

fn write_jsonl<T: Serialize>(path: &Path, items: &[T]) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for i in items {
        serde_json::to_writer(&mut f, i)?;
        f.write_all(b"\n")?;
    }
    f.flush()?;
    f.get_ref().sync_all()
}

impl Bundle {
    /// A bundle of these parts.
    pub fn new(
        entries: Vec<AuditEntry>,
        checkpoints: Vec<Checkpoint>,
        checkpoint_log: Option<Vec<Checkpoint>>,
        public_key: Option<String>,
    ) -> Bundle {
        Bundle {
            format: BUNDLE_FORMAT.to_owned(),
            public_key,
            entries,
            checkpoints,
            checkpoint_log,
        }
    }

    /// Reads a bundle from a folder or a single JSON file.
    pub fn read(path: &Path) -> std::result::Result<Bundle, BundleError> {
        let io = |source| BundleError::Io {
            path: path.display().to_string(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.is_dir() {
            let log = path.join(LOG_FILE);
            let key = path.join(KEY_FILE);
            return Ok(Bundle {
                format: BUNDLE_FORMAT.to_owned(),
                entries: read_jsonl(&path.join(ENTRIES_FILE))?,
                checkpoints: read_jsonl(&path.join(CHECKPOINTS_FILE))?,
                checkpoint_log: if log.exists() {
                    Some(read_jsonl(&log)?)
                } else {
                    None
                },
                public_key: if key.exists() {
                    Some(
                        std::fs::read_to_string(&key).map_err(|source| BundleError::Io {
                            path: key.display().to_string(),
                            source,
                        })?,
                    )
                } else {
                    None
                },
            });
        }
        let file = std::fs::File::open(path).map_err(io)?;
        let bundle: Bundle = serde_json::from_reader(std::io::BufReader::new(file))
            .map_err(|e| BundleError::Malformed(format!("{}: {e}", path.display())))?;
        if bundle.format != BUNDLE_FORMAT {
            return Err(BundleError::Malformed(format!(
                "{}: format {:?} is not {BUNDLE_FORMAT:?}",
                path.display(),
                bundle.format
            )));
        }
        Ok(bundle)
    }

    /// The single-file form (pretty JSON).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("a bundle serializes")
    }

    /// Writes the folder form into `dir` (created; bundle files already there are replaced,
    /// and a checkpoint log or key file of an earlier bundle is removed when this one has
    /// none).
    pub fn write_dir(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        write_jsonl(&dir.join(ENTRIES_FILE), &self.entries)?;
        write_jsonl(&dir.join(CHECKPOINTS_FILE), &self.checkpoints)?;
        match &self.checkpoint_log {
            Some(l) => write_jsonl(&dir.join(LOG_FILE), l)?,
            None => remove_if_there(&dir.join(LOG_FILE))?,
        }
        match &self.public_key {
            Some(k) => std::fs::write(dir.join(KEY_FILE), k)?,
            None => remove_if_there(&dir.join(KEY_FILE))?,
        }
        Ok(())
    }

    /// Writes the single-file form.
    pub fn write_file(&self, path: &Path) -> std::io::Result<()> {
        let mut f = std::fs::File::create(path)?;
        f.write_all(&self.to_json())?;
        f.sync_all()
    }

    /// Verifies the bundle. Its own public key is used only when `trust` has no anchor, and
    /// never counts as one; its checkpoint log is checked with any logs in `trust`, and a
    /// bundle without one is missing its log unless `keeps_log` is false.
    pub fn verify(&self, mut trust: Trust, keeps_log: bool) -> VerifyReport {
        if trust.found.is_none()
            && let Some(k) = self.public_key.as_deref()
        {
            match public_key_hex(k) {
                Ok(hex) => trust.found = Some((hex, "the key the bundle carries".to_owned())),
                Err(e) => {
                    let mut r = verify_trusting(&self.entries, &self.checkpoints, &trust);
                    r.add_problem(None, format!("the bundle's public key: {e}"));
                    return r;
                }
            }
        }
        match &self.checkpoint_log {
            Some(l) => trust
                .logs
                .insert(0, ("the bundle's checkpoint log".to_owned(), l.clone())),
            None if keeps_log => trust.missing_logs.push(
                "of the bundle (checkpoint-log.jsonl, or the member checkpoint_log)".to_owned(),
            ),
            None => {}
        }
        let mut report = verify_trusting(&self.entries, &self.checkpoints, &trust);
        // A full bundle (nothing redacted) shows every change of every record: each must
        // start from the state the previous one left.
        if !self.entries.iter().any(|e| e.redacted) {
            StateCheck::new(&self.entries).finish_entries_only(&mut report);
        }
        report
    }
}

impl StateCheck {
    /// Only the entry-by-entry findings (no rows were read).
    fn finish_entries_only(mut self, report: &mut VerifyReport) {
        self.problems
            .sort_by_key(|(seq, _)| seq.unwrap_or(i64::MAX));
        for (seq, p) in self.problems {
            report.add_problem(seq, p);
        }
    }
}

fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
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

    /// Entries for one declaration: submitted (state s1), then changed to s2.
    fn declaration_trail(salt: &str) -> Vec<AuditEntry> {
        let s1 = serde_json::json!({"state": "in_review"});
        let s2 = serde_json::json!({"state": "changes_requested"});
        let mut out = Vec::new();
        let mut prev = GENESIS.to_owned();
        for (seq, before, after) in [
            (1, None, Some(digest(salt, &s1))),
            (2, Some(digest(salt, &s1)), Some(digest(salt, &s2))),
        ] {
            let mut e = AuditEntry {
                seq,
                at: "2026-01-01T00:00:00.000000Z".into(),
                actor: None,
                org_id: None,
                action: "declaration.x".into(),
                entity: "declaration".into(),
                entity_id: "d1".into(),
                before_digest: before,
                after_digest: after,
                prev_hash: prev.clone(),
                hash: String::new(),
                redacted: false,
            };
            e.hash = e.compute_hash();
            prev = e.hash.clone();
            out.push(e);
        }
        out
    }

    fn row_check(entries: &[AuditEntry], row: Option<RowState>) -> VerifyReport {
        let mut report = verify(entries, &[], None, None);
        report.problems.clear();
        report.valid = true;
        report.first_bad_seq = None;
        let mut check = StateCheck::new(entries);
        if let Some(state) = row {
            check.check(CurrentRecord {
                entity: "declaration",
                id: "d1".into(),
                state,
            });
        }
        check.finish(&mut report);
        report
    }

    #[test]
    fn a_row_is_checked_against_its_last_entry() {
        let salt = new_salt();
        let e = declaration_trail(&salt);
        let now =
            |state: &str| RowState::Digest(digest(&salt, &serde_json::json!({"state": state})));
        assert!(row_check(&e, Some(now("changes_requested"))).valid);
        let r = row_check(&e, Some(now("approved")));
        assert!(!r.valid);
        assert!(
            r.problems[0].contains("does not match the state entry 2"),
            "{r:?}"
        );
        // The state of an earlier entry is not enough.
        assert!(!row_check(&e, Some(now("in_review"))).valid);
        // Gone, or erased.
        let r = row_check(&e, None);
        assert!(r.problems[0].contains("its row is gone"), "{r:?}");
        let r = row_check(&e, Some(RowState::Erased));
        assert!(r.valid);
        assert_eq!(r.erased, vec!["declaration d1".to_owned()]);
        // Unknown to the log.
        let r = row_check(&[], Some(now("approved")));
        assert!(
            r.problems[0].contains("no audit entry records its state"),
            "{r:?}"
        );
    }

    #[test]
    fn a_change_that_did_not_start_where_the_last_one_ended_is_named() {
        let salt = new_salt();
        let mut e = declaration_trail(&salt);
        e[1].before_digest = Some(digest(&salt, &serde_json::json!({"state": "approved"})));
        let r = row_check(&e, None);
        assert!(
            r.problems.iter().any(|p| p.starts_with("entry 2: declaration d1 was not in the state entry 1 left")),
            "{r:?}"
        );
    }

    #[test]
    fn a_bundle_reads_the_same_from_a_folder_and_from_a_file() {
        let (e, k) = chain(4);
        let cps = head(&e, &k);
        let bundle = Bundle::new(e, cps.clone(), Some(cps), Some(k.public_pem()));
        let dir = tempfile::tempdir().expect("a temp dir");
        bundle.write_dir(&dir.path().join("b")).expect("folder");
        bundle.write_file(&dir.path().join("b.json")).expect("file");
        let from_dir = Bundle::read(&dir.path().join("b")).expect("reads");
        let from_file = Bundle::read(&dir.path().join("b.json")).expect("reads");
        assert_eq!(from_dir, bundle);
        assert_eq!(from_file, bundle);
        let r = from_file.verify(Trust::default(), true);
        assert!(r.valid && !r.anchored, "{r:?}");
        assert_eq!(
            r.anchor,
            "not anchored: checked against the key the bundle carries"
        );
        let r = from_file.verify(Trust::anchored(&k.public_hex(), "auditor.pem"), true);
        assert!(r.valid && r.anchored, "{r:?}");
        // Another key: the bundle's own key does not rescue it.
        let other = SigningKey::generate();
        let r = from_file.verify(Trust::anchored(&other.public_hex(), "auditor.pem"), true);
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
