//! The policy file `config.toml` (`KEYAGE_CONFIG`, else `$XDG_CONFIG_HOME/keyage/config.toml`).
//!
//! Every section any feature reads is defined here, so an unknown key or a bad value anywhere is
//! an error naming the file and line (`deny_unknown_fields`, toml's spans). A missing file means
//! the defaults.
//!
//! ```toml
//! max_age_days = 90          # CIS AWS Foundations 1.14
//! warn_at_days = [75, 85]    # warn from the first; the agent reminds again at each
//! unused_after_days = 45     # an active key unused this long is `unused` (CIS 1.12)
//! cache_ttl_hours = 6        # re-ask IAM when cached facts are older
//!
//! [profiles.sandbox]         # per-profile overrides (any of the three above) or ignore
//! max_age_days = 30
//! [profiles.legacy]
//! ignore = true
//!
//! [prompt]
//! scope = "current"          # or "all"
//! format = "key {age}d{mark}"
//! expired_mark = "!"
//! pending_mark = "~"
//!
//! [hook]
//! block_on_age = false       # block commits when a local key is expired
//!
//! [agent]
//! refresh_hours = 6
//! auto_finalize = false
//! auto_rotate = false
//!
//! [store]                    # where the backout copies of secrets are kept (see docs/store.md)
//! backend = "auto"           # "auto" (OS keyring if it works, else file), "keyring", "file"
//! recipients = []            # file store: age1… / ssh-ed25519 … / ssh-rsa … public keys
//! recipients_file = "~/.config/keyage/recipients.txt"   # optional, one recipient a line
//! identities = []            # file store: private keys / age identity files to read with
//! passphrase = false         # file store: encrypt with a passphrase (scrypt) instead
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use crate::env::Env;
use crate::error::{Error, Result};

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Config {
    #[serde(deserialize_with = "days")]
    pub max_age_days: u32,
    #[serde(deserialize_with = "days_list")]
    pub warn_at_days: Vec<u32>,
    #[serde(deserialize_with = "days")]
    pub unused_after_days: u32,
    #[serde(deserialize_with = "hours")]
    pub cache_ttl_hours: u32,
    pub profiles: BTreeMap<String, ProfileOverride>,
    pub prompt: PromptConfig,
    pub hook: HookConfig,
    pub agent: AgentConfig,
    pub store: StoreConfig,
}

/// `[store] backend`: which store keeps the backout copies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StoreBackend {
    /// The OS keyring when it is there (a session bus with a Secret Service on Linux), else
    /// the encrypted file store.
    #[default]
    Auto,
    /// Always the OS keyring (refuse when it does not work).
    Keyring,
    /// Always the encrypted file store.
    File,
}

impl StoreBackend {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StoreBackend::Auto => "auto",
            StoreBackend::Keyring => "keyring",
            StoreBackend::File => "file",
        }
    }
}

/// `[store]`: where the backout copies are kept, and for the file store, to whom they are
/// encrypted and with what they are read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct StoreConfig {
    pub backend: StoreBackend,
    /// age recipients (`age1…`) or SSH public keys (`ssh-ed25519 …`, `ssh-rsa …`). Empty (and
    /// no `recipients_file`): `~/.ssh/id_ed25519.pub` and `~/.ssh/id_rsa.pub`.
    pub recipients: Vec<String>,
    /// A file with one recipient a line (`#` comments), like `age -R`.
    pub recipients_file: Option<String>,
    /// Private keys to read copies with: SSH private keys or age identity files
    /// (`AGE-SECRET-KEY-1…`). Empty: the private keys next to the default `.pub` files.
    pub identities: Vec<String>,
    /// Encrypt with a passphrase (age scrypt) instead of to keys.
    pub passphrase: bool,
}

/// `[profiles.NAME]`: overrides for the key of one profile.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct ProfileOverride {
    #[serde(deserialize_with = "opt_days")]
    pub max_age_days: Option<u32>,
    #[serde(deserialize_with = "opt_days_list")]
    pub warn_at_days: Option<Vec<u32>>,
    #[serde(deserialize_with = "opt_days")]
    pub unused_after_days: Option<u32>,
    /// Do not judge this profile's key at all (level `skipped`).
    pub ignore: bool,
}

