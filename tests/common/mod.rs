//! The test harness: one throwaway PostgreSQL cluster per test binary (started on first use,
//! stopped and removed when the binary exits), databases made from a Phase 1 template, and the
//! real `golive` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use golive::pg::cluster::{Cluster, ClusterOptions};

struct Shared {
    cluster: Mutex<Option<Cluster>>,
    port: u16,
}

static SHARED: OnceLock<Shared> = OnceLock::new();
static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

extern "C" fn stop_cluster() {
    if let Some(shared) = SHARED.get()
        && let Ok(mut cluster) = shared.cluster.lock()
    {
        drop(cluster.take());
    }
}

fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        let cluster = Cluster::start(&ClusterOptions {
            prefix: Some("test-".into()),
            ..ClusterOptions::default()
        })
        .expect("start a throwaway PostgreSQL (is PostgreSQL installed?)");
        let port = cluster.port();
        // SAFETY: registering a plain extern "C" function to run at exit.
        unsafe {
            libc::atexit(stop_cluster);
        }
        let url = cluster.url("postgres");
        sql(&url, "CREATE DATABASE phase1_template");
        let schema = std::fs::read_to_string(repo().join("assets/sandbox/schema.sql")).expect("schema");
        sql(&cluster.url("phase1_template"), &schema);
        sql(
            &cluster.url("phase1_template"),
            "ALTER ROLE app_owner PASSWORD 'owner-secret-pw'; ALTER ROLE app_user PASSWORD 'user-secret-pw';",
        );
        // Phase 2: Catalog v2 and the RLS policies, as app_owner in one transaction.
        sql(
            &url,
            "CREATE DATABASE phase2_template TEMPLATE phase1_template",
        );
        sql(
            &cluster.url("phase2_template"),
            &format!(
                "BEGIN; SET ROLE app_owner; {}\n{}\nCOMMIT;",
                include_str!("../../assets/sql/catalog-v2-columns.sql"),
                golive::sandbox::RLS_ON_SQL
            ),
        );
        sql(
            &cluster.url("phase2_template"),
            include_str!("../../assets/sql/catalog-v2-backfill.sql"),
        );
        Shared {
            cluster: Mutex::new(Some(cluster)),
            port,
        }
    })
}

/// The repository's root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run `work` to completion on a runtime of its own, on a thread of its own: callable from plain
/// tests and from inside `#[tokio::test]` alike.
fn blocking<T: Send + 'static>(work: impl std::future::Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(work)
    })
    .join()
    .expect("the SQL helper thread panicked")
}

/// Run SQL (several statements, sent as one query) on `url`; the server's message on error.
pub fn try_sql(url: &str, text: &str) -> Result<(), String> {
    let (url, text) = (url.to_string(), text.to_string());
    blocking(async move {
        let session = golive::pg::connect(&url, "golive-tests")
            .await
            .expect("connect");
        session
            .client
            .batch_execute(&text)
            .await
            .map_err(|e| golive::pg::describe(&e))
    })
}

/// Run SQL (several statements) on `url`, panicking with the server's message on error.
pub fn sql(url: &str, text: &str) {
    try_sql(url, text).expect("sql");
}

/// The server's message for SQL that must fail, panicking if it succeeds.
pub fn sql_error(url: &str, text: &str) -> String {
    try_sql(url, text).expect_err("the server must refuse this SQL")
}

/// The first column of the first row of `query`, as text.
pub fn value(url: &str, query: &str) -> Option<String> {
    let (url, query) = (url.to_string(), query.to_string());
    blocking(async move {
        let session = golive::pg::connect(&url, "golive-tests")
            .await
            .expect("connect");
        let rows = session.client.simple_query(&query).await.expect("query");
        rows.iter().find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
            _ => None,
        })
    })
}

/// A database for one test: a copy of the Phase 1 template.
pub struct Db {
    /// Its name.
    pub name: String,
    port: u16,
}

impl Db {
    /// A fresh copy of the Phase 1 database.
    pub fn phase1() -> Db {
        Db::from_template("phase1_template")
    }

    /// A fresh copy of the Phase 2 database: Phase 1 plus Catalog v2 and the fail-closed policies.
    pub fn phase2() -> Db {
        Db::from_template("phase2_template")
    }

    fn from_template(template: &str) -> Db {
        let shared = shared();
        let name = format!(
            "t{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        sql(
            &superuser_url(shared.port, "postgres"),
            &format!("CREATE DATABASE {name} TEMPLATE {template}"),
        );
        Db {
            name,
            port: shared.port,
        }
    }

    /// Superuser connection string.
    pub fn admin_url(&self) -> String {
        superuser_url(self.port, &self.name)
    }

    /// The owner's login (app_owner, with its password).
    pub fn owner_url(&self) -> String {
        format!(
            "postgres://app_owner:owner-secret-pw@127.0.0.1:{}/{}",
            self.port, self.name
        )
    }

    /// The application role's login (app_user).
    pub fn app_url(&self) -> String {
        format!(
            "postgres://app_user:user-secret-pw@127.0.0.1:{}/{}",
            self.port, self.name
        )
    }

    /// The port of the shared cluster.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A password-less login as `role` (the test cluster trusts local logins).
    pub fn url_as(&self, role: &str) -> String {
        superuser_url(self.port, &self.name).replacen("postgres@", &format!("{role}@"), 1)
    }
}

fn superuser_url(port: u16, db: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/{db}")
}

