//! The TOTP second factor (RFC 6238): six digits, 30-second steps, HMAC-SHA-1, which every
//! authenticator app supports (several silently fall back to SHA-1 when asked for another
//! algorithm, and then never match).
//!
//! Enrolment makes a random 160-bit seed and the `otpauth://` URL an app scans; the caller
//! keeps the seed encrypted (it is a secret Greenlight must use) and shows the URL once, as a
//! QR code and as the base32 key for typing. A code is accepted for the current step and one
//! step either side (clocks drift), and each step at most once: the caller stores the step
//! [`verify`] returns and passes it back next time, so a code seen over a shoulder cannot be
//! replayed. Rate-limit attempts too: three steps in a window make a random guess succeed one
//! time in about 333,000.

use chrono::{DateTime, Utc};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder, Totp};

/// Seed length in bytes: 160 bits, RFC 4226's recommendation and the length of SHA-1.
pub const SEED_BYTES: usize = 20;
/// Shortest seed accepted (RFC 4226: at least 128 bits).
pub const MIN_SEED_BYTES: usize = 16;
/// Longest seed accepted.
pub const MAX_SEED_BYTES: usize = 64;
/// Digits in a code.
pub const DIGITS: u8 = 6;
/// Seconds in a step.
pub const STEP_SECONDS: u64 = 30;
/// Steps accepted either side of the current one.
pub const SKEW_STEPS: u16 = 1;

/// A TOTP seed. Its bytes are a secret: encrypt them at rest, never log them.
pub struct TotpSeed(SecretBox<[u8]>);

impl std::fmt::Debug for TotpSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSeed([redacted])")
    }
}

impl Clone for TotpSeed {
    fn clone(&self) -> Self {
        TotpSeed(SecretBox::from(self.0.expose_secret().to_vec()))
    }
}

/// Why enrolment or a code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TotpError {
    /// A stored seed of the wrong length (a damaged or foreign record).
    #[error("the TOTP seed is {len} bytes long; it must be {MIN_SEED_BYTES} to {MAX_SEED_BYTES}")]
    SeedLength {
        /// Its length.
        len: usize,
    },
    /// The account name or issuer cannot go into an `otpauth://` label.
    #[error("{field}: {message}")]
    Label {
        /// `account` or `issuer`.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// The code is not six digits.
    #[error("a code is {DIGITS} digits")]
    Malformed,
    /// The code matches no step in the window.
    #[error("the code is wrong or has expired")]
    Wrong,
    /// The code matches a step already used.
    #[error("this code was already used; wait for the next one")]
    Replayed,
    /// The time is before 1970.
    #[error("the time {0} is before 1970")]
    Time(DateTime<Utc>),
}

impl TotpSeed {
    /// A fresh random seed from the operating system's generator.
    pub fn generate() -> TotpSeed {
        let mut bytes = vec![0u8; SEED_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        TotpSeed(SecretBox::from(bytes))
    }

    /// A seed read back from storage (after decryption).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<TotpSeed, TotpError> {
        if !(MIN_SEED_BYTES..=MAX_SEED_BYTES).contains(&bytes.len()) {
            return Err(TotpError::SeedLength { len: bytes.len() });
        }
        Ok(TotpSeed(SecretBox::from(bytes)))
    }

    /// The seed's bytes, to encrypt for storage.
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// The seed in base32 without padding, as people type it into an authenticator app.
    pub fn to_base32(&self) -> SecretString {
        SecretString::from(totp_rs::Secret::from(self.expose_bytes().to_vec()).to_base32())
    }

    fn totp(&self, account: &str, issuer: Option<&str>) -> Result<Totp, TotpError> {
        let mut builder = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(SKEW_STEPS)
            .with_step_duration(STEP_SECONDS)
            .with_secret(self.expose_bytes().to_vec());
        if !account.is_empty() {
            builder = builder.with_account_name(account);
        }
        builder = builder.with_issuer(issuer);
        builder.build().map_err(label_error)
    }
}

fn label_error(e: totp_rs::TotpError) -> TotpError {
    match e {
        totp_rs::TotpError::InvalidIssuer { issuer } => TotpError::Label {
            field: "issuer",
            message: format!("\"{issuer}\" contains ':', which an otpauth label cannot hold"),
        },
        totp_rs::TotpError::InvalidAccountName { account_name } => TotpError::Label {
            field: "account",
            message: format!("\"{account_name}\" contains ':', which an otpauth label cannot hold"),
        },
        totp_rs::TotpError::AccountNameNotSet => TotpError::Label {
            field: "account",
            message: "is empty".into(),
        },
        totp_rs::TotpError::SecretTooShort { bits } => TotpError::SeedLength { len: bits / 8 },
        // Digits, step and algorithm are constants of this module.
        other => TotpError::Label {
            field: "issuer",
            message: other.to_string(),
        },
    }
}

