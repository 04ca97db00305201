//! What each profile holds, after the AWS SDK's merge of the two files.
//!
//! Merge rules (aws-runtime `env_config::normalize`, which aws-config uses):
//! - the config file is merged first, then the credentials file: for the same profile, a key in
//!   the credentials file wins over the same key in the config file;
//! - within one file, sections with the same header are merged and, for a key set more than
//!   once, the later line wins;
//! - config file: `[profile name]` and `[default]` are profiles; `[name]` (other than default)
//!   is ignored; a `[profile default]` makes every `[default]` of the config file ignored;
//!   `[sso-session x]`, `[services x]` … are not profiles;
//! - credentials file: `[name]` is a profile; `[profile name]` (any prefix) is ignored;
//! - a profile name must match `[A-Za-z0-9_\-/.%@:+]+`, else the section is ignored.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use super::document::{is_identifier, Document, Entry, Section};
use super::{locate, Class, FileKind, Inventory, LoadedFile, Profile, ValueSource};
use crate::env::Env;
use crate::error::Result;
use crate::secret::{secret, SecretKey};

pub(crate) const ACCESS_KEY_ID: &str = "aws_access_key_id";
pub(crate) const SECRET_ACCESS_KEY: &str = "aws_secret_access_key";
pub(crate) const SESSION_TOKEN: &str = "aws_session_token";

/// Keys that make a profile get credentials from elsewhere, in the SDK's order of precedence.
pub(crate) const NO_STATIC_SOURCES: &[&str] = &[
    "role_arn",
    "credential_source",
    "web_identity_token_file",
    "sso_session",
    "sso_start_url",
    "login_session",
    "credential_process",
];

/// How a profile gets its credentials, for messages that say what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CredentialKind {
    /// `aws_access_key_id` + `aws_secret_access_key` (also temporary keys).
    Static,
    /// `role_arn` with `source_profile` or `credential_source`.
    Role,
    /// `web_identity_token_file`.
    WebIdentity,
    /// `sso_session` / `sso_start_url` (IAM Identity Center).
    Sso,
    /// `login_session` (`aws login`, AWS CLI ≥ 2.32).
    Login,
    /// `credential_process`.
    Process,
    /// A profile with no credentials settings, or a broken one.
    None,
    /// No such profile in the files.
    Missing,
}

impl CredentialKind {
    /// From the key that makes a profile get credentials elsewhere (`Class::NoStaticKey`).
    pub(crate) fn from_source(source: &str) -> Self {
        match source {
            "role_arn" | "credential_source" => CredentialKind::Role,
            "web_identity_token_file" => CredentialKind::WebIdentity,
            "sso_session" | "sso_start_url" => CredentialKind::Sso,
            "login_session" => CredentialKind::Login,
            "credential_process" => CredentialKind::Process,
            _ => CredentialKind::None,
        }
    }

    /// Of profile `name` in `inv`.
    pub(crate) fn of(inv: &Inventory, name: &str) -> Self {
        match inv.profile(name).map(|p| &p.class) {
            None => CredentialKind::Missing,
            Some(Class::Static { .. } | Class::Temporary { .. }) => CredentialKind::Static,
            Some(Class::NoStaticKey { source }) => CredentialKind::from_source(source),
            Some(Class::Incomplete { .. }) => CredentialKind::None,
        }
    }

