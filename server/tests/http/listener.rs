//! The accept loop under slow and many clients, on a real socket: a client that
//! connects and sends nothing, or goes quiet after a response, is closed at the
//! head deadline; past the connection cap new clients wait their turn, and
//! `/healthz` keeps answering. Before, such connections stayed open for ever and
//! 1,100 of them took the console down (issue 24).

use crate::harness::*;
use pathfinder_server::http::listener::{serve, Limits};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One request on a connection of its own; the whole answer.
async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let head = format!("GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.unwrap();
    answer
}

/// Whether the server closed `s` (end of stream or a reset) within `within`.
async fn closed(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(within, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // a response before the close
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_health_keeps_answering() {
    let c = Console::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = Limits { header_read: Duration::from_millis(500), max_connections: 16 };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, c.app.clone(), limits, async {
        let _ = stopped.await;
    }));

    // Forty clients that connect and send nothing, ten that send half a head.
    let mut silent = Vec::new();
    for _ in 0..40 {
        silent.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut dribbling = Vec::new();
    for _ in 0..10 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: ").await.unwrap();
        dribbling.push(s);
    }
    // Health answers all the same (its turn comes as deadlines close the others).
    let health = tokio::time::timeout(Duration::from_secs(30), get(addr, "/healthz")).await;
    let health = health.expect("/healthz answered while fifty slow clients held on");
    assert!(health.starts_with("HTTP/1.1 200") && health.ends_with("ok"), "{health}");
    for (i, s) in silent.iter_mut().chain(dribbling.iter_mut()).enumerate() {
        assert!(closed(s, Duration::from_secs(20)).await, "slow client {i} was never closed");
    }

    // A kept-alive connection that goes quiet after its response is closed too.
    let mut kept = TcpStream::connect(addr).await.unwrap();
    kept.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {HOST}\r\n\r\n").as_bytes()).await.unwrap();
    let mut buf = [0u8; 1024];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(closed(&mut kept, Duration::from_secs(20)).await, "an idle kept-alive connection stays open");

    // The peer's address reaches the handlers: a sign-in's audit row names it.
    let body = login_form("root", PASSWORD);
    let mut s = TcpStream::connect(addr).await.unwrap();
    let post = format!(
        "POST /auth/login HTTP/1.1\r\nHost: {HOST}\r\nOrigin: http://{HOST}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(post.as_bytes()).await.unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    let row = c.storage.recent_audit(1).unwrap().remove(0);
    assert_eq!(row.ip_address.as_deref(), Some("127.0.0.1"), "{row:?}");
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
