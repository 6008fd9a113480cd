//! A small blocking connection pool for SQLite: at most `max` connections, opened
//! on demand, with a timed wait. It reports the figures `/metrics` shows.

use crate::metrics;
use pathfinder::storage::PoolStats;
use pathfinder::{AppError, AppResult};
use rusqlite::Connection;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

pub struct Pool {
    open: Box<dyn Fn() -> rusqlite::Result<Connection> + Send + Sync>,
    state: Mutex<State>,
    freed: Condvar,
    max: u32,
    acquire_timeout: Duration,
}

#[derive(Default)]
struct State {
    idle: Vec<Connection>,
    open: u32,
    waiters: u32,
}

pub struct PooledConn<'a> {
    pool: &'a Pool,
    conn: Option<Connection>,
    taken: Instant,
}

impl Pool {
    pub fn new(
        max: u32,
        acquire_timeout: Duration,
        open: impl Fn() -> rusqlite::Result<Connection> + Send + Sync + 'static,
    ) -> Self {
        Pool { open: Box::new(open), state: Mutex::default(), freed: Condvar::new(), max, acquire_timeout }
    }

    pub fn get(&self) -> AppResult<PooledConn<'_>> {
        let started = Instant::now();
        let deadline = started + self.acquire_timeout;
        let mut state = self.state.lock().map_err(AppError::internal)?;
        let conn = loop {
            if let Some(conn) = state.idle.pop() {
                break conn;
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                match (self.open)() {
                    Ok(conn) => break conn,
                    Err(e) => {
                        if let Ok(mut s) = self.state.lock() {
                            s.open -= 1;
                        }
                        return Err(AppError::unavailable(format!("opening SQLite: {e}")));
                    }
                }
            }
            let now = Instant::now();
            if now >= deadline {
                metrics::count_pool_timeout();
                return Err(AppError::unavailable("timed out waiting for a SQLite connection"));
            }
            state.waiters += 1;
            let (s, _) = self.freed.wait_timeout(state, deadline - now).map_err(AppError::internal)?;
            state = s;
            state.waiters -= 1;
        };
        metrics::observe_pool_acquire(started.elapsed());
        Ok(PooledConn { pool: self, conn: Some(conn), taken: Instant::now() })
    }

    pub fn stats(&self) -> PoolStats {
        let state = match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        let idle = state.idle.len() as u32;
        PoolStats { open: state.open, in_use: state.open - idle, idle, max: self.max, min: 0, waiters: state.waiters }
    }
}

impl std::ops::Deref for PooledConn<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("connection present until drop")
    }
}

impl std::ops::DerefMut for PooledConn<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("connection present until drop")
    }
}

impl Drop for PooledConn<'_> {
    fn drop(&mut self) {
        metrics::observe_pool_usage(self.taken.elapsed());
        if let (Some(conn), Ok(mut state)) = (self.conn.take(), self.pool.state.lock()) {
            // A connection left inside a transaction (a panic midway) is closed, not reused.
            if conn.is_autocommit() {
                state.idle.push(conn);
            } else {
                state.open -= 1;
            }
            // Only a waiter needs waking: a notify is a system call each time.
            if state.waiters > 0 {
                self.pool.freed.notify_one();
            }
        }
    }
}
