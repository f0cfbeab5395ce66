//! `--smtp-url` and `--mail-from`, parsed and checked once.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};

use super::MailError;

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`: plain connection upgraded with STARTTLS, which the server must offer
    /// (default port 587).
    StartTls,
    /// `smtps://`: TLS from the first byte (default port 465).
    ImplicitTls,
    /// `smtp://` to a loopback host: no TLS (a relay on the same machine).
    Plain,
}

/// Where mail goes and whom it comes from: `--smtp-url` and `--mail-from`.
///
/// `smtp://[user:pass@]host[:port]` requires STARTTLS, except to a loopback host
/// (`127.0.0.1`, `::1`, `localhost`) where plain SMTP is allowed; `?tls=required` asks for
/// STARTTLS even there. `smtps://` is implicit TLS. The password never appears in `Debug`
/// or in an error.
#[derive(Clone)]
pub struct SmtpSettings {
    host: String,
    port: u16,
    security: Security,
    user: Option<String>,
    password: Option<SecretString>,
    from: Mailbox,
    timeout: Duration,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SmtpSettings {
    /// Parses `--smtp-url` and `--mail-from` (`noreply@studio.example` or
    /// `Greenlight <noreply@studio.example>`).
    pub fn parse(url: &str, mail_from: &str) -> Result<SmtpSettings, MailError> {
        let bad = |reason: String| MailError::SmtpUrl(reason);
        let parsed = url::Url::parse(url.trim()).map_err(|e| {
            bad(format!(
                "not a URL ({e}); expected smtp://[user:pass@]host[:port] or smtps://…"
            ))
        })?;
        let implicit = match parsed.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => {
                return Err(bad(format!(
                    "the scheme {other}: is neither smtp: (STARTTLS, or plain to a loopback \
                     host) nor smtps: (implicit TLS)"
                )));
            }
        };
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(bad("no host".into())),
        };
        if !(parsed.path().is_empty() || parsed.path() == "/") {
            return Err(bad("a path means nothing in an SMTP URL; remove it".into()));
        }
        let mut tls_required = false;
        for (key, value) in parsed.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "required") => tls_required = true,
                _ => {
                    return Err(bad(format!(
                        "unknown parameter {key}={value}; the only one is tls=required"
                    )));
                }
            }
        }
        let security = if implicit {
            Security::ImplicitTls
        } else if tls_required || !is_loopback(&host) {
            Security::StartTls
        } else {
            Security::Plain
        };
        let port = parsed.port().unwrap_or(match security {
            Security::ImplicitTls => 465,
            Security::StartTls | Security::Plain => 587,
        });
        let user = match parsed.username() {
            "" => None,
            u => Some(decode(u).map_err(|_| bad("the user name is not UTF-8".into()))?),
        };
        let password = match parsed.password() {
            None => None,
            Some(p) => Some(SecretString::from(
                decode(p).map_err(|_| bad("the password is not UTF-8".into()))?,
            )),
        };
        if password.is_some() && user.is_none() {
            return Err(bad("a password without a user name".into()));
        }
        let from: Mailbox =
            mail_from
                .trim()
                .parse()
                .map_err(|e: lettre::address::AddressError| {
                    MailError::MailFrom(format!("{:?} is not a mail address ({e})", mail_from))
                })?;
        Ok(SmtpSettings {
            host,
            port,
            security,
            user,
            password,
            from,
            timeout: Duration::from_secs(30),
        })
    }

    /// The same settings with another deadline for one SMTP command (30 s by default).
    pub fn with_timeout(mut self, timeout: Duration) -> SmtpSettings {
        self.timeout = timeout;
        self
    }

    /// The server's host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How the connection is protected.
    pub fn security(&self) -> Security {
        self.security
    }

    /// The user name to authenticate as, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The sender of every mail.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// The deadline for one SMTP command.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub(crate) fn credentials(
        &self,
    ) -> Option<lettre::transport::smtp::authentication::Credentials> {
        let user = self.user.clone()?;
        let password = self
            .password
            .as_ref()
            .map(|p| p.expose_secret().to_owned())
            .unwrap_or_default();
        Some(lettre::transport::smtp::authentication::Credentials::new(
            user, password,
        ))
    }
}

fn decode(text: &str) -> Result<String, std::str::Utf8Error> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
}

/// A host on this machine: plain SMTP to it never crosses a network.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.to_canonical().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FROM: &str = "Greenlight <noreply@greenlight.example>";

    #[test]
    fn smtp_to_a_remote_host_requires_starttls() {
        let s = SmtpSettings::parse("smtp://user:p%40ss@mail.example.com:587", FROM).unwrap();
        assert_eq!(s.security(), Security::StartTls);
        assert_eq!((s.host(), s.port()), ("mail.example.com", 587));
        assert_eq!(s.user(), Some("user"));
        let s = SmtpSettings::parse("smtp://10.0.0.5", FROM).unwrap();
        assert_eq!(s.security(), Security::StartTls);
        assert_eq!(s.port(), 587);
    }

    #[test]
    fn smtp_to_loopback_may_be_plain() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://[::1]:25",
            "smtp://localhost:2525",
        ] {
            let s = SmtpSettings::parse(url, FROM).unwrap();
            assert_eq!(s.security(), Security::Plain, "{url}");
        }
        let s = SmtpSettings::parse("smtp://127.0.0.1:2525?tls=required", FROM).unwrap();
        assert_eq!(s.security(), Security::StartTls);
    }

    #[test]
    fn smtps_is_implicit_tls_on_465() {
        let s = SmtpSettings::parse("smtps://mail.example.com", FROM).unwrap();
        assert_eq!(s.security(), Security::ImplicitTls);
        assert_eq!(s.port(), 465);
    }

    #[test]
    fn bad_urls_name_the_flag() {
        for url in [
            "http://mail.example.com",
            "mail.example.com:25",
            "smtp://",
            "smtp://mail.example.com/inbox",
            "smtp://mail.example.com?tls=opportunistic",
            "smtp://:secret@mail.example.com",
        ] {
            let err = SmtpSettings::parse(url, FROM).unwrap_err();
            assert!(err.to_string().starts_with("--smtp-url: "), "{url}: {err}");
        }
    }

    #[test]
    fn a_bad_sender_names_the_flag() {
        let err = SmtpSettings::parse("smtp://127.0.0.1:25", "noreply").unwrap_err();
        assert!(err.to_string().starts_with("--mail-from: "), "{err}");
    }

    #[test]
    fn the_password_never_shows() {
        let url = "smtp://user:hunter2@mail.example.com";
        let s = SmtpSettings::parse(url, FROM).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"), "{s:?}");
        let err = SmtpSettings::parse("smtp://user:hunter2@mail.example.com/x", FROM).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
