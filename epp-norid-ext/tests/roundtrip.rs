//! typed -> XML -> typed identity for every Norid command extension, extension command,
//! response extension and service message (and every RFC command and `resData` kind in
//! their company), with schema-valid strategies; and a sample of generated commands and
//! responses validated against our schemas with xmllint.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::Debug;

use epp_norid_ext::*;
use epp_xml::strategy::{self as s, ExtStrategies};
use epp_xml::{Request, ResData, ServerDoc};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::string::string_regex;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

const CASES: u32 = 64;

// ------------------------------------------------------------------ strategies

fn version() -> BoxedStrategy<DomainExtVersion> {
    prop_oneof![Just(DomainExtVersion::V1_0), Just(DomainExtVersion::V1_1)].boxed()
}

fn identity() -> BoxedStrategy<Identity> {
    let kind = prop_oneof![
        Just(IdentityKind::OrganizationNumber),
        Just(IdentityKind::AnonymousPersonIdentifier),
        Just(IdentityKind::LocalIdentity),
        Just(IdentityKind::NationalIdentityNumber),
    ];
    (kind, s::token(1, 30))
        .prop_map(|(type_, content)| Identity { type_, content })
        .boxed()
}

fn contact_disclose() -> BoxedStrategy<ContactExtDisclose> {
    (any::<bool>(), of(Just(epp_xml::Empty)))
        .prop_map(|(flag, mobile_phone)| ContactExtDisclose { flag, mobile_phone })
        .boxed()
}

fn contact_data() -> BoxedStrategy<ContactExtCreate> {
    let kind = prop_oneof![
        Just(ContactType::Person),
        Just(ContactType::Role),
        Just(ContactType::Organization),
    ];
    (
        kind,
        of(identity()),
        of(s::phone()),
        vec(s::token(1, 30), 0..3),
        vec(s::contact_id(), 0..3),
        vec(s::contact_id(), 0..3),
        of(contact_disclose()),
    )
        .prop_map(
            |(type_, identity, mobile_phone, email, organization, role_contact, disclose)| {
                ContactExtCreate {
                    type_,
                    identity,
                    mobile_phone,
                    email,
                    organization,
                    role_contact,
                    disclose,
                }
            },
        )
        .boxed()
}

fn accept_fields() -> impl Strategy<Value = (String, String, epp_xml::Timestamp)> {
    (
        string_regex("[0-9]{1,3}\\.[0-9]{1,3}").unwrap(),
        s::normalized(1, 255),
        s::timestamp(),
    )
}

fn applicant_dataset() -> BoxedStrategy<ApplicantDataset> {
    accept_fields()
        .prop_map(
            |(version_number, accept_name, accept_date)| ApplicantDataset {
                version_number,
                accept_name,
                accept_date,
            },
        )
        .boxed()
}

