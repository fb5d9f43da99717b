//! [`Reader`]: typed access to one table of `[monitor]`, errors naming the dotted key.

use std::time::Duration;

use crate::runbook::Vars;

use super::{ConfigError, err};

/// Typed access to one table of `[monitor]`, errors naming the dotted key.
pub(super) struct Reader<'a> {
    pub(super) table: &'a toml::Table,
    pub(super) prefix: String,
    pub(super) vars: &'a Vars,
}

impl<'a> Reader<'a> {
    pub(super) fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub(super) fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        err(&self.key(key), message)
    }

    pub(super) fn only(&self, allowed: &[&str]) -> Result<(), ConfigError> {
        match self.table.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(self.err(
                k,
                format!("unknown key; the keys here are {}", allowed.join(", ")),
            )),
            None => Ok(()),
        }
    }

    pub(super) fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(self.vars.interpolate(s))),
            Some(_) => Err(self.err(key, "must be a string")),
        }
    }

    pub(super) fn str_list(&self, key: &str) -> Result<Vec<String>, ConfigError> {
        match self.table.get(key) {
            None => Ok(Vec::new()),
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(self.vars.interpolate(s)),
                    _ => Err(self.err(key, "must be a list of strings")),
                })
                .collect(),
            Some(_) => Err(self.err(key, "must be a list of strings")),
        }
    }

    pub(super) fn duration(&self, key: &str) -> Result<Option<Duration>, ConfigError> {
        let Some(text) = self.string(key)? else {
            return Ok(None);
        };
        let d = humantime::parse_duration(text.trim())
            .map_err(|e| self.err(key, format!("{e}; write a duration like \"5s\" or \"10m\"")))?;
        if d.is_zero() {
            return Err(self.err(key, "must be longer than zero"));
        }
        Ok(Some(d))
    }

    pub(super) fn uint(&self, key: &str) -> Result<Option<u64>, ConfigError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(n)) if *n >= 0 => Ok(Some(n.unsigned_abs())),
            Some(_) => Err(self.err(key, "must be a whole number, 0 or more")),
        }
    }

    pub(super) fn number(&self, key: &str) -> Result<Option<f64>, ConfigError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(n)) => Ok(Some(*n as f64)),
            Some(toml::Value::Float(f)) if f.is_finite() => Ok(Some(*f)),
            Some(_) => Err(self.err(key, "must be a number")),
        }
    }

    pub(super) fn sub(&self, key: &str) -> Result<Option<Reader<'a>>, ConfigError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::Table(table)) => Ok(Some(Reader {
                table,
                prefix: format!("{}{key}.", self.prefix),
                vars: self.vars,
            })),
            Some(_) => Err(self.err(key, format!("must be a table: [monitor.{key}]"))),
        }
    }
}
