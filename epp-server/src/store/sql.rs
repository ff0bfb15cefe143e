//! What the SQL stores share: a minimal async connection interface that both drivers
//! implement, so the store's rules ([`super::engine`]) and reads ([`super::read`]) are
//! written once, in one SQL dialect (PostgreSQL's `$n` placeholders; the SQLite driver
//! rewrites them to `?n`).

use std::future::Future;

use epp_session::store::StoreError;

/// A statement parameter, borrowed from the caller.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Bytes(&'a [u8]),
    Bool(bool),
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::Text(s)
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(s: &'a String) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value<'_> {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}

impl From<bool> for Value<'_> {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One column of a result row, owned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

/// A result row.
#[derive(Debug, Clone)]
pub(crate) struct Row(pub(crate) Vec<Cell>);

impl Row {
    fn cell(&self, i: usize) -> Result<&Cell, StoreError> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Corrupt(format!("row has no column {i}")))
    }

    pub(crate) fn int(&self, i: usize) -> Result<i64, StoreError> {
        match self.cell(i)? {
            Cell::Int(n) => Ok(*n),
            Cell::Bool(b) => Ok(i64::from(*b)),
            other => Err(StoreError::Corrupt(format!(
                "column {i}: expected an integer, got {other:?}"
            ))),
        }
    }

    pub(crate) fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            _ => self.int(i).map(Some),
        }
    }

    /// A non-negative integer (versions, ids).
    pub(crate) fn u64(&self, i: usize) -> Result<u64, StoreError> {
        let n = self.int(i)?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("column {i}: negative {n}")))
    }

    pub(crate) fn bool(&self, i: usize) -> Result<bool, StoreError> {
        match self.cell(i)? {
            Cell::Bool(b) => Ok(*b),
            Cell::Int(n) => Ok(*n != 0),
            other => Err(StoreError::Corrupt(format!(
                "column {i}: expected a boolean, got {other:?}"
            ))),
        }
    }

    pub(crate) fn text(&self, i: usize) -> Result<&str, StoreError> {
        match self.cell(i)? {
            Cell::Text(s) => Ok(s),
            other => Err(StoreError::Corrupt(format!(
                "column {i}: expected text, got {other:?}"
            ))),
        }
    }

    pub(crate) fn opt_text(&self, i: usize) -> Result<Option<&str>, StoreError> {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            _ => self.text(i).map(Some),
        }
    }

    pub(crate) fn bytes(&self, i: usize) -> Result<&[u8], StoreError> {
        match self.cell(i)? {
            Cell::Bytes(b) => Ok(b),
            Cell::Text(s) => Ok(s.as_bytes()),
            other => Err(StoreError::Corrupt(format!(
                "column {i}: expected bytes, got {other:?}"
            ))),
        }
    }

    /// A text column parsed into a value type.
    pub(crate) fn parse<T>(&self, i: usize) -> Result<T, StoreError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        let s = self.text(i)?;
        s.parse()
            .map_err(|e| StoreError::Corrupt(format!("column {i}: {s:?}: {e}")))
    }

    /// An optional text column parsed into a value type.
    pub(crate) fn opt_parse<T>(&self, i: usize) -> Result<Option<T>, StoreError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.cell(i)? {
            Cell::Null => Ok(None),
            _ => self.parse(i).map(Some),
        }
    }
}

/// Why a statement failed, as far as the store's logic cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DbError {
    /// A unique or primary-key constraint refused the write.
    Unique(String),
    /// A foreign-key constraint refused the write.
    ForeignKey(String),
    /// PostgreSQL SQLSTATE 40001: the transaction must be run again.
    Serialization,
    /// PostgreSQL SQLSTATE 40P01: the transaction must be run again.
    Deadlock,
    /// The connection is gone.
    Connection(String),
    /// A pooled connection turned out closed before the transaction began: nothing ran,
    /// so the transaction can run on another connection.
    Stale(String),
    /// Anything else, with the driver's message.
    Other(String),
}

impl DbError {
    /// Whether running the whole transaction again may succeed.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, Self::Serialization | Self::Deadlock | Self::Stale(_))
    }

    /// The store error for a failure that is not retried.
    pub(crate) fn into_store_error(self) -> StoreError {
        match self {
            Self::Connection(m) | Self::Stale(m) => StoreError::Unavailable(m),
            Self::Unique(m) | Self::ForeignKey(m) | Self::Other(m) => StoreError::Database(m),
            Self::Serialization => StoreError::Database("serialization failure".into()),
            Self::Deadlock => StoreError::Database("deadlock".into()),
        }
    }
}

/// The failure of a transaction body: a registry rule, or the database.
#[derive(Debug)]
pub(crate) enum TxError {
    Rule(StoreError),
    Db(DbError),
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        Self::Rule(e)
    }
}

impl From<DbError> for TxError {
    fn from(e: DbError) -> Self {
        Self::Db(e)
    }
}

impl TxError {
    pub(crate) fn into_store_error(self) -> StoreError {
        match self {
            Self::Rule(e) => e,
            Self::Db(e) => e.into_store_error(),
        }
    }
}

/// A connection (inside a transaction or not) that runs one statement at a time.
///
/// Statements are `'static` so drivers can cache their prepared forms by text.
pub(crate) trait Conn: Send {
    /// Runs a query and returns all its rows.
    fn query(
        &mut self,
        sql: &'static str,
        params: &[Value<'_>],
    ) -> impl Future<Output = Result<Vec<Row>, DbError>> + Send;

    /// Runs a statement and returns the number of rows it changed.
    fn execute(
        &mut self,
        sql: &'static str,
        params: &[Value<'_>],
    ) -> impl Future<Output = Result<u64, DbError>> + Send;

    /// Runs a query expected to return at most one row.
    fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[Value<'_>],
    ) -> impl Future<Output = Result<Option<Row>, DbError>> + Send {
        async move { Ok(self.query(sql, params).await?.into_iter().next()) }
    }
}
