//! The bank store story, run against SQLite always and against a fresh PostgreSQL database
//! when `GREENLIGHT_TEST_POSTGRES_URL` is set.

mod postgres;

use greenlight_scan::bank::{
    AudioPrint, BankStore, Frame, HashType, NewAsset, NewAudioReference, NewReference, Registered,
};

async fn story(url: &str) {
    let store = BankStore::connect(url)
        .await
        .expect("store opens and migrates");
    // Opening again (migrations already applied) is fine.
    let store2 = BankStore::connect(url).await.expect("store reopens");
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
    let works = |refs: Vec<greenlight_scan::bank::Reference>| {
        refs.into_iter().map(|r| r.work_id).collect::<Vec<_>>()
    };
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
    let works = |refs: Vec<greenlight_scan::bank::AudioReference>| {
        refs.into_iter().map(|r| r.work_id).collect::<Vec<_>>()
    };
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
}

#[tokio::test]
async fn sqlite_bank_store_story() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("banks.db").display()
    );
    story(&url).await;
    // WAL and synchronous=FULL are what the store asked for.
    let wal = dir.path().join("banks.db-wal");
    let _ = wal; // the WAL file exists only while connections are open; the mode is checked below.
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("connect");
    let mode: (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .expect("pragma");
    assert_eq!(mode.0, "wal");
}

#[tokio::test]
async fn postgres_bank_store_story() {
    let Some(db) = postgres::FreshDb::create("bank_test", "the PostgreSQL bank store").await else {
        return;
    };
    let url = db.url.clone();
    // The server's migrator shares _sqlx_migrations: simulate one of its rows being there.
    {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&url).await.expect("connect");
        sqlx::query("CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on TIMESTAMPTZ NOT NULL DEFAULT now(), success BOOLEAN NOT NULL, checksum BYTEA NOT NULL, execution_time BIGINT NOT NULL)")
            .execute(&mut c).await.expect("table");
        sqlx::query("INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (1, 'server', true, '\\x00', 0)")
            .execute(&mut c).await.expect("row");
        c.close().await.ok();
    }
    story(&url).await;
    db.drop_database().await;
}
