//! EPP over TLS against the real binary: client documents, result codes, fixtures loaded
//! into the registry database, and [`TlsTarget`], which runs epp-session's C:/S: scripts
//! over TLS against a started `epp-server`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use epp_norid_ext::{EXT_URIS, NoridServerDoc, OBJ_URIS};
use epp_server::store::AnyStore;
use epp_session::lifecycle::LifecycleReport;
use epp_session::store::model::CertFingerprint;
use epp_session::testing::ScriptTarget;
use epp_session::testing::script::{RunOutcome, Script};
use epp_xml::Timestamp;

use crate::db::{Db, runtime};
use crate::harness::{Client, ClientOptions, Server};

/// `<hello/>`.
pub(crate) const HELLO: &str = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>"#;

/// A login declaring every service the greeting announces.
pub(crate) fn login(id: &str, pw: &str, cl_trid: &str) -> String {
    login_doc(id, pw, None, cl_trid)
}

/// A login that sets a new password (`<newPW>`).
pub(crate) fn login_new_pw(id: &str, pw: &str, new_pw: &str, cl_trid: &str) -> String {
    login_doc(id, pw, Some(new_pw), cl_trid)
}

fn login_doc(id: &str, pw: &str, new_pw: Option<&str>, cl_trid: &str) -> String {
    let mut s = format!(
        r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><login><clID>{id}</clID><pw>{pw}</pw>"#
    );
    if let Some(n) = new_pw {
        s.push_str(&format!("<newPW>{n}</newPW>"));
    }
    s.push_str("<options><version>1.0</version><lang>en</lang></options><svcs>");
    for o in OBJ_URIS {
        s.push_str(&format!("<objURI>{o}</objURI>"));
    }
    s.push_str("<svcExtension>");
    for e in EXT_URIS {
        s.push_str(&format!("<extURI>{e}</extURI>"));
    }
    s.push_str(&format!(
        "</svcExtension></svcs></login><clTRID>{cl_trid}</clTRID></command></epp>"
    ));
    s
}

/// `<logout/>`.
pub(crate) fn logout(cl_trid: &str) -> String {
    format!(
        r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><logout/><clTRID>{cl_trid}</clTRID></command></epp>"#
    )
}

/// `<poll op="req"/>`.
pub(crate) fn poll_req(cl_trid: &str) -> String {
    format!(
        r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><poll op="req"/><clTRID>{cl_trid}</clTRID></command></epp>"#
    )
}

/// `<domain:info>` of `name`.
pub(crate) fn domain_info(name: &str, cl_trid: &str) -> String {
    format!(
        r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><info><domain:info xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>{name}</domain:name></domain:info></info><clTRID>{cl_trid}</clTRID></command></epp>"#
    )
}

/// `<host:check>` of `name`.
pub(crate) fn host_check(name: &str, cl_trid: &str) -> String {
    format!(
        r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><check><host:check xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:name>{name}</host:name></host:check></check><clTRID>{cl_trid}</clTRID></command></epp>"#
    )
}

/// `<host:create>` of an external host (no addresses).
pub(crate) fn host_create(name: &str, cl_trid: &str) -> String {
    format!(
        r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><create><host:create xmlns:host="urn:ietf:params:xml:ns:host-1.0"><host:name>{name}</host:name></host:create></create><clTRID>{cl_trid}</clTRID></command></epp>"#
    )
}

/// The result code of a response; `None` for a greeting or a document that does not
/// decode as a response.
pub(crate) fn code(reply: &str) -> Option<u16> {
    match epp_norid_ext::decode_response(reply.as_bytes()) {
        Ok(NoridServerDoc::Response(r)) => r.results.first().map(|x| x.code.code()),
        _ => None,
    }
}

/// Whether the document is a greeting (checked with the strict response decoder).
pub(crate) fn is_greeting(reply: &str) -> bool {
    matches!(
        epp_norid_ext::decode_response(reply.as_bytes()),
        Ok(NoridServerDoc::Greeting(_))
    )
}

/// The directory of epp-session's C:/S: scripts.
pub(crate) fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../epp-session/testdata/sessions")
}