fn command_ext() -> BoxedStrategy<NoridCommandExt> {
    let add_rem = || {
        (
            vec(s::token(1, 30), 0..3),
            vec(s::contact_id(), 0..3),
            vec(s::contact_id(), 0..3),
        )
            .prop_map(|(email, organization, role_contact)| ContactExtAddRem {
                email,
                organization,
                role_contact,
            })
    };
    let contact_chg = (of(identity()), of(s::phone()), of(contact_disclose())).prop_map(
        |(identity, mobile_phone, disclose)| ContactExtChg {
            identity,
            mobile_phone,
            disclose,
        },
    );
    let notify = prop_oneof![
        s::token(1, 30).prop_map(TransferNotifyKind::Email),
        s::phone().prop_map(TransferNotifyKind::MobilePhone),
    ]
    .prop_map(|content| TransferNotify { content });
    let host_add_rem = || s::contact_id().prop_map(|contact| HostExtAddRem { contact });
    let facet = (s::token(1, 20), s::string()).prop_map(|(name, content)| Facet { name, content });
    prop_oneof![
        contact_data().prop_map(NoridCommandExt::ContactCreate),
        (of(contact_chg), of(add_rem()), of(add_rem())).prop_map(|(chg, add, rem)| {
            NoridCommandExt::ContactUpdate(ContactExtUpdate { chg, add, rem })
        }),
        applicant_dataset().prop_map(|applicant_dataset| NoridCommandExt::DomainCreate(
            DomainExtCreate { applicant_dataset }
        )),
        of(applicant_dataset().prop_map(|applicant_dataset| DomainExtChg { applicant_dataset }))
            .prop_map(|chg| NoridCommandExt::DomainUpdate(DomainExtUpdate { chg })),
        (version(), s::date(), s::date()).prop_map(|(v, delete_from_dns, delete_from_registry)| {
            NoridCommandExt::DomainDelete(
                v,
                DomainExtDelete {
                    delete_from_dns,
                    delete_from_registry,
                },
            )
        }),
        (version(), of(s::token(1, 512)), of(notify)).prop_map(|(v, token, notify)| {
            NoridCommandExt::DomainTransfer(v, DomainExtTransfer { token, notify })
        }),
        of(s::contact_id())
            .prop_map(|contact| NoridCommandExt::HostCreate(HostExtCreate { contact })),
        (of(host_add_rem()), of(host_add_rem()))
            .prop_map(|(add, rem)| NoridCommandExt::HostUpdate(HostExtUpdate { add, rem })),
        of(s::client_id()).prop_map(|sponsoring_client_id| NoridCommandExt::HostInfo(
            HostExtInfo {
                sponsoring_client_id
            }
        )),
        vec(facet, 1..4).prop_map(|facet| NoridCommandExt::Facets(Facets { facet })),
    ]
    .boxed()
}

fn ext_command() -> BoxedStrategy<NoridCommand> {
    prop_oneof![
        s::domain_transfer().prop_map(NoridCommand::TransferExecute),
        (version(), s::domain_name())
            .prop_map(|(v, name)| NoridCommand::Withdraw(v, Withdraw { name })),
    ]
    .boxed()
}

fn response_ext() -> BoxedStrategy<NoridResponseExt> {
    let severity = prop_oneof![
        Just(Severity::Info),
        Just(Severity::Warning),
        Just(Severity::Error),
        Just(Severity::Fatal),
    ];
    let condition = (
        string_regex("[A-Z0-9]{1,24}").unwrap(),
        severity,
        s::string(),
        s::string(),
    )
        .prop_map(|(code, severity, msg, details)| Condition {
            code,
            severity,
            msg,
            details,
        });
    let dataset_info = (accept_fields(), s::client_id(), s::timestamp()).prop_map(
        |((version_number, accept_name, accept_date), update_client_id, update_date)| {
            ApplicantDatasetInfo {
                version_number,
                accept_name,
                accept_date,
                update_client_id,
                update_date,
            }
        },
    );
    prop_oneof![
        vec(condition, 1..4)
            .prop_map(|condition| NoridResponseExt::Conditions(Conditions { condition })),
        of(dataset_info).prop_map(|applicant_dataset| NoridResponseExt::DomainInfData(
            DomainExtInfData { applicant_dataset }
        )),
        contact_data().prop_map(NoridResponseExt::ContactInfData),
        of(s::contact_id())
            .prop_map(|contact| NoridResponseExt::HostInfData(HostExtInfData { contact })),
    ]
    .boxed()
}

/// Service messages; the embedded response is one without a message of its own.
fn service_message() -> BoxedStrategy<ServiceMessage> {
    let inner_ext = ExtStrategies::<Norid> {
        res_data: None,
        ..ext()
    };
    let inner = s::response(&inner_ext);
    let entry =
        (s::token(0, 20), s::string()).prop_map(|(name, content)| MessageEntry { name, content });
    let data = (vec(entry, 0..3), of(inner.prop_map(Box::new)))
        .prop_map(|(entries, response)| MessageData { entries, response });
    (s::token(0, 100), s::string(), of(data))
        .prop_map(|(kind, desc, data)| ServiceMessage { kind, desc, data })
        .boxed()
}

fn ext() -> ExtStrategies<Norid> {
    ExtStrategies {
        command_ext: Some(command_ext()),
        ext_command: Some(ext_command()),
        response_ext: Some(response_ext()),
        res_data: None,
    }
}