/// Which keys the prompt segment looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PromptScope {
    /// The key of `AWS_PROFILE` (or `default`).
    #[default]
    Current,
    /// The worst of all keys.
    All,
}

/// `[prompt]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct PromptConfig {
    pub scope: PromptScope,
    /// `{age}` is the age in days (`≥12` when only a lower bound is known), `{mark}` the
    /// expired/pending mark, `{level}` the level name, `{profile}` the profile (or `all`).
    #[serde(deserialize_with = "format_string")]
    pub format: String,
    pub expired_mark: String,
    pub pending_mark: String,
}

impl Default for PromptConfig {
    fn default() -> Self {
        PromptConfig {
            scope: PromptScope::Current,
            format: "key {age}d{mark}".to_string(),
            expired_mark: "!".to_string(),
            pending_mark: "~".to_string(),
        }
    }
}

/// `[hook]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct HookConfig {
    /// Block the commit (not only warn) when a local key is expired.
    pub block_on_age: bool,
}

/// `[agent]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AgentConfig {
    #[serde(deserialize_with = "hours")]
    pub refresh_hours: u32,
    pub auto_finalize: bool,
    pub auto_rotate: bool,
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            refresh_hours: 6,
            auto_finalize: false,
            auto_rotate: false,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_age_days: 90,
            warn_at_days: vec![75, 85],
            unused_after_days: 45,
            cache_ttl_hours: 6,
            profiles: BTreeMap::new(),
            prompt: PromptConfig::default(),
            hook: HookConfig::default(),
            agent: AgentConfig::default(),
            store: StoreConfig::default(),
        }
    }
}

/// The rules that apply to one key (after per-profile overrides).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Policy {
    pub max_age_days: u32,
    /// Sorted, all below `max_age_days`.
    pub warn_at_days: Vec<u32>,
    pub unused_after_days: u32,
    pub ignore: bool,
}

impl Config {
    /// Reads the config file; a missing file gives the defaults.
    pub(crate) fn load(env: &Env) -> Result<Config> {
        let path = env.config_file();
        match crate::sys::fs::read_optional(&path, crate::sys::fs::cap::CONFIG)? {
            Some(bytes) => {
                let text = String::from_utf8(bytes)
                    .map_err(|_| Error::input(&path, 1, "the file is not UTF-8 text"))?;
                Config::parse(&text, &path)
            }
            None => Ok(Config::default()),
        }
    }

