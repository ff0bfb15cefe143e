//! The EPP result codes of RFC 5730 section 3, as one table.

use std::fmt;

macro_rules! result_codes {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, $msg:literal; )*) => {
        /// An EPP result code (RFC 5730 section 3) with its standard message text.
        ///
        /// The table is complete by definition: RFC 5730 defines exactly these codes and the
        /// schema's `resultCodeType` enumerates them. Variants follow the RFC's order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ResultCode {
            $( $(#[$doc])* $name, )*
        }

        impl ResultCode {
            /// Every code, in the RFC's order.
            pub const ALL: &'static [ResultCode] = &[$(ResultCode::$name),*];

            /// The four-digit number that goes into `<result code="...">`.
            pub const fn code(self) -> u16 {
                match self { $(ResultCode::$name => $code,)* }
            }

            /// The code's four digits as text, for the `code` attribute.
            pub const fn digits(self) -> &'static str {
                match self { $(ResultCode::$name => stringify!($code),)* }
            }

            /// The standard message text of RFC 5730, used as `<msg>` unless a server
            /// chooses its own.
            pub const fn message(self) -> &'static str {
                match self { $(ResultCode::$name => $msg,)* }
            }

            /// The code with this number, if RFC 5730 defines one.
            pub const fn from_code(code: u16) -> Option<Self> {
                match code { $($code => Some(ResultCode::$name),)* _ => None }
            }
        }
    };
}

result_codes! {
    /// 1000: the command succeeded.
    Success = 1000, "Command completed successfully";
    /// 1001: the command succeeded; the action is pending.
    SuccessPending = 1001, "Command completed successfully; action pending";
    /// 1300: poll request with an empty queue.
    SuccessNoMessages = 1300, "Command completed successfully; no messages";
    /// 1301: poll request with a message to acknowledge.
    SuccessAckToDequeue = 1301, "Command completed successfully; ack to dequeue";
    /// 1500: logout succeeded; the server closes the session.
    SuccessEndingSession = 1500, "Command completed successfully; ending session";
    /// 2000: the command element is not defined by EPP.
    UnknownCommand = 2000, "Unknown command";
    /// 2001: the command is not well-formed or violates the schema.
    CommandSyntaxError = 2001, "Command syntax error";
    /// 2002: the command is valid but not allowed now (e.g. before login).
    CommandUseError = 2002, "Command use error";
    /// 2003: a required element or attribute is missing.
    RequiredParameterMissing = 2003, "Required parameter missing";
    /// 2004: a value is outside the range the schema or server allows.
    ParameterValueRangeError = 2004, "Parameter value range error";
    /// 2005: a value does not follow the required syntax.
    ParameterValueSyntaxError = 2005, "Parameter value syntax error";
    /// 2100: the protocol version is not implemented.
    UnimplementedProtocolVersion = 2100, "Unimplemented protocol version";
    /// 2101: the command is valid EPP but not implemented by the server.
    UnimplementedCommand = 2101, "Unimplemented command";
    /// 2102: a command option is not implemented.
    UnimplementedOption = 2102, "Unimplemented option";
    /// 2103: a protocol extension is not implemented.
    UnimplementedExtension = 2103, "Unimplemented extension";
    /// 2104: billing failure.
    BillingFailure = 2104, "Billing failure";
    /// 2105: the object cannot be renewed.
    ObjectNotEligibleForRenewal = 2105, "Object is not eligible for renewal";
    /// 2106: the object cannot be transferred.
    ObjectNotEligibleForTransfer = 2106, "Object is not eligible for transfer";
    /// 2200: authentication failed.
    AuthenticationError = 2200, "Authentication error";
    /// 2201: the client may not run this command on this object.
    AuthorizationError = 2201, "Authorization error";
    /// 2202: the object's authorisation information is wrong.
    InvalidAuthorizationInformation = 2202, "Invalid authorization information";
    /// 2300: the object is pending transfer.
    ObjectPendingTransfer = 2300, "Object pending transfer";
    /// 2301: the object is not pending transfer.
    ObjectNotPendingTransfer = 2301, "Object not pending transfer";
    /// 2302: the object already exists.
    ObjectExists = 2302, "Object exists";
    /// 2303: the object does not exist.
    ObjectDoesNotExist = 2303, "Object does not exist";
    /// 2304: the object's status prohibits the operation.
    ObjectStatusProhibitsOperation = 2304, "Object status prohibits operation";
    /// 2305: the object's associations prohibit the operation.
    ObjectAssociationProhibitsOperation = 2305, "Object association prohibits operation";
    /// 2306: a value is valid but against server policy.
    ParameterValuePolicyError = 2306, "Parameter value policy error";
    /// 2307: the object service is not implemented.
    UnimplementedObjectService = 2307, "Unimplemented object service";
    /// 2308: the operation violates data management policy.
    DataManagementPolicyViolation = 2308, "Data management policy violation";
    /// 2400: the command failed for a server-internal reason.
    CommandFailed = 2400, "Command failed";
    /// 2500: the command failed and the server closes the connection.
    CommandFailedClosing = 2500, "Command failed; server closing connection";
    /// 2501: authentication failed and the server closes the connection.
    AuthenticationErrorClosing = 2501, "Authentication error; server closing connection";
    /// 2502: a session limit was exceeded and the server closes the connection.
    SessionLimitExceededClosing = 2502, "Session limit exceeded; server closing connection";
}

impl ResultCode {
    /// Whether the code reports success (1xxx).
    pub const fn is_success(self) -> bool {
        self.code() < 2000
    }

    /// Whether the server closes the connection after sending this code (1500, 25xx).
    pub const fn closes_session(self) -> bool {
        matches!(self.code(), 1500 | 2500..=2502)
    }
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_round_trips_and_has_every_rfc_code() {
        assert_eq!(ResultCode::ALL.len(), 34);
        for &c in ResultCode::ALL {
            assert_eq!(ResultCode::from_code(c.code()), Some(c));
            assert_eq!(c.digits(), c.code().to_string());
        }
        assert_eq!(ResultCode::from_code(1002), None);
        assert_eq!(
            ResultCode::ObjectNotEligibleForRenewal.to_string(),
            "2105 Object is not eligible for renewal"
        );
        assert!(ResultCode::SuccessEndingSession.closes_session());
        assert!(!ResultCode::CommandSyntaxError.closes_session());
    }
}
