//! The body of the `frame_decode` fuzz target, shared with the corpus replay test.
//!
//! Panics are how a fuzz target reports a broken invariant, hence the allowance.
#![allow(clippy::expect_used)]

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::{EppCodec, FrameError, HEADER_LEN};

/// Decodes `data` as a byte stream delivered in chunks and checks the decoder's contract.
///
/// The first byte picks the chunk size and the second a small maximum frame size, so the
/// fuzzer explores both chunking and the size limit. Checked invariants: decoding never
/// panics; every frame respects the maximum; a frame re-encodes to exactly the bytes it
/// was read from; the buffer's growth
/// is bounded by the input received and one maximum frame, never by a declared length.
pub fn frame_decode(data: &[u8]) {
    let [chunk, max, stream @ ..] = data else {
        return;
    };
    let chunk = usize::from(*chunk).max(1);
    let max = u32::from(*max) * 64 + HEADER_LEN as u32 + 1;
    let mut codec = EppCodec::with_max_frame_size(max);
    let mut buf = BytesMut::new();
    let mut consumed = 0usize;
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(frame)) => {
                    assert!(frame.len() + HEADER_LEN <= max as usize);
                    let mut out = BytesMut::new();
                    codec
                        .encode(frame.clone(), &mut out)
                        .expect("decoded frame re-encodes");
                    let start = consumed;
                    consumed += out.len();
                    assert_eq!(&out[..], &stream[start..consumed]);
                }
                Ok(None) => break,
                Err(FrameError::LengthTooSmall { .. } | FrameError::FrameTooLarge { .. }) => {
                    return;
                }
                Err(e) => panic!("unexpected decode error: {e}"),
            }
        }
        // Growth follows bytes received (amortised doubling), never a declared length.
        assert!(buf.capacity() <= 2 * (stream.len() + max as usize) + 64);
    }
    match codec.decode_eof(&mut buf) {
        Ok(None) => assert!(buf.is_empty()),
        Ok(Some(_)) => unreachable!("decode already drained every complete frame"),
        Err(FrameError::UnexpectedEof { expected, received }) => assert!(received < expected),
        Err(FrameError::LengthTooSmall { .. } | FrameError::FrameTooLarge { .. }) => {}
        Err(e) => panic!("unexpected eof error: {e}"),
    }
}
