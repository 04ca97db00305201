//! The encrypted file store: one age file per access key id in `$XDG_DATA_HOME/keyage/store`
//! (`<KEY_ID>.age`, 0600, in a 0700 folder, written atomically), for machines with no OS
//! keyring (an SSH box, WSL, a container).
//!
//! - Recipients (who can read a copy): `[store] recipients` / `recipients_file` in config.toml
//!   (age `age1…` keys, `ssh-ed25519 …` / `ssh-rsa …` public keys), else the user's
//!   `~/.ssh/id_ed25519.pub` and `~/.ssh/id_rsa.pub`. Encrypting to them needs no secret, so a
//!   rotation runs unattended (the agent's `auto_rotate` too).
//! - Without any of those, or with `[store] passphrase = true`: a passphrase (age scrypt),
//!   from `KEYAGE_STORE_PASSPHRASE` or a terminal prompt; without either, the store refuses
//!   and names the fix. A check file (`.passphrase-check.age`, no secret in it) catches a
//!   mistyped passphrase before it makes copies nobody can open.
//! - Reading (backout, resume, finalize) uses `[store] identities`, else the private keys next
//!   to the default `.pub` files. A key with a passphrase is unlocked at a terminal prompt;
//!   without a terminal keyage refuses and names the fix.
//! - Every copy is also encrypted to a one-off X25519 key that lives only in memory during
//!   `put`: the new ciphertext is decrypted with it and compared before it is written (the
//!   payload is shared by all recipients, so this proves the file holds the secret). The
//!   one-off key is dropped (zeroized) right after; its stanza in the file opens nothing.
//! - A copy this process wrote is given back by `get` only after re-reading the file and
//!   finding exactly the bytes written: `put` then `get` (the rotation's read-back) proves the
//!   copy is on disk without needing the private key.
//!
//! No plaintext secret is written anywhere; decrypted bytes live in zeroized buffers.

