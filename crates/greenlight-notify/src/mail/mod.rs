//! Mail over SMTP: the settings, the mails (one event's, a daily digest, or a link to
//! follow), the mailer.

mod compose;
mod link;
mod settings;

use std::fmt;

use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

pub use crate::message::MessageText;
pub use compose::Mail;
pub use lettre::message::Mailbox;
pub use link::LinkMessage;
pub use settings::{Security, SmtpSettings};

/// Sends mail through one SMTP server, reusing connections (a small pool).
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for `settings`. Makes no connection yet (see [`Mailer::check`]). Call it
    /// within a Tokio runtime: the connection pool starts a task there.
    pub fn new(settings: &SmtpSettings) -> Result<Mailer, MailError> {
        let tls = match settings.security() {
            Security::Plain => Tls::None,
            Security::StartTls => Tls::Required(tls_parameters(settings.host())?),
            Security::ImplicitTls => Tls::Wrapper(tls_parameters(settings.host())?),
        };
        // `builder_dangerous` only means "no TLS chosen for you": it is set just above.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host())
            .port(settings.port())
            .tls(tls)
            .timeout(Some(settings.timeout()));
        if let Some(credentials) = settings.credentials() {
            builder = builder.credentials(credentials);
        }
        Ok(Mailer {
            transport: builder.build(),
            from: settings.from().clone(),
        })
    }

    /// The sender of every mail.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// Connects, says hello (and STARTTLS, and logs in, as the settings ask) and quits:
    /// whether mail could be sent now.
    pub async fn check(&self) -> Result<(), MailError> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(MailError::Send {
                cause: "the SMTP server did not answer the greeting".into(),
                permanent: false,
            }),
            Err(e) => Err(send_error(&e)),
        }
    }

    /// Sends one mail.
    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = mail.message(&self.from)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| send_error(&e))
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, MailError> {
    TlsParameters::new(host.to_owned())
        .map_err(|e| MailError::SmtpUrl(format!("TLS for {host}: {e}")))
}

fn send_error(e: &lettre::transport::smtp::Error) -> MailError {
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !cause.contains(&text) {
            cause.push_str(": ");
            cause.push_str(&text);
        }
        source = s.source();
    }
    MailError::Send {
        cause,
        permanent: e.is_permanent(),
    }
}

/// Why a mail could not be built or sent. Messages name the flag or field at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MailError {
    /// `--smtp-url` is wrong.
    #[error("--smtp-url: {0}")]
    SmtpUrl(String),
    /// `--mail-from` is wrong.
    #[error("--mail-from: {0}")]
    MailFrom(String),
    /// A recipient's address is wrong.
    #[error("to: {address:?} is not a mail address ({cause})")]
    Recipient {
        /// The address as given.
        address: String,
        /// What is wrong with it.
        cause: String,
    },
    /// The unsubscribe address is wrong.
    #[error("unsubscribe: {0}")]
    Unsubscribe(String),
    /// A digest needs at least one event.
    #[error("a digest needs at least one event")]
    EmptyDigest,
    /// The HTML part could not be rendered.
    #[error("rendering the mail: {0}")]
    Render(String),
    /// The message could not be assembled.
    #[error("building the mail: {0}")]
    Build(String),
    /// The SMTP server refused the mail or could not be reached.
    #[error("sending the mail: {cause}")]
    Send {
        /// What failed, as lettre and the server said it.
        cause: String,
        /// The server answered with a permanent (5xx) refusal.
        permanent: bool,
    },
}

impl MailError {
    /// Whether trying again later may succeed: a connection failure or a temporary (4xx)
    /// refusal may pass; a permanent (5xx) refusal or a mail that cannot be built will not.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            MailError::Send {
                permanent: false,
                ..
            }
        )
    }
}
