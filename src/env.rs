//! A snapshot of the process environment, so that everything that depends on HOME, XDG and
//! AWS_* variables can be tested as a pure function of this struct.

use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The real environment of this process (non-UTF-8 values are skipped).
    pub(crate) fn from_process() -> Self {
        Env {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }
    /// An environment made of the given pairs (tests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
    /// A variable's value; an empty value counts as unset.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
    /// HOME, then USERPROFILE (as the AWS SDKs do).
    pub(crate) fn home(&self) -> Option<PathBuf> {
        self.get("HOME")
            .or_else(|| self.get("USERPROFILE"))
            .map(PathBuf::from)
    }
    /// Expands a leading `~/` (or a lone `~`) with `home()`.
    pub(crate) fn expand_tilde(&self, p: &str) -> PathBuf {
        if p == "~" {
            if let Some(h) = self.home() {
                return h;
            }
        }
        if let Some(rest) = p.strip_prefix("~/").or_else(|| p.strip_prefix("~\\")) {
            if let Some(h) = self.home() {
                return h.join(rest);
            }
        }
        PathBuf::from(p)
    }
    /// The profile in use: AWS_PROFILE, else AWS_DEFAULT_PROFILE, else `default`.
    pub(crate) fn current_profile(&self) -> String {
        self.get("AWS_PROFILE")
            .or_else(|| self.get("AWS_DEFAULT_PROFILE"))
            .unwrap_or("default")
            .to_string()
    }
    /// `$XDG_STATE_HOME/keyage` (default `~/.local/state/keyage`); `KEYAGE_STATE_DIR` overrides.
    pub(crate) fn state_dir(&self) -> PathBuf {
        if let Some(d) = self.get("KEYAGE_STATE_DIR") {
            return PathBuf::from(d);
        }
        self.xdg("XDG_STATE_HOME", ".local/state").join("keyage")
    }
    /// `$XDG_DATA_HOME/keyage` (default `~/.local/share/keyage`): the file store lives here.
    pub(crate) fn data_dir(&self) -> PathBuf {
        self.xdg("XDG_DATA_HOME", ".local/share").join("keyage")
    }
    /// `$XDG_CONFIG_HOME` when absolute (the XDG spec ignores a relative one), else
    /// `~/.config`. The one place it is resolved (git, fish, the agent's units and keyage's
    /// own config all live under it).
    pub(crate) fn xdg_config_home(&self) -> PathBuf {
        self.xdg("XDG_CONFIG_HOME", ".config")
    }
    /// `$XDG_CONFIG_HOME/keyage` (default `~/.config/keyage`).
    pub(crate) fn config_dir(&self) -> PathBuf {
        self.xdg_config_home().join("keyage")
    }
    /// The policy file: `KEYAGE_CONFIG`, else `config_dir()/config.toml`.
    pub(crate) fn config_file(&self) -> PathBuf {
        match self.get("KEYAGE_CONFIG") {
            Some(p) => self.expand_tilde(p),
            None => self.config_dir().join("config.toml"),
        }
    }
    fn xdg(&self, var: &str, fallback: &str) -> PathBuf {
        match self.get(var) {
            Some(p) if PathBuf::from(p).is_absolute() => PathBuf::from(p),
            _ => self
                .home()
                .unwrap_or_else(|| PathBuf::from("."))
                .join(fallback),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn tilde_and_xdg() {
        let e = Env::from_pairs([("HOME", "/h"), ("XDG_STATE_HOME", "/s")]);
        assert_eq!(e.expand_tilde("~/x"), PathBuf::from("/h/x"));
        assert_eq!(e.state_dir(), PathBuf::from("/s/keyage"));
        assert_eq!(e.config_dir(), PathBuf::from("/h/.config/keyage"));
        let e = Env::from_pairs([("USERPROFILE", "/u"), ("AWS_PROFILE", "")]);
        assert_eq!(e.expand_tilde("~/a"), PathBuf::from("/u/a"));
        assert_eq!(e.current_profile(), "default");
    }
}
