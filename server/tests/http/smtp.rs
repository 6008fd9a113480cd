//! Mail over SMTP against a real server on loopback (aiosmtpd, Debian's
//! python3-aiosmtpd): STARTTLS where the server offers it, plain where it does
//! not, refused when required and not offered; and invitations and the security
//! review's new high findings go out through the same sender.

use crate::harness::*;
use pathfinder_server::mail::{SmtpMailer, SmtpSettings, SmtpTls};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

/// aiosmtpd on a free loopback port; it stops when dropped (its stdin closes).
struct SmtpServer {
    child: Child,
    port: u16,
    received: Receiver<serde_json::Value>,
}

impl SmtpServer {
    /// With `tls` (certificate and key files), it offers STARTTLS.
    fn start(tls: Option<(&std::path::Path, &std::path::Path)>) -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_server.py");
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(script).arg(port.to_string());
        if let Some((cert, key)) = tls {
            cmd.arg(cert).arg(key);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3-aiosmtpd (scripts/setup installs it)");
        let out = BufReader::new(child.stdout.take().unwrap());
        let (ready_tx, ready) = channel();
        let (tx, received) = channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if line == "ready" {
                    let _ = ready_tx.send(());
                } else if let Ok(v) = serde_json::from_str(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        ready.recv_timeout(Duration::from_secs(20)).expect("the SMTP server listens");
        SmtpServer { child, port, received }
    }

    fn next(&self) -> serde_json::Value {
        self.received.recv_timeout(Duration::from_secs(20)).expect("a message arrived")
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A certificate authority, and a certificate for `localhost` it signed with its
/// key, made for the test: (authority, certificate, key).
fn certificates(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let path = |name: &str| dir.join(name);
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    std::fs::write(path("leaf.ext"), "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n").unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=Test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "key.pem", "-out", "leaf.csr"]);
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "leaf.ext",
        "-out",
        "cert.pem",
    ]);
    (path("ca.pem"), path("cert.pem"), path("key.pem"))
}

fn settings(port: u16, tls: SmtpTls, ca: Option<&std::path::Path>) -> SmtpSettings {
    SmtpSettings {
        host: "localhost".into(),
        port,
        tls,
        username: None,
        password: None,
        from: "Pathfinder Admin <console@example.com>".into(),
        ca_file: ca.map(Into::into),
    }
}

#[test]
fn mail_goes_out_with_starttls_where_offered_and_is_refused_when_required_and_not() {
    use pathfinder::mail::Mailer;
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path());
    let tls = SmtpServer::start(Some((&cert, &key)));
    let mailer = SmtpMailer::new(&settings(tls.port, SmtpTls::Starttls, Some(&ca))).unwrap();
    mailer.send("ivy@example.com", "Over TLS", "a body").unwrap();
    let m = tls.next();
    assert_eq!((m["tls"].as_bool(), m["rcpt_tos"][0].as_str()), (Some(true), Some("ivy@example.com")), "{m}");
    assert!(m["content"].as_str().unwrap().contains("Subject: Over TLS"), "{m}");
    assert_eq!(m["mail_from"].as_str(), Some("console@example.com"));
    // A server whose certificate nobody vouches for gets no mail.
    let untrusted = SmtpMailer::new(&settings(tls.port, SmtpTls::Starttls, None)).unwrap();
    assert!(matches!(untrusted.send("ivy@example.com", "x", "y"), Err(pathfinder::AppError::Conflict(_))));

    let plain = SmtpServer::start(None);
    let opportunistic = SmtpMailer::new(&settings(plain.port, SmtpTls::Starttls, Some(&ca))).unwrap();
    opportunistic.send("ivy@example.com", "In the clear", "a body").unwrap();
    assert_eq!(plain.next()["tls"].as_bool(), Some(false), "no STARTTLS offered: plain");
    let required = SmtpMailer::new(&settings(plain.port, SmtpTls::Required, Some(&ca))).unwrap();
    let refused = required.send("ivy@example.com", "Must be TLS", "a body");
    assert!(matches!(refused, Err(pathfinder::AppError::Conflict(_))), "{refused:?}");
    assert!(plain.received.recv_timeout(Duration::from_millis(300)).is_err(), "nothing sent in the clear");
    // Bad settings are clear errors.
    let bad = SmtpSettings { from: "not an address".into(), ..settings(1, SmtpTls::None, None) };
    assert!(matches!(SmtpMailer::new(&bad), Err(pathfinder::AppError::Invalid(_))));
    let no_password = SmtpSettings { username: Some("console".into()), ..settings(1, SmtpTls::None, None) };
    assert!(matches!(SmtpMailer::new(&no_password), Err(pathfinder::AppError::Invalid(_))));
}

#[tokio::test]
async fn invitations_and_new_high_findings_go_out_through_the_smtp_sender() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path());
    let server = SmtpServer::start(Some((&cert, &key)));
    let mailer = SmtpMailer::new(&settings(server.port, SmtpTls::Required, Some(&ca))).unwrap();
    let c = Console::configured(|config| config.outbox.mailer = std::sync::Arc::new(mailer));
    let token = c.token("root").await;
    let r = c.post("/api/create_invitation", Some(&token), "email=ivy%40example.com&role=user").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let link: pathfinder::dto::InvitationLink = serde_json::from_str(&r.body).unwrap();
    // Each answer comes after its mail was handed over: waiting here holds nothing up.
    let m = server.next();
    assert_eq!((m["tls"].as_bool(), m["rcpt_tos"][0].as_str()), (Some(true), Some("ivy@example.com")));
    assert!(unfolded(&m).contains(&link.link), "{m}");

    // root is an administrator without a second factor: a new high finding, told by mail.
    let ran = c.post("/api/run_security_review", Some(&token), "").await;
    assert_eq!(ran.status, StatusCode::OK, "{}", ran.body);
    let m = server.next();
    let content = unfolded(&m);
    assert!(content.contains("Subject: Pathfinder security review: 1 new high finding(s)"), "{content}");
    assert!(content.contains("A role that requires a second factor") && content.contains("/security"), "{content}");
    assert_eq!(m["rcpt_tos"][0].as_str(), Some("root@example.com"));
}

/// The message's text with quoted-printable's soft line breaks undone (a long
/// link is folded on the wire; mail readers unfold it).
fn unfolded(m: &serde_json::Value) -> String {
    m["content"].as_str().unwrap().replace("=\r\n", "")
}
