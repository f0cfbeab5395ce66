//! The ledger and the reference banks (`greenlight_store::banks`), run against SQLite always
//! and against a fresh PostgreSQL database when `GREENLIGHT_TEST_POSTGRES_URL` is set: the
//! bank store story, the handle a store shares, and bank tables written by earlier versions.

use greenlight_store::banks::{
    AudioPrint, AudioReference, BankError, Banks, Creation, Frame, HashType, NewAsset,
    NewAudioReference, NewReference, Reference, Registered,
};
use sqlx::{Connection, Row};

mod backends;
use backends::{Db, migrated_with, versions, with_each_backend};

async fn story(db: Db) {
    let url = db.url.as_str();
    let store = Banks::open(url, Creation::AsUrlSays)
        .await
        .expect("store opens and migrates");
    // Opening again (migrations already applied) is fine.
    let store2 = Banks::open(url, Creation::AsUrlSays)
        .await
        .expect("store reopens");
    store2.close().await;

    let h = |c: &str| c.repeat(64);
    let id = store
        .add_asset(&NewAsset {
            production: "ep101".into(),
            use_ref: "BB-001".into(),
            tool: Some("ImageGen".into()),
            file_name: "moodboard.png".into(),
            blake3: h("a"),
            media_type: "image/png".into(),
            pdq: Some((h("b"), 87)),
            frames: vec![],
            thumbnail: Some(vec![0xff, 0xd8, 0xff]),
            audio: None,
        })
        .await
        .expect("asset added");
    let vid = store
        .add_asset(&NewAsset {
            production: "ep102".into(),
            use_ref: "BB-002".into(),
            file_name: "previs.mp4".into(),
            blake3: h("c"),
            media_type: "video/mp4".into(),
            frames: vec![
                Frame {
                    millis: 0,
                    pdq: h("d"),
                    quality: 90,
                },
                Frame {
                    millis: 250,
                    pdq: h("e"),
                    quality: 12,
                },
            ],
            ..Default::default()
        })
        .await
        .expect("video asset added");
    assert!(vid > id);
    assert_eq!(
        store.productions().await.expect("productions"),
        ["ep101", "ep102"]
    );
    let ep101 = store.assets(Some("ep101")).await.expect("ledger");
    assert_eq!(ep101.len(), 1);
    assert_eq!(ep101[0].pdq_quality, Some(87));
    assert_eq!(ep101[0].thumbnail.as_deref(), Some(&[0xff, 0xd8, 0xff][..]));
    let all = store.assets(None).await.expect("ledger");
    assert_eq!(all[1].frames.len(), 2);
    assert_eq!(all[1].frames[1].quality, 12);

    let refs = vec![
        NewReference {
            bank: "library".into(),
            work_id: "W-1".into(),
            title: "Dawn".into(),
            hash_type: HashType::Pdq,
            hash: h("1"),
            quality: Some(100),
            studio: None,
        },
        NewReference {
            bank: "library".into(),
            work_id: "W-2".into(),
            title: "Dusk".into(),
            hash_type: HashType::Blake3,
            hash: h("2"),
            quality: None,
            studio: None,
        },
        NewReference {
            bank: "northlight-catalogue".into(),
            work_id: "N-7".into(),
            title: "Harbour Lights".into(),
            hash_type: HashType::Pdq,
            hash: h("3"),
            quality: Some(90),
            studio: Some("org-northlight".into()),
        },
    ];
    assert_eq!(store.add_references(&refs).await.expect("added"), 3);
    assert_eq!(
        store
            .add_references(&refs)
            .await
            .expect("duplicates skipped"),
        0
    );
    let got = store.references(Some("library")).await.expect("references");
    assert_eq!(got.len(), 2);
    // A studio's scans see its own banks and those of no studio; another studio's, never.
    let works = |refs: Vec<Reference>| refs.into_iter().map(|r| r.work_id).collect::<Vec<_>>();
    assert_eq!(
        works(
            store
                .references_for_studio("org-northlight")
                .await
                .expect("references")
        ),
        ["W-1", "W-2", "N-7"]
    );
    assert_eq!(
        works(
            store
                .references_for_studio("org-elsewhere")
                .await
                .expect("references")
        ),
        ["W-1", "W-2"]
    );
    assert_eq!(
        (got[0].title.as_str(), got[0].hash_type),
        ("Dawn", HashType::Pdq)
    );
    assert!(
        store
            .references(Some("other"))
            .await
            .expect("references")
            .is_empty()
    );
    // Sound: a ledger entry's fingerprint round-trips, and registering the file again with a
    // fingerprint it lacked brings the entry up to date.
    let print = AudioPrint {
        millis: 20_000,
        chromaprint: vec![0, 1, 0xdead_beef, u32::MAX],
    };
    let voice = NewAsset {
        production: "ep101".into(),
        use_ref: "VO-1".into(),
        file_name: "voice.wav".into(),
        blake3: h("f"),
        media_type: "audio/x-wav".into(),
        ..Default::default()
    };
    let Registered::New(vo) = store.register_asset(&voice).await.expect("added") else {
        panic!("a new entry");
    };
    let with_sound = NewAsset {
        audio: Some(print.clone()),
        ..voice.clone()
    };
    assert_eq!(
        store.register_asset(&with_sound).await.expect("refreshed"),
        Registered::Refreshed(vo)
    );
    assert_eq!(
        store.register_asset(&with_sound).await.expect("unchanged"),
        Registered::Unchanged(vo)
    );
    let ep101 = store.assets(Some("ep101")).await.expect("ledger");
    let got = ep101.iter().find(|a| a.id == vo).expect("the voice");
    assert_eq!(got.audio.as_ref(), Some(&print));
    assert!(
        ep101
            .iter()
            .filter(|a| a.id != vo)
            .all(|a| a.audio.is_none())
    );
    let sound = |bank: &str, work: &str, studio: Option<&str>| NewAudioReference {
        bank: bank.into(),
        work_id: work.into(),
        title: "Theme".into(),
        blake3: h("9"),
        audio: print.clone(),
        studio: studio.map(str::to_string),
    };
    let sounds = [
        sound("library", "W-1", None),
        sound("northlight-catalogue", "N-8", Some("org-northlight")),
    ];
    assert_eq!(store.add_audio_references(&sounds).await.expect("added"), 2);
    assert_eq!(
        store.add_audio_references(&sounds).await.expect("skipped"),
        0
    );
    let works = |refs: Vec<AudioReference>| refs.into_iter().map(|r| r.work_id).collect::<Vec<_>>();
    assert_eq!(
        works(
            store
                .audio_references_for_studio("org-elsewhere")
                .await
                .expect("references")
        ),
        ["W-1"]
    );
    let all = store.audio_references(None).await.expect("references");
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].audio, print);

    assert!(
        store
            .add_asset(&NewAsset {
                production: "p".into(),
                use_ref: "r".into(),
                blake3: "short".into(),
                ..Default::default()
            })
            .await
            .is_err()
    );
    store.close().await;

    if url.starts_with("sqlite:") {
        // WAL (and synchronous=FULL) are what the store asked for; the mode stays in the file.
        let mut conn = sqlx::SqliteConnection::connect(url).await.expect("connect");
        let mode: (String,) = sqlx::query_as("PRAGMA journal_mode")
            .fetch_one(&mut conn)
            .await
            .expect("pragma");
        assert_eq!(mode.0, "wal");
        conn.close().await.expect("close");
    }
    db.drop().await;
}

