//! `keyage hook pre-commit`: blocks a commit that would record an AWS key.
//! No network, no async runtime: git, the AWS files and the state files only.

use std::io::Write;

use crate::cli::{HookArgs, HookKind};
use crate::env::Env;
use crate::error::{IoContext, Result};
use crate::surfaces::hook::{read_staged, scan_staged};
use crate::surfaces::scan::{Allowlist, Matcher, OwnValues};

pub fn run(env: &Env, args: HookArgs) -> Result<u8> {
    match args.hook {
        HookKind::PreCommit => pre_commit(env),
    }
}

fn pre_commit(env: &Env) -> Result<u8> {
    let dir = std::env::current_dir().at("read", ".")?;
    let staged = read_staged(&dir)?;
    let mut err = std::io::stderr().lock();
    let (own, note) = OwnValues::load(env);
    if let Some(n) = note {
        let _ = writeln!(err, "keyage: note: {n}");
    }
    let allow = Allowlist::load(&dir, &staged.allow);
    for w in &allow.warnings {
        let _ = writeln!(err, "keyage: warning: {w}");
    }
    let matcher = Matcher::new(&own, allow);
    let findings = scan_staged(&dir, &matcher, &staged)?;
    let age = crate::surfaces::prompt::hook_age_warning(env);
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