    /// Parses and validates `text` (read from `path`, used in messages).
    pub(crate) fn parse(text: &str, path: &Path) -> Result<Config> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| line_at(text, s.start))
                .unwrap_or(1);
            Error::input(path, line, e.message().trim_end()).hint(format!(
                "fix the value or remove the line; the keys are described in the keyage README (config file {})",
                path.display()
            ))
        })?;
        cfg.validate(text, path)?;
        Ok(cfg)
    }

    fn validate(&self, text: &str, path: &Path) -> Result<()> {
        check_warn(self.max_age_days, &self.warn_at_days, text, path, None)?;
        for (name, o) in &self.profiles {
            // Inherited thresholds are trimmed to fit a lower max (see `policy_for`); only
            // thresholds written in the profile's own table must be below its max.
            if let Some(warn) = &o.warn_at_days {
                let max = o.max_age_days.unwrap_or(self.max_age_days);
                check_warn(max, warn, text, path, Some(name))?;
            }
        }
        if !self.prompt.format.contains("{age}") && !self.prompt.format.contains("{level}") {
            return Err(Error::input(
                path,
                key_line(text, "format", Some("[prompt]")),
                "prompt format shows neither {age} nor {level}",
            )
            .hint("e.g. format = \"key {age}d{mark}\""));
        }
        for r in &self.store.recipients {
            if let Err(why) = crate::store::file::parse_recipient(r) {
                return Err(Error::input(
                    path,
                    key_line(text, "recipients", Some("[store]")),
                    format!("[store] recipients: {why}"),
                )
                .hint("a recipient is an age public key (age1…, from `age-keygen`) or one line of an SSH public key file (ssh-ed25519 … or ssh-rsa …)"));
            }
        }
        if self.store.passphrase
            && (!self.store.recipients.is_empty() || self.store.recipients_file.is_some())
        {
            return Err(Error::input(
                path,
                key_line(text, "passphrase", Some("[store]")),
                "[store] passphrase = true cannot be combined with recipients (age allows a passphrase only alone)",
            )
            .hint("remove `passphrase = true`, or remove the recipients"));
        }
        Ok(())
    }

    /// The policy for a key held by these profiles: the strictest of their overrides; ignored
    /// only when every profile is ignored.
    pub(crate) fn policy_for<'a>(&self, profiles: impl IntoIterator<Item = &'a str>) -> Policy {
        let mut out: Option<Policy> = None;
        for name in profiles {
            let o = self.profiles.get(name).cloned().unwrap_or_default();
            let max = o.max_age_days.unwrap_or(self.max_age_days);
            let mut warn = o
                .warn_at_days
                .clone()
                .unwrap_or_else(|| self.warn_at_days.clone());
            warn.retain(|w| *w < max);
            if warn.is_empty() && max > 1 {
                warn.push(max - (max / 6).max(1));
            }
            warn.sort_unstable();
            warn.dedup();
            let p = Policy {
                max_age_days: max,
                warn_at_days: warn,
                unused_after_days: o.unused_after_days.unwrap_or(self.unused_after_days),
                ignore: o.ignore,
            };
            out = Some(match out {
                None => p,
                Some(prev) => Policy {
                    max_age_days: prev.max_age_days.min(p.max_age_days),
                    warn_at_days: if prev.max_age_days <= p.max_age_days {
                        prev.warn_at_days
                    } else {
                        p.warn_at_days
                    },
                    unused_after_days: prev.unused_after_days.min(p.unused_after_days),
                    ignore: prev.ignore && p.ignore,
                },
            });
        }
        out.unwrap_or_else(|| self.policy_for(["\u{0}none"]))
    }

    /// The cache time-to-live.
    pub(crate) fn cache_ttl(&self) -> chrono::Duration {
        chrono::Duration::hours(i64::from(self.cache_ttl_hours))
    }
}

fn check_warn(
    max: u32,
    warn: &[u32],
    text: &str,
    path: &Path,
    profile: Option<&str>,
) -> Result<()> {
    if let Some(w) = warn.iter().find(|w| **w >= max) {
        let section = profile.map(|p| format!("[profiles.{p}]"));
        let line = key_line(text, "warn_at_days", section.as_deref());
        return Err(Error::input(
            path,
            line,
            format!("warn_at_days has {w}, which is not below max_age_days ({max})"),
        )
        .hint("warnings must come before the key expires, e.g. warn_at_days = [75, 85] with max_age_days = 90"));
    }
    Ok(())
}

/// 1-based line of byte offset `at`.
fn line_at(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The line of `key = …`: before the first table when `section` is None, else inside the
/// table whose header is `section`; else the header's line; else 1.
fn key_line(text: &str, key: &str, section: Option<&str>) -> usize {
    let mut current: Option<String> = None;
    let mut header_line = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            let h: String = t.chars().filter(|c| !c.is_whitespace()).collect();
            if section.is_some_and(|s| h == s) {
                header_line.get_or_insert(i + 1);
            }
            current = Some(h);
            continue;
        }
        let is_key = t
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='));
        if is_key && current.as_deref() == section {
            return i + 1;
        }
    }
    header_line.unwrap_or(1)
}

fn days<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u32, D::Error> {
    let v = i64::deserialize(d)?;
    in_range(v, 1, 3650, "days")
}

fn hours<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u32, D::Error> {
    let v = i64::deserialize(d)?;
    in_range(v, 0, 24 * 365, "hours")
}

fn days_list<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<u32>, D::Error> {
    let v = Vec::<i64>::deserialize(d)?;
    v.into_iter()
        .map(|x| in_range(x, 1, 3650, "days"))
        .collect()
}

fn opt_days<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<u32>, D::Error> {
    days(d).map(Some)
}

fn opt_days_list<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Vec<u32>>, D::Error> {
    days_list(d).map(Some)
}

fn format_string<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if s.contains('\n') || s.contains('\r') {
        return Err(serde::de::Error::custom(
            "the prompt format must be one line",
        ));
    }
    Ok(s)
}

