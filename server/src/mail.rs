//! Mail over SMTP (`PF_SMTP_*`), the sender beside the embedded outbox: lettre's
//! transport, with STARTTLS where the server offers it by default (or required, or
//! TLS from the first byte), the system's certificate authorities and optionally
//! one more (`PF_SMTP_CA_FILE`), and a password from the environment or a file.

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use pathfinder::mail::Mailer;
use pathfinder::{AppError, AppResult};
use std::time::Duration;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmtpTls {
    /// STARTTLS when the server offers it, plain otherwise.
    Starttls,
    /// STARTTLS, or no mail.
    Required,
    /// TLS from the first byte (port 465).
    Tls,
    /// Never (a relay on loopback).
    None,
}

/// The SMTP server and who the mail is from.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
    /// A certificate authority to trust besides the system's (PEM).
    pub ca_file: Option<std::path::PathBuf>,
}

pub struct SmtpMailer {
    transport: SmtpTransport,
    from: Mailbox,
}

impl SmtpMailer {
    pub fn new(s: &SmtpSettings) -> AppResult<SmtpMailer> {
        let from: Mailbox = s
            .from
            .parse()
            .map_err(|_| AppError::invalid(format!("PF_SMTP_FROM: {:?} is not a mail address.", s.from)))?;
        let mut params = TlsParameters::builder(s.host.clone());
        if let Some(path) = &s.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| AppError::invalid(format!("PF_SMTP_CA_FILE: cannot read {}: {e}.", path.display())))?;
            let ca = Certificate::from_pem(&pem).map_err(|e| {
                AppError::invalid(format!("PF_SMTP_CA_FILE: {} is not a PEM certificate: {e}.", path.display()))
            })?;
            params = params.add_root_certificate(ca);
        }
        let params = || {
            params.clone().build().map_err(|e| AppError::invalid(format!("PF_SMTP_HOST: no TLS for {}: {e}.", s.host)))
        };
        let tls = match s.tls {
            SmtpTls::Starttls => Tls::Opportunistic(params()?),
            SmtpTls::Required => Tls::Required(params()?),
            SmtpTls::Tls => Tls::Wrapper(params()?),
            SmtpTls::None => Tls::None,
        };
        let mut builder =
            SmtpTransport::builder_dangerous(&s.host).port(s.port).tls(tls).timeout(Some(Duration::from_secs(15)));
        match (&s.username, &s.password) {
            (Some(user), Some(password)) => {
                builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
            }
            (Some(_), None) => {
                return Err(AppError::invalid(
                    "PF_SMTP_USERNAME is set: set PF_SMTP_PASSWORD or PF_SMTP_PASSWORD_FILE too.",
                ))
            }
            _ => {}
        }
        Ok(SmtpMailer { transport: builder.build(), from })
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, to: &str, subject: &str, body: &str) -> AppResult<()> {
        let to: Mailbox = to.parse().map_err(|_| AppError::invalid(format!("{to:?} is not a mail address.")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to.clone())
            .subject(subject)
            .body(body.to_string())
            .map_err(AppError::internal)?;
        self.transport.send(&message).map_err(|e| {
            tracing::warn!(error = %e, to = %to, "the mail server did not take a message");
            AppError::Conflict(format!(
                "The mail server did not take the message to {to} ({e}); nothing else changed: try again."
            ))
        })?;
        tracing::info!(to = %to, "a message was handed to the mail server");
        Ok(())
    }
}
