//! The registry the load runs against, written through the server's own store before the
//! server starts: `R` registrars (`load1`..), each with an organization registrant, a role
//! contact, three name servers, a domain to read (`info-<r>.no`), and per session a domain
//! to update (`upd-<s>.no`) and domains due for renewal (`rn-<s>-<k>.no`, expiring in ten
//! days, so the renew window is open).

use epp_server::store::AnyStore;
use epp_session::store::model::{Contact, Domain, Host, NewRegistrar, PasswordInput};
use epp_session::store::{Change, ChangeMeta, ChangeSet, Store};
use epp_xml::{ClTrid, ClientId, Password, SvTrid, Timestamp};

use crate::Settings;
use crate::anyhow_lite::{Context, Result};

/// Organization registrants per registrar that creates spread over: a holder's domains are
/// counted on every create (quota), and most holders hold a few names, not thousands.
pub(crate) const HOLDERS: usize = 64;

/// The registrant of the `k`-th create of registrar `r`.
pub(crate) fn holder(r: usize, k: u64) -> String {
    format!("L{r}H{}O", k % HOLDERS as u64)
}

/// Renewable domains per session (the mix renews each once).
pub(crate) const RENEW_POOL: usize = 200;

pub(crate) fn registrar_id(r: usize) -> String {
    format!("load{r}")
}

pub(crate) fn password(r: usize) -> String {
    format!("Load-pw-{r}x")
}

/// The registrar (1-based) of session `s` (0-based).
pub(crate) fn registrar_of(session: usize, registrars: usize) -> usize {
    session % registrars + 1
}

/// The date (`YYYY-MM-DD`) the renew pool expires on, and its timestamp: noon UTC ten days
/// from now (the same calendar day in Norway).
pub(crate) fn renew_expiry() -> (String, Timestamp) {
    let now = now();
    let day = now.unix_micros().div_euclid(86_400_000_000) + 10;
    let at = Timestamp::from_unix_micros(day * 86_400_000_000 + 43_200_000_000);
    (at.date().to_string(), at)
}

fn meta(registrar: Option<&str>, command: &str) -> Result<ChangeMeta> {
    Ok(ChangeMeta {
        registrar: registrar
            .map(|r| ClientId::new(r).context("client id"))
            .transpose()?,
        time: now(),
        cl_trid: Some(ClTrid::new("LOAD-SETUP").context("clTRID")?),
        sv_trid: Some(SvTrid::new("LOAD-SETUP").context("svTRID")?),
        command: command.into(),
    })
}

/// A distinct ROID number for every fixture (far above the store's own sequences).
struct Roids(u64);

