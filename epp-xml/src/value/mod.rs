//! Value types shared by every layer: identifiers and time, each checked against the facets
//! of its schema type when it is built.
//!
//! Only the *lexical* rules of the schemas live here (lengths, patterns, the
//! `xs:token` whitespace rule). Registry policy, such as which domain names `.no` accepts,
//! belongs to `epp-norid-ext` and `epp-session`.

mod ids;
mod time;

pub use ids::{
    ClTrid, ClientId, ContactId, DomainName, HostName, Password, Roid, SvTrid, ValueError,
    collapse_whitespace,
};
pub use time::{Date, Timestamp};
