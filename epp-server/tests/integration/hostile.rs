//! Hostile input against the real binary over TLS (issue 9): every case is answered with
//! its exact EPP result code, or the connection is closed cleanly, while a canary session
//! of another registrar on another connection keeps working (a check and an info round trip
//! after every case) and the server process stays alive and never logs a panic.
//!
//! The cases: entity expansion (billion laughs), external entities, DTDs, deep nesting,
//! huge attributes and text, invalid UTF-8, NUL and other forbidden characters, wrong or
//! missing namespaces, hostile frame headers (4 GiB, zero, shorter than the header, over
//! the limit, EOF inside a frame), slowloris before and after login, floods of connections
//! that never log in or never finish TLS, commands before login, another registrar's
//! objects, and SQL metacharacters in every string field (read back verbatim; the database
//! checked for consistency, on SQLite and on PostgreSQL).

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;

use crate::db::{Db, on_both_backends, runtime};
use crate::epp::{HELLO, TlsTarget, code, domain_info, is_greeting, login, poll_req};
use crate::harness::Client;

const EPP: &str = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0">"#;
const DOMAIN_NS: &str = "urn:ietf:params:xml:ns:domain-1.0";
const CONTACT_NS: &str = "urn:ietf:params:xml:ns:contact-1.0";
const HOST_NS: &str = "urn:ietf:params:xml:ns:host-1.0";
const NO_EXT_DOMAIN: &str = "http://www.norid.no/xsd/no-ext-domain-1.1";
const NO_EXT_CONTACT: &str = "http://www.norid.no/xsd/no-ext-contact-1.0";

/// A server on the shared registry fixtures (reg1 owns example.no, ACME1O,
/// ns1.example.com; reg2 owns beta.no, BETA2O, ns1.other.net), with a canary session of
/// reg1 on its own connection.
struct Arena<'a> {
    target: TlsTarget<'a>,
    canary: Client,
    rounds: u32,
    /// Hostile inputs sent so far (for the figures in docs/RELIABILITY.md).
    inputs: u32,
}

