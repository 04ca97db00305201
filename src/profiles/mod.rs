//! The AWS shared credentials and config files: where they are (`locate`), a lossless model of
//! their bytes (`document`), what each profile holds (`classify`), and the one write path, a
//! surgical atomic edit (`edit`).
//!
//! CONTRACT (other modules code against these items; keep their names and meaning):
//! - `Inventory::load(&Env) -> Result<Inventory>`: reads both files (a missing file is not an
//!   error: `LoadedFile::missing`), classifies every profile.
//! - `Inventory::keys()` groups static-key profiles by access key id (one `KeyGroup` per id).
//! - `Inventory::secret_for(key_id)` gives the secret held for that id (the SDK's choice of
//!   value when sections/keys are duplicated).
//! - `edit::replace_key(&Inventory, old_id, new_id, &SecretKey) -> Result<Vec<PathBuf>>`
//!   rewrites every section in every file that holds `old_id`, changing only the two values.

pub mod classify;
pub mod document;
pub mod edit;
pub(crate) mod locate;

use std::path::PathBuf;

use crate::env::Env;
use crate::error::Result;
use crate::secret::SecretKey;

/// Which of the two AWS files.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Credentials,
    Config,
}

/// A file as read from disk.
#[derive(Debug)]
pub struct LoadedFile {
    pub kind: FileKind,
    /// The path as configured (may be a symlink).
    pub path: PathBuf,
    /// None when the file does not exist.
    pub doc: Option<document::Document>,
    /// Unix mode bits, when known (for the group/other-readable warning).
    pub mode: Option<u32>,
}

/// What a profile holds, as far as keys go.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Class {
    /// A long-term IAM user key (`AKIA…`): the thing keyage ages and rotates.
    Static { key_id: String },
    /// A temporary key (`ASIA…`, with a session token): skipped.
    Temporary { key_id: String },
    /// role_arn / sso_* / credential_process / web_identity_token_file: no key of its own.
    NoStaticKey { source: String },
    /// Something is missing or odd (id without secret, secret without id, bad id).
    Incomplete { reason: String },
}

impl Class {
    /// The key id this profile holds, if any (static or temporary).
    pub(crate) fn key_id(&self) -> Option<&str> {
        match self {
            Class::Static { key_id } | Class::Temporary { key_id } => Some(key_id),
            _ => None,
        }
    }
}

/// One profile, after the SDK's merge of both files.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Profile {
    /// Profile name as the SDK knows it (`default`, `work`; no `profile ` prefix).
    pub name: String,
    pub class: Class,
    /// Where the access key id (or, if none, the section) lives: file and 1-based line.
    pub file: PathBuf,
    pub file_kind: FileKind,
    pub line: usize,
    /// Settings keyage uses when talking to AWS for this profile.
    pub region: Option<String>,
    pub mfa_serial: Option<String>,
    /// True when this is AWS_PROFILE (or `default` when unset).
    pub current: bool,
    /// Where each effective setting of this profile lives (after the SDK's merge). Names and
    /// places only, never values. Not serialized (keeps JSON output small).
    #[serde(skip)]
    pub sources: Vec<ValueSource>,
}

/// The place of one effective setting: which file, which section header, which line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueSource {
    /// Lower-cased key, e.g. `aws_access_key_id` (borrowed for the well-known keys).
    pub key: std::borrow::Cow<'static, str>,
    pub file_kind: FileKind,
    /// 1-based line of the `[...]` header of the section that holds it.
    pub section_line: usize,
    /// 1-based line of the `key = value` line.
    pub line: usize,
}

impl LoadedFile {
    /// True when the file exists (and parsed).
    pub(crate) fn exists(&self) -> bool {
        self.doc.is_some()
    }
    /// "no credentials file at …" when the file is missing (for `status`).
    pub fn missing_note(&self) -> Option<String> {
        if self.doc.is_some() {
            return None;
        }
        let what = match self.kind {
            FileKind::Credentials => "credentials",
            FileKind::Config => "config",
        };
        Some(format!("no {what} file at {}", self.path.display()))
    }
}