#[tokio::test]
async fn bank_store_story() {
    with_each_backend("bank", |db| Box::pin(story(db))).await;
}

/// The server reads the banks through its store's pool: what the command line registered is
/// there, and closing that handle leaves the store open.
async fn shared_pool_story(db: Db) {
    let store = db.store().await;
    let cli = Banks::open(&db.url, Creation::AsUrlSays)
        .await
        .expect("the command line opens the same database");
    let reference = NewReference {
        bank: "library".into(),
        work_id: "W-1".into(),
        title: "Dawn".into(),
        hash_type: HashType::Blake3,
        hash: "ab".repeat(32),
        quality: None,
        studio: None,
    };
    assert_eq!(cli.add_references(&[reference]).await.expect("added"), 1);
    cli.close().await;
    let banks = store.banks();
    let refs = banks.references(None).await.expect("references");
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].title, "Dawn");
    banks.close().await;
    assert!(
        store.ready().await,
        "the store's pool is the store's to close"
    );
    assert!(
        store
            .banks()
            .productions()
            .await
            .expect("ledger")
            .is_empty(),
        "a second handle reads on"
    );
    store.close().await;
    db.drop().await;
}

#[tokio::test]
async fn a_store_shares_its_pool_with_its_banks() {
    with_each_backend("bank_shared", |db| Box::pin(shared_pool_story(db))).await;
}

#[tokio::test]
async fn a_command_that_only_reads_never_creates_a_bank_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("sub/banks.db");
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let err = Banks::open(&url, Creation::Existing)
        .await
        .expect_err("no such file");
    assert!(matches!(&err, BankError::Missing(f) if *f == file), "{err}");
    assert!(
        err.to_string().starts_with(&format!(
            "the bank store {} does not exist (commands that only read never create one",
            file.display()
        )),
        "{err}"
    );
    assert!(!file.exists() && !file.parent().expect("folder").exists());
    // A command that writes creates the file and its folder, whatever the URL's mode says.
    let read_only = format!("sqlite://{}?mode=ro", file.display());
    let banks = Banks::open(&read_only, Creation::Create)
        .await
        .expect("created");
    banks.close().await;
    assert!(file.is_file());
    let banks = Banks::open(&url, Creation::Existing)
        .await
        .expect("it exists now");
    assert!(banks.references(None).await.expect("read").is_empty());
    banks.close().await;
}