impl<'a> Arena<'a> {
    async fn new(db: &'a Db, env: &[(&str, &str)]) -> Arena<'a> {
        let mut target = TlsTarget::registry(db).await.with_env(env);
        target
            .fixtures("@registrar reg3 password=secret-3 sessions=3")
            .await;
        let (mut canary, greeting) = target.connect().await;
        assert!(is_greeting(&greeting));
        let reply = canary
            .call(&login("reg1", "secret-1", "CANARY-LOGIN"))
            .await;
        assert_eq!(code(&reply), Some(1000), "{reply}");
        let mut arena = Arena {
            target,
            canary,
            rounds: 0,
            inputs: 0,
        };
        arena.canary_works().await;
        arena
    }

    /// A new connection, its greeting read.
    async fn connect(&mut self) -> Client {
        let (client, greeting) = self.target.connect().await;
        assert!(is_greeting(&greeting), "{greeting}");
        client
    }

    /// A new connection logged in as `id` (password `secret-<n>` of the fixtures).
    async fn session(&mut self, id: &str) -> Client {
        let mut client = self.connect().await;
        let pw = format!("secret-{}", &id[3..]);
        let reply = client.call(&login(id, &pw, "HOSTILE-LOGIN")).await;
        assert_eq!(code(&reply), Some(1000), "{reply}");
        client
    }

    /// The canary's check and info round trips still work, with the sponsor's full view of
    /// example.no, and the server process is alive and has not panicked.
    async fn canary_works(&mut self) {
        self.rounds += 1;
        let trid = format!("CANARY-{}", self.rounds);
        let reply = self
            .canary
            .call(&command(
                &format!(
                    r#"<check><domain:check xmlns:domain="{DOMAIN_NS}"><domain:name>example.no</domain:name></domain:check></check>"#
                ),
                &trid,
            ))
            .await;
        assert_eq!(code(&reply), Some(1000), "canary check: {reply}");
        assert!(reply.contains(r#"avail="0""#), "{reply}");
        let reply = self.canary.call(&domain_info("example.no", &trid)).await;
        assert_eq!(code(&reply), Some(1000), "canary info: {reply}");
        assert!(
            reply.contains("<domain:pw>Transfer+Code1</domain:pw>"),
            "{reply}"
        );
        assert!(
            reply.contains("<domain:exDate>2025-06-01T12:00:00"),
            "{reply}"
        );
        self.alive();
    }

    /// The server process runs and its log holds no panic.
    fn alive(&mut self) {
        assert!(
            self.target.server_mut().is_running(),
            "the server exited:\n{}",
            self.target.log_text()
        );
        let log = self.target.log_text();
        assert!(!log.contains("panicked"), "{log}");
    }

    /// Sends one hostile document; the reply must decode strictly with `expected` as its
    /// code (`None`: the greeting).
    async fn answered(
        &mut self,
        client: &mut Client,
        label: &str,
        doc: &[u8],
        expected: Option<u16>,
    ) {
        self.inputs += 1;
        client.send_bytes(doc).await;
        let reply = client
            .recv()
            .await
            .unwrap_or_else(|| panic!("{label}: the server closed instead of answering"));
        match expected {
            Some(_) => assert_eq!(code(&reply), expected, "{label}: {reply}"),
            None => assert!(is_greeting(&reply), "{label}: {reply}"),
        }
        assert!(!reply.contains("root:"), "{label}: a file leaked: {reply}");
        assert!(
            !reply.contains("lollol"),
            "{label}: entities expanded: {reply}"
        );
    }
}

impl Drop for Arena<'_> {
    /// Reports the figures of docs/RELIABILITY.md (`cargo test -- --nocapture hostile`).
    fn drop(&mut self) {
        if !std::thread::panicking() {
            eprintln!(
                "FIGURES {}: {} hostile inputs, {} canary rounds",
                std::thread::current().name().unwrap_or("?"),
                self.inputs,
                self.rounds
            );
        }
    }
}

/// `<command>` with `body` and a clTRID (escaped).
fn command(body: &str, cl_trid: &str) -> String {
    format!(
        "{EPP}<command>{body}<clTRID>{}</clTRID></command></epp>",
        esc(cl_trid)
    )
}

/// `<verb><prefix:verb>inner</prefix:verb></verb>`, then `ext` (an `<extension>` or
/// nothing) and the clTRID.
fn object_cmd(verb: &str, prefix: &str, ns: &str, inner: &str, ext: &str, cl_trid: &str) -> String {
    command(
        &format!(
            r#"<{verb}><{prefix}:{verb} xmlns:{prefix}="{ns}">{inner}</{prefix}:{verb}></{verb}>{ext}"#
        ),
        cl_trid,
    )
}

fn domain_cmd(verb: &str, inner: &str, cl_trid: &str) -> String {
    object_cmd(verb, "domain", DOMAIN_NS, inner, "", cl_trid)
}

fn contact_cmd(verb: &str, inner: &str, cl_trid: &str) -> String {
    object_cmd(verb, "contact", CONTACT_NS, inner, "", cl_trid)
}

fn host_cmd(verb: &str, inner: &str, cl_trid: &str) -> String {
    object_cmd(verb, "host", HOST_NS, inner, "", cl_trid)
}

/// A `<domain:info>` whose name is `name_xml` (raw, so that it can hold references).
fn info_with_name(name_xml: &str) -> String {
    domain_cmd(
        "info",
        &format!("<domain:name>{name_xml}</domain:name>"),
        "HOSTILE-DOC",
    )
}

/// Documents that must be refused with the code given (`None`: answered with the
/// greeting), before and after login, leaving the session usable.
fn hostile_documents() -> Vec<(&'static str, Vec<u8>, Option<u16>)> {
    let mut laughs = String::from(r#"<?xml version="1.0"?><!DOCTYPE epp [<!ENTITY lol0 "lol">"#);
    for i in 1..10 {
        laughs.push_str(&format!(
            r#"<!ENTITY lol{i} "{}">"#,
            format!("&lol{};", i - 1).repeat(10)
        ));
    }
    laughs.push_str("]>");
    laughs.push_str(&info_with_name("&lol9;"));

    let xxe = format!(
        r#"<?xml version="1.0"?><!DOCTYPE epp [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>{}"#,
        info_with_name("&xxe;")
    );
    let external_dtd =
        format!(r#"<!DOCTYPE epp SYSTEM "http://127.0.0.1:9/epp.dtd">{EPP}<hello/></epp>"#);
    let parameter_entity = format!(
        r#"<!DOCTYPE epp [<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;]>{EPP}<hello/></epp>"#
    );
    let attlist_default =
        format!(r#"<!DOCTYPE epp [<!ATTLIST epp injected CDATA "x">]>{EPP}<hello/></epp>"#);
    let xi =
        r#"<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd"/>"#;
    // <hello> is xs:anyType in epp-1.0.xsd: its content is skipped, never processed.
    let xinclude_in_hello = format!("{EPP}<hello>{xi}</hello></epp>");
    let xinclude = domain_cmd("info", xi, "HOSTILE-DOC");
    let deep = format!("{EPP}{}", "<a>".repeat(20_000));
    let deep_command = format!(
        r#"{EPP}<command><info><domain:info xmlns:domain="{DOMAIN_NS}">{}</domain:info></info></command></epp>"#,
        "<domain:name>".repeat(3_000)
    );
    let huge_attr = format!(r#"{EPP}<hello a="{}"/></epp>"#, "A".repeat(50_000));
    let many_attrs = format!(
        "{EPP}<hello {}/></epp>",
        (0..3_000)
            .map(|i| format!("a{i}=\"\" "))
            .collect::<String>()
    );
    let huge_text = info_with_name(&format!("{}.no", "a".repeat(50_000)));

    let mut invalid_utf8 = info_with_name("example.no").into_bytes();
    let at = invalid_utf8.len() / 2;
    invalid_utf8.splice(at..at, [0xff, 0xfe]);
    let overlong = info_with_name("ex\u{0}ample.no")
        .into_bytes()
        .into_iter()
        .flat_map(|b| if b == 0 { vec![0xc0, 0x80] } else { vec![b] })
        .collect();
    let mut surrogate = info_with_name("example.no").into_bytes();
    surrogate.splice(at..at, [0xed, 0xa0, 0x80]);
    let nul_in_text = info_with_name("ex\u{0}ample.no").into_bytes();
    let nul_after = format!("{EPP}<hello/></epp>\0").into_bytes();
    let control = info_with_name("ex\u{1}ample.no").into_bytes();
    let nul_reference = info_with_name("ex&#0;ample.no");
    let utf16 = format!(r#"<?xml version="1.0" encoding="UTF-16"?>{EPP}<hello/></epp>"#);

    let wrong_epp_ns = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-0.4"><hello/></epp>"#;
    let no_ns = "<epp><hello/></epp>";
    let undeclared_prefix = command(
        "<info><domain:info><domain:name>example.no</domain:name></domain:info></info>",
        "HOSTILE-DOC",
    );
    let wrong_object_ns = command(
        r#"<info><domain:info xmlns:domain="urn:ietf:params:xml:ns:domain-0.9"><domain:name>example.no</domain:name></domain:info></info>"#,
        "HOSTILE-DOC",
    );
    let object_in_epp_ns = command(
        "<info><info><name>example.no</name></info></info>",
        "HOSTILE-DOC",
    );
    let unknown_extension = command(
        r#"<info><domain:info xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:name></domain:info></info><extension><x:y xmlns:x="urn:example:evil"/></extension>"#,
        "HOSTILE-DOC",
    );

    vec![
        ("billion laughs", laughs.into_bytes(), Some(2001)),
        ("external entity (XXE)", xxe.into_bytes(), Some(2001)),
        ("external DTD", external_dtd.into_bytes(), Some(2001)),
        (
            "parameter entity",
            parameter_entity.into_bytes(),
            Some(2001),
        ),
        (
            "internal DTD (attribute default)",
            attlist_default.into_bytes(),
            Some(2001),
        ),
        (
            "undeclared entity",
            info_with_name("&xxe;").into_bytes(),
            Some(2001),
        ),
        ("XInclude in a command", xinclude.into_bytes(), Some(2001)),
        (
            "XInclude in <hello> (content skipped)",
            xinclude_in_hello.into_bytes(),
            None,
        ),
        ("20 000 nested elements", deep.into_bytes(), Some(2001)),
        (
            "3 000 nested names in a command",
            deep_command.into_bytes(),
            Some(2001),
        ),
        ("50 kB attribute", huge_attr.into_bytes(), Some(2001)),
        ("3 000 attributes", many_attrs.into_bytes(), Some(2001)),
        ("50 kB name", huge_text.into_bytes(), Some(2001)),
        ("invalid UTF-8", invalid_utf8, Some(2001)),
        ("overlong UTF-8 NUL", overlong, Some(2001)),
        ("UTF-8 surrogate", surrogate, Some(2001)),
        ("NUL in text", nul_in_text, Some(2001)),
        ("NUL after the root", nul_after, Some(2001)),
        ("control character", control, Some(2001)),
        (
            "character reference to NUL",
            nul_reference.into_bytes(),
            Some(2001),
        ),
        ("UTF-16 declaration", utf16.into_bytes(), Some(2001)),
        (
            "wrong EPP namespace",
            wrong_epp_ns.as_bytes().to_vec(),
            Some(2001),
        ),
        ("no namespace", no_ns.as_bytes().to_vec(), Some(2001)),
        (
            "undeclared prefix",
            undeclared_prefix.into_bytes(),
            Some(2001),
        ),
        (
            "unknown object namespace",
            wrong_object_ns.into_bytes(),
            Some(2307),
        ),
        (
            "object element in the EPP namespace",
            object_in_epp_ns.into_bytes(),
            Some(2001),
        ),
        (
            "unknown extension",
            unknown_extension.into_bytes(),
            Some(2103),
        ),
        ("whitespace only", b"   \r\n\t ".to_vec(), Some(2001)),
        (
            "not XML",
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            Some(2001),
        ),
        (
            "two roots",
            format!("{EPP}<hello/></epp>{EPP}<hello/></epp>").into_bytes(),
            Some(2001),
        ),
        (
            "unclosed root",
            format!("{EPP}<hello/>").into_bytes(),
            Some(2001),
        ),
        (
            "binary garbage",
            (0..=255u8).cycle().take(4096).collect(),
            Some(2001),
        ),
    ]
}

/// Every hostile document is refused with its code before and after login; the session
/// stays usable (a `<hello/>` is answered with the greeting) and the canary keeps working.
#[test]
fn hostile_documents_are_refused_with_their_codes_and_the_session_continues() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut arena = Arena::new(&db, &[]).await;
        let mut before_login = arena.connect().await;
        let mut logged_in = arena.session("reg2").await;
        for (label, doc, expected) in hostile_documents() {
            for (client, when) in [
                (&mut before_login, "before login"),
                (&mut logged_in, "after login"),
            ] {
                let label = format!("{label} ({when})");
                arena.answered(client, &label, &doc, expected).await;
                let hello = client.call(HELLO).await;
                assert!(is_greeting(&hello), "{label}: {hello}");
                arena.canary_works().await;
            }
        }
        // Still logged in: the session state survived every refusal.
        let reply = logged_in.call(&poll_req("HOSTILE-END")).await;
        assert_eq!(code(&reply), Some(1300), "{reply}");
    });
}

/// Frame headers that break RFC 5734 (a total length of 4 or less leaves no room for a
/// document; over the limit) close only their own connection, cleanly and before any
/// payload is buffered.
#[test]
fn hostile_frame_headers_close_only_their_connection() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut arena = Arena::new(&db, &[("EPP_SERVER__LIMITS__MAX_FRAME_SIZE", "65536")]).await;
        for (label, header) in [
            ("a header announcing 4 GiB", u32::MAX),
            ("a header announcing 2 GiB", 1 << 31),
            ("a header one over the limit", 65_537),
            ("a zero-length frame", 0),
            ("a total length of 1", 1),
            ("a total length of 2", 2),
            ("a total length of 3", 3),
            ("a total length of 4 (an empty document)", 4),
        ] {
            arena.inputs += 1;
            let mut client = arena.connect().await;
            let started = Instant::now();
            client.send_raw(&header.to_be_bytes()).await;
            client.expect_clean_close().await;
            assert!(started.elapsed() < Duration::from_secs(2), "{label}");
            arena.canary_works().await;
        }
        // A header split over two writes, announcing 4 GiB.
        arena.inputs += 2;
        let mut client = arena.connect().await;
        client.send_raw(&[0xff, 0xff]).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        client.send_raw(&[0xff, 0xff]).await;
        client.expect_clean_close().await;
        arena.canary_works().await;

        // The client goes away inside a frame: the server drops the connection.
        let mut client = arena.connect().await;
        client.send_raw(&1000u32.to_be_bytes()).await;
        client.send_raw(b"<epp xmlns=").await;
        drop(client);
        arena.canary_works().await;

        // A frame exactly at the limit, of garbage: a document refused with 2001.
        let mut client = arena.connect().await;
        let garbage: Vec<u8> = (0..65_532u32).map(|i| (i % 251) as u8).collect();
        arena
            .answered(&mut client, "64 kB of garbage", &garbage, Some(2001))
            .await;
        arena.canary_works().await;

        let server = arena.target.server();
        assert_eq!(
            server
                .metric("epp_refusals_total{reason=\"frame_too_large\"}")
                .await,
            Some(4.0)
        );
        server.wait_for_log(&["reason=\"bad_frame\""], Duration::from_secs(5));
    });
}

/// Sends `frame` one byte per second on `client`, running the canary meanwhile, until the
/// server closes; returns how long it took.
async fn slowloris(arena: &mut Arena<'_>, client: &mut Client, frame: &[u8]) -> Duration {
    let started = Instant::now();
    let mut framed = (u32::try_from(frame.len()).unwrap() + 4)
        .to_be_bytes()
        .to_vec();
    framed.extend_from_slice(frame);
    for byte in framed {
        arena.inputs += 1;
        if client.try_send_raw(&[byte]).await.is_err() {
            return started.elapsed();
        }
        // Wait a second, the canary working every 250 ms meanwhile.
        for _ in 0..4 {
            match client.next_within(Duration::from_millis(250)).await {
                Err(()) => {}
                Ok(None) => return started.elapsed(),
                Ok(Some(reply)) => panic!("an answer to an incomplete frame: {reply}"),
            }
            arena.canary_works().await;
        }
    }
    panic!("the server read the whole frame at one byte per second");
}

/// One byte per second before login: the pre-login deadline (from the greeting, never
/// extended by partial input) closes the connection.
#[test]
fn slowloris_before_login_is_closed_at_the_prelogin_deadline() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut arena = Arena::new(&db, &[("EPP_SERVER__LIMITS__PRELOGIN_TIMEOUT", "2s")]).await;
        let mut client = arena.connect().await;
        let took = slowloris(&mut arena, &mut client, HELLO.as_bytes()).await;
        assert!(
            took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
            "closed after {took:?}"
        );
        arena
            .target
            .server()
            .wait_for_log(&["reason=\"prelogin_timeout\""], Duration::from_secs(5));
        arena.canary_works().await;
    });
}

