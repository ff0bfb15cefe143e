use std::io;

/// Why a byte stream is not a valid sequence of EPP data units, or could not be written.
///
/// After any decoding error the stream is out of step and must be closed: RFC 5734 gives
/// no way to resynchronise on the next frame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The header declared a total length of four bytes or less, so no XML instance can
    /// follow it (RFC 5734 section 4: the length includes the four header bytes).
    #[error("declared frame length {declared} leaves no room for an XML payload (must be > 4)")]
    LengthTooSmall {
        /// The total length the peer declared.
        declared: u32,
    },
    /// The header declared a total length above the configured maximum. Refused before any
    /// of the payload was buffered.
    #[error("declared frame length {declared} exceeds the maximum of {max} bytes")]
    FrameTooLarge {
        /// The total length the peer declared.
        declared: u32,
        /// The configured maximum total length.
        max: u32,
    },
    /// The stream ended inside a frame (inside the header or the payload). A clean end of
    /// stream between frames is not an error: the decoder then yields `None`.
    #[error("stream ended inside a frame: {received} of {expected} bytes received")]
    UnexpectedEof {
        /// Bytes needed to complete the frame, header included (4 while still in the header).
        expected: u64,
        /// Bytes of the frame received before the end of stream.
        received: u64,
    },
    /// An outgoing payload is too large to be framed within the configured maximum.
    #[error("outgoing payload of {len} bytes exceeds the maximum frame size of {max} bytes")]
    PayloadTooLarge {
        /// Payload length in bytes (without the header).
        len: usize,
        /// The configured maximum total length.
        max: u32,
    },
    /// The underlying transport failed.
    #[error("transport error: {0}")]
    Io(#[from] io::Error),
}
