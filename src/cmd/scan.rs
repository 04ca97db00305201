//! `keyage scan [PATH...] [--home] [--json] [--verify]`: the hook's matcher over files and
//! folders. Folders are walked with the `ignore` crate (honours .gitignore); `--home` looks
//! where copied keys hide (rc and history files, `.env` files, tool configs). The AWS
//! credentials/config files themselves are never reported: that is where keys belong.
//! Paths listed in `.keyageignore` are still scanned for the user's own keys.
//! Exit 3 when something is found, 0 when not, 1 when a path does not exist.

use std::io::Write;
use std::path::Path;

use crate::cli::ScanArgs;
use crate::env::Env;
use crate::error::{Error, IoContext, Kind, Result};
use crate::scan::files::{special_kind, virtual_fs};
use crate::scan::home::{scan_home, Scanner};
use crate::scan::{Allowlist, Finding, Matcher, OwnValues};
use crate::secret::SecretKey;

/// `--verify` checks at most this many id + secret pairs.
const MAX_VERIFY: usize = 20;

#[derive(serde::Serialize)]
struct Report<'a> {
    findings: &'a [Finding],
    /// Documented example values seen (never counted as findings).
    ignored: &'a [Finding],
    files_scanned: usize,
    notes: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    verified: Option<&'a [crate::keys::verify::Checked]>,
}

pub(crate) fn run(env: &Env, args: ScanArgs) -> Result<u8> {
    let cwd = std::env::current_dir().at("read", ".")?;
    let paths = if args.paths.is_empty() && !args.home {
        vec![cwd.clone()]
    } else {
        args.paths.clone()
    };
    // A mistyped path must fail (in CI a silent "0 findings" would pass), before any work.
    for p in &paths {
        if let Err(e) = std::fs::symlink_metadata(p) {
            return Err(Error::new(
                Kind::Io,
                format!("cannot scan {}: {}", p.display(), io_reason(&e)),
            )
            .hint("check the path (keyage scan [PATH...], default: the current folder)"));
        }
    }
    let (own, mut notes) = OwnValues::load(env);
    let mut scanner = Scanner::new(env, cwd.clone(), args.verify);
    if args.home {
        let home = env
            .home()
            .ok_or_else(|| crate::error::Error::usage("HOME is not set"))?;
        let matcher = Matcher::new(&own, Allowlist::load(&home, &[]));
        scan_home(&mut scanner, &matcher, &home, env);
    }
    for p in &paths {
        if args.home && args.paths.is_empty() {
            break;
        }
        let root = if p.is_dir() {
            p.clone()
        } else {
            p.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let matcher = Matcher::new(&own, Allowlist::load(&root, &[]));
        if let Some(fs) = virtual_fs(p) {
            scanner.notes.push(format!(
                "skipped {} (on the virtual file system {fs})",
                p.display()
            ));
            continue;
        }
        let walk = ignore::WalkBuilder::new(p)
            .hidden(false)
            .filter_entry(|e| {
                e.file_name() != ".git"
                    && !(e.file_type().is_some_and(|t| t.is_dir())
                        && virtual_fs(e.path()).is_some())
            })
            .build();
        for entry in walk {
            match entry {
                Ok(e) => match e.file_type() {
                    Some(t) if t.is_file() => scanner.file(&matcher, e.path()),
                    Some(t) => {
                        if let Some(k) = special_kind(&t) {
                            scanner
                                .notes
                                .push(format!("skipped {} ({k})", e.path().display()));
                        }
                    }
                    None => {}
                },
                Err(e) => scanner.notes.push(format!("skipped: {e}")),
            }
        }
    }
    notes.append(&mut scanner.notes);
    let verified = match scanner.pairs.take() {
        Some(pairs) => Some(verify(env, pairs, &mut notes)?),
        None => None,
    };
    let found = !scanner.findings.is_empty();
    let mut out = std::io::stdout().lock();
    if args.json {
        let r = Report {
            findings: &scanner.findings,
            ignored: &scanner.ignored,
            files_scanned: scanner.files,
            notes: &notes,
            verified: verified.as_deref(),
        };
        let _ = serde_json::to_writer_pretty(&mut out, &r);
        let _ = writeln!(out);
    } else {
        for f in &scanner.findings {
            let _ = writeln!(out, "{}", f.render());
        }
        for v in verified.iter().flatten() {
            let _ = writeln!(out, "{}", v.render());
        }
        let mut err = std::io::stderr().lock();
        for f in &scanner.ignored {
            let _ = writeln!(err, "keyage: note: {} (ignored)", f.render());
        }
        for n in &notes {
            let _ = writeln!(err, "keyage: note: {n}");
        }
        let _ = writeln!(
            err,
            "keyage: {} finding(s) in {} file(s) scanned",
            scanner.findings.len(),
            scanner.files
        );
    }
    Ok(if found { 3 } else { 0 })
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// Checks the pairs live, one at a time, rate-limited; never in the hook.
fn verify(
    env: &Env,
    mut pairs: Vec<(String, SecretKey, String)>,
    notes: &mut Vec<String>,
) -> Result<Vec<crate::keys::verify::Checked>> {
    if pairs.len() > MAX_VERIFY {
        notes.push(format!(
            "--verify checked the first {MAX_VERIFY} of {} key id + secret pairs",
            pairs.len()
        ));
        pairs.truncate(MAX_VERIFY);
    }
    if pairs.is_empty() {
        notes.push("--verify: no key id + secret pair found to check".into());
        return Ok(Vec::new());
    }
    crate::keys::verify::check_pairs(env, pairs)
}
