//! Secret redaction, applied at the source: every place that formats a command, a URL, an error or
//! a line of child output passes it through a [`Redactor`], so the screen, the journal, the step
//! logs, the tracing log and the report never hold a secret.

use std::borrow::Cow;

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Replaces known secret values and any password inside a URL.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is masked whole.
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for these secret values (the values of `secret` variables) plus the passwords
    /// found inside any of `values` that are URLs or key=value connection strings.
    pub fn new<'a>(
        secrets: impl IntoIterator<Item = &'a str>,
        values: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut list: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.len() >= 3)
            .map(str::to_string)
            .collect();
        for value in values {
            list.extend(passwords_in(value).into_iter().filter(|p| p.len() >= 3));
        }
        let decoded: Vec<String> = list.iter().filter_map(|s| percent_decode(s)).collect();
        list.extend(decoded);
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
        list.dedup();
        Redactor { secrets: list }
    }

    /// Add one more secret value.
    pub fn add(&mut self, secret: &str) {
        if secret.len() >= 3 && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_string());
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// `text` with every secret and URL password replaced by [`MASK`].
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = url_passwords(text);
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), MASK));
            }
        }
        out
    }

    /// Whether any secret is known (tests use it to pick what to search artifacts for).
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }
}

/// Replace the password of every `scheme://user:password@` in `text`.
pub fn url_passwords(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/' || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str(MASK);
                out.push_str(&authority[at..]);
                changed = true;
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// Passwords inside a URL (`://user:pw@`) or a key=value string (`password=pw`).
fn passwords_in(value: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = value;
    while let Some(pos) = rest.find("://") {
        let tail = &rest[pos + 3..];
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        if let (Some(at), Some(colon)) = (authority.rfind('@'), authority.find(':'))
            && colon < at
        {
            found.push(authority[colon + 1..at].to_string());
        }
        rest = &tail[end..];
    }
    for part in value.split_whitespace() {
        if let Some(pw) = part.strip_prefix("password=") {
            found.push(pw.trim_matches('\'').to_string());
        }
    }
    found
}

fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return None;
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_url_passwords_anywhere() {
        let text =
            "connecting to postgres://admin:hunter2@db:5432/shop and https://u:p%40ss@x.io/a";
        let out = url_passwords(text);
        assert_eq!(
            out,
            "connecting to postgres://admin:***@db:5432/shop and https://u:***@x.io/a"
        );
        assert!(matches!(url_passwords("no urls here"), Cow::Borrowed(_)));
        assert_eq!(url_passwords("http://host:8080/x"), "http://host:8080/x");
    }

    #[test]
    fn masks_secret_values_and_passwords_found_in_values() {
        let r = Redactor::new(
            ["tok-abcdef"],
            [
                "postgres://app:p%40ssw0rd@h/db",
                "host=h password=kv-secret",
            ],
        );
        assert_eq!(r.redact("token tok-abcdef here"), "token *** here");
        assert_eq!(r.redact("pw is p@ssw0rd"), "pw is ***");
        assert_eq!(r.redact("pw is p%40ssw0rd"), "pw is ***");
        assert_eq!(r.redact("kv-secret leaked"), "*** leaked");
    }
}
