//! `kind = "http"`: one request, checked against the step's expectations (status, JSON shape,
//! headers, body text).

use std::time::Duration;

use super::{StepCtx, StepError, StepResult};
use crate::httpc;
use crate::runbook::{HttpExpect, HttpSpec};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Run an HTTP step.
pub async fn run(spec: &HttpSpec, timeout: Option<Duration>, ctx: &mut StepCtx<'_>) -> StepResult {
    let url = ctx.vars.interpolate(&spec.url);
    let client = httpc::client(timeout.unwrap_or(DEFAULT_TIMEOUT)).map_err(StepError::Failed)?;
    let method = reqwest::Method::from_bytes(spec.method.as_bytes())
        .map_err(|e| StepError::Failed(format!("bad method {}: {e}", spec.method)))?;
    let mut request = client.request(method, &url);
    for (name, value) in &spec.headers {
        request = request.header(name, ctx.vars.interpolate(value));
    }
    if let Some(body) = &spec.body {
        request = request.body(ctx.vars.interpolate(body));
    }
    ctx.out.info(&format!("{} {url}", spec.method)).await;
    let response = tokio::select! {
        r = request.send() => r.map_err(|e| StepError::Failed(httpc::describe(&e)))?,
        () = ctx.cancel.cancelled() => return Err(StepError::Cancelled),
    };
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response
        .text()
        .await
        .map_err(|e| StepError::Failed(httpc::describe(&e)))?;
    ctx.out
        .info(&format!("→ {status}, {} bytes", body.len()))
        .await;
    for line in body.lines().take(20) {
        ctx.out.line(crate::events::Stream::Stdout, line).await;
    }
    check(&spec.expect, status, &headers, &body).map_err(StepError::Failed)?;
    Ok(format!("{status}"))
}

/// Check an answer against expectations; the error says what was expected and what was seen.
pub fn check(
    expect: &HttpExpect,
    status: u16,
    headers: &[(String, String)],
    body: &str,
) -> Result<(), String> {
    let status_ok = if expect.status.is_empty() {
        (200..300).contains(&status)
    } else {
        expect.status.contains(&status)
    };
    if !status_ok {
        let want = if expect.status.is_empty() {
            "a 2xx status".to_string()
        } else {
            format!("status {:?}", expect.status)
        };
        return Err(format!("expected {want}, got {status}: {}", snippet(body)));
    }
    for name in &expect.headers {
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) {
            return Err(format!("expected a `{name}` header; the answer has none"));
        }
    }
    if let Some(text) = &expect.contains
        && !body.contains(text.as_str())
    {
        return Err(format!(
            "expected the body to contain `{text}`: {}",
            snippet(body)
        ));
    }
    if expect.json_root.is_none() && expect.json_keys.is_empty() {
        return Ok(());
    }
    let json: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| format!("expected JSON, got something else ({e}): {}", snippet(body)))?;
    match (expect.json_root.as_deref(), &json) {
        (Some("array"), serde_json::Value::Array(_))
        | (Some("object"), serde_json::Value::Object(_))
        | (None, _) => {}
        (Some(want), got) => {
            let seen = match got {
                serde_json::Value::Object(map) => format!(
                    "an object with keys {:?}",
                    map.keys().take(5).collect::<Vec<_>>()
                ),
                serde_json::Value::Array(_) => "an array".to_string(),
                other => format!("{other}"),
            };
            return Err(format!("expected a JSON root {want}, got {seen}"));
        }
    }
    let items: Vec<&serde_json::Value> = match &json {
        serde_json::Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for (i, item) in items.iter().enumerate() {
        for key in &expect.json_keys {
            if item.get(key).is_none() {
                return Err(format!(
                    "item {i} has no `{key}`: {}",
                    snippet(&item.to_string())
                ));
            }
        }
    }
    Ok(())
}

fn snippet(text: &str) -> String {
    let t: String = text.chars().take(160).collect();
    if t.len() < text.len() {
        format!("{t}…")
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_wrapper_fails_a_root_array_expectation() {
        let expect = HttpExpect {
            json_root: Some("array".into()),
            json_keys: vec!["internal_code".into()],
            ..HttpExpect::default()
        };
        let err = check(&expect, 200, &[], r#"{"service_operations": []}"#).expect_err("wrapper");
        assert!(
            err.contains("expected a JSON root array, got an object"),
            "{err}"
        );
        let err = check(&expect, 200, &[], r#"[{"name": "x"}]"#).expect_err("missing key");
        assert!(err.contains("item 0 has no `internal_code`"), "{err}");
        assert!(check(&expect, 200, &[], r#"[{"internal_code": "A"}]"#).is_ok());
        assert!(
            check(&expect, 503, &[], "down")
                .expect_err("status")
                .contains("got 503")
        );
    }
}
