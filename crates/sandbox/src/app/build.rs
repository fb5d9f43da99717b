//! Which build of the application serves: the Phase 1 build (filters by tenant in its own SQL,
//! never sets `app.tenant_id`, serves the v1 catalog) or the Phase 2 build (sets the tenant per
//! transaction, reads the flags, serves v2 when `catalog_api_v2` is on).
//!
//! A deploy is a line written to the build file (`SANDBOX_APP_BUILD`): `echo phase2 >
//! "$SANDBOX_APP_BUILD"`. The app reads the file for every request (a few bytes), so the deploy
//! is done when the command returns: a rehearsal's gate (its `rehearse` command) or a person in
//! another terminal deploys the same way, with nothing but a shell.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

/// An application build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// Before the go-live: tenant filter in the app's SQL, no tenant setting, v1 catalog.
    Phase1,
    /// After `app-deploy`: `SET LOCAL app.tenant_id` per transaction, flags, v2 catalog.
    Phase2,
}

impl Build {
    /// The name written in the build file.
    pub fn name(self) -> &'static str {
        match self {
            Build::Phase1 => "phase1",
            Build::Phase2 => "phase2",
        }
    }

    fn parse(text: &str) -> Option<Build> {
        match text.trim() {
            "phase1" => Some(Build::Phase1),
            "phase2" => Some(Build::Phase2),
            _ => None,
        }
    }
}

impl std::fmt::Display for Build {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The build serving now, shared by the app's handlers and the traffic oracle.
#[derive(Debug, Clone)]
pub struct ServingBuild {
    current: Arc<AtomicU8>,
    file: PathBuf,
}

impl ServingBuild {
    /// Serve `initial`, and write it to `file`.
    pub fn new(file: PathBuf, initial: Build) -> std::io::Result<Self> {
        std::fs::write(&file, format!("{}\n", initial.name()))?;
        Ok(ServingBuild {
            current: Arc::new(AtomicU8::new(initial as u8)),
            file,
        })
    }

    /// The build serving now: what the build file says. A torn write or an unknown name keeps
    /// the build that served (a deploy that did not finish does not take the app down).
    pub fn get(&self) -> Build {
        if let Some(build) = std::fs::read_to_string(&self.file)
            .ok()
            .as_deref()
            .and_then(Build::parse)
        {
            self.current.store(build as u8, Ordering::Release);
            return build;
        }
        if self.current.load(Ordering::Acquire) == Build::Phase2 as u8 {
            Build::Phase2
        } else {
            Build::Phase1
        }
    }

    /// Deploy `build` now (the file too, so a later read agrees).
    pub fn deploy(&self, build: Build) -> std::io::Result<()> {
        std::fs::write(&self.file, format!("{}\n", build.name()))?;
        self.current.store(build as u8, Ordering::Release);
        Ok(())
    }

    /// The build file: write `phase1` or `phase2` to it to deploy.
    pub fn file(&self) -> &Path {
        &self.file
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_junk_is_ignored() {
        for build in [Build::Phase1, Build::Phase2] {
            assert_eq!(Build::parse(&format!("{build}\n")), Some(build));
        }
        assert_eq!(Build::parse(""), None);
        assert_eq!(Build::parse("phase3"), None);
    }

    #[test]
    fn a_line_in_the_file_deploys_at_once_and_junk_keeps_the_build() {
        let dir = std::env::temp_dir().join(format!("golive-build-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let serving = ServingBuild::new(dir.join("build"), Build::Phase1).unwrap();
        assert_eq!(serving.get(), Build::Phase1);
        std::fs::write(serving.file(), "phase2\n").unwrap();
        assert_eq!(serving.get(), Build::Phase2);
        std::fs::write(serving.file(), "garbage").unwrap();
        assert_eq!(serving.get(), Build::Phase2, "junk keeps the build");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
