//! Graceful shutdown on SIGTERM with a real EPP command in flight: idle connections close
//! at once, no new connections are accepted, the command in flight is answered and its
//! connection closed cleanly; the grace period bounds a command that does not finish.
//!
//! The command is held in flight by the test itself: it takes SQLite's write lock on the
//! registry file (`BEGIN IMMEDIATE`), so the server's commit waits (within SQLite's busy
//! timeout) until the test lets go.

use std::time::{Duration, Instant};

use epp_session::store::Store;
use epp_session::testing::ScriptTarget;

use crate::db::{Db, runtime};
use crate::epp::{TlsTarget, code, host_create, login};

/// Takes the registry database's write lock from the test process.
fn write_lock(db: &Db) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(db.data.join("registry.sqlite3")).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn
}

#[test]
fn sigterm_answers_the_command_in_flight_then_closes_everything() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut target = TlsTarget::registry(&db).await;
        let (mut idle, _) = target.connect().await;
        let (mut busy, _) = target.connect().await;
        let r = busy.call(&login("reg1", "secret-1", "SD-1")).await;
        assert_eq!(code(&r), Some(1000), "{r}");

        let lock = write_lock(&db);
        busy.send(&host_create("ns9.example.com", "SD-2")).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let signalled = Instant::now();
        target.server().signal("TERM");

        // The idle connection closes at once (EPP has no unsolicited goodbye).
        idle.expect_clean_close().await;
        assert!(signalled.elapsed() < Duration::from_secs(3));
        // New connections are refused while the command in flight waits.
        target
            .server()
            .wait_for_log(&["shutting down"], Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            tokio::net::TcpStream::connect(target.server().epp)
                .await
                .is_err()
        );
        // Let the command finish: it is answered, then the connection closes.
        lock.execute_batch("COMMIT").unwrap();
        let reply = busy
            .recv()
            .await
            .expect("the command in flight is answered");
        assert_eq!(code(&reply), Some(1000), "{reply}");
        assert!(reply.contains("<clTRID>SD-2</clTRID>"), "{reply}");
        busy.expect_clean_close().await;

        let status = target.server_mut().wait_exit(Duration::from_secs(10));
        assert!(status.success(), "{status}");
        let lines = target.server().log_lines();
        let at = |needle: &str| {
            lines
                .iter()
                .position(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("no {needle:?} in\n{}", lines.join("\n")))
        };
        // The command was answered after the signal: it was in flight.
        assert!(at("shutting down") < at("command=host:create"));
        assert!(lines.iter().any(|l| l.contains("shutdown complete")));
        let host = target
            .store()
            .host(&"ns9.example.com".parse().unwrap())
            .await
            .unwrap();
        assert!(host.is_some(), "the answered command was committed");
    });
}

#[test]
fn the_shutdown_grace_period_bounds_a_command_that_does_not_finish() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut target = TlsTarget::registry(&db)
            .await
            .with_env(&[("EPP_SERVER__LIMITS__SHUTDOWN_GRACE", "500ms")]);
        let (mut client, _) = target.connect().await;
        let r = client.call(&login("reg1", "secret-1", "SG-1")).await;
        assert_eq!(code(&r), Some(1000), "{r}");
        let lock = write_lock(&db);
        client.send(&host_create("ns8.example.com", "SG-2")).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let signalled = Instant::now();
        target.server().signal("TERM");
        let status = target.server_mut().wait_exit(Duration::from_secs(10));
        assert!(status.success(), "{status}");
        assert!(signalled.elapsed() < Duration::from_secs(4));
        let log = target.log_text();
        assert!(log.contains("shutdown grace period over"), "{log}");
        assert_eq!(client.recv().await, None);
        // Nothing half-done: the cut command left no trace.
        drop(lock);
        let host = target
            .store()
            .host(&"ns8.example.com".parse().unwrap())
            .await
            .unwrap();
        assert!(host.is_none());
    });
}