/// `../shared` (seed exchanges): `$EPP_SHARED_DIR`, else beside the repository.
pub(crate) fn shared_dir() -> Option<PathBuf> {
    let p = std::env::var_os("EPP_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    p.is_dir().then_some(p)
}

/// The clock of epp-session's harness before a script sets one.
const HARNESS_CLOCK: &str = "2024-01-01T12:00:00Z";

/// The first `@clock` of a script (following `@include`s), or the harness's default: where
/// the server's registry clock starts when the script runs over TLS (a seed script logs in
/// before its first `@clock`, at the time of Norid's capture).
pub(crate) fn first_clock(path: &Path) -> Timestamp {
    fn scan(path: &Path) -> Option<Timestamp> {
        let text = std::fs::read_to_string(path).unwrap();
        for line in text.lines() {
            if let Some(t) = line.strip_prefix("@clock ") {
                return Some(Timestamp::parse(t.trim()).unwrap());
            }
            if let Some(file) = line.strip_prefix("@include ")
                && let Some(t) = scan(&path.parent().unwrap().join(file.trim()))
            {
                return Some(t);
            }
        }
        None
    }
    scan(path).unwrap_or_else(|| Timestamp::parse(HARNESS_CLOCK).unwrap())
}

fn system_now() -> Timestamp {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros();
    Timestamp::from_unix_micros(i64::try_from(micros).unwrap())
}

/// A registry database with `epp-server` started on it when first needed, driven over
/// TLS: a [`ScriptTarget`] for epp-session's scripts, and the server under test for the
/// tests that talk to it directly.
///
/// Fixtures go into the database through the store opened from the test (the server and
/// the test share the SQLite file or the PostgreSQL schema). The server starts at the
/// first connection, with its registry clock set (`testing.clock_offset`) to
/// [`TlsTarget::server_clock`]; it cannot follow later `@clock` steps or scripted
/// randomness, so [`ScriptTarget::exact`] is false and the runner treats svTRIDs and
/// timestamps in expected documents as wildcards. Script options become configuration
/// overrides and must come before the first connection.
pub(crate) struct TlsTarget<'a> {
    db: &'a Db,
    store: AnyStore,
    now: Timestamp,
    server_clock: Option<Timestamp>,
    env: Vec<(String, String)>,
    server: Option<Server>,
    options: Option<ClientOptions>,
    conns: BTreeMap<String, Client>,
}