impl Roids {
    fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

pub(crate) fn domain_json(
    name: &str,
    roid: u64,
    reg: usize,
    holder: &str,
    ex_date: Timestamp,
) -> String {
    let id = registrar_id(reg);
    let now = now();
    format!(
        r#"{{"name":"{name}","roid":"DOM{roid}D-NORID","registrant":"{holder}","contacts":[{{"type":"tech","id":"LOAD{reg}R"}}],"ns":["ns1.load{reg}.example.com","ns2.load{reg}.example.com"],"authInfo":"Transfer+Code1","clId":"{id}","crId":"{id}","crDate":"{now}","exDate":"{ex_date}","applicantDataset":{{"versionNumber":"3.2","acceptName":"Kari Nordmann","acceptDate":"2024-06-01T11:00:00Z","updateClientId":"{id}","updateDate":"{now}"}}}}"#
    )
}

/// The replay record the server stores with a domain create (`Change::RecordReplay`):
/// the command's digest line (here a unique number of the same length), then the response
/// as the server writes it.
pub(crate) fn create_replay(
    name: &str,
    unique: u64,
    cl_trid: &str,
    sv_trid: &str,
    ex_date: Timestamp,
) -> Vec<u8> {
    let now = now();
    format!(
        r#"EPP-REPLAY {unique:032x}
<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<epp xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="urn:ietf:params:xml:ns:epp-1.0" xsi:schemaLocation="urn:ietf:params:xml:ns:epp-1.0 epp-1.0.xsd">
 <response>
  <result code="1000">
   <msg>Command completed successfully</msg>
  </result>
  <resData>
   <domain:creData xmlns="urn:ietf:params:xml:ns:domain-1.0" xmlns:domain="urn:ietf:params:xml:ns:domain-1.0" xsi:schemaLocation="urn:ietf:params:xml:ns:domain-1.0 domain-1.0.xsd">
    <domain:name>{name}</domain:name>
    <domain:crDate>{now}</domain:crDate>
    <domain:exDate>{ex_date}</domain:exDate>
   </domain:creData>
  </resData>
  <extension>
   <conditions xmlns="http://www.norid.no/xsd/no-ext-result-1.0" xsi:schemaLocation="http://www.norid.no/xsd/no-ext-result-1.0 no-ext-result-1.0.xsd">
    <condition code="EC001024" severity="info">
     <msg>Command completed</msg>
     <details>Domain [{name}] has been created.</details>
    </condition>
   </conditions>
  </extension>
  <trID>
   <clTRID>{cl_trid}</clTRID>
   <svTRID>{sv_trid}</svTRID>
  </trID>
 </response>
</epp>
"#
    )
    .into_bytes()
}

/// Writes the fixtures.
pub(crate) async fn load(store: &AnyStore, settings: &Settings) -> Result<()> {
    let mut roids = Roids(900_000_000);
    let year = Timestamp::from_unix_micros(now().unix_micros() + 365 * 86_400_000_000);
    let (_, renew_at) = renew_expiry();
    for r in 1..=settings.registrars {
        let id = registrar_id(r);
        let new = NewRegistrar {
            id: ClientId::new(id.clone()).context("client id")?,
            name: format!("Load registrar {r}"),
            password: PasswordInput::Clear(Password::new(password(r)).context("password")?),
            cert_pins: Default::default(),
            session_limit: 1_000_000,
            enabled: true,
        };
        store
            .commit(
                ChangeSet::new(meta(None, "admin:registrar-add")?)
                    .with(Change::CreateRegistrar(new)),
            )
            .await
            .context(format!("adding registrar {id}"))?;

        let org = format!(
            r#"{{"id":"LOAD{r}O","roid":"CON{}O-NORID","type":"organization","email":"post@load{r}.no","postalLoc":{{"name":"Kari Nordmann","org":"Load {r} AS","street":["Storgata 1"],"city":"Oslo","pc":"NO-0150","cc":"NO"}},"identity":{{"type":"organizationNumber","value":"985821585"}},"clId":"{id}","crId":"{id}","crDate":"2024-01-01T00:00:00Z"}}"#,
            roids.next()
        );
        let role = format!(
            r#"{{"id":"LOAD{r}R","roid":"CON{}R-NORID","type":"role","email":"hostmaster@load{r}.no","postalLoc":{{"name":"Hostmaster","street":["Storgata 1"],"city":"Oslo","pc":"NO-0150","cc":"NO"}},"clId":"{id}","crId":"{id}","crDate":"2024-01-01T00:00:00Z"}}"#,
            roids.next()
        );
        let mut set = ChangeSet::new(meta(Some(&id), "setup")?)
            .with(Change::CreateContact(
                Contact::from_json(&org, 0).context("contact")?,
            ))
            .with(Change::CreateContact(
                Contact::from_json(&role, 0).context("contact")?,
            ));
        for k in 0..HOLDERS {
            let org = format!(
                r#"{{"id":"{}","roid":"CON{}O-NORID","type":"organization","email":"post@holder{k}.no","postalLoc":{{"name":"Kari Nordmann","org":"Holder {k} AS","street":["Storgata 1"],"city":"Oslo","pc":"NO-0150","cc":"NO"}},"identity":{{"type":"organizationNumber","value":"985821585"}},"clId":"{id}","crId":"{id}","crDate":"2024-01-01T00:00:00Z"}}"#,
                holder(r, k as u64),
                roids.next()
            );
            set.push(Change::CreateContact(
                Contact::from_json(&org, 0).context("contact")?,
            ));
        }
        for n in 1..=3 {
            let host = format!(
                r#"{{"name":"ns{n}.load{r}.example.com","roid":"HOST{}H-NORID","clId":"{id}","crId":"{id}","crDate":"2024-01-01T00:00:00Z"}}"#,
                roids.next()
            );
            set.push(Change::CreateHost(
                Host::from_json(&host, 0).context("host")?,
            ));
        }
        store
            .commit(set)
            .await
            .context(format!("contacts and hosts of {id}"))?;

        let info = domain_json(
            &format!("info-{r}.no"),
            roids.next(),
            r,
            &format!("LOAD{r}O"),
            year,
        );
        store
            .commit(
                ChangeSet::new(meta(Some(&id), "setup")?).with(Change::CreateDomain(
                    Domain::from_json(&info, 0).context("domain")?,
                )),
            )
            .await
            .context("info domain")?;

        for s in (0..settings.sessions).filter(|s| registrar_of(*s, settings.registrars) == r) {
            let mut set = ChangeSet::new(meta(Some(&id), "setup")?);
            let upd = domain_json(
                &format!("upd-{s}.no"),
                roids.next(),
                r,
                &format!("LOAD{r}O"),
                year,
            );
            set.push(Change::CreateDomain(
                Domain::from_json(&upd, 0).context("domain")?,
            ));
            for k in 0..RENEW_POOL {
                let json = domain_json(
                    &format!("rn-{s}-{k}.no"),
                    roids.next(),
                    r,
                    &format!("LOAD{r}O"),
                    renew_at,
                );
                set.push(Change::CreateDomain(
                    Domain::from_json(&json, 0).context("domain")?,
                ));
            }
            store
                .commit(set)
                .await
                .context(format!("domains of session {s}"))?;
        }
    }
    Ok(())
}

/// The wall clock as a registry timestamp.
pub(crate) fn now() -> Timestamp {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    Timestamp::from_unix_micros(micros)
}