/// Profiles sharing one access key id.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KeyGroup {
    pub key_id: String,
    /// Profile names, in file order.
    pub profiles: Vec<String>,
}

/// Everything keyage knows from the two files.
#[derive(Debug)]
pub struct Inventory {
    pub credentials: LoadedFile,
    pub config: LoadedFile,
    pub profiles: Vec<Profile>,
    /// Name of the current profile (AWS_PROFILE or `default`).
    pub current: String,
    /// Non-fatal findings, e.g. "credentials file is readable by others: chmod 600 …".
    pub warnings: Vec<String>,
    secrets: Vec<(String, SecretKey)>,
    /// Key ids `keyage protect` keeps in the OS keyring: their profiles read
    /// `credential_process` and are classified `Static` with the id from the protect index
    /// (`crate::protect::index`); their secrets are in no file.
    pub protected: std::collections::BTreeSet<String>,
}

impl Inventory {
    /// Finds and reads both files the way the AWS SDKs do.
    pub fn load(env: &Env) -> Result<Inventory> {
        classify::load(env)
    }
    pub(crate) fn from_parts(
        credentials: LoadedFile,
        config: LoadedFile,
        profiles: Vec<Profile>,
        current: String,
        warnings: Vec<String>,
        secrets: Vec<(String, SecretKey)>,
    ) -> Self {
        Inventory {
            credentials,
            config,
            profiles,
            current,
            warnings,
            secrets,
            protected: Default::default(),
        }
    }
    /// True when `key_id` is kept in the OS keyring by `keyage protect`.
    pub(crate) fn is_protected(&self, key_id: &str) -> bool {
        self.protected.contains(key_id)
    }
    /// Static keys grouped by id, in order of first appearance.
    pub fn keys(&self) -> Vec<KeyGroup> {
        let mut out: Vec<KeyGroup> = Vec::new();
        let mut index: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::with_capacity(self.profiles.len());
        for p in &self.profiles {
            if let Class::Static { key_id } = &p.class {
                match index.get(key_id.as_str()) {
                    Some(&i) => out[i].profiles.push(p.name.clone()),
                    None => {
                        index.insert(key_id, out.len());
                        out.push(KeyGroup {
                            key_id: key_id.clone(),
                            profiles: vec![p.name.clone()],
                        });
                    }
                }
            }
        }
        out
    }
    /// The secret the SDK would use with this key id.
    pub fn secret_for(&self, key_id: &str) -> Option<&SecretKey> {
        if key_id.is_empty() {
            return None;
        }
        self.secrets
            .iter()
            .find(|(id, _)| id == key_id)
            .map(|(_, s)| s)
    }
    /// The effective value of `key` in profile `name` (after the SDK's merge), if set.
    pub(crate) fn value_of(&self, name: &str, key: &str) -> Option<String> {
        let p = self.profile(name)?;
        let src = p.sources.iter().rev().find(|s| s.key == key)?;
        let doc = self.file(src.file_kind).doc.as_ref()?;
        doc.sections()
            .iter()
            .flat_map(|s| doc.entries(s))
            .find(|e| e.line == src.line && e.key == key)
            .map(|e| doc.value(e).into_owned())
    }
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }
    /// Both files, credentials first.
    pub(crate) fn files(&self) -> [&LoadedFile; 2] {
        [&self.credentials, &self.config]
    }
    /// The loaded file of this kind.
    pub fn file(&self, kind: FileKind) -> &LoadedFile {
        match kind {
            FileKind::Credentials => &self.credentials,
            FileKind::Config => &self.config,
        }
    }
    /// Every secret value found in either file (for the commit scanner's exact matches).
    pub(crate) fn all_secrets(&self) -> impl Iterator<Item = &SecretKey> {
        self.secrets.iter().map(|(_, s)| s)
    }
}
