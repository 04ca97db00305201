//! `keyage scan [PATH...] [--home] [--json] [--verify]`: the hook's matcher over files and
//! folders. Folders are walked with the `ignore` crate (honours .gitignore); `--home` looks
//! where copied keys hide (rc and history files, `.env` files, tool configs). The AWS
//! credentials/config files themselves are never reported: that is where keys belong.
//! Paths listed in `.keyageignore` are still scanned for the user's own keys.
//! Exit 3 when something is found, 0 when not, 1 when a path does not exist.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::ScanArgs;
use crate::env::Env;
use crate::error::{Error, IoContext, Kind, Result};
use crate::scan::files::{read_regular, special_kind, virtual_fs};
use crate::scan::{findings_for, own_only, Allowlist, Finding, Matcher, OwnValues};
use crate::secret::SecretKey;

/// Files bigger than this are skipped (noted), so a stray disk image does not stall a scan.
const MAX_FILE: u64 = 256 * 1024 * 1024;
/// How deep `--home` looks for `.env` files and under `~/.config`.
const HOME_DEPTH: usize = 5;
/// `--verify` checks at most this many id + secret pairs.
const MAX_VERIFY: usize = 20;

/// Files in the home folder where a copied key often ends up.
pub(crate) const HOME_FILES: &[&str] = &[
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
        ignored: Vec::new(),
        files: 0,
        seen: HashSet::new(),
        aws_files,
        notes: Vec::new(),
        cwd: cwd.clone(),
        pairs: args.verify.then(Vec::new),
    };
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

struct Scanner {
    findings: Vec<Finding>,
    ignored: Vec<Finding>,
    files: usize,
    seen: HashSet<PathBuf>,
    aws_files: HashSet<PathBuf>,
    notes: Vec<String>,
    cwd: PathBuf,
    /// With `--verify`: (key id, secret, where) of each pair found.
    pairs: Option<Vec<(String, SecretKey, String)>>,
}

impl Scanner {
    fn file(&mut self, matcher: &Matcher, path: &Path) {
        let Ok(real) = std::fs::canonicalize(path) else {
            return;
        };
        if self.aws_files.contains(&real) || !self.seen.insert(real) {
            return;
        }
        let bytes = match read_regular(path, MAX_FILE) {
            Ok(b) => zeroize::Zeroizing::new(b),
            Err(s) => {
                self.notes
                    .push(format!("skipped {} ({})", path.display(), s.describe()));
                return;
            }
        };
        self.files += 1;
        let shown = path.strip_prefix(&self.cwd).unwrap_or(path);
        let shown = shown.to_string_lossy();
        let mut found = findings_for(matcher, &shown, &bytes);
        let (blocking, examples): (Vec<Finding>, Vec<Finding>) =
            found.drain(..).partition(|f| f.kind.blocks());
        let mut blocking = blocking;
        if matcher.allowlist().allows_path(path, false) {
            own_only(&mut blocking);
        } else {
            self.ignored.extend(examples);
        }
        if let Some(pairs) = &mut self.pairs {
            if !blocking.is_empty() {
                for (id, secret, at) in crate::scan::pairs(matcher, &bytes) {
                    if !pairs.iter().any(|(i, _, _)| *i == id) {
                        pairs.push((id, secret, format!("{shown}:{at}")));
                    }
                }
            }
        }
        self.findings.extend(blocking);
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
/// skipping [`HOME_SKIP_DIRS`], symlinked folders and virtual file systems.
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
                    || skip_dir.as_deref() == Some(e.path())
                    || virtual_fs(e.path()).is_some()))
        })
        .build();
    for e in walk.flatten() {
        if e.file_type().is_some_and(|t| t.is_file()) {
            on_file(e.path());
        }
    }
}
