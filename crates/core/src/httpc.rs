//! The HTTP client every part of golive uses: rustls with the ring provider, timeouts, and
//! errors with their URL's password masked.

use std::time::Duration;

/// A client with a connect timeout and an overall request timeout.
pub fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    // The process-wide provider may already be installed (by another client): that is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5).min(timeout))
        .timeout(timeout)
        .user_agent(concat!("golive/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))
}

/// The answer's `ETag`, if it has a readable one.
pub fn etag(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A request error as one line: what failed, with a hint, and no password from the URL.
pub fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    if err.is_connect() {
        text.push_str(" (nothing answers there: is the app running, and is the URL right?)");
    } else if err.is_timeout() {
        text.push_str(" (no answer in time)");
    }
    crate::redact::url_passwords(&text).into_owned()
}
