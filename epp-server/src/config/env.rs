//! `EPP_SERVER__SECTION__KEY` environment overrides, applied to the parsed TOML table.

use toml::{Table, Value};

use super::{Config, ENV_PREFIX};
use crate::error::ConfigError;

/// Applies every `EPP_SERVER__…` variable in `vars` to `table`; returns the names applied,
/// sorted, for error messages.
pub(super) fn apply(
    table: &mut Table,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<String>, ConfigError> {
    // The defaults tell which keys hold strings and lists, so that `EPP_SERVER__X=123`
    // stays a string where a string is expected.
    let defaults = Table::try_from(Config::default()).map_err(|e| ConfigError::Parse {
        source_name: "built-in defaults".into(),
        message: e.to_string(),
    })?;
    let mut vars: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(name, _)| name.to_ascii_uppercase().starts_with(ENV_PREFIX))
        .collect();
    vars.sort();
    let mut applied = Vec::with_capacity(vars.len());
    for (name, raw) in vars {
        let path: Vec<String> = name[ENV_PREFIX.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        if path.iter().any(String::is_empty) {
            return Err(ConfigError::Env {
                var: name,
                message: "empty key segment (use EPP_SERVER__SECTION__KEY)".into(),
            });
        }
        let value = coerce(&raw, kind_at(&defaults, &path));
        insert(table, &path, value).map_err(|message| ConfigError::Env {
            var: name.clone(),
            message,
        })?;
        applied.push(name);
    }
    Ok(applied)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    String,
    Array,
    Other,
}

fn kind_at(defaults: &Table, path: &[String]) -> Kind {
    let mut table = defaults;
    for (i, key) in path.iter().enumerate() {
        match table.get(key) {
            Some(Value::Table(t)) if i + 1 < path.len() => table = t,
            Some(Value::String(_)) if i + 1 == path.len() => return Kind::String,
            Some(Value::Array(_)) if i + 1 == path.len() => return Kind::Array,
            _ => return Kind::Other,
        }
    }
    Kind::Other
}

fn coerce(raw: &str, kind: Kind) -> Value {
    match kind {
        Kind::String => Value::String(raw.to_owned()),
        Kind::Array => match parse_value(raw) {
            Some(v @ Value::Array(_)) => v,
            _ => Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            ),
        },
        Kind::Other => parse_value(raw).unwrap_or_else(|| Value::String(raw.to_owned())),
    }
}

/// Reads `raw` as one TOML value; `None` unless it is exactly one value (so that a
/// newline in the variable cannot smuggle in other keys).
fn parse_value(raw: &str) -> Option<Value> {
    let mut table: Table = toml::from_str(&format!("v = {raw}")).ok()?;
    if table.len() != 1 {
        return None;
    }
    table.remove("v")
}

fn insert(table: &mut Table, path: &[String], value: Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or_else(|| "no key given".to_owned())?;
    let mut table = table;
    for key in parents {
        let entry = table
            .entry(key.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        table = match entry {
            Value::Table(t) => t,
            _ => return Err(format!("`{key}` is not a section")),
        };
    }
    table.insert(last.clone(), value);
    Ok(())
}
