//! Golden tests from Norid's seed exchanges (`../shared/seeds/exchanges`): every seed
//! command decodes to the expected typed value, and every seed response is reproduced from
//! its typed value (byte for byte for 030-033, as canonical XML for all) and decodes (a
//! client's side) back to that value. Every response the tests produce also validates
//! against our schemas.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use epp_norid_ext::{
    ApplicantDatasetInfo, Condition, Conditions, ContactExtUpdate, DomainExtInfData, Norid,
    NoridCommandExt, NoridResponse, NoridResponseExt, Severity, encode_response,
};
use epp_xml::domain::{
    self, AuthInfo, AuthInfoContent, Contact, ContactRole, Hosts, InfData, Ns, NsEntry, Period,
    PeriodUnit, Status, StatusValue,
};
use epp_xml::{
    ClTrid, CommandKind, Date, MsgQ, Request, ResData, ResultCode, SvTrid, Timestamp, host,
};

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn response(code: ResultCode, cl: &str, sv: &str) -> NoridResponse {
    NoridResponse::new(
        code,
        Some(ClTrid::new(cl).unwrap()),
        SvTrid::new(sv).unwrap(),
    )
}

fn msg_q(count: u64, id: &str) -> Option<MsgQ> {
    Some(MsgQ {
        count,
        id: id.into(),
        q_date: None,
        msg: None,
    })
}

fn cmd(name: &str) -> epp_xml::Command<Norid> {
    let shared = common::shared().unwrap();
    let bytes = std::fs::read(shared.join("seeds/exchanges").join(name)).unwrap();
    match epp_norid_ext::decode(&bytes).unwrap() {
        Request::Command(c) => c,
        Request::Hello => panic!("{name} is a hello"),
    }
}

fn info_data(up_date: &str, ex_date: &str) -> InfData {
    InfData {
        name: "2017-09-09-dom-test-ny-renew.no".parse().unwrap(),
        roid: "DOM659889D-NORID".into(),
        status: vec![Status {
            s: StatusValue::Ok,
            lang: "en".into(),
            content: String::new(),
        }],
        registrant: Some("TH1251O".parse().unwrap()),
        contact: vec![Contact {
            type_: Some(ContactRole::Tech),
            content: "TR85R".parse().unwrap(),
        }],
        ns: Some(Ns {
            content: vec![
                NsEntry::HostObj("ns2.sol.no".parse().unwrap()),
                NsEntry::HostObj("ns3.sol.no".parse().unwrap()),
            ],
        }),
        host: vec![],
        cl_id: "reg9094".parse().unwrap(),
        cr_id: Some("reg9094".parse().unwrap()),
        cr_date: Some(ts("2017-09-11T08:34:49.15Z")),
        up_id: None,
        up_date: Some(ts(up_date)),
        ex_date: Some(ts(ex_date)),
        tr_date: None,
        auth_info: Some(AuthInfo {
            content: AuthInfoContent::Pw(epp_xml::PwAuthInfo {
                roid: None,
                content: "I7owhpPS".into(),
            }),
        }),
    }
}

fn dataset_ext() -> NoridResponseExt {
    NoridResponseExt::DomainInfData(DomainExtInfData {
        applicant_dataset: Some(ApplicantDatasetInfo {
            version_number: "2.0".into(),
            accept_name: "Ola Nordmann".into(),
            accept_date: ts("2017-09-09T08:19:31.00Z"),
            update_client_id: "reg9094".parse().unwrap(),
            update_date: ts("2017-09-11T08:34:49.26Z"),
        }),
    })
}

fn conditions(list: &[(&str, Severity, &str, &str)]) -> NoridResponseExt {
    NoridResponseExt::Conditions(Conditions {
        condition: list
            .iter()
            .map(|(code, severity, msg, details)| Condition {
                code: (*code).into(),
                severity: severity.clone(),
                msg: (*msg).into(),
                details: (*details).into(),
            })
            .collect(),
    })
}