    /// A few words for messages: "an SSO profile".
    pub(crate) fn phrase(self) -> &'static str {
        match self {
            CredentialKind::Static => "a static-key profile",
            CredentialKind::Role => "a role profile",
            CredentialKind::WebIdentity => "a web-identity profile",
            CredentialKind::Sso => "an SSO profile",
            CredentialKind::Login => "an `aws login` profile",
            CredentialKind::Process => "a credential_process profile",
            CredentialKind::None => "a profile without credentials settings",
            CredentialKind::Missing => "not a profile in your AWS files",
        }
    }

    /// What to do when this profile's credentials cannot be loaded.
    pub(crate) fn fix(self, name: &str) -> String {
        let text = match self {
            CredentialKind::Static => "check the key of profile {name} with `keyage status --profile {name}`; if it was rotated or deleted elsewhere, put the current key in the file (`aws configure --profile {name}`)",
            CredentialKind::Role => "profile {name} assumes a role: check that its source_profile (or credential_source) works with `aws sts get-caller-identity --profile <source profile>` and may call sts:AssumeRole on the role_arn",
            CredentialKind::WebIdentity => "profile {name} reads a web-identity token: check that web_identity_token_file exists and is current",
            CredentialKind::Sso => "sign in again: `aws sso login --profile {name}`",
            CredentialKind::Login => "sign in again: `aws login --profile {name}` (AWS CLI 2.32 or later)",
            CredentialKind::Process => "run the credential_process command of profile {name} by hand to see why it fails (`aws configure get credential_process --profile {name}` shows it)",
            CredentialKind::None => "give profile {name} credentials (`aws configure --profile {name}`, `aws configure sso` or `aws login`), or pick another with --profile",
            CredentialKind::Missing => "add profile {name} to your AWS files, or pick one that `keyage status --offline` lists",
        };
        text.replace("{name}", name)
    }
}

/// Reads both files and classifies every profile.
pub(crate) fn load(env: &Env) -> Result<Inventory> {
    let credentials = locate::read(
        FileKind::Credentials,
        &locate::path(env, FileKind::Credentials),
    )?;
    let config = locate::read(FileKind::Config, &locate::path(env, FileKind::Config))?;
    let mut inv = build(credentials, config, &env.current_profile());
    crate::protect::index::overlay(env, &mut inv);
    Ok(inv)
}

/// What a section is to the SDK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Role<'a> {
    /// A profile of this name (borrowed from the document).
    Profile(&'a str),
    /// Ignored by the SDK; the reason says how to fix it.
    Ignored(String),
    /// A valid non-profile section (`[sso-session x]`, `[services x]`).
    Other,
}

/// The SDK's reading of one section header (of `doc`) in a file of `kind`.
pub(crate) fn role<'a>(
    kind: FileKind,
    doc: &'a Document,
    s: &Section,
    config_has_profile_default: bool,
) -> Role<'a> {
    let name = doc.name(s);
    match kind {
        FileKind::Config => match doc.prefix(s) {
            Some("profile") if is_identifier(name) => Role::Profile(name),
            Some(p) if !is_identifier(name) => Role::Ignored(format!(
                "in `[{p} {name}]`, `{name}` is not a valid name (use letters, digits and _-/.%@:+)"
            )),
            Some(_) => Role::Other,
            None if name == "default" => {
                if config_has_profile_default {
                    Role::Ignored("`[profile default]` in the same file takes priority".into())
                } else {
                    Role::Profile(name)
                }
            }
            None => Role::Ignored(format!(
                "the config file needs `[profile {name}]` for a profile"
            )),
        },
        FileKind::Credentials => match doc.prefix(s) {
            Some("profile") => Role::Ignored(format!(
                "the credentials file takes `[{name}]`, without `profile `"
            )),
            Some(_) => Role::Ignored("settings belong in the config file".into()),
            None if is_identifier(name) => Role::Profile(name),
            None => Role::Ignored(format!(
                "`{name}` is not a valid name (use letters, digits and _-/.%@:+)"
            )),
        },
    }
}

/// True when the config file has a valid `[profile default]`.
pub(crate) fn has_profile_default(doc: &Document) -> bool {
    doc.sections()
        .iter()
        .any(|s| doc.prefix(s) == Some("profile") && doc.name(s) == "default")
}

/// The profile-name of every section of a document (None for non-profile sections).
pub(crate) fn section_profiles(kind: FileKind, doc: &Document) -> Vec<Option<&str>> {
    let pd = kind == FileKind::Config && has_profile_default(doc);
    doc.sections()
        .iter()
        .map(|s| match role(kind, doc, s, pd) {
            Role::Profile(n) => Some(n),
            _ => None,
        })
        .collect()
}

