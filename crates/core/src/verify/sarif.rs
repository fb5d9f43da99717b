//! Findings as SARIF 2.1.0 (the Static Analysis Results Interchange Format), for a security
//! team's tooling and code-scanning views: one run, one rule per check, one result per finding
//! with its level and a logical location naming the table, role or function (and the policy
//! when the finding names one). Accepted findings (`--allow`) carry an external suppression.

use serde_json::{Value, json};

use super::{Finding, Severity};

/// The SARIF level of a finding: blocking ones are errors, warnings warnings, the rest notes.
fn level(severity: Severity) -> &'static str {
    if severity.is_blocking() {
        "error"
    } else if severity == Severity::Warning {
        "warning"
    } else {
        "note"
    }
}

/// The policy a finding's text names (`policy tenant_isolation …`), if any.
fn policy_named(seen: &str) -> Option<&str> {
    let start = seen.find("policy ")? + "policy ".len();
    let name = seen[start..]
        .split(|c: char| c.is_whitespace() || c == ',' || c == ':')
        .next()?;
    (!name.is_empty() && name != "for" && name != "applies").then_some(name)
}

/// The logical locations of a finding's subject: `public.customers` is a table, `role x` a role,
/// `function f(…)` a function, `GET /path` an endpoint.
fn locations(f: &Finding) -> Vec<Value> {
    let (kind, name) = if let Some(role) = f.subject.strip_prefix("role ") {
        ("role", role)
    } else if let Some(function) = f.subject.strip_prefix("function ") {
        ("function", function)
    } else if f.subject.starts_with("GET ") {
        ("resource", f.subject.as_str())
    } else {
        ("table", f.subject.as_str())
    };
    let short = name.rsplit('.').next().unwrap_or(name);
    let mut out = vec![json!({"name": short, "fullyQualifiedName": name, "kind": kind})];
    if kind == "table"
        && let Some(policy) = policy_named(&f.seen)
    {
        out.push(json!({
            "name": policy,
            "fullyQualifiedName": format!("{name}.{policy}"),
            "kind": "policy",
            "parentIndex": 0
        }));
    }
    out
}

/// A SARIF 2.1.0 log of `findings` by the tool `name` (`golive verify rls`).
pub fn log(name: &str, findings: &[Finding]) -> Value {
    let mut rules: Vec<Value> = Vec::new();
    let mut ids: Vec<&str> = Vec::new();
    let mut results = Vec::new();
    for f in findings {
        let index = match ids.iter().position(|id| *id == f.check) {
            Some(i) => i,
            None => {
                ids.push(&f.check);
                rules.push(json!({
                    "id": f.check,
                    "shortDescription": {"text": format!("{}: {}", f.severity.label(), f.check)},
                    "help": {"text": f.fix},
                    "defaultConfiguration": {"level": level(f.severity)},
                    "properties": {"tags": ["security", "tenant-isolation"]}
                }));
                ids.len() - 1
            }
        };
        let mut result = json!({
            "ruleId": f.check,
            "ruleIndex": index,
            "level": level(f.severity),
            "message": {"text": format!("{}: {}. Fix: {}", f.subject, f.seen, f.fix)},
            "locations": [{"logicalLocations": locations(f)}],
            "properties": {"severity": f.severity, "fix": f.fix, "accepted": f.accepted}
        });
        if f.accepted {
            result["suppressions"] = json!([{
                "kind": "external",
                "justification": "accepted by the operator (--allow)"
            }]);
        }
        results.push(result);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": name,
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules
            }},
            "results": results
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_becomes_a_result_with_its_rule_and_locations() {
        let mut accepted = Finding::new(
            "public.customers",
            Severity::FailNoisy,
            "policy-nullif",
            "policy tenant_isolation casts current_setting('app.tenant_id', true) to uuid",
            "use NULLIF",
        );
        accepted.accepted = true;
        let findings = vec![
            Finding::new(
                "role app_user",
                Severity::FailOpen,
                "role-bypassrls",
                "x",
                "y",
            ),
            accepted,
        ];
        let log = log("golive verify rls", &findings);
        let run = &log["runs"][0];
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(
            run["tool"]["driver"]["rules"].as_array().map(Vec::len),
            Some(2)
        );
        let second = &run["results"][1];
        assert_eq!(second["ruleId"], "policy-nullif");
        assert_eq!(second["ruleIndex"], 1);
        assert_eq!(second["level"], "error");
        let logical = &second["locations"][0]["logicalLocations"];
        assert_eq!(logical[0]["fullyQualifiedName"], "public.customers");
        assert_eq!(logical[1]["name"], "tenant_isolation");
        assert_eq!(second["suppressions"][0]["kind"], "external");
        assert_eq!(
            run["results"][0]["locations"][0]["logicalLocations"][0]["kind"],
            "role"
        );
    }
}
