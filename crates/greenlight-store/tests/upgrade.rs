//! Databases written before the store's restructuring keep working: a SQLite file and a
//! PostgreSQL dump made by `scripts/make-store-fixtures.sh` with an earlier binary (demo
//! data, a ledger and a reference bank; see `fixtures/upgrade/MADE-BY`) are opened with
//! today's store, migrated, and every row of every table is read back: the counts match what
//! the script recorded, every declaration, production, tool and consent maps to its type,
//! and the bank and ledger rows read back column by column.

use std::path::{Path, PathBuf};

use greenlight_store::*;
use sqlx::{Connection, Row};

mod backends;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upgrade")
}

/// `table count` lines, as the script wrote them.
fn expected_counts(file: &str) -> Vec<(String, i64)> {
    std::fs::read_to_string(fixtures().join(file))
        .expect("the counts are checked in")
        .lines()
        .filter_map(|l| {
            let (t, n) = l.split_once(' ')?;
            Some((t.to_owned(), n.parse().ok()?))
        })
        .collect()
}

async fn reads_every_row(db: &mut backends::Db, counts: &str) {
    // The key that signed the fixture's checkpoints.
    db.key = SigningKey::from_file(&fixtures().join("audit.key")).expect("the fixture's key");
    let store = db.store().await;
    let mut conn = sqlx::AnyConnection::connect(&db.url)
        .await
        .expect("connect");
    let expected = expected_counts(counts);
    assert!(expected.len() >= 20, "{expected:?}");
    for (table, n) in &expected {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        assert_eq!(row.get::<i64, _>("n"), *n, "rows of {table}");
    }
    // Through the store, as the demo admin (whose token the demo data fixes).
    let admin = store
        .principal_by_secret("glt_demo_admin_0000000000000000000000000000000")
        .await
        .expect("lookup")
        .expect("the demo admin's token still signs in");
    let productions = store.productions(&admin).await.expect("productions");
    assert_eq!(productions.len(), 1);
    let all = store
        .declarations(
            &admin,
            &DeclarationFilter::default(),
            PageRequest {
                offset: 0,
                limit: 500,
            },
        )
        .await
        .expect("declarations");
    let count = |t: &str| expected.iter().find(|(x, _)| x == t).map(|x| x.1);
    assert_eq!(Some(all.total), count("declarations"));
    for d in &all.items {
        let detail = store
            .declaration(&admin, &d.id)
            .await
            .expect("every declaration reads");
        assert!(!detail.current.triages.is_empty(), "{}", d.reference);
    }
    let report = store
        .disclosure(&admin, &productions[0].id)
        .await
        .expect("the disclosure report reads");
    assert_eq!(Some(report.uses.len() as i64), count("declarations"));
    let tools = store.tools(&admin).await.expect("tools");
    assert_eq!(Some(tools.len() as i64), count("tools"));
    assert!(
        tools.iter().all(|t| t.traces.is_empty()),
        "not recorded before"
    );
    // The ledger and the bank, column by column.
    let assets = sqlx::query(
        "SELECT id, production, use_ref, tool, file_name, blake3, media_type, pdq FROM bank_assets ORDER BY id",
    )
    .fetch_all(&mut conn)
    .await
    .expect("ledger rows");
    assert_eq!(Some(assets.len() as i64), count("bank_assets"));
    for a in &assets {
        assert_eq!(a.get::<String, _>("production"), productions[0].id.0);
        assert_eq!(a.get::<String, _>("blake3").len(), 64);
        let _: Option<String> = a.get("tool");
        let _: Option<String> = a.get("pdq");
    }
    let frames = sqlx::query("SELECT asset_id, pdq FROM bank_asset_frames")
        .fetch_all(&mut conn)
        .await
        .expect("frame rows");
    assert_eq!(Some(frames.len() as i64), count("bank_asset_frames"));
    let refs = sqlx::query("SELECT bank, work_id, title, hash_type, hash FROM bank_references")
        .fetch_all(&mut conn)
        .await
        .expect("reference rows");
    assert_eq!(Some(refs.len() as i64), count("bank_references"));
    assert!(
        refs.iter()
            .all(|r| r.get::<String, _>("title") == "A Protected Work")
    );
    let verified = store.verify_audit(&admin).await.expect("verify");
    assert!(verified.valid, "{verified:?}");
}

#[tokio::test]
async fn a_sqlite_file_from_before_the_restructuring_reads_back_every_row() {
    let mut db = backends::sqlite();
    let file = db.dir.path().join("test.db");
    std::fs::copy(fixtures().join("before.db"), &file).expect("copy the fixture");
    reads_every_row(&mut db, "sqlite-counts.txt").await;
}

#[tokio::test]
async fn a_postgres_dump_from_before_the_restructuring_reads_back_every_row() {
    sqlx::any::install_default_drivers();
    let Some(mut db) = backends::postgres("upgrade").await else {
        eprintln!(
            "skipped: GREENLIGHT_TEST_POSTGRES_URL is not set, so the PostgreSQL dump is not replayed"
        );
        return;
    };
    let dump = std::fs::read_to_string(fixtures().join("before-postgres.sql")).expect("dump");
    // psql meta-commands (`\restrict`) are not SQL.
    let sql: String = dump
        .lines()
        .filter(|l| !l.starts_with('\\'))
        .collect::<Vec<_>>()
        .join("\n");
    {
        let mut c = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut c)
            .await
            .expect("the dump replays");
        c.close().await.expect("close");
    }
    reads_every_row(&mut db, "postgres-counts.txt").await;
    db.drop().await;
}