/// The typed value of every seed response.
fn seed_responses() -> Vec<(&'static str, NoridResponse)> {
    let mut out = Vec::new();
    out.push((
        "010-login-newpw.rsp.xml",
        response(
            ResultCode::Success,
            "NORID-EC0.4-57e7-20100202074950-08fc57",
            "20100202084950588772-mu5yhv-#-NORID",
        ),
    ));
    out.push((
        "011-logout.rsp.xml",
        response(
            ResultCode::SuccessEndingSession,
            "NORID-EC0.4-57e7-20100202074950-0c2374",
            "20100202084950798501-oi78e1-reg9094-NORID",
        ),
    ));
    let check = |name: &str, avail: bool, reason: Option<&str>| {
        ResData::HostChk(host::ChkData {
            cd: vec![host::CheckResult {
                name: host::CheckName {
                    avail,
                    content: name.parse().unwrap(),
                },
                reason: reason.map(|r| epp_xml::Reason {
                    lang: None,
                    content: r.into(),
                }),
            }],
        })
    };
    let mut r = response(
        ResultCode::Success,
        "NORID-5842-1265060703740958",
        "20100201224503743607-iofn62-reg9094-NORID",
    );
    r.msg_q = msg_q(95, "5862727");
    r.res_data = Some(check("ns4-5745.example-seq.no", false, Some("Host exists")));
    out.push(("020-host-check-exists.rsp.xml", r));
    let mut r = response(
        ResultCode::Success,
        "NORID-5848-1265060704487782",
        "20100201224504489907-f4rlu7-reg9094-NORID",
    );
    r.msg_q = msg_q(95, "5862727");
    r.res_data = Some(check("ns5-5745.example-seq.no", true, None));
    out.push(("021-host-check-available.rsp.xml", r));
    let mut r = response(
        ResultCode::Success,
        "NORID-EC0.97-2a4a-20170911084138-0dee8e",
        "20170911104138914281-64q3qh-reg9094-NORID",
    );
    r.msg_q = msg_q(7, "435030380");
    r.res_data = Some(ResData::DomainInf(info_data(
        "2017-09-11T08:41:31.36Z",
        "2017-09-13T14:02:37.00Z",
    )));
    r.extensions
        .push(epp_xml::ResponseExtension::Other(dataset_ext()));
    out.push(("030-domain-info-before-renew.rsp.xml", r));
    let mut r = response(
        ResultCode::Success,
        "NORID-EC0.97-2a4a-20170911084454-08b40a",
        "20170911104454571018-6rx937-reg9094-NORID",
    );
    r.msg_q = msg_q(7, "435030380");
    r.extensions
        .push(epp_xml::ResponseExtension::Other(conditions(&[(
            "EC001024",
            Severity::Info,
            "Command completed",
            "Domain [2017-09-09-dom-test-ny-renew.no] has been renewed.",
        )])));
    out.push(("031-domain-renew-5m.rsp.xml", r));
    let mut r = response(
        ResultCode::Success,
        "NORID-EC0.97-2bfc-20170911084512-0aa385",
        "20170911104512697624-d3yzms-reg9094-NORID",
    );
    r.msg_q = msg_q(7, "435030380");
    r.res_data = Some(ResData::DomainInf(info_data(
        "2017-09-11T08:44:54.57Z",
        "2018-02-13T15:02:37.00Z",
    )));
    r.extensions
        .push(epp_xml::ResponseExtension::Other(dataset_ext()));
    out.push(("032-domain-info-after-renew.rsp.xml", r));
    let mut r = response(
        ResultCode::ObjectNotEligibleForRenewal,
        "NORID-EC0.97-2bfc-20170911084711-03cbff",
        "20170911104711249661-2ik6p6-reg9094-NORID",
    );
    r.msg_q = msg_q(7, "435030380");
    r.extensions
        .push(epp_xml::ResponseExtension::Other(conditions(&[
            (
                "EC001025",
                Severity::Info,
                "Command failed",
                "Failed to renew domain [2017-09-09-dom-test-ny-renew.no].",
            ),
            (
                "EC002003",
                Severity::Error,
                "Domain is not renewable",
                "Domain [2017-09-09-dom-test-ny-renew.no] is not renewable before [2018-01-14].",
            ),
        ])));
    out.push(("033-domain-renew-not-renewable-2105.rsp.xml", r));
    let mut r = response(
        ResultCode::Success,
        "NORID-EC0.97-2a4a-20170911081937-048e0a",
        "20170911101937299189-i9aqpx-reg9094-NORID",
    );
    r.msg_q = msg_q(7, "435030380");
    r.extensions
        .push(epp_xml::ResponseExtension::Other(conditions(&[(
            "EC001024",
            Severity::Info,
            "Command completed",
            "Contact [TR85R] has been updated.",
        )])));
    out.push(("040-contact-update-role.rsp.xml", r));
    out
}

