//! The one way async code reaches storage: [`Db::call`] runs a blocking storage call
//! on tokio's blocking pool, so a slow database never stalls the async workers.

use crate::storage::Storage;
use crate::{AppError, AppResult};
use std::sync::Arc;

#[derive(Clone)]
pub struct Db(Arc<dyn Storage>);

impl Db {
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Db(storage)
    }

    /// Runs `f` against the storage on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Storage) -> AppResult<T> + Send + 'static,
    {
        let storage = self.0.clone();
        // The request's span goes along: a slow operation's log line names its request.
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| f(storage.as_ref()))).await.map_err(AppError::internal)?
    }

    /// Starts `f` on the blocking pool and returns at once: background work that a
    /// request starts (a key rotation run). Its outcome is in its own audit rows; an
    /// error is logged under `what`.
    pub fn detach<T, F>(&self, what: &'static str, f: F)
    where
        F: FnOnce(&dyn Storage) -> AppResult<T> + Send + 'static,
    {
        let storage = self.0.clone();
        drop(tokio::task::spawn_blocking(move || {
            if let Err(e) = f(storage.as_ref()) {
                tracing::warn!(task = what, error = %e, "background work ended early");
            }
        }));
    }

    /// The storage itself, for code that is already on a blocking thread (the CLI, tests).
    pub fn storage(&self) -> &dyn Storage {
        self.0.as_ref()
    }
}