/// A new second factor for a person: the seed to keep (encrypted) and what to show once.
#[derive(Debug)]
pub struct TotpEnrolment {
    /// The seed; keep it encrypted, and only once the person has confirmed a first code.
    pub seed: TotpSeed,
    /// `otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=ISSUER&algorithm=SHA1&digits=6&period=30`,
    /// for a QR code.
    pub otpauth_url: SecretString,
    /// The seed in base32, for people who type it in.
    pub manual_key: SecretString,
}

/// Enrols a person: a fresh seed and its `otpauth://` URL labelled `issuer:account` (e.g.
/// `Greenlight:ana@studio.example`). Neither may contain `:`.
pub fn enrol(issuer: &str, account: &str) -> Result<TotpEnrolment, TotpError> {
    if account.trim().is_empty() {
        return Err(TotpError::Label {
            field: "account",
            message: "is empty".into(),
        });
    }
    let seed = TotpSeed::generate();
    let otpauth_url = otpauth_url(&seed, issuer, account)?;
    let manual_key = seed.to_base32();
    Ok(TotpEnrolment {
        seed,
        otpauth_url,
        manual_key,
    })
}

/// The `otpauth://` URL of an existing seed (to show it again while enrolment is unconfirmed).
pub fn otpauth_url(
    seed: &TotpSeed,
    issuer: &str,
    account: &str,
) -> Result<SecretString, TotpError> {
    let totp = seed.totp(account, Some(issuer))?;
    let url = totp.to_url().map_err(label_error)?;
    Ok(SecretString::from(url))
}

/// Checks `code` (six digits; spaces are ignored) at `now` against `seed`. Accepts the current
/// step and one either side, but only a step after `last_accepted_step`. Returns the step the
/// code belongs to: store it as the new last accepted step, in the same write that records the
/// sign-in.
pub fn verify(
    seed: &TotpSeed,
    code: &str,
    now: DateTime<Utc>,
    last_accepted_step: Option<u64>,
) -> Result<u64, TotpError> {
    let totp = seed.totp("", None)?;
    verify_with(&totp, code, now, last_accepted_step)
}