fn in_range<E: serde::de::Error>(
    v: i64,
    lo: i64,
    hi: i64,
    unit: &str,
) -> std::result::Result<u32, E> {
    if v < lo || v > hi {
        return Err(E::custom(format!(
            "{v} is out of range: expected {lo} to {hi} {unit}"
        )));
    }
    u32::try_from(v).map_err(|_| E::custom("out of range"))
}

/// Where the config file is (for messages).
pub(crate) fn path(env: &Env) -> PathBuf {
    env.config_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<Config> {
        Config::parse(t, Path::new("/c/config.toml"))
    }

    /// The error of `t`, which must name line `line` of the file.
    fn err_at(t: &str, line: usize) -> crate::error::Error {
        let e = parse(t).unwrap_err();
        let at = format!("/c/config.toml:{line}:");
        assert!(e.message.starts_with(&at), "{}", e.message);
        e
    }

    #[test]
    fn defaults_when_empty() {
        let c = parse("").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.max_age_days, 90);
        assert_eq!(c.warn_at_days, vec![75, 85]);
        assert_eq!(c.unused_after_days, 45);
        assert_eq!(c.cache_ttl_hours, 6);
        assert_eq!(c.prompt.format, "key {age}d{mark}");
        assert!(!c.hook.block_on_age);
        assert_eq!(c.agent.refresh_hours, 6);
    }

    #[test]
    fn full_file() {
        let c = parse(
            "max_age_days = 60\nwarn_at_days = [50]\n[profiles.a]\nmax_age_days = 30\nwarn_at_days=[20,25]\n[profiles.b]\nignore = true\n[prompt]\nscope = \"all\"\n[hook]\nblock_on_age = true\n[agent]\nauto_rotate = true\n",
        )
        .unwrap();
        assert_eq!(c.max_age_days, 60);
        assert_eq!(c.prompt.scope, PromptScope::All);
        assert!(c.hook.block_on_age && c.agent.auto_rotate);
        let p = c.policy_for(["a"]);
        assert_eq!((p.max_age_days, p.warn_at_days.clone()), (30, vec![20, 25]));
        assert!(c.policy_for(["b"]).ignore);
        assert!(!c.policy_for(["a", "b"]).ignore);
        assert_eq!(c.policy_for(["b", "a"]).max_age_days, 30);
        assert_eq!(c.policy_for(["zzz"]).max_age_days, 60);
    }

    #[test]
    fn unknown_key_names_line() {
        let e = err_at("max_age_days = 90\n\n[prompt]\nformatt = \"x\"\n", 4);
        assert!(e.message.contains("formatt"), "{}", e.message);
        assert_eq!(e.exit_code(), 1);
        err_at("max_age = 3\n", 1);
        err_at("[profiles.x]\nignored = true\n", 2);
        err_at("[nope]\n", 1);
    }

    #[test]
    fn bad_values_name_line() {
        let e = err_at("# c\nmax_age_days = -3\n", 2);
        assert!(e.message.contains("out of range"), "{}", e.message);
        err_at("max_age_days = \"ninety\"\n", 1);
        err_at("\n\n[prompt]\nscope = \"everything\"\n", 4);
        let e = err_at("max_age_days = 90\nwarn_at_days = [75, 95]\n", 2);
        assert!(e.message.contains("95"), "{}", e.message);
        err_at("[profiles.a]\nmax_age_days = 30\nwarn_at_days = [40]\n", 3);
        // Inherited thresholds are trimmed to fit.
        let c = parse("[profiles.a]\nmax_age_days = 30\n").unwrap();
        assert_eq!(c.policy_for(["a"]).warn_at_days, vec![25]);
        err_at("[agent]\nrefresh_hours = 1.5\n", 2);
        err_at("[prompt]\nformat = \"key\"\n", 2);
        err_at("max_age_days = 90\nmax_age_days = 91\n", 2);
    }

    #[test]
    fn load_missing_and_env_override() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k.toml");
        let env = Env::from_pairs([("KEYAGE_CONFIG", p.to_str().unwrap())]);
        assert_eq!(Config::load(&env).unwrap(), Config::default());
        std::fs::write(&p, "max_age_days = 30\nwarn_at_days = [20]\n").unwrap();
        assert_eq!(Config::load(&env).unwrap().max_age_days, 30);
    }
}
