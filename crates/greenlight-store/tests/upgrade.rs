//! Databases written before the store's restructuring keep working: a SQLite file and a
//! PostgreSQL dump made by `scripts/make-store-fixtures.sh` with an earlier binary (demo
//! data, a ledger and a reference bank; see `fixtures/upgrade/MADE-BY`) are opened with
//! today's store, migrated, and every row of every table is read back: the counts match what
//! the script recorded, every declaration, production, tool and consent maps to its type,
//! the bank and ledger rows read back column by column and through the banks API, and a new
//! asset can be registered beside them. Migrations numbered below ones already recorded still
//! apply (the fixtures lack 0130, below the bank tables' 5000..).

use std::path::{Path, PathBuf};

use greenlight_store::banks::{BankError, Banks, Creation, HashType, NewAsset, Registered};
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
    reads_the_banks(&store, &db.url, &productions[0].id.0, &expected).await;
    tokens_gained_an_expiry(&store, &mut conn, &admin).await;
    store.close().await;
}

/// The fixture's API tokens had no expiry: the upgrade gave each one 90 days from the
/// upgrade, the first admin's and the demo's alike, and seeding the demo again takes it off
/// the demo's fixed tokens (only those never expire).
async fn tokens_gained_an_expiry(store: &Store, conn: &mut sqlx::AnyConnection, admin: &Principal) {
    let rows = sqlx::query("SELECT label, expires_at FROM tokens WHERE kind = 'api'")
        .fetch_all(&mut *conn)
        .await
        .expect("token rows");
    assert!(
        rows.iter()
            .any(|r| r.get::<String, _>("label") == "first admin")
    );
    let in_90_days = chrono::Utc::now() + chrono::Duration::days(90);
    for r in &rows {
        let expires: Option<String> = r.get("expires_at");
        let expires: chrono::DateTime<chrono::Utc> = expires
            .expect("every API token from before now expires")
            .parse()
            .expect("a timestamp");
        assert!(
            (in_90_days - expires).num_minutes().abs() < 60,
            "90 days after the upgrade: {expires}"
        );
    }
    let demo = "glt_demo_admin_0000000000000000000000000000000";
    let created = store
        .system_ensure_token(&admin.user.id, "demo", demo)
        .await
        .expect("the demo seeding's call");
    assert!(!created, "the demo token is there already");
    let demo_token = store
        .tokens(admin, &admin.user.id)
        .await
        .expect("tokens")
        .into_iter()
        .find(|t| t.label == "demo")
        .expect("the demo admin's token");
    assert_eq!(
        demo_token.expires_at, None,
        "the demo's fixed token never expires"
    );
    assert!(
        store
            .principal_by_secret(demo)
            .await
            .expect("lookup")
            .is_some()
    );
}

