//! C:/S: session scripts: fixtures, clock steps, client documents and expected responses,
//! run against a [`ScriptTarget`]. The format is described in
//! `epp-session/testdata/sessions/README.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use epp_norid_ext::{EXT_URIS, NoridResponseExt, NoridServerDoc, OBJ_URIS, ns as norid_ns};
use epp_xml::{ClientId, Password, ResponseExtension, Timestamp};

use super::xml::{Token, canonical, matches};
use super::{ScriptTarget, parse_duration};
use crate::store::model::{
    CertFingerprint, Contact, Domain, Host, NewPollMessage, NewRegistrar, PasswordInput,
    PollPayload,
};
use crate::store::{Change, ChangeMeta, ChangeSet, Store};

/// A parsed script.
#[derive(Debug, Clone)]
pub struct Script {
    /// Its name (the file name), for messages.
    pub name: String,
    steps: Vec<(usize, Step)>,
}

#[derive(Debug, Clone)]
enum Step {
    Clock(Timestamp),
    Advance(Duration),
    Random(Vec<u8>),
    Option(String, String),
    Registrar {
        id: String,
        password: String,
        sessions: u32,
        enabled: bool,
        pins: Vec<String>,
    },
    Object(ObjectFixture, String),
    Poll {
        registrar: String,
        count: u32,
        first_id: Option<u64>,
        text: String,
    },
    Session(String, Option<String>),
    Use(String),
    Lifecycle(Vec<(String, usize)>),
    InvalidateRegistrant(String, Option<usize>),
    Timers,
    Closed,
    Open,
    Token(String, Vec<(String, String)>),
    Outbox(usize),
    Expect {
        kind: ObjectFixture,
        key: String,
        fields: Vec<(String, String)>,
    },
    Exchange(Doc, Expected),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObjectFixture {
    Contact,
    Domain,
    Host,
}

#[derive(Debug, Clone)]
enum Doc {
    Seed(String),
    Inline(String),
    Login(Vec<String>),
    Logout(Option<String>),
    Hello,
}

#[derive(Debug, Clone)]
enum Expected {
    Seed {
        file: String,
        exact: bool,
    },
    Inline(String),
    Code {
        code: u16,
        conditions: Option<Vec<String>>,
        contains: Vec<String>,
    },
    Greeting,
    Same,
}

/// Why a script failed: where and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{script}:{line}: {message}")]
pub struct ScriptError {
    /// The script's name.
    pub script: String,
    /// The line of the step.
    pub line: usize,
    /// What went wrong.
    pub message: String,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunOutcome {
    /// Every step passed; `exchanges` documents were sent.
    Passed {
        /// Documents sent.
        exchanges: usize,
    },
    /// The script needs `../shared` (seed files), which is absent.
    Skipped(String),
}

/// Where `../shared` is: `$EPP_SHARED_DIR`, else beside the repository; `None` when
/// absent.
pub fn shared_dir() -> Option<PathBuf> {
    let p = std::env::var_os("EPP_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    p.is_dir().then_some(p)
}

impl Script {
    /// Parses a script.
    ///
    /// # Errors
    ///
    /// [`ScriptError`] naming the line that does not parse.
    pub fn parse(name: &str, text: &str) -> Result<Script, ScriptError> {
        let numbered: Vec<(usize, &str)> =
            text.lines().enumerate().map(|(i, l)| (i + 1, l)).collect();
        Self::parse_lines(name, &numbered)
    }

    fn parse_lines(name: &str, numbered: &[(usize, &str)]) -> Result<Script, ScriptError> {
        let lines: Vec<&str> = numbered.iter().map(|(_, l)| *l).collect();
        let err = |line: usize, message: String| ScriptError {
            script: name.to_owned(),
            line,
            message,
        };
        let mut steps = Vec::new();
        let mut i = 0;
        let block_end = |from: usize, stop_at_s: bool| {
            let mut j = from;
            while j < lines.len() {
                let l = lines[j];
                if l.starts_with("C:")
                    || (stop_at_s && l.starts_with("S:"))
                    || l.starts_with('@')
                    || l.starts_with('#')
                {
                    break;
                }
                j += 1;
            }
            j
        };
        while i < lines.len() {
            let line_no = numbered[i].0;
            let line = lines[i];
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                i += 1;
                continue;
            }
            if let Some(rest) = line.strip_prefix("C:") {
                let rest = rest.trim();
                let end = block_end(i + 1, true);
                let doc = if let Some(sc) = rest.strip_prefix('@') {
                    let words: Vec<String> = sc.split_whitespace().map(str::to_owned).collect();
                    match words.first().map(String::as_str) {
                        Some("seed") if words.len() == 2 => Doc::Seed(words[1].clone()),
                        Some("login") => Doc::Login(words[1..].to_vec()),
                        Some("logout") => Doc::Logout(words.get(1).cloned()),
                        Some("hello") => Doc::Hello,
                        _ => return Err(err(line_no, format!("unknown C: shortcut {rest}"))),
                    }
                } else {
                    let mut s = rest.to_owned();
                    for l in &lines[i + 1..end] {
                        s.push('\n');
                        s.push_str(l);
                    }
                    Doc::Inline(s)
                };
                i = end;
                let Some(sline) = lines.get(i).filter(|l| l.starts_with("S:")) else {
                    return Err(err(
                        line_no,
                        "a C: block must be followed by an S: block".into(),
                    ));
                };
                let srest = sline[2..].trim();
                let send = block_end(i + 1, false);
                let expected = if let Some(sc) = srest.strip_prefix('@') {
                    let words: Vec<&str> = sc.split_whitespace().collect();
                    match words.as_slice() {
                        ["seed", file] => Expected::Seed {
                            file: (*file).to_owned(),
                            exact: false,
                        },
                        ["seed", file, "exact"] => Expected::Seed {
                            file: (*file).to_owned(),
                            exact: true,
                        },
                        ["same"] => Expected::Same,
                        _ => {
                            return Err(err(numbered[i].0, format!("unknown S: shortcut {srest}")));
                        }
                    }
                } else if srest == "greeting" {
                    Expected::Greeting
                } else if srest.starts_with(|c: char| c.is_ascii_digit()) {
                    let words = split_words(srest);
                    let code = words
                        .first()
                        .and_then(|c| c.parse().ok())
                        .ok_or_else(|| err(numbered[i].0, format!("bad result code in {srest}")))?;
                    let (contains, conditions): (Vec<String>, Vec<String>) =
                        words[1..].iter().cloned().partition(|w| w.starts_with('~'));
                    Expected::Code {
                        code,
                        conditions: (!conditions.is_empty()).then_some(conditions),
                        contains: contains.into_iter().map(|w| w[1..].to_owned()).collect(),
                    }
                } else {
                    let mut s = srest.to_owned();
                    for l in &lines[i + 1..send] {
                        s.push('\n');
                        s.push_str(l);
                    }
                    Expected::Inline(s)
                };
                steps.push((line_no, Step::Exchange(doc, expected)));
                i = send;
                continue;
            }
            if line.starts_with("S:") {
                return Err(err(line_no, "an S: block without a C: block".into()));
            }
            let Some(directive) = t.strip_prefix('@') else {
                return Err(err(line_no, format!("expected C:, S:, @ or #, found {t}")));
            };
            let (word, rest) = directive
                .split_once(char::is_whitespace)
                .map_or((directive, ""), |(w, r)| (w, r.trim()));
            let owned_words = split_words(rest);
            let words: Vec<&str> = owned_words.iter().map(String::as_str).collect();
            let kv = |ws: &[&str]| -> Vec<(String, String)> {
                ws.iter()
                    .map(|w| match w.split_once('=') {
                        Some((k, v)) => (k.to_owned(), v.to_owned()),
                        None => ((*w).to_owned(), String::new()),
                    })
                    .collect()
            };
            let step = match word {
                "clock" => Step::Clock(
                    Timestamp::parse(rest).map_err(|e| err(line_no, format!("bad time: {e}")))?,
                ),
                "advance" => Step::Advance(
                    parse_duration(rest)
                        .ok_or_else(|| err(line_no, format!("bad duration {rest}")))?,
                ),
                "random" => Step::Random(base36(rest)),
                "random-bytes" => {
                    Step::Random(hex(rest).ok_or_else(|| err(line_no, format!("bad hex {rest}")))?)
                }
                "option" => {
                    let (k, v) = rest
                        .split_once('=')
                        .ok_or_else(|| err(line_no, "@option key=value".into()))?;
                    Step::Option(k.trim().to_owned(), v.trim().to_owned())
                }
                "registrar" => {
                    let mut id = None;
                    let (mut password, mut sessions, mut enabled, mut pins) =
                        (String::from("secret-pw"), 1, true, Vec::new());
                    for (k, v) in kv(&words) {
                        match (k.as_str(), v.as_str()) {
                            ("password", v) => password = v.to_owned(),
                            ("sessions", v) => {
                                sessions =
                                    v.parse().map_err(|_| err(line_no, "bad sessions".into()))?;
                            }
                            ("disabled", "") => enabled = false,
                            ("pin", v) => pins.push(v.to_owned()),
                            (k, "") if id.is_none() => id = Some(k.to_owned()),
                            _ => return Err(err(line_no, format!("unknown @registrar field {k}"))),
                        }
                    }
                    Step::Registrar {
                        id: id.ok_or_else(|| err(line_no, "@registrar needs an id".into()))?,
                        password,
                        sessions,
                        enabled,
                        pins,
                    }
                }
                "contact" | "domain" | "host" => {
                    let end = {
                        let mut j = i + 1;
                        while j < lines.len()
                            && !lines[j].trim().is_empty()
                            && !lines[j].starts_with('@')
                            && !lines[j].starts_with("C:")
                            && !lines[j].starts_with('#')
                        {
                            j += 1;
                        }
                        j
                    };
                    let mut json = rest.to_owned();
                    for l in &lines[i + 1..end] {
                        json.push('\n');
                        json.push_str(l);
                    }
                    i = end - 1;
                    Step::Object(fixture_kind(word), json)
                }
                "poll" => {
                    let mut registrar = None;
                    let (mut count, mut first_id, mut text) = (1, None, "Test message".to_owned());
                    for (k, v) in kv(&words) {
                        match k.as_str() {
                            "count" => {
                                count = v.parse().map_err(|_| err(line_no, "bad count".into()))?
                            }
                            "first-id" => {
                                first_id =
                                    Some(v.parse().map_err(|_| err(line_no, "bad id".into()))?);
                            }
                            "text" => text = v.replace('_', " "),
                            _ if v.is_empty() && registrar.is_none() => registrar = Some(k),
                            _ => return Err(err(line_no, format!("unknown @poll field {k}"))),
                        }
                    }
                    Step::Poll {
                        registrar: registrar
                            .ok_or_else(|| err(line_no, "@poll needs a registrar".into()))?,
                        count,
                        first_id,
                        text,
                    }
                }
                "session" => {
                    let name = words
                        .first()
                        .ok_or_else(|| err(line_no, "@session name".into()))?;
                    let cert = kv(&words[1..])
                        .into_iter()
                        .find(|(k, _)| k == "cert")
                        .map(|(_, v)| v);
                    Step::Session((*name).to_owned(), cert)
                }
                "use" => Step::Use(rest.to_owned()),
                "lifecycle" => Step::Lifecycle(
                    kv(&words)
                        .into_iter()
                        .map(|(k, v)| {
                            Ok((k, v.parse().map_err(|_| err(line_no, "bad count".into()))?))
                        })
                        .collect::<Result<_, ScriptError>>()?,
                ),
                "invalidate-registrant" => {
                    let id = words
                        .first()
                        .ok_or_else(|| err(line_no, "@invalidate-registrant id".into()))?;
                    let domains = kv(&words[1..])
                        .into_iter()
                        .find(|(k, _)| k == "domains")
                        .map(|(_, v)| v.parse().map_err(|_| err(line_no, "bad count".into())))
                        .transpose()?;
                    Step::InvalidateRegistrant((*id).to_owned(), domains)
                }
                "timers" => Step::Timers,
                "closed" => Step::Closed,
                "open" => Step::Open,
                "token" => {
                    let var = words
                        .first()
                        .ok_or_else(|| err(line_no, "@token var".into()))?;
                    Step::Token((*var).to_owned(), kv(&words[1..]))
                }
                "outbox" => {
                    Step::Outbox(rest.parse().map_err(|_| err(line_no, "bad count".into()))?)
                }
                "expect" => {
                    let (kind, key) = match words.as_slice() {
                        [k, key, ..] => (fixture_kind(k), (*key).to_owned()),
                        _ => {
                            return Err(err(
                                line_no,
                                "@expect domain|contact|host <key> ...".into(),
                            ));
                        }
                    };
                    Step::Expect {
                        kind,
                        key,
                        fields: kv(&words[2..]),
                    }
                }
                other => return Err(err(line_no, format!("unknown directive @{other}"))),
            };
            steps.push((line_no, step));
            i += 1;
        }
        Ok(Script {
            name: name.to_owned(),
            steps,
        })
    }

    /// Reads and parses a script file.
    ///
    /// # Errors
    ///
    /// [`ScriptError`] when the file cannot be read or parsed.
    pub fn load(path: &Path) -> Result<Script, ScriptError> {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let text = std::fs::read_to_string(path).map_err(|e| ScriptError {
            script: name.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        // `@include <file>` inlines a file of the script's directory (fixtures shared by
        // several scripts); included lines keep the line number of the directive.
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut included = Vec::new();
        let mut numbered: Vec<(usize, usize)> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            match line.strip_prefix("@include ") {
                Some(file) => {
                    let inc = std::fs::read_to_string(dir.join(file.trim())).map_err(|e| {
                        ScriptError {
                            script: name.clone(),
                            line: i + 1,
                            message: format!("@include {}: {e}", file.trim()),
                        }
                    })?;
                    for l in inc.lines() {
                        included.push(l.to_owned());
                        numbered.push((i + 1, included.len() - 1));
                    }
                }
                None => {
                    included.push(line.to_owned());
                    numbered.push((i + 1, included.len() - 1));
                }
            }
        }
        let lines: Vec<(usize, &str)> = numbered
            .iter()
            .map(|(n, idx)| (*n, included[*idx].as_str()))
            .collect();
        Script::parse_lines(&name, &lines)
    }

    /// Whether the script refers to Norid's seed files (and needs `../shared`).
    pub fn uses_seeds(&self) -> bool {
        self.steps.iter().any(|(_, s)| {
            matches!(
                s,
                Step::Exchange(Doc::Seed(_), _) | Step::Exchange(_, Expected::Seed { .. })
            )
        })
    }

    /// Runs the script against `target`; seed files are read from `shared`
    /// (`<shared>/seeds/exchanges/`).
    ///
    /// # Errors
    ///
    /// [`ScriptError`] at the first step that fails.
    pub async fn run<T: ScriptTarget>(
        &self,
        target: &mut T,
        shared: Option<&Path>,
    ) -> Result<RunOutcome, ScriptError> {
        if self.uses_seeds() && shared.is_none() {
            return Ok(RunOutcome::Skipped(format!(
                "{}: ../shared is absent (set EPP_SHARED_DIR); skipping",
                self.name
            )));
        }
        let mut r = Runner {
            vars: BTreeMap::new(),
            aliases: BTreeMap::new(),
            current: "a".to_owned(),
            certs: BTreeMap::new(),
            last_closed: false,
            last_reply: Vec::new(),
            exchanges: 0,
            shared: shared.map(Path::to_path_buf),
        };
        for (line, step) in &self.steps {
            r.step(target, step).await.map_err(|message| ScriptError {
                script: self.name.clone(),
                line: *line,
                message,
            })?;
        }
        Ok(RunOutcome::Passed {
            exchanges: r.exchanges,
        })
    }
}

fn fixture_kind(word: &str) -> ObjectFixture {
    match word {
        "contact" => ObjectFixture::Contact,
        "host" => ObjectFixture::Host,
        _ => ObjectFixture::Domain,
    }
}

fn base36(text: &str) -> Vec<u8> {
    text.trim()
        .bytes()
        .map(|c| match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'z' => c - b'a' + 10,
            _ => 0,
        })
        .collect()
}

fn hex(text: &str) -> Option<Vec<u8>> {
    let t: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !t.len().is_multiple_of(2) {
        return None;
    }
    t.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

struct Runner {
    vars: BTreeMap<String, String>,
    aliases: BTreeMap<String, String>,
    current: String,
    certs: BTreeMap<String, Option<CertFingerprint>>,
    last_closed: bool,
    last_reply: Vec<u8>,
    exchanges: usize,
    shared: Option<PathBuf>,
}

fn admin_meta(now: Timestamp, command: &str) -> ChangeMeta {
    ChangeMeta {
        registrar: None,
        time: now,
        cl_trid: None,
        sv_trid: None,
        command: command.to_owned(),
    }
}

impl Runner {
    async fn step<T: ScriptTarget>(&mut self, target: &mut T, step: &Step) -> Result<(), String> {
        match step {
            Step::Clock(t) => target.set_now(*t),
            Step::Advance(d) => {
                let now = target.now();
                target.set_now(now.add_micros(i64::try_from(d.as_micros()).unwrap_or(i64::MAX)));
            }
            Step::Random(chunk) => target.push_random(chunk.clone()),
            Step::Option(k, v) => target.set_option(k, v)?,
            Step::Registrar {
                id,
                password,
                sessions,
                enabled,
                pins,
            } => {
                let pins = pins
                    .iter()
                    .map(|p| CertFingerprint::from_str(p).map_err(|e| e.to_string()))
                    .collect::<Result<_, _>>()?;
                let new = NewRegistrar {
                    id: ClientId::new(id.as_str()).map_err(|e| e.to_string())?,
                    name: format!("Registrar {id}"),
                    password: PasswordInput::Clear(
                        Password::new(password.as_str()).map_err(|e| e.to_string())?,
                    ),
                    cert_pins: pins,
                    session_limit: *sessions,
                    enabled: *enabled,
                };
                let set = ChangeSet::new(admin_meta(target.now(), "admin:registrar-add"))
                    .with(Change::CreateRegistrar(new));
                target
                    .store()
                    .commit(set)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Step::Object(kind, json) => {
                let json = self.substitute(json)?;
                let change = match kind {
                    ObjectFixture::Contact => Change::CreateContact(
                        Contact::from_json(&json, 0).map_err(|e| e.to_string())?,
                    ),
                    ObjectFixture::Domain => Change::CreateDomain(
                        Domain::from_json(&json, 0).map_err(|e| e.to_string())?,
                    ),
                    ObjectFixture::Host => {
                        Change::CreateHost(Host::from_json(&json, 0).map_err(|e| e.to_string())?)
                    }
                };
                let set = ChangeSet::new(admin_meta(target.now(), "admin:fixture")).with(change);
                target
                    .store()
                    .commit(set)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Step::Poll {
                registrar,
                count,
                first_id,
                text,
            } => {
                let exact = match first_id {
                    Some(id) => target.poll_id_floor(*id),
                    None => true,
                };
                let registrar = ClientId::new(registrar.as_str()).map_err(|e| e.to_string())?;
                let mut set = ChangeSet::new(admin_meta(target.now(), "admin:fixture"));
                for _ in 0..*count {
                    set.push(Change::EnqueuePoll(NewPollMessage {
                        registrar: registrar.clone(),
                        text: text.clone(),
                        payload: PollPayload::Text,
                    }));
                }
                let receipt = target
                    .store()
                    .commit(set)
                    .await
                    .map_err(|e| e.to_string())?;
                if let (Some(want), Some(got)) = (first_id, receipt.poll_ids.first())
                    && (!exact || want != got)
                {
                    self.aliases.insert(want.to_string(), got.to_string());
                }
            }
            Step::Session(name, cert) => {
                let cert = cert
                    .as_deref()
                    .map(CertFingerprint::from_str)
                    .transpose()
                    .map_err(|e| e.to_string())?;
                self.certs.insert(name.clone(), cert);
                self.current = name.clone();
                target.open(name, cert).await?;
            }
            Step::Use(name) => self.current = name.clone(),
            Step::Lifecycle(expect) => {
                let report = target.lifecycle().await?;
                for (k, n) in expect {
                    let got = match k.as_str() {
                        "quarantined" => report.quarantined.len(),
                        "deleted" => report.deleted.len(),
                        "removed_from_dns" => report.removed_from_dns.len(),
                        "hosts_deleted" => report.hosts_deleted.len(),
                        "failed" => report.failed.len(),
                        "hosts_checked" => report.hosts_checked.len(),
                        "hosts_failed" => report.hosts_failed.len(),
                        "transfers_lapsed" => report.transfers_lapsed.len(),
                        _ => return Err(format!("unknown lifecycle count {k}")),
                    };
                    if got != *n {
                        return Err(format!(
                            "lifecycle {k}: expected {n}, got {got} ({report:?})"
                        ));
                    }
                }
            }
            Step::InvalidateRegistrant(id, want) => {
                let id = epp_xml::ContactId::new(id.as_str()).map_err(|e| e.to_string())?;
                let now = target.now();
                let done = crate::lifecycle::invalidate_registrant(target.store(), now, &id)
                    .await
                    .map_err(|e| format!("invalidate-registrant {id}: {e}"))?;
                if let Some(n) = want
                    && done.domains.len() != *n
                {
                    return Err(format!(
                        "invalidate-registrant {id}: expected {n} domains, got {done:?}"
                    ));
                }
            }
            Step::Timers => {
                target.fire_timers(&self.current);
            }
            Step::Closed => {
                if target.is_open(&self.current) {
                    return Err(format!("session {} is open, expected closed", self.current));
                }
            }
            Step::Open => {
                if !target.is_open(&self.current) {
                    return Err(format!("session {} is closed, expected open", self.current));
                }
            }
            Step::Outbox(n) => {
                let got = target
                    .store()
                    .pending_notifications(1000)
                    .await
                    .map_err(|e| e.to_string())?
                    .len();
                if got != *n {
                    return Err(format!(
                        "outbox: expected {n} pending notifications, found {got}"
                    ));
                }
            }
            Step::Token(var, checks) => {
                let pending = target
                    .store()
                    .pending_notifications(1000)
                    .await
                    .map_err(|e| e.to_string())?;
                let n = pending.last().ok_or("no pending notification")?;
                for (k, v) in checks {
                    let ok = match k.as_str() {
                        "channel" => n.channel.as_str() == v,
                        "to" => n.recipient == *v,
                        _ => return Err(format!("unknown @token check {k}")),
                    };
                    if !ok {
                        return Err(format!("notification {k} is not {v}: {n:?}"));
                    }
                }
                let token = n
                    .body
                    .lines()
                    .find_map(|l| l.strip_prefix("    "))
                    .ok_or("no token line in the notification")?
                    .trim()
                    .to_owned();
                let set = ChangeSet::new(admin_meta(target.now(), "notifier:deliver"))
                    .with(Change::MarkDelivered { id: n.id });
                target
                    .store()
                    .commit(set)
                    .await
                    .map_err(|e| e.to_string())?;
                self.vars.insert(var.clone(), token);
            }
            Step::Expect { kind, key, fields } => self.expect(target, *kind, key, fields).await?,
            Step::Exchange(doc, expected) => self.exchange(target, doc, expected).await?,
        }
        Ok(())
    }

    async fn expect<T: ScriptTarget>(
        &self,
        target: &T,
        kind: ObjectFixture,
        key: &str,
        fields: &[(String, String)],
    ) -> Result<(), String> {
        let store = target.store();
        let json = match kind {
            ObjectFixture::Domain => {
                let k = key
                    .parse()
                    .map_err(|e: epp_xml::ValueError| e.to_string())?;
                store
                    .domain(&k)
                    .await
                    .map_err(|e| e.to_string())?
                    .map(|d| d.to_json())
            }
            ObjectFixture::Contact => {
                let k = key
                    .parse()
                    .map_err(|e: epp_xml::ValueError| e.to_string())?;
                store
                    .contact(&k)
                    .await
                    .map_err(|e| e.to_string())?
                    .map(|d| d.to_json())
            }
            ObjectFixture::Host => {
                let k = key
                    .parse()
                    .map_err(|e: epp_xml::ValueError| e.to_string())?;
                store
                    .host(&k)
                    .await
                    .map_err(|e| e.to_string())?
                    .map(|d| d.to_json())
            }
        };
        let absent = fields.iter().any(|(k, _)| k == "absent");
        let json = match (json, absent) {
            (None, true) => return Ok(()),
            (Some(_), true) => return Err(format!("{key} exists, expected absent")),
            (None, false) => return Err(format!("{key} does not exist")),
            (Some(j), false) => j.map_err(|e| e.to_string())?,
        };
        let value: serde_json::Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        for (field, want) in fields {
            let want = self.substitute(want)?;
            let got = value.get(field).cloned().unwrap_or(serde_json::Value::Null);
            let same = match (&got, serde_json::from_str::<serde_json::Value>(&want)) {
                (serde_json::Value::String(s), _) => {
                    *s == want
                        || matches!(
                            (Timestamp::parse(s), Timestamp::parse(&want)),
                            (Ok(a), Ok(b)) if a == b
                                || (!target.exact()
                                    && (a.unix_micros() - b.unix_micros()).abs() <= CLOCK_SLACK_MICROS)
                        )
                }
                (got, Ok(w)) if target.exact() => without_nulls(got.clone()) == without_nulls(w),
                (got, Ok(w)) => json_near(&without_nulls_only(got.clone()), &without_nulls_only(w)),
                (other, Err(_)) => *other == serde_json::Value::String(want.clone()),
            };
            if !same {
                return Err(format!("{key}: {field} is {got}, expected {want}"));
            }
        }
        Ok(())
    }

    /// Replaces `{{name}}` with bound variables (`now` and `today` are built in); leaves
    /// `{{*}}` and `{{=name}}` for the comparison.
    fn substitute_with(&self, text: &str, now: Option<Timestamp>) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or("unclosed {{")?;
            let name = &after[..end];
            if name == "*" || name.starts_with('=') {
                out.push_str(&rest[start..start + 2 + end + 2]);
            } else {
                let value = match (name, now) {
                    ("now", Some(t)) => t.to_string(),
                    ("today", Some(t)) => t.date().to_string(),
                    _ => self
                        .vars
                        .get(name)
                        .cloned()
                        .ok_or_else(|| format!("unbound variable {{{{{name}}}}}"))?,
                };
                out.push_str(&value);
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn substitute(&self, text: &str) -> Result<String, String> {
        self.substitute_with(text, None)
    }

    fn seed(&self, file: &str) -> Result<Vec<u8>, String> {
        let dir = self.shared.as_ref().ok_or("../shared is absent")?;
        let path = dir.join("seeds/exchanges").join(file);
        std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
    }

    async fn exchange<T: ScriptTarget>(
        &mut self,
        target: &mut T,
        doc: &Doc,
        expected: &Expected,
    ) -> Result<(), String> {
        let now = target.now();
        let bytes = match doc {
            Doc::Seed(f) => self.seed(f)?,
            Doc::Inline(s) => self.substitute_with(s, Some(now))?.into_bytes(),
            Doc::Login(words) => login_doc(words)?.into_bytes(),
            Doc::Logout(cl) => format!(
                r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><logout/><clTRID>{}</clTRID></command></epp>"#,
                cl.as_deref().unwrap_or("LOGOUT-1")
            )
            .into_bytes(),
            Doc::Hello => br#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>"#.to_vec(),
        };
        if !target.is_open(&self.current) {
            let cert = self.certs.get(&self.current).copied().flatten();
            target.open(&self.current, cert).await?;
        }
        let (reply, closed) = target.send(&self.current, &bytes).await?;
        self.exchanges += 1;
        self.last_closed = closed;
        let previous = std::mem::replace(&mut self.last_reply, reply.clone());
        let decoded = epp_norid_ext::decode_response(&reply).map_err(|e| {
            format!(
                "the reply does not decode ({e}):\n{}",
                String::from_utf8_lossy(&reply)
            )
        })?;
        let show = || String::from_utf8_lossy(&reply).into_owned();
        // docs/conditions.md is generated from the catalogue: a condition code outside it
        // would be one the table does not list (embedded late responses and copies too).
        let text = show();
        for (i, _) in text.match_indices("condition code=\"") {
            let rest = &text[i + "condition code=\"".len()..];
            let code = rest.split('"').next().unwrap_or("");
            if !epp_norid_ext::policy::CATALOGUE
                .iter()
                .any(|d| d.code == code)
            {
                return Err(format!(
                    "condition {code} is not in the catalogue (docs/conditions.md):\n{text}"
                ));
            }
        }
        match expected {
            Expected::Greeting => {
                if !matches!(decoded, NoridServerDoc::Greeting(_)) {
                    return Err(format!("expected a greeting, got:\n{}", show()));
                }
            }
            Expected::Same => {
                if previous != reply {
                    return Err(format!(
                        "expected the previous reply byte for byte:\n{}\ngot:\n{}",
                        String::from_utf8_lossy(&previous),
                        show()
                    ));
                }
            }
            Expected::Code {
                code,
                conditions,
                contains,
            } => {
                let text = show();
                if let Some(missing) = contains.iter().find(|c| !text.contains(c.as_str())) {
                    return Err(format!("the reply does not contain '{missing}':\n{text}"));
                }
                let NoridServerDoc::Response(r) = &decoded else {
                    return Err(format!("expected a response, got:\n{}", show()));
                };
                let got = r.results.first().map_or(0, |x| x.code.code());
                if got != *code {
                    return Err(format!("expected result {code}, got {got}:\n{}", show()));
                }
                if let Some(want) = conditions {
                    let have: Vec<String> = r
                        .extensions
                        .iter()
                        .filter_map(|e| match e {
                            ResponseExtension::Other(NoridResponseExt::Conditions(c)) => Some(c),
                            _ => None,
                        })
                        .flat_map(|c| c.condition.iter().map(|x| x.code.clone()))
                        .collect();
                    if have != *want {
                        return Err(format!(
                            "expected conditions {want:?}, got {have:?}:\n{}",
                            show()
                        ));
                    }
                }
            }
            Expected::Seed { file, exact } => {
                let want = self.seed(file)?;
                if *exact && target.exact() && self.aliases.is_empty() {
                    if want != reply {
                        return Err(format!(
                            "not byte for byte {file}:\nexpected:\n{}\ngot:\n{}",
                            String::from_utf8_lossy(&want),
                            show()
                        ));
                    }
                } else {
                    self.compare(target.exact(), &want, &reply)
                        .map_err(|e| format!("{file}: {e}\ngot:\n{}", show()))?;
                }
            }
            Expected::Inline(s) => {
                let want = self.substitute_with(s, Some(now))?;
                self.compare(target.exact(), want.as_bytes(), &reply)
                    .map_err(|e| format!("{e}\ngot:\n{}", show()))?;
            }
        }
        Ok(())
    }

    fn compare(&mut self, exact: bool, want: &[u8], got: &[u8]) -> Result<(), String> {
        let mut want = canonical(want).map_err(|e| format!("expected document: {e}"))?;
        let got = canonical(got).map_err(|e| format!("reply: {e}"))?;
        for t in &mut want {
            if let Token::Open(_, attrs) = t {
                for (_, v) in attrs.iter_mut() {
                    if let Some(a) = self.aliases.get(v.as_str()) {
                        v.clone_from(a);
                    }
                }
            }
        }
        if !exact {
            loosen(&mut want);
        }
        matches(&want, &got, &mut self.vars)
    }
}

/// How far a stored timestamp may be from the expected one when the target's clock does
/// not follow the script ([`ScriptTarget::exact`] is false: a server over TLS whose
/// registry clock started at the script's time and has run on since).
const CLOCK_SLACK_MICROS: i64 = 60_000_000;

/// A JSON value without `null` members (absent and null optional fields are the same) and
/// with timestamps as instants.
fn without_nulls(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(without_nulls).collect())
        }
        // Timestamps compare as instants, whatever their fractional digits.
        serde_json::Value::String(s) => match Timestamp::parse(&s) {
            Ok(t) if s.len() >= 20 => serde_json::Value::from(t.unix_micros()),
            _ => serde_json::Value::String(s),
        },
        other => other,
    }
}

/// A JSON value without `null` members, timestamps left as text.
fn without_nulls_only(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls_only(v)))
                .collect(),
        ),
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(without_nulls_only).collect())
        }
        other => other,
    }
}

