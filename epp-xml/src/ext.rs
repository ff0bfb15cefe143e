//! The extension point: how a crate such as `epp-norid-ext` plugs its extension types into
//! [`Command`](crate::Command) and [`Response`](crate::Response) without this crate knowing
//! them, on both sides of the wire: the server decodes commands and encodes responses, a
//! client encodes commands and decodes responses.

use std::fmt::Debug;

use crate::ClTrid;
use crate::command::{Command, CommandExtension};
use crate::error::DecodeError;
use crate::reader::{Element, NamespaceTable, XmlReader};
use crate::writer::XmlWriter;

/// A set of EPP extensions this crate decodes and encodes through callbacks.
///
/// An implementation says which namespaces it owns, decodes and encodes the elements of
/// those namespaces that appear in a command's `<extension>` (and, for extension commands
/// such as Norid's `no-ext-epp:command`, in `<epp><extension>`), and encodes and decodes
/// its response extensions and `resData` payloads. Every decoder must be as strict as its
/// schema and report refusals with the codes of [`crate::ErrorKind`]; every encoder must
/// write what its decoder reads back to an equal value.
pub trait Extension: Debug + Clone + PartialEq + Eq + 'static {
    /// An element this set decodes from a command's `<extension>`.
    type CommandExt: Debug + Clone + PartialEq + Eq;
    /// A whole command this set decodes from `<epp><extension>`.
    type ExtCommand: Debug + Clone + PartialEq + Eq;
    /// An element this set writes into a response's `<extension>`.
    type ResponseExt: Debug + Clone + PartialEq + Eq;
    /// An element this set writes into a response's `<resData>`.
    type ResData: Debug + Clone + PartialEq + Eq;

    /// The namespaces this set owns, with their customary prefixes.
    const NAMESPACES: NamespaceTable;

    /// Decodes `el`, a child of a command's `<extension>`, or returns `Ok(None)` when its
    /// namespace is not one of this set's (the caller then refuses it with 2103).
    ///
    /// # Errors
    ///
    /// When `el` belongs to this set but violates its schema.
    fn decode_command_ext<'a>(
        r: &mut XmlReader<'a>,
        el: Element<'a>,
    ) -> Result<Option<Self::CommandExt>, DecodeError>;

    /// The namespace URI of a decoded command extension.
    fn command_ext_namespace(ext: &Self::CommandExt) -> &'static str;

    /// Decodes `el`, the child of `<epp><extension>`, as a whole command, or returns
    /// `Ok(None)` when its namespace is not one of this set's.
    ///
    /// # Errors
    ///
    /// When `el` belongs to this set but violates its schema.
    fn decode_ext_command<'a>(
        r: &mut XmlReader<'a>,
        el: Element<'a>,
    ) -> Result<Option<Command<Self>>, DecodeError>;

    /// The namespace URIs an extension command uses (its envelope and its object).
    fn ext_command_namespaces(cmd: &Self::ExtCommand) -> Vec<&'static str>;

    /// Writes a response extension element at the writer's current depth.
    fn encode_response_ext(ext: &Self::ResponseExt, w: &mut XmlWriter<'_>);

    /// Writes a `resData` element at the writer's current depth.
    fn encode_res_data(data: &Self::ResData, w: &mut XmlWriter<'_>);

    /// Writes a command extension element (a child of `<extension>`) at the writer's
    /// current depth, declaring its namespace.
    fn encode_command_ext(ext: &Self::CommandExt, w: &mut XmlWriter<'_>);

    /// Writes an extension command (the child of `<epp><extension>`) with the command's
    /// extension elements and client transaction id, at the writer's current depth.
    fn encode_ext_command(
        cmd: &Self::ExtCommand,
        extensions: &[CommandExtension<Self>],
        cl_trid: Option<&ClTrid>,
        w: &mut XmlWriter<'_>,
    );

    /// Decodes `el`, a child of a response's `<extension>`, or returns `Ok(None)` when its
    /// namespace is not one of this set's.
    ///
    /// # Errors
    ///
    /// When `el` belongs to this set but violates its schema.
    fn decode_response_ext<'a>(
        r: &mut XmlReader<'a>,
        el: Element<'a>,
    ) -> Result<Option<Self::ResponseExt>, DecodeError>;

    /// Decodes `el`, the child of a response's `<resData>`, or returns `Ok(None)` when its
    /// namespace is not one of this set's.
    ///
    /// # Errors
    ///
    /// When `el` belongs to this set but violates its schema.
    fn decode_res_data<'a>(
        r: &mut XmlReader<'a>,
        el: Element<'a>,
    ) -> Result<Option<Self::ResData>, DecodeError>;
}

/// The empty extension set: plain RFC 5730-5733 and RFC 5910, nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NoExtensions;

/// A type with no values, for the parts of [`NoExtensions`] that cannot occur.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Never {}

impl Extension for NoExtensions {
    type CommandExt = Never;
    type ExtCommand = Never;
    type ResponseExt = Never;
    type ResData = Never;

    const NAMESPACES: NamespaceTable = &[];

    fn decode_command_ext<'a>(
        _: &mut XmlReader<'a>,
        _: Element<'a>,
    ) -> Result<Option<Never>, DecodeError> {
        Ok(None)
    }

    fn command_ext_namespace(ext: &Never) -> &'static str {
        match *ext {}
    }

    fn decode_ext_command<'a>(
        _: &mut XmlReader<'a>,
        _: Element<'a>,
    ) -> Result<Option<Command<Self>>, DecodeError> {
        Ok(None)
    }

    fn ext_command_namespaces(cmd: &Never) -> Vec<&'static str> {
        match *cmd {}
    }

    fn encode_response_ext(ext: &Never, _: &mut XmlWriter<'_>) {
        match *ext {}
    }

    fn encode_res_data(data: &Never, _: &mut XmlWriter<'_>) {
        match *data {}
    }

    fn encode_command_ext(ext: &Never, _: &mut XmlWriter<'_>) {
        match *ext {}
    }

    fn encode_ext_command(
        cmd: &Never,
        _: &[CommandExtension<Self>],
        _: Option<&ClTrid>,
        _: &mut XmlWriter<'_>,
    ) {
        match *cmd {}
    }

    fn decode_response_ext<'a>(
        _: &mut XmlReader<'a>,
        _: Element<'a>,
    ) -> Result<Option<Never>, DecodeError> {
        Ok(None)
    }

    fn decode_res_data<'a>(
        _: &mut XmlReader<'a>,
        _: Element<'a>,
    ) -> Result<Option<Never>, DecodeError> {
        Ok(None)
    }
}