/// Does this look like an access key id (`AKIA`/`ASIA` + upper-case letters and digits)?
pub(crate) fn looks_like_key_id(s: &str) -> bool {
    (16..=128).contains(&s.len())
        && (s.starts_with("AKIA") || s.starts_with("ASIA"))
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Origin {
    kind: FileKind,
    section: usize,
    entry: usize,
}

/// One profile's effective settings (key -> where its value is), in first-set order.
/// A profile has a handful of keys: a list searched in order, with a hash index only when a
/// profile has many (so a pathological file stays linear). One is reused for every profile.
#[derive(Default)]
struct Settings<'a> {
    list: Vec<(&'a str, Origin)>,
    index: HashMap<&'a str, usize>,
    indexed: bool,
}

impl<'a> Settings<'a> {
    const INDEX_FROM: usize = 16;

    fn clear(&mut self) {
        self.list.clear();
        self.index.clear();
        self.indexed = false;
    }
    fn position(&self, key: &str) -> Option<usize> {
        if self.indexed {
            self.index.get(key).copied()
        } else {
            self.list.iter().position(|(k, _)| *k == key)
        }
    }
    fn get(&self, key: &str) -> Option<&Origin> {
        self.position(key).map(|i| &self.list[i].1)
    }
    fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }
    /// Sets `key` (a later setting wins); returns the origin it replaces.
    fn insert(&mut self, key: &'a str, o: Origin) -> Option<Origin> {
        if let Some(i) = self.position(key) {
            return Some(std::mem::replace(&mut self.list[i].1, o));
        }
        self.list.push((key, o));
        if self.indexed {
            self.index.insert(key, self.list.len() - 1);
        } else if self.list.len() > Self::INDEX_FROM {
            let keys = self.list.iter().enumerate().map(|(i, (k, _))| (*k, i));
            self.index.extend(keys);
            self.indexed = true;
        }
        None
    }
}

struct Merged<'a> {
    name: &'a str,
    /// First section in listing order (credentials file first).
    first: (FileKind, usize),
    /// Its sections in merge order: a range of the sorted section list.
    sections: std::ops::Range<usize>,
}

/// The pure core: two loaded files + the current profile name → an Inventory.
pub fn build(credentials: LoadedFile, config: LoadedFile, current: &str) -> Inventory {
    let (profiles, warnings, secrets) = analyze(&credentials, &config, current);
    Inventory::from_parts(
        credentials,
        config,
        profiles,
        current.to_string(),
        warnings,
        secrets,
    )
}

type Analysis = (Vec<Profile>, Vec<String>, Vec<(String, SecretKey)>);

