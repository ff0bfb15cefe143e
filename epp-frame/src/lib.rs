//! RFC 5734 framing for EPP over TCP/TLS.
//!
//! An EPP data unit is a 32-bit big-endian *total length* (which counts the four header
//! bytes themselves) followed by one XML document (RFC 5734 section 4):
//!
//! ```text
//! Data Unit Format (one tick mark represents one bit position):
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                           Total Length                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         EPP XML Instance                      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-//-+
//! ```
//!
//! This crate provides [`parse_header`], a pure function over the four header bytes, and
//! [`EppCodec`], a [`tokio_util::codec`] `Decoder`/`Encoder` built on it that hands each
//! payload out as [`bytes::Bytes`] without copying.
//!
//! The decoder is defensive: a declared length above the configured maximum is refused as
//! soon as the header is read, before any payload is buffered, so memory never follows a
//! length announced by the peer. Every failure is one [`FrameError`] variant with the exact
//! cause, so the server can decide whether to answer or just close.
//!
//! What this crate deliberately does **not** do: it knows nothing of XML, TLS, sessions or
//! storage. It never looks inside a payload.

mod codec;
mod error;
mod header;

#[cfg(any(test, fuzzing))]
#[doc(hidden)]
pub mod fuzz_target;

pub use codec::{DEFAULT_MAX_FRAME_SIZE, EppCodec};
pub use error::FrameError;
pub use header::{HEADER_LEN, parse_header};
