//! Client documents: `<hello/>`, `<command>` and extension commands, their decoder (the
//! server's side) and their encoder (a client's side).

use crate::contact::{self, ContactCommand};
use crate::domain::{self, DomainCommand};
use crate::error::{DecodeError, ErrorKind};
use crate::ext::Extension;
use crate::host::{self, HostCommand};
use crate::ns::{CONTACT, DOMAIN, EPP, HOST, SEC_DNS};
use crate::reader::{Element, XmlReader};
use crate::secdns::{self, SecDnsExtension};
use crate::seq::{self, Seq};
use crate::writer::XmlWriter;
use crate::{ClTrid, ClientId, Password};

/// One client document: `<hello/>` or a command (RFC 5730 section 2.3 and 2.9).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "one value per document; boxing would cost an allocation on every command"
)]
pub enum Request<X: Extension> {
    /// `<hello/>`: the server answers with its greeting.
    Hello,
    /// A `<command>`, or an extension command carried in `<epp><extension>`.
    Command(Command<X>),
}

/// A command with its extensions and client transaction id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command<X: Extension> {
    /// What the command does.
    pub kind: CommandKind<X>,
    /// The elements of the command's `<extension>`, in document order.
    pub extensions: Vec<CommandExtension<X>>,
    /// The client transaction id (`<clTRID>`), when the client sent one.
    pub cl_trid: Option<ClTrid>,
}

/// The command proper: session commands, object commands, or an extension command.
///
/// Variants are named `<Object><Command>`; each carries the generated type of its object
/// schema.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandKind<X: Extension> {
    /// `<login>` (RFC 5730 section 2.9.1.1).
    Login(Login),
    /// `<logout/>`.
    Logout,
    /// `<poll op="req|ack">`.
    Poll(Poll),
    /// `<check><domain:check>`.
    DomainCheck(domain::Check),
    /// `<create><domain:create>`.
    DomainCreate(domain::Create),
    /// `<delete><domain:delete>`.
    DomainDelete(domain::Delete),
    /// `<info><domain:info>`.
    DomainInfo(domain::Info),
    /// `<renew><domain:renew>`.
    DomainRenew(domain::Renew),
    /// `<transfer op=...><domain:transfer>`.
    DomainTransfer(TransferOp, domain::Transfer),
    /// `<update><domain:update>`.
    DomainUpdate(domain::Update),
    /// `<check><contact:check>`.
    ContactCheck(contact::Check),
    /// `<create><contact:create>`.
    ContactCreate(contact::Create),
    /// `<delete><contact:delete>`.
    ContactDelete(contact::Id),
    /// `<info><contact:info>`.
    ContactInfo(contact::AuthId),
    /// `<transfer op=...><contact:transfer>`.
    ContactTransfer(TransferOp, contact::AuthId),
    /// `<update><contact:update>`.
    ContactUpdate(contact::Update),
    /// `<check><host:check>`.
    HostCheck(host::Check),
    /// `<create><host:create>`.
    HostCreate(host::Create),
    /// `<delete><host:delete>`.
    HostDelete(host::Name),
    /// `<info><host:info>`.
    HostInfo(host::Name),
    /// `<update><host:update>`.
    HostUpdate(host::Update),
    /// A command of the extension set, carried in `<epp><extension>`.
    Extension(X::ExtCommand),
}

/// `<login>`: credentials, options and the services the client will use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// `<clID>`.
    pub client_id: ClientId,
    /// `<pw>`.
    pub password: Password,
    /// `<newPW>`, to change the password.
    pub new_password: Option<Password>,
    /// `<options><version>` (always `1.0`: the schema allows no other).
    pub version: String,
    /// `<options><lang>`.
    pub lang: String,
    /// `<svcs><objURI>` values.
    pub obj_uris: Vec<String>,
    /// `<svcs><svcExtension><extURI>` values.
    pub ext_uris: Vec<String>,
}

