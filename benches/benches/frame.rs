//! Decoding a stream of typical EPP frames with `epp_frame::EppCodec`.
#![allow(missing_docs, clippy::expect_used)] // criterion_group! generates undocumented items

use bytes::BytesMut;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use epp_benches::corpus::COMMANDS;
use epp_frame::EppCodec;
use tokio_util::codec::{Decoder, Encoder};

fn frame_decode(c: &mut Criterion) {
    // 1000 frames cycling through the corpus, as one pipelined stream.
    let mut codec = EppCodec::new();
    let mut stream = BytesMut::new();
    for doc in COMMANDS.iter().cycle().take(1000) {
        codec
            .encode(doc.as_bytes(), &mut stream)
            .expect("corpus frames fit");
    }
    let stream = stream.freeze();
    let mut group = c.benchmark_group("frame");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    group.bench_function("decode_stream_1000", |b| {
        b.iter_batched(
            || BytesMut::from(&stream[..]),
            |mut buf| {
                let mut n = 0usize;
                while let Some(frame) = codec.decode(&mut buf).expect("valid stream") {
                    n += frame.len();
                }
                n
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, frame_decode);
criterion_main!(benches);