#[test]
fn seed_responses_are_reproduced() {
    let Some(shared) = common::shared() else {
        return;
    };
    let dir = shared.join("seeds/exchanges");
    let out_dir = std::env::temp_dir().join(format!("epp-seed-rsp-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut written = Vec::new();
    let responses = seed_responses();
    assert_eq!(responses.len(), common::files(&dir, ".rsp.xml").len());
    for (name, value) in responses {
        let expected = std::fs::read(dir.join(name)).unwrap();
        match epp_norid_ext::decode_response(&expected) {
            Ok(epp_norid_ext::NoridServerDoc::Response(decoded)) => {
                assert_eq!(
                    decoded, value,
                    "{name}: Norid's response decodes differently"
                );
            }
            other => panic!("{name}: {other:?}"),
        }
        let mut ours = Vec::new();
        encode_response(&value, &mut ours);
        assert_eq!(
            common::canonical(&ours),
            common::canonical(&expected),
            "{name}: canonical forms differ\nours:\n{}",
            String::from_utf8_lossy(&ours)
        );
        if name.starts_with("03") {
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&expected),
                "{name}: not byte-identical"
            );
        }
        let p = out_dir.join(name);
        std::fs::write(&p, &ours).unwrap();
        written.push(p);
    }
    common::xmllint_validate(&written);
}

#[test]
fn seed_commands_decode_to_their_values() {
    if common::shared().is_none() {
        return;
    }
    let c = cmd("010-login-newpw.cmd.xml");
    let CommandKind::Login(l) = c.kind else {
        panic!("not a login")
    };
    assert_eq!(l.client_id.as_str(), "reg9094");
    assert_eq!(l.password.as_str(), "theOldPW");
    assert_eq!(l.new_password.unwrap().as_str(), "theNewPW");
    assert_eq!((l.version.as_str(), l.lang.as_str()), ("1.0", "en"));
    assert_eq!(l.obj_uris.len(), 3);
    assert_eq!(l.ext_uris[1], "http://www.norid.no/xsd/no-ext-domain-1.0");
    assert_eq!(
        c.cl_trid.unwrap().as_str(),
        "NORID-EC0.4-57e7-20100202074950-08fc57"
    );

    let c = cmd("011-logout.cmd.xml");
    assert_eq!(c.kind, CommandKind::Logout);

    let c = cmd("020-host-check-exists.cmd.xml");
    assert_eq!(
        c.kind,
        CommandKind::HostCheck(host::Check {
            name: vec!["ns4-5745.example-seq.no".parse().unwrap()]
        })
    );
    assert_eq!(c.object_namespaces(), vec![epp_xml::ns::HOST]);

    let c = cmd("030-domain-info-before-renew.cmd.xml");
    assert_eq!(
        c.kind,
        CommandKind::DomainInfo(domain::Info {
            name: domain::InfoName {
                hosts: Hosts::All,
                content: "2017-09-09-dom-test-ny-renew.no".parse().unwrap()
            },
            auth_info: None,
        })
    );

    let c = cmd("031-domain-renew-5m.cmd.xml");
    assert_eq!(
        c.kind,
        CommandKind::DomainRenew(domain::Renew {
            name: "2017-09-09-dom-test-ny-renew.no".parse().unwrap(),
            cur_exp_date: Date::new(2017, 9, 13).unwrap(),
            period: Some(Period {
                unit: PeriodUnit::M,
                content: 5
            }),
        })
    );
    let c = cmd("033-domain-renew-not-renewable-2105.cmd.xml");
    let CommandKind::DomainRenew(r) = c.kind else {
        panic!()
    };
    assert_eq!(
        r.period,
        Some(Period {
            unit: PeriodUnit::M,
            content: 7
        })
    );

    let c = cmd("040-contact-update-role.cmd.xml");
    let CommandKind::ContactUpdate(u) = &c.kind else {
        panic!()
    };
    assert_eq!(u.id.as_str(), "TR85R");
    let chg = u.chg.as_ref().unwrap();
    assert_eq!(chg.postal_info[0].addr.as_ref().unwrap().street.len(), 3);
    assert_eq!(chg.voice.as_ref().unwrap().content, "+47.12345688");
    assert_eq!(
        c.extensions,
        vec![epp_xml::CommandExtension::Other(
            NoridCommandExt::ContactUpdate(ContactExtUpdate {
                chg: Some(epp_norid_ext::ContactExtChg {
                    identity: None,
                    mobile_phone: Some(epp_xml::contact::Phone {
                        x: None,
                        content: String::new()
                    }),
                    disclose: None,
                }),
                add: Some(epp_norid_ext::ContactExtAddRem {
                    email: vec!["another@example.com".into(), "xml-sec2@example.no".into()],
                    organization: vec![],
                    role_contact: vec![],
                }),
                rem: Some(epp_norid_ext::ContactExtAddRem {
                    email: vec!["xml-sec@example.no".into()],
                    organization: vec![],
                    role_contact: vec![],
                }),
            })
        )]
    );
    assert_eq!(
        c.extension_namespaces(),
        vec![epp_norid_ext::ns::NO_EXT_CONTACT]
    );
}
