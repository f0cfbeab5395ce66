//! Reading and verifying the audit log.

use crate::audit::{self, AuditEntry, Checkpoint, VerifyReport};
use crate::model::{OrgKind, Page, PageRequest, Principal, Role};
use crate::{Result, Store, StoreError};

const ENTRY_COLS: &str = "seq, at, actor, org_id, action, entity, entity_id, before_digest, after_digest, prev_hash, hash";

impl Store {
    /// Every entry and checkpoint, in stored order (for export and verification; no
    /// tenant filter, so only the command line and auditors' verify use it).
    pub async fn audit_chain(&self) -> Result<(Vec<AuditEntry>, Vec<Checkpoint>)> {
        // Stored order is physical order for SQLite's rowid tables keyed by seq; ask for
        // seq order so that a reordering shows up as a seq/prev_hash mismatch.
        let sql = format!("SELECT {ENTRY_COLS} FROM audit_entries ORDER BY seq");
        let entries = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        let checkpoints = sqlx::query_as(
            "SELECT seq, hash, at, public_key, signature FROM audit_checkpoints ORDER BY seq",
        )
        .fetch_all(self.pool())
        .await?;
        Ok((entries, checkpoints))
    }

    /// Verifies the live chain against its checkpoints, the configured checkpoint log and
    /// the configured key. Open to auditors and admins of a studio. The key is the server's
    /// own, so the report says it is not anchored.
    pub async fn verify_audit(&self, actor: &Principal) -> Result<VerifyReport> {
        self.audit_reader(actor)?;
        self.verify_audit_system().await
    }

    /// [`Store::verify_audit`] without an actor.
    pub async fn verify_audit_system(&self) -> Result<VerifyReport> {
        let (entries, checkpoints) = self.audit_chain().await?;
        let mut trust = audit::Trust {
            found: self
                .config()
                .signing_key
                .as_ref()
                .map(|k| (k.public_hex(), "the server's own key".to_owned())),
            ..audit::Trust::default()
        };
        if let Some(p) = &self.config().checkpoint_log {
            match read_log(p)? {
                Some(l) => trust.logs.push((p.display().to_string(), l)),
                None => trust.missing_logs.push(p.display().to_string()),
            }
        }
        Ok(audit::verify_trusting(&entries, &checkpoints, &trust))
    }

    /// Verifies the live database for the command line: the chain and its signatures as
    /// [`audit::verify_trusting`] does with `trust`, then every row of the audited tables
    /// against its last audit entry ([`audit::StateCheck`]).
    pub async fn verify_database(&self, trust: &audit::Trust) -> Result<VerifyReport> {
        let (entries, checkpoints) = self.audit_chain().await?;
        let mut report = audit::verify_trusting(&entries, &checkpoints, trust);
        self.check_current_state(&entries, &mut report).await?;
        Ok(report)
    }

    /// Compares every row of the audited tables with the audit log (see
    /// [`audit::StateCheck`]) and adds what it finds to `report`.
    pub async fn check_current_state(
        &self,
        entries: &[AuditEntry],
        report: &mut VerifyReport,
    ) -> Result<()> {
        let mut check = audit::StateCheck::new(entries);
        let mut conn = self.pool().acquire().await?;
        super::record_state::walk_current(&mut conn, &mut |r| check.check(r)).await?;
        check.finish(report);
        Ok(())
    }

    /// The export bundle an auditor or admin of a studio may take away: the whole chain and
    /// its checkpoints, with every entry their studios may not read (other tenants', and
    /// the system's) reduced to its place in the chain by [`AuditEntry::redact`], the
    /// checkpoint log and the server's public key. It still verifies: the chain links and
    /// the signed checkpoints cover the redacted hashes.
    pub async fn audit_bundle(&self, actor: &Principal) -> Result<audit::Bundle> {
        let studios = self.audit_reader(actor)?;
        let mut visible: std::collections::HashSet<String> = studios.iter().cloned().collect();
        for s in &studios {
            visible.extend(
                sqlx::query_scalar::<_, String>("SELECT id FROM orgs WHERE parent_id = $1")
                    .bind(s.clone())
                    .fetch_all(self.pool())
                    .await?,
            );
        }
        let (entries, checkpoints) = self.audit_chain().await?;
        let entries = entries
            .into_iter()
            .map(|e| match &e.org_id {
                Some(o) if visible.contains(o) => e,
                _ => e.redact(),
            })
            .collect();
        let log = match &self.config().checkpoint_log {
            Some(p) => read_log(p)?,
            None => None,
        };
        Ok(audit::Bundle::new(
            entries,
            checkpoints,
            log,
            self.config().signing_key.as_ref().map(|k| k.public_pem()),
        ))
    }

    fn audit_reader(&self, actor: &Principal) -> Result<Vec<String>> {
        actor.studio_wide("read the audit log")?;
        let studios: Vec<String> = actor
            .memberships
            .iter()
            .filter(|m| {
                m.org_kind == OrgKind::Studio && matches!(m.role, Role::Auditor | Role::Admin)
            })
            .map(|m| m.org_id.0.clone())
            .collect();
        if studios.is_empty() {
            return Err(StoreError::Forbidden(
                "only auditors and admins of a studio read the audit log".into(),
            ));
        }
        Ok(studios)
    }

    /// Audit entries of the caller's studios (and the organisations they created), oldest
    /// first, after sequence number `after`.
    pub async fn audit_entries(
        &self,
        actor: &Principal,
        after: i64,
        page: PageRequest,
    ) -> Result<Page<AuditEntry>> {
        let studios = self.audit_reader(actor)?;
        let page = page.clamped();
        let mut items = Vec::new();
        let mut total = 0;
        for s in &studios {
            let filter = "(org_id = $1 OR org_id IN (SELECT id FROM orgs WHERE parent_id = $1))";
            let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) AS n FROM audit_entries WHERE {filter} AND seq > $2"
            )))
            .bind(s.clone())
            .bind(after)
            .fetch_one(self.pool())
            .await?;
            total += count;
            let sql = format!(
                "SELECT {ENTRY_COLS} FROM audit_entries WHERE {filter} AND seq > $2 ORDER BY seq LIMIT {}",
                page.limit
            );
            items.extend(
                sqlx::query_as::<_, AuditEntry>(sqlx::AssertSqlSafe(sql))
                    .bind(s.clone())
                    .bind(after)
                    .fetch_all(self.pool())
                    .await?,
            );
        }
        items.sort_by_key(|e| e.seq);
        items.truncate(page.limit as usize);
        Ok(Page {
            items,
            total,
            offset: 0,
            limit: page.limit,
        })
    }
}

/// Reads a checkpoint log; `None` when the file does not exist.
fn read_log(path: &std::path::Path) -> Result<Option<Vec<Checkpoint>>> {
    if !path.exists() {
        return Ok(None);
    }
    match audit::read_checkpoint_log(path)? {
        Ok(l) => Ok(Some(l)),
        Err(msg) => Err(StoreError::Backend(msg)),
    }
}
