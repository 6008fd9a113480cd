//! The accept loop: the router on hyper's HTTP/1 connections, with what
//! `axum::serve` lacks (tokio-rs/axum#2561): a deadline for each request's head,
//! which on a kept-alive connection is also its idle limit (hyper starts it when a
//! response is done), and a cap on open connections below the process's file
//! limit. A client that connects and sends nothing, or sends its head a byte at a
//! time, is closed at the deadline; past the cap, new connections wait in the
//! kernel's queue until one closes, instead of the process running out of files
//! and failing every accept (and `/healthz`) with "Too many open files".

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a client has to send a request's head, counted from the moment
    /// the connection opens or its last response ended.
    pub header_read: Duration,
    /// Open connections at most.
    pub max_connections: usize,
}

impl Limits {
    /// The defaults `serve` starts with: 10 s for a head, and half of the files the
    /// process may open (after raising its soft limit where allowed), at most
    /// 8,192: the other half is the database's files, per-user table sets and logs.
    pub fn for_this_process() -> Limits {
        Limits { header_read: Duration::from_secs(10), max_connections: (raise_file_limit() / 2).clamp(64, 8_192) }
    }
}

/// Raises the soft limit of open files to the hard one; the limit in effect.
#[cfg(unix)]
pub fn raise_file_limit() -> usize {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1_024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
}

#[cfg(not(unix))]
pub fn raise_file_limit() -> usize {
    1_024
}

/// Serves `app` on `listener` until `shutdown` completes; then lets the requests
/// in flight finish (connections stop being kept alive) for up to 30 s.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of files or memory for a moment: wait, never spin.
                    tracing::warn!(error = %e, "accept failed; retrying in 100 ms");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Streamed pages go out in several writes: without TCP_NODELAY the second
        // waits for the client's delayed ACK (40 ms on Linux).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            tower::ServiceExt::oneshot(app.clone(), req.map(axum::body::Body::new))
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read)
            .serve_connection(TokioIo::new(tcp), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection ended");
            }
            drop(permit);
        });
    }
    if tokio::time::timeout(Duration::from_secs(30), graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still in flight after 30 s: stopping anyway");
    }
    Ok(())
}
