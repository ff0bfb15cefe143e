//! The delegations of one zone as the registry holds them, for the operator's zone
//! generation (`epp-server zone export`).
//!
//! A domain is delegated when the statuses its `<domain:info>` shows hold none of
//! `serverHold` (stored, or derived in quarantine and once its `deleteFromDNS` day has
//! come), `clientHold` and `inactive` (no name servers). For each, [`export`] writes its `NS` records, its `DS` records
//! (RFC 5910 `dsData`), and the addresses of its subordinate hosts that some domain uses
//! as a name server (glue: a host under a delegated domain cannot be resolved without
//! them). Hosts under a domain that is not delegated get no address records: they would
//! be data of the parent zone below no zone cut.
//!
//! The output is an RFC 1035 master-file fragment, absolute names, no `TTL` and no `SOA`:
//! it is meant to be included (`$INCLUDE`) in a zone file that has its own `SOA`, apex `NS`
//! and `$TTL`. Records come in the domains' name order, so two exports compare with
//! `diff`. Hosts and domains are read page by page, each page on its own: a change
//! committed during an export may be in it or not, and is in the next one. The domains
//! are written as their pages come; the hosts are listed first, all of them held until
//! those with addresses are picked out.

use std::collections::BTreeMap;
use std::io::{self, Write};

use epp_norid_ext::policy::{self, Zone, ZoneKind};
use epp_xml::{DomainName, Timestamp};

use super::domain::shown_statuses;
use super::lifecycle::{PAGE, all_hosts};
use crate::store::model::{Domain, DomainQuery, DomainStatus, Host, HostQuery};
use crate::store::{Store, StoreError};

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExportSummary {
    /// Domains of the zone that are delegated.
    pub delegated: u64,
    /// Domains of the zone that are not (held, quarantined, without name servers).
    pub not_delegated: u64,
    /// `NS` records.
    pub ns: u64,
    /// `DS` records.
    pub ds: u64,
    /// `A` and `AAAA` glue records.
    pub glue: u64,
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The name is not a zone in which the registry registers domains.
    #[error(
        "{0} is not a zone of this registry (`no`, or one of Norid's zones such as `oslo.no` \
         or `priv.no`)"
    )]
    UnknownZone(String),
    /// The store failed.
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
    /// Writing the output failed.
    #[error("cannot write the zone: {0}")]
    Io(#[from] io::Error),
}

/// The zone named `name` (ACE, with or without the final dot, any case), if the registry
/// registers domains in it.
///
/// # Errors
///
/// [`ExportError::UnknownZone`] for any other name, and for the zones another party
/// manages (`kommune.no`, `stat.no`, ...).
pub fn zone(name: &str) -> Result<Zone, ExportError> {
    let ace = name.trim_end_matches('.').to_ascii_lowercase();
    match Zone::lookup(&ace) {
        Some(z) if z.kind() != ZoneKind::External => Ok(z),
        _ => Err(ExportError::UnknownZone(name.to_owned())),
    }
}

/// Whether the domain is delegated at `now`: it shows none of `serverHold`, `clientHold`
/// and `inactive`.
pub fn is_delegated(d: &Domain, now: Timestamp) -> bool {
    !shown_statuses(d, now).iter().any(|s| {
        matches!(
            s,
            DomainStatus::ServerHold | DomainStatus::ClientHold | DomainStatus::Inactive
        )
    })
}

/// Writes the delegations of `zone` (of every zone with `None`) at `now` to `out` (see the
/// module documentation).
///
/// # Errors
///
/// [`ExportError`] when the store or the output fails; what was written until then is
/// incomplete.
pub async fn export<S: Store, W: Write>(
    store: &S,
    zone: Option<Zone>,
    now: Timestamp,
    out: &mut W,
) -> Result<ExportSummary, ExportError> {
    let mut summary = ExportSummary::default();
    let what = zone.map_or_else(|| "every zone".to_owned(), |z| format!("{}.", z.ace()));
    writeln!(
        out,
        "; delegations in {what} from the registry at {now} (registry clock)"
    )?;
    let suffix = zone.map(|z| format!(".{}", z.ace()));
    // Only the names one label under the zone (`example.no` in `no`, not `ola.oslo.no`);
    // every stored domain is in one zone.
    let in_zone = |name: &str| {
        suffix.as_ref().is_none_or(|suffix| {
            name.strip_suffix(suffix.as_str())
                .is_some_and(|label| !label.is_empty() && !label.contains('.'))
        })
    };
    // The hosts that may need glue, by the domain they lie under: one listing of every
    // host instead of a query per domain; only hosts with addresses (the few under `.no`)
    // are kept.
    let mut glue: BTreeMap<String, Vec<Host>> = BTreeMap::new();
    for h in all_hosts(store, &HostQuery::All).await? {
        if h.addrs.is_empty() {
            continue;
        }
        if let Some(sup) = policy::superordinate_name(&h.name).filter(|s| in_zone(s)) {
            glue.entry(sup.to_owned()).or_default().push(h);
        }
    }
    let mut after: Option<DomainName> = None;
    loop {
        let page = store
            .domains(&DomainQuery::All, after.as_ref(), PAGE)
            .await?;
        let full = page.len() == PAGE;
        after = page.last().map(|d| d.name.clone());
        for d in page {
            if !in_zone(d.name.as_str()) {
                continue;
            }
            let hosts = glue.remove(d.name.as_str()).unwrap_or_default();
            if !is_delegated(&d, now) {
                summary.not_delegated += 1;
                continue;
            }
            delegation(store, &d, &hosts, out, &mut summary).await?;
        }
        if !full {
            break;
        }
    }
    writeln!(
        out,
        "; {} delegations ({} domains not delegated), {} NS, {} DS, {} glue",
        summary.delegated, summary.not_delegated, summary.ns, summary.ds, summary.glue
    )?;
    Ok(summary)
}