/// One byte per second after login: partial input does not count as activity, so the idle
/// timeout closes the session (the canary, sending whole commands, stays).
#[test]
fn slowloris_after_login_is_closed_at_the_idle_timeout() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut arena = Arena::new(&db, &[("EPP_SERVER__LIMITS__IDLE_TIMEOUT", "2s")]).await;
        let mut client = arena.session("reg2").await;
        let took = slowloris(&mut arena, &mut client, poll_req("SLOW-1").as_bytes()).await;
        assert!(
            took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
            "closed after {took:?}"
        );
        arena
            .target
            .server()
            .wait_for_log(&["reason=\"idle_timeout\""], Duration::from_secs(5));
        arena.canary_works().await;
        // The slot of reg2's session was freed: reg2 logs in again.
        let mut again = arena.session("reg2").await;
        let reply = again.call(&poll_req("SLOW-2")).await;
        assert_eq!(code(&reply), Some(1300), "{reply}");
    });
}

/// A flood of connections from one address that never log in: the per-IP cap refuses the
/// ones over it before TLS, the pre-login deadline closes the held ones, and connections
/// that never finish the TLS handshake are closed at the handshake timeout. The canary,
/// from another address, is not affected, and the flooding address can connect again once
/// its slots are free.
#[test]
fn connections_that_never_log_in_are_capped_per_ip_and_timed_out() {
    const FLOODER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    const SILENT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut arena = Arena::new(
            &db,
            &[
                ("EPP_SERVER__LIMITS__CONNECTIONS_PER_IP", "4"),
                ("EPP_SERVER__LIMITS__PRELOGIN_TIMEOUT", "2s"),
                ("EPP_SERVER__TLS__HANDSHAKE_TIMEOUT", "1s"),
            ],
        )
        .await;
        let addr = arena.target.server().epp;
        let options =
            crate::harness::ClientOptions::trusting_file(&db.data.join("dev-tls").join("ca.pem"));
        let started = Instant::now();
        let mut held = Vec::new();
        for _ in 0..4 {
            let mut c = Client::connect_from(addr, FLOODER, &options).await.unwrap();
            assert!(is_greeting(&c.recv().await.unwrap()));
            held.push(c);
        }
        let mut refused = 0;
        for _ in 0..20 {
            arena.inputs += 1;
            match Client::connect_from(addr, FLOODER, &options).await {
                Err(_) => refused += 1,
                Ok(mut c) => assert_eq!(c.recv().await, None, "a fifth connection was served"),
            }
        }
        assert_eq!(refused, 20);
        arena.canary_works().await;
        // Another address is served while the flooder is capped.
        let mut other = arena.connect().await;
        assert!(is_greeting(&other.call(HELLO).await));

        // Raw TCP connections that never start TLS, from a third address.
        let mut silent = Vec::new();
        for _ in 0..4 {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.bind((SILENT, 0).into()).unwrap();
            silent.push(socket.connect(addr).await.unwrap());
        }
        for mut s in silent {
            arena.inputs += 1;
            let mut buf = [0u8; 16];
            let read = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
                .await
                .expect("closed at the handshake timeout");
            assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        arena.canary_works().await;

        // The held connections are closed at the pre-login deadline, cleanly.
        for mut c in held {
            c.expect_clean_close().await;
        }
        assert!(started.elapsed() >= Duration::from_millis(1500));
        // The flooder's slots are free again.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Ok(mut c) = Client::connect_from(addr, FLOODER, &options).await
                && c.recv().await.is_some_and(|g| is_greeting(&g))
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the flooder's slots were not freed"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        arena.canary_works().await;
        assert_eq!(
            arena
                .target
                .server()
                .metric("epp_refusals_total{reason=\"connections_per_ip\"}")
                .await,
            Some(20.0)
        );
    });
}

