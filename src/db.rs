//! The one way async code reaches storage: [`Db::call`] runs a blocking storage call
//! on tokio's blocking pool, so a slow database never stalls the async workers.

use crate::storage::Storage;
use crate::{AppError, AppResult};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Clone)]
pub struct Db {
    storage: Arc<dyn Storage>,
    /// Raised when the process shuts down (see [`Db::go_on`]).
    stopping: Arc<AtomicBool>,
}

impl Db {
    pub fn new(storage: Arc<dyn Storage>) -> Self {
        Db { storage, stopping: Arc::default() }
    }

    /// The same storage, stopping when `flag` is raised (the server's signal flag).
    pub fn stopping_on(self, flag: Arc<AtomicBool>) -> Self {
        Db { stopping: flag, ..self }
    }

    /// Whether the process is shutting down.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// What long work (a retention run, a key rotation, a backup) asks between its
    /// steps: false once the process is shutting down, so it stops at the next.
    pub fn go_on(&self) -> impl Fn() -> bool + Send + Sync + 'static {
        let stopping = self.stopping.clone();
        move || !stopping.load(Ordering::Relaxed)
    }

    /// Runs `f` against the storage on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Storage) -> AppResult<T> + Send + 'static,
    {
        let storage = self.storage.clone();
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
        let storage = self.storage.clone();
        drop(tokio::task::spawn_blocking(move || {
            if let Err(e) = f(storage.as_ref()) {
                tracing::warn!(task = what, error = %e, "background work ended early");
            }
        }));
    }

    /// The storage itself, for code that is already on a blocking thread (the CLI, tests).
    pub fn storage(&self) -> &dyn Storage {
        self.storage.as_ref()
    }
}
