//! After a rotation, what else to do (#14.11): the other copies of a key that `keyage scan
//! --home` finds (rc files, `.env` files, tool configs), the cached role sessions that the
//! old key made (the AWS CLI's `~/.aws/cli/cache`, botocore's `~/.aws/boto/cache`: removed,
//! they keep working until they expire, and the next call makes a fresh one with the new key),
//! and when the org-side checks see the new key (AWS Config `access-keys-rotated` and
//! Security Hub IAM.3 read the IAM credential report, which can be up to 4 hours old).

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use sha1::{Digest, Sha1};

use crate::env::Env;
use crate::profiles::Inventory;

/// How old the credential report can be (IAM regenerates it at most every 4 hours).
pub const REPORT_AGE_HOURS: i64 = 4;

/// What the summary adds.
#[derive(Debug, Default)]
pub struct Aftercare {
    /// `scan --home` findings, rendered (file:line: what).
    pub copies: Vec<String>,
    /// Cached sessions removed: (profile, file).
    pub cleared: Vec<(String, PathBuf)>,
    /// Cached sessions that could not be removed: (file, why).
    pub kept: Vec<(PathBuf, String)>,
    /// From when the org-side checks see the new key.
    pub report_by: Option<DateTime<Utc>>,
}

/// The botocore cache file name of an assume-role profile's session: the SHA-1 of its
/// AssumeRole arguments as `json.dumps(sort_keys=True)` writes them
/// (`AssumeRoleCredentialFetcher._create_cache_key`: RoleArn, and ExternalId, SerialNumber,
/// DurationSeconds, RoleSessionName when set). (Python escapes non-ASCII, serde_json does not:
/// an ARN is ASCII.)
pub fn cache_key(inv: &Inventory, profile: &str) -> Option<String> {
    let role_arn = inv.value_of(profile, "role_arn")?;
    let mut args: BTreeMap<&str, serde_json::Value> = BTreeMap::new();
    args.insert("RoleArn", role_arn.into());
    for (setting, arg) in [
        ("external_id", "ExternalId"),
        ("mfa_serial", "SerialNumber"),
        ("role_session_name", "RoleSessionName"),
    ] {
        if let Some(v) = inv.value_of(profile, setting) {
            args.insert(arg, v.into());
        }
    }
    if let Some(d) = inv
        .value_of(profile, "duration_seconds")
        .and_then(|d| d.trim().parse::<u64>().ok())
    {
        args.insert("DurationSeconds", d.into());
    }
    hash_args(&args)
}

/// SHA-1 (hex) of Python's `json.dumps(args, sort_keys=True)`: separators ", " and ": ".
fn hash_args(args: &BTreeMap<&str, serde_json::Value>) -> Option<String> {
    let mut parts = Vec::new();
    for (k, v) in args {
        parts.push(format!("\"{k}\": {}", serde_json::to_string(v).ok()?));
    }
    let json = format!("{{{}}}", parts.join(", "));
    Some(format!("{:x}", Sha1::digest(json.as_bytes())))
}

/// The role profiles whose sessions the key in `holders` makes (`source_profile` chains).
pub fn derived_roles(inv: &Inventory, holders: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for p in &inv.profiles {
        let mut cur = p.name.clone();
        for _ in 0..8 {
            match inv.value_of(&cur, "source_profile") {
                Some(src) if holders.contains(&src) => {
                    if inv.value_of(&p.name, "role_arn").is_some() {
                        out.push(p.name.clone());
                    }
                    break;
                }
                Some(src) if src != cur => cur = src,
                _ => break,
            }
        }
    }
    out
}

/// The cache folders of the AWS CLI and botocore.
fn cache_dirs(env: &Env) -> Vec<PathBuf> {
    ["~/.aws/cli/cache", "~/.aws/boto/cache"]
        .iter()
        .map(|d| env.expand_tilde(d))
        .collect()
}

/// Runs after a rotation of the key `holders` hold (names of the profiles, now on the new key):
/// removes the old key's cached sessions and looks for other copies. `rotated_at`: the end of
/// step e.
pub fn after_rotation(env: &Env, holders: &[String], rotated_at: DateTime<Utc>) -> Aftercare {
    let mut a = Aftercare {
        report_by: Some(rotated_at + chrono::TimeDelta::hours(REPORT_AGE_HOURS)),
        ..Aftercare::default()
    };
    if let Ok(inv) = Inventory::load(env) {
        for role in derived_roles(&inv, holders) {
            let Some(key) = cache_key(&inv, &role) else {
                continue;
            };
            for d in cache_dirs(env) {
                let f = d.join(format!("{key}.json"));
                match std::fs::remove_file(&f) {
                    Ok(()) => a.cleared.push((role.clone(), f)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => a.kept.push((f, e.to_string())),
                }
            }
        }
    }
    a.copies = crate::scan::home::home_findings(env)
        .iter()
        .map(|f| f.render())
        .collect();
    a
}

impl Aftercare {
    pub fn render(&self) -> String {
        let mut s = String::new();
        if self.copies.is_empty() {
            s.push_str("Other copies: `keyage scan --home` finds none.\n");
        } else {
            s.push_str(&format!(
                "Other copies (`keyage scan --home`): {} place{} still hold{} a key; put the new key there or remove it:\n",
                self.copies.len(),
                if self.copies.len() == 1 { "" } else { "s" },
                if self.copies.len() == 1 { "s" } else { "" },
            ));
            for c in &self.copies {
                s.push_str(&format!("  {c}\n"));
            }
        }
        for (role, f) in &self.cleared {
            s.push_str(&format!(
                "Cleared the cached session of role profile `{role}` made with the old key ({}); the next call makes one with the new key. Sessions already issued stay valid until they expire.\n",
                f.display()
            ));
        }
        for (f, why) in &self.kept {
            s.push_str(&format!(
                "Could not remove the cached session {} ({why}): delete it yourself.\n",
                f.display()
            ));
        }
        if let Some(by) = self.report_by {
            s.push_str(&format!(
                "Org-side checks (AWS Config access-keys-rotated, Security Hub IAM.3) read the IAM credential report, which can be up to {REPORT_AGE_HOURS} h old: they see the new key by {}.\n",
                by.format("%Y-%m-%d %H:%M UTC")
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_key_is_botocores() {
        // python3 -c 'import hashlib,json; print(hashlib.sha1(json.dumps({…}, sort_keys=True).encode()).hexdigest())'
        let mut args: BTreeMap<&str, serde_json::Value> = BTreeMap::new();
        args.insert("RoleArn", "arn:aws:iam::123456789012:role/deploy".into());
        args.insert("DurationSeconds", 900.into());
        assert_eq!(
            hash_args(&args).as_deref(),
            Some("ffa36f5a5ba6c3f77ca0a092baadee976dd9d06e")
        );
    }

    #[test]
    fn report_is_rendered() {
        let a = Aftercare {
            copies: vec![".env:1: own key AKIA…".into()],
            cleared: vec![("role".into(), PathBuf::from("/h/.aws/cli/cache/x.json"))],
            kept: vec![],
            report_by: Some(DateTime::<Utc>::UNIX_EPOCH),
        };
        let r = a.render();
        assert!(r.contains("1 place still holds"), "{r}");
        assert!(r.contains("`role`") && r.contains("x.json"), "{r}");
        assert!(
            r.contains("IAM.3") && r.contains("1970-01-01 00:00 UTC"),
            "{r}"
        );
    }
}
