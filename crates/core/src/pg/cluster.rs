//! A throwaway PostgreSQL cluster: `initdb` into a temporary directory, `pg_ctl start` on a free
//! loopback port, and everything removed again on drop.
//!
//! Used by the rehearsal sandbox and by the test harness. The machine's own PostgreSQL binaries are
//! used (found on `PATH`, under `/usr/lib/postgresql/*/bin`, or through `pg_config --bindir`); as root
//! they run as the `postgres` user, because `initdb` refuses to run as root.
//!
//! Every cluster directory holds an `owner.pid` file. [`reap_stale`] removes clusters whose owner
//! process is gone (a golive that was killed with SIGKILL), so nothing is left behind for long.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::os;

/// Why a cluster could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No PostgreSQL server binaries were found.
    #[error(
        "PostgreSQL is not installed: no `initdb` on PATH, under /usr/lib/postgresql/*/bin or from \
         `pg_config --bindir`; install it with `apt-get install -y postgresql` (Debian/Ubuntu) or \
         `brew install postgresql` (macOS)"
    )]
    NotInstalled,
    /// Running as root, but there is no `postgres` user to run the server as.
    #[error(
        "running as root, and initdb refuses root: create a `postgres` user (the postgresql package \
         does) or run golive as an ordinary user"
    )]
    NoPostgresUser,
    /// A PostgreSQL program failed.
    #[error("{program} failed ({status}): {detail}")]
    Command {
        /// The program that failed.
        program: String,
        /// Its exit status.
        status: String,
        /// The last lines it printed.
        detail: String,
    },
    /// A filesystem operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// How the cluster should log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Plain stderr log into `server.log` (fast, for tests).
    #[default]
    Stderr,
    /// The logging collector writing `jsonlog` files under `log/` (what the dashboard reads).
    Json,
}

/// Options for [`Cluster::start`].
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Log format of the server.
    pub log: LogFormat,
    /// Prefix of the temporary directory's name.
    pub prefix: Option<String>,
    /// Extra server settings (`-c name=value`), e.g. `ssl=on` with its certificate files.
    pub settings: Vec<(String, String)>,
}

/// A running throwaway PostgreSQL cluster; stopped and deleted when dropped.
#[derive(Debug)]
pub struct Cluster {
    root: PathBuf,
    bindir: PathBuf,
    port: u16,
    as_postgres: bool,
    stopped: bool,
}

const DIR_PREFIX: &str = "golive-pg-";

impl Cluster {
    /// Initialise and start a new cluster; returns once it accepts connections.
    pub fn start(options: &ClusterOptions) -> Result<Self, ClusterError> {
        let bindir = find_bindir().ok_or(ClusterError::NotInstalled)?;
        let as_postgres = os::is_root();
        if as_postgres && os::user_ids("postgres").is_none() {
            return Err(ClusterError::NoPostgresUser);
        }
        let prefix = options.prefix.as_deref().unwrap_or("");
        let root = std::env::temp_dir().join(format!(
            "{DIR_PREFIX}{prefix}{}-{}",
            std::process::id(),
            unique_suffix()
        ));
        std::fs::create_dir_all(&root).map_err(|source| ClusterError::Io {
            what: "cannot create",
            path: root.clone(),
            source,
        })?;
        std::fs::write(root.join("owner.pid"), std::process::id().to_string()).map_err(
            |source| ClusterError::Io {
                what: "cannot write",
                path: root.join("owner.pid"),
                source,
            },
        )?;
        if as_postgres {
            chown_to_postgres(&root)?;
        }
        let mut cluster = Cluster {
            root,
            bindir,
            port: 0,
            as_postgres,
            stopped: true,
        };
        cluster.init()?;
        cluster.launch(options)?;
        Ok(cluster)
    }

    fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The directory holding the cluster (data, sockets, logs).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The TCP port the server listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory of the server's jsonlog files (only with [`LogFormat::Json`]).
    pub fn log_dir(&self) -> PathBuf {
        self.root.join("log")
    }