/// `build` without taking the files: names, keys and values are borrowed from the documents
/// while merging; only what the Inventory keeps is copied.
fn analyze(credentials: &LoadedFile, config: &LoadedFile, current: &str) -> Analysis {
    let mut warnings = Vec::new();
    fn roles(f: &LoadedFile) -> Vec<Option<&str>> {
        f.doc
            .as_ref()
            .map(|d| section_profiles(f.kind, d))
            .unwrap_or_default()
    }
    let cred_roles = roles(credentials);
    let conf_roles = roles(config);
    let file = |k: FileKind| match k {
        FileKind::Credentials => credentials,
        FileKind::Config => config,
    };

    // Listing order: credentials file first, then profiles only in the config file.
    let sections = cred_roles.len() + conf_roles.len();
    let mut merged: Vec<Merged<'_>> = Vec::with_capacity(sections);
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(sections);
    for (kind, rs) in [
        (FileKind::Credentials, &cred_roles),
        (FileKind::Config, &conf_roles),
    ] {
        for (si, r) in rs.iter().enumerate() {
            if let Some(n) = *r {
                index.entry(n).or_insert_with(|| {
                    merged.push(Merged {
                        name: n,
                        first: (kind, si),
                        sections: 0..0,
                    });
                    merged.len() - 1
                });
            }
        }
    }
    // Merge order: config file first, then credentials (later wins). Each profile's sections,
    // in that order, grouped by profile (a stable sort keeps the order within a profile).
    let mut order: Vec<(usize, FileKind, usize)> = Vec::with_capacity(sections);
    for (kind, rs) in [
        (FileKind::Config, &conf_roles),
        (FileKind::Credentials, &cred_roles),
    ] {
        for (si, r) in rs.iter().enumerate() {
            if let Some(n) = *r {
                order.push((index[n], kind, si));
            }
        }
    }
    // Merge position of a setting, to report duplicates in merge order across profiles.
    let seq = |kind: FileKind, si: usize, ei: usize| {
        let offset = match kind {
            FileKind::Config => 0,
            FileKind::Credentials => conf_roles.len(),
        };
        (offset + si, ei)
    };
    order.sort_by_key(|o| o.0);
    let mut start = 0;
    for run in order.chunk_by(|a, b| a.0 == b.0) {
        merged[run[0].0].sections = start..start + run.len();
        start += run.len();
    }
    let mut duplicates: Vec<((usize, usize), String)> = Vec::new();
    let mut settings = Settings::default();

    let mut profiles = Vec::with_capacity(merged.len());
    let mut secrets: Vec<(String, SecretKey)> = Vec::new();
    // Values borrowed from the documents (not copied): key id -> (first profile, secret).
    let mut ids_secret: HashMap<Cow<'_, str>, (&str, Cow<'_, str>)> =
        HashMap::with_capacity(merged.len());
    let mut seen: std::collections::HashSet<Cow<'_, str>> =
        std::collections::HashSet::with_capacity(merged.len());
    for m in &merged {
        settings.clear();
        for &(_, kind, si) in &order[m.sections.clone()] {
            let Some(doc) = file(kind).doc.as_ref() else {
                continue;
            };
            for (ei, e) in doc.entries(&doc.sections()[si]).iter().enumerate() {
                let origin = Origin {
                    kind,
                    section: si,
                    entry: ei,
                };
                if let Some(prev) = settings.insert(&e.key, origin) {
                    if e.key == ACCESS_KEY_ID || e.key == SECRET_ACCESS_KEY {
                        let pe = entry(file(prev.kind), prev);
                        duplicates.push((seq(kind, si, ei), format!(
                            "profile {}: {} is set more than once ({}:{} and {}:{}); the AWS SDKs use the later one",
                            m.name,
                            e.key,
                            file(prev.kind).path.display(),
                            pe.line,
                            file(kind).path.display(),
                            e.line
                        )));
                    }
                }
            }
        }
        let settings = &settings;
        let get = |key: &str| -> Option<(Origin, Cow<'_, str>)> {
            let o = *settings.get(key)?;
            let f = file(o.kind);
            let doc = f.doc.as_ref()?;
            Some((o, doc.value(entry(f, o))))
        };
        let (class, at) = classify(&get);
        let (kind, line) = match at.and_then(|k| settings.get(k)) {
            Some(o) => (o.kind, entry(file(o.kind), *o).line),
            None => {
                let f = file(m.first.0);
                let line = f
                    .doc
                    .as_ref()
                    .map(|d| d.sections()[m.first.1].line)
                    .unwrap_or(0);
                (m.first.0, line)
            }
        };
        if let Class::Static { key_id } | Class::Temporary { key_id } = &class {
            if let (Some((_, id)), Some((_, s))) = (get(ACCESS_KEY_ID), get(SECRET_ACCESS_KEY)) {
                match ids_secret.get(&id) {
                    Some((other, prev)) if prev.as_ref() != s.as_ref() => warnings.push(format!(
                        "profiles {other} and {} hold key {key_id} with different secrets; at least one of them is wrong",
                        m.name
                    )),
                    Some(_) => {}
                    None => {
                        secrets.push((key_id.clone(), secret(s.to_string())));
                        seen.insert(s.clone());
                        ids_secret.insert(id, (m.name, s));
                    }
                }
            }
            if key_id.starts_with("AKIA") && settings.contains_key(SESSION_TOKEN) {
                warnings.push(format!(
                    "profile {}: a long-term key id (AKIA…) with aws_session_token; treated as temporary",
                    m.name
                ));
            }
        }
        let mut sources: Vec<ValueSource> = settings
            .list
            .iter()
            .map(|(_, o)| {
                let f = file(o.kind);
                let sec_line = f
                    .doc
                    .as_ref()
                    .map(|d| d.sections()[o.section].line)
                    .unwrap_or(0);
                let e = entry(f, *o);
                ValueSource {
                    key: e.key.clone(),
                    file_kind: o.kind,
                    section_line: sec_line,
                    line: e.line,
                }
            })
            .collect();
        sources.sort_by_key(|s| (s.file_kind, s.line));
        let plain = |k: &str| get(k).map(|(_, v)| v.into_owned());
        profiles.push(Profile {
            name: m.name.to_string(),
            class,
            file: file(kind).path.clone(),
            file_kind: kind,
            line,
            region: plain("region"),
            mfa_serial: plain("mfa_serial"),
            current: m.name == current,
            sources,
        });
    }

    // Every other secret written anywhere (shadowed duplicates, ignored sections), for the scanner.
    for f in [credentials, config] {
        let Some(doc) = &f.doc else { continue };
        let pd = f.kind == FileKind::Config && has_profile_default(doc);
        let mut holds_secret = false;
        for s in doc.sections() {
            let mut holds_key = false;
            for e in doc.entries(s) {
                if let Some(w) = reader_difference(f, doc, e) {
                    warnings.push(w);
                }
                if e.key == SECRET_ACCESS_KEY || e.key == ACCESS_KEY_ID {
                    holds_key = true;
                }
                if e.key == SECRET_ACCESS_KEY {
                    holds_secret = true;
                    let v = doc.value(e);
                    if !v.is_empty() && !seen.contains(&v) {
                        secrets.push((String::new(), secret(v.to_string())));
                        seen.insert(v);
                    }
                }
            }
            if holds_key {
                if let Role::Ignored(why) = role(f.kind, doc, s, pd) {
                    warnings.push(format!(
                        "{}:{}: this section holds a key but the AWS SDKs ignore it: {why}",
                        f.path.display(),
                        s.line
                    ));
                }
            }
        }
        if doc.has_bom() {
            warnings.push(format!(
                "{} starts with a UTF-8 byte order mark; keyage keeps it, but AWS tools (the SDKs, the CLI) reject the file: remove it with `sed -i '1s/^\\xEF\\xBB\\xBF//' {}`",
                f.path.display(),
                f.path.display()
            ));
        }
        if let Some(w) = mode_warning(f, holds_secret) {
            warnings.push(w);
        }
    }
    if current != "default" && !index.contains_key(current) {
        warnings.push(format!(
            "AWS_PROFILE is {current}, but neither {} nor {} has that profile",
            credentials.path.display(),
            config.path.display()
        ));
    }
    // Duplicates first, in merge order (as the SDK reads the files), then the rest.
    duplicates.sort_by_key(|(at, _)| *at);
    let warnings = duplicates
        .into_iter()
        .map(|(_, w)| w)
        .chain(warnings)
        .collect();
    (profiles, warnings, secrets)
}