use std::collections::HashMap;
use std::io::{BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use zeroize::Zeroizing;

use super::{SecretStore, StoreKind};
use crate::config::StoreConfig;
use crate::env::Env;
use crate::error::{Error, Kind, Result};
use crate::secret::{secret, ExposeSecret, SecretKey, SecretString};

/// The folder under keyage's data folder.
pub(crate) const STORE_DIR: &str = "store";
/// The passphrase for a passphrase-encrypted store, for automation and tests (see the risk in
/// docs/store.md).
pub(crate) const PASSPHRASE_VAR: &str = "KEYAGE_STORE_PASSPHRASE";
const SUFFIX: &str = ".age";
const CHECK_FILE: &str = ".passphrase-check.age";
const CHECK_TEXT: &[u8] = b"keyage file store passphrase check";
/// Size caps for what is read: a copy, a key or recipients file.
const MAX_COPY: u64 = 64 * 1024;
const MAX_KEY_FILE: u64 = 256 * 1024;

/// One parsed recipient.
#[derive(Clone)]
pub(crate) enum Recipient {
    X25519(age::x25519::Recipient),
    Ssh(age::ssh::Recipient),
}

impl Recipient {
    fn as_dyn(&self) -> &dyn age::Recipient {
        match self {
            Recipient::X25519(r) => r,
            Recipient::Ssh(r) => r,
        }
    }
}

/// Parses one recipient: `age1…`, `ssh-ed25519 …` or `ssh-rsa …` (an SSH public key line).
pub(crate) fn parse_recipient(s: &str) -> std::result::Result<Recipient, String> {
    let t = s.trim();
    let shown: String = t.chars().take(24).collect();
    if t.starts_with("age1") {
        t.parse::<age::x25519::Recipient>()
            .map(Recipient::X25519)
            .map_err(|e| format!("`{shown}…` is not a valid age recipient ({e})"))
    } else if t.starts_with("ssh-") {
        t.parse::<age::ssh::Recipient>()
            .map(Recipient::Ssh)
            .map_err(|_| {
                format!("`{shown}…` is not a usable SSH public key (age reads ssh-ed25519 and ssh-rsa keys)")
            })
    } else {
        Err(format!(
            "`{shown}…` is neither an age recipient (age1…) nor an SSH public key (ssh-ed25519 …, ssh-rsa …)"
        ))
    }
}

/// How copies are encrypted.
enum Mode {
    /// To these recipients (each with where it came from, for messages).
    Keys(Vec<(Recipient, String)>),
    /// To a passphrase (scrypt); `why` says why (config, or no key found).
    Passphrase { why: String },
}

/// What this process wrote: the secret and the exact bytes of its file.
struct Written {
    secret: SecretKey,
    bytes: Vec<u8>,
}

/// The identities found: usable ones, keys skipped for their passphrase (no terminal), and
/// every file that was there.
struct Loaded {
    ids: Vec<Box<dyn age::Identity>>,
    locked: Vec<PathBuf>,
    tried: Vec<PathBuf>,
}

/// The encrypted file store.
pub(crate) struct FileStore {
    dir: PathBuf,
    mode: Mode,
    /// Private keys / age identity files to read with, in order.
    identities: Vec<PathBuf>,
    env_passphrase: Option<SecretString>,
    interactive: bool,
    written: Mutex<HashMap<String, Written>>,
    passphrase: Mutex<Option<SecretString>>,
    /// SSH keys unlocked with their passphrase at the prompt (once per key per process).
    unlocked: Mutex<HashMap<PathBuf, age::ssh::Identity>>,
    /// Why this store is in use (`auto` without a keyring), added to probe errors.
    because: Option<String>,
}

/// True when stdin and stderr are terminals (we ask on the terminal).
fn terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

impl FileStore {
    /// The store config.toml describes. Reads only the public key / recipients files.
    pub(crate) fn open(env: &Env, sc: &StoreConfig) -> Result<FileStore> {
        let dir = env.data_dir().join(STORE_DIR);
        let config_path = crate::config::path(env);
        let mut recipients = Vec::new();
        for r in &sc.recipients {
            let parsed = parse_recipient(r).map_err(|why| {
                Error::new(
                    Kind::Input,
                    format!("{}: [store] recipients: {why}", config_path.display()),
                )
            })?;
            recipients.push((parsed, format!("{} [store]", config_path.display())));
        }
        if let Some(f) = &sc.recipients_file {
            let path = env.expand_tilde(f);
            let bytes = read_bounded(&path, MAX_KEY_FILE)?.ok_or_else(|| {
                Error::new(
                    Kind::Input,
                    format!(
                        "the recipients file {} ([store] recipients_file in {}) does not exist",
                        path.display(),
                        config_path.display()
                    ),
                )
                .hint("create it (one age1… or ssh-ed25519 … key a line) or remove the setting")
            })?;
            let text = String::from_utf8_lossy(&bytes);
            for (i, line) in text.lines().enumerate() {
                let l = line.trim();
                if l.is_empty() || l.starts_with('#') {
                    continue;
                }
                let parsed = parse_recipient(l).map_err(|why| Error::input(&path, i + 1, why))?;
                recipients.push((parsed, path.display().to_string()));
            }
        }
        let home = env.home().unwrap_or_else(|| PathBuf::from("."));
        let ssh = home.join(".ssh");
        let mut identities: Vec<PathBuf> =
            sc.identities.iter().map(|p| env.expand_tilde(p)).collect();
        let configured = !recipients.is_empty();
        if !configured && !sc.passphrase {
            for name in ["id_ed25519", "id_rsa"] {
                let pubkey = ssh.join(format!("{name}.pub"));
                let Ok(Some(bytes)) = read_bounded(&pubkey, MAX_KEY_FILE) else {
                    continue;
                };
                let text = String::from_utf8_lossy(&bytes);
                if let Some(Ok(r)) = text.lines().next().map(parse_recipient) {
                    recipients.push((r, pubkey.display().to_string()));
                    if sc.identities.is_empty() {
                        identities.push(ssh.join(name));
                    }
                }
            }
        }
        if identities.is_empty() {
            identities = vec![ssh.join("id_ed25519"), ssh.join("id_rsa")];
        }
        let mode = if sc.passphrase {
            Mode::Passphrase {
                why: "`[store] passphrase = true` in config.toml".to_string(),
            }
        } else if recipients.is_empty() {
            Mode::Passphrase {
                why: format!(
                    "no SSH public key ({0}/id_ed25519.pub, {0}/id_rsa.pub) and no `[store] recipients`",
                    ssh.display()
                ),
            }
        } else {
            Mode::Keys(recipients)
        };
        Ok(FileStore {
            dir,
            mode,
            identities,
            env_passphrase: env.get(PASSPHRASE_VAR).map(|p| secret(p.to_string())),
            interactive: terminal(),
            written: Mutex::new(HashMap::new()),
            passphrase: Mutex::new(None),
            unlocked: Mutex::new(HashMap::new()),
            because: None,
        })
    }

    /// Says why this store is in use (e.g. `auto: the OS keyring is not there (…)`); probe
    /// errors repeat it, so a refusal names both stores.
    pub(crate) fn because(mut self, why: impl Into<String>) -> Self {
        self.because = Some(why.into());
        self
    }

    /// The folder holding the copies.
    #[cfg(test)]
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whom copies are encrypted to, for doctor: e.g. `to ~/.ssh/id_ed25519.pub`.
    pub(crate) fn encrypted_to(&self) -> String {
        match &self.mode {
            Mode::Keys(rs) => {
                let mut from: Vec<&str> = rs.iter().map(|(_, f)| f.as_str()).collect();
                from.dedup();
                format!("encrypted to {}", from.join(", "))
            }
            Mode::Passphrase { why } => format!("encrypted with a passphrase ({why})"),
        }
    }

    /// True when copies are encrypted with a passphrase (writing needs it).
    #[cfg(test)]
    pub(crate) fn uses_passphrase(&self) -> bool {
        matches!(self.mode, Mode::Passphrase { .. })
    }

    fn path_of(&self, key_id: &str) -> Result<PathBuf> {
        check_id(key_id)?;
        Ok(self.dir.join(format!("{key_id}{SUFFIX}")))
    }

    fn ensure_dir(&self) -> Result<()> {
        crate::sys::fs::ensure_private_dir(&self.dir)
    }

    /// Encrypts `plain` and proves the result decrypts to it.
    fn encrypt(&self, plain: &[u8]) -> Result<Vec<u8>> {
        let fail = |e: &dyn std::fmt::Display| {
            Error::new(
                Kind::Keyring,
                format!("cannot encrypt a copy for the file store: {e}"),
            )
        };
        let (out, check): (Vec<u8>, Box<dyn age::Identity>) = match &self.mode {
            Mode::Keys(rs) => {
                let one_off = age::x25519::Identity::generate();
                let one_off_r = one_off.to_public();
                let all = rs
                    .iter()
                    .map(|(r, _)| r.as_dyn())
                    .chain(std::iter::once(&one_off_r as &dyn age::Recipient));
                let enc = age::Encryptor::with_recipients(all).map_err(|e| fail(&e))?;
                (
                    write_with(enc, plain).map_err(|e| fail(&e))?,
                    Box::new(one_off),
                )
            }
            Mode::Passphrase { .. } => {
                let p = self.passphrase()?;
                let enc = age::Encryptor::with_user_passphrase(p.clone());
                let out = write_with(enc, plain).map_err(|e| fail(&e))?;
                (out, Box::new(age::scrypt::Identity::new(p)))
            }
        };
        let back = decrypt_with(&out, std::iter::once(check.as_ref())).map_err(|e| fail(&e))?;
        if back.as_slice() != plain {
            return Err(Error::internal(
                "the file store's new copy did not decrypt to the secret",
            ));
        }
        Ok(out)
    }

    /// The passphrase of a passphrase store: cached, else KEYAGE_STORE_PASSPHRASE, else asked on
    /// the terminal (twice when the store is new), else refused. Checked against the check file.
    fn passphrase(&self) -> Result<SecretString> {
        let mut cached = self.passphrase.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = cached.as_ref() {
            return Ok(p.clone());
        }
        let why = match &self.mode {
            Mode::Passphrase { why } => why.clone(),
            Mode::Keys(_) => "a copy was encrypted with a passphrase".to_string(),
        };
        let check = self.dir.join(CHECK_FILE);
        let check_bytes = read_copy(&check, MAX_COPY)?;
        let p = match (&self.env_passphrase, self.interactive) {
            (Some(p), _) => p.clone(),
            (None, true) => {
                let p = prompt("Passphrase for keyage's file store: ")?;
                if check_bytes.is_none() {
                    let again = prompt("The same passphrase again: ")?;
                    if again.expose_secret() != p.expose_secret() {
                        return Err(Error::new(
                            Kind::Refused,
                            "the two passphrases differ; nothing was written",
                        ));
                    }
                }
                p
            }
            (None, false) => {
                return Err(Error::new(
                    Kind::Refused,
                    format!(
                        "the file store encrypts with a passphrase ({why}), and there is no terminal to ask for it and no {PASSPHRASE_VAR}"
                    ),
                )
                .hint(format!(
                    "run keyage in a terminal; or let the file store encrypt to a key, which needs no passphrase to write: create one with `ssh-keygen -t ed25519` or set `[store] recipients` in config.toml; for automation only, set {PASSPHRASE_VAR} (see docs/store.md for the risk)"
                )));
            }
        };
        if p.expose_secret().is_empty() {
            return Err(Error::new(
                Kind::Refused,
                "the file store's passphrase is empty",
            ));
        }
        match check_bytes {
            Some(bytes) => {
                let id = age::scrypt::Identity::new(p.clone());
                let ok = decrypt_with(&bytes, std::iter::once(&id as &dyn age::Identity))
                    .map(|b| b.as_slice() == CHECK_TEXT)
                    .unwrap_or(false);
                if !ok {
                    return Err(Error::new(
                        Kind::Refused,
                        format!(
                            "the passphrase does not open the file store ({} was made with another one)",
                            check.display()
                        ),
                    )
                    .hint("use the passphrase the store was made with"));
                }
            }
            None => {
                self.ensure_dir()?;
                let enc = age::Encryptor::with_user_passphrase(p.clone());
                let bytes = write_with(enc, CHECK_TEXT).map_err(|e| {
                    Error::new(Kind::Keyring, format!("cannot encrypt the check file: {e}"))
                })?;
                crate::sys::fs::write_atomic(&check, &bytes)?;
            }
        }
        *cached = Some(p.clone());
        Ok(p)
    }

    /// The identities to read with. Keys with a passphrase are unlocked at a terminal prompt;
    /// without a terminal they are skipped and named in `locked`.
    fn identities(&self) -> Result<Loaded> {
        let mut ids: Vec<Box<dyn age::Identity>> = Vec::new();
        let mut locked = Vec::new();
        let mut tried = Vec::new();
        for path in &self.identities {
            let Some(bytes) = read_bounded(path, MAX_KEY_FILE)? else {
                continue;
            };
            let bytes = Zeroizing::new(bytes);
            tried.push(path.clone());
            let text = String::from_utf8_lossy(&bytes);
            if text.contains("-----BEGIN") {
                let ident = age::ssh::Identity::from_buffer(
                    BufReader::new(&bytes[..]),
                    Some(path.display().to_string()),
                )
                .map_err(|e| Error::io("read the private key", path, e))?;
                match ident {
                    age::ssh::Identity::Unencrypted(_) => ids.push(Box::new(ident)),
                    age::ssh::Identity::Encrypted(key) if self.interactive => {
                        ids.push(Box::new(self.unlock(path, &key)?))
                    }
                    age::ssh::Identity::Encrypted(_) => locked.push(path.clone()),
                    age::ssh::Identity::Unsupported(_) => {}
                }
            } else {
                let file =
                    age::IdentityFile::from_buffer(BufReader::new(&bytes[..])).map_err(|e| {
                        Error::input(path, 1, format!("not an age identity file ({e})"))
                    })?;
                let mut more = file.into_identities().map_err(|e| {
                    Error::input(path, 1, format!("not a usable age identity file ({e})"))
                })?;
                ids.append(&mut more);
            }
        }
        Ok(Loaded { ids, locked, tried })
    }

    /// An SSH key with a passphrase, unlocked at the terminal prompt (asked once per process).
    fn unlock(&self, path: &Path, key: &age::ssh::EncryptedKey) -> Result<age::ssh::Identity> {
        let mut done = self.unlocked.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = done.get(path) {
            return Ok(i.clone());
        }
        let p = prompt(&format!("Passphrase for {}: ", path.display()))?;
        let key = key.decrypt(p).map_err(|_| {
            Error::new(
                Kind::Refused,
                format!("the passphrase of {} was wrong", path.display()),
            )
            .hint("run the command again and type the key's passphrase")
        })?;
        let ident = age::ssh::Identity::from(key);
        done.insert(path.to_path_buf(), ident.clone());
        Ok(ident)
    }

    fn decrypt(&self, key_id: &str, path: &Path, bytes: &[u8]) -> Result<SecretKey> {
        let damaged = |e: &dyn std::fmt::Display| {
            Error::new(
                Kind::Keyring,
                format!(
                    "the copy of {key_id} in {} cannot be read: {e}",
                    path.display()
                ),
            )
        };
        let d = age::Decryptor::new_buffered(bytes).map_err(|e| damaged(&e))?;
        let plain = if d.is_scrypt() {
            let p = self.passphrase()?;
            let id = age::scrypt::Identity::new(p);
            let mut r = d
                .decrypt(std::iter::once(&id as &dyn age::Identity))
                .map_err(|e| damaged(&e))?;
            read_all(&mut r).map_err(|e| damaged(&e))?
        } else {
            let Loaded { ids, locked, tried } = self.identities()?;
            let names = |v: &[PathBuf]| {
                v.iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let no_key = || {
                if !locked.is_empty() {
                    Error::new(
                        Kind::Refused,
                        format!(
                            "the copy of {key_id} can only be opened with {}, which has a passphrase, and there is no terminal to ask for it",
                            names(&locked)
                        ),
                    )
                    .hint("run the same keyage command in a terminal (it asks for the key's passphrase); or load a key without a passphrase: `[store] identities = [\"~/path/to/key\"]` in config.toml (an age identity file from `age-keygen`, whose age1… recipient is in `[store] recipients`)")
                } else if tried.is_empty() {
                    Error::new(
                        Kind::Refused,
                        format!(
                            "no private key to open the copy of {key_id} with (looked for {})",
                            names(&self.identities)
                        ),
                    )
                    .hint("set `[store] identities` in config.toml to the private key (or age identity file) matching the store's recipients")
                } else {
                    Error::new(
                        Kind::Refused,
                        format!(
                            "none of the private keys ({}) opens the copy of {key_id}: it was encrypted to other keys",
                            names(&tried)
                        ),
                    )
                    .hint("set `[store] identities` in config.toml to the private key matching the recipients the copy was made for")
                }
            };
            if ids.is_empty() {
                return Err(no_key());
            }
            match d.decrypt(ids.iter().map(|b| b.as_ref())) {
                Ok(mut r) => read_all(&mut r).map_err(|e| damaged(&e))?,
                Err(age::DecryptError::NoMatchingKeys) => return Err(no_key()),
                Err(e) => return Err(damaged(&e)),
            }
        };
        let s = std::str::from_utf8(&plain)
            .map_err(|_| damaged(&"it does not hold text"))?
            .to_string();
        Ok(secret(s))
    }
}

impl SecretStore for FileStore {
    fn put(&self, key_id: &str, value: &SecretKey) -> Result<()> {
        let path = self.path_of(key_id)?;
        let bytes = self.encrypt(value.expose_secret().as_bytes())?;
        self.ensure_dir()?;
        crate::sys::fs::write_atomic(&path, &bytes)?;
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                key_id.to_string(),
                Written {
                    secret: value.clone(),
                    bytes,
                },
            );
        Ok(())
    }

    fn get(&self, key_id: &str) -> Result<Option<SecretKey>> {
        let path = self.path_of(key_id)?;
        let Some(bytes) = read_copy(&path, MAX_COPY)? else {
            self.written
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(key_id);
            return Ok(None);
        };
        if let Some(w) = self
            .written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key_id)
        {
            if w.bytes == bytes {
                return Ok(Some(w.secret.clone()));
            }
        }
        self.decrypt(key_id, &path, &bytes).map(Some)
    }

    fn delete(&self, key_id: &str) -> Result<()> {
        let path = self.path_of(key_id)?;
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key_id);
        crate::sys::fs::remove_durable(&path, "delete")
    }

    fn probe(&self) -> Result<()> {
        self.probe_files().map_err(|mut e| {
            if let Some(why) = &self.because {
                e.message = format!("{}; the file store is in use because {why}", e.message);
            }
            e
        })
    }

    fn kind(&self) -> StoreKind {
        StoreKind::File
    }

    fn location(&self) -> String {
        format!("the encrypted file store in {}", self.dir.display())
    }

    fn list(&self) -> Result<Option<Vec<String>>> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Some(Vec::new())),
            Err(e) => return Err(Error::io("list", &self.dir, e)),
        };
        let mut ids: Vec<String> = rd
            .flatten()
            .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(SUFFIX).map(str::to_string))
            .filter(|id| check_id(id).is_ok())
            .collect();
        ids.sort();
        Ok(Some(ids))
    }
}