/// `<poll>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poll {
    /// `op`.
    pub op: PollOp,
    /// `msgID` (required by RFC 5730 for `ack`; the schema leaves it optional).
    pub msg_id: Option<String>,
}

/// The `op` of `<poll>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PollOp {
    /// Acknowledge a message.
    Ack,
    /// Request the first message.
    Req,
}

/// The `op` of `<transfer>` (RFC 5730 section 2.9.3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferOp {
    /// Approve a pending transfer.
    Approve,
    /// Cancel a pending transfer.
    Cancel,
    /// Query the transfer status.
    Query,
    /// Reject a pending transfer.
    Reject,
    /// Request a transfer.
    Request,
}

impl TransferOp {
    /// The attribute value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            TransferOp::Approve => "approve",
            TransferOp::Cancel => "cancel",
            TransferOp::Query => "query",
            TransferOp::Reject => "reject",
            TransferOp::Request => "request",
        }
    }
}

/// One element of a command's `<extension>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandExtension<X: Extension> {
    /// secDNS-1.1 (RFC 5910).
    SecDns(SecDnsExtension),
    /// An element of the extension set.
    Other(X::CommandExt),
}

impl<X: Extension> CommandExtension<X> {
    /// The namespace URI of this extension element.
    pub fn namespace(&self) -> &'static str {
        match self {
            CommandExtension::SecDns(_) => SEC_DNS,
            CommandExtension::Other(e) => X::command_ext_namespace(e),
        }
    }
}

impl<X: Extension> Command<X> {
    /// The namespace URIs of the object services and extension commands this command uses
    /// (empty for login, logout and poll), for checking them against the client's login.
    pub fn object_namespaces(&self) -> Vec<&'static str> {
        use CommandKind as K;
        match &self.kind {
            K::Login(_) | K::Logout | K::Poll(_) => Vec::new(),
            K::DomainCheck(_)
            | K::DomainCreate(_)
            | K::DomainDelete(_)
            | K::DomainInfo(_)
            | K::DomainRenew(_)
            | K::DomainTransfer(..)
            | K::DomainUpdate(_) => vec![DOMAIN],
            K::ContactCheck(_)
            | K::ContactCreate(_)
            | K::ContactDelete(_)
            | K::ContactInfo(_)
            | K::ContactTransfer(..)
            | K::ContactUpdate(_) => vec![CONTACT],
            K::HostCheck(_)
            | K::HostCreate(_)
            | K::HostDelete(_)
            | K::HostInfo(_)
            | K::HostUpdate(_) => {
                vec![HOST]
            }
            K::Extension(e) => X::ext_command_namespaces(e),
        }
    }

    /// The namespace URIs of the command's `<extension>` elements, in document order.
    pub fn extension_namespaces(&self) -> Vec<&'static str> {
        self.extensions
            .iter()
            .map(CommandExtension::namespace)
            .collect()
    }
}

/// Decodes one client document (one frame payload).
///
/// Prefixed and default-namespace forms decode alike; `xsi:schemaLocation` is ignored; the
/// XML declaration is optional.
///
/// # Errors
///
/// [`DecodeError`] with the result code and reason for the response, and the `<clTRID>`
/// when it could still be read.
pub fn decode<X: Extension>(input: &[u8]) -> Result<Request<X>, DecodeError> {
    decode_inner::<X>(input).map_err(|e| {
        if e.cl_trid().is_some() {
            e
        } else {
            let id = scan_cl_trid::<X>(input);
            e.with_cl_trid(id)
        }
    })
}

