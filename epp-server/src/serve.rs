//! The serve path: certificates, listeners, the accept loops, the metrics endpoint,
//! certificate reloads, signals and graceful shutdown, generic over the protocol that a
//! [`Wiring`] plugs in.

use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use epp_xml::Timestamp;
use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::clock::RegistryClock;
use crate::config::{Config, Mode};
use crate::connection::{self, DriverLimits, Shared};
use crate::database::{self, DemoState};
use crate::error::{ConfigError, Error};
use crate::limits::{ConnectionLimiter, RateLimiter, SessionRegistry};
use crate::metrics::{self, Metrics};
use crate::notify::{self, Notifier, Outbox, OutboxWaker};
use crate::protocol::HandlerFactory;
use crate::store::AnyStore;
use crate::task::{Shutdown, run_periodic};
use crate::tls::dev::{self, DemoRegistrar};
use crate::tls::{self, FileStamp, ReloadingCert};

/// Plugs a protocol into the serve path: builds the [`HandlerFactory`] once the
/// configuration, the opened store, certificates, metrics and shared limits exist, before
/// any listener is bound. This is where the session gets wired in.
pub trait Wiring {
    /// The factory serving connections.
    type Factory: HandlerFactory;

    /// Builds the factory: take the store ([`ServeContext::store`]), the limits and the
    /// clock from `ctx`, start the registry's periodic jobs
    /// ([`ServeContext::spawn_scheduled`]), and optionally replace the outbox notifier
    /// ([`ServeContext::set_notifier`]). The store is open and migrated, and in
    /// development mode the demo registrar exists, before this is called.
    ///
    /// # Errors
    ///
    /// Any [`Error`]; the server then exits without listening.
    fn build(self, ctx: &mut ServeContext) -> impl Future<Output = Result<Self::Factory, Error>>;
}

/// What the serve path hands to a [`Wiring`]: configuration, the opened store, and the
/// shared services a session uses.
#[derive(Debug)]
pub struct ServeContext {
    config: Arc<Config>,
    store: AnyStore,
    sessions: SessionRegistry,
    rate_limiter: RateLimiter,
    metrics: Metrics,
    clock: RegistryClock,
    demo_registrar: Option<DemoRegistrar>,
    demo_state: Option<DemoState>,
    demo_confirmed: bool,
    shutdown: Shutdown,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
    notifier: Option<Arc<dyn Notifier>>,
    outbox: OutboxWaker,
}

impl ServeContext {
    /// The validated configuration.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// The registry store (`[database]`), opened and migrated. Clone it into every
    /// connection's session: clones share the SQLite writer or the PostgreSQL pool.
    pub fn store(&self) -> &AnyStore {
        &self.store
    }

    /// Per-registrar session counts across all connections.
    pub fn sessions(&self) -> &SessionRegistry {
        &self.sessions
    }

    /// Per-registrar rate limits across all connections.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.rate_limiter
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The registry clock (system time plus `testing.clock_offset`).
    pub fn clock(&self) -> RegistryClock {
        self.clock
    }

    /// The development demo registrar: `Some` in development mode only. The serve path
    /// has already created it in the store (with the password kept under
    /// `data_dir/dev/`), so the wiring need not.
    pub fn demo_registrar(&self) -> Option<&DemoRegistrar> {
        self.demo_registrar.as_ref()
    }

    /// The shutdown signal, for tasks the wiring starts itself.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Wakes the outbox delivery at once; give it to the sessions, which call
    /// [`OutboxWaker::wake`] after a commit that queued notifications.
    pub fn outbox_waker(&self) -> OutboxWaker {
        self.outbox.clone()
    }

    /// Replaces the notifier that delivers the outbox (by default the one
    /// `notify.method` selects); `None` turns delivery off in this process.
    pub fn set_notifier(&mut self, notifier: Option<Arc<dyn Notifier>>) {
        self.notifier = notifier;
    }

    /// Starts a background task that the server waits for at shutdown (within
    /// `limits.shutdown_grace`, after which it is cancelled). The task should watch
    /// [`ServeContext::shutdown`] and end soon after it triggers.
    pub fn spawn_task<F>(&mut self, name: &'static str, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.tasks.push((name, tokio::spawn(task)));
    }

