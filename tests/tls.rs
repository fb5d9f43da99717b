//! TLS to managed databases: a real PostgreSQL with `ssl=on` and a certificate from a test CA.
//! `sslmode=require` encrypts without verifying (as libpq does); `verify-full` with
//! `sslrootcert` verifies the server against that CA and refuses a server signed by another.

mod common;

use std::path::Path;
use std::process::Command;

use common::{TempDir, run, text};
use golive::pg::cluster::{Cluster, ClusterOptions};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for localhost / 127.0.0.1 signed by it.
fn certificates(dir: &Path, ca: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={ca}"),
            "-keyout",
            &format!("{ca}.key"),
            "-out",
            &format!("{ca}.pem"),
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.crt",
        ],
    );
}

fn make_readable_by_postgres(path: &Path) {
    // The server runs as `postgres` when the tests run as root; the key must be its own, 0600.
    let _ = Command::new("chown").arg("postgres").arg(path).status();
    let _ = Command::new("chmod").arg("600").arg(path).status();
}

#[test]
fn require_encrypts_and_verify_full_checks_the_server_against_the_ca() {
    // Another CA, which did not sign the server's certificate.
    let other = TempDir::new("tls-other");
    certificates(other.path(), "other-ca");
    let serving = TempDir::new("tls-serving");
    certificates(serving.path(), "good-ca");
    for f in ["server.crt", "server.key"] {
        make_readable_by_postgres(&serving.join(f));
    }
    let _ = Command::new("chmod")
        .arg("755")
        .arg(serving.path())
        .status();
    let cluster = Cluster::start(&ClusterOptions {
        settings: vec![
            ("ssl".into(), "on".into()),
            (
                "ssl_cert_file".into(),
                serving.join("server.crt").display().to_string(),
            ),
            (
                "ssl_key_file".into(),
                serving.join("server.key").display().to_string(),
            ),
        ],
        ..ClusterOptions::default()
    })
    .expect("a cluster with ssl=on");
    let dir = TempDir::new("tls-runbook");
    let rb = dir.write(
        "runbook.toml",
        "[runbook]\nname = \"tls\"\n\n[vars]\nDATABASE_URL = { required = true, secret = true }\n\n\
         [[steps]]\nid = \"ssl\"\ntitle = \"Encrypted?\"\nkind = \"sql\"\ndatabase = \"DATABASE_URL\"\n\
         sql = \"SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()\"\nexpect = { value = \"t\" }\n",
    );
    let rb = rb.display().to_string();
    let port = cluster.port();
    let attempt = |query: &str| {
        let url = format!("postgres://postgres@localhost:{port}/postgres?{query}");
        run(
            &["run", &rb, "--headless"],
            &[("DATABASE_URL", url.as_str())],
        )
    };

    let out = attempt("sslmode=require");
    assert_eq!(out.status.code(), Some(0), "require: {}", text(&out));

    let out = attempt(&format!(
        "sslmode=verify-full&sslrootcert={}",
        serving.join("good-ca.pem").display()
    ));
    assert_eq!(
        out.status.code(),
        Some(0),
        "verify-full, right CA: {}",
        text(&out)
    );

    let out = attempt(&format!(
        "sslmode=verify-full&sslrootcert={}",
        other.join("other-ca.pem").display()
    ));
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "verify-full, wrong CA: {log}");
    assert!(
        log.contains("cannot connect to postgres@localhost"),
        "{log}"
    );
    assert!(log.to_lowercase().contains("certificate"), "{log}");

    let out = attempt("sslmode=verify-full&sslrootcert=/nonexistent/ca.pem");
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("cannot read sslrootcert /nonexistent/ca.pem"),
        "{log}"
    );
}