impl FileStore {
    fn probe_files(&self) -> Result<()> {
        use rand::Rng;
        self.ensure_dir()?;
        let n: u64 = rand::rng().random();
        let path = self
            .dir
            .join(format!(".probe-{}-{n:016x}{SUFFIX}", std::process::id()));
        // A passphrase store proves its passphrase (check file) and the folder; a key store
        // encrypts a probe to its recipients (self-checked) and round-trips it through a file.
        let bytes = match self.mode {
            Mode::Keys(_) => self.encrypt(format!("probe-{n:016x}").as_bytes())?,
            Mode::Passphrase { .. } => {
                self.passphrase()?;
                format!("probe-{n:016x}").into_bytes()
            }
        };
        let r =
            crate::sys::fs::write_atomic(&path, &bytes).and_then(|()| read_copy(&path, MAX_COPY));
        let _ = std::fs::remove_file(&path);
        match r? {
            Some(back) if back == bytes => Ok(()),
            _ => Err(Error::new(
                Kind::Keyring,
                format!(
                    "the file store in {} did not give back the probe file just written",
                    self.dir.display()
                ),
            )
            .hint("check the disk and the folder's permissions")),
        }
    }
}

/// Reads a passphrase from the terminal without echo.
fn prompt(text: &str) -> Result<SecretString> {
    rpassword::prompt_password(text)
        .map(secret)
        .map_err(|e| Error::new(Kind::Io, format!("cannot read the passphrase: {e}")))
}

