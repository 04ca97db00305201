//! Watches the AWS credentials and config files and keyage's config file. Editors replace
//! files (write a temp file, rename it over), so the watch is on each file's folder, filtered
//! to the file names we care about. A folder that does not exist yet is retried after each
//! cycle (`rewatch`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc::UnboundedSender;

use crate::env::Env;

/// The files whose change triggers a refresh.
pub fn watched_files(env: &Env) -> Vec<PathBuf> {
    let aws = |var: &str, name: &str| match env.get(var) {
        Some(p) => env.expand_tilde(p),
        None => env
            .home()
            .unwrap_or_else(|| PathBuf::from("."))
            .join(".aws")
            .join(name),
    };
    vec![
        aws("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        aws("AWS_CONFIG_FILE", "config"),
        env.config_file(),
    ]
}

pub struct Watch {
    watcher: Option<notify::RecommendedWatcher>,
    folders: BTreeSet<PathBuf>,
    watching: BTreeSet<PathBuf>,
}

impl Watch {
    pub fn new(env: &Env, tx: UnboundedSender<()>) -> Watch {
        let files: BTreeSet<PathBuf> = watched_files(env).into_iter().collect();
        let folders: BTreeSet<PathBuf> = files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf))
            .collect();
        let names = files.clone();
        let handler = move |res: notify::Result<notify::Event>| match res {
            Ok(ev) => {
                if matches!(ev.kind, EventKind::Access(_)) {
                    return;
                }
                if ev.paths.iter().any(|p| names.contains(p)) {
                    let _ = tx.send(());
                }
            }
            Err(e) => tracing::debug!("file watch error: {e}"),
        };
        let watcher = match notify::recommended_watcher(handler) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!("cannot watch files ({e}); refreshing on the timer only");
                None
            }
        };
        let mut w = Watch {
            watcher,
            folders,
            watching: BTreeSet::new(),
        };
        w.rewatch();
        w
    }

    /// Starts watching folders that now exist.
    pub fn rewatch(&mut self) {
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        for dir in &self.folders {
            if self.watching.contains(dir) {
                if !dir.is_dir() {
                    let _ = watcher.unwatch(dir);
                    self.watching.remove(dir);
                }
                continue;
            }
            if !dir.is_dir() {
                tracing::debug!(folder = %dir.display(), "not there yet; not watched");
                continue;
            }
            match watcher.watch(dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    tracing::debug!(folder = %dir.display(), "watching");
                    self.watching.insert(dir.clone());
                }
                Err(e) => tracing::warn!(folder = %dir.display(), "cannot watch: {e}"),
            }
        }
    }
}
