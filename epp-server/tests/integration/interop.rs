//! What EPP client libraries send, over TLS to the real binary: the greeting on connect;
//! commands with and without an XML declaration (`standalone="no"` included), with
//! prefixed and default namespaces, with CRLF line ends and with whitespace after `</epp>`;
//! the clTRID echoed; and every command of Net::DRI's .NO profile
//! (`../shared/spec/examples-netdri/`) accepted.

use crate::db::{Db, runtime};
use crate::epp::{TlsTarget, code, is_greeting, shared_dir};
use crate::harness::Client;

const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#;

/// A `<domain:check>` of example.no and free.no in the usual prefixed form.
fn domain_check(cl_trid: &str) -> String {
    format!(
        r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><check><domain:check xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:name><domain:name>free.no</domain:name></domain:check></check><clTRID>{cl_trid}</clTRID></command></epp>"#
    )
}

/// Sends `doc` and checks the answer: result `want`, the clTRID echoed, and for a check
/// of example.no and free.no the availability of each.
async fn expect(client: &mut Client, doc: &str, cl_trid: &str, want: u16) -> String {
    let reply = client.call(doc).await;
    assert_eq!(code(&reply), Some(want), "sent:\n{doc}\ngot:\n{reply}");
    assert!(
        reply.contains(&format!("<clTRID>{cl_trid}</clTRID>")),
        "clTRID not echoed:\n{reply}"
    );
    reply
}