/// Key ids (and probe names) are plain: letters, digits, `-`, `_`; 1 to 128 characters.
fn check_id(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::internal(format!(
            "`{}` is not a key id the file store accepts",
            id.chars().take(40).collect::<String>()
        )))
    }
}

fn write_with(enc: age::Encryptor, plain: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut w = enc.wrap_output(&mut out)?;
    w.write_all(plain)?;
    w.finish()?;
    Ok(out)
}

fn decrypt_with<'a>(
    bytes: &[u8],
    ids: impl Iterator<Item = &'a dyn age::Identity>,
) -> std::result::Result<Zeroizing<Vec<u8>>, age::DecryptError> {
    let d = age::Decryptor::new_buffered(bytes)?;
    let mut r = d.decrypt(ids)?;
    Ok(read_all(&mut r)?)
}

fn read_all(r: &mut impl Read) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::new());
    r.take(MAX_COPY).read_to_end(&mut out)?;
    Ok(out)
}

/// A copy (or the check file) in the store folder: a regular file, never through a symlink,
/// at most `cap` bytes; None when missing.
fn read_copy(path: &Path, cap: u64) -> Result<Option<Vec<u8>>> {
    crate::sys::fs::read_optional_with(path, cap, crate::sys::fs::Follow::No)
}