/// Every command before login is refused with 2002 and changes nothing; the connection
/// can still log in afterwards.
#[test]
fn commands_before_login_are_refused_2002() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut arena = Arena::new(&db, &[]).await;
        let mut client = arena.connect().await;
        let commands = [
            domain_cmd("check", "<domain:name>example.no</domain:name>", "PRE-1"),
            domain_info("example.no", "PRE-2"),
            domain_cmd(
                "delete",
                "<domain:name>example.no</domain:name>",
                "PRE-3",
            ),
            domain_cmd(
                "update",
                "<domain:name>example.no</domain:name><domain:chg><domain:authInfo><domain:pw>Stolen+Code1</domain:pw></domain:authInfo></domain:chg>",
                "PRE-4",
            ),
            domain_cmd(
                "renew",
                "<domain:name>example.no</domain:name><domain:curExpDate>2025-06-01</domain:curExpDate>",
                "PRE-5",
            ),
            command(
                &format!(r#"<transfer op="query"><domain:transfer xmlns:domain="{DOMAIN_NS}"><domain:name>example.no</domain:name></domain:transfer></transfer>"#),
                "PRE-6",
            ),
            contact_cmd("info", "<contact:id>ACME1O</contact:id>", "PRE-7"),
            host_cmd("info", "<host:name>ns1.example.com</host:name>", "PRE-8"),
            host_cmd("create", "<host:name>ns9.example.com</host:name>", "PRE-9"),
            poll_req("PRE-10"),
        ];
        for doc in &commands {
            arena.answered(&mut client, "before login", doc.as_bytes(), Some(2002)).await;
        }
        arena.canary_works().await;
        let reply = client.call(&login("reg2", "secret-2", "PRE-LOGIN")).await;
        assert_eq!(code(&reply), Some(1000), "{reply}");
        let reply = client
            .call(&host_cmd("info", "<host:name>ns9.example.com</host:name>", "PRE-11"))
            .await;
        assert_eq!(code(&reply), Some(2303), "the create before login left a host: {reply}");
    });
}