/// The ledger and the reference bank through the banks API, as the server (on the store's
/// pool) and the command line (opening the database itself) read them; then a new asset is
/// registered and read back beside the old ones.
async fn reads_the_banks(store: &Store, url: &str, production: &str, counts: &[(String, i64)]) {
    let count = |t: &str| {
        counts
            .iter()
            .find(|(x, _)| x == t)
            .map(|x| x.1 as usize)
            .expect("counted")
    };
    let banks = store.banks();
    let assets = banks.assets(Some(production)).await.expect("the ledger");
    assert_eq!(assets.len(), count("bank_assets"));
    assert_eq!(
        banks.productions().await.expect("productions"),
        [production]
    );
    let frames: usize = assets.iter().map(|a| a.frames.len()).sum();
    assert_eq!(frames, count("bank_asset_frames"));
    // `scripts/make-store-fixtures.sh` registered a still, a two-second video and a note.
    let by_name = |n: &str| {
        assets
            .iter()
            .find(|a| a.file_name == n)
            .unwrap_or_else(|| panic!("{n} in {assets:?}"))
    };
    let still = by_name("keyart.png");
    assert_eq!(
        (still.use_ref.as_str(), still.tool.as_deref()),
        ("VFX-SKY-01", Some("Imagen Studio"))
    );
    assert!(still.pdq.is_some() && still.pdq_quality.is_some() && still.frames.is_empty());
    assert!(still.thumbnail.is_some(), "the still's thumbnail");
    let video = by_name("previs.mp4");
    assert_eq!(video.frames.len(), count("bank_asset_frames"));
    assert!(
        video.frames.windows(2).all(|w| w[0].millis < w[1].millis),
        "frames in time order"
    );
    assert!(video.frames.iter().all(|f| f.pdq.len() == 64));
    let note = by_name("notes.txt");
    assert_eq!(note.use_ref, "NOTES-1");
    assert!(note.pdq.is_none() && note.frames.is_empty() && note.audio.is_none());
    let lean = banks
        .assets_without_thumbnails(Some(production))
        .await
        .expect("the ledger without thumbnails");
    assert!(lean.iter().all(|a| a.thumbnail.is_none()));
    let refs = banks.references(None).await.expect("the reference bank");
    assert_eq!(refs.len(), count("bank_references"));
    assert!(refs.iter().all(|r| r.bank == "protected"
        && r.work_id == "W-1"
        && r.title == "A Protected Work"
        && r.studio.is_none()));
    let mut kinds: Vec<HashType> = refs.iter().map(|r| r.hash_type).collect();
    kinds.sort_by_key(|k| k.as_str());
    assert_eq!(kinds, [HashType::Blake3, HashType::Pdq]);
    assert!(
        banks
            .audio_references(None)
            .await
            .expect("no sound recorded before")
            .is_empty()
    );

    // The command line registers a new asset; the server's handle reads it beside the others.
    let cli = Banks::open(url, Creation::Existing)
        .await
        .expect("the command line opens the database");
    let new = NewAsset {
        production: production.to_owned(),
        use_ref: "VFX-SKY-02".into(),
        file_name: "sky.png".into(),
        blake3: "5a".repeat(32),
        media_type: "image/png".into(),
        pdq: Some(("c3".repeat(32), 88)),
        ..Default::default()
    };
    let Registered::New(id) = cli.register_asset(&new).await.expect("registered") else {
        panic!("a new entry");
    };
    // The same file under the video's use is refused.
    let err = cli
        .register_asset(&NewAsset {
            use_ref: "VFX-SKY-01".into(),
            ..new.clone()
        })
        .await
        .expect_err("one file, one use");
    assert!(matches!(err, BankError::OtherUse { .. }), "{err}");
    cli.close().await;
    let assets = banks.assets(Some(production)).await.expect("the ledger");
    assert_eq!(assets.len(), count("bank_assets") + 1);
    let added = assets.last().expect("the new entry");
    assert!(assets.iter().all(|a| a.id <= id) && added.id == id);
    assert_eq!(added.pdq_quality, Some(88));
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

/// A database on which every migration but 0130 was applied (as when a store migration
/// numbered below the bank tables' 5000.. lands after them): opening the store applies the
/// missing lower version. sqlx applies each version it has not recorded, in its order, and
/// checks no order against the recorded ones; this test fails if that ever changes.
async fn lower_version_story(db: backends::Db) {
    let mut conn = backends::migrated_with(&db.url, |v| v != 130).await;
    let before = backends::versions(&mut conn).await;
    assert!(
        !before.contains(&130) && before.contains(&5003),
        "{before:?}"
    );
    let store = db.store().await;
    store.close().await;
    let after = backends::versions(&mut conn).await;
    assert!(after.contains(&130), "0130 applied after 5003: {after:?}");
    // 0130's column is there.
    sqlx::query("SELECT traces FROM tools")
        .fetch_all(&mut conn)
        .await
        .expect("tools.traces exists");
    conn.close().await.expect("close");
    db.drop().await;
}

#[tokio::test]
async fn migrations_below_recorded_ones_still_apply() {
    backends::with_each_backend("lower_version", |db| Box::pin(lower_version_story(db))).await;
}