fn assert_check(reply: &str) {
    assert!(
        reply.contains(r#"<domain:name avail="0">example.no</domain:name>"#)
            && reply.contains(r#"<domain:name avail="1">free.no</domain:name>"#),
        "{reply}"
    );
}

#[test]
fn wire_variants_that_clients_send_are_accepted() {
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut target = TlsTarget::registry(&db).await;
        let (mut c, greeting) = target.connect().await;
        assert!(is_greeting(&greeting), "a greeting on connect: {greeting}");

        // <hello/> with and without a declaration.
        for hello in [
            r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>"#.to_owned(),
            format!(r#"{DECL}<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><hello/></epp>"#),
            format!("{DECL}\r\n<epp xmlns=\"urn:ietf:params:xml:ns:epp-1.0\">\r\n  <hello/>\r\n</epp>\r\n"),
        ] {
            assert!(is_greeting(&c.call(&hello).await), "{hello}");
        }

        // A login as a pretty-printing client sends it: declaration, CRLF line ends,
        // prefixed epp namespace, a trailing newline.
        let login = [
            DECL,
            r#"<epp:epp xmlns:epp="urn:ietf:params:xml:ns:epp-1.0">"#,
            "  <epp:command>",
            "    <epp:login>",
            "      <epp:clID>reg1</epp:clID>",
            "      <epp:pw>secret-1</epp:pw>",
            "      <epp:options><epp:version>1.0</epp:version><epp:lang>en</epp:lang></epp:options>",
            "      <epp:svcs>",
            "        <epp:objURI>urn:ietf:params:xml:ns:domain-1.0</epp:objURI>",
            "        <epp:objURI>urn:ietf:params:xml:ns:contact-1.0</epp:objURI>",
            "        <epp:objURI>urn:ietf:params:xml:ns:host-1.0</epp:objURI>",
            "        <epp:svcExtension>",
            "          <epp:extURI>http://www.norid.no/xsd/no-ext-result-1.0</epp:extURI>",
            "          <epp:extURI>http://www.norid.no/xsd/no-ext-domain-1.1</epp:extURI>",
            "        </epp:svcExtension>",
            "      </epp:svcs>",
            "    </epp:login>",
            "    <epp:clTRID>IOP-LOGIN</epp:clTRID>",
            "  </epp:command>",
            "</epp:epp>",
            "",
        ]
        .join("\r\n");
        expect(&mut c, &login, "IOP-LOGIN", 1000).await;

        // Whitespace after </epp>, as some clients send it.
        for (i, tail) in ["\n", "\r\n", "\r\n\r\n", " \t\n  "].iter().enumerate() {
            let id = format!("IOP-TAIL-{i}");
            let reply = expect(&mut c, &format!("{}{tail}", domain_check(&id)), &id, 1000).await;
            assert_check(&reply);
        }

        // With a declaration (standalone="no"), and with CRLF line ends throughout.
        let reply = expect(
            &mut c,
            &format!("{DECL}{}", domain_check("IOP-DECL")),
            "IOP-DECL",
            1000,
        )
        .await;
        assert_check(&reply);
        let crlf = domain_check("IOP-CRLF")
            .replace("><", ">\r\n<")
            .replace("\r\n<domain:name>", "\r\n    <domain:name>");
        let reply = expect(&mut c, &format!("{DECL}\r\n{crlf}\r\n"), "IOP-CRLF", 1000).await;
        assert_check(&reply);

        // Everything prefixed, and everything in default namespaces.
        let prefixed = r#"<e:epp xmlns:e="urn:ietf:params:xml:ns:epp-1.0"><e:command><e:check><d:check xmlns:d="urn:ietf:params:xml:ns:domain-1.0"><d:name>example.no</d:name><d:name>free.no</d:name></d:check></e:check><e:clTRID>IOP-PREFIX</e:clTRID></e:command></e:epp>"#;
        let reply = expect(&mut c, prefixed, "IOP-PREFIX", 1000).await;
        assert_check(&reply);
        let defaults = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><check><check xmlns="urn:ietf:params:xml:ns:domain-1.0"><name>example.no</name><name>free.no</name></check></check><clTRID>IOP-DEFAULT</clTRID></command></epp>"#;
        let reply = expect(&mut c, defaults, "IOP-DEFAULT", 1000).await;
        assert_check(&reply);

        // A check without names is refused (2003) with its clTRID; a document that is not
        // well-formed XML is a 2001; the session goes on.
        let empty = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><check><domain:check xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"/></check><clTRID>IOP-EMPTY</clTRID></command></epp>"#;
        expect(&mut c, empty, "IOP-EMPTY", 2003).await;
        let broken = r#"<epp xmlns="urn:ietf:params:xml:ns:epp-1.0"><command><check><domain:check xmlns:domain="urn:ietf:params:xml:ns:domain-1.0"><domain:name>example.no</domain:check></check><clTRID>IOP-BROKEN</clTRID></command></epp>"#;
        let reply = c.call(broken).await;
        assert_eq!(code(&reply), Some(2001), "{reply}");
        let reply = expect(&mut c, &domain_check("IOP-AFTER"), "IOP-AFTER", 1000).await;
        assert_check(&reply);
    });
}

/// Every command of Net::DRI's .NO profile is understood: the answer decodes with the
/// strict response decoder, echoes the clTRID, and is not a syntax or unknown-command
/// error (the objects mostly do not exist here, so 2303 and policy refusals are fine). Each
/// is also sent with CRLF line ends and a trailing newline.
#[test]
fn net_dri_commands_are_understood() {
    let Some(shared) = shared_dir() else {
        eprintln!("NOTICE: ../shared is absent (set EPP_SHARED_DIR); skipping");
        return;
    };
    let dir = shared.join("spec/examples-netdri");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".cmd.xml"))
        .collect();
    files.sort();
    assert!(files.len() > 30, "{}", dir.display());
    let db = Db::sqlite();
    runtime().block_on(async {
        let mut target = TlsTarget::registry(&db).await;
        let (mut c, _) = target.connect().await;
        let login = crate::epp::login("reg1", "secret-1", "NETDRI-LOGIN");
        expect(&mut c, &login, "NETDRI-LOGIN", 1000).await;
        let mut logout = None;
        for path in &files {
            let doc = std::fs::read_to_string(path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if doc.contains("<logout/>") {
                logout = Some(doc);
                continue;
            }
            let crlf = format!("{}\r\n", doc.replace("\r\n", "\n").replace('\n', "\r\n"));
            for variant in [doc.clone(), crlf] {
                let reply = c.call(&variant).await;
                if doc.contains("<hello/>") {
                    assert!(is_greeting(&reply), "{name}:\n{reply}");
                    continue;
                }
                let got = code(&reply).unwrap_or_else(|| panic!("{name}: no response:\n{reply}"));
                assert!(
                    !matches!(got, 2000 | 2001),
                    "{name}: {got}\nsent:\n{variant}\ngot:\n{reply}"
                );
                if let Some(id) = cl_trid(&doc) {
                    assert!(
                        reply.contains(&format!("<clTRID>{id}</clTRID>")),
                        "{name}: clTRID not echoed:\n{reply}"
                    );
                }
            }
        }
        let logout = logout.expect("Net::DRI's logout");
        let reply = c.call(&logout).await;
        assert_eq!(code(&reply), Some(1500), "{reply}");
        assert_eq!(c.recv().await, None);
    });
}

fn cl_trid(doc: &str) -> Option<&str> {
    let start = doc.find("<clTRID>")? + "<clTRID>".len();
    let end = doc[start..].find("</clTRID>")?;
    Some(&doc[start..start + end])
}
