//! `keyage protect`: a static key out of the AWS files and into the OS keyring, served to every
//! AWS tool through `credential_process`; `keyage unprotect` puts it back; `keyage
//! credential-process` serves it.
//!
//! - **Where the key lives.** Keyring service `keyage-protected` (`vault::PROTECTED_SERVICE`),
//!   user = the key id, value = the secret. The rotation's backout copies stay under `keyage`.
//! - **What the files hold.** In every section that held the key, the `aws_access_key_id` and
//!   `aws_secret_access_key` lines are gone and `credential_process = <keyage> credential-process
//!   --profile <P>` sits where the first of them was (`profiles::edit::protect_doc`: a surgical
//!   edit, checked by re-parsing, atomic and locked, re-read afterwards).
//! - **What the state holds** (`index`, no secrets): key id → profiles, and per file the SHA-256
//!   of the bytes right after the edit plus the removed lines with the secret cut out, so that
//!   `unprotect` gives back the exact original bytes when nothing else changed the file, and
//!   otherwise writes the two values back surgically.
//! - **Order** (journaled in `protect-journal.json`, next state recorded before each effect):
//!   the secret goes into the keyring and is read back *before* any file changes; then the index,
//!   then the files. A kill at any point leaves a working key: before the file rename the files
//!   still hold it, after it the keyring serves it. Running the command again finishes the job
//!   (each step looks at the keyring, the index and the files first).

pub(crate) mod index;
pub(crate) mod session;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::env::Env;
use crate::error::{Error, Kind, Result};
use crate::profiles::edit::{self, Planned, ProtectEdit};
use crate::profiles::{Class, FileKind, Inventory, LoadedFile};
use crate::scan::{fingerprint::FpStatus, own::Fingerprints};
use crate::secret::{ExposeSecret, SecretKey};
use crate::vault::SecretStore;
use index::{FileRecord, Index, Protected};

/// The subcommand that serves a protected key.
pub(crate) const SUBCOMMAND: &str = "credential-process";
pub(crate) const JOURNAL_FILE: &str = "protect-journal.json";

/// The `credential_process` value for `profile`: `<exe> credential-process --profile <profile>`.
/// A path with spaces is single-quoted (both `sh -c`, which the Rust SDK uses, and Python's
/// shlex, which botocore uses, read that); a path that no quoting makes safe is refused.
pub(crate) fn command_for(exe: &Path, profile: &str) -> Result<String> {
    let s = exe.to_str().ok_or_else(|| {
        Error::new(
            Kind::Refused,
            format!("the path of keyage ({}) is not UTF-8", exe.display()),
        )
    })?;
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"/._+-@%:,=".contains(&b);
    let path = if s.bytes().all(safe) {
        s.to_string()
    } else if s
        .bytes()
        .all(|b| (b == b' ' || b.is_ascii_graphic()) && !b"'#;\\\"$`".contains(&b))
    {
        format!("'{s}'")
    } else {
        return Err(Error::new(
            Kind::Refused,
            format!("keyage is installed at a path an AWS config line cannot hold safely ({s})"),
        )
        .hint("install keyage in a folder without quotes, `#`, `;`, `$` or backslashes (e.g. ~/.cargo/bin)"));
    };
    Ok(format!("{path} {SUBCOMMAND} --profile {profile}"))
}

/// Is this `credential_process` value keyage's for `profile`? (Any install path: the test is
/// the tail, and that the program is called keyage.)
pub(crate) fn is_ours(profile: &str, value: &str) -> bool {
    program_of(profile, value).is_some_and(|p| {
        p.file_stem()
            .is_some_and(|n| n == crate::sys::paths::FRONT || n == crate::sys::paths::CORE)
    })
}

/// The program of a `credential_process` value that ends in keyage's tail for `profile`
/// (` credential-process --profile <profile>`), unquoted; None for any other value.
pub(crate) fn program_of(profile: &str, value: &str) -> Option<PathBuf> {
    let tail = format!(" {SUBCOMMAND} --profile {profile}");
    value
        .trim_end()
        .strip_suffix(&tail)
        .map(|head| PathBuf::from(head.trim_matches('\'')))
}

