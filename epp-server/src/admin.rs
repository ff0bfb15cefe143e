//! The admin subcommands that work on the registry database: `migrate`, `backup`,
//! `registrar …`, `registrant invalidate`, `zone export`, `history` and the
//! test-environment `domain set-expiry`.
//!
//! Each opens the configured store (applying pending migrations, as `serve` does), commits
//! one change set as a registry job (`ChangeMeta.registrar = None`, command
//! `admin:<what>`, so the store records it in history), prints one line on standard
//! output, and exits. Secrets are read from standard input or a file, never from the
//! command line, and never printed. Exit status: 0 done (also when nothing needed
//! changing), 1 failure (configuration, database), 2 invalid argument, 3 refused (no
//! such object, already exists, not allowed in this mode).

use std::io::{BufRead, IsTerminal, Read, Write as _};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use epp_session::lifecycle;
use epp_session::store::model::{
    CertFingerprint, HistoryEntry, NewRegistrar, ObjectKey, PasswordInput, Registrar,
    RegistrarChange, WITHDRAWN_REGISTRAR,
};
use epp_session::store::{Change, ChangeMeta, ChangeSet, Store, StoreError};
use epp_xml::{ClientId, ContactId, Date, DomainName, HostName, Password, Timestamp};

use crate::clock::RegistryClock;
use crate::config::{Config, Mode};
use crate::database::open_store;
use crate::error::Error;
use crate::store::{self, AnyStore, BackupError, StoreConfig};

