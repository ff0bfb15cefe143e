use std::io;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder, FramedRead, FramedWrite};

use super::*;

const HELLO: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>"#;

fn framed(payload: &[u8]) -> Vec<u8> {
    let mut out = ((payload.len() + 4) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

/// Reads every frame from `reads`, each element delivered by one `read` call.
fn decode_reads(reads: &[&[u8]], codec: EppCodec) -> Vec<Result<Bytes, FrameError>> {
    let mut mock = tokio_test::io::Builder::new();
    for r in reads {
        mock.read(r);
    }
    block_on(FramedRead::new(mock.build(), codec).collect())
}

#[test]
fn decodes_one_frame_without_copying_header() {
    let mut buf = BytesMut::from(&framed(HELLO)[..]);
    let frame = EppCodec::new().decode(&mut buf).unwrap().unwrap();
    assert_eq!(&frame[..], HELLO);
    assert!(buf.is_empty());
}

#[test]
fn decodes_back_to_back_frames() {
    let mut stream = framed(HELLO);
    stream.extend(framed(b"<epp/>"));
    let frames = decode_reads(&[&stream], EppCodec::new());
    let frames: Vec<_> = frames.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        frames,
        vec![Bytes::from_static(HELLO), Bytes::from_static(b"<epp/>")]
    );
}

#[test]
fn frame_split_at_every_offset_decodes_the_same() {
    let mut stream = framed(HELLO);
    stream.extend(framed(b"<epp/>"));
    for cut in 1..stream.len() {
        let frames = decode_reads(&[&stream[..cut], &stream[cut..]], EppCodec::new());
        let frames: Vec<_> = frames.into_iter().map(Result::unwrap).collect();
        assert_eq!(frames.len(), 2, "cut at {cut}");
        assert_eq!(&frames[0][..], HELLO, "cut at {cut}");
        assert_eq!(&frames[1][..], b"<epp/>", "cut at {cut}");
    }
}

#[test]
fn one_byte_per_read_decodes_the_same() {
    let stream = framed(HELLO);
    let reads: Vec<&[u8]> = stream.chunks(1).collect();
    let frames = decode_reads(&reads, EppCodec::new());
    assert_eq!(frames.len(), 1);
    assert_eq!(&frames[0].as_ref().unwrap()[..], HELLO);
}

#[test]
fn clean_end_between_frames_is_not_an_error() {
    assert!(decode_reads(&[], EppCodec::new()).is_empty());
    let mut buf = BytesMut::new();
    assert!(EppCodec::new().decode_eof(&mut buf).unwrap().is_none());
    let frames = decode_reads(&[&framed(HELLO)], EppCodec::new());
    assert_eq!(frames.len(), 1);
    assert!(frames[0].is_ok());
}

#[test]
fn length_too_small_is_refused() {
    for declared in 0u32..=4 {
        let mut buf = BytesMut::from(&declared.to_be_bytes()[..]);
        let err = EppCodec::new().decode(&mut buf).unwrap_err();
        assert!(matches!(err, FrameError::LengthTooSmall { declared: d } if d == declared));
    }
}

#[test]
fn oversized_frame_is_refused_at_the_header_before_buffering() {
    // A header announcing 4 GiB: refused at once, and nothing is reserved for it.
    let mut buf = BytesMut::from(&u32::MAX.to_be_bytes()[..]);
    let err = EppCodec::new().decode(&mut buf).unwrap_err();
    assert!(matches!(
        err,
        FrameError::FrameTooLarge {
            declared: u32::MAX,
            max: DEFAULT_MAX_FRAME_SIZE
        }
    ));
    assert!(buf.capacity() < 1024);

    let codec = EppCodec::with_max_frame_size(100);
    let header = 101u32.to_be_bytes();
    let frames = decode_reads(&[&header[..]], codec);
    assert!(matches!(
        frames[..],
        [Err(FrameError::FrameTooLarge {
            declared: 101,
            max: 100
        })]
    ));
}

#[test]
fn frame_of_exactly_max_size_is_accepted() {
    let payload = vec![b'x'; 96];
    let frames = decode_reads(&[&framed(&payload)], EppCodec::with_max_frame_size(100));
    assert_eq!(frames[0].as_ref().unwrap().len(), 96);
}

#[test]
fn eof_inside_payload_is_distinct_from_clean_end() {
    let stream = framed(HELLO);
    let frames = decode_reads(&[&stream[..10]], EppCodec::new());
    let expected = stream.len() as u64;
    assert!(matches!(
        frames[..],
        [Err(FrameError::UnexpectedEof { expected: e, received: 10 })] if e == expected
    ));
}

#[test]
fn eof_inside_header_is_an_error() {
    let frames = decode_reads(&[&[0, 0]], EppCodec::new());
    assert!(matches!(
        frames[..],
        [Err(FrameError::UnexpectedEof {
            expected: 4,
            received: 2
        })]
    ));
}

#[test]
fn io_error_is_passed_through() {
    let mock = tokio_test::io::Builder::new()
        .read_error(io::Error::new(io::ErrorKind::ConnectionReset, "reset"))
        .build();
    let frames: Vec<_> = block_on(FramedRead::new(mock, EppCodec::new()).collect());
    assert!(matches!(
        &frames[..],
        [Err(FrameError::Io(e))] if e.kind() == io::ErrorKind::ConnectionReset
    ));
}

#[test]
fn encoder_writes_total_length_header() {
    let mut dst = BytesMut::new();
    EppCodec::new()
        .encode(Bytes::from_static(HELLO), &mut dst)
        .unwrap();
    assert_eq!(&dst[..], &framed(HELLO)[..]);
    let mut dst2 = BytesMut::new();
    EppCodec::new().encode(HELLO, &mut dst2).unwrap();
    assert_eq!(dst, dst2);
}

#[test]
fn encoder_refuses_payload_over_max() {
    let mut dst = BytesMut::new();
    let err = EppCodec::with_max_frame_size(10)
        .encode(&b"1234567"[..], &mut dst)
        .unwrap_err();
    assert!(matches!(
        err,
        FrameError::PayloadTooLarge { len: 7, max: 10 }
    ));
    assert!(dst.is_empty());
}

#[test]
fn framed_write_then_read_round_trips() {
    let out = block_on(async {
        let mut sink = FramedWrite::new(Vec::new(), EppCodec::new());
        sink.send(Bytes::from_static(HELLO)).await.unwrap();
        sink.send(Bytes::from_static(b"<epp/>")).await.unwrap();
        sink.into_inner()
    });
    let mut expected = framed(HELLO);
    expected.extend(framed(b"<epp/>"));
    assert_eq!(out, expected);
}

#[test]
fn tiny_configured_max_is_raised_to_one_byte_payloads() {
    assert_eq!(EppCodec::with_max_frame_size(0).max_frame_size(), 5);
}

proptest! {
    #[test]
    fn any_payloads_any_chunking_round_trip(
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..300), 0..6),
        chunk in 1usize..64,
    ) {
        let mut codec = EppCodec::new();
        let mut stream = BytesMut::new();
        for p in &payloads {
            codec.encode(&p[..], &mut stream).unwrap();
        }
        let reads: Vec<&[u8]> = stream.chunks(chunk).collect();
        let frames = decode_reads(&reads, codec);
        let frames: Vec<Vec<u8>> = frames.into_iter().map(|f| f.unwrap().to_vec()).collect();
        prop_assert_eq!(frames, payloads);
    }

    #[test]
    fn truncated_stream_always_reports_eof(
        payload in prop::collection::vec(any::<u8>(), 1..200),
        cut in any::<prop::sample::Index>(),
    ) {
        let stream = framed(&payload);
        let cut = 1 + cut.index(stream.len() - 1);
        let frames = decode_reads(&[&stream[..cut]], EppCodec::new());
        let is_eof = matches!(
            frames[..],
            [Err(FrameError::UnexpectedEof { expected, received })]
                if received == cut as u64 && expected > received
        );
        prop_assert!(is_eof, "cut {} of {}: {:?}", cut, stream.len(), frames);
    }
}

#[test]
fn fuzz_corpus_replays_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/frame_decode");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz corpus directory exists") {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        crate::fuzz_target::frame_decode(&data);
        n += 1;
    }
    assert!(n >= 5, "corpus at {} has only {n} inputs", dir.display());
}