    /// Runs a registry job every `scheduler.interval` (the first run at start) with the
    /// registry time (the test-environment offset included), until shutdown; see
    /// [`run_periodic`] for overlap, failure and shutdown behaviour. Does nothing but log
    /// when `scheduler.enabled` is false (another process runs the jobs).
    ///
    /// ```rust,ignore
    /// let store = ctx.store().clone();
    /// ctx.spawn_scheduled("lifecycle", move |now| {
    ///     let store = store.clone();
    ///     async move { epp_session::lifecycle::run(&store, now).await }
    /// });
    /// ```
    pub fn spawn_scheduled<F, Fut, E>(&mut self, name: &'static str, job: F)
    where
        F: FnMut(Timestamp) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Display + 'static,
    {
        let scheduler = &self.config.scheduler;
        if !scheduler.enabled {
            tracing::info!(
                task = name,
                "scheduler.enabled = false: this process does not run the job"
            );
            return;
        }
        tracing::info!(task = name, interval = %scheduler.interval, "scheduled job started");
        let runner = run_periodic(
            name,
            scheduler.interval.get(),
            self.clock,
            self.shutdown.clone(),
            self.metrics.clone(),
            job,
        );
        self.spawn_task(name, runner);
    }
}

/// Runs the server until SIGTERM or SIGINT, then shuts down gracefully.
///
/// # Errors
///
/// Startup failures: data directory, certificates, the wiring, binding, signals.
pub async fn serve<W: Wiring>(config: Config, wiring: W) -> Result<(), Error> {
    let config = Arc::new(config);
    std::fs::create_dir_all(&config.data_dir).map_err(|source| Error::Io {
        what: "cannot create data directory",
        path: config.data_dir.clone(),
        source,
    })?;
    tracing::info!(
        mode = %config.mode,
        data_dir = %config.data_dir.display(),
        version = env!("CARGO_PKG_VERSION"),
        "starting epp-server"
    );

    let provider = tls::provider();
    let (cert_path, key_path, dev_ca) = match (&config.tls.cert_chain, &config.tls.private_key) {
        (Some(cert), Some(key)) => (cert.clone(), key.clone(), None),
        _ if config.mode == Mode::Development => {
            let names = dev::server_names(&config.server.listen, &config.development.server_names);
            let files = dev::ensure_dev_tls(&config.data_dir, &names)?;
            match files.created {
                true => tracing::info!(
                    ca = %files.ca_cert.display(),
                    "created the development CA and server certificate"
                ),
                false => tracing::info!(
                    ca = %files.ca_cert.display(),
                    "using the existing development CA and server certificate"
                ),
            }
            (files.cert_chain, files.private_key, Some(files.ca_cert))
        }
        // Config::validate refuses this; kept so that no path serves without a certificate.
        _ => {
            return Err(ConfigError::Invalid {
                problems: vec!["tls.cert_chain and tls.private_key are required".into()],
            }
            .into());
        }
    };
    // Taken before loading, so that a replacement written from here on (even before the
    // reload watcher starts) counts as a change.
    let stamp = FileStamp::of(&[&cert_path, &key_path]);
    let resolver = Arc::new(ReloadingCert::load(cert_path, key_path, provider.clone())?);
    tracing::info!(fingerprint = %resolver.fingerprint(), "server certificate loaded");
    let acceptor = TlsAcceptor::from(Arc::new(tls::server_config(
        &config.tls,
        Arc::clone(&resolver),
        provider,
    )?));

    let metrics = Metrics::new();
    let clock = RegistryClock::new(config.testing.clock_offset);
    if !clock.offset().is_zero() {
        tracing::warn!(
            offset = %clock.offset(),
            "the registry clock is offset from the system clock (test environment)"
        );
    }
    let notifier = notify::notifier_from_config(&config.notify)?;
    if config.notify.method == crate::config::NotifyMethod::Log {
        tracing::warn!(
            "notify.method = \"log\": notifications are written to the log, not sent \
             (development only)"
        );
    }
    let store = database::open_store(&config).await?;
    metrics.watch_store(store.clone());
    let (demo_registrar, demo_state) = match config.mode {
        Mode::Development => {
            let demo = dev::demo_registrar(&config.data_dir, &config.development.demo_registrar)?;
            let state = database::ensure_demo_registrar(
                &store,
                &demo,
                config.limits.sessions_per_registrar,
                clock.now(),
            )
            .await?;
            match state {
                DemoState::Created => {
                    tracing::info!(registrar = %demo.client_id, "created the demo registrar")
                }
                DemoState::PasswordReset => tracing::warn!(
                    registrar = %demo.client_id,
                    "the demo registrar's password differed from data/dev/demo-password; reset"
                ),
                DemoState::Disabled => tracing::warn!(
                    registrar = %demo.client_id,
                    "the demo registrar is disabled in the store; left disabled"
                ),
                DemoState::Existing => {}
            }
            (Some(demo), Some(state))
        }
        // Production never creates accounts: registrars come from `registrar add`.
        Mode::Production => (None, None),
    };
    let (shutdown_tx, shutdown) = Shutdown::channel();
    let mut ctx = ServeContext {
        config: Arc::clone(&config),
        store,
        sessions: SessionRegistry::new(config.limits.sessions_per_registrar_max, metrics.clone()),
        rate_limiter: RateLimiter::new(
            config.rate_limits.check_info_poll,
            config.rate_limits.create,
        ),
        metrics: metrics.clone(),
        clock,
        demo_confirmed: demo_state.is_some_and(DemoState::usable),
        demo_registrar,
        demo_state,
        shutdown: shutdown.clone(),
        tasks: Vec::new(),
        notifier,
        outbox: OutboxWaker::default(),
    };
    let factory = Arc::new(wiring.build(&mut ctx).await?);
    if let Some(notifier) = ctx.notifier.clone() {
        let outbox = Outbox::new(
            ctx.store.clone(),
            notifier,
            &config.notify,
            clock,
            metrics.clone(),
            ctx.outbox.clone(),
        );
        ctx.spawn_task("outbox", outbox.run(shutdown.clone()));
    } else {
        tracing::info!("notify.method = \"off\": this process delivers no notifications");
    }
    let mut tasks = std::mem::take(&mut ctx.tasks);
    let shutdown_rx = shutdown.receiver();

    // Signal handlers exist before the "listening" line, so a signal sent as soon as it
    // appears is handled rather than killing the process.
    let mut signals = Signals::new()?;

    let mut listeners = Vec::with_capacity(config.server.listen.len());
    for addr in &config.server.listen {
        let listener = listen(*addr).map_err(|source| Error::Bind {
            addr: *addr,
            source,
        })?;
        listeners.push(listener);
    }
    let metrics_listener = match config.metrics.enabled {
        true => Some(
            TcpListener::bind(config.metrics.listen)
                .await
                .map_err(|source| Error::Bind {
                    addr: config.metrics.listen,
                    source,
                })?,
        ),
        false => None,
    };

    let limiter = ConnectionLimiter::new(
        config.limits.connections_per_ip,
        config.limits.max_connections,
    );
    let shared = Arc::new(Shared::new(
        acceptor,
        DriverLimits::new(config.tls.handshake_timeout.get(), &config.limits),
        metrics.clone(),
        clock,
        shutdown_rx.clone(),
    ));

    let mut epp_addrs = Vec::with_capacity(listeners.len());
    let mut accept_loops: Vec<JoinHandle<()>> = Vec::with_capacity(listeners.len());
    for listener in listeners {
        let addr = local_addr(&listener)?;
        tracing::info!(service = "epp", "listening on {addr}");
        epp_addrs.push(addr);
        accept_loops.push(tokio::spawn(accept_loop(
            listener,
            Arc::clone(&shared),
            Arc::clone(&factory),
            Arc::clone(&limiter),
            metrics.clone(),
            shutdown_rx.clone(),
        )));
    }
    let mut metrics_addr = None;
    if let Some(listener) = metrics_listener {
        let addr = local_addr(&listener)?;
        tracing::info!(service = "metrics", "listening on {addr}");
        metrics_addr = Some(addr);
        tokio::spawn(metrics::http::serve(
            listener,
            metrics.clone(),
            shutdown_rx.clone(),
        ));
    }
    tokio::spawn(watch_certificate(
        Arc::clone(&resolver),
        stamp,
        config.tls.reload_interval.get(),
        signals.take_hangup(),
        metrics.clone(),
        shutdown_rx.clone(),
    ));
    if let Some(ca) = dev_ca {
        print_dev_banner(&epp_addrs, &ca, metrics_addr, &ctx);
    }

    let signal = signals.terminate().await;
    tracing::info!(
        signal,
        grace = %config.limits.shutdown_grace,
        open_connections = limiter.total(),
        "shutting down: no new connections, commands in flight may finish"
    );
    // Receivers outlive this function in spawned tasks; a send error cannot happen while
    // `shutdown_rx` is alive here.
    let _ = shutdown_tx.send(true);
    let deadline = tokio::time::Instant::now() + config.limits.shutdown_grace.get();
    for handle in accept_loops {
        let _ = handle.await;
    }
    let mut hurried = false;
    let drained = tokio::select! {
        _ = limiter.wait_idle() => true,
        _ = tokio::time::sleep_until(deadline) => false,
        signal = signals.terminate() => {
            tracing::warn!(signal, "second signal: not waiting for connections");
            hurried = true;
            false
        }
    };
    if !drained {
        tracing::warn!(
            open_connections = limiter.total(),
            "shutdown grace period over; cutting the remaining connections"
        );
    }
    let finished = match hurried {
        true => false,
        false => wait_for_tasks(&mut tasks, deadline, &mut signals).await,
    };
    if !finished {
        for (name, handle) in &tasks {
            if !handle.is_finished() {
                tracing::warn!(task = name, "background task cut at shutdown");
                handle.abort();
            }
        }
    }
    if drained && finished {
        tracing::info!("shutdown complete");
    }
    drop(shutdown_rx);
    Ok(())
}

/// Waits for the background tasks until `deadline` or a second signal; returns whether
/// all ended.
async fn wait_for_tasks(
    tasks: &mut [(&'static str, JoinHandle<()>)],
    deadline: tokio::time::Instant,
    signals: &mut Signals,
) -> bool {
    let all = async {
        for (_, handle) in tasks.iter_mut() {
            // A task that panicked has ended too; the panic was already reported.
            let _ = handle.await;
        }
    };
    tokio::select! {
        () = all => true,
        _ = tokio::time::sleep_until(deadline) => false,
        signal = signals.terminate() => {
            tracing::warn!(signal, "second signal: not waiting for background tasks");
            false
        }
    }
}

async fn accept_loop<F: HandlerFactory>(
    listener: TcpListener,
    shared: Arc<Shared>,
    factory: Arc<F>,
    limiter: Arc<ConnectionLimiter>,
    metrics: Metrics,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(conn) => conn,
            Err(e) => {
                // Typically EMFILE: back off instead of spinning.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        metrics.connection_accepted();
        let permit = match limiter.try_acquire(peer.ip()) {
            Ok(permit) => permit,
            Err(refusal) => {
                metrics.record_refusal(refusal);
                tracing::debug!(%peer, reason = refusal.label(), "connection refused");
                // Dropping the socket closes it before any TLS work.
                drop(tcp);
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        tokio::spawn(connection::run(
            tcp,
            peer,
            permit,
            Arc::clone(&shared),
            Arc::clone(&factory),
        ));
    }
}

/// Reloads the server certificate on SIGHUP and when its files change.
async fn watch_certificate(
    resolver: Arc<ReloadingCert>,
    mut stamp: FileStamp,
    interval: Duration,
    mut hangup: Hangup,
    metrics: Metrics,
    mut shutdown: watch::Receiver<bool>,
) {
    let (cert, key) = resolver.paths();
    let (cert, key) = (cert.to_owned(), key.to_owned());
    let mut ticker = match interval.is_zero() {
        true => None,
        false => Some(tokio::time::interval_at(
            tokio::time::Instant::now() + interval,
            interval,
        )),
    };
    loop {
        let trigger = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            () = hangup.recv() => "SIGHUP",
            () = tick(&mut ticker) => {
                let now = FileStamp::of(&[&cert, &key]);
                if now == stamp {
                    continue;
                }
                "file change"
            }
        };
        stamp = FileStamp::of(&[&cert, &key]);
        match resolver.reload() {
            Ok(fingerprint) => {
                metrics.cert_reload(true);
                tracing::info!(trigger, %fingerprint, "server certificate reloaded");
            }
            Err(e) => {
                metrics.cert_reload(false);
                tracing::warn!(
                    trigger,
                    error = %e,
                    kept = %resolver.fingerprint(),
                    "server certificate reload failed; keeping the current certificate"
                );
            }
        }
    }
}

async fn tick(ticker: &mut Option<tokio::time::Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// The length of the EPP listeners' accept queue (the kernel caps it at
/// `net.core.somaxconn`). Tokio's `TcpListener::bind` asks for 1024; a burst of
/// handshakes that keeps the accept loop behind overflowed it in the connection-storm
/// benchmark, and the dropped SYNs cost clients a one-second retransmission.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds an EPP listener (address reuse on, as `TcpListener::bind` does on Unix).
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

fn local_addr(listener: &TcpListener) -> Result<SocketAddr, Error> {
    listener.local_addr().map_err(|source| Error::Io {
        what: "cannot read the bound address of a listener",
        path: Default::default(),
        source,
    })
}

fn print_dev_banner(
    epp: &[SocketAddr],
    ca: &std::path::Path,
    metrics: Option<SocketAddr>,
    ctx: &ServeContext,
) {
    let mut text =
        String::from("\nepp-server is running in DEVELOPMENT mode (never use it in production).\n");
    for addr in epp {
        text.push_str(&format!(
            "  EPP over TLS:    {addr} (host {}, port {})\n",
            addr.ip(),
            addr.port()
        ));
    }
    text.push_str(&format!("  CA certificate:  {}\n", ca.display()));
    if let Some(addr) = epp.first() {
        text.push_str(&format!(
            "  try:             openssl s_client -connect {addr} -CAfile {}\n",
            ca.display()
        ));
        text.push_str(
            "                   (checks TLS; EPP frames carry a 4-byte length header, so log in \
             with an EPP client)\n",
        );
    }
    match (&ctx.demo_registrar, ctx.demo_confirmed, ctx.demo_state) {
        (Some(demo), true, _) => text.push_str(&format!(
            "  demo registrar:  {} / password {}\n",
            demo.client_id,
            demo.password.as_str()
        )),
        (Some(demo), false, Some(DemoState::Disabled)) => text.push_str(&format!(
            "  demo registrar:  {} is disabled (epp-server registrar enable {})\n",
            demo.client_id, demo.client_id
        )),
        _ => text.push_str("  demo registrar:  none\n"),
    }
    if let Some(addr) = metrics {
        text.push_str(&format!("  metrics:         http://{addr}/metrics\n"));
    }
    println!("{text}");
}

/// SIGTERM/SIGINT (shutdown) and SIGHUP (certificate reload).
struct Signals {
    term: Signal,
    int: Signal,
    hangup: Option<Signal>,
}

impl Signals {
    fn new() -> Result<Self, Error> {
        let install = |kind| {
            signal(kind).map_err(|source| Error::Io {
                what: "cannot install a signal handler",
                path: Default::default(),
                source,
            })
        };
        Ok(Self {
            term: install(SignalKind::terminate())?,
            int: install(SignalKind::interrupt())?,
            hangup: Some(install(SignalKind::hangup())?),
        })
    }

    fn take_hangup(&mut self) -> Hangup {
        Hangup(self.hangup.take())
    }

    /// Waits for SIGTERM or SIGINT; returns the signal's name.
    async fn terminate(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// The SIGHUP stream.
struct Hangup(Option<Signal>);

impl Hangup {
    async fn recv(&mut self) {
        if let Some(signal) = &mut self.0
            && signal.recv().await.is_some()
        {
            return;
        }
        std::future::pending().await
    }
}