/// `epp-server registrar …`
#[derive(Debug, Subcommand)]
pub(crate) enum RegistrarCommand {
    /// Create a registrar account (its password from --password-stdin or --password-file).
    Add {
        /// The client id (clID) the registrar logs in with: 3-16 characters, e.g. reg9094.
        id: String,
        /// A display name for operators.
        #[arg(long, default_value = "")]
        name: String,
        /// Most concurrent sessions (Norid: 0-9); default limits.sessions_per_registrar.
        #[arg(long, value_name = "N")]
        session_limit: Option<u32>,
        /// Pin a client certificate by SHA-256 fingerprint (repeatable).
        #[arg(long = "pin", value_name = "SHA256")]
        pins: Vec<String>,
        /// Create the account disabled (enable it later with `registrar enable`).
        #[arg(long)]
        disabled: bool,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// List registrar accounts (no secrets).
    List,
    /// Refuse new logins of a registrar (sessions already open run on to their end).
    Disable {
        /// The client id.
        id: String,
    },
    /// Allow a disabled registrar to log in again.
    Enable {
        /// The client id.
        id: String,
    },
    /// Replace a registrar's password at once (a pending login newPW is dropped).
    SetPassword {
        /// The client id.
        id: String,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Pin a client certificate: the registrar must present it at login.
    PinCertificate {
        /// The client id.
        id: String,
        #[command(flatten)]
        certificate: CertificateSource,
    },
    /// Remove a pinned client certificate.
    Unpin {
        /// The client id.
        id: String,
        #[command(flatten)]
        certificate: CertificateSource,
    },
    /// Set how many sessions a registrar may hold at once (Norid: 0-9; 0 refuses every
    /// login), at most limits.sessions_per_registrar_max.
    SessionLimit {
        /// The client id.
        id: String,
        /// The limit.
        limit: u32,
    },
}

/// `epp-server domain …`
#[derive(Debug, Subcommand)]
pub(crate) enum DomainCommand {
    /// Test environments only: set a domain's expiry date (recorded in history), so renew
    /// windows and lifecycle steps can be exercised. Refused in production mode.
    SetExpiry {
        /// The domain name, e.g. example.no.
        name: String,
        /// The new expiry: YYYY-MM-DD (keeping the time of day) or an xs:dateTime such as
        /// 2026-01-31T12:00:00Z.
        expiry: String,
    },
}

/// `epp-server registrant …`
#[derive(Debug, Subcommand)]
pub(crate) enum RegistrantCommand {
    /// The holder no longer qualifies (e.g. an organization struck from Enhetsregisteret):
    /// mark it (it can take no new domain) and start the deletion process for all its
    /// domains (out of the DNS in 30 days, deleted in 60), sending each sponsor Norid's
    /// invalid-registrant-started poll message. Recorded in the history of the contact and
    /// of each domain.
    Invalidate {
        /// The holder's contact id, e.g. ACME1O.
        contact: String,
    },
}

/// The kind of record `epp-server history` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum HistoryKind {
    /// A domain, by name.
    Domain,
    /// A contact, by id.
    Contact,
    /// A host, by name.
    Host,
    /// A registrar account, by id.
    Registrar,
}

/// `epp-server zone …`
#[derive(Debug, Subcommand)]
pub(crate) enum ZoneCommand {
    /// Write the delegations of a zone as the registry holds them (NS and DS of every
    /// delegated domain, glue of its name servers under it) as a master-file fragment to
    /// include in the zone file; domains held, quarantined, past their deleteFromDNS day or
    /// without name servers are left out.
    Export {
        /// The zone: `no`, or one of Norid's zones such as `oslo.no` or `priv.no`.
        #[arg(default_value = "no", conflicts_with = "all")]
        zone: String,
        /// Every zone's delegations, in one fragment.
        #[arg(long)]
        all: bool,
        /// Write to FILE (replaced in one step, never seen half-written) instead of
        /// standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// Where a password comes from: never the command line, where other users and shell
/// history would see it.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct PasswordSource {
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    /// Read the password from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

/// A certificate fingerprint, given or computed from a PEM file.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct CertificateSource {
    /// The SHA-256 fingerprint: 64 hex digits, optionally colon-separated (as `openssl
    /// x509 -noout -fingerprint -sha256` prints it).
    #[arg(value_name = "SHA256")]
    sha256: Option<String>,
    /// Compute the fingerprint of the first certificate in this PEM file instead.
    #[arg(long, value_name = "PEM")]
    cert_file: Option<PathBuf>,
}

/// `epp-server migrate`: applies pending migrations and says what was done.
pub(crate) fn migrate(config: &Config) -> Result<(), Error> {
    let store_config = config.store_config()?;
    let label = config.database_label();
    let report = runtime()?
        .block_on(store::migrate(&store_config))
        .map_err(|source| Error::Database {
            database: label.clone(),
            source,
        })?;
    match report.applied.as_slice() {
        [] => println!("{label}: schema up to date (version {})", report.version),
        applied => println!(
            "{label}: applied migration{} {}; schema version {}",
            if applied.len() == 1 { "" } else { "s" },
            applied
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            report.version
        ),
    }
    Ok(())
}

/// `epp-server backup FILE`: a hot copy of the SQLite database, checked, and what it holds.
pub(crate) fn backup(config: &Config, to: &Path) -> Result<(), Error> {
    let StoreConfig::Sqlite(sqlite) = config.store_config()? else {
        return Err(Error::Refused(
            "backup copies the embedded SQLite database; back up PostgreSQL with pg_dump \
             or PostgreSQL's own base backups"
                .into(),
        ));
    };
    let label = config.database_label();
    let b = store::backup_sqlite(&sqlite.path, to).map_err(|e| match e {
        BackupError::NoDatabase(_) | BackupError::DestinationExists(_) => {
            Error::Refused(e.to_string())
        }
        BackupError::DestinationName(_) => Error::InvalidArgument(e.to_string()),
        e => Error::Backup {
            database: label.clone(),
            source: e,
        },
    })?;
    println!(
        "{label}: backup written to {} ({} bytes, schema version {}; {} registrars, \
         {} domains, {} contacts, {} hosts; integrity ok)",
        to.display(),
        b.bytes,
        b.schema_version,
        b.registrars,
        b.domains,
        b.contacts,
        b.hosts
    );
    Ok(())
}

/// `epp-server registrar …`
pub(crate) fn registrar(config: &Config, command: RegistrarCommand) -> Result<(), Error> {
    // Arguments and secrets are read and checked before the database is touched.
    let clock = RegistryClock::new(config.testing.clock_offset);
    match command {
        RegistrarCommand::Add {
            id,
            name,
            session_limit,
            pins,
            disabled,
            password,
        } => {
            let id = client_id(&id)?;
            let limit = session_limit.unwrap_or(config.limits.sessions_per_registrar);
            check_session_limit(config, limit)?;
            let cert_pins = pins
                .iter()
                .map(|p| fingerprint(p))
                .collect::<Result<_, _>>()?;
            if name.chars().any(char::is_control) {
                return Err(Error::InvalidArgument(
                    "--name must not contain control characters".into(),
                ));
            }
            let password = read_password(&password)?;
            let new = NewRegistrar {
                id: id.clone(),
                name,
                password: PasswordInput::Clear(password),
                cert_pins,
                session_limit: limit,
                enabled: !disabled,
            };
            let pinned = new.cert_pins.len();
            with_store(config, |store| async move {
                let set = meta(clock, "admin:registrar-add").with(Change::CreateRegistrar(new));
                match store.commit(set).await {
                    Ok(_) => {}
                    Err(StoreError::AlreadyExists(_)) => {
                        return Err(Error::Refused(format!("registrar {id} already exists")));
                    }
                    Err(source) => {
                        return Err(Error::store(format!("adding registrar {id}"), source));
                    }
                }
                println!(
                    "registrar {id} added ({}, session limit {limit}, {pinned} pinned \
                     certificate{})",
                    if disabled { "disabled" } else { "enabled" },
                    if pinned == 1 { "" } else { "s" }
                );
                Ok(())
            })
        }
        RegistrarCommand::List => with_store(config, |store| async move {
            let registrars = store
                .registrars()
                .await
                .map_err(|source| Error::store("listing registrars", source))?;
            print!("{}", registrar_table(&registrars));
            Ok(())
        }),
        RegistrarCommand::Disable { id } => set_enabled(config, clock, &id, false),
        RegistrarCommand::Enable { id } => set_enabled(config, clock, &id, true),
        RegistrarCommand::SetPassword { id, password } => {
            let id = changeable_id(&id)?;
            let password = read_password(&password)?;
            with_store(config, |store| async move {
                existing(&store, &id).await?;
                let change = RegistrarChange::SetPassword(PasswordInput::Clear(password));
                update(&store, clock, &id, change, "admin:registrar-set-password").await?;
                println!("password of registrar {id} replaced");
                Ok(())
            })
        }
        RegistrarCommand::PinCertificate { id, certificate } => {
            let id = changeable_id(&id)?;
            let fp = certificate_fingerprint(&certificate)?;
            with_store(config, |store| async move {
                let r = existing(&store, &id).await?;
                if r.cert_pins.contains(&fp) {
                    println!("certificate {fp} was already pinned for registrar {id}");
                    return Ok(());
                }
                let change = RegistrarChange::PinCertificate(fp);
                update(&store, clock, &id, change, "admin:registrar-pin").await?;
                println!(
                    "certificate {fp} pinned for registrar {id} ({} pinned)",
                    r.cert_pins.len() + 1
                );
                Ok(())
            })
        }
        RegistrarCommand::Unpin { id, certificate } => {
            let id = changeable_id(&id)?;
            let fp = certificate_fingerprint(&certificate)?;
            with_store(config, |store| async move {
                let r = existing(&store, &id).await?;
                if !r.cert_pins.contains(&fp) {
                    return Err(Error::Refused(format!(
                        "certificate {fp} is not pinned for registrar {id}"
                    )));
                }
                let change = RegistrarChange::UnpinCertificate(fp);
                update(&store, clock, &id, change, "admin:registrar-unpin").await?;
                println!(
                    "certificate {fp} unpinned for registrar {id} ({} pinned)",
                    r.cert_pins.len() - 1
                );
                Ok(())
            })
        }
        RegistrarCommand::SessionLimit { id, limit } => {
            let id = changeable_id(&id)?;
            check_session_limit(config, limit)?;
            with_store(config, |store| async move {
                let r = existing(&store, &id).await?;
                if r.session_limit != limit {
                    let change = RegistrarChange::SetSessionLimit(limit);
                    update(&store, clock, &id, change, "admin:registrar-session-limit").await?;
                }
                println!(
                    "session limit of registrar {id} is {limit} (was {})",
                    r.session_limit
                );
                Ok(())
            })
        }
    }
}

/// `epp-server domain …`
pub(crate) fn domain(config: &Config, command: DomainCommand) -> Result<(), Error> {
    match command {
        DomainCommand::SetExpiry { name, expiry } => set_expiry(config, &name, &expiry),
    }
}

fn set_expiry(config: &Config, name: &str, expiry: &str) -> Result<(), Error> {
    if config.mode == Mode::Production {
        return Err(Error::Refused(
            "domain set-expiry is a test-environment command and is refused in production \
             mode"
                .into(),
        ));
    }
    let name = DomainName::new(name)
        .map_err(|e| Error::InvalidArgument(format!("invalid domain name: {e}")))?;
    let target = parse_expiry(expiry)?;
    let clock = RegistryClock::new(config.testing.clock_offset);
    with_store(config, |store| async move {
        // A session may update the domain meanwhile: read again and retry on a conflict.
        for _ in 0..5 {
            let Some(mut domain) = store
                .domain(&name)
                .await
                .map_err(|source| Error::store(format!("reading domain {name}"), source))?
            else {
                return Err(Error::Refused(format!("no domain {name}")));
            };
            let before = domain.ex_date;
            domain.ex_date = target.resolve(before)?;
            let after = domain.ex_date;
            if after == before {
                println!("expiry of {name} is already {after}");
                return Ok(());
            }
            let set = meta(clock, "admin:domain-set-expiry").with(Change::UpdateDomain(domain));
            match store.commit(set).await {
                Ok(_) => {
                    println!("expiry of {name} set to {after} (was {before}); recorded in history");
                    return Ok(());
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(StoreError::NotFound(_)) => {
                    return Err(Error::Refused(format!("no domain {name}")));
                }
                Err(source) => {
                    return Err(Error::store(
                        format!("setting the expiry of {name}"),
                        source,
                    ));
                }
            }
        }
        Err(Error::store(
            format!("setting the expiry of {name}"),
            StoreError::Conflict(epp_session::store::ObjectKey::Domain(name.clone())),
        ))
    })
}

/// `epp-server registrant …`
pub(crate) fn registrant(config: &Config, command: RegistrantCommand) -> Result<(), Error> {
    let clock = RegistryClock::new(config.testing.clock_offset);
    match command {
        RegistrantCommand::Invalidate { contact } => {
            let id = ContactId::new(contact.as_str())
                .map_err(|e| Error::InvalidArgument(format!("invalid contact id: {e}")))?;
            with_store(config, |store| async move {
                let done = match lifecycle::invalidate_registrant(&store, clock.now(), &id).await {
                    Ok(done) => done,
                    Err(StoreError::NotFound(_)) => {
                        return Err(Error::Refused(format!("no contact {id}")));
                    }
                    Err(source) => {
                        return Err(Error::store(format!("invalidating holder {id}"), source));
                    }
                };
                match done.domains.as_slice() {
                    [] => println!(
                        "no deletion started: holder {id} holds no domains, or they are in \
                         the deletion process already; it is marked as no longer qualifying \
                         (it can take no new domain)"
                    ),
                    names => println!(
                        "deletion started for {} domain{} of holder {id}: out of the DNS on {}, \
                         deleted on {} (earlier dates kept): {}; sponsors notified; recorded \
                         in history",
                        names.len(),
                        if names.len() == 1 { "" } else { "s" },
                        done.delete_from_dns,
                        done.delete_from_registry,
                        names
                            .iter()
                            .map(DomainName::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
                Ok(())
            })
        }
    }
}

/// `epp-server zone export [ZONE] [--output FILE]`: the fragment on standard output, or
/// written to a temporary file beside FILE and renamed over it; the summary on standard
/// error (standard output carries the zone) or standard output (with `--output`).
pub(crate) fn zone(config: &Config, command: ZoneCommand) -> Result<(), Error> {
    let clock = RegistryClock::new(config.testing.clock_offset);
    let ZoneCommand::Export { zone, all, output } = command;
    let zone = match all {
        true => None,
        false => Some(
            epp_session::zone::zone(&zone).map_err(|e| Error::InvalidArgument(e.to_string()))?,
        ),
    };
    let label = zone.map_or_else(|| "every zone".to_owned(), |z| format!("zone {}", z.ace()));
    let target = output
        .clone()
        .unwrap_or_else(|| PathBuf::from("standard output"));
    with_store(config, |store| async move {
        let now = clock.now();
        let io = |source| Error::Io {
            what: "cannot write the zone to",
            path: target.clone(),
            source,
        };
        let failed = |e: epp_session::zone::ExportError| match e {
            epp_session::zone::ExportError::Store(source) => {
                Error::store(format!("exporting {label}"), source)
            }
            epp_session::zone::ExportError::Io(source) => io(source),
            e => Error::InvalidArgument(e.to_string()),
        };
        let summary = match &output {
            None => {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                let summary = epp_session::zone::export(&store, zone, now, &mut out)
                    .await
                    .map_err(failed)?;
                out.flush().map_err(io)?;
                summary
            }
            Some(path) => {
                // Beside the target, so that the rename stays on one file system.
                let mut name = path.as_os_str().to_owned();
                name.push(format!(".tmp-{}", std::process::id()));
                let temp = PathBuf::from(name);
                let written: Result<_, Error> = async {
                    let file = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&temp)
                        .map_err(io)?;
                    let mut out = std::io::BufWriter::new(file);
                    let summary = epp_session::zone::export(&store, zone, now, &mut out)
                        .await
                        .map_err(failed)?;
                    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
                    file.sync_all().map_err(io)?;
                    std::fs::rename(&temp, path).map_err(io)?;
                    Ok(summary)
                }
                .await;
                if written.is_err() {
                    let _ = std::fs::remove_file(&temp);
                }
                written?
            }
        };
        let line = format!(
            "{label}: {} delegations ({} domains not delegated), {} NS, {} DS, {} glue records{}",
            summary.delegated,
            summary.not_delegated,
            summary.ns,
            summary.ds,
            summary.glue,
            output
                .as_ref()
                .map(|p| format!(", written to {}", p.display()))
                .unwrap_or_default()
        );
        match output {
            Some(_) => println!("{line}"),
            None => eprintln!("{line}"),
        }
        Ok(())
    })
}

/// `epp-server history KIND KEY [--json]`: every recorded change of the record, oldest
/// first, one line each (when, command, by whom, trIDs, the fields that changed), or as
/// JSON lines with the record before and after. Transfer codes are never shown.
pub(crate) fn history(
    config: &Config,
    kind: HistoryKind,
    key: &str,
    json: bool,
) -> Result<(), Error> {
    let bad = |what: &str, e: &dyn std::fmt::Display| {
        Error::InvalidArgument(format!("invalid {what}: {e}"))
    };
    let object = match kind {
        HistoryKind::Domain => {
            ObjectKey::Domain(DomainName::new(key).map_err(|e| bad("domain name", &e))?)
        }
        HistoryKind::Contact => {
            ObjectKey::Contact(ContactId::new(key).map_err(|e| bad("contact id", &e))?)
        }
        HistoryKind::Host => ObjectKey::Host(HostName::new(key).map_err(|e| bad("host name", &e))?),
        HistoryKind::Registrar => ObjectKey::Registrar(client_id(key)?),
    };
    with_store(config, |store| async move {
        let entries = store
            .history(&object)
            .await
            .map_err(|source| Error::store(format!("reading the history of {object}"), source))?;
        if entries.is_empty() {
            return Err(Error::Refused(format!("no history for {object}")));
        }
        let mut out = std::io::stdout().lock();
        for e in &entries {
            let line = match json {
                true => history_json(e),
                false => history_line(e),
            };
            writeln!(out, "{line}").map_err(|source| Error::Io {
                what: "cannot write the history to",
                path: "standard output".into(),
                source,
            })?;
        }
        Ok(())
    })
}

/// One history entry in words: `<time> <command> by <registrar> (clTRID .., svTRID ..):
/// <what changed>`.
fn history_line(e: &HistoryEntry) -> String {
    let by = e
        .registrar
        .as_ref()
        .map_or_else(|| "the registry".to_owned(), ToString::to_string);
    let trids = match (&e.cl_trid, &e.sv_trid) {
        (None, None) => String::new(),
        (c, s) => format!(
            " (clTRID {}, svTRID {})",
            c.as_ref().map_or("-", |c| c.as_str()),
            s.as_ref().map_or("-", |s| s.as_str())
        ),
    };
    let what = match (&e.before, &e.after) {
        (None, Some(_)) => "created".to_owned(),
        (Some(_), None) => "deleted".to_owned(),
        (Some(before), Some(after)) => {
            let changed = changed_fields(before, after);
            match changed.is_empty() {
                true => "no field changed".to_owned(),
                false => format!("changed {}", changed.join(", ")),
            }
        }
        (None, None) => "-".to_owned(),
    };
    format!("{} {} by {by}{trids}: {what}", e.time, e.command)
}

/// The top-level fields that differ between two JSON forms of a record, in name order.
fn changed_fields(before: &str, after: &str) -> Vec<String> {
    let parse = |s: &str| match serde_json::from_str::<serde_json::Value>(s) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let (before, after) = (parse(before), parse(after));
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| {
            // An absent member and a null one are the same value.
            let null = serde_json::Value::Null;
            before.get(*k).unwrap_or(&null) != after.get(*k).unwrap_or(&null)
        })
        .cloned()
        .collect()
}

/// One history entry as a JSON object, with the record before and after; a transfer code
/// (`authInfo`, at any depth) shows as `"(hidden)"`.
fn history_json(e: &HistoryEntry) -> String {
    let record = |s: &Option<String>| {
        s.as_deref().map_or(serde_json::Value::Null, |s| {
            let mut v =
                serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.to_owned()));
            hide_auth_info(&mut v);
            v
        })
    };
    serde_json::json!({
        "id": e.id,
        "time": e.time.to_string(),
        "command": e.command,
        "registrar": e.registrar.as_ref().map(ClientId::as_str),
        "clTRID": e.cl_trid.as_ref().map(|c| c.as_str()),
        "svTRID": e.sv_trid.as_ref().map(|s| s.as_str()),
        "roid": e.roid.as_ref().map(|r| r.as_str()),
        "before": record(&e.before),
        "after": record(&e.after),
    })
    .to_string()
}

fn hide_auth_info(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if k == "authInfo" && !v.is_null() {
                    *v = serde_json::Value::String("(hidden)".into());
                } else {
                    hide_auth_info(v);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(hide_auth_info),
        _ => {}
    }
}

/// A new expiry: an instant, or a date that keeps the current time of day.
#[derive(Debug, Clone, Copy)]
enum Expiry {
    At(Timestamp),
    On(Date),
}

impl Expiry {
    fn resolve(self, current: Timestamp) -> Result<Timestamp, Error> {
        match self {
            Self::At(t) => Ok(t),
            Self::On(date) => {
                let (h, m, s, us) = current.time_of_day();
                Timestamp::from_parts(date, h, m, s, us)
                    .map_err(|e| Error::InvalidArgument(format!("invalid expiry: {e}")))
            }
        }
    }
}

fn parse_expiry(s: &str) -> Result<Expiry, Error> {
    let bad = |e: epp_xml::ValueError| {
        Error::InvalidArgument(format!(
            "invalid expiry {s:?}: {e} (use YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)"
        ))
    };
    match s.len() {
        10 => Date::parse(s).map(Expiry::On).map_err(bad),
        _ => Timestamp::parse(s).map(Expiry::At).map_err(bad),
    }
}

fn set_enabled(config: &Config, clock: RegistryClock, id: &str, on: bool) -> Result<(), Error> {
    let id = changeable_id(id)?;
    let word = if on { "enabled" } else { "disabled" };
    with_store(config, |store| async move {
        let r = existing(&store, &id).await?;
        if r.enabled == on {
            println!("registrar {id} was already {word}");
            return Ok(());
        }
        let command = if on {
            "admin:registrar-enable"
        } else {
            "admin:registrar-disable"
        };
        update(&store, clock, &id, RegistrarChange::SetEnabled(on), command).await?;
        println!("registrar {id} {word}");
        Ok(())
    })
}

/// Opens the store on a small runtime and runs `f` with it.
fn with_store<F, Fut>(config: &Config, f: F) -> Result<(), Error>
where
    F: FnOnce(AnyStore) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    // A short-lived writer: it would read every domain name for nothing, and hold the
    // running server's check cache off while it lives (docs/check-cache.md).
    let mut config = config.clone();
    config.database.check_cache = false;
    runtime()?.block_on(async {
        let store = open_store(&config).await?;
        f(store).await
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

fn meta(clock: RegistryClock, command: &str) -> ChangeSet {
    ChangeSet::new(ChangeMeta {
        registrar: None,
        time: clock.now(),
        cl_trid: None,
        sv_trid: None,
        command: command.into(),
    })
}

async fn existing(store: &AnyStore, id: &ClientId) -> Result<Registrar, Error> {
    store
        .registrar(id)
        .await
        .map_err(|source| Error::store(format!("reading registrar {id}"), source))?
        .ok_or_else(|| Error::Refused(format!("no registrar {id}")))
}

async fn update(
    store: &AnyStore,
    clock: RegistryClock,
    id: &ClientId,
    change: RegistrarChange,
    command: &str,
) -> Result<(), Error> {
    let set = meta(clock, command).with(Change::UpdateRegistrar {
        id: id.clone(),
        change,
    });
    match store.commit(set).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound(_)) => Err(Error::Refused(format!("no registrar {id}"))),
        Err(source) => Err(Error::store(format!("changing registrar {id}"), source)),
    }
}

fn client_id(id: &str) -> Result<ClientId, Error> {
    ClientId::new(id).map_err(|e| Error::InvalidArgument(format!("invalid client id: {e}")))
}

/// A client id that admin commands may change: not the registry's `reg0`.
fn changeable_id(id: &str) -> Result<ClientId, Error> {
    let id = client_id(id)?;
    if id.as_str() == WITHDRAWN_REGISTRAR {
        return Err(Error::Refused(format!(
            "{WITHDRAWN_REGISTRAR} holds withdrawn domains for the registry; it never logs in \
             and admin commands do not change it"
        )));
    }
    Ok(id)
}

fn check_session_limit(config: &Config, limit: u32) -> Result<(), Error> {
    let max = config.limits.sessions_per_registrar_max;
    match limit <= max {
        true => Ok(()),
        false => Err(Error::InvalidArgument(format!(
            "session limit {limit} is above limits.sessions_per_registrar_max ({max}); Norid \
             allows 0-9"
        ))),
    }
}

fn fingerprint(s: &str) -> Result<CertFingerprint, Error> {
    s.trim().parse().map_err(|_| {
        Error::InvalidArgument(format!(
            "invalid SHA-256 fingerprint {s:?}: expected 64 hex digits, optionally \
             colon-separated"
        ))
    })
}

fn certificate_fingerprint(source: &CertificateSource) -> Result<CertFingerprint, Error> {
    match (&source.sha256, &source.cert_file) {
        (Some(hex), _) => fingerprint(hex),
        (None, Some(path)) => Ok(crate::tls::certificate_file_fingerprint(path)?),
        // clap's group makes one of them required.
        (None, None) => Err(Error::InvalidArgument(
            "give a SHA-256 fingerprint or --cert-file".into(),
        )),
    }
}

/// The most bytes read looking for a password line.
const PASSWORD_INPUT_LIMIT: u64 = 4096;

fn read_password(source: &PasswordSource) -> Result<Password, Error> {
    let (line, from) = match &source.password_file {
        Some(path) => (read_password_file(path)?, format!("in {}", path.display())),
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprint!("password (6-16 characters; input is shown), then Enter: ");
            }
            let mut line = String::new();
            stdin
                .lock()
                .take(PASSWORD_INPUT_LIMIT)
                .read_line(&mut line)
                .map_err(|source| Error::Io {
                    what: "cannot read the password from",
                    path: PathBuf::from("standard input"),
                    source,
                })?;
            (line, "on standard input".to_owned())
        }
    };
    let line = first_line(&line);
    if line.is_empty() {
        return Err(Error::InvalidArgument(format!("no password {from}")));
    }
    // ValueError names the rule and the length, never the value.
    Password::new(line)
        .map_err(|e| Error::InvalidArgument(format!("the password {from} is not valid: {e}")))
}