fn decode_inner<X: Extension>(input: &[u8]) -> Result<Request<X>, DecodeError> {
    let mut r = XmlReader::new(input, X::NAMESPACES)?;
    let root = r.root()?;
    if !root.is(EPP, "epp") {
        return Err(DecodeError::new(
            ErrorKind::Structure,
            format!(
                "the root element must be <epp> in {EPP}, found {} in '{}'",
                root.display(),
                root.ns()
            ),
        ));
    }
    root.allow_attrs(&[])?;
    let mut s = Seq::new(&mut r, root);
    let child = s.any("<hello>, <command> or <extension>")?;
    let req = if child.ns() != EPP {
        return Err(DecodeError::new(
            ErrorKind::Structure,
            format!("unexpected element {} in <epp>", child.display()),
        ));
    } else {
        match child.name() {
            "hello" => {
                seq::empty(s.reader(), &child)?;
                Request::Hello
            }
            "command" => {
                child.allow_attrs(&[])?;
                Request::Command(command::<X>(s.reader(), child)?)
            }
            "extension" => {
                child.allow_attrs(&[])?;
                let mut e = Seq::new(s.reader(), child);
                let el = e.any("an extension command")?;
                let ns = el.ns().to_owned();
                let display = el.display();
                let cmd = X::decode_ext_command(e.reader(), el)?.ok_or_else(|| {
                    DecodeError::new(
                        ErrorKind::UnimplementedExtension,
                        format!(
                            "extension command {display} in namespace '{ns}' is not implemented"
                        ),
                    )
                })?;
                e.end()?;
                Request::Command(cmd)
            }
            "greeting" | "response" => {
                return Err(DecodeError::new(
                    ErrorKind::Structure,
                    format!(
                        "a client may not send {}; expected <hello>, <command> or <extension>",
                        child.display()
                    ),
                ));
            }
            _ => {
                return Err(DecodeError::new(
                    ErrorKind::Structure,
                    format!("unexpected element {} in <epp>", child.display()),
                ));
            }
        }
    };
    s.end()?;
    r.finish()?;
    Ok(req)
}

fn command<'a, X: Extension>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<Command<X>, DecodeError> {
    let mut s = Seq::new(r, el);
    let c = s.any("a command element")?;
    if c.ns() != EPP {
        return Err(DecodeError::new(
            ErrorKind::Structure,
            format!(
                "expected an EPP command element in <command>, found {}",
                c.display()
            ),
        ));
    }
    let kind = match c.name() {
        "login" => CommandKind::Login(login(s.reader(), c)?),
        "logout" => {
            seq::empty(s.reader(), &c)?;
            CommandKind::Logout
        }
        "poll" => {
            c.allow_attrs(&["op", "msgID"])?;
            let op = seq::enumeration(
                &c,
                "op",
                c.required_attr("op")?,
                &[("ack", PollOp::Ack), ("req", PollOp::Req)],
            )?;
            let msg_id = c
                .attr("msgID")
                .map(|v| crate::collapse_whitespace(v).into_owned());
            s.reader().skip(&c)?;
            CommandKind::Poll(Poll { op, msg_id })
        }
        "check" | "create" | "delete" | "info" | "renew" | "update" => {
            c.allow_attrs(&[])?;
            let verb = c.name();
            let mut inner = Seq::new(s.reader(), c);
            let obj = inner.any("one object element")?;
            let kind = object_command::<X>(inner.reader(), verb, None, obj)?;
            inner.end()?;
            kind
        }
        "transfer" => {
            c.allow_attrs(&["op"])?;
            let op = seq::enumeration(
                &c,
                "op",
                c.required_attr("op")?,
                &[
                    ("approve", TransferOp::Approve),
                    ("cancel", TransferOp::Cancel),
                    ("query", TransferOp::Query),
                    ("reject", TransferOp::Reject),
                    ("request", TransferOp::Request),
                ],
            )?;
            let mut inner = Seq::new(s.reader(), c);
            let obj = inner.any("one object element")?;
            let kind = object_command::<X>(inner.reader(), "transfer", Some(op), obj)?;
            inner.end()?;
            kind
        }
        "extension" | "clTRID" => {
            return Err(DecodeError::new(
                ErrorKind::MissingParameter,
                format!(
                    "<command> must start with a command element, found {}",
                    c.display()
                ),
            ));
        }
        other => {
            return Err(DecodeError::new(
                ErrorKind::UnknownCommand,
                format!("<{other}> is not an EPP command"),
            ));
        }
    };
    let extensions = match s.opt(EPP, "extension")? {
        Some(e) => command_extensions::<X>(s.reader(), e)?,
        None => Vec::new(),
    };
    let cl_trid = match s.opt(EPP, "clTRID")? {
        Some(e) => Some(cl_trid(s.reader(), e)?),
        None => None,
    };
    s.end()?;
    Ok(Command {
        kind,
        extensions,
        cl_trid,
    })
}

