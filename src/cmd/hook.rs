//! `keyage hook pre-commit`: blocks a commit that would record an AWS key.
//! No network, no async runtime: git, the AWS files and the state files only.

use std::io::Write;

use crate::cli::{HookArgs, HookKind};
use crate::env::Env;
use crate::error::{IoContext, Result};
use crate::surfaces::hook::{allow_config, finish_diff, load_binaries, scan_staged, spawn_diff};
use crate::surfaces::scan::{Allowlist, Matcher, OwnValues};

pub fn run(env: &Env, args: HookArgs) -> Result<u8> {
    match args.hook {
        HookKind::PreCommit => pre_commit(env),
    }
}

fn pre_commit(env: &Env) -> Result<u8> {
    let dir = std::env::current_dir().at("read", ".")?;
    // One git process, started first: it runs while keyage reads the AWS files and the state.
    let diff = spawn_diff(&dir)?;
    let (own, note) = OwnValues::load(env);
    let age = crate::surfaces::prompt::hook_age_warning(env);
    let matcher = Matcher::new(&own, Allowlist::default());
    let mut files = finish_diff(diff)?;
    load_binaries(&dir, &mut files)?;
    let mut findings = scan_staged(&dir, &matcher, &files);
    let mut err = std::io::stderr().lock();
    if let Some(n) = note {
        let _ = writeln!(err, "keyage: note: {n}");
    }
    // The allowlist (.keyageignore, `git config keyage.allow`) can only remove findings, so it
    // is read only when there are some: a clean commit costs no second git process.
    if !findings.is_empty() {
        let allow = Allowlist::load(&dir, &allow_config(&dir)?);
        for w in &allow.warnings {
            let _ = writeln!(err, "keyage: warning: {w}");
        }
        findings = scan_staged(&dir, &Matcher::new(&own, allow), &files);
    }
    let mut block = false;
    if let Some(a) = &age {
        let _ = writeln!(err, "keyage: {}", a.message);
        block |= a.block;
    }
    if findings.is_empty() {
        if block {
            let _ = writeln!(
                err,
                "keyage: commit blocked by [hook] block_on_age: rotate with `keyage rotate-self`, \
                 or commit anyway with `git commit --no-verify`"
            );
            return Ok(1);
        }
        return Ok(0);
    }
    let _ = writeln!(
        err,
        "keyage: commit blocked: AWS keys in the staged changes:"
    );
    for f in &findings {
        let _ = writeln!(err, "  {}", f.render());
    }
    let own_hit = findings.iter().any(|f| f.kind.is_own());
    if own_hit {
        let _ = writeln!(
            err,
            "Remove your own key from these files (use the AWS files or a secret store); if it \
             was ever pushed, rotate it: keyage rotate-self"
        );
    }
    let _ = writeln!(
        err,
        "Not a real key? Allow it: add the key id (or a path pattern) to .keyageignore, or \
         `git config --add keyage.allow <key id|path pattern>`, or put `keyage:allow` on the line."
    );
    let _ = writeln!(err, "To commit anyway: git commit --no-verify");
    Ok(1)
}
