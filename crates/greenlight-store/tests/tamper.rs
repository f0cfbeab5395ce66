//! Break the real SQLite file behind the store's back and check that verification names the
//! first bad entry: edited, deleted, reordered (sequence numbers swapped), truncated (with
//! its checkpoints), and fully re-hashed entries.

use greenlight_store::audit::{self, AuditEntry, GENESIS};
use greenlight_store::{Store, StoreConfig};
use sqlx::{Connection, Executor, SqliteConnection};

mod backends;

/// seq, at, actor, org_id, action, entity, entity_id, before_digest, after_digest
type EntryRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// A store with a few dozen audit entries, closed; returns the database and its config.
async fn written() -> (backends::Db, StoreConfig) {
    let db = backends::sqlite();
    let store = db.store().await;
    for i in 0..6 {
        store
            .bootstrap_admin(
                &format!("Studio {i}"),
                &format!("admin{i}@studio.example"),
                "",
            )
            .await
            .expect("bootstrap");
    }
    store.close().await;
    let config = db.config();
    (db, config)
}

async fn raw(db: &backends::Db) -> SqliteConnection {
    SqliteConnection::connect(&db.url)
        .await
        .expect("the SQLite file opens")
}

async fn verify(config: &StoreConfig) -> greenlight_store::VerifyReport {
    let store = Store::open(config.clone()).await.expect("opens");
    let r = store.verify_audit_system().await.expect("verifies");
    store.close().await;
    r
}

#[tokio::test]
async fn an_untouched_database_verifies() {
    let (_db, config) = written().await;
    let r = verify(&config).await;
    assert!(r.valid, "{r:?}");
    assert_eq!(r.entries, 18);
}

#[tokio::test]
async fn an_edited_entry_is_named() {
    let (db, config) = written().await;
    raw(&db)
        .await
        .execute("UPDATE audit_entries SET action = 'org.delete' WHERE seq = 4")
        .await
        .expect("edit");
    assert_eq!(verify(&config).await.first_bad_seq, Some(4));
}

#[tokio::test]
async fn a_deleted_entry_is_named() {
    let (db, config) = written().await;
    raw(&db)
        .await
        .execute("DELETE FROM audit_entries WHERE seq = 9")
        .await
        .expect("delete");
    assert_eq!(verify(&config).await.first_bad_seq, Some(9));
}

#[tokio::test]
async fn reordered_entries_are_named() {
    let (db, config) = written().await;
    let mut c = raw(&db).await;
    c.execute("UPDATE audit_entries SET seq = -5 WHERE seq = 5")
        .await
        .expect("swap");
    c.execute("UPDATE audit_entries SET seq = 5 WHERE seq = 6")
        .await
        .expect("swap");
    c.execute("UPDATE audit_entries SET seq = 6 WHERE seq = -5")
        .await
        .expect("swap");
    assert_eq!(verify(&config).await.first_bad_seq, Some(5));
}

#[tokio::test]
async fn truncation_with_its_checkpoints_is_caught_by_the_checkpoint_log() {
    let (db, config) = written().await;
    let mut c = raw(&db).await;
    c.execute("DELETE FROM audit_entries WHERE seq > 12")
        .await
        .expect("truncate");
    c.execute("DELETE FROM audit_checkpoints WHERE seq > 12")
        .await
        .expect("truncate");
    let r = verify(&config).await;
    assert_eq!(r.first_bad_seq, Some(13), "{r:?}");
}

#[tokio::test]
async fn a_fully_rehashed_chain_fails_the_signed_checkpoints() {
    let (db, config) = written().await;
    let mut c = raw(&db).await;
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT seq, at, actor, org_id, action, entity, entity_id, before_digest, after_digest FROM audit_entries ORDER BY seq",
    )
    .fetch_all(&mut c)
    .await
    .expect("read");
    let mut prev = GENESIS.to_owned();
    for (seq, at, actor, org_id, action, entity, entity_id, before_digest, after_digest) in rows {
        let action = if seq == 3 {
            "user.remove".to_owned()
        } else {
            action
        };
        let mut e = AuditEntry {
            seq,
            at,
            actor,
            org_id,
            action,
            entity,
            entity_id,
            before_digest,
            after_digest,
            prev_hash: prev.clone(),
            hash: String::new(),
            redacted: false,
        };
        e.hash = e.compute_hash();
        prev = e.hash.clone();
        sqlx::query("UPDATE audit_entries SET action = ?, prev_hash = ?, hash = ? WHERE seq = ?")
            .bind(&e.action)
            .bind(&e.prev_hash)
            .bind(&e.hash)
            .bind(seq)
            .execute(&mut c)
            .await
            .expect("rehash");
    }
    let r = verify(&config).await;
    assert!(!r.valid);
    assert!(r.problems.iter().any(|p| p.contains("re-hashed")), "{r:?}");
}

