//! A minimal HTTP/1.1 responder for the metrics endpoint: `GET /metrics`, `GET /healthz`
//! (the process answers) and `GET /readyz` (the registry database answers too), one
//! request per connection, no TLS (bind it to loopback or a management network).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use super::Metrics;

/// Largest request head read; scrapers send a few hundred bytes.
const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// Time a scraper has to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Concurrent scrapes served; more wait in the accept queue.
const MAX_CONCURRENT: usize = 16;

/// How long `/readyz` waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Serves metrics until `shutdown` turns true.
pub(crate) async fn serve(
    listener: TcpListener,
    metrics: Metrics,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONCURRENT));
    loop {
        let permit = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            permit = Arc::clone(&slots).acquire_owned() => permit,
        };
        let Ok(permit) = permit else { return };
        let accepted = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                let metrics = metrics.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    if let Err(e) = respond(stream, &metrics).await {
                        tracing::debug!(error = %e, "metrics request failed");
                    }
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics listener cannot accept");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn respond(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let read = tokio::time::timeout(REQUEST_TIMEOUT, async {
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_HEAD {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        Ok::<_, std::io::Error>(())
    })
    .await;
    match read {
        // A scraper that sends nothing in time gets nothing.
        Err(_elapsed) => return Ok(()),
        Ok(result) => result?,
    }
    let request_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let request_line = String::from_utf8_lossy(request_line);
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET", "/metrics") => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            scrape(metrics).await,
        ),
        ("GET", "/healthz") => ("200 OK", "text/plain; charset=utf-8", "ok\n".to_owned()),
        ("GET", "/readyz") => match ready(metrics).await {
            Ok(()) => ("200 OK", "text/plain; charset=utf-8", "ready\n".to_owned()),
            Err(why) => (
                "503 Service Unavailable",
                "text/plain; charset=utf-8",
                format!("not ready: {why}\n"),
            ),
        },
        ("GET", _) => (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "not found\n".to_owned(),
        ),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            "method not allowed\n".to_owned(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// Every metric, with the poll queues read from the store (within [`READY_TIMEOUT`];
/// left out, with a debug line, when the store does not answer).
async fn scrape(metrics: &Metrics) -> String {
    use epp_session::store::Store as _;
    let mut out = metrics.render();
    if let Some(store) = metrics.store() {
        match tokio::time::timeout(READY_TIMEOUT, store.poll_queues()).await {
            Ok(Ok(queues)) => super::render_poll_queues(&mut out, &queues),
            Ok(Err(e)) => tracing::debug!(error = %e, "poll queues not read for the metrics"),
            Err(_) => tracing::debug!("poll queues not read for the metrics in time"),
        }
    }
    out
}

/// Whether the registry database answers a read (the registry's own account) within
/// [`READY_TIMEOUT`]; why not, in words.
async fn ready(metrics: &Metrics) -> Result<(), String> {
    use epp_session::store::Store as _;
    let Some(store) = metrics.store() else {
        return Err("the registry database is not open yet".into());
    };
    let reg0 = epp_xml::ClientId::new(epp_session::store::model::WITHDRAWN_REGISTRAR)
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(READY_TIMEOUT, store.registrar(&reg0)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("the registry database failed: {e}")),
        Err(_) => Err(format!(
            "the registry database did not answer within {} s",
            READY_TIMEOUT.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn request(addr: std::net::SocketAddr, req: &str) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn serves_metrics_health_and_refuses_the_rest() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = watch::channel(false);
        let metrics = Metrics::new();
        let server = tokio::spawn(serve(listener, metrics.clone(), rx));

        let r = request(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.contains("Content-Type: text/plain; version=0.0.4"));
        assert!(r.contains("\r\n\r\n# HELP epp_commands_total"));
        let r = request(addr, "GET /healthz HTTP/1.0\r\n\r\n").await;
        assert!(
            r.starts_with("HTTP/1.1 200 OK\r\n") && r.ends_with("ok\n"),
            "{r}"
        );
        // Not ready until the store is open, then ready while it answers.
        let r = request(addr, "GET /readyz HTTP/1.1\r\n\r\n").await;
        assert!(
            r.starts_with("HTTP/1.1 503 ")
                && r.ends_with("not ready: the registry database is not open yet\n"),
            "{r}"
        );
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::open(&crate::store::StoreConfig::Sqlite(
            crate::store::SqliteConfig::new(dir.path().join("r.sqlite3")),
        ))
        .await
        .unwrap();
        {
            use epp_session::store::Store as _;
            use epp_session::store::model::{NewPollMessage, PollPayload};
            use epp_session::store::suite::{add_registrar, cid, meta};
            use epp_session::store::{Change, ChangeSet};
            add_registrar(&store, "reg\"1").await;
            add_registrar(&store, "reg2").await;
            let set =
                ChangeSet::new(meta("reg2", "test", 0)).with(Change::EnqueuePoll(NewPollMessage {
                    registrar: cid("reg2"),
                    text: "hello".into(),
                    payload: PollPayload::Text,
                }));
            store.commit(set).await.unwrap();
        }
        metrics.watch_store(store);
        // The poll queues are read at the scrape.
        let r = request(addr, "GET /metrics HTTP/1.1\r\n\r\n").await;
        assert!(
            r.contains("\n# TYPE epp_poll_queue_messages gauge\n"),
            "{r}"
        );
        assert!(
            r.contains("\nepp_poll_queue_messages{registrar=\"reg2\"} 1\n"),
            "{r}"
        );
        assert!(
            r.contains("\nepp_poll_queue_messages{registrar=\"reg\\\"1\"} 0\n"),
            "{r}"
        );
        assert!(
            r.contains(&format!(
                "\nepp_poll_queue_oldest_timestamp_seconds{{registrar=\"reg2\"}} {}\n",
                epp_session::store::suite::at(0).unix_micros() / 1_000_000
            )),
            "{r}"
        );
        assert!(!r.contains("registrar=\"reg0\""), "{r}");
        let r = request(addr, "GET /readyz HTTP/1.1\r\n\r\n").await;
        assert!(
            r.starts_with("HTTP/1.1 200 OK\r\n") && r.ends_with("ready\n"),
            "{r}"
        );
        let r = request(addr, "GET /other HTTP/1.1\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 404 "), "{r}");
        let r = request(addr, "POST /metrics HTTP/1.1\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 405 "), "{r}");

        tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .unwrap()
            .unwrap();
    }
}
