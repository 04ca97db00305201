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
pub(crate) fn watched_files(env: &Env) -> Vec<PathBuf> {
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

pub(crate) struct Watch {
    watcher: Option<notify::RecommendedWatcher>,
    /// The folders of the watched files.
    folders: BTreeSet<PathBuf>,
    /// What is watched now: each folder, or while it does not exist its nearest existing
    /// ancestor (so its creation is seen).
    watching: BTreeSet<PathBuf>,
    tx: UnboundedSender<()>,
}

/// The folder itself when it exists, else its nearest existing ancestor.
fn watch_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find(|a| a.is_dir()).map(Path::to_path_buf)
}

impl Watch {
    pub(crate) fn new(env: &Env, tx: UnboundedSender<()>) -> Watch {
        let files: BTreeSet<PathBuf> = watched_files(env).into_iter().collect();
        let folders: BTreeSet<PathBuf> = files
            .iter()
            .filter_map(|f| f.parent().map(Path::to_path_buf))
            .collect();
        let names = files.clone();
        let wanted = folders.clone();
        let sender = tx.clone();
        let handler = move |res: notify::Result<notify::Event>| match res {
            Ok(ev) => {
                if matches!(ev.kind, EventKind::Access(_)) {
                    return;
                }
                // One of our files, or a folder on the way to one (being created).
                let relevant = ev
                    .paths
                    .iter()
                    .any(|p| names.contains(p) || wanted.iter().any(|w| w.starts_with(p)));
                if relevant {
                    let _ = sender.send(());
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
            tx,
        };
        w.rewatch();
        w
    }

    /// Moves the watches to the folders that exist now. When a folder appears, asks for one
    /// more refresh (a file may have been written in it before its watch started).
    pub(crate) fn rewatch(&mut self) {
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        let desired: BTreeSet<PathBuf> =
            self.folders.iter().filter_map(|d| watch_root(d)).collect();
        for old in self.watching.difference(&desired) {
            let _ = watcher.unwatch(old);
        }
        let mut appeared = false;
        for dir in desired.difference(&self.watching) {
            match watcher.watch(dir, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    tracing::debug!(folder = %dir.display(), "watching");
                    appeared |= !self.watching.is_empty() && self.folders.contains(dir);
                }
                Err(e) => tracing::warn!(folder = %dir.display(), "cannot watch: {e}"),
            }
        }
        self.watching = desired;
        if appeared {
            let _ = self.tx.send(());
        }
    }
}