async fn raw_any(db: &backends::Db) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("the database opens")
}

/// Verifies the live database as `audit verify --database-url` does, anchored to the key
/// that signed.
async fn verify_rows(db: &backends::Db) -> greenlight_store::VerifyReport {
    let store = db.store().await;
    let trust = audit::Trust::anchored(&db.key.public_hex(), "the test's key");
    let r = store.verify_database(&trust).await.expect("verifies");
    store.close().await;
    r
}

/// Rows written into the tables behind the application's back: an admin of one studio
/// made admin of another by a membership row, a token row, a password hash. Each used to
/// leave verification valid; each is named now, and removing it makes the check pass again.
async fn rows_story(db: backends::Db) {
    let store = db.store().await;
    let victim = store
        .bootstrap_admin("Victim Studio", "admin@victim.example", "")
        .await
        .expect("bootstrap");
    let attacker = store
        .bootstrap_admin("Attacker Studio", "admin@attacker.example", "")
        .await
        .expect("bootstrap");
    store.close().await;
    let r = verify_rows(&db).await;
    assert!(r.valid, "{r:?}");
    assert_eq!(
        r.records_checked,
        Some(6),
        "two orgs, two people, two tokens"
    );

    let mut c = raw_any(&db).await;
    let grant = format!(
        "INSERT INTO memberships (user_id, org_id, role) VALUES ('{}', '{}', 'admin')",
        attacker.user.id, victim.org.id
    );
    c.execute(sqlx::AssertSqlSafe(grant)).await.expect("grant");
    let r = verify_rows(&db).await;
    assert!(!r.valid);
    assert!(
        r.problems.iter().any(|p| p.starts_with(&format!(
            "user {}: the row does not match the state entry",
            attacker.user.id
        ))),
        "{r:?}"
    );
    let revoke = format!(
        "DELETE FROM memberships WHERE user_id = '{}' AND org_id = '{}'",
        attacker.user.id, victim.org.id
    );
    c.execute(sqlx::AssertSqlSafe(revoke)).await.expect("undo");
    assert!(verify_rows(&db).await.valid);

    let token = format!(
        "INSERT INTO tokens (id, user_id, sha256, label, kind, created_at) VALUES ('forged-token', '{}', 'f00d', 'x', 'api', '2026-01-01T00:00:00.000000Z')",
        victim.user.id
    );
    c.execute(sqlx::AssertSqlSafe(token)).await.expect("token");
    let r = verify_rows(&db).await;
    assert!(
        r.problems
            .iter()
            .any(|p| p.starts_with("token forged-token: no audit entry records it")),
        "{r:?}"
    );
    c.execute("DELETE FROM tokens WHERE id = 'forged-token'")
        .await
        .expect("undo");

    let password = format!(
        "UPDATE users SET password_hash = 'chosen-by-the-attacker' WHERE id = '{}'",
        victim.user.id
    );
    c.execute(sqlx::AssertSqlSafe(password))
        .await
        .expect("password");
    let r = verify_rows(&db).await;
    assert!(
        r.problems
            .iter()
            .any(|p| p.starts_with(&format!("user {}: the row does not match", victim.user.id))),
        "{r:?}"
    );
    // Erasing the person (salt with the personal data) is reported as erased, not tampering.
    let erase = format!(
        "UPDATE users SET email = 'erased', name = '', password_hash = NULL, salt = '' WHERE id = '{}'",
        victim.user.id
    );
    c.execute(sqlx::AssertSqlSafe(erase)).await.expect("erase");
    let r = verify_rows(&db).await;
    assert!(r.valid, "{r:?}");
    assert_eq!(r.erased, vec![format!("user {}", victim.user.id)]);
    drop(c);
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_written_behind_the_application_are_named_on_every_backend() {
    backends::with_each_backend("rows", |db| Box::pin(rows_story(db))).await;
}