    /// A connection string for the superuser `postgres` to database `dbname`.
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{dbname}?connect_timeout=10",
            self.port
        )
    }

    /// A connection string for `user`/`password` to database `dbname`.
    pub fn url_as(&self, user: &str, password: &str, dbname: &str) -> String {
        format!(
            "postgres://{user}:{password}@127.0.0.1:{}/{dbname}?connect_timeout=10",
            self.port
        )
    }

    fn init(&self) -> Result<(), ClusterError> {
        let data = self.data_dir();
        let out = self.pg_command(
            "initdb",
            &[
                "-D",
                &data.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        check("initdb", &out)
    }

    fn launch(&mut self, options: &ClusterOptions) -> Result<(), ClusterError> {
        let mut last = None;
        for _ in 0..5 {
            let port = free_port();
            let mut server_options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                self.root.display()
            );
            for (name, value) in &options.settings {
                server_options.push_str(&format!(" -c {name}={value}"));
            }
            if options.log == LogFormat::Json {
                server_options.push_str(&format!(
                    " -c logging_collector=on -c log_destination=jsonlog -c log_directory={} \
                     -c log_filename=postgresql.log -c log_rotation_size=0",
                    self.log_dir().display()
                ));
            }
            let logfile = self.root.join("server.log");
            let out = self.pg_command(
                "pg_ctl",
                &[
                    "-D",
                    &self.data_dir().to_string_lossy(),
                    "-o",
                    &server_options,
                    "-l",
                    &logfile.to_string_lossy(),
                    "-w",
                    "-t",
                    "30",
                    "start",
                ],
            )?;
            if out.status.success() {
                self.port = port;
                self.stopped = false;
                return Ok(());
            }
            let tail = std::fs::read_to_string(&logfile).unwrap_or_default();
            last = Some(ClusterError::Command {
                program: "pg_ctl start".into(),
                status: out.status.to_string(),
                detail: last_lines(&format!("{}{tail}", String::from_utf8_lossy(&out.stderr))),
            });
            if !tail.contains("Address already in use") {
                break;
            }
        }
        Err(last.unwrap_or(ClusterError::NotInstalled))
    }

    fn pg_command(&self, program: &str, args: &[&str]) -> Result<Output, ClusterError> {
        let path = self.bindir.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        cmd.args(args).current_dir(&self.root);
        cmd.env_remove("PGDATA");
        cmd.output().map_err(|source| ClusterError::Io {
            what: "cannot run",
            path,
            source,
        })
    }

    /// Stop the server now (immediate shutdown) and delete its directory.
    pub fn stop(&mut self) {
        if !self.stopped {
            self.stopped = true;
            let data = self.data_dir();
            let _ = self.pg_command(
                "pg_ctl",
                &[
                    "-D",
                    &data.to_string_lossy(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ],
            );
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Stop and delete clusters left behind by golive processes that no longer exist.
/// Returns the directories removed.
pub fn reap_stale() -> Vec<PathBuf> {
    let Some(bindir) = find_bindir() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(DIR_PREFIX) {
            continue;
        }
        let root = entry.path();
        let owner = std::fs::read_to_string(root.join("owner.pid"))
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        if owner.is_some_and(os::process_running) {
            continue;
        }
        // An owner that never wrote its pid may still be starting: leave young directories alone.
        let young = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age < Duration::from_secs(60));
        if owner.is_none() && young {
            continue;
        }
        let stale = Cluster {
            root: root.clone(),
            bindir: bindir.clone(),
            port: 0,
            as_postgres: os::is_root(),
            stopped: !root.join("data").join("postmaster.pid").exists(),
        };
        drop(stale);
        removed.push(root);
    }
    removed
}

fn check(program: &str, out: &Output) -> Result<(), ClusterError> {
    if out.status.success() {
        return Ok(());
    }
    Err(ClusterError::Command {
        program: program.into(),
        status: out.status.to_string(),
        detail: last_lines(&format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
    })
}

fn last_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(6)..].join(" | ")
}

/// Where the PostgreSQL server binaries live on this machine.
pub fn find_bindir() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                return Some(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    dir.join("initdb").is_file().then_some(dir)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(54329)
}

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{nanos:x}{n}")
}

fn chown_to_postgres(path: &Path) -> Result<(), ClusterError> {
    let (uid, gid) = os::user_ids("postgres").ok_or(ClusterError::NoPostgresUser)?;
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(|source| ClusterError::Io {
        what: "cannot hand to the postgres user",
        path: path.to_path_buf(),
        source,
    })?;
    let owner = path.join("owner.pid");
    let _ = std::os::unix::fs::chown(&owner, Some(uid), Some(gid));
    Ok(())
}
