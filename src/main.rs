//! The `golive` binary: parse the command line, run the command, exit with its code.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used)]

mod attach;
mod cli;
mod headless;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let log = golive_core::logging::init(cli.log_level.as_deref());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("golive: cannot start the async runtime: {e}");
            std::process::exit(2);
        }
    };
    let code = runtime.block_on(cli::dispatch(cli, log));
    // Steps still running (a forced stop) are dropped here, which kills their process groups.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    std::process::exit(code);
}