fn full_ext() -> ExtStrategies<Norid> {
    ExtStrategies {
        res_data: Some(service_message().prop_map(NoridResData::Message).boxed()),
        ..ext()
    }
}

// ------------------------------------------------------------------ properties

fn run<T: Debug>(
    what: &str,
    strategy: BoxedStrategy<T>,
    check: impl Fn(T) -> Result<(), TestCaseError>,
) {
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, check) {
        panic!("{what}: {e}");
    }
}

fn request_round_trips(request: NoridRequest) -> Result<(), TestCaseError> {
    let mut out = Vec::new();
    encode_request(&request, &mut out);
    let back = decode(&out).map_err(|e| {
        TestCaseError::fail(format!(
            "{} {}\n{}",
            e.code(),
            e.reason(),
            String::from_utf8_lossy(&out)
        ))
    })?;
    prop_assert_eq!(back, request, "{}", String::from_utf8_lossy(&out));
    Ok(())
}

fn response_round_trips(response: NoridResponse) -> Result<(), TestCaseError> {
    let mut out = Vec::new();
    encode_response(&response, &mut out);
    let back = decode_response(&out).map_err(|e| {
        TestCaseError::fail(format!(
            "{} {}\n{}",
            e.code(),
            e.reason(),
            String::from_utf8_lossy(&out)
        ))
    })?;
    prop_assert_eq!(
        back,
        ServerDoc::Response(response),
        "{}",
        String::from_utf8_lossy(&out)
    );
    Ok(())
}

#[test]
fn every_command_kind_round_trips_with_norid_extensions() {
    let ext = ext();
    for (name, kind) in s::command_kinds::<Norid>() {
        run(
            name,
            s::command_with(kind, &ext)
                .prop_map(Request::Command)
                .boxed(),
            request_round_trips,
        );
    }
}

#[test]
fn every_norid_command_extension_round_trips() {
    // One command extension element at a time, on a domain info (the decoder does not tie
    // extensions to commands).
    let kind = s::domain_info().prop_map(epp_xml::CommandKind::DomainInfo);
    let strategy = (kind, command_ext(), of(s::cl_trid()))
        .prop_map(|(kind, x, cl_trid)| {
            Request::Command(epp_xml::Command {
                kind,
                extensions: vec![epp_xml::CommandExtension::Other(x)],
                cl_trid,
            })
        })
        .boxed();
    run("Norid command extension", strategy, request_round_trips);
}

#[test]
fn every_norid_extension_command_round_trips() {
    let ext = ext();
    run(
        "Norid extension command",
        s::command_with(
            ext_command()
                .prop_map(epp_xml::CommandKind::Extension)
                .boxed(),
            &ext,
        )
        .prop_map(Request::Command)
        .boxed(),
        request_round_trips,
    );
}

#[test]
fn every_res_data_kind_round_trips_with_norid_extensions() {
    let ext = ext();
    for (name, kind) in s::res_data_kinds::<Norid>() {
        run(
            name,
            s::response_with(kind.prop_map(Some).boxed(), &ext),
            response_round_trips,
        );
    }
}

#[test]
fn norid_response_extensions_round_trip() {
    let strategy = (
        s::response(&ExtStrategies::none()),
        vec(response_ext(), 1..4),
    )
        .prop_map(|(mut r, exts): (NoridResponse, _)| {
            r.extensions = exts
                .into_iter()
                .map(epp_xml::ResponseExtension::Other)
                .collect();
            r
        })
        .boxed();
    run("Norid response extensions", strategy, response_round_trips);
}

#[test]
fn norid_service_messages_round_trip() {
    let ext = ext();
    run(
        "Norid service message",
        s::response_with(
            service_message()
                .prop_map(|m| Some(ResData::Extension(NoridResData::Message(m))))
                .boxed(),
            &ext,
        ),
        response_round_trips,
    );
}

#[test]
fn norid_greeting_round_trips() {
    let g = greeting("Norid EPP server", epp_xml::Timestamp::from_unix_micros(0));
    let mut out = Vec::new();
    encode_greeting(&g, &mut out);
    assert_eq!(decode_response(&out).unwrap(), ServerDoc::Greeting(g));
}