/// A throwaway directory (`tempfile`'s), removed when dropped.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    /// A new empty directory, its name starting with `golive-test-{tag}-`.
    pub fn new(tag: &str) -> TempDir {
        let dir = tempfile::Builder::new()
            .prefix(&format!("golive-test-{tag}-"))
            .tempdir()
            .expect("temp dir");
        TempDir(dir)
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// A path inside it.
    pub fn join(&self, p: &str) -> PathBuf {
        self.path().join(p)
    }

    /// Write a file inside it.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, text).expect("write");
        path
    }
}

/// The real golive binary.
pub fn golive() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_golive"));
    cmd.env_remove("RUST_LOG");
    cmd
}

/// Run golive with `args` and `env`, return its output.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = golive();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run golive")
}

/// stdout + stderr as text.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The only run directory under `dir/.golive/runs`, or the newest.
pub fn latest_run(dir: &Path) -> PathBuf {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(dir.join(".golive/runs"))
        .expect("runs dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    runs.sort();
    runs.pop().expect("a run")
}

/// Start golive in the background with `args` and `env`, its output discarded.
pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    let mut cmd = golive();
    cmd.args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn golive")
}

/// Wait (up to 30 s) until `path` exists.
pub fn wait_for(path: &Path) {
    let start = std::time::Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Wait (up to `limit`) for a child to exit.
pub fn wait_exit(
    child: &mut std::process::Child,
    limit: std::time::Duration,
) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(
            start.elapsed() < limit,
            "the process did not stop within {limit:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// SIGKILL the process group whose leader's pid is in `pidfile` (a step's `echo $$ > file`).
pub fn kill_group_in(pidfile: &Path) {
    if let Ok(pid) = std::fs::read_to_string(pidfile)
        && let Ok(pid) = pid.trim().parse::<i32>()
    {
        golive::os::signal_group(pid, golive::os::Sig::Kill);
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A real HTTP server process (Python) listening on `port`; killed on drop.
pub struct HttpServer {
    child: std::process::Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl HttpServer {
    /// `python3 -m http.server` serving `dir`.
    pub fn serve(dir: &Path) -> HttpServer {
        let port = free_port();
        let mut cmd = Command::new("python3");
        cmd.args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(dir);
        HttpServer::start(cmd, port)
    }

    /// Run `cmd`, which must listen on `port`, and wait until it accepts connections.
    pub fn start(mut cmd: Command, port: u16) -> HttpServer {
        let child = cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3");
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(10),
                "the HTTP server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        HttpServer { child, port }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary directory holding a copy of the shipped `runbook.toml` and `assets/`, so a run's
/// journal (`.golive/runs`, beside the runbook) stays out of the repository.
pub fn shipped_runbook_dir(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    std::fs::copy(repo().join("runbook.toml"), dir.join("runbook.toml")).expect("copy runbook");
    copy_tree(&repo().join("assets"), &dir.join("assets"));
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy");
        }
    }
}

/// The `golive-pg-*` cluster directories process `pid` made in the temp directory.
pub fn cluster_dirs_of(pid: u32) -> Vec<PathBuf> {
    let mark = format!("-{pid}-");
    std::fs::read_dir(std::env::temp_dir())
        .expect("temp dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("golive-pg-") && n.contains(&mark))
        })
        .collect()
}

/// Running processes (not zombies) whose command line names a cluster directory of process
/// `pid`: its postmaster and the server's children.
pub fn cluster_processes_of(pid: u32) -> Vec<String> {
    let mark = format!("-{pid}-");
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline
                .split_whitespace()
                .any(|arg| arg.contains("golive-pg-") && arg.contains(&mark))
                .then(|| format!("{}: {cmdline}", e.file_name().to_string_lossy()))
        })
        .collect()
}

/// Whether something accepts connections on 127.0.0.1:`port`.
pub fn listening(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &([127, 0, 0, 1], port).into(),
        std::time::Duration::from_millis(300),
    )
    .is_ok()
}

/// Assert that process `pid` left no sandbox behind: no cluster directory, no server process
/// (given 5 s for an immediate stop's last moments) and nothing on the app's port.
pub fn assert_no_sandbox_left(pid: u32, app_port: u16) {
    assert_eq!(
        cluster_dirs_of(pid),
        Vec::<PathBuf>::new(),
        "cluster directory left behind"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !cluster_processes_of(pid).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        cluster_processes_of(pid),
        Vec::<String>::new(),
        "server processes left running"
    );
    assert!(
        !listening(app_port),
        "the app's port {app_port} still answers"
    );
}

/// The guard of an `#[ignore]`d child-process helper: it runs only when its parent test started
/// it (with `env` set); run alone, it says whose it is instead of hanging or passing for nothing.
pub fn assert_child_of(env: &str, parent: &str) {
    assert!(
        std::env::var_os(env).is_some(),
        "a child process of `{parent}`, started by that test: run it instead"
    );
}

/// Whether one of a journal's records (one JSON object per line) has every member of `fields`,
/// written as a JSON object's members without the braces: `"event":"confirmed","step":"wipe"`.
/// Records are parsed, so the order of their keys and their other members do not matter.
pub fn has_record(journal: &str, fields: &str) -> bool {
    let want: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&format!("{{{fields}}}")).expect("fields are JSON object members");
    journal
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .any(|record| want.iter().all(|(k, v)| record.get(k) == Some(v)))
}

/// A small tmpfs mounted on a test's directory (a disk that fills up), unmounted when dropped.
pub struct SmallDisk(PathBuf);

impl SmallDisk {
    /// Mount a tmpfs of `size` (`256k`) on `dir` (needs root).
    pub fn mount(dir: &Path, size: &str) -> SmallDisk {
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount");
        assert!(
            status.success(),
            "this test needs root to mount a small tmpfs"
        );
        SmallDisk(dir.to_path_buf())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}