/// reg2 and reg3 go after reg1's domain, contact and host: info shows no authInfo,
/// transforms are refused with 2201 (a wrong transfer code with 2202), cancelling
/// another registrar's pending transfer is refused; reg1's objects are unchanged.
#[test]
fn another_registrars_objects_are_protected() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut arena = Arena::new(&db, &[]).await;
        let mut reg2 = arena.session("reg2").await;

        arena.inputs += 1;
        let reply = reg2.call(&domain_info("example.no", "OTHER-1")).await;
        assert_eq!(code(&reply), Some(1000), "{reply}");
        assert!(!reply.contains("authInfo"), "{reply}");
        assert!(!reply.contains("Transfer+Code1"), "{reply}");

        let cases: Vec<(&str, String, u16)> = vec![
            (
                "domain info with a wrong transfer code",
                domain_cmd(
                    "info",
                    "<domain:name>example.no</domain:name><domain:authInfo><domain:pw>Wrong+Code1</domain:pw></domain:authInfo>",
                    "OTHER-2",
                ),
                2202,
            ),
            (
                "domain update",
                domain_cmd(
                    "update",
                    "<domain:name>example.no</domain:name><domain:chg><domain:authInfo><domain:pw>Stolen+Code1</domain:pw></domain:authInfo></domain:chg>",
                    "OTHER-3",
                ),
                2201,
            ),
            (
                "domain delete",
                domain_cmd("delete", "<domain:name>example.no</domain:name>", "OTHER-4"),
                2201,
            ),
            (
                "domain renew",
                domain_cmd(
                    "renew",
                    "<domain:name>example.no</domain:name><domain:curExpDate>2025-06-01</domain:curExpDate><domain:period unit=\"y\">1</domain:period>",
                    "OTHER-5",
                ),
                2201,
            ),
            (
                "transfer cancel of a domain with no transfer pending",
                command(
                    &format!(r#"<transfer op="cancel"><domain:transfer xmlns:domain="{DOMAIN_NS}"><domain:name>example.no</domain:name></domain:transfer></transfer>"#),
                    "OTHER-6",
                ),
                2301,
            ),
            (
                "contact info",
                contact_cmd("info", "<contact:id>ACME1O</contact:id>", "OTHER-7"),
                2201,
            ),
            (
                "contact update",
                contact_cmd(
                    "update",
                    "<contact:id>ACME1O</contact:id><contact:chg><contact:email>evil@example.com</contact:email></contact:chg>",
                    "OTHER-8",
                ),
                2201,
            ),
            (
                "contact delete",
                contact_cmd("delete", "<contact:id>ACME1O</contact:id>", "OTHER-9"),
                2201,
            ),
            (
                "host update",
                host_cmd(
                    "update",
                    "<host:name>ns1.example.com</host:name><host:chg><host:name>ns1.evil.com</host:name></host:chg>",
                    "OTHER-10",
                ),
                2201,
            ),
            (
                "host delete",
                host_cmd("delete", "<host:name>ns1.example.com</host:name>", "OTHER-11"),
                2201,
            ),
        ];
        for (label, doc, expected) in &cases {
            arena.answered(&mut reg2, label, doc.as_bytes(), Some(*expected)).await;
            arena.canary_works().await;
        }

        // reg2 asks for a transfer of example.no (a token goes to the holder); reg3 may not
        // cancel it, reg2 may.
        let request = command(
            &format!(r#"<transfer op="request"><domain:transfer xmlns:domain="{DOMAIN_NS}"><domain:name>example.no</domain:name></domain:transfer></transfer>"#),
            "OTHER-12",
        );
        let reply = reg2.call(&request).await;
        assert_eq!(code(&reply), Some(1001), "{reply}");
        let cancel = |trid: &str| {
            command(
                &format!(r#"<transfer op="cancel"><domain:transfer xmlns:domain="{DOMAIN_NS}"><domain:name>example.no</domain:name></domain:transfer></transfer>"#),
                trid,
            )
        };
        let mut reg3 = arena.session("reg3").await;
        arena
            .answered(&mut reg3, "transfer cancel of another's request", cancel("OTHER-13").as_bytes(), Some(2201)).await;
        let reply = reg2.call(&cancel("OTHER-14")).await;
        assert_eq!(code(&reply), Some(1000), "{reply}");

        // reg1's objects are as they were.
        arena.canary_works().await;
        let reply = arena
            .canary
            .call(&contact_cmd("info", "<contact:id>ACME1O</contact:id>", "OTHER-15"))
            .await;
        assert_eq!(code(&reply), Some(1000), "{reply}");
        assert!(reply.contains("<contact:email>post@acme.no</contact:email>"), "{reply}");
        let reply = arena
            .canary
            .call(&host_cmd("info", "<host:name>ns1.example.com</host:name>", "OTHER-16"))
            .await;
        assert_eq!(code(&reply), Some(1000), "{reply}");
        assert!(reply.contains("<host:clID>reg1</host:clID>"), "{reply}");
    });
}

