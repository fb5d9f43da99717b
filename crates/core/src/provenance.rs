//! Who runs golive, where, and which golive: recorded in every journal and shown in reports.

/// golive's version and build, as `golive --version` prints it.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("GOLIVE_BUILD"), ")");
