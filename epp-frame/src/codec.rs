use bytes::{BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::{FrameError, HEADER_LEN, parse_header};

/// Default maximum total frame length (header included): 64 KiB.
///
/// The largest EPP commands a registrar sends (a domain create with eight name servers,
/// DS records and Norid extensions, or a check of many names) are a few kilobytes, so
/// 64 KiB leaves a wide margin while bounding what one idle connection can make the
/// server buffer. Servers that expect larger commands raise it with
/// [`EppCodec::with_max_frame_size`].
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 64 * 1024;

/// A tokio-util codec for RFC 5734 data units.
///
/// As a [`Decoder`] it yields each XML payload (without the header) as [`Bytes`] split off
/// the read buffer, without copying. As an [`Encoder`] it writes the header and the payload.
/// The same maximum applies in both directions.
#[derive(Debug, Clone, Copy)]
pub struct EppCodec {
    max_frame_size: u32,
}

impl EppCodec {
    /// A codec with the [`DEFAULT_MAX_FRAME_SIZE`].
    pub fn new() -> Self {
        Self {
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
        }
    }

    /// A codec whose maximum total frame length (header included) is `max_frame_size`.
    ///
    /// Values of [`HEADER_LEN`] or less would refuse every frame; they are raised to the
    /// smallest useful maximum, `HEADER_LEN + 1`.
    pub fn with_max_frame_size(max_frame_size: u32) -> Self {
        Self {
            max_frame_size: max_frame_size.max(HEADER_LEN as u32 + 1),
        }
    }

    /// The maximum total frame length, header included.
    pub fn max_frame_size(&self) -> u32 {
        self.max_frame_size
    }

    fn encode_slice(&self, payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        let too_large = || FrameError::PayloadTooLarge {
            len: payload.len(),
            max: self.max_frame_size,
        };
        let total = payload
            .len()
            .checked_add(HEADER_LEN)
            .ok_or_else(too_large)?;
        let total = u32::try_from(total).map_err(|_| too_large())?;
        if total > self.max_frame_size {
            return Err(too_large());
        }
        dst.reserve(total as usize);
        dst.put_u32(total);
        dst.put_slice(payload);
        Ok(())
    }
}

impl Default for EppCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder for EppCodec {
    type Item = Bytes;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        let Some(total) = parse_header(src, self.max_frame_size)? else {
            src.reserve(HEADER_LEN - src.len());
            return Ok(None);
        };
        if src.len() < total {
            // Bounded by `max_frame_size`: parse_header refused anything larger.
            src.reserve(total - src.len());
            return Ok(None);
        }
        let mut frame = src.split_to(total);
        let _header = frame.split_to(HEADER_LEN);
        Ok(Some(frame.freeze()))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if src.is_empty() {
            return Ok(None);
        }
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        let expected = match parse_header(src, self.max_frame_size)? {
            Some(total) => total as u64,
            None => HEADER_LEN as u64,
        };
        Err(FrameError::UnexpectedEof {
            expected,
            received: src.len() as u64,
        })
    }
}

impl Encoder<Bytes> for EppCodec {
    type Error = FrameError;

    fn encode(&mut self, payload: Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.encode_slice(&payload, dst)
    }
}

impl Encoder<&[u8]> for EppCodec {
    type Error = FrameError;

    fn encode(&mut self, payload: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        self.encode_slice(payload, dst)
    }
}

#[cfg(test)]
mod tests;
