//! Webhook secrets in the Standard Webhooks form and the `webhook-signature` header.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{KeyInit, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretSlice};

/// The prefix of a secret's text form.
const PREFIX: &str = "whsec_";

/// A webhook signing secret: 24 to 64 random bytes, written `whsec_<base64>` as the Standard
/// Webhooks specification does.
///
/// `Display` writes that form (it is shown to the admin once, and stored sealed); `Debug`
/// never shows the bytes.
#[derive(Clone)]
pub struct Secret(SecretSlice<u8>);

impl Secret {
    /// Fewest bytes a secret may have (the specification's lower bound, 192 bits).
    pub const MIN_BYTES: usize = 24;
    /// Most bytes a secret may have.
    pub const MAX_BYTES: usize = 64;

    /// A fresh secret of 32 random bytes from the operating system.
    pub fn generate() -> Secret {
        let mut bytes = vec![0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Secret(bytes.into())
    }

    /// Reads the `whsec_<base64>` form.
    pub fn parse(text: &str) -> Result<Secret, SecretError> {
        let text = text.trim();
        let encoded = text.strip_prefix(PREFIX).ok_or(SecretError::Prefix)?;
        let bytes = BASE64.decode(encoded).map_err(|_| SecretError::Base64)?;
        if !(Self::MIN_BYTES..=Self::MAX_BYTES).contains(&bytes.len()) {
            return Err(SecretError::Length(bytes.len()));
        }
        Ok(Secret(bytes.into()))
    }

    fn bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", BASE64.encode(self.bytes()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(whsec_[redacted])")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        use subtle::ConstantTimeEq;
        self.bytes().ct_eq(other.bytes()).into()
    }
}

impl Eq for Secret {}

/// Why a text is not a webhook secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The text does not start with `whsec_`.
    #[error("secret: must be whsec_ followed by the base64 of 24 to 64 random bytes")]
    Prefix,
    /// What follows `whsec_` is not standard base64.
    #[error("secret: what follows whsec_ is not base64 (standard alphabet, with padding)")]
    Base64,
    /// The decoded secret is too short or too long.
    #[error("secret: {0} bytes; a secret has 24 to 64 bytes")]
    Length(usize),
}

/// The `webhook-signature` header of a message: `v1,<base64 of HMAC-SHA256 over
/// "{id}.{timestamp}.{body}">` for each secret, separated by spaces.
///
/// During a rotation both the old and the new secret sign, so a receiver that knows either
/// accepts the message.
pub fn sign(secrets: &[Secret], id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    let timestamp = timestamp_secs.to_string();
    let signatures: Vec<String> = secrets
        .iter()
        .map(|secret| {
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.bytes())
                .expect("HMAC takes a key of any length");
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.as_bytes());
            mac.update(b".");
            mac.update(body);
            format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()))
        })
        .collect();
    signatures.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Standard Webhooks specification's own example. Checked independently with
    //   python3 -c "import hmac,hashlib,base64; print(base64.b64encode(hmac.new(
    //     base64.b64decode('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'),
    //     b'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}',
    //     hashlib.sha256).digest()).decode())"
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1614265330;
    const SPEC_BODY: &str = r#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signature_matches_the_specification_example() {
        let secret = Secret::parse(SPEC_SECRET).unwrap();
        assert_eq!(
            sign(&[secret], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY.as_bytes()),
            SPEC_SIGNATURE
        );
    }

    #[test]
    fn two_secrets_give_two_space_separated_signatures_old_first() {
        let old = Secret::parse(SPEC_SECRET).unwrap();
        let new = Secret::generate();
        let header = sign(
            &[old, new.clone()],
            SPEC_ID,
            SPEC_TIMESTAMP,
            SPEC_BODY.as_bytes(),
        );
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], SPEC_SIGNATURE);
        assert_eq!(
            parts[1],
            sign(&[new], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY.as_bytes())
        );
    }

    #[test]
    fn any_change_to_id_timestamp_or_body_changes_the_signature() {
        let s = [Secret::parse(SPEC_SECRET).unwrap()];
        let body = SPEC_BODY.as_bytes();
        assert_ne!(sign(&s, "msg_other", SPEC_TIMESTAMP, body), SPEC_SIGNATURE);
        assert_ne!(sign(&s, SPEC_ID, SPEC_TIMESTAMP + 1, body), SPEC_SIGNATURE);
        assert_ne!(
            sign(&s, SPEC_ID, SPEC_TIMESTAMP, br#"{"test": 2432232315}"#),
            SPEC_SIGNATURE
        );
    }

    #[test]
    fn generated_secrets_round_trip_through_their_text_form() {
        let secret = Secret::generate();
        let text = secret.to_string();
        assert!(text.starts_with("whsec_"), "{text}");
        assert_eq!(Secret::parse(&text).unwrap(), secret);
        assert_ne!(Secret::generate(), secret);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = Secret::parse(SPEC_SECRET).unwrap();
        let shown = format!("{secret:?}");
        assert!(!shown.contains("MfKQ9r8G"), "{shown}");
    }

    #[test]
    fn bad_secrets_are_refused_naming_the_setting() {
        for (text, want) in [
            ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", SecretError::Prefix),
            ("whsec_not base64!", SecretError::Base64),
            // 18 bytes
            ("whsec_AAAAAAAAAAAAAAAAAAAAAAAA", SecretError::Length(18)),
        ] {
            let err = Secret::parse(text).unwrap_err();
            assert_eq!(err, want, "{text}");
            assert!(err.to_string().starts_with("secret: "), "{err}");
        }
        let long = format!("whsec_{}", BASE64.encode([7u8; 65]));
        assert_eq!(Secret::parse(&long).unwrap_err(), SecretError::Length(65));
    }
}