/// Decodes the children of a command's `<extension>` element (just started): secDNS and
/// the extension set's elements. Public for extension commands that carry an inner
/// `<extension>`.
///
/// # Errors
///
/// [`ErrorKind::UnimplementedExtension`] for an element of an unknown namespace, and any
/// error of the extension decoders.
pub fn command_extensions<'a, X: Extension>(
    r: &mut XmlReader<'a>,
    el: Element<'a>,
) -> Result<Vec<CommandExtension<X>>, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let mut out = Vec::new();
    loop {
        if s.peek()?.is_none() {
            break;
        }
        let e = s.any("")?;
        if e.ns() == EPP || e.ns().is_empty() {
            return Err(DecodeError::new(
                ErrorKind::Structure,
                format!(
                    "{} is not allowed in <extension>: it must be of another namespace",
                    e.display()
                ),
            ));
        }
        if e.ns() == SEC_DNS {
            out.push(CommandExtension::SecDns(secdns::decode(s.reader(), e)?));
            continue;
        }
        let ns = e.ns().to_owned();
        let display = e.display();
        match X::decode_command_ext(s.reader(), e)? {
            Some(x) => out.push(CommandExtension::Other(x)),
            None => {
                return Err(DecodeError::new(
                    ErrorKind::UnimplementedExtension,
                    format!("extension {display} in namespace '{ns}' is not implemented"),
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(DecodeError::new(
            ErrorKind::MissingParameter,
            "<extension> must contain at least one element",
        ));
    }
    s.end()?;
    Ok(out)
}

/// Reads `<clTRID>` (just started) as `epp:trIDStringType` (token, 3-64).
///
/// # Errors
///
/// [`ErrorKind::ValueRange`] for a length outside 3-64.
pub fn cl_trid<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<ClTrid, DecodeError> {
    let v = seq::text_token(r, &el, "epp:trIDStringType", 3, 64)?;
    ClTrid::new(v)
        .map_err(|e| DecodeError::new(ErrorKind::ValueRange, format!("{}: {e}", el.display())))
}

/// Decodes the object element of a command; `verb` is the command element's name.
/// Public for extension commands that carry an RFC object element (Norid's transfer
/// execute).
///
/// # Errors
///
/// [`ErrorKind::UnimplementedObject`] for an unknown object namespace, and any error of the
/// object decoders.
pub fn object_command<'a, X: Extension>(
    r: &mut XmlReader<'a>,
    verb: &str,
    op: Option<TransferOp>,
    obj: Element<'a>,
) -> Result<CommandKind<X>, DecodeError> {
    if obj.name() != verb && obj.ns() != EPP && [DOMAIN, CONTACT, HOST].contains(&obj.ns()) {
        return Err(DecodeError::new(
            ErrorKind::Structure,
            format!(
                "<{verb}> must contain the object's <{verb}> element, found {}",
                obj.display()
            ),
        ));
    }
    let op = op.unwrap_or(TransferOp::Request);
    Ok(match obj.ns() {
        DOMAIN => match domain::decode_command(r, obj)? {
            DomainCommand::Check(c) => CommandKind::DomainCheck(c),
            DomainCommand::Create(c) => CommandKind::DomainCreate(c),
            DomainCommand::Delete(c) => CommandKind::DomainDelete(c),
            DomainCommand::Info(c) => CommandKind::DomainInfo(c),
            DomainCommand::Renew(c) => CommandKind::DomainRenew(c),
            DomainCommand::Transfer(c) => CommandKind::DomainTransfer(op, c),
            DomainCommand::Update(c) => CommandKind::DomainUpdate(c),
        },
        CONTACT => match contact::decode_command(r, obj)? {
            ContactCommand::Check(c) => CommandKind::ContactCheck(c),
            ContactCommand::Create(c) => CommandKind::ContactCreate(c),
            ContactCommand::Delete(c) => CommandKind::ContactDelete(c),
            ContactCommand::Info(c) => CommandKind::ContactInfo(c),
            ContactCommand::Transfer(c) => CommandKind::ContactTransfer(op, c),
            ContactCommand::Update(c) => CommandKind::ContactUpdate(c),
        },
        HOST if verb == "renew" || verb == "transfer" => {
            return Err(DecodeError::new(
                ErrorKind::Structure,
                format!("the host mapping has no <{verb}> command"),
            ));
        }
        HOST => match host::decode_command(r, obj)? {
            HostCommand::Check(c) => CommandKind::HostCheck(c),
            HostCommand::Create(c) => CommandKind::HostCreate(c),
            HostCommand::Delete(c) => CommandKind::HostDelete(c),
            HostCommand::Info(c) => CommandKind::HostInfo(c),
            HostCommand::Update(c) => CommandKind::HostUpdate(c),
        },
        EPP | "" => {
            return Err(DecodeError::new(
                ErrorKind::Structure,
                format!(
                    "<{verb}> must contain an element of an object namespace, found {}",
                    obj.display()
                ),
            ));
        }
        other => {
            return Err(DecodeError::new(
                ErrorKind::UnimplementedObject,
                format!(
                    "object service '{other}' ({}) is not implemented",
                    obj.display()
                ),
            ));
        }
    })
}

fn login<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<Login, DecodeError> {
    el.allow_attrs(&[])?;
    let mut s = Seq::new(r, el);
    let e = s.req(EPP, "", "clID")?;
    let id = crate::common::cl_id(s.reader(), e)?;
    let client_id = ClientId::new(id)
        .map_err(|e| DecodeError::new(ErrorKind::ValueRange, format!("<clID>: {e}")))?;
    let e = s.req(EPP, "", "pw")?;
    let pw = password(s.reader(), e)?;
    let new_password = match s.opt(EPP, "newPW")? {
        Some(e) => Some(password(s.reader(), e)?),
        None => None,
    };
    let e = s.req(EPP, "", "options")?;
    e.allow_attrs(&[])?;
    let mut o = Seq::new(s.reader(), e);
    let version = o.req_with(EPP, "", "version", version)?;
    let lang = o.req_with(EPP, "", "lang", lang)?;
    o.end()?;
    let e = s.req(EPP, "", "svcs")?;
    e.allow_attrs(&[])?;
    let mut sv = Seq::new(s.reader(), e);
    let obj_uris = sv.many(EPP, "", "objURI", 1, usize::MAX, uri)?;
    let ext_uris = match sv.opt(EPP, "svcExtension")? {
        Some(e) => {
            e.allow_attrs(&[])?;
            let mut x = Seq::new(sv.reader(), e);
            let list = x.many(EPP, "", "extURI", 1, usize::MAX, uri)?;
            x.end()?;
            list
        }
        None => Vec::new(),
    };
    sv.end()?;
    s.end()?;
    Ok(Login {
        client_id,
        password: pw,
        new_password,
        version,
        lang,
        obj_uris,
        ext_uris,
    })
}

fn password<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<Password, DecodeError> {
    let v = seq::text_token(r, &el, "epp:pwType", 6, 16)?;
    Password::new(v)
        .map_err(|e| DecodeError::new(ErrorKind::ValueRange, format!("{}: {e}", el.display())))
}

/// Reads `xs:anyURI` (a token of at least one character).
pub(crate) fn uri<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<String, DecodeError> {
    seq::text_token(r, &el, "xs:anyURI", 1, usize::MAX)
}

/// Reads `epp:versionType`: the only EPP version is `1.0`.
pub(crate) fn version<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<String, DecodeError> {
    let version = seq::text_token(r, &el, "epp:versionType", 1, usize::MAX)?;
    if version != "1.0" {
        return Err(DecodeError::new(
            ErrorKind::ValueRange,
            format!("<version>: '{version}' is not one of 1.0 (epp:versionType)"),
        ));
    }
    Ok(version)
}

/// Reads an `xs:language` element.
pub(crate) fn lang<'a>(r: &mut XmlReader<'a>, el: Element<'a>) -> Result<String, DecodeError> {
    el.allow_attrs(&[])?;
    let t = r.text(&el)?;
    seq::language(&el, &t)
}

/// Serialises a client document (`<hello/>` or a command) as a complete document into
/// `out`.
///
/// The output is valid against the schemas when `request` holds schema-valid values (every
/// value built by this crate's decoder does); the encoder does not re-check cardinalities
/// such as a check's "at least one name". Decoding the output gives `request` back.
pub fn encode_request<X: Extension>(request: &Request<X>, out: &mut Vec<u8>) {
    match request {
        Request::Hello => {
            let mut w = XmlWriter::new(out);
            w.declaration();
            w.start("epp", &[("xmlns", EPP)]);
            w.empty("hello", &[]);
            w.end("epp");
        }
        Request::Command(c) => encode_command(c, out),
    }
}

/// Serialises a command as a complete document into `out`: `<epp><command>` for RFC
/// commands, `<epp><extension>` for the extension set's commands. See [`encode_request`].
pub fn encode_command<X: Extension>(command: &Command<X>, out: &mut Vec<u8>) {
    let mut w = XmlWriter::new(out);
    w.declaration();
    w.start("epp", &[("xmlns", EPP)]);
    if let CommandKind::Extension(x) = &command.kind {
        w.start("extension", &[]);
        X::encode_ext_command(x, &command.extensions, command.cl_trid.as_ref(), &mut w);
        w.end("extension");
    } else {
        w.start("command", &[]);
        write_kind(&mut w, &command.kind);
        write_command_extensions(&mut w, "extension", &command.extensions);
        if let Some(id) = &command.cl_trid {
            w.leaf("clTRID", &[], id);
        }
        w.end("command");
    }
    w.end("epp");
}

/// Writes a command's extension elements inside an element `name` (`extension`, or an
/// extension command's own such as `no-ext-epp:extension`); writes nothing when there are
/// none, since the schema requires at least one.
pub fn write_command_extensions<X: Extension>(
    w: &mut XmlWriter<'_>,
    name: &str,
    extensions: &[CommandExtension<X>],
) {
    if extensions.is_empty() {
        return;
    }
    w.start(name, &[]);
    for e in extensions {
        match e {
            CommandExtension::SecDns(s) => secdns::write_command_ext(w, s),
            CommandExtension::Other(x) => X::encode_command_ext(x, w),
        }
    }
    w.end(name);
}

fn write_kind<X: Extension>(w: &mut XmlWriter<'_>, kind: &CommandKind<X>) {
    use CommandKind as K;
    let (verb, op) = match kind {
        K::Login(l) => return write_login(w, l),
        K::Logout => return w.empty("logout", &[]),
        K::Poll(p) => {
            let op = match p.op {
                PollOp::Ack => "ack",
                PollOp::Req => "req",
            };
            return match &p.msg_id {
                Some(id) => w.empty("poll", &[("op", op), ("msgID", id)]),
                None => w.empty("poll", &[("op", op)]),
            };
        }
        // Written by `encode_command` in `<epp><extension>`, never inside `<command>`.
        K::Extension(_) => return,
        K::DomainCheck(_) | K::ContactCheck(_) | K::HostCheck(_) => ("check", None),
        K::DomainCreate(_) | K::ContactCreate(_) | K::HostCreate(_) => ("create", None),
        K::DomainDelete(_) | K::ContactDelete(_) | K::HostDelete(_) => ("delete", None),
        K::DomainInfo(_) | K::ContactInfo(_) | K::HostInfo(_) => ("info", None),
        K::DomainRenew(_) => ("renew", None),
        K::DomainTransfer(op, _) | K::ContactTransfer(op, _) => ("transfer", Some(*op)),
        K::DomainUpdate(_) | K::ContactUpdate(_) | K::HostUpdate(_) => ("update", None),
    };
    match op {
        Some(op) => w.start(verb, &[("op", op.as_str())]),
        None => w.start(verb, &[]),
    }
    match kind {
        K::DomainCheck(c) => domain::write_check(w, c),
        K::DomainCreate(c) => domain::write_create(w, c),
        K::DomainDelete(c) => domain::write_delete(w, c),
        K::DomainInfo(c) => domain::write_info(w, c),
        K::DomainRenew(c) => domain::write_renew(w, c),
        K::DomainTransfer(_, c) => domain::write_transfer(w, c),
        K::DomainUpdate(c) => domain::write_update(w, c),
        K::ContactCheck(c) => contact::write_check(w, c),
        K::ContactCreate(c) => contact::write_create(w, c),
        K::ContactDelete(c) => contact::write_delete(w, c),
        K::ContactInfo(c) => contact::write_auth_id(w, "info", c),
        K::ContactTransfer(_, c) => contact::write_auth_id(w, "transfer", c),
        K::ContactUpdate(c) => contact::write_update(w, c),
        K::HostCheck(c) => host::write_check(w, c),
        K::HostCreate(c) => host::write_create(w, c),
        K::HostDelete(c) => host::write_name(w, "delete", c),
        K::HostInfo(c) => host::write_name(w, "info", c),
        K::HostUpdate(c) => host::write_update(w, c),
        K::Login(_) | K::Logout | K::Poll(_) | K::Extension(_) => {}
    }
    w.end(verb);
}

fn write_login(w: &mut XmlWriter<'_>, l: &Login) {
    w.start("login", &[]);
    w.leaf("clID", &[], &l.client_id);
    w.leaf("pw", &[], &l.password);
    if let Some(p) = &l.new_password {
        w.leaf("newPW", &[], p);
    }
    w.start("options", &[]);
    w.leaf("version", &[], &l.version);
    w.leaf("lang", &[], &l.lang);
    w.end("options");
    w.start("svcs", &[]);
    for u in &l.obj_uris {
        w.leaf("objURI", &[], u);
    }
    if !l.ext_uris.is_empty() {
        w.start("svcExtension", &[]);
        for u in &l.ext_uris {
            w.leaf("extURI", &[], u);
        }
        w.end("svcExtension");
    }
    w.end("svcs");
    w.end("login");
}

/// Best-effort read of `<clTRID>` from a document that failed to decode, so the error
/// response can echo it. Gives up silently at the first problem.
fn scan_cl_trid<X: Extension>(input: &[u8]) -> Option<ClTrid> {
    let mut r = XmlReader::new(input, X::NAMESPACES).ok()?;
    let root = r.root().ok()?;
    let mut cmd = r.next_child(&root).ok()??;
    if cmd.is(EPP, "extension") {
        cmd = r.next_child(&cmd).ok()??;
    } else if !cmd.is(EPP, "command") {
        return None;
    }
    while let Some(child) = r.next_child(&cmd).ok()? {
        if child.name() == "clTRID" {
            let t = r.text(&child).ok()?;
            return ClTrid::new(crate::collapse_whitespace(&t).into_owned()).ok();
        }
        r.skip(&child).ok()?;
    }
    None
}
