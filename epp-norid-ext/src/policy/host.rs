//! Host (name server) rules: addresses only for names under `.no`, at most four, public
//! unicast only; at most one role contact (digest §8).

use std::net::IpAddr;

use epp_xml::{ContactId, HostName};

use super::Refusal;
use super::contact::ContactKind;
use super::name::Zone;

/// A host has at most this many IP addresses (digest §11).
pub const MAX_HOST_ADDRESSES: usize = 4;
/// A host has at most this many contacts.
pub const MAX_HOST_CONTACTS: usize = 1;

/// Whether a host name lies under `.no` (so that it may, and must, carry glue addresses).
pub fn is_under_no(host: &HostName) -> bool {
    host.as_str().ends_with(".no")
}

/// The name of the `.no` domain a host lies under by Norid's zones alone, registered or
/// not: the longest proper suffix of the host name that is one label under `.no` or under
/// a Norid zone (`example.no` for `ns1.sub.example.no`, `ola.oslo.no` for
/// `ns1.ola.oslo.no`). `None` for a host outside `.no` and for a name directly under `.no`
/// (`example.no` itself); a host directly under a zone gets the zone's name, which no
/// domain has.
///
/// For a name that [`parse_domain_name`](super::parse_domain_name) accepts (no such name
/// is, or lies above, a zone), the hosts with that superordinate name are exactly those
/// whose name ends in `.<name>`: the SQL stores keep it in a column and look a domain's
/// subordinate hosts up by equality. It depends on the zone list, so a change of the zone
/// list needs the stored names computed again.
pub fn superordinate_name(host: &HostName) -> Option<&str> {
    let mut rest = host.as_str();
    while let Some((_, suffix)) = rest.split_once('.') {
        let (_, parent) = suffix.split_once('.')?;
        if parent == "no" || Zone::lookup(parent).is_some() {
            return Some(suffix);
        }
        rest = suffix;
    }
    None
}

/// Longest host name, in characters (RFC 1035 section 2.3.4, without the root's dot).
pub const MAX_HOST_NAME: usize = 253;

/// Checks that a host name is one (RFC 5732 section 2.1: host names follow RFC 952 and
/// RFC 1123), so that nothing but a name a resolver can look up reaches the zone: ASCII
/// (an IDN travels in ACE form), at most [`MAX_HOST_NAME`] characters, at least two
/// labels, each of 1-63 letters, digits and hyphens that neither begins nor ends with a
/// hyphen, and a top label that is not all digits. The schema type (`eppcom:labelType`,
/// any token of 1-255 characters) checks none of this.
///
/// # Errors
///
/// [`Refusal::HostNameSyntax`] (2005) with the rule broken.
pub fn check_host_name(host: &HostName) -> Result<(), Refusal> {
    let name = host.as_str();
    let fail = |reason| {
        Err(Refusal::HostNameSyntax {
            name: name.to_owned(),
            reason,
        })
    };
    if name.len() > MAX_HOST_NAME {
        return fail("it is longer than 253 characters");
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return fail("it must have at least two labels");
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return fail("a label must have 1-63 characters");
        }
        if !label
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        {
            return fail("a label has a character other than a-z, 0-9 and -");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return fail("a label begins or ends with a hyphen");
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|c| c.is_ascii_digit()))
    {
        return fail("the top label is all digits");
    }
    Ok(())
}

/// Checks the addresses a host ends up with (create, or update after add and rem).
///
/// * at most [`MAX_HOST_ADDRESSES`];
/// * a host outside `.no` has none (Norid serves no glue for other TLDs);
/// * a host under `.no` has at least one IPv4 address;
/// * every address is public unicast: not unspecified, loopback, private (RFC 1918, RFC 4193),
///   shared (RFC 6598), link-local, multicast, broadcast, reserved, documentation
///   (RFC 5737, RFC 3849) or IPv4-mapped.
///
/// # Errors
///
/// [`Refusal::HostAddressCount`], [`Refusal::HostAddressesNotAllowed`],
/// [`Refusal::HostIpv4Required`], [`Refusal::HostAddressNotPublic`] (all 2306).
pub fn check_host_addresses(host: &HostName, addresses: &[IpAddr]) -> Result<(), Refusal> {
    let name = || host.to_string();
    if addresses.len() > MAX_HOST_ADDRESSES {
        return Err(Refusal::HostAddressCount {
            name: name(),
            count: addresses.len(),
        });
    }
    if !is_under_no(host) {
        if addresses.is_empty() {
            return Ok(());
        }
        return Err(Refusal::HostAddressesNotAllowed { name: name() });
    }
    if !addresses.iter().any(IpAddr::is_ipv4) {
        return Err(Refusal::HostIpv4Required { name: name() });
    }
    if let Some(&ip) = addresses.iter().find(|ip| !is_public_unicast(ip)) {
        return Err(Refusal::HostAddressNotPublic { name: name(), ip });
    }
    Ok(())
}

