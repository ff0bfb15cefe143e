//! What a session is configured with: names on the wire, limits and windows.

use std::time::Duration;

use epp_norid_ext::policy::{CURRENT_DATASET_VERSION, SvTridGenerator};
use epp_xml::ValueError;

/// The configuration shared by every session of a server (wrap it in an `Arc`).
///
/// Defaults follow Norid's published constants where there are some (digest §11) and are
/// otherwise the choices recorded in `docs/norid-behaviour.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// `<svID>` of the greeting.
    pub server_id: String,
    /// Builds svTRIDs (the suffix, Norid's `NORID`, is its configuration).
    pub sv_trid: SvTridGenerator,
    /// The repository suffix of new ROIDs (`DOM659889D-NORID`): 1-8 word characters.
    pub roid_suffix: String,
    /// A client must log in within this time of the greeting (the server closes the
    /// connection at [`Session::deadline`](crate::Session::deadline)).
    pub prelogin_timeout: Duration,
    /// A logged-in session may be idle this long (Norid: 120 s).
    pub idle_timeout: Duration,
    /// Commands answered in one session before it ends with 2502 (Norid: 1200).
    pub commands_per_session: u32,
    /// Failed logins in one session before it ends with 2501 (RFC 5730 suggests closing
    /// after repeated failures; 3 here).
    pub max_failed_logins: u32,
    /// A transform resent with the same clTRID within this window is answered with the
    /// first response and not executed again (see `docs/session-replay.md`).
    pub replay_window: Duration,
    /// The applicant declaration version accepted on domain create and update (Norid:
    /// 3.2).
    pub applicant_dataset_version: String,
    /// The most names one `<check>` may ask about.
    pub max_check_names: usize,
    /// Whether a renew answers with `<domain:renData>` (RFC 5731; Norid since
    /// 2025-11-18). `false` reproduces Norid's older responses without it (seed 003).
    pub renew_data: bool,
    /// How many times a transform is run again when the store reports a concurrent
    /// change, before it is answered with 2400.
    pub conflict_retries: u32,
    /// How long a host's address change waits for the registry's DNS check before the
    /// scheduler ([`lifecycle::advance`](crate::registry::lifecycle::advance)) decides it
    /// and queues the late response (Norid: "within 5-10 minutes").
    pub host_check_delay: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            server_id: "EPP registry server".to_owned(),
            sv_trid: SvTridGenerator::default(),
            roid_suffix: "NORID".to_owned(),
            prelogin_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            commands_per_session: 1200,
            max_failed_logins: 3,
            replay_window: Duration::from_secs(3600),
            applicant_dataset_version: CURRENT_DATASET_VERSION.to_owned(),
            max_check_names: 100,
            renew_data: true,
            conflict_retries: 5,
            host_check_delay: Duration::from_secs(300),
        }
    }
}

impl SessionConfig {
    /// The default configuration with the svTRID suffix set.
    ///
    /// # Errors
    ///
    /// [`ValueError`] when the suffix does not fit Norid's svTRID format
    /// ([`SvTridGenerator::new`]).
    pub fn with_sv_trid_suffix(mut self, suffix: &str) -> Result<Self, ValueError> {
        self.sv_trid = SvTridGenerator::new(suffix)?;
        Ok(self)
    }

    /// Sets the ROID suffix.
    ///
    /// # Errors
    ///
    /// [`ValueError`] unless it is 1-8 ASCII letters, digits or `_` (the `roidType`
    /// pattern).
    pub fn with_roid_suffix(mut self, suffix: &str) -> Result<Self, ValueError> {
        if suffix.is_empty()
            || suffix.len() > 8
            || !suffix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(ValueError::Malformed {
                type_name: "ROID suffix",
                rule: "1-8 ASCII letters, digits or '_'",
            });
        }
        suffix.clone_into(&mut self.roid_suffix);
        Ok(self)
    }
}
