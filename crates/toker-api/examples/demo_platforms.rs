//! A local replay of TikTok, X and Instagram (consent pages, token endpoints, data APIs)
//! answering from the fixtures, to try "connect your account" without the real platforms:
//! `cargo xtask demo-platforms` runs it. It prints the environment `toker serve` needs.
//!
//! Usage: `demo_platforms [--bind 127.0.0.1:8090] [--public-url http://localhost:8080]`

#[path = "../tests/connect_support/platforms.rs"]
mod platforms;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut bind = "127.0.0.1:8090".to_owned();
    let mut public_url = "http://localhost:8080".to_owned();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let value = rest.next();
        match (arg.as_str(), value) {
            ("--bind", Some(v)) => v.clone_into(&mut bind),
            ("--public-url", Some(v)) => v.clone_into(&mut public_url),
            _ => {
                eprintln!("usage: demo_platforms [--bind ADDR] [--public-url URL]");
                std::process::exit(2);
            }
        }
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
            "# TikTok, X and Instagram replayed on {} (fixtures of toker-sources).",
            replay.uri()
        );
        println!("# In another shell, export these and run `toker serve`:");
        println!("export TOKER_SECRET_KEY=$(openssl rand -hex 32)");
        for (name, value) in replay.env(&public_url) {
            println!("export {name}={value}");
        }
        println!("# Consent is automatic; add &consent=deny or &consent=expire to an authorize URL to refuse.");
        let _ = tokio::signal::ctrl_c().await;
    });
}