/// One domain's records: `NS`, `DS`, and the glue of those of its subordinate hosts with
/// addresses (`hosts`) that a domain uses.
async fn delegation<S: Store, W: Write>(
    store: &S,
    d: &Domain,
    hosts: &[Host],
    out: &mut W,
    summary: &mut ExportSummary,
) -> Result<(), ExportError> {
    summary.delegated += 1;
    let owner = d.name.as_str();
    // The registry logic keeps a domain's name servers distinct.
    for ns in &d.ns {
        writeln!(out, "{owner}.\tIN\tNS\t{ns}.")?;
        summary.ns += 1;
    }
    for ds in &d.sec_dns.ds {
        writeln!(
            out,
            "{owner}.\tIN\tDS\t{} {} {} {}",
            ds.key_tag,
            ds.alg,
            ds.digest_type,
            ds.digest.to_ascii_uppercase()
        )?;
        summary.ds += 1;
    }
    // Glue: the domain's own hosts (`ns1.example.no` under `example.no`) that a domain
    // uses, whichever domain that is.
    for h in hosts {
        // Most often the domain uses its own host: then no query is needed.
        let used = d.ns.contains(&h.name)
            || store
                .count_domains(&DomainQuery::NameServer(h.name.clone()))
                .await?
                > 0;
        if !used {
            continue;
        }
        let mut addrs = h.addrs.clone();
        addrs.sort();
        addrs.dedup();
        for a in addrs {
            let kind = if a.is_ipv4() { "A" } else { "AAAA" };
            writeln!(out, "{}.\tIN\t{kind}\t{a}", h.name)?;
            summary.glue += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use epp_xml::Date;

    use super::*;
    use crate::store::model::{DsData, Lifecycle};
    use crate::store::suite::{at, base, block_on, commit1, domain, host};
    use crate::store::{Change, MemoryStore};

    /// The records of an export, without its comment lines.
    fn body(text: &str) -> Vec<&str> {
        text.lines().filter(|l| !l.starts_with(';')).collect()
    }

    fn run(store: &MemoryStore, name: &str) -> (String, ExportSummary) {
        let mut out = Vec::new();
        let zone = (name != "all").then(|| zone(name).unwrap());
        let summary = block_on(export(store, zone, at(10), &mut out)).unwrap();
        (String::from_utf8(out).unwrap(), summary)
    }

    /// What is delegated and what is not; glue for the hosts in use under delegated
    /// domains only; each zone its own names.
    #[test]
    fn delegated_domains_with_their_ds_and_glue() {
        let store = MemoryStore::new();
        block_on(async {
            base(&store).await;
            for (name, addrs) in [
                ("ns1.a.no", &["2001:db8::1", "192.0.2.1"][..]),
                ("ns2.a.no", &["192.0.2.2"][..]),
                ("ns1.b.no", &["192.0.2.3"][..]),
                ("ns.ola.oslo.no", &["192.0.2.4"][..]),
                ("ns1.g.no", &["192.0.2.5"][..]),
            ] {
                let mut h = host(name, "reg1");
                h.addrs = addrs.iter().map(|a| a.parse().unwrap()).collect();
                commit1(&store, "reg1", Change::CreateHost(h))
                    .await
                    .unwrap();
            }
            let ns = |names: &[&str]| domain("x.no", "reg1", "ORG1O", &["ROLE1R"], names).ns;
            let mut doms = Vec::new();
            // Delegated, signed, with a host of its own (used) and one of another
            // registry's; ns2.a.no is used by no domain.
            let mut a = domain("a.no", "reg1", "ORG1O", &["ROLE1R"], &[]);
            a.ns = ns(&["ns1.a.no", "ns1.example.net", "ns1.b.no", "ns1.g.no"]);
            a.sec_dns.ds.push(DsData {
                key_tag: 12345,
                alg: 13,
                digest_type: 2,
                digest: "49fd46e6c4b45c55d4ac69cbd3cd34ac1afe51de5e6d2a9a2f1f0e5d4c3b2a19".into(),
                key_data: None,
            });
            doms.push(a);
            // Held by its registrar: not delegated, so ns1.b.no gets no glue although
            // a.no uses it.
            let mut b = domain("b.no", "reg1", "ORG1O", &["ROLE1R"], &[]);
            b.ns = ns(&["ns1.example.net"]);
            b.statuses.insert(DomainStatus::ClientHold, None);
            doms.push(b);
            // No name servers.
            doms.push(domain("c.no", "reg1", "ORG1O", &["ROLE1R"], &[]));
            // Quarantined.
            let mut d = domain("d.no", "reg1", "ORG1O", &["ROLE1R"], &[]);
            d.ns = ns(&["ns1.example.net"]);
            d.lifecycle = Lifecycle::Quarantined { since: at(0) };
            doms.push(d);
            // Its deleteFromDNS day has come (before the scheduler stored serverHold).
            let mut e = domain("e.no", "reg1", "ORG1O", &["ROLE1R"], &[]);
            e.ns = ns(&["ns1.example.net"]);
            e.delete_from_dns = Some(Date::new(2024, 5, 1).unwrap());
            doms.push(e);
            // Its deleteFromDNS day is still to come.
            let mut f = domain("f.no", "reg1", "ORG1O", &["ROLE1R"], &[]);
            f.ns = ns(&["ns2.example.net", "ns1.example.net"]);
            f.delete_from_dns = Some(Date::new(2024, 6, 1).unwrap());
            doms.push(f);
            // Delegated elsewhere: its host, used by a.no only, still needs glue here.
            let mut g = domain("g.no", "reg1", "ORG1O", &["ROLE1R"], &[]);
            g.ns = ns(&["ns1.example.net"]);
            doms.push(g);
            // In another zone, with its own glue.
            let mut o = domain("ola.oslo.no", "reg1", "ORG1O", &["ROLE1R"], &[]);
            o.ns = ns(&["ns.ola.oslo.no", "ns1.example.net"]);
            doms.push(o);
            for d in doms {
                commit1(&store, "reg1", Change::CreateDomain(d))
                    .await
                    .unwrap();
            }
        });

        let (text, summary) = run(&store, "NO.");
        assert_eq!(
            body(&text),
            [
                "a.no.\tIN\tNS\tns1.a.no.",
                "a.no.\tIN\tNS\tns1.example.net.",
                "a.no.\tIN\tNS\tns1.b.no.",
                "a.no.\tIN\tNS\tns1.g.no.",
                "a.no.\tIN\tDS\t12345 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE5E6D2A9A2F1F0E5D4C3B2A19",
                "ns1.a.no.\tIN\tA\t192.0.2.1",
                "ns1.a.no.\tIN\tAAAA\t2001:db8::1",
                "f.no.\tIN\tNS\tns2.example.net.",
                "f.no.\tIN\tNS\tns1.example.net.",
                "g.no.\tIN\tNS\tns1.example.net.",
                "ns1.g.no.\tIN\tA\t192.0.2.5",
            ],
            "{text}"
        );
        assert!(text.starts_with("; delegations in no. from the registry at "));
        assert_eq!(
            summary,
            ExportSummary {
                delegated: 3,
                not_delegated: 4,
                ns: 7,
                ds: 1,
                glue: 3,
            }
        );
        assert!(text.ends_with("; 3 delegations (4 domains not delegated), 7 NS, 1 DS, 3 glue\n"));

        let (text, summary) = run(&store, "oslo.no");
        assert_eq!(
            body(&text),
            [
                "ola.oslo.no.\tIN\tNS\tns.ola.oslo.no.",
                "ola.oslo.no.\tIN\tNS\tns1.example.net.",
                "ns.ola.oslo.no.\tIN\tA\t192.0.2.4",
            ]
        );
        assert_eq!((summary.delegated, summary.glue), (1, 1));

        // Every zone: both, in name order.
        let (text, summary) = run(&store, "all");
        assert!(text.starts_with("; delegations in every zone from the registry at "));
        let owners: Vec<&str> = body(&text)
            .into_iter()
            .map(|l| l.split('\t').next().unwrap())
            .collect();
        assert_eq!(
            owners,
            [
                "a.no.",
                "a.no.",
                "a.no.",
                "a.no.",
                "a.no.",
                "ns1.a.no.",
                "ns1.a.no.",
                "f.no.",
                "f.no.",
                "g.no.",
                "ns1.g.no.",
                "ola.oslo.no.",
                "ola.oslo.no.",
                "ns.ola.oslo.no.",
            ]
        );
        assert_eq!(
            (summary.delegated, summary.not_delegated, summary.glue),
            (4, 4, 4)
        );
    }

    #[test]
    fn only_the_registry_zones_are_exported() {
        assert_eq!(zone("no").unwrap().ace(), "no");
        assert_eq!(zone("Priv.No.").unwrap().ace(), "priv.no");
        for name in ["kommune.no", "example.no", "com", ""] {
            assert!(
                matches!(zone(name), Err(ExportError::UnknownZone(_))),
                "{name}"
            );
        }
    }
}
