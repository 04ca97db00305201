//! Release binaries on Linux/glibc are linked as position-dependent executables (`-no-pie`).
//!
//! Why: the binary is ~15 MB (the AWS SDK is linked) and, as PIE, the dynamic loader applies
//! ~37k relative relocations at every start, writing (copy-on-write) every page of
//! `.data.rel.ro` and reading ~0.9 MB of `.rela.dyn`. That start-up cost dominated
//! `keyage prompt`, which runs on every shell prompt (issue 6: ≤ 3× `/bin/true`). Without PIE
//! there is nothing to relocate. Only the link step changes: the objects stay PIC, so no
//! dependency is rebuilt and test/dev builds (which do not run this branch) are untouched.
//! The trade-off is no ASLR for the executable's own image (libraries and stack keep it).
//! `KEYAGE_PIE=1` at build time keeps PIE.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=KEYAGE_PIE");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let target_env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let profile = std::env::var("PROFILE").unwrap_or_default();
    let keep_pie = std::env::var_os("KEYAGE_PIE").is_some_and(|v| v == "1");
    if os == "linux" && target_env == "gnu" && profile == "release" && !keep_pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