fn read_password_file(path: &Path) -> Result<String, Error> {
    use std::os::unix::fs::PermissionsExt;
    let io = |source| Error::Io {
        what: "cannot read the password file",
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    if file
        .metadata()
        .is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
    {
        eprintln!(
            "warning: {} can be read by other users; consider chmod 600",
            path.display()
        );
    }
    let mut text = String::new();
    file.take(PASSWORD_INPUT_LIMIT)
        .read_to_string(&mut text)
        .map_err(io)?;
    Ok(text)
}

/// The first line without its line ending.
fn first_line(text: &str) -> &str {
    let line = text.split('\n').next().unwrap_or("");
    line.strip_suffix('\r').unwrap_or(line)
}

/// The `registrar list` table: one row per registrar, aligned columns, no secrets.
fn registrar_table(registrars: &[Registrar]) -> String {
    let header = [
        "ID",
        "ENABLED",
        "SESSIONS",
        "CREATED",
        "PINNED CERTIFICATES",
        "NAME",
    ];
    let rows: Vec<[String; 6]> = registrars
        .iter()
        .map(|r| {
            let pins = match r.cert_pins.is_empty() {
                true => "-".to_owned(),
                false => r
                    .cert_pins
                    .iter()
                    .map(CertFingerprint::to_hex)
                    .collect::<Vec<_>>()
                    .join(","),
            };
            [
                r.id.to_string(),
                if r.enabled { "yes" } else { "no" }.to_owned(),
                r.session_limit.to_string(),
                r.created.to_string(),
                pins,
                r.name.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut push_row = |cells: &[&str]| {
        let last = cells.len() - 1;
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = widths[i] - cell.chars().count() + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    };
    push_row(&header);
    for row in &rows {
        push_row(&row.each_ref().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_line_of_password_input_counts() {
        assert_eq!(first_line("s3cret-pw\n"), "s3cret-pw");
        assert_eq!(first_line("s3cret-pw\r\nsecond"), "s3cret-pw");
        assert_eq!(first_line("s3cret-pw"), "s3cret-pw");
        assert_eq!(first_line(""), "");
    }

    #[test]
    fn expiry_takes_a_date_or_an_instant() {
        let current = Timestamp::parse("2025-03-01T22:15:00Z").unwrap();
        let on = parse_expiry("2026-01-31")
            .unwrap()
            .resolve(current)
            .unwrap();
        assert_eq!(on, Timestamp::parse("2026-01-31T22:15:00Z").unwrap());
        let at = parse_expiry("2026-01-31T08:00:00+01:00")
            .unwrap()
            .resolve(current)
            .unwrap();
        assert_eq!(at, Timestamp::parse("2026-01-31T07:00:00Z").unwrap());
        for bad in ["2026-02-30", "tomorrow", "2026-01-31T25:00:00Z"] {
            assert!(
                matches!(parse_expiry(bad), Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn fingerprints_are_accepted_with_or_without_colons() {
        let plain = "AB".repeat(32);
        let colons = vec!["ab"; 32].join(":");
        assert_eq!(fingerprint(&plain).unwrap(), fingerprint(&colons).unwrap());
        assert!(matches!(fingerprint("abc"), Err(Error::InvalidArgument(_))));
    }

    #[test]
    fn reg0_is_not_changeable() {
        assert!(matches!(changeable_id("reg0"), Err(Error::Refused(_))));
        assert!(changeable_id("reg9094").is_ok());
        assert!(matches!(changeable_id("x"), Err(Error::InvalidArgument(_))));
    }
}
