//! `keyage hook pre-commit`: blocks a commit that would record an AWS key.
//! No network, no async runtime: git, the AWS files and the state files only.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::Child;

use crate::cli::{HookArgs, HookKind};
use crate::env::Env;
use crate::error::{IoContext, Result};
use crate::scan::git::{allow_config, finish_diff, load_binaries, spawn_diff};
use crate::scan::staged::scan_staged;
use crate::scan::{Allowlist, Finding, Matcher, OwnValues};

pub(crate) fn run(env: &Env, args: HookArgs, early: EarlyDiff) -> Result<u8> {
    match args.hook {
        HookKind::PreCommit => pre_commit(env, early),
    }
}

/// The staged diff's git process, started by the front before it parses the command line when
/// that is exactly `keyage hook pre-commit` (git's diff is most of a commit's wait; this way it
/// also runs while clap parses). Empty otherwise, or when git could not be started here: the
/// hook then starts it itself and reports the error the usual way.
#[derive(Default)]
pub(crate) struct EarlyDiff(Option<(PathBuf, Child)>);

impl EarlyDiff {
    pub(crate) fn start(args: &[OsString]) -> EarlyDiff {
        if args.len() != 3 || args[1] != "hook" || args[2] != "pre-commit" {
            return EarlyDiff(None);
        }
        EarlyDiff(start_diff().ok())
    }
}

/// The working folder and the staged diff's git process, started in it.
fn start_diff() -> Result<(PathBuf, Child)> {
    let dir = std::env::current_dir().at("read", ".")?;
    let diff = spawn_diff(&dir)?;
    Ok((dir, diff))
}

fn pre_commit(env: &Env, early: EarlyDiff) -> Result<u8> {
    // One git process, started first: it runs while keyage reads the AWS files and the state.
    let (dir, diff) = match early.0 {
        Some(started) => started,
        None => start_diff()?,
    };
    let (own, notes) = OwnValues::load(env);
    let age = crate::surfaces::prompt::hook_age_warning(env);
    let matcher = Matcher::new(&own, Allowlist::default());
    let mut files = finish_diff(diff)?;
    load_binaries(&dir, &mut files)?;
    let mut findings = scan_staged(&dir, &matcher, &files);
    let mut err = std::io::stderr().lock();
    for n in &notes {
        let _ = writeln!(err, "keyage: note: {n}");
    }
    // The allowlist (.keyageignore, `git config keyage.allow`) can only remove findings, so it
    // is read only when there are some: a clean commit costs no second git process. It never
    // removes the user's own keys.
    if findings.iter().any(|f| !f.hit.kind.is_own()) {
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
    let _ = write!(err, "{}", advice(&findings));
    Ok(1)
}

/// What to do next. An own key cannot be allowlisted, so for those the advice is to take it
/// out (and rotate if it ever left the machine); the allowlist is offered only for the
/// pattern matches.
pub(crate) fn advice(findings: &[Finding]) -> String {
    let mut out = String::new();
    let own: Vec<&str> = {
        let mut v: Vec<&str> = findings
            .iter()
            .filter(|f| f.hit.kind.is_own())
            .map(|f| f.path.as_str())
            .collect();
        v.dedup();
        v
    };
    if !own.is_empty() {
        out.push_str(&format!(
            "Your own key is in {}. It cannot be allowlisted (.keyageignore, keyage.allow and \
             keyage:allow never apply to your own keys): take it out of the file (keep it in \
             the AWS files or a secret store), then `git add` the file again (or \
             `git rm --cached <file>` to stop tracking it). If it was ever pushed or shared, \
             rotate it: keyage rotate-self\n",
            own.join(", ")
        ));
    }
    if findings.iter().any(|f| !f.hit.kind.is_own()) {
        let lead = if own.is_empty() {
            "Not a real key?"
        } else {
            "For the other findings (not your own keys): not a real key?"
        };
        out.push_str(&format!(
            "{lead} Allow it: add the key id (or a path pattern) to .keyageignore, or \
             `git config --add keyage.allow <key id|path pattern>`, or put `keyage:allow` on \
             the line.\n"
        ));
    }
    out.push_str("To commit anyway: git commit --no-verify\n");
    out
}
