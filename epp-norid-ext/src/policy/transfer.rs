//! Where a one-time transfer token goes: the holder's e-mail or mobile phone, chosen with
//! `no-ext-domain:transfer/notify` (digest §6.8).

use epp_xml::DomainName;

use super::Refusal;
use super::condition::TokenChannel;

/// `no-ext-domain:transfer/notify` of a transfer request without transfer code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferNotify<'a> {
    /// No `notify`: the holder's primary e-mail address.
    Default,
    /// `notify/email`: one of the holder's registered addresses.
    Email(&'a str),
    /// `notify/mobilePhone`: the holder's registered mobile number (the token goes by SMS).
    MobilePhone(&'a str),
}

/// Where to send a transfer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenDelivery {
    /// E-mail or SMS.
    pub channel: TokenChannel,
    /// The holder's address or number, as registered.
    pub address: String,
}

/// Chooses the destination of a transfer token from the request's `notify` and the holder's
/// registered addresses (`emails`: `contact:email` first, then the extension's extra
/// addresses; `mobile`: `no-ext-contact:mobilePhone`). E-mail addresses compare without
/// regard to ASCII case; mobile numbers must be equal.
///
/// # Errors
///
/// [`Refusal::NotifyEmail`] for an address the holder has not registered (or a holder without
/// any), [`Refusal::NotifyMobile`] for a number other than the holder's (both 2306). The
/// details never show the holder's registered addresses.
pub fn token_delivery(
    name: &DomainName,
    notify: TransferNotify<'_>,
    emails: &[&str],
    mobile: Option<&str>,
) -> Result<TokenDelivery, Refusal> {
    let email = |address: &str| TokenDelivery {
        channel: TokenChannel::Email,
        address: address.to_owned(),
    };
    match notify {
        TransferNotify::Default => {
            emails
                .first()
                .map(|a| email(a))
                .ok_or_else(|| Refusal::NotifyEmail {
                    name: name.to_string(),
                    email: None,
                })
        }
        TransferNotify::Email(wanted) => emails
            .iter()
            .find(|a| a.eq_ignore_ascii_case(wanted))
            .map(|a| email(a))
            .ok_or_else(|| Refusal::NotifyEmail {
                name: name.to_string(),
                email: Some(wanted.to_owned()),
            }),
        TransferNotify::MobilePhone(wanted) => match mobile {
            Some(m) if m == wanted => Ok(TokenDelivery {
                channel: TokenChannel::Sms,
                address: m.to_owned(),
            }),
            _ => Err(Refusal::NotifyMobile {
                name: name.to_string(),
                mobile: wanted.to_owned(),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dn() -> DomainName {
        DomainName::new("example.no").unwrap()
    }

    #[test]
    fn destinations() {
        let emails = ["post@example.no", "Xtra@Example.no"];
        let d = token_delivery(&dn(), TransferNotify::Default, &emails, None).unwrap();
        assert_eq!(
            d,
            TokenDelivery {
                channel: TokenChannel::Email,
                address: emails[0].into()
            }
        );
        let d = token_delivery(
            &dn(),
            TransferNotify::Email("xtra@example.NO"),
            &emails,
            None,
        );
        assert_eq!(d.unwrap().address, "Xtra@Example.no");
        let d = token_delivery(
            &dn(),
            TransferNotify::MobilePhone("+47.91234567"),
            &emails,
            Some("+47.91234567"),
        );
        assert_eq!(d.unwrap().channel, TokenChannel::Sms);
    }

    #[test]
    fn refusals_do_not_reveal_the_holders_addresses() {
        let emails = ["post@example.no"];
        let e = token_delivery(
            &dn(),
            TransferNotify::Email("other@example.no"),
            &emails,
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.reason(),
            "E-mail address [other@example.no] is not registered for the holder of domain \
             [example.no]."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002971", 2306));
        let e = token_delivery(&dn(), TransferNotify::Default, &[], None).unwrap_err();
        assert_eq!(
            e.reason(),
            "The holder of domain [example.no] has no registered e-mail address."
        );
        let e = token_delivery(
            &dn(),
            TransferNotify::MobilePhone("+47.91234567"),
            &emails,
            Some("+47.99999999"),
        )
        .unwrap_err();
        assert_eq!(
            e.reason(),
            "Mobile number [+47.91234567] is not registered for the holder of domain [example.no]."
        );
        assert_eq!((e.code(), e.result_code().code()), ("EC002972", 2306));
        let e = token_delivery(&dn(), TransferNotify::MobilePhone("+47.1"), &emails, None);
        assert_eq!(e.unwrap_err().code(), "EC002972");
    }
}
