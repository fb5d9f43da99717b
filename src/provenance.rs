//! Who runs golive, where, and which golive: recorded in every journal and shown in reports.

/// golive's version and build, as `golive --version` prints it.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("GOLIVE_BUILD"), ")");

/// The OS user running golive.
pub fn user() -> String {
    if let Some(name) = std::env::var("USER").ok().filter(|u| !u.is_empty()) {
        return name;
    }
    // SAFETY: getpwuid returns null or a pointer to a static record, read at once.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        if pw.is_null() {
            return format!("uid {}", libc::geteuid());
        }
        std::ffi::CStr::from_ptr((*pw).pw_name)
            .to_string_lossy()
            .into_owned()
    }
}

/// This machine's host name.
pub fn host() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown-host".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}
