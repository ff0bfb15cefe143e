//! Conversions between the policy's plain types and the decoded and encoded types of the XML
//! layer, so that the registry logic can pass what it decoded straight in and write what the
//! policy returns straight out.

use epp_xml::domain::{Period as XmlPeriod, PeriodUnit as XmlPeriodUnit};
use epp_xml::secdns::DsData;

use super::{
    ApplicantDatasetFacts, Condition, ContactKind, DsRecord, IdentityKind, Period, PeriodUnit,
    Refusal, Severity, TransferNotify, check_key_data,
};

impl From<crate::ContactType> for ContactKind {
    fn from(t: crate::ContactType) -> Self {
        match t {
            crate::ContactType::Organization => ContactKind::Organization,
            crate::ContactType::Person => ContactKind::Person,
            crate::ContactType::Role => ContactKind::Role,
        }
    }
}

impl From<ContactKind> for crate::ContactType {
    fn from(k: ContactKind) -> Self {
        match k {
            ContactKind::Organization => crate::ContactType::Organization,
            ContactKind::Person => crate::ContactType::Person,
            ContactKind::Role => crate::ContactType::Role,
        }
    }
}

impl From<crate::IdentityKind> for IdentityKind {
    fn from(k: crate::IdentityKind) -> Self {
        match k {
            crate::IdentityKind::OrganizationNumber => IdentityKind::OrganizationNumber,
            crate::IdentityKind::AnonymousPersonIdentifier => {
                IdentityKind::AnonymousPersonIdentifier
            }
            crate::IdentityKind::LocalIdentity => IdentityKind::LocalIdentity,
            crate::IdentityKind::NationalIdentityNumber => IdentityKind::NationalIdentityNumber,
        }
    }
}

impl From<IdentityKind> for crate::IdentityKind {
    fn from(k: IdentityKind) -> Self {
        match k {
            IdentityKind::OrganizationNumber => crate::IdentityKind::OrganizationNumber,
            IdentityKind::AnonymousPersonIdentifier => {
                crate::IdentityKind::AnonymousPersonIdentifier
            }
            IdentityKind::LocalIdentity => crate::IdentityKind::LocalIdentity,
            IdentityKind::NationalIdentityNumber => crate::IdentityKind::NationalIdentityNumber,
        }
    }
}

impl From<Severity> for crate::Severity {
    fn from(s: Severity) -> Self {
        match s {
            Severity::Info => crate::Severity::Info,
            Severity::Warning => crate::Severity::Warning,
            Severity::Error => crate::Severity::Error,
            Severity::Fatal => crate::Severity::Fatal,
        }
    }
}

impl From<Condition> for crate::Condition {
    fn from(c: Condition) -> Self {
        crate::Condition {
            code: c.code.to_owned(),
            severity: c.severity.into(),
            msg: c.msg.into_owned(),
            details: c.details,
        }
    }
}

/// The `<conditions>` response extension holding `conditions`, in order.
pub fn to_conditions(conditions: impl IntoIterator<Item = Condition>) -> crate::Conditions {
    crate::Conditions {
        condition: conditions.into_iter().map(Into::into).collect(),
    }
}

impl From<&XmlPeriod> for Period {
    fn from(p: &XmlPeriod) -> Self {
        Period {
            value: p.content,
            unit: match p.unit {
                XmlPeriodUnit::Y => PeriodUnit::Year,
                XmlPeriodUnit::M => PeriodUnit::Month,
            },
        }
    }
}

impl<'a> From<&'a crate::ApplicantDataset> for ApplicantDatasetFacts<'a> {
    fn from(ds: &'a crate::ApplicantDataset) -> Self {
        ApplicantDatasetFacts {
            version: &ds.version_number,
            accept_name: &ds.accept_name,
            accept_date: ds.accept_date,
        }
    }
}

impl<'a> From<&'a crate::TransferNotifyKind> for TransferNotify<'a> {
    fn from(n: &'a crate::TransferNotifyKind) -> Self {
        match n {
            crate::TransferNotifyKind::Email(e) => TransferNotify::Email(e),
            crate::TransferNotifyKind::MobilePhone(p) => TransferNotify::MobilePhone(&p.content),
        }
    }
}