/// 50 generated commands, 50 generated responses and 10 greetings, encoded and validated
/// against our schemas (xmllint; skipped with a notice when it is absent, unless
/// `EPP_REQUIRE_XMLLINT=1`).
#[test]
fn generated_documents_validate_against_our_schemas() {
    let mut runner = TestRunner::deterministic();
    let full = full_ext();
    let requests = s::request(&full);
    let responses = s::response(&full);
    let greetings = s::greeting();
    let dir = std::env::temp_dir().join(format!("epp-generated-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    let mut write = |name: String, bytes: Vec<u8>| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        files.push(p);
    };
    for i in 0..50 {
        let r = requests.new_tree(&mut runner).unwrap().current();
        let mut out = Vec::new();
        encode_request(&r, &mut out);
        write(format!("cmd-{i:02}.xml"), out);
        let r = responses.new_tree(&mut runner).unwrap().current();
        let mut out = Vec::new();
        encode_response(&r, &mut out);
        write(format!("rsp-{i:02}.xml"), out);
    }
    for i in 0..10 {
        let g = greetings.new_tree(&mut runner).unwrap().current();
        let mut out = Vec::new();
        encode_greeting(&g, &mut out);
        write(format!("greeting-{i:02}.xml"), out);
    }
    common::xmllint_validate(&files);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes the generated seeds of the fuzz corpora (`fuzz/corpus/*/gen-*`): one command per
/// command kind and Norid extension, one response per `resData` kind, service messages and
/// greetings, all from a deterministic runner. Run it when the strategies change:
/// `cargo test -p epp-norid-ext --test roundtrip -- --ignored write_fuzz_seeds`.
#[test]
#[ignore = "writes files into fuzz/corpus; run by hand"]
fn write_fuzz_seeds() {
    use epp_xml::NoExtensions;
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let mut runner = TestRunner::deterministic();
    let slug = |s: &str| s.replace(' ', "-");
    let write = |target: &str, name: String, bytes: Vec<u8>| {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("gen-{name}")), bytes).unwrap();
    };
    let plain = ExtStrategies::<NoExtensions>::none();
    for (name, kind) in s::command_kinds::<NoExtensions>() {
        let c = s::command_with(kind, &plain)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut out = Vec::new();
        epp_xml::encode_request(&Request::Command(c), &mut out);
        write("xml_roundtrip", slug(name), out);
    }
    let ext = ext();
    for (name, kind) in s::command_kinds::<Norid>() {
        let c = s::command_with(kind, &ext)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut out = Vec::new();
        encode_request(&Request::Command(c), &mut out);
        write("norid_roundtrip", slug(name), out);
    }
    for i in 0..4 {
        let c = s::command_with(
            ext_command()
                .prop_map(epp_xml::CommandKind::Extension)
                .boxed(),
            &ext,
        )
        .new_tree(&mut runner)
        .unwrap()
        .current();
        let mut out = Vec::new();
        encode_request(&Request::Command(c), &mut out);
        write("norid_roundtrip", format!("extension-command-{i}"), out);
    }
    for (name, kind) in s::res_data_kinds::<Norid>() {
        let r = s::response_with(kind.prop_map(Some).boxed(), &ext)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let mut out = Vec::new();
        encode_response(&r, &mut out);
        write("response_roundtrip", slug(name), out);
    }
    for i in 0..3 {
        let r = s::response_with(
            service_message()
                .prop_map(|m| Some(ResData::Extension(NoridResData::Message(m))))
                .boxed(),
            &ext,
        )
        .new_tree(&mut runner)
        .unwrap()
        .current();
        let mut out = Vec::new();
        encode_response(&r, &mut out);
        write("response_roundtrip", format!("service-message-{i}"), out);
    }
    let g = s::greeting().new_tree(&mut runner).unwrap().current();
    let mut out = Vec::new();
    encode_greeting(&g, &mut out);
    write("response_roundtrip", "greeting".to_owned(), out);
}