/// A key or recipients file of the user's (may be a symlink): a regular file of at most `cap`
/// bytes; None when missing.
fn read_bounded(path: &Path, cap: u64) -> Result<Option<Vec<u8>>> {
    crate::sys::fs::read_optional(path, cap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StoreBackend;

    fn env_in(d: &Path) -> Env {
        let home = d.to_str().unwrap();
        Env::from_pairs([("HOME", home)])
    }

    fn keys_store(d: &Path) -> (FileStore, age::x25519::Identity) {
        let id = age::x25519::Identity::generate();
        let idf = d.join("identity.txt");
        std::fs::write(&idf, format!("{}\n", id.to_string().expose_secret())).unwrap();
        let sc = StoreConfig {
            backend: StoreBackend::File,
            recipients: vec![id.to_public().to_string()],
            identities: vec![idf.display().to_string()],
            ..Default::default()
        };
        (FileStore::open(&env_in(d), &sc).unwrap(), id)
    }

    #[test]
    fn round_trip_private_files_and_no_plaintext() {
        let d = tempfile::tempdir().unwrap();
        let (s, _) = keys_store(d.path());
        s.probe().unwrap();
        let id = "AKIAFILESTORE0000001";
        assert!(s.get(id).unwrap().is_none());
        let value = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFILESTORE1";
        s.put(id, &secret(value.to_string())).unwrap();
        let p = s.dir().join(format!("{id}.age"));
        let raw = std::fs::read(&p).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("wJalr"));
        #[cfg(unix)]
        {
            assert_eq!(crate::sys::fs::mode(&p), Some(0o600));
            assert_eq!(crate::sys::fs::mode(s.dir()), Some(0o700));
        }
        // Read back by this process (checked against the disk)…
        assert_eq!(s.get(id).unwrap().unwrap().expose_secret(), value);
        // …and by a fresh one, which must decrypt with the identity.
        let (fresh, _) = {
            let sc = StoreConfig {
                backend: StoreBackend::File,
                recipients: vec![],
                identities: vec![d.path().join("identity.txt").display().to_string()],
                passphrase: false,
                recipients_file: None,
            };
            (FileStore::open(&env_in(d.path()), &sc).unwrap(), ())
        };
        assert_eq!(fresh.get(id).unwrap().unwrap().expose_secret(), value);
        assert_eq!(s.list().unwrap().unwrap(), vec![id.to_string()]);
        // A file changed behind our back is decrypted, not trusted from memory.
        std::fs::write(&p, b"garbage").unwrap();
        let e = s.get(id).unwrap_err();
        assert!(e.message.contains("cannot be read"), "{e}");
        assert!(!format!("{e:?}").contains("wJalr"));
        s.delete(id).unwrap();
        s.delete(id).unwrap();
        assert!(s.get(id).unwrap().is_none());
        assert!(s.list().unwrap().unwrap().is_empty());
    }

    #[test]
    fn bad_ids_and_recipients_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let (s, _) = keys_store(d.path());
        assert!(s.put("../x", &secret("v".to_string())).is_err());
        assert!(s.get(".hidden").is_err());
        assert!(parse_recipient("age1nope").is_err());
        assert!(parse_recipient("ssh-dss AAAA").is_err());
        assert!(parse_recipient("hello").is_err());
    }

    #[test]
    fn passphrase_store_without_terminal_or_variable_refuses() {
        let d = tempfile::tempdir().unwrap();
        let sc = StoreConfig {
            backend: StoreBackend::File,
            ..Default::default()
        };
        // No ~/.ssh keys: the passphrase fallback.
        let s = FileStore::open(&env_in(d.path()), &sc).unwrap();
        assert!(s.uses_passphrase());
        if !terminal() {
            let e = s.probe().unwrap_err();
            assert!(e.to_string().contains(PASSPHRASE_VAR), "{e}");
            assert!(e.to_string().contains("ssh-keygen"), "{e}");
        }
    }
}