/// Where the AWS CLI / boto3 (botocore's configparser) would read a setting differently from
/// the AWS SDKs (whose rules keyage follows), one warning naming the file, the line and the fix:
/// - an inline comment (`key = value # note`): the SDKs drop it, botocore keeps it in the value;
/// - an indented line after a setting with a value: every reader joins it to that value, so it
///   is not a setting of its own (a tab-indented `aws_secret_access_key` line is lost).
///
/// Never quotes the value or the comment (either may hold a secret).
fn reader_difference(f: &LoadedFile, doc: &Document, e: &Entry) -> Option<String> {
    let text = doc.text();
    let b = text.as_bytes();
    let end = e.value_span.end.min(b.len());
    let eol = memchr::memchr(b'\n', &b[end..]).map_or(b.len(), |i| end + i);
    let rest = text[end..eol].trim_matches(|c: char| c == ' ' || c == '\t' || c == '\r');
    if rest.starts_with(['#', ';']) {
        return Some(format!(
            "{}:{}: `{}` has an inline comment: the AWS SDKs and keyage drop it, but the AWS CLI and boto3 read it as part of the value and fail; fix: move the comment to a line of its own",
            f.path.display(),
            e.line,
            e.key
        ));
    }
    if let Some(c) = e.continuations.first() {
        if !e.value_span.is_empty() {
            let line = 1 + memchr::memchr_iter(b'\n', &b[..c.start.min(b.len())]).count();
            return Some(format!(
                "{}:{line}: this indented line continues `{}` of line {} (for the AWS SDKs, the AWS CLI and boto3 alike); it is not a setting of its own; fix: remove the spaces or tabs at its start",
                f.path.display(),
                e.key,
                e.line
            ));
        }
    }
    None
}