/// SQL metacharacters (quotes, comments, statement separators, placeholders of both
/// dialects, LIKE wildcards, backslashes) for the free-text fields; each fits the field's
/// length limit.
const SQL: [&str; 9] = [
    "'; DROP TABLE contacts; --",
    "\" OR \"1\"=\"1",
    "Robert'); DELETE FROM domains WHERE ('1'='1",
    "\\'; SELECT pg_sleep(5); --",
    "%_* ?1 $1 :name @p0 /* x */ `y`",
    "' UNION SELECT data FROM registrars --",
    "Ø'æ\"å;\\0 <&> é \u{1F600}",
    "x'||(SELECT 1)||'",
    "');COMMIT;ROLLBACK;--",
];

/// Metacharacter strings within the characters Norid allows in a transfer code (no quotes,
/// spaces or hyphens, but backslashes, semicolons, comments, wildcards and placeholders).
const SQL_CODE: [&str; 2] = ["x\\;DROP/**/TABLE;%_$1?1&lt;#@:=", "Code\\;%_$2?2<&>,.+!*"];

/// Short metacharacter strings for fields of at most 16 characters (postcodes).
const SQL_SHORT: [&str; 2] = ["';--%_\\\"$1?1", "1' OR '1'='1"];

/// XML-escapes text content.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The text of every `<tag>` element of `xml` (attributes allowed), unescaped.
fn texts(xml: &str, tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(at) = rest.find(&format!("<{tag}")) {
        let after = &rest[at + tag.len() + 1..];
        let Some(gt) = after.find('>') else { break };
        if !(after.starts_with('>') || after.starts_with(' ')) || after[..gt].ends_with('/') {
            rest = after;
            continue;
        }
        let body = &after[gt + 1..];
        let end = body.find(&format!("</{tag}>")).unwrap();
        out.push(unescape(&body[..end]));
        rest = &body[end..];
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let semi = rest[at..].find(';').unwrap() + at;
        let name = &rest[at + 1..semi];
        out.push(match name {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            n if n.starts_with("#x") => {
                char::from_u32(u32::from_str_radix(&n[2..], 16).unwrap()).unwrap()
            }
            n => char::from_u32(n[1..].parse().unwrap()).unwrap(),
        });
        rest = &rest[semi + 1..];
    }
    out.push_str(rest);
    out
}

/// The created contact's id from a `<contact:creData>`.
fn created_id(reply: &str) -> String {
    texts(reply, "contact:id").pop().unwrap()
}

fn postal_info(f: &[&str; 7], pc: &str) -> String {
    format!(
        r#"<contact:postalInfo type="loc"><contact:name>{}</contact:name><contact:org>{}</contact:org><contact:addr><contact:street>{}</contact:street><contact:street>{}</contact:street><contact:street>{}</contact:street><contact:city>{}</contact:city><contact:sp>{}</contact:sp><contact:pc>{}</contact:pc><contact:cc>SE</contact:cc></contact:addr></contact:postalInfo>"#,
        esc(f[0]),
        esc(f[1]),
        esc(f[2]),
        esc(f[3]),
        esc(f[4]),
        esc(f[5]),
        esc(f[6]),
        esc(pc),
    )
}

/// Asserts that a contact info shows the postal fields `f` and postcode `pc`, verbatim.
fn assert_postal(reply: &str, f: &[&str; 7], pc: &str) {
    assert_eq!(code(reply), Some(1000), "{reply}");
    assert_eq!(texts(reply, "contact:name"), [f[0]], "{reply}");
    assert_eq!(texts(reply, "contact:org"), [f[1]], "{reply}");
    assert_eq!(
        texts(reply, "contact:street"),
        [f[2], f[3], f[4]],
        "{reply}"
    );
    assert_eq!(texts(reply, "contact:city"), [f[5]], "{reply}");
    assert_eq!(texts(reply, "contact:sp"), [f[6]], "{reply}");
    assert_eq!(texts(reply, "contact:pc"), [pc], "{reply}");
}

