//! Variables: resolved from the environment (or a rehearsal's overlay), interpolated as `${NAME}`
//! into SQL, URLs and the like, and the [`Redactor`] that masks the secret ones.

use std::collections::BTreeMap;

use super::Diagnostic;
use super::model::Runbook;
use crate::redact::Redactor;

/// Every `${NAME}` in `text`: byte offset and name.
pub fn var_refs(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = text[from..].find("${") {
        let start = from + pos;
        let Some(len) = text[start + 2..].find('}') else {
            break;
        };
        let name = &text[start + 2..start + 2 + len];
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.push((start, name.to_string()));
        }
        from = start + 2 + len + 1;
    }
    out
}

/// The resolved variables of a run.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: BTreeMap<String, String>,
    redactor: Redactor,
}

impl Vars {
    /// Resolve the runbook's variables: `lookup` first (the environment), then defaults.
    /// Missing required variables are reported, each at its declaration.
    pub fn resolve(
        runbook: &Runbook,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Vars, Vec<Diagnostic>> {
        let mut values = BTreeMap::new();
        let mut missing = Vec::new();
        for decl in &runbook.vars {
            let value = lookup(&decl.name).filter(|v| !v.is_empty() || !decl.required);
            match (value, &decl.default) {
                (Some(v), _) => {
                    values.insert(decl.name.clone(), v);
                }
                (None, Some(default)) => {
                    let v = interpolate_with(default, &values);
                    values.insert(decl.name.clone(), v);
                }
                (None, None) if decl.required => missing.push(unset(&runbook.path, decl)),
                (None, None) => {
                    values.insert(decl.name.clone(), String::new());
                }
            }
        }
        if !missing.is_empty() {
            return Err(missing);
        }
        Ok(Vars::with_values(runbook, values))
    }

    /// Resolve with `overlay` (name, value, secret) looked up before the environment: a
    /// rehearsal's sandbox, a fleet target's variables. Overlay values the runbook does not
    /// declare are set too (the commands see them).
    pub fn resolve_over(
        runbook: &Runbook,
        overlay: &[(String, String, bool)],
    ) -> Result<Vars, Vec<Diagnostic>> {
        let lookup = |name: &str| {
            overlay
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, v, _)| v.clone())
                .or_else(|| std::env::var(name).ok())
        };
        let mut vars = Vars::resolve(runbook, lookup)?;
        for (name, value, secret) in overlay {
            vars.set(name, value.clone(), *secret);
        }
        Ok(vars)
    }

    /// Variables as they are, for `plan` when the environment is incomplete: unset ones stay
    /// `${NAME}` in interpolated text.
    pub fn partial(runbook: &Runbook, lookup: impl Fn(&str) -> Option<String>) -> Vars {
        let mut values = BTreeMap::new();
        for decl in &runbook.vars {
            let value = lookup(&decl.name)
                .or_else(|| decl.default.as_ref().map(|d| interpolate_with(d, &values)));
            if let Some(v) = value {
                values.insert(decl.name.clone(), v);
            }
        }
        Vars::with_values(runbook, values)
    }

    /// Values and the redactor for the secret ones (and for passwords inside any value).
    fn with_values(runbook: &Runbook, values: BTreeMap<String, String>) -> Vars {
        let secrets: Vec<&str> = runbook
            .vars
            .iter()
            .filter(|d| d.secret)
            .filter_map(|d| values.get(&d.name).map(String::as_str))
            .collect();
        let redactor = Redactor::new(secrets, values.values().map(String::as_str));
        Vars { values, redactor }
    }

    /// A variable's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// All values, for a child process's environment.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `text` with every `${NAME}` replaced by its value (unknown ones kept as written).
    pub fn interpolate(&self, text: &str) -> String {
        interpolate_with(text, &self.values)
    }

    /// The redactor for this run's secrets.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Set (or override) a value; used by rehearsals and tests.
    pub fn set(&mut self, name: &str, value: String, secret: bool) {
        if secret {
            self.redactor.add(&value);
        }
        self.values.insert(name.to_string(), value);
    }
}

fn interpolate_with(text: &str, values: &BTreeMap<String, String>) -> String {
    let refs = var_refs(text);
    if refs.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, name) in refs {
        let end = start + name.len() + 3;
        out.push_str(&text[last..start]);
        match values.get(&name) {
            Some(v) => out.push_str(v),
            None => out.push_str(&text[start..end]),
        }
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

/// A required variable that is not set, at its declaration.
pub(super) fn unset(path: &std::path::Path, decl: &super::VarDecl) -> Diagnostic {
    Diagnostic {
        file: path.display().to_string(),
        line: decl.line,
        col: 1,
        message: format!(
            "required variable {} is not set; export {}=…{}",
            decl.name,
            decl.name,
            decl.description
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_replaces_references() {
        assert_eq!(
            var_refs("a ${X} b ${Y_2}c $Z ${bad-name}"),
            vec![(2, "X".to_string()), (9, "Y_2".to_string())]
        );
        let mut values = BTreeMap::new();
        values.insert("X".to_string(), "1".to_string());
        assert_eq!(interpolate_with("${X}/${Y}", &values), "1/${Y}");
    }
}