impl<'a> TlsTarget<'a> {
    /// A target on `db` (whose store is opened from the test) at the harness clock.
    pub(crate) async fn new(db: &'a Db) -> TlsTarget<'a> {
        TlsTarget {
            db,
            store: db.store().await,
            now: Timestamp::parse(HARNESS_CLOCK).unwrap(),
            server_clock: None,
            env: Vec::new(),
            server: None,
            options: None,
            conns: BTreeMap::new(),
        }
    }

    /// A target with epp-session's shared registry fixtures (`fixtures/registry.inc`:
    /// registrars reg1 and reg2 with contacts, hosts and domains), the server's registry
    /// clock starting at their time (2024-12-01T10:00:00Z).
    pub(crate) async fn registry(db: &'a Db) -> TlsTarget<'a> {
        let path = scripts_dir().join("fixtures/registry.inc");
        let mut target = TlsTarget::new(db)
            .await
            .with_server_clock(first_clock(&path));
        target
            .fixtures(&std::fs::read_to_string(&path).unwrap())
            .await;
        target
    }

    /// Starts the server's registry clock at `t` (and sets the script clock to it).
    pub(crate) fn with_server_clock(mut self, t: Timestamp) -> Self {
        self.server_clock = Some(t);
        self.now = t;
        self
    }

    /// Adds configuration overrides for the server.
    pub(crate) fn with_env(mut self, env: &[(&str, &str)]) -> Self {
        self.env
            .extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        self
    }

    /// Loads fixture lines of the script format (`@registrar`, `@contact`, `@domain`,
    /// `@host`, `@poll`, `@clock`) into the database.
    pub(crate) async fn fixtures(&mut self, text: &str) {
        let script = Script::parse("fixtures", text).unwrap();
        script.run(self, None).await.unwrap();
    }

    /// Starts the server now if it is not running.
    pub(crate) fn start(&mut self) -> &Server {
        if self.server.is_none() {
            let mut env = self.db.env();
            // The test reads the outbox itself (`@token`): nothing delivers it here.
            env.push(("EPP_SERVER__NOTIFY__METHOD".into(), "off".into()));
            if let Some(t) = self.server_clock {
                let ms = (t.unix_micros() - system_now().unix_micros()) / 1000;
                let sign = if ms < 0 { "-" } else { "+" };
                env.push((
                    "EPP_SERVER__TESTING__CLOCK_OFFSET".into(),
                    format!("{sign}{}ms", ms.unsigned_abs()),
                ));
            }
            env.extend(self.env.iter().cloned());
            let server = Server::start(&env);
            // The development CA, unless the test configured certificates of its own.
            let ca = self.db.data.join("dev-tls").join("ca.pem");
            self.options = ca.exists().then(|| ClientOptions::trusting_file(&ca));
            self.server = Some(server);
        }
        self.server.as_ref().unwrap()
    }

    /// The running server.
    pub(crate) fn server(&self) -> &Server {
        self.server.as_ref().expect("the server was started")
    }

    /// The running server, to signal it and wait for its exit.
    pub(crate) fn server_mut(&mut self) -> &mut Server {
        self.server.as_mut().expect("the server was started")
    }

    /// A new connection and its greeting.
    pub(crate) async fn connect(&mut self) -> (Client, String) {
        let addr = self.start().epp;
        Client::open(addr, self.options.as_ref().unwrap()).await
    }

    /// The server's log so far (empty before it started).
    pub(crate) fn log_text(&self) -> String {
        self.server
            .as_ref()
            .map(Server::log_text)
            .unwrap_or_default()
    }
}

impl ScriptTarget for TlsTarget<'_> {
    type Store = AnyStore;

    fn store(&self) -> &AnyStore {
        &self.store
    }

    fn exact(&self) -> bool {
        false
    }

    fn now(&self) -> Timestamp {
        self.now
    }

    fn set_now(&mut self, now: Timestamp) {
        self.now = now;
    }

    fn push_random(&mut self, _chunk: Vec<u8>) {
        // The server draws from the operating system; exact() is false.
    }

    fn poll_id_floor(&mut self, _next: u64) -> bool {
        false
    }

    fn set_option(&mut self, key: &str, value: &str) -> Result<(), String> {
        if self.server.is_some() {
            return Err(format!(
                "@option {key} after the server started: put options before the first C:"
            ));
        }
        let var = match key {
            "commands_per_session"
            | "max_failed_logins"
            | "max_check_names"
            | "prelogin_timeout"
            | "idle_timeout" => format!("LIMITS__{key}"),
            "sessions_max" => "LIMITS__SESSIONS_PER_REGISTRAR_MAX".to_owned(),
            "replay_window" | "renew_data" | "server_id" | "sv_trid_suffix" => {
                format!("SESSION__{key}")
            }
            "rate_check_info_poll" => "RATE_LIMITS__CHECK_INFO_POLL".to_owned(),
            "rate_create" => "RATE_LIMITS__CREATE".to_owned(),
            _ => return Err(format!("unknown option {key}")),
        };
        self.env.push((
            format!("EPP_SERVER__{}", var.to_ascii_uppercase()),
            value.to_owned(),
        ));
        Ok(())
    }

    async fn open(
        &mut self,
        session: &str,
        client_cert: Option<CertFingerprint>,
    ) -> Result<Vec<u8>, String> {
        if client_cert.is_some() {
            return Err(
                "a TLS client cannot present a certificate of a given fingerprint; \
                        certificate pins are tested with real certificates"
                    .into(),
            );
        }
        let addr = self.start().epp;
        let mut client = Client::connect(addr, self.options.as_ref().unwrap())
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let greeting = client.recv_bytes().await.ok_or("no greeting")?;
        self.conns.insert(session.to_owned(), client);
        Ok(greeting)
    }

    async fn send(&mut self, session: &str, document: &[u8]) -> Result<(Vec<u8>, bool), String> {
        let client = self
            .conns
            .get_mut(session)
            .ok_or_else(|| format!("session {session} is not open"))?;
        client.send_bytes(document).await;
        let reply = client
            .recv_bytes()
            .await
            .ok_or_else(|| format!("session {session}: the server closed without a reply"))?;
        // 1500 and 2500-2502 end the session: the server must close the connection
        // cleanly (close_notify), sending nothing more.
        let closing = match epp_norid_ext::decode_response(&reply) {
            Ok(NoridServerDoc::Response(r)) => r
                .results
                .first()
                .is_some_and(|x| matches!(x.code.code(), 1500 | 2500..=2502)),
            _ => false,
        };
        if closing {
            client.expect_clean_close().await;
            self.conns.remove(session);
        }
        Ok((reply, closing))
    }

    fn is_open(&self, session: &str) -> bool {
        self.conns.contains_key(session)
    }

    fn fire_timers(&mut self, _session: &str) -> bool {
        // The server's timers run on its own clock; the timeout tests wait for them.
        false
    }

    async fn lifecycle(&mut self) -> Result<LifecycleReport, String> {
        Err("the server runs the lifecycle on its scheduler (see the lifecycle tests)".into())
    }
}

/// Runs one of epp-session's scripts over TLS against `epp-server` on `db`, the server's
/// registry clock starting at the script's first `@clock`.
pub(crate) fn run_script(file: &str, db: &Db) {
    let path = scripts_dir().join(file);
    let script = Script::load(&path).unwrap();
    let shared = shared_dir();
    let (result, log) = runtime().block_on(async {
        let mut target = TlsTarget::new(db)
            .await
            .with_server_clock(first_clock(&path));
        let result = script.run(&mut target, shared.as_deref()).await;
        (result, target.log_text())
    });
    match result {
        Ok(RunOutcome::Passed { exchanges }) => assert!(exchanges > 0, "{file}: nothing sent"),
        Ok(RunOutcome::Skipped(why)) => eprintln!("NOTICE: {why}"),
        Err(e) => panic!("{e}\n\nserver log:\n{log}"),
    }
}