fn verify_with(
    totp: &Totp,
    code: &str,
    now: DateTime<Utc>,
    last_accepted_step: Option<u64>,
) -> Result<u64, TotpError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != usize::from(totp.digits()) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TotpError::Malformed);
    }
    let time = u64::try_from(now.timestamp()).map_err(|_| TotpError::Time(now))?;
    let current = time / totp.step();
    let skew = u64::from(totp.skew());
    // Every step of the window is computed and compared in constant time, so the answer's
    // timing says nothing about which step matched or how many digits were right.
    let mut matched = None;
    for step in current.saturating_sub(skew)..=current.saturating_add(skew) {
        let token = totp.generate(step.saturating_mul(totp.step())).to_string();
        let equal = bool::from(token.as_bytes().ct_eq(code.as_bytes()));
        if equal && last_accepted_step.is_none_or(|last| step > last) {
            matched.get_or_insert(step);
        }
    }
    match matched {
        Some(step) => Ok(step),
        None => {
            let replay = last_accepted_step.is_some() && totp.check(&code, time).is_some();
            Err(if replay {
                TotpError::Replayed
            } else {
                TotpError::Wrong
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).unwrap()
    }

    // RFC 6238, appendix B: the seeds are the ASCII bytes "1234567890" repeated to the hash's
    // length, codes are 8 digits, steps 30 s.
    const SHA1_SEED: &[u8] = b"12345678901234567890";
    const SHA256_SEED: &[u8] = b"12345678901234567890123456789012";
    const SHA512_SEED: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";
    const VECTORS: &[(i64, &str, &str, &str)] = &[
        (59, "94287082", "46119246", "90693936"),
        (1111111109, "07081804", "68084774", "25091201"),
        (1111111111, "14050471", "67062674", "99943326"),
        (1234567890, "89005924", "91819424", "93441116"),
        (2000000000, "69279037", "90698825", "38618901"),
        (20000000000, "65353130", "77737706", "47863826"),
    ];

    fn rfc_totp(algorithm: Algorithm, seed: &[u8]) -> Totp {
        Builder::new()
            .with_algorithm(algorithm)
            .with_digits(8)
            .with_skew(1)
            .with_step_duration(30)
            .with_secret(seed.to_vec())
            .build()
            .unwrap()
    }

    #[test]
    fn rfc_6238_vectors_verify_with_every_algorithm() {
        for &(time, sha1, sha256, sha512) in VECTORS {
            for (algorithm, seed, code) in [
                (Algorithm::SHA1, SHA1_SEED, sha1),
                (Algorithm::SHA256, SHA256_SEED, sha256),
                (Algorithm::SHA512, SHA512_SEED, sha512),
            ] {
                let totp = rfc_totp(algorithm, seed);
                let step = verify_with(&totp, code, at(time), None)
                    .unwrap_or_else(|e| panic!("{algorithm:?} at {time}: {e}"));
                assert_eq!(step, time as u64 / 30, "{algorithm:?} at {time}");
            }
        }
    }

    #[test]
    fn the_six_digit_codes_of_the_rfc_vectors_verify_through_the_public_api() {
        // A 6-digit code is the 8-digit one modulo 10^6: its last six digits.
        let seed = TotpSeed::from_bytes(SHA1_SEED.to_vec()).unwrap();
        for &(time, sha1, _, _) in VECTORS {
            assert_eq!(
                verify(&seed, &sha1[2..], at(time), None),
                Ok(time as u64 / 30)
            );
        }
        assert_eq!(verify(&seed, "287 082", at(59), None), Ok(1));
    }

    #[test]
    fn one_step_either_side_is_accepted_and_two_are_not() {
        let seed = TotpSeed::from_bytes(SHA1_SEED.to_vec()).unwrap();
        // "081804" belongs to step 37037036 (t = 1111111109).
        let code = "081804";
        let step = 1111111109 / 30;
        assert_eq!(
            verify(&seed, code, at((step - 1) * 30), None),
            Ok(step as u64)
        );
        assert_eq!(
            verify(&seed, code, at((step + 1) * 30 + 29), None),
            Ok(step as u64)
        );
        assert_eq!(
            verify(&seed, code, at((step - 2) * 30 + 29), None),
            Err(TotpError::Wrong)
        );
        assert_eq!(
            verify(&seed, code, at((step + 2) * 30), None),
            Err(TotpError::Wrong)
        );
    }

    #[test]
    fn a_code_is_accepted_once() {
        let seed = TotpSeed::from_bytes(SHA1_SEED.to_vec()).unwrap();
        let step = verify(&seed, "005924", at(1234567890), None).unwrap();
        assert_eq!(
            verify(&seed, "005924", at(1234567890), Some(step)),
            Err(TotpError::Replayed)
        );
        // An older code of the window after a newer one was used is a replay too.
        let later = TotpSeed::from_bytes(SHA1_SEED.to_vec()).unwrap();
        let next_step_code = later
            .totp("", None)
            .unwrap()
            .generate((step + 1) * 30)
            .to_string();
        let accepted = verify(&later, &next_step_code, at(1234567890), Some(step)).unwrap();
        assert_eq!(accepted, step + 1);
        assert_eq!(
            verify(&later, "005924", at(1234567890), Some(accepted)),
            Err(TotpError::Replayed)
        );
    }

    #[test]
    fn malformed_codes_are_refused() {
        let seed = TotpSeed::generate();
        for code in ["", "12345", "1234567", "12a456", "１２３４５６"] {
            assert_eq!(
                verify(&seed, code, at(59), None),
                Err(TotpError::Malformed),
                "{code}"
            );
        }
    }

    #[test]
    fn enrolment_gives_a_url_an_app_reads_and_a_code_it_makes_verifies() {
        let enrolment = enrol("Greenlight", "ana@studio.example").unwrap();
        let url = enrolment.otpauth_url.expose_secret();
        assert!(
            url.starts_with("otpauth://totp/Greenlight:ana%40studio.example?"),
            "{url}"
        );
        assert!(url.contains("issuer=Greenlight"), "{url}");
        assert!(
            url.contains(&format!("secret={}", enrolment.manual_key.expose_secret())),
            "{url}"
        );
        // Read the URL back as an app would, and use its code.
        let app = Totp::from_url(url).unwrap();
        assert_eq!(app.secret().as_bytes(), enrolment.seed.expose_bytes());
        let now = at(1_800_000_000);
        let code = app.generate(1_800_000_000).to_string();
        assert_eq!(
            verify(&enrolment.seed, &code, now, None),
            Ok(1_800_000_000 / 30)
        );
        assert_eq!(enrolment.seed.expose_bytes().len(), SEED_BYTES);
    }

    #[test]
    fn seeds_are_random_and_checked_when_read_back() {
        assert_ne!(
            TotpSeed::generate().expose_bytes(),
            TotpSeed::generate().expose_bytes()
        );
        assert_eq!(
            TotpSeed::from_bytes(vec![0; 10]).unwrap_err(),
            TotpError::SeedLength { len: 10 }
        );
    }

    #[test]
    fn a_colon_in_a_label_is_refused_by_name() {
        let err = enrol("Green:light", "ana").unwrap_err();
        assert!(
            matches!(
                err,
                TotpError::Label {
                    field: "issuer",
                    ..
                }
            ),
            "{err}"
        );
        let err = enrol("Greenlight", "ana:b").unwrap_err();
        assert!(
            matches!(
                err,
                TotpError::Label {
                    field: "account",
                    ..
                }
            ),
            "{err}"
        );
    }
}
