//! Doctor checks on the AWS files: found, parseable, not open to other users.

use crate::env::Env;
use crate::profiles::{classify, locate, Class, FileKind, Inventory, LoadedFile};

use super::Check;

/// Loads the inventory and reports on the files. The inventory is None when a file does not
/// parse (the per-key checks are then skipped).
pub(crate) fn check(env: &Env) -> (Option<Inventory>, Vec<Check>) {
    let mut out = Vec::new();
    let cred_path = locate::path(env, FileKind::Credentials);
    let inv = match Inventory::load(env) {
        Ok(inv) => inv,
        Err(e) => {
            let exists = cred_path.exists();
            out.push(if exists {
                Check::ok(
                    "credentials_file",
                    "credentials file",
                    cred_path.display().to_string(),
                )
            } else {
                Check::warn(
                    "credentials_file",
                    "credentials file",
                    format!("no file at {}", cred_path.display()),
                )
            });
            out.push(
                Check::fail("files_parse", "AWS files parse", e.message.clone())
                    .fix_opt(e.hint.clone()),
            );
            return (None, out);
        }
    };

    let static_in_config = inv
        .profiles
        .iter()
        .any(|p| matches!(p.class, Class::Static { .. }) && p.file_kind == FileKind::Config);
    out.push(match (&inv.credentials.doc, static_in_config) {
        (Some(_), _) => Check::ok(
            "credentials_file",
            "credentials file",
            inv.credentials.path.display().to_string(),
        ),
        (None, true) => Check::warn(
            "credentials_file",
            "credentials file",
            format!(
                "no file at {} (your keys are in the config file {})",
                inv.credentials.path.display(),
                inv.config.path.display()
            ),
        ),
        (None, false) => Check::fail(
            "credentials_file",
            "credentials file",
            format!("no file at {}", inv.credentials.path.display()),
        )
        .fix(format!(
            "create it with `aws configure`, or point {} at yours",
            locate::variable(FileKind::Credentials)
        )),
    });

    let keys = inv.keys();
    let n_profiles = inv.profiles.len();
    out.push(Check::ok(
        "files_parse",
        "AWS files parse",
        format!(
            "{n_profiles} profile{}, {} static key{}",
            if n_profiles == 1 { "" } else { "s" },
            keys.len(),
            if keys.len() == 1 { "" } else { "s" }
        ),
    ));

    for f in [&inv.credentials, &inv.config] {
        if let Some(c) = mode_check(f, static_in_config) {
            out.push(c);
        }
    }

    // The inventory's own findings, except the mode ones (reported above).
    let mode_texts: Vec<String> = [&inv.credentials, &inv.config]
        .iter()
        .filter_map(|f| f.mode.map(|m| classify::mode_message(&f.path, m)))
        .collect();
    for w in &inv.warnings {
        if mode_texts.iter().any(|m| m == w) {
            continue;
        }
        let (what, fix) = match w.split_once("; fix: ") {
            Some((a, b)) => (a.to_string(), Some(b.to_string())),
            None => (w.clone(), None),
        };
        out.push(Check::warn("profiles", "profiles", what).fix_opt(fix));
    }
    if let Some(c) = env_keys(env) {
        out.push(c);
    }
    (Some(inv), out)
}

/// Mode of a file that holds secrets: a warning when group or others may read or change it.
fn mode_check(f: &LoadedFile, static_in_config: bool) -> Option<Check> {
    f.doc.as_ref()?;
    let (id, title) = match f.kind {
        FileKind::Credentials => ("credentials_mode", "credentials file mode"),
        FileKind::Config => {
            if !static_in_config {
                return None;
            }
            ("config_mode", "config file mode")
        }
    };
    let mode = f.mode?;
    Some(if mode & 0o077 == 0 {
        Check::ok(id, title, format!("{:03o}", mode & 0o777))
    } else {
        // A warning, as in `status` (one judgement, one wording: `classify::exposure`).
        Check::warn(
            id,
            title,
            format!(
                "{:03o}: the file {}",
                mode & 0o777,
                crate::profiles::classify::exposure(mode)
            ),
        )
        .fix(format!("chmod 600 {}", f.path.display()))
    })
}

/// A key in the environment wins over every profile in the files, and keyage does not manage
/// it: say so.
fn env_keys(env: &Env) -> Option<Check> {
    env.get("AWS_ACCESS_KEY_ID")?;
    Some(
        Check::warn(
            "env_keys",
            "environment key",
            "AWS_ACCESS_KEY_ID is set: AWS tools use it before any profile in your files, and keyage does not watch or rotate it",
        )
        .fix("keep long-term keys in ~/.aws/credentials (unset AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in your shell)"),
    )
}
