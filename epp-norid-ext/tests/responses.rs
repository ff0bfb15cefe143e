//! Every kind of response this crate writes (each resData, secDNS and Norid extensions,
//! service messages with embedded responses, extValue, greeting) validates against our
//! schemas, the files under `tests/data/response/` are reproduced exactly, and each decodes
//! (a client's side) back to the value it was written from.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use epp_norid_ext::*;
use epp_xml::{
    ClTrid, EppResult, ErrValue, ExtValue, MsgQ, PaTrId, ResData, ResponseExtension, ResultCode,
    SvTrid, Timestamp, contact, domain, host, secdns,
};

fn t() -> Timestamp {
    Timestamp::parse("2024-01-02T03:04:05.67Z").unwrap()
}

fn base(code: ResultCode) -> NoridResponse {
    NoridResponse::new(
        code,
        Some(ClTrid::new("ABC-1").unwrap()),
        SvTrid::new("SV-1").unwrap(),
    )
}

fn with(data: ResData<Norid>) -> NoridResponse {
    let mut r = base(ResultCode::Success);
    r.res_data = Some(data);
    r
}

fn pa() -> PaTrId {
    PaTrId {
        cl_trid: Some("ABC-0".into()),
        sv_trid: "SV-0".into(),
    }
}

fn all() -> Vec<(&'static str, NoridResponse)> {
    let dom_inf = domain::InfData {
        name: "example.no".parse().unwrap(),
        roid: "DOM1-NORID".into(),
        status: vec![domain::Status {
            s: domain::StatusValue::ClientHold,
            lang: "nb".into(),
            content: "Betaling".into(),
        }],
        registrant: Some("TH1251O".parse().unwrap()),
        contact: vec![domain::Contact {
            type_: Some(domain::ContactRole::Tech),
            content: "TR85R".parse().unwrap(),
        }],
        ns: Some(domain::Ns {
            content: vec![domain::NsEntry::HostObj("ns1.example.no".parse().unwrap())],
        }),
        host: vec!["ns1.example.no".parse().unwrap()],
        cl_id: "reg1".parse().unwrap(),
        cr_id: None,
        cr_date: Some(t()),
        up_id: Some("reg1".parse().unwrap()),
        up_date: None,
        ex_date: Some(t()),
        tr_date: Some(t()),
        auth_info: None,
    };
    let ds = secdns::DsOrKey {
        content: vec![secdns::DsOrKeyEntry::DsData(secdns::DsData {
            key_tag: 12345,
            alg: 8,
            digest_type: 2,
            digest: "49FD46E6C4B45C55D4AC".into(),
            key_data: Some(secdns::KeyData {
                flags: 257,
                protocol: 3,
                alg: 8,
                pub_key: "AQPJ////4Q==".into(),
            }),
        })],
    };
    let mut dom = with(ResData::DomainInf(dom_inf));
    dom.extensions.push(ResponseExtension::SecDnsInf(ds));
    dom.extensions
        .push(ResponseExtension::Other(NoridResponseExt::DomainInfData(
            DomainExtInfData {
                applicant_dataset: None,
            },
        )));
    let con_inf = contact::InfData {
        id: "TR85R".parse().unwrap(),
        roid: "CON1-NORID".into(),
        status: vec![contact::Status {
            s: contact::StatusValue::Linked,
            lang: "en".into(),
            content: String::new(),
        }],
        postal_info: vec![contact::PostalInfo {
            type_: contact::PostalInfoKind::Loc,
            name: "Hostmaster & Co <x>".into(),
            org: None,
            addr: contact::Addr {
                street: vec!["Gate 1".into()],
                city: "Trondheim".into(),
                sp: None,
                pc: Some("NO-7005".into()),
                cc: "NO".into(),
            },
        }],
        voice: Some(contact::Phone {
            x: Some("12".into()),
            content: "+47.12345678".into(),
        }),
        fax: None,
        email: "a@example.no".into(),
        cl_id: "reg1".parse().unwrap(),
        cr_id: "reg1".parse().unwrap(),
        cr_date: t(),
        up_id: None,
        up_date: None,
        tr_date: None,
        auth_info: None,
        disclose: Some(contact::Disclose {
            flag: false,
            name: vec![contact::IntLoc {
                type_: contact::PostalInfoKind::Loc,
            }],
            org: vec![],
            addr: vec![],
            voice: Some(epp_xml::Empty),
            fax: None,
            email: Some(epp_xml::Empty),
        }),
    };
    let mut con = with(ResData::ContactInf(con_inf));
    con.extensions
        .push(ResponseExtension::Other(NoridResponseExt::ContactInfData(
            ContactExtInfData {
                type_: ContactType::Role,
                identity: Some(Identity {
                    type_: IdentityKind::OrganizationNumber,
                    content: "932080506".into(),
                }),
                mobile_phone: Some(epp_xml::contact::Phone {
                    x: None,
                    content: "+47.99999999".into(),
                }),
                email: vec!["b@example.no".into()],
                organization: vec!["ORG1O".parse().unwrap()],
                role_contact: vec!["PER1P".parse().unwrap()],
                disclose: Some(ContactExtDisclose {
                    flag: true,
                    mobile_phone: Some(epp_xml::Empty),
                }),
            },
        )));
    let mut hst = with(ResData::HostInf(host::InfData {
        name: "ns1.example.no".parse().unwrap(),
        roid: "HOST1-NORID".into(),
        status: vec![host::Status {
            s: host::StatusValue::Ok,
            lang: "en".into(),
            content: String::new(),
        }],
        addr: vec![host::Addr {
            ip: host::IpVersion::V6,
            content: "2001:db8::1".into(),
        }],
        cl_id: "reg1".parse().unwrap(),
        cr_id: "reg1".parse().unwrap(),
        cr_date: t(),
        up_id: None,
        up_date: Some(t()),
        tr_date: None,
    }));
    hst.extensions
        .push(ResponseExtension::Other(NoridResponseExt::HostInfData(
            HostExtInfData {
                contact: Some("PEO41R".parse().unwrap()),
            },
        )));
    let trn = domain::TrnData {
        name: "example.no".parse().unwrap(),
        tr_status: epp_xml::TrStatus::Pending,
        re_id: "reg2".parse().unwrap(),
        re_date: t(),
        ac_id: "reg1".parse().unwrap(),
        ac_date: t(),
        ex_date: None,
    };
    let mut late = base(ResultCode::SuccessAckToDequeue);
    late.msg_q = Some(MsgQ {
        count: 2,
        id: "42".into(),
        q_date: Some(t()),
        msg: Some("EPP response to command with clTRID [A] and svTRID [B]".into()),
    });
    late.res_data = Some(ResData::Extension(NoridResData::Message(ServiceMessage {
        kind: "epp-late-response".into(),
        desc: "EPP response to command with clTRID [A] and svTRID [B]".into(),
        data: Some(MessageData {
            entries: vec![MessageEntry {
                name: "objecttype".into(),
                content: "domain".into(),
            }],
            response: Some(Box::new(with(ResData::DomainTrn(trn.clone())))),
        }),
    })));
    let mut err = base(ResultCode::ParameterValueSyntaxError);
    err.results[0].ext_values.push(ExtValue {
        value: ErrValue {
            namespace: epp_xml::ns::DOMAIN.into(),
            prefix: "domain".into(),
            name: "name".into(),
            text: "bad..no".into(),
        },
        reason: "label is empty".into(),
    });
    err.results.push(EppResult::new(ResultCode::CommandFailed));
    let decode_err = epp_xml::decode::<Norid>(b"<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\"><command><poll/><clTRID>ABC-9</clTRID></command></epp>").unwrap_err();
    vec![
        (
            "domain-chk",
            with(ResData::DomainChk(domain::ChkData {
                cd: vec![domain::CheckResult {
                    name: domain::CheckName {
                        avail: false,
                        content: "a.no".parse().unwrap(),
                    },
                    reason: Some(epp_xml::Reason {
                        lang: Some("en".into()),
                        content: "In use".into(),
                    }),
                }],
            })),
        ),
        (
            "domain-cre",
            with(ResData::DomainCre(domain::CreData {
                name: "a.no".parse().unwrap(),
                cr_date: t(),
                ex_date: Some(t()),
            })),
        ),
        ("domain-inf", dom),
        (
            "domain-pan",
            with(ResData::DomainPan(domain::PanData {
                name: domain::PaName {
                    pa_result: true,
                    content: "a.no".parse().unwrap(),
                },
                pa_trid: pa(),
                pa_date: t(),
            })),
        ),
        (
            "domain-ren",
            with(ResData::DomainRen(domain::RenData {
                name: "a.no".parse().unwrap(),
                ex_date: Some(t()),
            })),
        ),
        ("domain-trn", with(ResData::DomainTrn(trn))),
        (
            "contact-chk",
            with(ResData::ContactChk(contact::ChkData {
                cd: vec![contact::CheckResult {
                    id: contact::CheckId {
                        avail: true,
                        content: "ABC1P".parse().unwrap(),
                    },
                    reason: None,
                }],
            })),
        ),
        (
            "contact-cre",
            with(ResData::ContactCre(contact::CreData {
                id: "ABC1P".parse().unwrap(),
                cr_date: t(),
            })),
        ),
        ("contact-inf", con),
        (
            "contact-pan",
            with(ResData::ContactPan(contact::PanData {
                id: contact::PaId {
                    pa_result: false,
                    content: "ABC1P".parse().unwrap(),
                },
                pa_trid: pa(),
                pa_date: t(),
            })),
        ),
        (
            "contact-trn",
            with(ResData::ContactTrn(contact::TrnData {
                id: "ABC1P".parse().unwrap(),
                tr_status: epp_xml::TrStatus::ClientApproved,
                re_id: "reg2".parse().unwrap(),
                re_date: t(),
                ac_id: "reg1".parse().unwrap(),
                ac_date: t(),
            })),
        ),
        (
            "host-chk",
            with(ResData::HostChk(host::ChkData {
                cd: vec![host::CheckResult {
                    name: host::CheckName {
                        avail: true,
                        content: "ns1.a.no".parse().unwrap(),
                    },
                    reason: None,
                }],
            })),
        ),
        (
            "host-cre",
            with(ResData::HostCre(host::CreData {
                name: "ns1.a.no".parse().unwrap(),
                cr_date: t(),
            })),
        ),
        ("host-inf", hst),
        (
            "host-pan",
            with(ResData::HostPan(host::PanData {
                name: host::PaName {
                    pa_result: true,
                    content: "ns1.a.no".parse().unwrap(),
                },
                pa_trid: pa(),
                pa_date: t(),
            })),
        ),
        ("poll-late-response", late),
        ("error-ext-value", err),
        (
            "error-from-decode",
            NoridResponse::from_error(&decode_err, SvTrid::new("SV-2").unwrap()),
        ),
    ]
}

#[test]
fn every_response_kind_validates_and_matches_its_golden_file() {
    let golden = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/response");
    let bless = std::env::var("EPP_BLESS").as_deref() == Ok("1");
    let mut paths = Vec::new();
    let mut docs = all();
    let mut greeting = Vec::new();
    let greeting_value = epp_norid_ext::greeting("Norid EPP server", t());
    encode_greeting(&greeting_value, &mut greeting);
    assert_eq!(
        decode_response(&greeting).unwrap(),
        NoridServerDoc::Greeting(greeting_value)
    );
    for (name, r) in docs.drain(..) {
        let mut out = Vec::new();
        encode_response(&r, &mut out);
        match decode_response(&out) {
            Ok(NoridServerDoc::Response(back)) => assert_eq!(back, r, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
        paths.push((name, out));
    }
    paths.push(("greeting", greeting));
    let mut files = Vec::new();
    for (name, out) in paths {
        let p = golden.join(format!("{name}.xml"));
        if bless {
            std::fs::create_dir_all(&golden).unwrap();
            std::fs::write(&p, &out).unwrap();
        }
        let expected = std::fs::read(&p).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&expected),
            "{name}"
        );
        files.push(p);
    }
    common::xmllint_validate(&files);
}
