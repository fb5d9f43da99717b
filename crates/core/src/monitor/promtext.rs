//! A parser for the Prometheus text exposition format (what `/metrics` answers).
//!
//! Only samples are kept (`# HELP` / `# TYPE` are skipped); `keep` filters by metric name so a
//! large exposition costs little. A body that is not the format (an HTML page from a proxy, a
//! truncated answer) is an error naming the line.

use super::sample::Series;

/// Why a body is not the text format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The body looks like HTML or JSON: something else answered.
    #[error(
        "the answer is not Prometheus metrics (it starts with {0:?}); check the URL, or a proxy in between"
    )]
    NotMetrics(String),
    /// A line does not parse.
    #[error("line {line} is not a metric sample ({text:?}); the body may be truncated")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// The line, shortened.
        text: String,
    },
}

/// Parse `body`, keeping samples whose name `keep` accepts.
pub fn parse(body: &str, keep: impl Fn(&str) -> bool) -> Result<Vec<Series>, ParseError> {
    let start = body.trim_start();
    if start.starts_with('<') || start.starts_with('{') || start.starts_with('[') {
        return Err(ParseError::NotMetrics(start.chars().take(20).collect()));
    }
    let mut out = Vec::new();
    for (i, raw) in body.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || ParseError::BadLine {
            line: i + 1,
            text: line.chars().take(60).collect(),
        };
        let name_end = line
            .find(|c: char| c == '{' || c.is_whitespace())
            .ok_or_else(bad)?;
        let name = &line[..name_end];
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        {
            return Err(bad());
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end + 1..]).ok_or_else(bad)?
        } else {
            (Vec::new(), &line[name_end..])
        };
        let value_text = rest.split_whitespace().next().ok_or_else(bad)?;
        let value = parse_value(value_text).ok_or_else(bad)?;
        if !keep(name) {
            continue;
        }
        let mut labels = labels;
        labels.sort();
        out.push(Series {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(out)
}

/// A sample value: a float, `NaN`, `+Inf` or `-Inf`.
pub fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        t => t.parse().ok(),
    }
}

type Labels = Vec<(String, String)>;

/// `a="x",b="y\"z"} rest` → labels and the text after `}`.
fn parse_labels(text: &str) -> Option<(Labels, &str)> {
    let mut labels = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        if let Some(after) = rest.strip_prefix('}') {
            return Some((labels, after));
        }
        let eq = rest.find('=')?;
        let key = rest[..eq].trim().to_string();
        rest = rest[eq + 1..].trim_start().strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '"' => break i,
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                c => value.push(c),
            }
        };
        labels.push((key, value));
        rest = &rest[end + 1..];
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_labels_escapes_and_special_values() {
        let body = "# HELP x y\n# TYPE x counter\n\
            flask_http_request_duration_seconds_count{method=\"GET\",status=\"200\",url_rule=\"/a/<int:id>\"} 12.0\n\
            weird{b=\"q\\\"uo\\\\te\",a=\"n\\nl\"} +Inf 1700000000000\n\
            plain 3\n";
        let s = parse(body, |_| true).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].label("url_rule"), Some("/a/<int:id>"));
        assert_eq!(s[0].value, 12.0);
        assert_eq!(s[1].label("b"), Some("q\"uo\\te"));
        assert_eq!(s[1].label("a"), Some("n\nl"));
        assert_eq!(s[1].labels[0].0, "a", "labels sorted");
        assert!(s[1].value.is_infinite());
        assert_eq!(parse(body, |n| n == "plain").unwrap().len(), 1);
    }

    #[test]
    fn rejects_proxy_pages_and_truncated_bodies() {
        let html = "<html><body>502 Bad Gateway</body></html>";
        assert!(matches!(
            parse(html, |_| true),
            Err(ParseError::NotMetrics(_))
        ));
        let truncated = "a_total{method=\"GET\"} 1\na_total{method=\"PO";
        assert_eq!(
            parse(truncated, |_| true).unwrap_err(),
            ParseError::BadLine {
                line: 2,
                text: "a_total{method=\"PO".into()
            }
        );
        assert!(parse("a_total 1\nb_total\n", |_| true).is_err());
    }
}