/// JSON equality where timestamps may differ by [`CLOCK_SLACK_MICROS`] (targets whose clock
/// does not follow the script).
fn json_near(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_near(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| json_near(v, w))
        }
        (Value::String(x), Value::String(y)) if x.len() >= 20 && y.len() >= 20 => {
            match (Timestamp::parse(x), Timestamp::parse(y)) {
                (Ok(p), Ok(q)) => (p.unix_micros() - q.unix_micros()).abs() <= CLOCK_SLACK_MICROS,
                _ => x == y,
            }
        }
        _ => a == b,
    }
}

/// Splits directive arguments at whitespace; `'...'` quotes a part with spaces (the quotes
/// are dropped).
fn split_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in s.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Wildcards what a server that does not follow the script's clock and randomness cannot
/// reproduce: svTRIDs and timestamps.
fn loosen(tokens: &mut [Token]) {
    let mut stack: Vec<String> = Vec::new();
    for t in tokens.iter_mut() {
        match t {
            Token::Open(n, _) => stack.push(n.clone()),
            Token::Close => {
                stack.pop();
            }
            Token::Text(text) => {
                let in_sv = stack.last().is_some_and(|n| n.ends_with("}svTRID"));
                if in_sv || Timestamp::parse(text).is_ok() {
                    "{{*}}".clone_into(text);
                }
            }
        }
    }
}

