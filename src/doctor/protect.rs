//! Doctor checks for keys `keyage protect` keeps in the OS keyring: each holder profile still
//! runs keyage's `credential_process` through an executable that exists, the keyring still has
//! the key, and no tool that cannot run `credential_process` still holds the key in its own
//! plaintext config (what is known: s3cmd, boto 2 / gsutil, s3fs, rclone, the environment).

use std::path::Path;

use crate::env::Env;
use crate::profiles::Inventory;
use crate::protect::index::Index;
use crate::sys::fs::{cap, read_optional};

use super::Check;

const ID: &str = "protect";
const TITLE: &str = "protected keys";

/// Tools that read keys from their own config file and cannot run `credential_process`:
/// (file under HOME, tool, what to do instead).
pub(crate) const STATIC_ONLY_TOOLS: &[(&str, &str, &str)] = &[
    (
        ".s3cfg",
        "s3cmd",
        "remove access_key/secret_key from ~/.s3cfg and run s3cmd through `aws configure export-credentials --format env`",
    ),
    (
        ".boto",
        "boto 2 / gsutil",
        "remove aws_access_key_id/aws_secret_access_key from ~/.boto; boto 2 cannot run credential_process",
    ),
    (
        ".passwd-s3fs",
        "s3fs",
        "remove the key from ~/.passwd-s3fs and mount with `-o profile=<profile>`",
    ),
    (
        ".config/rclone/rclone.conf",
        "rclone",
        "set `env_auth = true` and remove access_key_id/secret_access_key in rclone.conf",
    ),
];

/// The checks: none when no key is protected.
pub(crate) fn check(env: &Env, inv: Option<&Inventory>) -> Vec<Check> {
    let ix = match Index::load(&env.state_dir()) {
        Ok(ix) => ix,
        Err(e) => return vec![Check::fail(ID, TITLE, e.message).fix_opt(e.hint)],
    };
    if ix.keys.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for k in &ix.keys {
        out.push(key_check(env, inv, &k.key_id, &k.profiles));
    }
    out.extend(tool_checks(env, &ix));
    out
}

fn key_check(env: &Env, inv: Option<&Inventory>, key_id: &str, profiles: &[String]) -> Check {
    let fail = |detail: String, fix: String| {
        Check::fail(ID, TITLE, detail)
            .fix(fix)
            .key(key_id, profiles)
    };
    // Each holder still runs keyage, through a program that is there.
    for p in profiles {
        let value = inv.and_then(|inv| inv.value_of(p, "credential_process"));
        let Some(exe) = value
            .filter(|v| crate::protect::is_ours(p, v))
            .and_then(|v| crate::protect::program_of(p, &v))
        else {
            return fail(
                format!("profile {p} no longer runs keyage's credential_process"),
                format!("keyage unprotect --profile {p} (or put the credential_process line back)"),
            );
        };
        if !is_executable(&exe) {
            return fail(
                format!(
                    "profile {p} runs {}, which is not an executable file",
                    exe.display()
                ),
                format!("reinstall keyage there, or run `keyage protect --profile {p}` again from the new install"),
            );
        }
    }
    // The keyring has it (read, never shown).
    let detail = format!("in the OS keyring, served to {}", profiles.join(", "));
    let ring = crate::vault::Keyring::protected();
    let c = match crate::store::SecretStore::get(&ring, key_id) {
        Ok(Some(_)) => Check::ok(ID, TITLE, detail).key(key_id, profiles),
        Ok(None) => fail(
            format!(
                "the OS keyring has no entry for this key (service `{}`): every AWS tool using it fails",
                crate::vault::PROTECTED_SERVICE
            ),
            format!(
                "restore it from your backup, or create a new key and `keyage unprotect --profile {}`",
                profiles.first().map(String::as_str).unwrap_or("<profile>")
            ),
        ),
        Err(e) => Check::fail(ID, TITLE, e.message)
            .fix_opt(e.hint)
            .key(key_id, profiles),
    };
    env_note(c, env, key_id)
}

/// A known tool's own config under HOME that names a protected key id: the secret is still in
/// plaintext there, and that tool cannot use credential_process.
fn tool_checks(env: &Env, ix: &Index) -> Vec<Check> {
    let Some(home) = env.home() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (rel, tool, fix) in STATIC_ONLY_TOOLS {
        let path = home.join(rel);
        let Ok(Some(bytes)) = read_optional(&path, cap::SMALL_TEXT) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for k in &ix.keys {
            if text.contains(k.key_id.as_str()) {
                out.push(
                    Check::warn(
                        ID,
                        TITLE,
                        format!(
                            "{} ({tool}) still holds protected key {}: {tool} cannot run credential_process, so its copy stays in plaintext",
                            path.display(),
                            k.key_id
                        ),
                    )
                    .fix(*fix)
                    .key(&k.key_id, &k.profiles),
                );
            }
        }
    }
    out
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// `AWS_ACCESS_KEY_ID` naming the protected key means its secret is in the environment too.
fn env_note(mut c: Check, env: &Env, key_id: &str) -> Check {
    if env.get("AWS_ACCESS_KEY_ID") == Some(key_id) {
        c.status = super::Status::Warn.max(c.status);
        c.detail.push_str(
            "\nAWS_ACCESS_KEY_ID in this environment names it: its secret is in plaintext in your environment",
        );
        if c.fix.is_none() {
            c.fix = Some(
                "unset AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and use the profile".into(),
            );
        }
    }
    c
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_program_of_keyage_s_line_plain_and_quoted() {
        use crate::protect::program_of;
        use std::path::PathBuf;
        assert_eq!(
            program_of("a", "/usr/bin/keyage credential-process --profile a"),
            Some(PathBuf::from("/usr/bin/keyage"))
        );
        assert_eq!(
            program_of("a", "'/opt/my tools/keyage' credential-process --profile a"),
            Some(PathBuf::from("/opt/my tools/keyage"))
        );
        assert_eq!(
            program_of("b", "/usr/bin/keyage credential-process --profile a"),
            None
        );
    }
}
