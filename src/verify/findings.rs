//! Findings, their severities, the verdict, and the text and JSON forms shared by both verifiers.

use serde::Serialize;

/// How bad a finding is. The first four block a go-live except [`Severity::FailNoisy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// A tenant can read rows that are not its own, or rows leak without a tenant.
    FailOpen,
    /// A tenant can write (insert, move, update, delete, truncate) another tenant's rows.
    CrossTenantWrite,
    /// Isolation holds but the application gets errors it should not (e.g. `22P02` on a pooled
    /// connection without a tenant).
    FailNoisy,
    /// The legitimate path does not work (a tenant cannot read or write its own rows; the API
    /// breaks its contract).
    Broken,
    /// Worth fixing; not a proven hole.
    Warning,
    /// For the record.
    Info,
}

impl Severity {
    /// The label printed in text output.
    pub fn label(self) -> &'static str {
        match self {
            Severity::FailOpen => "FAIL-OPEN",
            Severity::CrossTenantWrite => "CROSS-TENANT-WRITE",
            Severity::FailNoisy => "FAIL-NOISY",
            Severity::Broken => "BROKEN",
            Severity::Warning => "WARNING",
            Severity::Info => "INFO",
        }
    }

    /// Whether this severity makes the verifier fail (exit 1, the step fails).
    pub fn is_blocking(self) -> bool {
        matches!(
            self,
            Severity::FailOpen | Severity::CrossTenantWrite | Severity::Broken
        )
    }
}

/// One thing a verifier saw that is not as it should be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The table (`public.customers`), the role, or the endpoint the finding is about.
    pub subject: String,
    /// How bad it is.
    pub severity: Severity,
    /// A short stable id of the check (`rls-forced`, `no-tenant-fresh`, `etag`, …).
    pub check: String,
    /// What was seen.
    pub seen: String,
    /// What to do (SQL where possible), or what was expected.
    pub fix: String,
}

impl Finding {
    /// A finding.
    pub fn new(
        subject: impl Into<String>,
        severity: Severity,
        check: &str,
        seen: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Finding {
            subject: subject.into(),
            severity,
            check: check.to_string(),
            seen: seen.into(),
            fix: fix.into(),
        }
    }

    /// The finding as text lines: a headline and an indented fix.
    pub fn lines(&self) -> Vec<String> {
        vec![
            format!(
                "  {:<18} {} [{}]: {}",
                self.severity.label(),
                self.subject,
                self.check,
                self.seen
            ),
            format!("  {:<18} fix: {}", "", self.fix),
        ]
    }
}

/// The outcome of a verifier run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No blocking finding.
    Pass,
    /// At least one fail-open, cross-tenant-write or broken finding.
    Fail,
}

impl Verdict {
    /// The verdict for a list of findings.
    pub fn of(findings: &[Finding]) -> Self {
        if findings.iter().any(|f| f.severity.is_blocking()) {
            Verdict::Fail
        } else {
            Verdict::Pass
        }
    }

    /// The process exit code (`0` pass, `1` fail).
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Pass => 0,
            Verdict::Fail => 1,
        }
    }
}

/// Sort findings worst first (stable within a severity) and render the findings section and the
/// verdict line.
pub fn findings_section(findings: &mut [Finding], scope: &str) -> Vec<String> {
    findings.sort_by_key(|f| f.severity);
    let mut out = vec!["Findings".to_string()];
    if findings.is_empty() {
        out.push("  none".to_string());
    }
    for f in findings.iter() {
        out.extend(f.lines());
    }
    out.push(verdict_line(findings, scope));
    out
}

/// `verdict: FAIL, 2 blocking (1 fail-open, 1 broken); 0 fail-noisy, 1 warning(s), 0 info; <scope>`.
pub fn verdict_line(findings: &[Finding], scope: &str) -> String {
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let blocking: Vec<String> = [
        Severity::FailOpen,
        Severity::CrossTenantWrite,
        Severity::Broken,
    ]
    .into_iter()
    .filter(|s| count(*s) > 0)
    .map(|s| format!("{} {}", count(s), s.label().to_lowercase()))
    .collect();
    let verdict = Verdict::of(findings);
    let head = match verdict {
        Verdict::Pass => "verdict: PASS".to_string(),
        Verdict::Fail => format!(
            "verdict: FAIL, {} blocking ({})",
            findings.iter().filter(|f| f.severity.is_blocking()).count(),
            blocking.join(", ")
        ),
    };
    format!(
        "{head}; {} fail-noisy, {} warning(s), {} info; {scope}",
        count(Severity::FailNoisy),
        count(Severity::Warning),
        count(Severity::Info)
    )
}
