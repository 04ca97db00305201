//! Opt-in: `KEYAGE_NO_PIE=1 cargo install …` links a Linux/glibc release binary as a
//! position-dependent executable (`-no-pie`).
//!
//! Why it helps: the binary is ~15 MB (the AWS SDK is linked) and, as PIE, the dynamic loader
//! applies ~37k relative relocations at every start, writing (copy-on-write) every page of
//! `.data.rel.ro` and reading ~0.9 MB of `.rela.dyn`; that is most of `keyage prompt`'s
//! ~2–3 ms. Without PIE there is nothing to relocate (measured: 1.6 ms, 1.25× `/bin/true`).
//! Why it is not the default: the executable's own image then loses ASLR, and keyage handles
//! secrets. The shell integration (`keyage init`) reads precomputed files with zero forks per
//! prompt, so the binary's start-up matters only to prompts that call `keyage prompt` (e.g.
//! starship's custom module). Only the link step changes: no dependency is rebuilt.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=KEYAGE_NO_PIE");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let profile = std::env::var("PROFILE").unwrap_or_default();
    let no_pie = std::env::var_os("KEYAGE_NO_PIE").is_some_and(|v| v == "1");
    if os == "linux" && target_env == "gnu" && profile == "release" && no_pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