fn entry(f: &LoadedFile, o: Origin) -> &Entry {
    // Origins are built from this very document, so the indexes exist.
    let doc = f
        .doc
        .as_ref()
        .expect("origin points into a loaded document");
    doc.entry(o.section, o.entry)
        .expect("origin points into a loaded document")
}

/// `chmod 600` advice when a file holding secrets is open to group/others (like ssh).
pub(crate) fn mode_warning(f: &LoadedFile, holds_secret: bool) -> Option<String> {
    let mode = f.mode?;
    if mode & 0o077 == 0 || !(f.kind == FileKind::Credentials || holds_secret) {
        return None;
    }
    Some(mode_message(&f.path, mode))
}

pub(crate) fn mode_message(path: &Path, mode: u32) -> String {
    format!(
        "{} {} (mode {:03o}); fix: chmod 600 {}",
        path.display(),
        exposure(mode),
        mode & 0o777,
        path.display()
    )
}

/// Pure: who else may read or change a file of this mode, in words ("your group can read it",
/// "every user can read and change it"). Only the group/other bits count.
pub(crate) fn exposure(mode: u32) -> String {
    let what = |bits: u32| match (bits & 0o4 != 0, bits & 0o2 != 0) {
        (true, true) => Some("read and change it"),
        (true, false) => Some("read it"),
        (false, true) => Some("change it"),
        (false, false) => None,
    };
    match (what((mode >> 3) & 0o7), what(mode & 0o7)) {
        (_, Some(o)) => format!("can be opened by every user on this machine: they can {o}"),
        (Some(g), None) => format!("is open to your group: its members can {g}"),
        (None, None) => "is private".to_string(),
    }
}