/// Checks the number of contacts a host ends up with: at most [`MAX_HOST_CONTACTS`].
///
/// # Errors
///
/// [`Refusal::HostContactCount`] (2306).
pub fn check_host_contact_count(host: &HostName, count: usize) -> Result<(), Refusal> {
    if count > MAX_HOST_CONTACTS {
        return Err(Refusal::HostContactCount {
            name: host.to_string(),
            count,
        });
    }
    Ok(())
}

/// Checks that a host's contact is a role contact.
///
/// # Errors
///
/// [`Refusal::HostContactNotRole`] (2306).
pub fn check_host_contact(id: &ContactId, kind: ContactKind) -> Result<(), Refusal> {
    match kind {
        ContactKind::Role => Ok(()),
        kind => Err(Refusal::HostContactNotRole {
            contact: id.to_string(),
            kind,
        }),
    }
}

/// Whether an address may be published as glue.
fn is_public_unicast(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_unspecified()
                || a == 0
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b == 18 || b == 19)))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || v6.to_ipv4_mapped().is_some()
                || s[0] == 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::parse_domain_name;
    use super::*;

    fn host(s: &str) -> HostName {
        HostName::new(s).unwrap()
    }

    #[test]
    fn superordinate_names() {
        let sup = |s| superordinate_name(&host(s)).map(str::to_owned);
        assert_eq!(sup("ns1.example.no").as_deref(), Some("example.no"));
        assert_eq!(sup("ns1.sub.example.no").as_deref(), Some("example.no"));
        assert_eq!(sup("ns1.ola.oslo.no").as_deref(), Some("ola.oslo.no"));
        assert_eq!(sup("a.b.ola.priv.no").as_deref(), Some("ola.priv.no"));
        assert_eq!(
            sup("ns.kari.xn--b-5ga.telemark.no").as_deref(),
            Some("kari.xn--b-5ga.telemark.no")
        );
        // Under a zone's name, and above one: the zone's name, or the name under .no.
        assert_eq!(sup("ns1.oslo.no").as_deref(), Some("oslo.no"));
        assert_eq!(sup("ns1.telemark.no").as_deref(), Some("telemark.no"));
        assert_eq!(sup("example.no"), None);
        assert_eq!(sup("ns1.example.com"), None);
        assert_eq!(sup("ns1.example.no.example.com"), None);
    }

    /// Labels that make zones and names near them.
    const LABELS: &[&str] = &[
        "ns1",
        "ola",
        "no",
        "oslo",
        "priv",
        "vgs",
        "gs",
        "telemark",
        "xn--b-5ga",
        "bo",
        "mil",
        "example",
        "x--y",
        "a",
    ];

    proptest! {
        #[test]
        fn a_registrable_name_is_the_superordinate_name_of_every_host_under_it(
            labels in proptest::collection::vec(proptest::sample::select(LABELS), 1..6),
            tail in proptest::sample::select(&["no", "oslo.no", "priv.no", "com"][..]),
        ) {
            let name = format!("{}.{tail}", labels.join("."));
            let h = host(&name);
            let key = superordinate_name(&h);
            // Every proper suffix that is a registrable name is the key; so at most one is.
            let mut rest = name.as_str();
            while let Some((_, suffix)) = rest.split_once('.') {
                let d = epp_xml::DomainName::new(suffix).unwrap();
                if parse_domain_name(&d).is_ok() {
                    prop_assert_eq!(key, Some(suffix), "{}", name);
                }
                rest = suffix;
            }
            if let Some(k) = key {
                let under = name.ends_with(&format!(".{}", k));
                prop_assert!(under, "{} is not under {}", name, k);
            }
        }
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    /// Found by the hostile-input suite: a host named `ns1.x';--.no` was accepted, as the
    /// schema type allows any token.
    #[test]
    fn host_names_follow_rfc_952_and_1123() {
        for ok in [
            "ns1.example.no",
            "a.b",
            "xn--rksy-qoa.no",
            "1.2.3.example.com",
            "ns-1.x-y.no",
        ] {
            assert!(check_host_name(&host(ok)).is_ok(), "{ok}");
        }
        // 254 characters: over the DNS limit, within the schema's 255.
        let long = format!(
            "{}.{}.no",
            vec!["a".repeat(63); 3].join("."),
            "a".repeat(59)
        );
        for (bad, why) in [
            ("ns1.x';--.no", "character"),
            ("ns1 .example.no", "character"),
            ("ns_1.example.no", "character"),
            ("ns1.ex\u{e6}mple.no", "character"),
            ("localhost", "two labels"),
            ("ns1..example.no", "1-63"),
            ("ns1.example.no.", "1-63"),
            (".example.no", "1-63"),
            ("-ns1.example.no", "hyphen"),
            ("ns1-.example.no", "hyphen"),
            ("ns1.example.123", "all digits"),
            ("192.0.2.1", "all digits"),
            (long.as_str(), "253"),
        ] {
            match check_host_name(&host(bad)) {
                Err(e @ Refusal::HostNameSyntax { .. }) => {
                    assert!(e.to_string().contains(why), "{bad}: {e}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
        let label64 = format!("{}.no", "a".repeat(64));
        assert!(check_host_name(&host(&label64)).is_err());
    }

    #[test]
    fn addresses_for_no_hosts() {
        let h = host("ns1.example.no");
        assert!(check_host_addresses(&h, &ips(&["193.0.2.2"])).is_ok());
        assert!(
            check_host_addresses(&h, &ips(&["193.0.2.2", "2000:0:0:0:8:800:200C:417A"])).is_ok()
        );
        assert!(
            check_host_addresses(
                &h,
                &ips(&["193.0.2.2", "193.0.2.3", "193.0.2.4", "2a01::1"])
            )
            .is_ok()
        );
        let e = check_host_addresses(
            &h,
            &ips(&[
                "193.0.2.2",
                "193.0.2.3",
                "193.0.2.4",
                "193.0.2.5",
                "2a01::1",
            ]),
        )
        .unwrap_err();
        assert_eq!(
            e.reason(),
            "Host [ns1.example.no] can have at most 4 IP addresses, not 5."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC004901", 2306));
        let e = check_host_addresses(&h, &[]).unwrap_err();
        assert_eq!(
            e.reason(),
            "Host [ns1.example.no] is under .no and needs at least one IPv4 address."
        );
        assert_eq!(
            check_host_addresses(&h, &ips(&["2a01::1"]))
                .unwrap_err()
                .code(),
            "EC004903"
        );
    }

    #[test]
    fn addresses_for_other_hosts() {
        let h = host("ns1.example.com");
        assert!(check_host_addresses(&h, &[]).is_ok());
        let e = check_host_addresses(&h, &ips(&["193.0.2.2"])).unwrap_err();
        assert_eq!(
            e.reason(),
            "Host [ns1.example.com] is outside .no and must not have IP addresses."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC004902", 2306));
        // "xno" is not under .no.
        assert!(!is_under_no(&host("ns.example.xno")));
    }

    #[test]
    fn only_public_unicast() {
        let h = host("ns1.example.no");
        for bad in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "100.64.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.1",
            "192.0.0.8",
            "198.18.0.1",
        ] {
            let e = check_host_addresses(&h, &ips(&[bad])).unwrap_err();
            assert_eq!(
                (e.code(), e.result_code().code()),
                ("EC004904", 2306),
                "{bad}"
            );
        }
        for bad in [
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:193.0.2.2",
            "::193.0.2.2",
        ] {
            let e = check_host_addresses(&h, &ips(&["193.0.2.2", bad])).unwrap_err();
            assert_eq!(e.code(), "EC004904", "{bad}");
        }
        let e = check_host_addresses(&h, &ips(&["10.0.0.1"])).unwrap_err();
        assert_eq!(
            e.reason(),
            "Address [10.0.0.1] of host [ns1.example.no] is not a public unicast address."
        );
    }

    #[test]
    fn contacts() {
        let h = host("ns1.example.no");
        assert!(check_host_contact_count(&h, 0).is_ok());
        assert!(check_host_contact_count(&h, 1).is_ok());
        let e = check_host_contact_count(&h, 2).unwrap_err();
        assert_eq!(
            e.reason(),
            "Host [ns1.example.no] can have at most 1 contact, not 2."
        );
        let id = ContactId::new("PEO41R").unwrap();
        assert!(check_host_contact(&id, ContactKind::Role).is_ok());
        let e = check_host_contact(&id, ContactKind::Organization).unwrap_err();
        assert_eq!(
            e.reason(),
            "Contact [PEO41R] is an organization contact; host contacts must be role contacts."
        );
    }
}