/// The transform's clTRID: a metacharacter string too (trimmed to the 64 characters a
/// clTRID may have), which the reply must echo verbatim.
fn trid(i: usize) -> String {
    SQL[i % SQL.len()].chars().take(60).collect::<String>() + &format!("#{i}")
}

async fn call_echo(client: &mut Client, doc: String, cl_trid: &str) -> String {
    let reply = client.call(&doc).await;
    assert_eq!(texts(&reply, "clTRID"), [cl_trid], "{reply}");
    reply
}

/// Row counts and the consistency checks the database offers: SQLite's integrity and
/// foreign-key checks, or the tables of the PostgreSQL schema.
async fn database_state(db: &Db) -> Vec<(String, i64)> {
    const TABLES: [&str; 9] = [
        "registrars",
        "contacts",
        "contact_links",
        "hosts",
        "host_contacts",
        "domains",
        "domain_contacts",
        "domain_hosts",
        "history",
    ];
    let mut counts = Vec::new();
    match db.pg() {
        None => {
            let conn = rusqlite::Connection::open_with_flags(
                db.data.join("registry.sqlite3"),
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .unwrap();
            let ok: String = conn
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(ok, "ok");
            let dangling: i64 = conn
                .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(dangling, 0, "foreign keys broken");
            for t in TABLES {
                let n: i64 = conn
                    .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                    .unwrap();
                counts.push((t.to_owned(), n));
            }
        }
        Some((url, schema)) => {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            for t in TABLES {
                let n: i64 = client
                    .query_one(&format!("SELECT count(*) FROM {schema}.{t}"), &[])
                    .await
                    .unwrap()
                    .get(0);
                counts.push((t.to_owned(), n));
            }
        }
    }
    counts
}

fn count(state: &[(String, i64)], table: &str) -> i64 {
    state.iter().find(|(t, _)| t == table).unwrap().1
}

/// SQL metacharacters in every string field of contact, domain and host create and
/// update (and in every clTRID): stored and read back byte for byte where the field takes
/// free text, refused with 2005 where its syntax does not allow them; the database stays
/// consistent, with exactly the rows the successful transforms added.
fn sql_metacharacters_are_stored_verbatim(db: &Db) {
    runtime().block_on(async {
        let mut arena = Arena::new(db, &[]).await;
        let before = database_state(db).await;
        let mut c = arena.session("reg2").await;
        let mut n = 0;
        let mut next = || {
            n += 1;
            trid(n)
        };

        // Contact create: every postal field, the org, the extension's free text.
        let fields = [SQL[0], SQL[1], SQL[2], SQL[3], SQL[4], SQL[5], SQL[6]];
        let t = next();
        let ext = format!(
            r#"<extension><no-ext-contact:create xmlns:no-ext-contact="{NO_EXT_CONTACT}"><no-ext-contact:type>organization</no-ext-contact:type><no-ext-contact:identity type="organizationNumber">985821585</no-ext-contact:identity></no-ext-contact:create></extension>"#
        );
        let inner = format!(
            "<contact:id>auto</contact:id>{}<contact:email>post@example.se</contact:email><contact:authInfo><contact:pw/></contact:authInfo>",
            postal_info(&fields, SQL_SHORT[0])
        );
        let doc = object_cmd("create", "contact", CONTACT_NS, &inner, &ext, &t);
        let reply = call_echo(&mut c, doc, &t).await;
        assert_eq!(code(&reply), Some(1000), "{reply}");
        let id = created_id(&reply);
        let t = next();
        let reply = call_echo(&mut c, contact_cmd("info", &format!("<contact:id>{id}</contact:id>"), &t), &t).await;
        assert_postal(&reply, &fields, SQL_SHORT[0]);

        // Contact update: every postal field changed to other metacharacter strings.
        let changed = [SQL[7], SQL[8], SQL[0], SQL[6], SQL[5], SQL[4], SQL[3]];
        let t = next();
        let reply = call_echo(
            &mut c,
            contact_cmd(
                "update",
                &format!(
                    "<contact:id>{id}</contact:id><contact:chg>{}</contact:chg>",
                    postal_info(&changed, SQL_SHORT[1])
                ),
                &t,
            ),
            &t,
        )
        .await;
        assert_eq!(code(&reply), Some(1000), "{reply}");
        let t = next();
        let reply = call_echo(&mut c, contact_cmd("info", &format!("<contact:id>{id}</contact:id>"), &t), &t).await;
        assert_postal(&reply, &changed, SQL_SHORT[1]);

        // Fields with a syntax of their own refuse the strings (2005), storing nothing; an
        // id is any token, so an info of one finds nothing (2303).
        for (label, verb, inner, expected) in [
            (
                "contact id",
                "info",
                format!("<contact:id>{}</contact:id>", esc("X';DROP--")),
                2303,
            ),
            (
                "e-mail",
                "update",
                format!(
                    "<contact:id>{id}</contact:id><contact:chg><contact:email>{}</contact:email></contact:chg>",
                    esc("a'; DROP TABLE x;--@example.no")
                ),
                2005,
            ),
            (
                "voice",
                "update",
                format!(
                    "<contact:id>{id}</contact:id><contact:chg><contact:voice>{}</contact:voice></contact:chg>",
                    esc("+47.1'--")
                ),
                2005,
            ),
        ] {
            let t = next();
            let reply = call_echo(&mut c, contact_cmd(verb, &inner, &t), &t).await;
            assert_eq!(code(&reply), Some(expected), "{label}: {reply}");
        }

        // Domain create: the transfer code and the applicant's accept name.
        let t = next();
        let reply = call_echo(
            &mut c,
            domain_create("sql-test.no", "BETA2O", SQL_CODE[0], SQL[0], &t),
            &t,
        )
        .await;
        assert_eq!(code(&reply), Some(1000), "{reply}");
        let t = next();
        let reply = call_echo(&mut c, domain_cmd("info", "<domain:name>sql-test.no</domain:name>", &t), &t).await;
        assert_eq!(code(&reply), Some(1000), "{reply}");
        assert_eq!(texts(&reply, "domain:pw"), [SQL_CODE[0]], "{reply}");
        assert_eq!(texts(&reply, "no-ext-domain:acceptName"), [SQL[0]], "{reply}");

        // Domain update: both again.
        let t = next();
        let inner = format!(
            "<domain:name>sql-test.no</domain:name><domain:chg><domain:authInfo><domain:pw>{}</domain:pw></domain:authInfo></domain:chg>",
            esc(SQL_CODE[1])
        );
        let ext = format!(
            r#"<extension><no-ext-domain:update xmlns:no-ext-domain="{NO_EXT_DOMAIN}"><no-ext-domain:chg><no-ext-domain:applicantDataset><no-ext-domain:versionNumber>3.2</no-ext-domain:versionNumber><no-ext-domain:acceptName>{}</no-ext-domain:acceptName><no-ext-domain:acceptDate>2024-11-30T10:00:00Z</no-ext-domain:acceptDate></no-ext-domain:applicantDataset></no-ext-domain:chg></no-ext-domain:update></extension>"#,
            esc(SQL[2])
        );
        let doc = object_cmd("update", "domain", DOMAIN_NS, &inner, &ext, &t);
        let reply = call_echo(&mut c, doc, &t).await;
        assert_eq!(code(&reply), Some(1000), "{reply}");
        let t = next();
        let reply = call_echo(&mut c, domain_cmd("info", "<domain:name>sql-test.no</domain:name>", &t), &t).await;
        assert_eq!(texts(&reply, "domain:pw"), [SQL_CODE[1]], "{reply}");
        assert_eq!(texts(&reply, "no-ext-domain:acceptName"), [SQL[2]], "{reply}");

        // Names refuse them (2005: domain and host names, host renames); a contact id is
        // any token, so a registrant of metacharacters is looked up and not found (2303).
        let evil_host = format!("<host:name>{}</host:name>", esc("ns1.x';--.no"));
        let evil_rename = format!(
            "<host:name>ns1.other.net</host:name><host:chg><host:name>{}</host:name></host:chg>",
            esc("ns'--.other.net")
        );
        let refusals = [
            (
                "domain name",
                domain_create(&esc("x'--.no"), "BETA2O", "Code+1234", "A", "SQL-DN"),
                2005,
            ),
            ("host name", host_cmd("create", &evil_host, "SQL-HN"), 2005),
            ("host rename", host_cmd("update", &evil_rename, "SQL-HR"), 2005),
            (
                "registrant",
                domain_create("sql-test2.no", &esc("A';--"), "Code+1234", "A", "SQL-RG"),
                2303,
            ),
        ];
        for (label, doc, expected) in refusals {
            let reply = c.call(&doc).await;
            assert_eq!(code(&reply), Some(expected), "{label}: {reply}");
        }

        // Host create and update with an ordinary name, metacharacter clTRIDs.
        let t = next();
        let reply = call_echo(&mut c, host_cmd("create", "<host:name>ns1.sql-test.no</host:name><host:addr ip=\"v4\">193.0.0.11</host:addr>", &t), &t).await;
        assert_eq!(code(&reply), Some(1000), "{reply}");
        let t = next();
        let reply = call_echo(&mut c, host_cmd("update", "<host:name>ns1.sql-test.no</host:name><host:add><host:addr ip=\"v4\">193.0.0.12</host:addr></host:add>", &t), &t).await;
        // An address change waits for the registry's DNS check (1001, a late response).
        assert_eq!(code(&reply), Some(1001), "{reply}");
        arena.inputs += n as u32 + 4;
        arena.canary_works().await;

        // Exactly the rows of the successful transforms were added; nothing else changed.
        let after = database_state(db).await;
        assert_eq!(count(&after, "contacts"), count(&before, "contacts") + 1);
        assert_eq!(count(&after, "domains"), count(&before, "domains") + 1);
        assert_eq!(count(&after, "hosts"), count(&before, "hosts") + 1);
        assert_eq!(count(&after, "registrars"), count(&before, "registrars"));
        assert_eq!(count(&after, "history"), count(&before, "history") + 6);
        assert!(count(&after, "domain_contacts") > count(&before, "domain_contacts"));
    });
}

fn domain_create(
    name: &str,
    registrant: &str,
    pw: &str,
    accept_name: &str,
    cl_trid: &str,
) -> String {
    format!(
        r#"{EPP}<command><create><domain:create xmlns:domain="{DOMAIN_NS}"><domain:name>{name}</domain:name><domain:period unit="y">1</domain:period><domain:ns><domain:hostObj>ns1.other.net</domain:hostObj><domain:hostObj>ns1.example.com</domain:hostObj></domain:ns><domain:registrant>{registrant}</domain:registrant><domain:contact type="tech">ROLE2R</domain:contact><domain:authInfo><domain:pw>{}</domain:pw></domain:authInfo></domain:create></create><extension><no-ext-domain:create xmlns:no-ext-domain="{NO_EXT_DOMAIN}"><no-ext-domain:applicantDataset><no-ext-domain:versionNumber>3.2</no-ext-domain:versionNumber><no-ext-domain:acceptName>{}</no-ext-domain:acceptName><no-ext-domain:acceptDate>2024-11-30T10:00:00Z</no-ext-domain:acceptDate></no-ext-domain:applicantDataset></no-ext-domain:create></extension><clTRID>{}</clTRID></command></epp>"#,
        esc(pw),
        esc(accept_name),
        esc(cl_trid),
    )
}

on_both_backends!(sql_metacharacters_are_stored_verbatim);
