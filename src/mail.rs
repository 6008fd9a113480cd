//! Sending mail: a pluggable sender. The embedded default writes each message to an
//! outbox file beside the database (and says so in the log), so a new install needs
//! no mail server; plug SMTP in by implementing [`Mailer`] (the `lettre` crate is the
//! well-kept choice) and giving it to the router instead.

use crate::{AppError, AppResult};
use std::io::Write;
use std::path::PathBuf;

pub trait Mailer: Send + Sync {
    fn send(&self, to: &str, subject: &str, body: &str) -> AppResult<()>;
}

/// Appends every message to one file (0600: links in it are secrets).
pub struct OutboxMailer {
    pub path: PathBuf,
}

impl Mailer for OutboxMailer {
    fn send(&self, to: &str, subject: &str, body: &str) -> AppResult<()> {
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&self.path).map_err(AppError::internal)?;
        let when = chrono::Utc::now().to_rfc3339();
        write!(file, "Date: {when}\nTo: {to}\nSubject: {subject}\n\n{body}\n\n").map_err(AppError::internal)?;
        tracing::info!(outbox = %self.path.display(), "a message to {to} was written to the outbox");
        Ok(())
    }
}

/// What server functions need to send invitations: the sender and the address the
/// console is reached at (`PF_PUBLIC_URL`; else the first allowed host name at the
/// port it listens on). Links never take a request's `Host` header: it is the
/// caller's to choose, port and all.
#[derive(Clone)]
pub struct Outbox {
    pub mailer: std::sync::Arc<dyn Mailer>,
    /// Without a trailing `/`.
    pub public_url: String,
}

impl Outbox {
    /// Sends on a blocking thread: an SMTP server may take its time.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> AppResult<()> {
        let (mailer, to, subject, body) = (self.mailer.clone(), to.to_string(), subject.to_string(), body.to_string());
        tokio::task::spawn_blocking(move || mailer.send(&to, &subject, &body)).await.map_err(AppError::internal)?
    }

    /// Tells every active administrator of the new high findings of a security
    /// review's run (nothing when it opened none); how many were told.
    pub async fn tell_admins_of(
        &self,
        db: &crate::db::Db,
        outcome: &crate::security::ReviewOutcome,
    ) -> AppResult<usize> {
        let Some((subject, body)) = outcome.high_mail(&self.public_url) else { return Ok(0) };
        self.tell(db, &[crate::Role::Admin], &subject, &body).await
    }

    /// Tells the reviewers (active administrators and compliance reviewers) that a
    /// campaign started, or that its deadline is two days away; how many were told.
    pub async fn tell_reviewers_of(
        &self,
        db: &crate::db::Db,
        campaign: &crate::access_reviews::Campaign,
        started: bool,
    ) -> AppResult<usize> {
        let (subject, body) = crate::access_reviews::reviewer_mail(campaign, started, &self.public_url);
        self.tell(db, &[crate::Role::Admin, crate::Role::Compliance], &subject, &body).await
    }

    /// Mails every active console account holding one of `roles`; how many were
    /// told. A recipient the sender refuses is logged, the others go on.
    async fn tell(&self, db: &crate::db::Db, roles: &[crate::Role], subject: &str, body: &str) -> AppResult<usize> {
        let roles = roles.to_vec();
        let emails = db
            .call(move |s| {
                let mut emails = vec![];
                for a in s.console_accounts()? {
                    if a.account_status == "active" && a.roles.iter().any(|r| roles.contains(r)) {
                        emails.push(s.user_profile(&a.user_id)?.summary.email);
                    }
                }
                Ok(emails)
            })
            .await?;
        let mut told = 0;
        for to in &emails {
            match self.send(to, subject, body).await {
                Ok(()) => told += 1,
                Err(e) => tracing::warn!(to = %to, error = %e, "a console account could not be told"),
            }
        }
        Ok(told)
    }
}
