//! The two programs: the small `keyage` front runs the fast paths itself (prompt, hook, init,
//! `status --offline`) and hands every other command to `keyage-core` beside it.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{text, Sandbox};

const FRONT: &str = env!("CARGO_BIN_EXE_keyage");
const CORE: &str = env!("CARGO_BIN_EXE_keyage-core");

/// The code (text) symbols a binary defines, by `nm` (binutils).
fn code_symbols(bin: &str) -> String {
    let out = Command::new("nm")
        .args(["--defined-only", bin])
        .output()
        .expect("nm (binutils) is installed");
    assert!(out.status.success(), "nm {bin}");
    text(&out.stdout)
        .lines()
        .filter(|l| l.contains(" T ") || l.contains(" t "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The reason for the split: the front must not link the AWS SDK, its HTTP stack, the async
/// runtime, D-Bus or the keyring. Mangled names (length-prefixed crate names) of code symbols
/// are looked for in both binaries, so the check is not vacuous.
#[test]
fn front_links_no_sdk_runtime_or_dbus() {
    let front = code_symbols(FRONT);
    let core = code_symbols(CORE);
    for krate in [
        "aws_sdk_iam",
        "aws_sdk_sts",
        "aws_config",
        "aws_smithy_runtime",
        "hyper",
        "tokio",
        "zbus",
        "keyring",
        "notify_rust",
    ] {
        let mangled = format!("{}{krate}", krate.len());
        assert!(
            core.contains(&mangled),
            "keyage-core has no {krate} code: built without symbols?"
        );
        assert!(!front.contains(&mangled), "the keyage front links {krate}");
    }
}

/// A copy of the front alone in a folder (no keyage-core beside it). `cp` writes it, not this
/// process: a write handle open here while another test thread forks would leak into that
/// child, and exec of the copy would then fail with "Text file busy" (ETXTBSY).
fn lonely_front(dir: &Path) -> PathBuf {
    let p = dir.join("keyage");
    let st = Command::new("cp").arg(FRONT).arg(&p).status().unwrap();
    assert!(st.success(), "cp {FRONT}");
    p
}

#[test]
fn fast_paths_run_in_the_front_alone_and_the_rest_needs_the_core() {
    let sb = Sandbox::new();
    sb.write_credentials(
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    );
    let bin = tempfile::tempdir().unwrap();
    let front = lonely_front(bin.path());
    let run = |args: &[&str]| {
        sb.command(front.to_str().unwrap())
            .args(args)
            .output()
            .unwrap()
    };
    for args in [
        &["status", "--offline"][..],
        &["status", "--offline", "--json"][..],
        &["prompt"][..],
        &["init", "bash"][..],
    ] {
        let out = run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let out = run(&["status", "--offline"]);
    assert!(text(&out.stdout).contains("AKIA"));

    for args in [&["status"][..], &["doctor"][..], &["--version"][..]] {
        let out = run(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("keyage-core"), "{args:?}: {err}");
        assert!(err.contains("cargo install"), "{args:?}: {err}");
    }
}

#[test]
fn handed_over_commands_look_like_keyage() {
    let sb = Sandbox::new();
    // --version and --help come from the core but name `keyage`.
    let out = sb.keyage().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let core = Command::new(CORE).arg("--version").output().unwrap();
    assert_eq!(out.stdout, core.stdout);
    let out = sb.keyage().args(["doctor", "--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("Usage: keyage doctor"));
    // A usage error: exit 2, clap's message naming `keyage`.
    let out = sb.keyage().args(["status", "--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Usage: keyage status"));
    // Exit codes and messages pass through unchanged (an unknown profile).
    let args = ["status", "--profile", "nope"];
    let out = sb.keyage().args(args).output().unwrap();
    let core = sb.command(CORE).args(args).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(out.status.code(), core.status.code());
    assert_eq!(out.stderr, core.stderr);
}
