//! Norid's seed exchanges (`../shared/seeds/exchanges`) reproduced by the policy functions:
//! the renew arithmetic and window of seed 003, the condition texts of seeds 003 and 004, and
//! every svTRID of the seeds from its time and random part.
//!
//! The seed files are read from `../shared` beside the repository, or `$EPP_SHARED_DIR`;
//! without them the tests print a notice and pass (the same data points are unit tests in
//! `src/policy/`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use epp_norid_ext::policy::{
    Condition, ObjectKind, OsloTime, Period, SvTridGenerator, Verb, command_completed,
    command_failed, parse_domain_name, renew,
};
use epp_xml::{ClientId, Date, DomainName, Timestamp};

fn exchanges() -> Option<PathBuf> {
    let root = std::env::var_os("EPP_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let dir = root.join("seeds/exchanges");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "NOTICE: {} is absent; skipping the seed tests",
            dir.display()
        );
        None
    }
}

fn read(dir: &std::path::Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// The text of the first `<tag ...>text</tag>` in `doc`.
fn text<'a>(doc: &'a str, tag: &str) -> &'a str {
    let open = doc
        .find(&format!("<{tag}"))
        .unwrap_or_else(|| panic!("no <{tag}>"));
    let start = open + doc[open..].find('>').unwrap() + 1;
    let end = start + doc[start..].find(&format!("</{tag}>")).unwrap();
    &doc[start..end]
}

fn attr<'a>(element: &'a str, name: &str) -> &'a str {
    let key = format!("{name}=\"");
    let start = element.find(&key).unwrap() + key.len();
    &element[start..start + element[start..].find('"').unwrap()]
}

/// `(code, severity, msg, details)` of every `<condition>` in a response.
fn conditions(doc: &str) -> Vec<(String, String, String, String)> {
    doc.match_indices("<condition ")
        .map(|(i, _)| {
            let rest = &doc[i..];
            let head = &rest[..rest.find('>').unwrap()];
            (
                attr(head, "code").to_owned(),
                attr(head, "severity").to_owned(),
                text(rest, "msg").to_owned(),
                text(rest, "details").to_owned(),
            )
        })
        .collect()
}

fn as_tuples(list: &[Condition]) -> Vec<(String, String, String, String)> {
    list.iter()
        .map(|c| {
            (
                c.code.to_owned(),
                c.severity.as_str().to_owned(),
                c.msg.to_string(),
                c.details.clone(),
            )
        })
        .collect()
}

/// The instant, client and random part encoded in a Norid svTRID.
fn decode_svtrid(s: &str) -> (Timestamp, Option<ClientId>, String) {
    let parts: Vec<&str> = s.split('-').collect();
    let d = parts[0];
    let n = |r: std::ops::Range<usize>| d[r].parse::<u32>().unwrap();
    let local = OsloTime {
        date: Date::new(n(0..4) as i32, n(4..6) as u8, n(6..8) as u8).unwrap(),
        hour: n(8..10) as u8,
        minute: n(10..12) as u8,
        second: n(12..14) as u8,
        micros: n(14..20),
    };
    let client = (parts[2] != "#").then(|| ClientId::new(parts[2]).unwrap());
    (local.to_utc().unwrap(), client, parts[1].to_owned())
}

/// When Norid's server handled the command of a response: the time in its svTRID.
fn handled_at(rsp: &str) -> Timestamp {
    decode_svtrid(text(rsp, "svTRID")).0
}

#[test]
fn seed_003_renew_five_months_moves_exdate_on_the_wall_clock() {
    let Some(dir) = exchanges() else { return };
    let before = read(&dir, "030-domain-info-before-renew.rsp.xml");
    let cmd = read(&dir, "031-domain-renew-5m.cmd.xml");
    let rsp = read(&dir, "031-domain-renew-5m.rsp.xml");
    let after = read(&dir, "032-domain-info-after-renew.rsp.xml");

    let name = DomainName::new(text(&cmd, "domain:name")).unwrap();
    assert!(parse_domain_name(&name).is_ok());
    let expires = Timestamp::parse(text(&before, "domain:exDate")).unwrap();
    let cur = Date::parse(text(&cmd, "domain:curExpDate")).unwrap();
    assert!(cmd.contains(r#"<domain:period unit="m">5</domain:period>"#));
    let new = renew(
        &name,
        expires,
        cur,
        Some(Period::months(5)),
        handled_at(&rsp),
    )
    .unwrap();
    assert_eq!(new.to_string(), text(&after, "domain:exDate"));
    assert_eq!(new.to_string(), "2018-02-13T15:02:37.00Z");

    let want = conditions(&rsp);
    let got = as_tuples(&[command_completed(
        ObjectKind::Domain,
        name.as_str(),
        Verb::Renew,
    )]);
    assert_eq!(got, want);
}

#[test]
fn seed_003_second_renew_is_refused_with_norids_conditions() {
    let Some(dir) = exchanges() else { return };
    let info = read(&dir, "032-domain-info-after-renew.rsp.xml");
    let cmd = read(&dir, "033-domain-renew-not-renewable-2105.cmd.xml");
    let rsp = read(&dir, "033-domain-renew-not-renewable-2105.rsp.xml");

    let name = DomainName::new(text(&cmd, "domain:name")).unwrap();
    let expires = Timestamp::parse(text(&info, "domain:exDate")).unwrap();
    let cur = Date::parse(text(&cmd, "domain:curExpDate")).unwrap();
    assert!(cmd.contains(r#"<domain:period unit="m">7</domain:period>"#));
    let refusal = renew(
        &name,
        expires,
        cur,
        Some(Period::months(7)),
        handled_at(&rsp),
    )
    .unwrap_err();

    assert!(rsp.contains(&format!(
        r#"<result code="{}">"#,
        refusal.result_code().code()
    )));
    let got = as_tuples(&[
        command_failed(Verb::Renew, ObjectKind::Domain, name.as_str()),
        refusal.condition(),
    ]);
    assert_eq!(got, conditions(&rsp));
}

#[test]
fn seed_004_contact_update_condition() {
    let Some(dir) = exchanges() else { return };
    let cmd = read(&dir, "040-contact-update-role.cmd.xml");
    let rsp = read(&dir, "040-contact-update-role.rsp.xml");
    let id = text(&cmd, "contact:id");
    let got = as_tuples(&[command_completed(ObjectKind::Contact, id, Verb::Update)]);
    assert_eq!(got, conditions(&rsp));
}

#[test]
fn every_seed_svtrid_is_reproduced_from_its_time_and_random_part() {
    let Some(dir) = exchanges() else { return };
    let generator = SvTridGenerator::default();
    let mut seen = 0;
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".rsp.xml"))
        .collect();
    names.sort();
    for file in names {
        let rsp = read(&dir, &file);
        let svtrid = text(&rsp, "svTRID");
        let (at, client, random) = decode_svtrid(svtrid);
        let mut bytes: Vec<u8> = random
            .bytes()
            .map(|c| match c {
                b'0'..=b'9' => c - b'0',
                _ => c - b'a' + 10,
            })
            .collect();
        bytes.resize(32, 0);
        let mut replay = |out: &mut [u8]| out.copy_from_slice(&bytes[..out.len()]);
        let got = generator.generate(at, client.as_ref(), &mut replay);
        assert_eq!(got.as_str(), svtrid, "{file}");
        seen += 1;
    }
    assert!(seen >= 7, "only {seen} seed responses");
}
