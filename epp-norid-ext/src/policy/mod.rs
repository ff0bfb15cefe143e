//! Norid's registry policy as pure functions: what `.no` accepts, in which order it checks,
//! and what it answers when it refuses.
//!
//! The registry logic (in `epp-session`) reads objects from its store, calls these functions
//! with plain facts (names, contact types, counts, dates, the current time) and turns a
//! [`Refusal`] into a response: [`Refusal::result_code`] for `<result code>`, and
//! [`command_failed`] followed by [`Refusal::condition`] for Norid's `<conditions>`. A
//! successful mutating command carries [`command_completed`].
//!
//! | area | functions |
//! |---|---|
//! | domain names | [`parse_domain_name`], [`check_holder_quota`], [`quota_scope`] |
//! | domain create/update | [`create_period_months`], [`check_name_server_count`], [`check_contact_type`], [`check_tech_contact_count`], [`check_tech_contact`], [`check_registrant`], [`check_transfer_code`], [`transfer_code_matches`], [`require_applicant_dataset`], [`check_applicant_dataset`], [`check_registrant_change`], [`check_client_status`], [`delete_plan`] |
//! | DNSSEC | [`check_secdns_interface`], [`DsRecord::new`], [`check_key_data`], [`check_ds_set`], [`apply_ds_update`], [`max_sig_life_ignored`] |
//! | renew, transfer, lifecycle | [`renew`], [`transfer_renewal`], [`renew_window_opens`], [`ExpiryLifecycle`], [`transfer_token_expires`], [`poll_auto_ack_at`], [`generate_transfer_token`], [`token_delivery`] |
//! | time | [`OsloTime`], [`oslo_date`], [`utc_offset_secs`], [`add_months_oslo`] |
//! | contacts | [`generate_contact_id`], [`check_identity`], [`check_memberships`], [`check_organization_link`], [`check_role_contact_link`], [`check_phone`], [`normalize_country_code`], [`normalize_postcode`], [`check_postal_info_type`], [`check_email`] |
//! | hosts | [`check_host_name`], [`check_host_addresses`], [`check_host_contact_count`], [`check_host_contact`], [`superordinate_name`] |
//! | svTRID | [`SvTridGenerator`] |
//! | conditions | [`CATALOGUE`], [`defs`], [`command_completed`], [`command_failed`], [`transfer_token_sent`], [`to_conditions`] |
//!
//! The policy's own types convert from and to the XML layer's (`From` impls for contact and
//! identity types, severities, conditions, periods, applicant datasets and transfer notify;
//! [`DsRecord::from_ds_data`] and [`DsRecord::to_ds_data`]).
//!
//! The decisions taken where Norid's documentation is silent are listed in
//! `docs/norid-behaviour.md`; every condition code is in `docs/conditions.md`.
//!
//! Nothing here reads a clock, a random number generator or storage: time, randomness and
//! counts are arguments.

mod condition;
mod contact;
mod dnssec;
mod domain;
mod host;
mod name;
mod refusal;
mod time;
mod transfer;
mod trid;
mod wire;
mod zones;

pub use condition::{
    Accompanies, CATALOGUE, Condition, ConditionDef, ObjectKind, Origin, SESSION, Severity,
    TokenChannel, Verb, catalogue_markdown, command_completed, command_failed, defs,
    host_update_pending, max_sig_life_ignored, transfer_lapsed, transfer_token_sent,
};
pub use contact::{
    ContactKind, IdentityKind, MAX_ORGANIZATIONS, RegistrantFacts, check_email, check_identity,
    check_memberships, check_organization_link, check_organization_number, check_person_identifier,
    check_phone, check_postal_info_type, check_registrant, check_role_contact_link,
    generate_contact_id, normalize_country_code, normalize_postcode,
    organization_number_check_digit,
};
pub use dnssec::{
    ALGORITHMS, DIGEST_TYPES, DsRecord, DsUpdate, MAX_DS_RECORDS, SecDnsInterface, apply_ds_update,
    check_ds_set, check_key_data, check_secdns_interface,
};
pub use domain::{
    ACCEPT_DATE_SKEW_SECS, ApplicantDatasetFacts, CLIENT_STATUSES, CURRENT_DATASET_VERSION,
    DeletePlan, MAX_NAME_SERVERS, MIN_NAME_SERVERS, Period, PeriodUnit, TRANSFER_CODE_SPECIALS,
    check_applicant_dataset, check_client_status, check_contact_type, check_name_server_count,
    check_registrant_change, check_tech_contact, check_tech_contact_count, check_transfer_code,
    create_period_months, delete_plan, renew_period_months, require_applicant_dataset,
    transfer_code_matches,
};
pub use host::{
    MAX_HOST_ADDRESSES, MAX_HOST_CONTACTS, MAX_HOST_NAME, check_host_addresses, check_host_contact,
    check_host_contact_count, check_host_name, is_under_no, superordinate_name,
};
pub use name::{
    HolderCounts, NORWEGIAN_LETTERS, NoDomainName, ORGANIZATION_QUOTA, PERSON_PRIVATE_QUOTA,
    PERSON_QUOTA, QuotaScope, Zone, ZoneKind, check_domain_name, check_holder_quota,
    parse_domain_name, quota_scope,
};
pub use refusal::{DeleteDate, Refusal};
pub use time::{
    CEST_OFFSET_SECS, CET_OFFSET_SECS, DELETION_AFTER_MONTHS, ExpiryLifecycle, LifecycleStage,
    OsloTime, POLL_AUTO_ACK_DAYS, QUARANTINE_AFTER_MONTHS, RENEW_WINDOW_DAYS,
    TRANSFER_TOKEN_LIFETIME_DAYS, add_months_oslo, check_cur_exp_date, check_renew_window,
    is_summer_time, oslo_date, poll_auto_ack_at, renew, renew_window_opens, transfer_renewal,
    transfer_token_expires, utc_offset_secs,
};
pub use transfer::{TokenDelivery, TransferNotify, token_delivery};
pub use trid::{RandomSource, SvTridGenerator, TRANSFER_TOKEN_LEN, generate_transfer_token};
pub use wire::to_conditions;
