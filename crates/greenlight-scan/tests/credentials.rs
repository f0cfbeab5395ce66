//! C2PA credentials of files signed in the test: AI source type, ingredients, trust anchors,
//! sidecars, tampering.

mod media;

use greenlight_scan::credentials::{CredentialReader, CredentialSource, CredentialState};

#[test]
fn a_signed_ai_image_is_valid_and_declares_ai_through_its_ingredient() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ingredient, _) = media::sign(&media::png(64, 64, 1), "image/png", media::AI, None);
    let (signed, _) = media::sign(
        &media::png(96, 64, 2),
        "image/png",
        media::CAPTURE,
        Some((&ingredient, "image/png")),
    );
    let path = dir.path().join("a.png");
    std::fs::write(&path, &signed).expect("write");
    let c = CredentialReader::new(None)
        .expect("reader")
        .read(&path, "image/png")
        .expect("readable")
        .expect("a credential");
    assert_eq!(c.source, CredentialSource::Embedded);
    assert_eq!(
        c.state,
        CredentialState::Valid,
        "failures: {:?}",
        c.failures
    );
    assert_eq!(c.claim_generator.as_deref(), Some("greenlight-test 1"));
    assert_eq!(
        c.actions[0].digital_source_type.as_deref(),
        Some(media::CAPTURE)
    );
    assert_eq!(c.ingredients.len(), 1);
    assert_eq!(
        c.ingredients[0].actions[0].digital_source_type.as_deref(),
        Some(media::AI),
        "{c:#?}"
    );
    assert!(c.declares_ai(), "the AI ingredient counts");
}

#[test]
fn a_capture_without_ai_does_not_declare_ai() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (signed, _) = media::sign(&media::png(64, 64, 3), "image/png", media::CAPTURE, None);
    let path = dir.path().join("a.png");
    std::fs::write(&path, &signed).expect("write");
    let c = CredentialReader::new(None)
        .expect("reader")
        .read(&path, "image/png")
        .expect("readable")
        .expect("a credential");
    assert!(!c.declares_ai());
}

#[test]
fn the_signers_root_as_trust_anchor_makes_it_trusted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (signed, ca) = media::sign(&media::png(64, 64, 4), "image/png", media::AI, None);
    let path = dir.path().join("a.png");
    std::fs::write(&path, &signed).expect("write");
    let anchors = dir.path().join("anchors.pem");
    std::fs::write(&anchors, ca).expect("write");
    let reader = CredentialReader::with_anchors_file(&anchors).expect("anchors load");
    let c = reader
        .read(&path, "image/png")
        .expect("readable")
        .expect("a credential");
    assert_eq!(
        c.state,
        CredentialState::Trusted,
        "failures: {:?}",
        c.failures
    );
}

#[test]
fn tampered_pixels_make_the_credential_invalid_with_its_failing_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut signed, _) = media::sign(&media::png(64, 64, 5), "image/png", media::AI, None);
    // Flip a byte near the end, inside the image data (IDAT precedes IEND's 12 bytes).
    let at = signed.len() - 20;
    signed[at] ^= 0xff;
    let path = dir.path().join("a.png");
    std::fs::write(&path, &signed).expect("write");
    let c = CredentialReader::new(None)
        .expect("reader")
        .read(&path, "image/png")
        .expect("readable")
        .expect("a credential");
    assert_eq!(c.state, CredentialState::Invalid);
    assert!(
        c.failures.iter().any(|f| f.contains("dataHash.mismatch")),
        "{:?}",
        c.failures
    );
}

#[test]
fn a_sidecar_manifest_beside_the_file_is_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let original = media::png(64, 64, 6);
    let signer = c2pa::EphemeralSigner::new("greenlight-test.local").expect("signer");
    let definition = serde_json::json!({
        "claim_generator_info": [{"name": "greenlight-test"}],
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [
            {"action": "c2pa.created", "digitalSourceType": media::AI}]}}]
    });
    let mut builder = media::builder(&definition);
    builder.set_no_embed(true);
    let mut dest = std::io::Cursor::new(Vec::new());
    let manifest = builder
        .sign(
            &signer,
            "image/png",
            &mut std::io::Cursor::new(original.clone()),
            &mut dest,
        )
        .expect("signs");
    std::fs::write(dir.path().join("plate.png"), &original).expect("write");
    std::fs::write(dir.path().join("plate.c2pa"), &manifest).expect("write");
    let c = CredentialReader::new(None)
        .expect("reader")
        .read(&dir.path().join("plate.png"), "image/png")
        .expect("readable")
        .expect("a credential");
    assert_eq!(c.source, CredentialSource::Sidecar);
    assert_eq!(
        c.state,
        CredentialState::Valid,
        "failures: {:?}",
        c.failures
    );
    assert!(c.declares_ai());
}

#[test]
fn a_file_without_a_manifest_has_no_credential() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("a.png");
    std::fs::write(&path, media::png(32, 32, 7)).expect("write");
    assert!(
        CredentialReader::new(None)
            .expect("reader")
            .read(&path, "image/png")
            .expect("readable")
            .is_none()
    );
}

#[test]
fn a_source_type_given_only_in_the_actions_adobe_parameters_declares_ai_with_its_agent() {
    // Older Adobe manifests (Firefly, generative fill) put it in the action's parameters.
    let dir = tempfile::tempdir().expect("temp dir");
    let signer = c2pa::EphemeralSigner::new("greenlight-test.local").expect("signer");
    let definition = serde_json::json!({
        "claim_generator_info": [{"name": "Adobe Photoshop", "version": "25.0"}],
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [{
            "action": "c2pa.edited",
            "softwareAgent": {"name": "Adobe Firefly"},
            "parameters": {"com.adobe.digitalSourceType": media::AI}
        }]}}]
    });
    let mut dest = std::io::Cursor::new(Vec::new());
    media::builder(&definition)
        .sign(
            &signer,
            "image/png",
            &mut std::io::Cursor::new(media::png(64, 64, 8)),
            &mut dest,
        )
        .expect("signs");
    let path = dir.path().join("fill.png");
    std::fs::write(&path, dest.into_inner()).expect("write");
    let c = CredentialReader::new(None)
        .expect("reader")
        .read(&path, "image/png")
        .expect("readable")
        .expect("a credential");
    assert_eq!(
        c.actions[0].digital_source_type.as_deref(),
        Some(media::AI),
        "{c:#?}"
    );
    assert!(c.declares_ai());
    assert_eq!(c.ai_software_agents(), ["Adobe Firefly"]);
    assert_eq!(c.claim_generator.as_deref(), Some("Adobe Photoshop 25.0"));
}
