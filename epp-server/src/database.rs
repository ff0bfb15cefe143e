//! The registry database as the serve path and the admin commands use it: opening the
//! configured store with its migrations, and the development demo registrar.

use epp_session::store::model::{LoginCheck, NewRegistrar, PasswordInput, RegistrarChange};
use epp_session::store::{Change, ChangeMeta, ChangeSet, Store, StoreError};
use epp_xml::Timestamp;

use crate::config::Config;
use crate::error::Error;
use crate::store::{self, AnyStore};
use crate::tls::dev::DemoRegistrar;

/// Opens the configured registry database (`[database]`), applying pending schema
/// migrations first, and logs what was done. This is what `serve` runs before it listens;
/// the store is then in [`ServeContext::store`](crate::ServeContext::store).
///
/// # Errors
///
/// [`Error::Database`] naming the database (password redacted) and the cause:
/// unreachable, not writable, or a schema that was edited or is newer than this server.
pub async fn open_store(config: &Config) -> Result<AnyStore, Error> {
    let label = config.database_label();
    let store_config = config.store_config()?;
    let wrap = |source| Error::Database {
        database: label.clone(),
        source,
    };
    let report = store::migrate(&store_config).await.map_err(wrap)?;
    let store = store::open(&store_config).await.map_err(wrap)?;
    match report.applied.is_empty() {
        true => tracing::info!(
            database = %label,
            schema_version = report.version,
            "registry database opened"
        ),
        false => tracing::info!(
            database = %label,
            schema_version = report.version,
            applied = ?report.applied,
            "registry database opened; migrations applied"
        ),
    }
    Ok(store)
}

/// What [`ensure_demo_registrar`] found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DemoState {
    /// Created now.
    Created,
    /// It existed with the password from the data directory.
    Existing,
    /// It existed with another password (the password file was replaced); the password
    /// was reset to the file's.
    PasswordReset,
    /// It exists but an operator disabled it; left alone.
    Disabled,
}

impl DemoState {
    /// Whether its credentials work.
    pub(crate) fn usable(self) -> bool {
        self != Self::Disabled
    }
}

/// Makes sure the development demo registrar exists in the store with the password kept
/// in `data_dir/dev/demo-password`. Development mode only: the caller never calls this in
/// production.
///
/// A registrar an operator disabled stays disabled. Changes are registry jobs
/// (`ChangeMeta.registrar = None`), recorded in history as `dev:demo-registrar`.
pub(crate) async fn ensure_demo_registrar<S: Store>(
    store: &S,
    demo: &DemoRegistrar,
    session_limit: u32,
    now: Timestamp,
) -> Result<DemoState, Error> {
    let op = |source| {
        Error::store(
            format!("creating the demo registrar {}", demo.client_id),
            source,
        )
    };
    let meta = ChangeMeta {
        registrar: None,
        time: now,
        cl_trid: None,
        sv_trid: None,
        command: "dev:demo-registrar".into(),
    };
    match store
        .verify_login(&demo.client_id, &demo.password)
        .await
        .map_err(op)?
    {
        LoginCheck::Accepted(_) => Ok(DemoState::Existing),
        LoginCheck::Disabled => Ok(DemoState::Disabled),
        LoginCheck::WrongPassword => {
            let set = ChangeSet::new(meta).with(Change::UpdateRegistrar {
                id: demo.client_id.clone(),
                change: RegistrarChange::SetPassword(PasswordInput::Clear(demo.password.clone())),
            });
            store.commit(set).await.map_err(op)?;
            Ok(DemoState::PasswordReset)
        }
        _ => {
            let set = ChangeSet::new(meta).with(Change::CreateRegistrar(NewRegistrar {
                id: demo.client_id.clone(),
                name: "Demo registrar (development mode)".into(),
                password: PasswordInput::Clear(demo.password.clone()),
                cert_pins: Default::default(),
                session_limit,
                enabled: true,
            }));
            match store.commit(set).await {
                Ok(_) => Ok(DemoState::Created),
                // Another process sharing the database created it meanwhile, with the
                // same password file.
                Err(StoreError::AlreadyExists(_)) => Ok(DemoState::Existing),
                Err(e) => Err(op(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use epp_session::store::MemoryStore;
    use epp_xml::{ClientId, Password};

    use super::*;

    fn demo(pw: &str) -> DemoRegistrar {
        DemoRegistrar {
            client_id: ClientId::new("reg-demo").unwrap(),
            password: Password::new(pw).unwrap(),
        }
    }

    #[tokio::test]
    async fn the_demo_registrar_is_created_once_and_its_password_kept_in_step() {
        let store = MemoryStore::new();
        let now = Timestamp::from_unix_micros(1_700_000_000_000_000);
        let d = demo("demoPass123");
        assert_eq!(
            ensure_demo_registrar(&store, &d, 1, now).await.unwrap(),
            DemoState::Created
        );
        assert_eq!(
            ensure_demo_registrar(&store, &d, 1, now).await.unwrap(),
            DemoState::Existing
        );
        let r = store.registrar(&d.client_id).await.unwrap().unwrap();
        assert_eq!(r.version, 1);
        assert!(r.enabled && r.cert_pins.is_empty());

        // The password file was replaced: the store follows it.
        let other = demo("otherPass456");
        assert_eq!(
            ensure_demo_registrar(&store, &other, 1, now).await.unwrap(),
            DemoState::PasswordReset
        );
        assert!(matches!(
            store
                .verify_login(&other.client_id, &other.password)
                .await
                .unwrap(),
            LoginCheck::Accepted(_)
        ));

        // Disabled by an operator: left alone.
        let set = ChangeSet::new(ChangeMeta {
            registrar: None,
            time: now,
            cl_trid: None,
            sv_trid: None,
            command: "admin:registrar-disable".into(),
        })
        .with(Change::UpdateRegistrar {
            id: other.client_id.clone(),
            change: RegistrarChange::SetEnabled(false),
        });
        store.commit(set).await.unwrap();
        assert_eq!(
            ensure_demo_registrar(&store, &other, 1, now).await.unwrap(),
            DemoState::Disabled
        );
    }
}
