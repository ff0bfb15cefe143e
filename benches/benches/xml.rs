//! Decoding typical commands with the strict decoder, and serialising a typical response.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use epp_benches::corpus::XML_COMMANDS;
use epp_xml::{ClTrid, MsgQ, ResData, ResultCode, SvTrid, Timestamp, domain};

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("xml_decode");
    g.throughput(Throughput::Elements(XML_COMMANDS.len() as u64));
    g.bench_function("epp_xml_corpus", |b| {
        b.iter(|| {
            for doc in XML_COMMANDS {
                black_box(epp_norid_ext::decode(black_box(doc.as_bytes())).unwrap());
            }
        })
    });
    g.finish();
}

fn encode(c: &mut Criterion) {
    let t = Timestamp::parse("2017-09-11T08:34:49.15Z").unwrap();
    let mut r = epp_norid_ext::NoridResponse::new(
        ResultCode::Success,
        Some(ClTrid::new("NORID-EC0.97-2a4a-20170911084138-0dee8e").unwrap()),
        SvTrid::new("20170911104138914281-64q3qh-reg9094-NORID").unwrap(),
    );
    r.msg_q = Some(MsgQ {
        count: 7,
        id: "435030380".into(),
        q_date: None,
        msg: None,
    });
    r.res_data = Some(ResData::DomainInf(domain::InfData {
        name: "example.no".parse().unwrap(),
        roid: "DOM659889D-NORID".into(),
        status: vec![domain::Status {
            s: domain::StatusValue::Ok,
            lang: "en".into(),
            content: String::new(),
        }],
        registrant: Some("TH1251O".parse().unwrap()),
        contact: vec![domain::Contact {
            type_: Some(domain::ContactRole::Tech),
            content: "TR85R".parse().unwrap(),
        }],
        ns: Some(domain::Ns {
            content: vec![
                domain::NsEntry::HostObj("ns2.sol.no".parse().unwrap()),
                domain::NsEntry::HostObj("ns3.sol.no".parse().unwrap()),
            ],
        }),
        host: vec![],
        cl_id: "reg9094".parse().unwrap(),
        cr_id: Some("reg9094".parse().unwrap()),
        cr_date: Some(t),
        up_id: None,
        up_date: Some(t),
        ex_date: Some(t),
        tr_date: None,
        auth_info: None,
    }));
    let mut g = c.benchmark_group("xml_encode");
    g.throughput(Throughput::Elements(1));
    let mut buf = Vec::with_capacity(4096);
    g.bench_function("domain_info_response", |b| {
        b.iter(|| {
            buf.clear();
            epp_norid_ext::encode_response(black_box(&r), &mut buf);
            black_box(buf.len());
        })
    });
    g.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
