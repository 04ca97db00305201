//! Where copied keys hide in the home folder (`keyage scan --home`): rc and history files,
//! `.env` files, tool configs. The AWS credentials/config files themselves are never
//! reported: that is where keys belong. Also used after a rotation to name the other copies
//! of the old key (`home_findings`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::scan::files::{view_regular, virtual_fs};
use crate::scan::{findings_for, own_only, Finding, Matcher};
use crate::secret::SecretKey;

/// Files bigger than this are skipped (noted), so a stray disk image does not stall a scan.
pub(crate) const MAX_FILE: u64 = 256 * 1024 * 1024;
/// How deep `--home` looks for `.env` files and under `~/.config`.
pub(crate) const HOME_DEPTH: usize = 5;
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

pub(crate) struct Scanner {
    pub findings: Vec<Finding>,
    pub ignored: Vec<Finding>,
    pub files: usize,
    pub seen: HashSet<PathBuf>,
    pub aws_files: HashSet<PathBuf>,
    pub notes: Vec<String>,
    pub cwd: PathBuf,
    /// With `--verify`: (key id, secret, where) of each pair found.
    pub pairs: Option<Vec<(String, SecretKey, String)>>,
}

impl Scanner {
    pub(crate) fn file(&mut self, matcher: &Matcher, path: &Path) {
        let Ok(real) = std::fs::canonicalize(path) else {
            return;
        };
        if self.aws_files.contains(&real) || !self.seen.insert(real) {
            return;
        }
        let bytes = match view_regular(path, MAX_FILE) {
            Ok(b) => b,
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
            found.drain(..).partition(|f| f.hit.kind.blocks());
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

pub(crate) fn scan_home(s: &mut Scanner, matcher: &Matcher, home: &Path, env: &Env) {
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
pub(crate) fn walk_bounded(
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

/// The AWS credentials and config files (real paths): never reported.
pub(crate) fn aws_files(env: &Env) -> HashSet<PathBuf> {
    [
        crate::surfaces::prompt::credentials_file(env),
        match env.get("AWS_CONFIG_FILE") {
            Some(p) => env.expand_tilde(p),
            None => env.expand_tilde("~/.aws/config"),
        },
    ]
    .iter()
    .filter_map(|p| std::fs::canonicalize(p).ok())
    .collect()
}

impl Scanner {
    /// An empty scanner; paths are shown relative to `cwd`.
    pub(crate) fn new(env: &Env, cwd: PathBuf, verify: bool) -> Scanner {
        Scanner {
            findings: Vec::new(),
            ignored: Vec::new(),
            files: 0,
            seen: HashSet::new(),
            aws_files: aws_files(env),
            notes: Vec::new(),
            cwd,
            pairs: verify.then(Vec::new),
        }
    }
}

/// What `keyage scan --home` finds (the blocking findings), with the user's own keys as they
/// are now (`OwnValues::load`). Empty without HOME.
pub(crate) fn home_findings(env: &Env) -> Vec<Finding> {
    let Some(home) = env.home() else {
        return Vec::new();
    };
    let (own, _) = crate::scan::OwnValues::load(env);
    let matcher = Matcher::new(&own, crate::scan::Allowlist::load(&home, &[]));
    let mut s = Scanner::new(env, home.clone(), false);
    scan_home(&mut s, &matcher, &home, env);
    s.findings
}
