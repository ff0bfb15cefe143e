//! Our strict decoder against xsd-parser's own generated quick-xml deserialiser
//! (`src/reference.rs`, feature `reference`), side by side in one run, on the same corpus of
//! typical commands (check, info, create and update with Norid's applicant dataset).
//!
//! Three contestants per document:
//! * `epp_xml`: `epp_norid_ext::decode`, strict and fully typed (envelope, object, Norid
//!   extension, value types such as `DomainName` and `Timestamp`);
//! * `xsd_parser_envelope`: the generated deserialiser of `<epp>`. EPP's envelope holds the
//!   object and extension elements in `xs:any` wildcards, which xsd-parser reads into
//!   untyped `xsd_parser_types` elements: strictly less typing work than ours, the
//!   conservative reference for the ratio;
//! * `xsd_parser_typed`: the envelope, then each `xs:any` element replayed as events into
//!   the generated deserialiser of its type (`domain:create`, `no-ext-domain:create`, ...):
//!   the typed values ours produces, the way xsd-parser's public API allows.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use epp_benches::corpus::XML_COMMANDS;
use epp_benches::reference::{domain, epp, no_ext_domain};
use quick_xml::events::Event;
use xsd_parser_types::quick_xml::{
    DeserializeSync, Error, SerializeHelper, Serializer, SliceReader, WithSerializer, XmlReader,
    XmlReaderSync,
};
use xsd_parser_types::xml::AnyElement;

/// Replays the events of an `xs:any` element (from its generated serialiser) for a
/// generated deserialiser.
struct Replay<'a> {
    events: <AnyElement as WithSerializer>::Serializer<'a>,
    helper: SerializeHelper,
}

impl XmlReader for Replay<'_> {
    fn extend_error(&self, error: Error) -> Error {
        error
    }
}

impl<'a> XmlReaderSync<'a> for Replay<'a> {
    fn read_event(&mut self) -> Result<Event<'a>, Error> {
        self.events.next(&mut self.helper).unwrap_or(Ok(Event::Eof))
    }
}

fn typed<'a, T: DeserializeSync<'a, Replay<'a>, Error = Error>>(any: &'a AnyElement) -> T {
    let mut replay = Replay {
        events: any.serializer(None, true).unwrap(),
        helper: SerializeHelper::default(),
    };
    T::deserialize(&mut replay).unwrap()
}

/// The typed values of one corpus document, decoded with the generated code.
#[allow(
    dead_code,
    reason = "kept so that the optimiser cannot drop the decoding"
)]
#[derive(Debug)]
enum Typed {
    Check(domain::Check),
    Info(domain::Info),
    Create(domain::Create),
    Update(domain::Update),
    ExtCreate(no_ext_domain::Create),
    ExtUpdate(no_ext_domain::Update),
}

fn envelope(doc: &str) -> epp::Epp {
    epp::Epp::deserialize(&mut SliceReader::new(doc)).unwrap()
}

fn reference_typed(doc: &str) -> (epp::Epp, Vec<Typed>) {
    let envelope = envelope(doc);
    let mut out = Vec::new();
    if let epp::EppTypeContent::Command(c) = &envelope.content {
        for part in &c.content {
            match part {
                epp::CommandTypeContent::Check(o) => out.push(Typed::Check(typed(&o.any))),
                epp::CommandTypeContent::Info(o) => out.push(Typed::Info(typed(&o.any))),
                epp::CommandTypeContent::Create(o) => out.push(Typed::Create(typed(&o.any))),
                epp::CommandTypeContent::Update(o) => out.push(Typed::Update(typed(&o.any))),
                epp::CommandTypeContent::Extension(x) => {
                    for any in &x.any {
                        if any.name.ends_with(b"create") {
                            out.push(Typed::ExtCreate(typed(any)));
                        } else {
                            out.push(Typed::ExtUpdate(typed(any)));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    (envelope, out)
}

/// Every contestant decodes every corpus document, and the typed reference yields the
/// object and extension our decoder yields.
fn check_corpus() {
    for doc in XML_COMMANDS {
        let ours = epp_norid_ext::decode(doc.as_bytes()).unwrap();
        let epp_xml::Request::Command(c) = ours else {
            panic!("not a command")
        };
        let (_, typed) = reference_typed(doc);
        assert_eq!(typed.len(), 1 + c.extensions.len(), "{typed:?}");
        if let (Typed::Create(r), epp_xml::CommandKind::DomainCreate(o)) = (&typed[0], &c.kind) {
            assert_eq!(r.name, o.name.as_str());
            assert_eq!(r.contact.len(), o.contact.len());
        }
    }
}

fn decode(c: &mut Criterion) {
    check_corpus();
    let mut g = c.benchmark_group("xml_decode_vs_xsd_parser");
    g.throughput(Throughput::Elements(XML_COMMANDS.len() as u64));
    g.bench_function("epp_xml", |b| {
        b.iter(|| {
            for doc in XML_COMMANDS {
                black_box(epp_norid_ext::decode(black_box(doc.as_bytes())).unwrap());
            }
        })
    });
    g.bench_function("xsd_parser_envelope", |b| {
        b.iter(|| {
            for doc in XML_COMMANDS {
                black_box(envelope(black_box(doc)));
            }
        })
    });
    g.bench_function("xsd_parser_typed", |b| {
        b.iter(|| {
            for doc in XML_COMMANDS {
                black_box(reference_typed(black_box(doc)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