/// Classifies from the merged settings; also says which key's line locates the finding.
fn classify<'a, F>(get: &F) -> (Class, Option<&'static str>)
where
    F: Fn(&str) -> Option<(Origin, Cow<'a, str>)>,
{
    let id = get(ACCESS_KEY_ID).map(|(_, v)| v);
    let secret = get(SECRET_ACCESS_KEY).map(|(_, v)| v);
    let token = get(SESSION_TOKEN).is_some();
    let inc = |r: &str| Class::Incomplete { reason: r.into() };
    match (id, secret) {
        (Some(id), secret) => {
            let c = if id.is_empty() {
                inc("aws_access_key_id is empty")
            } else if id.contains('\n') {
                inc("aws_access_key_id continues on an indented line")
            } else if !looks_like_key_id(&id) {
                inc("aws_access_key_id does not look like an access key id (AKIA…/ASIA…)")
            } else {
                match secret {
                    None => inc("aws_access_key_id without aws_secret_access_key"),
                    Some(s) if s.is_empty() => inc("aws_secret_access_key is empty"),
                    Some(s) if s.contains('\n') => {
                        inc("aws_secret_access_key continues on an indented line")
                    }
                    Some(_) if id.starts_with("ASIA") || token => Class::Temporary {
                        key_id: id.into_owned(),
                    },
                    Some(_) => Class::Static {
                        key_id: id.into_owned(),
                    },
                }
            };
            (c, Some(ACCESS_KEY_ID))
        }
        (None, Some(_)) => (
            inc("aws_secret_access_key without aws_access_key_id"),
            Some(SECRET_ACCESS_KEY),
        ),
        (None, None) => {
            if token {
                return (
                    inc("aws_session_token without aws_access_key_id"),
                    Some(SESSION_TOKEN),
                );
            }
            for s in NO_STATIC_SOURCES {
                if get(s).is_some() {
                    return (
                        Class::NoStaticKey {
                            source: (*s).to_string(),
                        },
                        Some(s),
                    );
                }
            }
            (
                Class::NoStaticKey {
                    source: "none".into(),
                },
                None,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn lf(kind: FileKind, text: &str, mode: Option<u32>) -> LoadedFile {
        LoadedFile {
            kind,
            path: PathBuf::from(match kind {
                FileKind::Credentials => "/h/.aws/credentials",
                FileKind::Config => "/h/.aws/config",
            }),
            doc: Some(Document::parse(text).unwrap()),
            mode,
        }
    }

    /// The inventory of a credentials and a config file (no modes), `default` current.
    fn inventory(credentials: &str, config: &str) -> Inventory {
        build(
            lf(FileKind::Credentials, credentials, None),
            lf(FileKind::Config, config, None),
            "default",
        )
    }

    #[test]
    fn merge_and_classes() {
        let cred = lf(
            FileKind::Credentials,
            "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = s1\n\
             [work]\naws_access_key_id=AKIAIOSFODNN7EXAMPLE\naws_secret_access_key=s1\n\
             [tmp]\naws_access_key_id=ASIAIOSFODNN7EXAMPLE\naws_secret_access_key=s2\naws_session_token=t\n\
             [half]\naws_access_key_id=AKIAI44QH8DHBEXAMPLE\n\
             [profile nope]\naws_access_key_id=AKIAI44QH8DHBEXAMPLE\n",
            Some(0o644),
        );
        let conf = lf(
            FileKind::Config,
            "[default]\nregion = eu-west-1\n[profile role]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n\
             [profile sso]\nsso_session = s\n[profile cfgkey]\naws_access_key_id = AKIAJ7EXAMPLE7EXAMPL\naws_secret_access_key = s3\nmfa_serial = arn:m\n\
             [work]\nregion=x\n",
            Some(0o600),
        );
        let inv = build(cred, conf, "work");
        let c = |n: &str| inv.profile(n).unwrap().class.clone();
        assert_eq!(
            c("default"),
            Class::Static {
                key_id: "AKIAIOSFODNN7EXAMPLE".into()
            }
        );
        assert!(matches!(c("tmp"), Class::Temporary { .. }));
        assert!(matches!(c("half"), Class::Incomplete { .. }));
        assert_eq!(
            c("role"),
            Class::NoStaticKey {
                source: "role_arn".into()
            }
        );
        assert_eq!(
            c("sso"),
            Class::NoStaticKey {
                source: "sso_session".into()
            }
        );
        assert!(matches!(c("cfgkey"), Class::Static { .. }));
        assert!(inv.profile("nope").is_none());
        let d = inv.profile("default").unwrap();
        assert_eq!(d.region.as_deref(), Some("eu-west-1"));
        assert_eq!((d.file_kind, d.line), (FileKind::Credentials, 2));
        assert_eq!(
            inv.profile("cfgkey").unwrap().mfa_serial.as_deref(),
            Some("arn:m")
        );
        assert!(inv.profile("work").unwrap().current);
        let keys = inv.keys();
        assert_eq!(keys[0].profiles, vec!["default", "work"]);
        use crate::secret::ExposeSecret;
        assert_eq!(
            inv.secret_for("AKIAIOSFODNN7EXAMPLE")
                .unwrap()
                .expose_secret(),
            "s1"
        );
        assert!(inv.warnings.iter().any(|w| w.contains("chmod 600")));
        assert!(inv.warnings.iter().any(|w| w.contains("[nope]")));
    }

    #[test]
    fn later_wins_and_profile_default() {
        let inv = inventory(
            "[a]\naws_access_key_id=AKIAAAAAAAAAAAAAAAA1\naws_secret_access_key=x\n[a]\naws_access_key_id=AKIAAAAAAAAAAAAAAAA2\n",
            "[profile default]\nregion=r1\n[default]\nregion=r2\n[profile a]\naws_access_key_id=AKIAAAAAAAAAAAAAAAA3\nregion=ra\n",
        );
        let a = inv.profile("a").unwrap();
        assert_eq!(
            a.class,
            Class::Static {
                key_id: "AKIAAAAAAAAAAAAAAAA2".into()
            }
        );
        assert_eq!(a.line, 5);
        assert_eq!(a.region.as_deref(), Some("ra"));
        assert_eq!(
            inv.profile("default").unwrap().region.as_deref(),
            Some("r1")
        );
    }

    #[test]
    fn cli_and_sdk_differences_are_warned() {
        let inv = inventory(
            "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE # laptop\naws_secret_access_key = s1\n\
             [two]\naws_access_key_id = AKIAI44QH8DHBEXAMPLE\n\taws_secret_access_key = s2\n",
            "[profile x]\ns3 =\n  max_concurrent_requests = 2\nregion = eu-west-1 ; main\n",
        );
        let w: Vec<&String> = inv
            .warnings
            .iter()
            .filter(|w| w.contains("inline comment") || w.contains("indented line"))
            .collect();
        assert_eq!(w.len(), 3, "{:#?}", inv.warnings);
        assert!(w
            .iter()
            .any(|w| w
                .starts_with("/h/.aws/credentials:2: `aws_access_key_id` has an inline comment")));
        assert!(w.iter().any(|w| w.starts_with(
            "/h/.aws/credentials:6: this indented line continues `aws_access_key_id` of line 5"
        )));
        assert!(w
            .iter()
            .any(|w| w.starts_with("/h/.aws/config:4: `region`")));
        assert!(w
            .iter()
            .all(|w| !w.contains("laptop") && !w.contains("main") && w.contains("; fix: ")));
        assert!(matches!(
            inv.profile("default").unwrap().class,
            Class::Static { .. }
        ));
    }

    #[test]
    fn duplicate_warnings_in_merge_order() {
        let inv = inventory(
            "[b]\naws_access_key_id=AKIAAAAAAAAAAAAAAAA1\naws_access_key_id=AKIAAAAAAAAAAAAAAAA2\n\
             [a]\naws_access_key_id=AKIAAAAAAAAAAAAAAAA3\n",
            "[profile a]\naws_access_key_id=AKIAAAAAAAAAAAAAAAA4\naws_access_key_id=AKIAAAAAAAAAAAAAAAA5\n",
        );
        let dups: Vec<&str> = inv
            .warnings
            .iter()
            .filter(|w| w.contains("set more than once"))
            .map(|w| w.split(':').next().unwrap_or(""))
            .collect();
        // Config first, then credentials, as the SDK merges them.
        assert_eq!(dups, vec!["profile a", "profile b", "profile a"]);
        assert!(inv.warnings[2].contains("/h/.aws/config:3 and /h/.aws/credentials:5"));
        assert_eq!(
            inv.profiles
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            vec!["b", "a"]
        );
    }

    #[test]
    fn exposure_names_who_and_what() {
        assert_eq!(
            exposure(0o640),
            "is open to your group: its members can read it"
        );
        assert_eq!(
            exposure(0o660),
            "is open to your group: its members can read and change it"
        );
        assert_eq!(
            exposure(0o644),
            "can be opened by every user on this machine: they can read it"
        );
        assert_eq!(
            exposure(0o602),
            "can be opened by every user on this machine: they can change it"
        );
        assert_eq!(exposure(0o600), "is private");
    }
}