/// A login document from `@login <clID> <pw> [newpw=..] [cltrid=..] [obj=a,b] [ext=a,b]
/// [version=..] [lang=..]`; `obj`/`ext` take short names (`domain`, `no-ext-domain-1.0`,
/// `none`) and default to everything the greeting announces.
fn login_doc(words: &[String]) -> Result<String, String> {
    let (Some(id), Some(pw)) = (words.first(), words.get(1)) else {
        return Err("@login <clID> <pw> ...".into());
    };
    let mut new_pw = None;
    let mut cl_trid = "LOGIN-1".to_owned();
    let mut obj: Vec<String> = OBJ_URIS.iter().map(|s| (*s).to_owned()).collect();
    let mut ext: Vec<String> = EXT_URIS.iter().map(|s| (*s).to_owned()).collect();
    let (mut version, mut lang) = ("1.0".to_owned(), "en".to_owned());
    let expand = |list: &str| -> Vec<String> {
        if list == "none" {
            return Vec::new();
        }
        list.split(',')
            .map(|s| match s {
                "domain" => epp_xml::ns::DOMAIN.to_owned(),
                "contact" => epp_xml::ns::CONTACT.to_owned(),
                "host" => epp_xml::ns::HOST.to_owned(),
                "secDNS" => epp_xml::ns::SEC_DNS.to_owned(),
                "no-ext-epp" => norid_ns::NO_EXT_EPP.to_owned(),
                "no-ext-domain-1.0" => norid_ns::NO_EXT_DOMAIN_1_0.to_owned(),
                "no-ext-domain-1.1" => norid_ns::NO_EXT_DOMAIN_1_1.to_owned(),
                "no-ext-contact" => norid_ns::NO_EXT_CONTACT.to_owned(),
                "no-ext-host" => norid_ns::NO_EXT_HOST.to_owned(),
                "no-ext-result" => norid_ns::NO_EXT_RESULT.to_owned(),
                other => other.to_owned(),
            })
            .collect()
    };
    for w in &words[2..] {
        let (k, v) = w
            .split_once('=')
            .ok_or_else(|| format!("bad @login option {w}"))?;
        match k {
            "newpw" => new_pw = Some(v.to_owned()),
            "cltrid" => v.clone_into(&mut cl_trid),
            "obj" => obj = expand(v),
            "ext" => ext = expand(v),
            "version" => v.clone_into(&mut version),
            "lang" => v.clone_into(&mut lang),
            _ => return Err(format!("unknown @login option {k}")),
        }
    }
    let mut s = format!(
        r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><login><clID>{id}</clID><pw>{pw}</pw>"#
    );
    if let Some(n) = new_pw {
        s.push_str(&format!("<newPW>{n}</newPW>"));
    }
    s.push_str(&format!(
        "<options><version>{version}</version><lang>{lang}</lang></options><svcs>"
    ));
    for o in &obj {
        s.push_str(&format!("<objURI>{o}</objURI>"));
    }
    if !ext.is_empty() {
        s.push_str("<svcExtension>");
        for e in &ext {
            s.push_str(&format!("<extURI>{e}</extURI>"));
        }
        s.push_str("</svcExtension>");
    }
    s.push_str(&format!(
        "</svcs></login><clTRID>{cl_trid}</clTRID></command></epp>"
    ));
    Ok(s)
}

/// Runs every `*.txt` script of a directory against fresh targets made by `make`, and
/// panics with every failure (for `#[test]` functions).
///
/// # Panics
///
/// When a script fails, or the directory has no scripts.
pub fn run_dir<T: ScriptTarget>(
    dir: &Path,
    mut make: impl FnMut() -> T,
    block_on: impl Fn(
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<RunOutcome, ScriptError>> + '_>>,
    ) -> Result<RunOutcome, ScriptError>,
) -> usize {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scripts in {}", dir.display());
    let shared = shared_dir();
    let mut failures = Vec::new();
    let mut passed = 0;
    for f in &files {
        let script = match Script::load(f) {
            Ok(s) => s,
            Err(e) => {
                failures.push(e.to_string());
                continue;
            }
        };
        let mut target = make();
        match block_on(Box::pin(script.run(&mut target, shared.as_deref()))) {
            Ok(RunOutcome::Passed { .. }) => passed += 1,
            Ok(RunOutcome::Skipped(why)) => eprintln!("NOTICE: {why}"),
            Err(e) => failures.push(e.to_string()),
        }
    }
    assert!(
        failures.is_empty(),
        "{} script(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    passed
}