#[tokio::test]
async fn a_url_of_another_kind_is_refused_without_its_password() {
    let err = Banks::open("mysql://u:secret@h/db", Creation::AsUrlSays)
        .await
        .expect_err("unsupported");
    assert_eq!(
        err.to_string(),
        "unsupported database URL \"mysql://u:***@h/db\": use sqlite://FILE or postgres://..."
    );
}

/// The bank tables as the first version created them, and a video frame stored in whole
/// seconds; then the store opens (migrating) and reads it in milliseconds.
async fn old_frames_story(db: Db) {
    let url = db.url.as_str();
    // Only the first bank migration, byte for byte, so the store's migrator accepts it as
    // applied.
    let h = "ab".repeat(32);
    {
        let mut conn = migrated_with(url, |v| v == 5000).await;
        let row = sqlx::query(
            "INSERT INTO bank_assets (production, use_ref, added_at, file_name, blake3, media_type) \
             VALUES ('ep1', 'R-1', '2026-01-01T00:00:00Z', 'old.mp4', $1, 'video/mp4') RETURNING id",
        )
        .bind(h.clone())
        .fetch_one(&mut conn)
        .await
        .expect("asset");
        let id: i64 = row.get("id");
        // Seconds 1 and 1000: converted one row at a time in place, 1 s would become 1000 and
        // collide with the row not yet converted.
        for (second, c) in [(1i64, "cd"), (1000, "ef")] {
            sqlx::query("INSERT INTO bank_asset_frames (asset_id, second, pdq, quality) VALUES ($1, $2, $3, 90)")
                .bind(id)
                .bind(second)
                .bind(c.repeat(32))
                .execute(&mut conn)
                .await
                .expect("frame");
        }
        conn.close().await.expect("close");
    }
    let store = Banks::open(url, Creation::AsUrlSays)
        .await
        .expect("store migrates");
    let ledger = store.assets(None).await.expect("ledger");
    let old = &ledger[0];
    assert_eq!(
        old.frames
            .iter()
            .map(|f| (f.millis, f.pdq.as_str()))
            .collect::<Vec<_>>(),
        [
            (1000, "cd".repeat(32).as_str()),
            (1_000_000, "ef".repeat(32).as_str())
        ]
    );
    // New frames at a quarter second go beside them.
    store
        .add_asset(&NewAsset {
            production: "ep1".into(),
            use_ref: "R-2".into(),
            file_name: "new.mp4".into(),
            blake3: h.clone(),
            media_type: "video/mp4".into(),
            frames: vec![Frame {
                millis: 250,
                pdq: h.clone(),
                quality: 90,
            }],
            ..Default::default()
        })
        .await
        .expect("new asset");
    let ledger = store.assets(None).await.expect("ledger");
    assert_eq!(ledger[1].frames[0].millis, 250);
    store.close().await;
    db.drop().await;
}

#[tokio::test]
async fn frames_stored_in_whole_seconds_read_back_in_milliseconds() {
    with_each_backend("frames", |db| Box::pin(old_frames_story(db))).await;
}

/// A bank store of its own (`greenlight-banks.db`), as the command line made one before the
/// bank tables moved into the store: only the bank migrations are recorded. Opened now, it
/// gains the store's tables and keeps every row.
async fn bank_file_story(db: Db) {
    let url = db.url.as_str();
    {
        let mut conn = migrated_with(url, |v| v >= 5000).await;
        sqlx::query(
            "INSERT INTO bank_references (bank, work_id, title, hash_type, hash, quality, added_at, studio) \
             VALUES ('library', 'W-1', 'Dawn', 'pdq', $1, 95, '2026-01-01T00:00:00Z', NULL)",
        )
        .bind("cd".repeat(32))
        .execute(&mut conn)
        .await
        .expect("reference");
        conn.close().await.expect("close");
    }
    let banks = Banks::open(url, Creation::Existing)
        .await
        .expect("the bank file opens");
    let refs = banks.references(None).await.expect("references");
    assert_eq!(refs.len(), 1);
    assert_eq!(
        (refs[0].work_id.as_str(), refs[0].hash_type, refs[0].quality),
        ("W-1", HashType::Pdq, Some(95))
    );
    banks.close().await;
    // The store opens it too: every migration is recorded once.
    let store = db.store().await;
    assert!(store.ready().await);
    store.close().await;
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    let versions = versions(&mut conn).await;
    conn.close().await.expect("close");
    assert!(versions.starts_with(&[100]), "{versions:?}");
    assert!(
        versions.ends_with(&[5000, 5001, 5002, 5003]),
        "{versions:?}"
    );
    db.drop().await;
}

#[tokio::test]
async fn a_bank_file_of_its_own_from_before_gains_the_store_tables_and_keeps_its_rows() {
    with_each_backend("bank_file", |db| Box::pin(bank_file_story(db))).await;
}
