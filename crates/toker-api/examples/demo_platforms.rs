//! A local replay of TikTok, X and Instagram (consent pages, token endpoints, data APIs)
//! answering from the fixtures, to try "connect your account" without the real platforms:
//! `cargo xtask demo-platforms` runs it. It prints the environment `toker serve` needs.
//!
//! Usage: `demo_platforms [--bind 127.0.0.1:8090] [--public-url http://localhost:8080]
//! [--print-env]`; with `--print-env` it only prints the environment (as `export` lines for
//! `eval`) and exits.

use toker_testkit::replay as platforms;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut bind = "127.0.0.1:8090".to_owned();
    let mut public_url = "http://localhost:8080".to_owned();
    let mut print_env = false;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "--print-env" {
            print_env = true;
            continue;
        }
        let value = rest.next();
        match (arg.as_str(), value) {
            ("--bind", Some(v)) => v.clone_into(&mut bind),
            ("--public-url", Some(v)) => v.clone_into(&mut public_url),
            _ => {
                eprintln!("usage: demo_platforms [--bind ADDR] [--public-url URL] [--print-env]");
                std::process::exit(2);
            }
        }
    }
    if print_env {
        print_exports(&format!("http://{bind}"), &public_url);
        return;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("demo_platforms: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    runtime.block_on(async move {
        let replay = platforms::Replay::start(&bind).await;
        println!(
            "# TikTok, X and Instagram replayed on {} (the test kit's fixtures).",
            replay.uri()
        );
        println!(
            "# In another shell: eval \"$(cargo xtask demo-platforms --print-env)\", then `toker serve`."
        );
        print_exports(&replay.uri(), &public_url);
        println!("# Consent is automatic; add &consent=deny or &consent=expire to an authorize URL to refuse.");
        let _ = tokio::signal::ctrl_c().await;
    });
}

/// Prints, as `export` lines, everything `toker serve` needs against a replay at `uri`,
/// with a fresh random `TOKER_SECRET_KEY`.
fn print_exports(uri: &str, public_url: &str) {
    println!("export TOKER_SECRET_KEY={}", random_hex_key());
    for (name, value) in platforms::env_for(uri, public_url) {
        println!("export {name}={value}");
    }
}

/// 32 random bytes as 64 hex digits, from the operating system.
fn random_hex_key() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    if let Err(e) = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)) {
        eprintln!("demo_platforms: cannot read random bytes: {e}");
        std::process::exit(1);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
