//! Findings, their severities, the verdict, and the text and JSON forms shared by both verifiers.

use serde::Serialize;

/// How bad a finding is. Everything above [`Severity::Warning`] blocks a go-live; fail-noisy and
/// inconclusive findings only until the operator accepts them (`--allow`, see [`Allowance`]).
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
    /// A probe could not conclude: a lock held by another session, or its own statement timeout.
    /// Not a pass: the audit did not see what it needed to see.
    Inconclusive,
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
            Severity::Inconclusive => "INCONCLUSIVE",
            Severity::Warning => "WARNING",
            Severity::Info => "INFO",
        }
    }

    /// Whether this severity makes the verifier fail (exit 1, the step fails) unless the finding
    /// was accepted with an [`Allowance`].
    pub fn is_blocking(self) -> bool {
        self < Severity::Warning
    }
}

/// A blocking severity the operator may accept explicitly (`--allow fail-noisy`, or
/// `allow = ["fail-noisy"]` on a `verify-rls` step): the findings stay in the report, marked
/// accepted, and no longer fail the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Allowance {
    /// Policies that raise an error instead of returning zero rows without a tenant.
    FailNoisy,
    /// Probes that could not conclude (a lock held by the application, a statement timeout).
    Inconclusive,
}

impl Allowance {
    /// Every allowance, for messages.
    pub const ALL: [Allowance; 2] = [Allowance::FailNoisy, Allowance::Inconclusive];

    /// Its name on the command line and in runbooks (`fail-noisy`).
    pub fn name(self) -> &'static str {
        match self {
            Allowance::FailNoisy => "fail-noisy",
            Allowance::Inconclusive => "inconclusive",
        }
    }

    /// The allowance named `name`, if any.
    pub fn parse(name: &str) -> Option<Allowance> {
        Allowance::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The severity it accepts.
    pub fn severity(self) -> Severity {
        match self {
            Allowance::FailNoisy => Severity::FailNoisy,
            Allowance::Inconclusive => Severity::Inconclusive,
        }
    }
}

/// Mark every finding whose severity one of `allow` accepts.
pub fn accept(findings: &mut [Finding], allow: &[Allowance]) {
    for f in findings.iter_mut() {
        if allow.iter().any(|a| a.severity() == f.severity) {
            f.accepted = true;
        }
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
    /// Accepted by the operator (`--allow`): reported, but it does not fail the verdict.
    pub accepted: bool,
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
            accepted: false,
        }
    }

    /// Whether it fails the verdict: a blocking severity the operator did not accept.
    pub fn blocks(&self) -> bool {
        self.severity.is_blocking() && !self.accepted
    }

    /// The finding as text lines: a headline and an indented fix.
    pub fn lines(&self) -> Vec<String> {
        let label = if self.accepted {
            format!("{} (accepted)", self.severity.label())
        } else {
            self.severity.label().to_string()
        };
        vec![
            format!(
                "  {:<18} {} [{}]: {}",
                label, self.subject, self.check, self.seen
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
    /// At least one blocking finding that was not accepted.
    Fail,
}

impl Verdict {
    /// The verdict for a list of findings.
    pub fn of(findings: &[Finding]) -> Self {
        if findings.iter().any(Finding::blocks) {
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

/// `verdict: FAIL, 2 blocking (1 fail-open, 1 fail-noisy); 1 accepted (inconclusive),
/// 1 warning(s), 0 info; <scope>`.
pub fn verdict_line(findings: &[Finding], scope: &str) -> String {
    let blocking: Vec<&Finding> = findings.iter().filter(|f| f.blocks()).collect();
    let by_severity = |list: &[&Finding]| -> String {
        let mut parts: Vec<String> = Vec::new();
        for f in list {
            let label = f.severity.label().to_lowercase();
            if !parts.iter().any(|p| p.ends_with(&format!(" {label}"))) {
                let n = list.iter().filter(|g| g.severity == f.severity).count();
                parts.push(format!("{n} {label}"));
            }
        }
        parts.join(", ")
    };
    let head = match Verdict::of(findings) {
        Verdict::Pass => "verdict: PASS".to_string(),
        Verdict::Fail => format!(
            "verdict: FAIL, {} blocking ({})",
            blocking.len(),
            by_severity(&blocking)
        ),
    };
    let accepted: Vec<&Finding> = findings.iter().filter(|f| f.accepted).collect();
    let accepted = if accepted.is_empty() {
        String::new()
    } else {
        format!("{} accepted ({}); ", accepted.len(), by_severity(&accepted))
    };
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    format!(
        "{head}; {accepted}{} warning(s), {} info; {scope}",
        count(Severity::Warning),
        count(Severity::Info)
    )
}
