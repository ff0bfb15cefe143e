//! [`CheapLogins`]: a store wrapper whose login check compares against known clear-text
//! passwords instead of running argon2, for the fuzz target (argon2 would make every
//! login tens of milliseconds). Everything else is the wrapped store's.

use std::collections::HashMap;

use epp_xml::{ClientId, Password};

use super::intercept::{Hooks, Intercept};
use crate::store::model::{LoginCheck, Registrar};

/// A store whose `verify_login` accepts the registered clear-text passwords (tests only).
pub type CheapLogins<S> = Intercept<S, ClearPasswords>;

/// The clear-text passwords [`CheapLogins`] accepts, by registrar.
#[derive(Debug, Default)]
pub struct ClearPasswords(HashMap<ClientId, String>);

impl Hooks for ClearPasswords {
    const CHECKS_LOGINS: bool = true;

    fn verify_login(&self, registrar: Option<Registrar>, pw: &Password) -> LoginCheck {
        let Some(r) = registrar else {
            return LoginCheck::UnknownRegistrar;
        };
        match self.0.get(&r.id) {
            Some(p) if p == pw.as_str() && r.enabled => LoginCheck::Accepted(r),
            Some(p) if p == pw.as_str() => LoginCheck::Disabled,
            _ => LoginCheck::WrongPassword,
        }
    }
}

impl<S> CheapLogins<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Intercept {
            inner,
            hooks: ClearPasswords::default(),
        }
    }

    /// The password `verify_login` accepts for `id`.
    pub fn set_password(&mut self, id: ClientId, password: &str) {
        self.hooks.0.insert(id, password.to_owned());
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}