impl DsRecord {
    /// Checks a decoded `secDNS:dsData` ([`DsRecord::new`]) and the `keyData` it may carry
    /// ([`check_key_data`]).
    ///
    /// # Errors
    ///
    /// The [`Refusal`] of the first rule broken.
    pub fn from_ds_data(ds: &DsData) -> Result<Self, Refusal> {
        let record = DsRecord::new(ds.key_tag, ds.alg, ds.digest_type, &ds.digest)?;
        if let Some(k) = &ds.key_data {
            check_key_data(k.flags, k.protocol, k.alg, &k.pub_key)?;
        }
        Ok(record)
    }

    /// The record as `secDNS:dsData` for an info response (keyData is not stored).
    pub fn to_ds_data(&self) -> DsData {
        DsData {
            key_tag: self.key_tag(),
            alg: self.alg(),
            digest_type: self.digest_type(),
            digest: self.digest().to_owned(),
            key_data: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use epp_xml::Timestamp;
    use epp_xml::contact::Phone;
    use epp_xml::secdns::KeyData;

    use super::*;
    use crate::policy::{ObjectKind, Verb, command_completed};

    #[test]
    fn kinds_convert_both_ways() {
        for k in [
            ContactKind::Organization,
            ContactKind::Person,
            ContactKind::Role,
        ] {
            let x: crate::ContactType = k.into();
            assert_eq!(ContactKind::from(x), k);
        }
        for k in [
            IdentityKind::OrganizationNumber,
            IdentityKind::AnonymousPersonIdentifier,
            IdentityKind::LocalIdentity,
            IdentityKind::NationalIdentityNumber,
        ] {
            let x: crate::IdentityKind = k.into();
            assert_eq!(IdentityKind::from(x), k);
        }
    }

    #[test]
    fn conditions_become_the_extension() {
        let c = command_completed(ObjectKind::Contact, "TR85R", Verb::Update);
        let list = to_conditions([c]);
        assert_eq!(
            list.condition,
            vec![crate::Condition {
                code: "EC001024".into(),
                severity: crate::Severity::Info,
                msg: "Command completed".into(),
                details: "Contact [TR85R] has been updated.".into(),
            }]
        );
        assert_eq!(
            crate::Severity::from(Severity::Warning),
            crate::Severity::Warning
        );
    }

    #[test]
    fn decoded_values_feed_the_rules() {
        let p = XmlPeriod {
            unit: XmlPeriodUnit::M,
            content: 5,
        };
        assert_eq!(Period::from(&p), Period::months(5));
        let ds = crate::ApplicantDataset {
            version_number: "3.2".into(),
            accept_name: "Ola Nordmann".into(),
            accept_date: Timestamp::from_unix_micros(0),
        };
        let facts = ApplicantDatasetFacts::from(&ds);
        assert_eq!((facts.version, facts.accept_name), ("3.2", "Ola Nordmann"));
        let n = crate::TransferNotifyKind::MobilePhone(Phone {
            x: None,
            content: "+47.91234567".into(),
        });
        assert_eq!(
            TransferNotify::from(&n),
            TransferNotify::MobilePhone("+47.91234567")
        );
        let n = crate::TransferNotifyKind::Email("a@b.no".into());
        assert_eq!(TransferNotify::from(&n), TransferNotify::Email("a@b.no"));
    }

    #[test]
    fn ds_data_round_trip() {
        let mut x = DsData {
            key_tag: 12345,
            alg: 13,
            digest_type: 2,
            digest: "ab".repeat(32),
            key_data: None,
        };
        let r = DsRecord::from_ds_data(&x).unwrap();
        let back = r.to_ds_data();
        assert_eq!(back.digest, "AB".repeat(32));
        assert_eq!((back.key_tag, back.alg, back.digest_type), (12345, 13, 2));
        x.key_data = Some(KeyData {
            flags: 257,
            protocol: 3,
            alg: 1,
            pub_key: "AQPJ////4Q==".into(),
        });
        assert_eq!(DsRecord::from_ds_data(&x).unwrap_err().code(), "EC002952");
        x.digest_type = 1;
        assert_eq!(DsRecord::from_ds_data(&x).unwrap_err().code(), "EC002953");
    }
}
