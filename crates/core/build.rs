//! Names the build for `golive --version`: the git commit when built from a checkout.
fn main() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=10", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown commit".into());
    let profile = std::env::var("PROFILE").unwrap_or_default();
    println!("cargo:rustc-env=GOLIVE_BUILD={commit} {profile}");
    // Rebuild the name when a commit moves the branch, not only when HEAD switches branches.
    // This crate sits two levels below the checkout's root. Only files that exist are watched:
    // cargo reruns a script whose watched file is missing on every build, and everything that
    // depends on this crate with it (`packed-refs` is often absent).
    let git = std::path::Path::new("../../.git");
    let mut watched = vec![git.join("HEAD"), git.join("packed-refs")];
    if let Ok(head) = std::fs::read_to_string(git.join("HEAD"))
        && let Some(reference) = head.strip_prefix("ref: ")
    {
        watched.push(git.join(reference.trim()));
    }
    for path in watched.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    if !watched.iter().any(|p| p.exists()) {
        // Not a checkout: nothing to watch but this script.
        println!("cargo:rerun-if-changed=build.rs");
    }
}
