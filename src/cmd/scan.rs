//! `keyage scan [PATH...] [--home] [--json]`: the hook's matcher over files and folders.
//! Folders are walked with the `ignore` crate (honours .gitignore and .keyageignore); `--home`
//! looks where copied keys hide (rc and history files, `.env` files, tool configs). The AWS
//! credentials/config files themselves are never reported: that is where keys belong.
//! Exit 3 when something is found, 0 when not.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::ScanArgs;
use crate::env::Env;
use crate::error::{IoContext, Result};
use crate::surfaces::scan::{findings_for, Allowlist, Finding, Matcher, OwnValues};

/// Files bigger than this are skipped (noted), so a stray disk image does not stall a scan.
const MAX_FILE: u64 = 256 * 1024 * 1024;
/// How deep `--home` looks for `.env` files and under `~/.config`.
const HOME_DEPTH: usize = 5;

/// Files in the home folder where a copied key often ends up.
pub const HOME_FILES: &[&str] = &[
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".profile",
    ".bash_history",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".zsh_history",
    ".histfile",
    ".local/share/fish/fish_history",
    ".env",
    ".envrc",
    ".netrc",
    ".s3cfg",
    ".boto",
    ".passwd-s3fs",
    ".docker/config.json",
    ".npmrc",
    ".pypirc",
    ".git-credentials",
    ".gitconfig",
    ".terraformrc",
    ".terraform.d/credentials.tfrc.json",
    ".kube/config",
    ".m2/settings.xml",
    ".gradle/gradle.properties",
    ".cargo/credentials.toml",
];

/// Folders skipped by the `--home` walk (big, generated, or not the user's files).
const HOME_SKIP_DIRS: &[&str] = &[
    ".git",
    "node_modules",
    ".cache",
    ".cargo",
    ".rustup",
    "target",
    ".npm",
    ".venv",
    "venv",
    "__pycache__",
    ".local",
    "Trash",
    ".Trash",
    "snap",
    ".aws",
];

#[derive(serde::Serialize)]
struct Report<'a> {
    findings: &'a [Finding],
    files_scanned: usize,
    notes: &'a [String],
}

pub fn run(env: &Env, args: ScanArgs) -> Result<u8> {
    let (own, note) = OwnValues::load(env);
    let mut notes: Vec<String> = note.into_iter().collect();
    let cwd = std::env::current_dir().at("read", ".")?;
    let aws_files: HashSet<PathBuf> = [
        crate::surfaces::prompt::credentials_file(env),
        match env.get("AWS_CONFIG_FILE") {
            Some(p) => env.expand_tilde(p),
            None => env.expand_tilde("~/.aws/config"),
        },
    ]
    .iter()
    .filter_map(|p| std::fs::canonicalize(p).ok())
    .collect();
    let mut scanner = Scanner {
        findings: Vec::new(),
        files: 0,
        seen: HashSet::new(),
        aws_files,
        notes: Vec::new(),
        cwd: cwd.clone(),
    };
    if args.home {
        let home = env
            .home()
            .ok_or_else(|| crate::error::Error::usage("HOME is not set"))?;
        let matcher = Matcher::new(&own, Allowlist::load(&home, &[]));
        scan_home(&mut scanner, &matcher, &home, env);
    }
    let paths = if args.paths.is_empty() && !args.home {
        vec![cwd.clone()]
    } else {
        args.paths.clone()
    };
    for p in &paths {
        let root = if p.is_dir() {
            p.clone()
        } else {
            p.parent().map(Path::to_path_buf).unwrap_or_default()
        };
        let matcher = Matcher::new(&own, Allowlist::load(&root, &[]));
        let walk = ignore::WalkBuilder::new(p)
            .hidden(false)
            .add_custom_ignore_filename(".keyageignore")
            .filter_entry(|e| e.file_name() != ".git")
            .build();
        for entry in walk {
            match entry {
                Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => {
                    scanner.file(&matcher, e.path());
                }
                Ok(_) => {}
                Err(e) => scanner.notes.push(format!("skipped: {e}")),
            }
        }
    }
    notes.append(&mut scanner.notes);
    let found = !scanner.findings.is_empty();
    let mut out = std::io::stdout().lock();
    if args.json {
        let r = Report {
            findings: &scanner.findings,
            files_scanned: scanner.files,
            notes: &notes,
        };
        let _ = serde_json::to_writer_pretty(&mut out, &r);
        let _ = writeln!(out);
    } else {
        for f in &scanner.findings {
            let _ = writeln!(out, "{}", f.render());
        }
        let mut err = std::io::stderr().lock();
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

struct Scanner {
    findings: Vec<Finding>,
    files: usize,
    seen: HashSet<PathBuf>,
    aws_files: HashSet<PathBuf>,
    notes: Vec<String>,
    cwd: PathBuf,
}

impl Scanner {
    fn file(&mut self, matcher: &Matcher, path: &Path) {
        let Ok(real) = std::fs::canonicalize(path) else {
            return;
        };
        if self.aws_files.contains(&real) || !self.seen.insert(real) {
            return;
        }
        if matcher.allowlist().allows_path(path, false) {
            return;
        }
        match std::fs::metadata(path) {
            Ok(m) if m.len() > MAX_FILE => {
                self.notes.push(format!(
                    "skipped {} ({} MB, too big)",
                    path.display(),
                    m.len() >> 20
                ));
                return;
            }
            Ok(m) if !m.is_file() => return,
            Err(_) => return,
            _ => {}
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                self.notes
                    .push(format!("cannot read {}: {e}", path.display()));
                return;
            }
        };
        self.files += 1;
        let shown = path.strip_prefix(&self.cwd).unwrap_or(path);
        self.findings
            .extend(findings_for(matcher, &shown.to_string_lossy(), &bytes));
    }
}

fn scan_home(s: &mut Scanner, matcher: &Matcher, home: &Path, env: &Env) {
    for f in HOME_FILES {
        let p = home.join(f);
        if p.is_file() {
            s.file(matcher, &p);
        }
    }
    let xdg_config = env.xdg_config_home();
    // Tool configs: everything under ~/.config (but keyage's own folder), bounded.
    let own_dir = env.config_dir();
    walk_bounded(&xdg_config, HOME_DEPTH, Some(own_dir), &mut |p| {
        s.file(matcher, p)
    });
    // `.env` files anywhere under home, bounded, not in the usual heavy folders.
    walk_bounded(home, HOME_DEPTH, None, &mut |p| {
        if is_env_file(p) {
            s.file(matcher, p)
        }
    });
}

/// `.env`, `.env.local`, `prod.env`, `.envrc`.
fn is_env_file(p: &Path) -> bool {
    let Some(n) = p.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    n == ".env" || n == ".envrc" || n.starts_with(".env.") || n.ends_with(".env")
}

/// A plain walk (gitignored `.env` files are exactly what we look for), bounded in depth,
/// skipping [`HOME_SKIP_DIRS`] and symlinked folders.
fn walk_bounded(
    root: &Path,
    depth: usize,
    skip_dir: Option<PathBuf>,
    on_file: &mut dyn FnMut(&Path),
) {
    let walk = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .follow_links(false)
        .max_depth(Some(depth))
        .filter_entry(move |e| {
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            !(is_dir
                && (e
                    .file_name()
                    .to_str()
                    .is_some_and(|n| HOME_SKIP_DIRS.contains(&n))
                    || skip_dir.as_deref() == Some(e.path())))
        })
        .build();
    for e in walk.flatten() {
        if e.file_type().is_some_and(|t| t.is_file()) {
            on_file(e.path());
        }
    }
}
