//! The one error type of this crate: why a client document was refused, with the EPP result
//! code that goes on the wire and a reason for `<extValue><reason>`.

use std::fmt;

use crate::{ClTrid, ResultCode};

/// What kind of rule a refused document broke; each kind maps to one EPP result code.
///
/// The choice of code for each kind is recorded in `docs/epp-xml-result-codes.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The bytes are not a well-formed XML 1.0 document in UTF-8 (2001).
    Malformed,
    /// The document uses a construct refused for safety: a DTD, entity declarations or
    /// references to undeclared entities, or it exceeds a size or nesting limit (2001).
    Refused,
    /// The document is well-formed but violates the schema's structure: unexpected, extra
    /// or misordered elements or attributes, text where none is allowed (2001).
    Structure,
    /// A required element or attribute is missing (2003).
    MissingParameter,
    /// A value is outside its type's length, enumeration or numeric range (2004).
    ValueRange,
    /// A value does not match its type's lexical form or pattern (2005).
    ValueSyntax,
    /// An element in the EPP namespace where a command is expected is not an EPP command
    /// (2000).
    UnknownCommand,
    /// A command names an object namespace this server does not implement (2307).
    UnimplementedObject,
    /// An `<extension>` element belongs to a namespace this server does not implement
    /// (2103).
    UnimplementedExtension,
}

impl ErrorKind {
    /// The EPP result code for this kind of refusal.
    pub const fn result_code(self) -> ResultCode {
        match self {
            ErrorKind::Malformed | ErrorKind::Refused | ErrorKind::Structure => {
                ResultCode::CommandSyntaxError
            }
            ErrorKind::MissingParameter => ResultCode::RequiredParameterMissing,
            ErrorKind::ValueRange => ResultCode::ParameterValueRangeError,
            ErrorKind::ValueSyntax => ResultCode::ParameterValueSyntaxError,
            ErrorKind::UnknownCommand => ResultCode::UnknownCommand,
            ErrorKind::UnimplementedObject => ResultCode::UnimplementedObjectService,
            ErrorKind::UnimplementedExtension => ResultCode::UnimplementedExtension,
        }
    }
}

/// Why a client document was refused.
///
/// Carries the [`ResultCode`] for the response, a reason naming the element and the rule
/// (fit for `<extValue><reason>`), and the client's `<clTRID>` when it could still be read,
/// so the error response can echo it. Two errors compare equal when their codes are equal.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The document was refused while decoding.
    #[error("{}: {reason}", .kind.result_code())]
    Decode {
        /// The rule broken.
        kind: ErrorKind,
        /// The reason, naming the element and the rule.
        reason: String,
        /// The client transaction id, if the document's `<clTRID>` could be read.
        cl_trid: Option<ClTrid>,
    },
}

/// Shorthand used across decoders.
pub type DecodeError = Error;

impl Error {
    /// A refusal of `kind` for `reason`.
    pub fn new(kind: ErrorKind, reason: impl Into<String>) -> Self {
        Error::Decode {
            kind,
            reason: reason.into(),
            cl_trid: None,
        }
    }

    /// The kind of rule broken.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Decode { kind, .. } => *kind,
        }
    }

    /// The EPP result code for the error response.
    pub fn code(&self) -> ResultCode {
        self.kind().result_code()
    }

    /// The reason, naming the element and the rule broken.
    pub fn reason(&self) -> &str {
        match self {
            Error::Decode { reason, .. } => reason,
        }
    }

    /// The client transaction id to echo, when it could be read.
    pub fn cl_trid(&self) -> Option<&ClTrid> {
        match self {
            Error::Decode { cl_trid, .. } => cl_trid.as_ref(),
        }
    }

    /// This error with the client transaction id attached.
    pub fn with_cl_trid(mut self, id: Option<ClTrid>) -> Self {
        match &mut self {
            Error::Decode { cl_trid, .. } => *cl_trid = id,
        }
        self
    }
}

impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.code() == other.code()
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