/// Where a protect or unprotect run is. Written before the effect it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Step {
    /// The secret is going into the keyring (and is read back).
    Storing,
    /// The index and then the files are being written.
    Writing,
    /// The files hold the static key again (unprotect); the index entry and keyring entry go.
    Restoring,
    Cleaning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Journal {
    pub version: u32,
    /// `protect` or `unprotect`.
    pub op: String,
    pub key_id: String,
    pub profiles: Vec<String>,
    pub step: Step,
    pub started: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

impl Journal {
    fn new(op: &str, key_id: &str, profiles: &[String]) -> Journal {
        let now = Utc::now();
        Journal {
            version: 1,
            op: op.into(),
            key_id: key_id.into(),
            profiles: profiles.to_vec(),
            step: Step::Storing,
            started: now,
            updated: now,
        }
    }
    fn enter(&mut self, dir: &Path, step: Step) -> Result<()> {
        self.step = step;
        self.updated = Utc::now();
        crate::state::ensure_private_dir(dir)?;
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::internal(format!("cannot encode the protect journal: {e}")))?;
        crate::state::write_atomic(&dir.join(JOURNAL_FILE), &bytes)
    }
    pub(crate) fn load(dir: &Path) -> Option<Journal> {
        let bytes = crate::sys::fs::read_state(&dir.join(JOURNAL_FILE)).ok()??;
        serde_json::from_slice(&bytes).ok()
    }
    fn remove(dir: &Path) -> Result<()> {
        crate::sys::fs::remove_durable(&dir.join(JOURNAL_FILE), "remove")
    }
}

/// The notice every command prints while a protect/unprotect run is unfinished.
pub(crate) fn unfinished(env: &Env) -> Option<String> {
    let j = Journal::load(&env.state_dir())?;
    Some(format!(
        "keyage: `keyage {}` of key {} (profiles {}) was interrupted on {}; your key works either way. Run `keyage {} --profile {}` again to finish it.",
        j.op,
        j.key_id,
        j.profiles.join(", "),
        j.updated.format("%Y-%m-%d %H:%M UTC"),
        j.op,
        j.profiles.first().map(String::as_str).unwrap_or("default"),
    ))
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Refuses when the secret store in use is not an OS keyring: the file store cannot serve a
/// key to `credential_process` without the user's private key, so nothing would keep it safe.
fn require_os_keyring(env: &Env) -> Result<()> {
    let backend = crate::store::open(env)?;
    if backend.is_os_keyring() {
        return Ok(());
    }
    Err(Error::new(
        Kind::Refused,
        format!(
            "keyage protect needs the OS keyring, but the secret store in use is {}",
            backend.location()
        ),
    )
    .hint("run keyage on a machine with a desktop keyring (Secret Service, Keychain, Credential Manager), or keep the key in the AWS files"))
}

// ---------------------------------------------------------------------------------------------
// protect

/// One file's planned edit.
pub(crate) struct FileEdit {
    pub path: PathBuf,
    pub kind: FileKind,
    before: Zeroizing<Vec<u8>>,
    pub edit: ProtectEdit,
}

/// What `keyage protect` will do.
pub(crate) struct Plan {
    pub key_id: String,
    pub profiles: Vec<String>,
    pub edits: Vec<FileEdit>,
    secret: SecretKey,
}

impl Plan {
    pub(crate) fn render(&self) -> String {
        let mut s = format!(
            "Protect key {}: its secret moves into the OS keyring (service `{}`), and profile{} {} read{} it through credential_process.\n",
            self.key_id,
            crate::vault::PROTECTED_SERVICE,
            if self.profiles.len() == 1 { "" } else { "s" },
            self.profiles.join(", "),
            if self.profiles.len() == 1 { "s" } else { "" },
        );
        for e in &self.edits {
            s.push_str(&format!(
                "  {}: the two static lines of {} become one credential_process line\n",
                e.path.display(),
                e.edit.profiles.join(", ")
            ));
        }
        s.push_str("Tools that read the credentials file themselves instead of through an AWS SDK or the CLI will not find the key any more (`keyage doctor` lists what is known).\n");
        s
    }
}

/// The profile `P` (default: AWS_PROFILE, else default) and the key it holds.
fn static_key_of(inv: &Inventory, profile: &str) -> Result<String> {
    let p = inv.profile(profile).ok_or_else(|| {
        Error::new(
            Kind::Refused,
            format!("there is no profile `{profile}` in your AWS files"),
        )
        .hint("name one with --profile (`keyage status` lists them)")
    })?;
    match &p.class {
        Class::Static { key_id } => Ok(key_id.clone()),
        Class::Temporary { .. } => Err(Error::new(
            Kind::Refused,
            format!("profile `{profile}` holds a temporary key; it expires by itself, there is nothing to protect"),
        )),
        Class::NoStaticKey { source } => Err(Error::new(
            Kind::Refused,
            format!("profile `{profile}` has no static key (it uses {source})"),
        )),
        Class::Incomplete { reason } => Err(Error::new(
            Kind::Refused,
            format!("profile `{profile}` is incomplete ({reason})"),
        )
        .hint("fix the profile first")),
    }
}

/// Plans the protect edit of the key profile `profile` holds (pure but for reading the files).
/// None when the key is protected already and no file holds it.
pub(crate) fn plan(env: &Env, profile: &str, exe: &Path) -> Result<Option<Plan>> {
    let inv = Inventory::load(env)?;
    let key_id = static_key_of(&inv, profile)?;
    let Some(secret) = inv.secret_for(&key_id).cloned() else {
        if inv.is_protected(&key_id) {
            return Ok(None);
        }
        return Err(Error::internal("the profile's key has no secret"));
    };
    let holders: Vec<String> = inv
        .keys()
        .into_iter()
        .find(|g| g.key_id == key_id)
        .map(|g| g.profiles)
        .unwrap_or_default();
    // The path is checked once; profile names are always safe in the line.
    command_for(exe, profile)?;
    let call = |p: &str| command_for(exe, p).unwrap_or_default();
    let mut edits = Vec::new();
    for f in inv.files() {
        let Some(doc) = &f.doc else { continue };
        let lines = edit::effective_secret_lines(&inv, &key_id, f.kind);
        let planned =
            edit::protect_doc(doc, f.kind, &key_id, secret.expose_secret(), &lines, &call)
                .map_err(|(line, msg, hint)| Error::input(&f.path, line, msg).hint(hint))?;
        if let Some(e) = planned {
            edits.push(FileEdit {
                path: f.path.clone(),
                kind: f.kind,
                before: Zeroizing::new(doc.as_bytes().to_vec()),
                edit: e,
            });
        }
    }
    // The edited files, read as the SDKs will: every holder now runs keyage, every other
    // profile reads exactly what it read before.
    let after = reclassify(&inv, &edits)?;
    for p in &inv.profiles {
        let now = after.profile(&p.name);
        let fine = if holders.contains(&p.name) {
            now.is_some_and(|n| matches!(&n.class, Class::NoStaticKey { source } if source == "credential_process"))
                && after
                    .value_of(&p.name, "credential_process")
                    .is_some_and(|v| is_ours(&p.name, &v))
        } else {
            now.is_some_and(|n| n.class == p.class)
        };
        if !fine {
            return Err(Error::new(
                Kind::Refused,
                format!("after the edit, profile `{}` would not read what it should (another section or file sets its credentials too); nothing was written", p.name),
            )
            .hint("run `keyage status --offline` and remove the other credentials of that profile first"));
        }
    }
    let profiles = edits
        .iter()
        .flat_map(|e| e.edit.profiles.iter().cloned())
        .fold(Vec::<String>::new(), |mut v, p| {
            if !v.contains(&p) {
                v.push(p);
            }
            v
        });
    Ok(Some(Plan {
        key_id,
        profiles,
        edits,
        secret,
    }))
}

/// The inventory the planned texts would give (pure).
fn reclassify(inv: &Inventory, edits: &[FileEdit]) -> Result<Inventory> {
    let file = |f: &LoadedFile| -> Result<LoadedFile> {
        let doc = match edits.iter().find(|e| e.kind == f.kind) {
            Some(e) => Some(
                crate::profiles::document::Document::parse(&e.edit.text).map_err(|e| {
                    Error::internal(format!("the edited file would not parse: {e}"))
                })?,
            ),
            None => f.doc.clone(),
        };
        Ok(LoadedFile {
            kind: f.kind,
            path: f.path.clone(),
            doc,
            mode: f.mode,
        })
    };
    Ok(crate::profiles::classify::build(
        file(&inv.credentials)?,
        file(&inv.config)?,
        &inv.current,
    ))
}

/// What a finished protect did.
pub(crate) struct Done {
    pub key_id: String,
    pub profiles: Vec<String>,
    pub files: Vec<PathBuf>,
}

/// Runs a plan: keyring (read back), index, files (re-read), then checks.
pub(crate) fn execute(env: &Env, plan: &Plan, store: &dyn SecretStore) -> Result<Done> {
    require_os_keyring(env)?;
    let dir = env.state_dir();
    let _lock = crate::rotation::lock::acquire(&dir, crate::rotation::lock::wait_from(env))?;
    if crate::rotation::Journal::load(&dir)?.is_some() {
        return Err(Error::new(
            Kind::Conflict,
            "a rotation is unfinished; finish or undo it first",
        )
        .hint("`keyage rotate-self --resume` or `keyage backout`"));
    }
    let mut j = Journal::new("protect", &plan.key_id, &plan.profiles);
    j.enter(&dir, Step::Storing)?;
    put_checked(store, &plan.key_id, &plan.secret)?;
    crate::rotation::failpoint::hit("protect-after-store");
    j.enter(&dir, Step::Writing)?;
    let mut ix = Index::load(&dir)?;
    let mut record = ix.for_key(&plan.key_id).cloned().unwrap_or(Protected {
        key_id: plan.key_id.clone(),
        profiles: Vec::new(),
        protected_at: Utc::now(),
        files: Vec::new(),
    });
    for e in &plan.edits {
        record.files.retain(|r| r.kind != e.kind);
        record.files.push(FileRecord {
            path: e.path.clone(),
            kind: e.kind,
            post_sha256: sha256_hex(e.edit.text.as_bytes()),
            hunks: e.edit.hunks.clone(),
        });
    }
    for p in &plan.profiles {
        if !record.profiles.contains(p) {
            record.profiles.push(p.clone());
        }
    }
    ix.upsert(record);
    ix.save(&dir)?;
    crate::rotation::failpoint::hit("protect-after-index");
    let planned: Vec<Planned<'_>> = plan
        .edits
        .iter()
        .map(|e| Planned {
            path: &e.path,
            expect: &e.before,
            text: e.edit.text.as_str(),
        })
        .collect();
    let files = edit::write_planned(&planned)?;
    crate::rotation::failpoint::hit("protect-after-write");
    finish_protect(env, &plan.key_id, &plan.secret, store)?;
    Journal::remove(&dir)?;
    Ok(Done {
        key_id: plan.key_id.clone(),
        profiles: plan.profiles.clone(),
        files,
    })
}

/// After the files: re-read them; every profile of the key is protected, the secret is in no
/// file, the keyring serves it; the hook's fingerprint is recorded.
fn finish_protect(
    env: &Env,
    key_id: &str,
    secret: &SecretKey,
    store: &dyn SecretStore,
) -> Result<()> {
    let inv = Inventory::load(env)?;
    if inv.secret_for(key_id).is_some() || !inv.is_protected(key_id) {
        return Err(Error::new(
            Kind::Conflict,
            format!(
                "after the edit, your files still hold key {key_id} (another program wrote them)"
            ),
        )
        .hint("run `keyage protect` again"));
    }
    for f in inv.files() {
        if let Some(doc) = &f.doc {
            if doc.text().contains(secret.expose_secret()) {
                return Err(Error::new(
                    Kind::Conflict,
                    format!("{} still holds the secret of {key_id}", f.path.display()),
                )
                .hint("remove the other copy of the secret (a comment or another setting), then run `keyage protect` again"));
            }
        }
    }
    match store.get(key_id)? {
        Some(s) if s.expose_secret() == secret.expose_secret() => {}
        _ => {
            return Err(Error::new(
                Kind::Keyring,
                format!("the keyring does not give back the secret of {key_id}"),
            )
            .hint("run `keyage unprotect` (it needs the keyring), or `keyage doctor`"))
        }
    }
    Fingerprints::record(env, key_id, secret, FpStatus::Current)?;
    Ok(())
}

/// Finishes an interrupted protect whose files are already edited.
pub(crate) fn finish_only(env: &Env, profile: &str, store: &dyn SecretStore) -> Result<String> {
    let inv = Inventory::load(env)?;
    let key_id = static_key_of(&inv, profile)?;
    let secret = store.get(&key_id)?.ok_or_else(|| {
        Error::new(
            Kind::Keyring,
            format!("key {key_id} is marked protected, but the keyring has no entry for it (service `{}`)", crate::vault::PROTECTED_SERVICE),
        )
        .hint("unlock the keyring you protected it in; if the entry is gone, put the key back in your files by hand")
    })?;
    finish_protect(env, &key_id, &secret, store)?;
    Journal::remove(&env.state_dir())?;
    Ok(key_id)
}

/// Stores a secret and reads it back.
fn put_checked(store: &dyn SecretStore, key_id: &str, secret: &SecretKey) -> Result<()> {
    store.put(key_id, secret)?;
    match store.get(key_id)? {
        Some(s) if s.expose_secret() == secret.expose_secret() => Ok(()),
        _ => Err(Error::new(
            Kind::Keyring,
            format!("the keyring did not give back the secret just stored for {key_id}; nothing else was changed"),
        )
        .hint("run `keyage doctor` to check the keyring")),
    }
}

// ---------------------------------------------------------------------------------------------
// unprotect

/// One file `unprotect` writes: path, the bytes it holds now, the new text, and whether the
/// new text is the exact original.
type Restore = (PathBuf, Zeroizing<Vec<u8>>, Zeroizing<String>, bool);

/// What `keyage unprotect` will write.
pub(crate) struct UnPlan {
    pub key_id: String,
    pub profiles: Vec<String>,
    /// (path, bytes now, new text, exact restore?)
    writes: Vec<Restore>,
    secret: SecretKey,
}

impl UnPlan {
    pub(crate) fn render(&self) -> String {
        let mut s = format!(
            "Unprotect key {}: profile{} {} get{} the static key back in the files.\n",
            self.key_id,
            if self.profiles.len() == 1 { "" } else { "s" },
            self.profiles.join(", "),
            if self.profiles.len() == 1 { "s" } else { "" },
        );
        for (p, _, _, exact) in &self.writes {
            s.push_str(&format!(
                "  {}: {}\n",
                p.display(),
                if *exact {
                    "unchanged since protect: its original bytes come back exactly"
                } else {
                    "changed since protect: the two values are written back in place of the credential_process line"
                }
            ));
        }
        s
    }
}

pub(crate) fn plan_unprotect(env: &Env, profile: &str, store: &dyn SecretStore) -> Result<UnPlan> {
    let dir = env.state_dir();
    let ix = Index::load(&dir)?;
    let rec = ix.for_profile(profile).cloned().ok_or_else(|| {
        Error::new(
            Kind::Refused,
            format!("profile `{profile}` is not protected by keyage"),
        )
        .hint("`keyage status` shows which profiles are protected")
    })?;
    let secret = store.get(&rec.key_id)?.ok_or_else(|| {
        Error::new(
            Kind::Keyring,
            format!("the keyring has no entry for key {} (service `{}`)", rec.key_id, crate::vault::PROTECTED_SERVICE),
        )
        .hint("unlock the keyring that holds it (the one that was in use when you ran `keyage protect`)")
    })?;
    let inv = Inventory::load(env)?;
    let mut writes = Vec::new();
    for f in inv.files() {
        let Some(doc) = &f.doc else { continue };
        let exact = rec
            .files
            .iter()
            .find(|r| r.kind == f.kind && sha256_hex(doc.as_bytes()) == r.post_sha256);
        let text = match exact {
            Some(r) => {
                let t = edit::restore_exact(doc.text(), &r.hunks, secret.expose_secret())
                    .map_err(|why| Error::internal(format!("{}: {why}", f.path.display())))?;
                Some((t, true))
            }
            None => edit::unprotect_doc(
                doc,
                f.kind,
                &rec.profiles,
                &|p, v| is_ours(p, v),
                &rec.key_id,
                secret.expose_secret(),
            )
            .map_err(|(line, msg, hint)| Error::input(&f.path, line, msg).hint(hint))?
            .map(|t| (t, false)),
        };
        if let Some((t, exact)) = text {
            writes.push((
                f.path.clone(),
                Zeroizing::new(doc.as_bytes().to_vec()),
                t,
                exact,
            ));
        }
    }
    Ok(UnPlan {
        key_id: rec.key_id,
        profiles: rec.profiles,
        writes,
        secret,
    })
}

/// Writes the key back, checks it, then drops the index entry and the keyring entry.
pub(crate) fn execute_unprotect(
    env: &Env,
    plan: &UnPlan,
    store: &dyn SecretStore,
) -> Result<Vec<PathBuf>> {
    let dir = env.state_dir();
    let _lock = crate::rotation::lock::acquire(&dir, crate::rotation::lock::wait_from(env))?;
    let mut j = Journal::new("unprotect", &plan.key_id, &plan.profiles);
    j.enter(&dir, Step::Restoring)?;
    let planned: Vec<Planned<'_>> = plan
        .writes
        .iter()
        .map(|(p, before, text, _)| Planned {
            path: p,
            expect: before,
            text: text.as_str(),
        })
        .collect();
    let files = edit::write_planned(&planned)?;
    crate::rotation::failpoint::hit("unprotect-after-write");
    // Re-read: the files must hold the key with its secret before the keyring entry goes.
    let inv = Inventory::load(env)?;
    match inv.secret_for(&plan.key_id) {
        Some(s) if s.expose_secret() == plan.secret.expose_secret() => {}
        _ => {
            return Err(Error::new(
                Kind::Conflict,
                format!("after the write, your files do not hold key {} with its secret; the keyring keeps it", plan.key_id),
            )
            .hint("run `keyage unprotect` again"))
        }
    }
    j.enter(&dir, Step::Cleaning)?;
    let mut ix = Index::load(&dir)?;
    ix.remove(&plan.key_id);
    ix.save(&dir)?;
    store.delete(&plan.key_id)?;
    Journal::remove(&dir)?;
    Ok(files)
}

// ---------------------------------------------------------------------------------------------
// credential-process

/// The credential_process JSON (Version 1) for `profile`: one index read, one keyring read.
pub(crate) fn serve(
    env: &Env,
    profile: &str,
    store: &dyn SecretStore,
) -> Result<Zeroizing<String>> {
    let ix = Index::load(&env.state_dir())?;
    let rec = ix.for_profile(profile).ok_or_else(|| {
        Error::new(
            Kind::Refused,
            format!("profile `{profile}` is not protected by keyage"),
        )
        .hint(format!(
            "run `keyage protect --profile {profile}`, or remove its credential_process line"
        ))
    })?;
    let secret = store.get(&rec.key_id)?.ok_or_else(|| {
        Error::new(
            Kind::Keyring,
            format!("the keyring has no entry for key {} of profile `{profile}`", rec.key_id),
        )
        .hint(format!("unlock the keyring that holds it, or run `keyage unprotect --profile {profile}` from where it is"))
    })?;
    Ok(json_v1(&rec.key_id, secret.expose_secret(), None, None))
}

/// `{"Version":1,"AccessKeyId":…,"SecretAccessKey":…[,"SessionToken":…,"Expiration":…]}`.
pub(crate) fn json_v1(
    id: &str,
    secret: &str,
    token: Option<&str>,
    expiration: Option<&str>,
) -> Zeroizing<String> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct V1<'a> {
        version: u32,
        access_key_id: &'a str,
        secret_access_key: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        session_token: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        expiration: Option<&'a str>,
    }
    let v = V1 {
        version: 1,
        access_key_id: id,
        secret_access_key: secret,
        session_token: token,
        expiration,
    };
    Zeroizing::new(serde_json::to_string(&v).unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// rotation

/// The secret of a protected key (rotation, status).
pub(crate) fn secret_of(key_id: &str, store: &dyn SecretStore) -> Result<Option<SecretKey>> {
    store.get(key_id)
}

/// A rotation of a protected key: the new key goes into the keyring (read back), the index
/// points the profiles at it, the old entry goes. No file changes. Idempotent.
pub(crate) fn rekey(
    env: &Env,
    store: &dyn SecretStore,
    old_id: &str,
    new_id: &str,
    secret: &SecretKey,
) -> Result<()> {
    let dir = env.state_dir();
    put_checked(store, new_id, secret)?;
    let mut ix = Index::load(&dir)?;
    if let Some(mut rec) = ix.for_key(old_id).cloned() {
        rec.key_id = new_id.to_string();
        for f in &mut rec.files {
            for h in &mut f.hunks {
                h.before = h.before.replace(old_id, new_id);
                h.after = h.after.replace(old_id, new_id);
            }
        }
        ix.remove(old_id);
        ix.upsert(rec);
        ix.save(&dir)?;
    }
    Fingerprints::record(env, new_id, secret, FpStatus::Current)?;
    store.delete(old_id)?;
    Ok(())
}

/// The profiles' keyring: the protected service.
pub(crate) fn store() -> crate::vault::Keyring {
    crate::vault::Keyring::protected()
}
