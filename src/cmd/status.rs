//! `keyage status`: every local key (profiles sharing a key on one row), its age, level, last
//! use and a note; then every profile with its classification, file and line.
//!
//! Flow: config → inventory → cache (first_seen) → refresh stale keys (online only: the one
//! place an async runtime is built) → `policy::evaluate` → prompt segment files → output.
//! Exit 0, or 3 when a key is expired (or, with `--fail-on warn`, warn/unused/invalid).

use chrono::{DateTime, Utc};
use std::io::Write;

use serde::Serialize;

use crate::rotation::PendingFinalize;

use crate::cli::{FailOn, StatusArgs};
use crate::config::Config;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::keys::policy::{Finding, Level, Source};
use crate::keys::Refresh;
use crate::profiles::{Class, FileKind, Inventory, KeyGroup};

/// JSON schema version of `status --json`; bumped only on incompatible changes.
pub(crate) const SCHEMA: u32 = 1;

pub(crate) fn run(env: &Env, args: StatusArgs) -> Result<u8> {
    run_at(env, args, Utc::now(), Some(crate::keys::gather::refresh))
}

/// `keyage status --offline`, linking no AWS SDK: what the fast front binary runs
/// (`crate::front`). `args.offline` must be set.
pub(crate) fn run_offline(env: &Env, args: StatusArgs) -> Result<u8> {
    debug_assert!(args.offline);
    run_at(env, args, Utc::now(), None)
}

/// `fetch`: how to ask IAM (`None`: never, as with `--offline`).
pub(crate) fn run_at(
    env: &Env,
    args: StatusArgs,
    now: DateTime<Utc>,
    fetch: Option<crate::keys::Fetch>,
) -> Result<u8> {
    let config = Config::load(env)?;
    let inventory = Inventory::load(env)?;
    for w in &inventory.warnings {
        crate::warning!("{w}");
    }
    let groups = inventory.keys();
    let selected = select(&inventory, &groups, &args.profiles)?;

    let mode = match fetch {
        Some(f) if !args.offline && args.refresh => Refresh::Force(f),
        Some(f) if !args.offline => Refresh::Stale(f),
        _ => Refresh::Offline,
    };
    let (pending_finalize, pending_warning) = crate::rotation::pending_or_warning(env);
    if let Some(w) = &pending_warning {
        eprintln!("keyage: warning: {w}");
    }
    let pending = crate::rotation::rotating_keys(&pending_finalize);
    let cache = crate::keys::update_cache(env, &inventory, &config, &selected, mode, now)?;
    let findings = crate::keys::assess(&inventory, &cache, &config, now);
    let findings = crate::keys::publish(env, &inventory, &config, &pending, findings);
    if let Some(w) = unreachable_warning(env, &cache, &selected, now) {
        crate::warning!("{w}");
    }

    let selected_ids: std::collections::HashSet<&str> =
        selected.iter().map(|g| g.key_id.as_str()).collect();
    let shown: Vec<&Finding> = findings
        .iter()
        .filter(|f| match f.source {
            Source::Local => selected_ids.contains(f.key_id.as_str()),
            Source::Other => f
                .found_via
                .as_ref()
                .is_some_and(|v| selected_ids.contains(v.as_str())),
        })
        .collect();
    let fail_on_warn = args.fail_on == FailOn::Warn;
    let code = if shown.iter().any(|f| f.fails(fail_on_warn)) {
        3
    } else {
        0
    };
    let by_id: std::collections::HashMap<&str, &KeyGroup> =
        groups.iter().map(|g| (g.key_id.as_str(), g)).collect();
    let profiles: Vec<ProfileRow> = inventory
        .profiles
        .iter()
        .filter(|p| args.profiles.is_empty() || args.profiles.contains(&p.name))
        .map(|p| {
            let mut row = ProfileRow::new(p, &by_id);
            row.protected = p.class.key_id().is_some_and(|k| inventory.is_protected(k));
            row
        })
        .collect();

    let colour = use_colour(env);
    crate::sys::out::with_stdout(|out| {
        if args.json {
            let doc = JsonReport {
                schema: SCHEMA,
                generated_at: now,
                offline: args.offline,
                credentials_file: inventory.credentials.path.display().to_string(),
                credentials_file_exists: inventory.credentials.exists(),
                config_file: inventory.config.path.display().to_string(),
                config_file_exists: inventory.config.exists(),
                keys: shown.clone(),
                profiles,
                warnings: inventory
                    .warnings
                    .iter()
                    .cloned()
                    .chain(pending_warning.clone())
                    .collect(),
                pending_finalize: &pending_finalize,
                store: crate::store::summary(env),
                exit_code: code,
            };
            serde_json::to_writer_pretty(&mut *out, &doc).map_err(std::io::Error::from)?;
            writeln!(out)
        } else {
            let mut text = render_table(&inventory, &shown, &profiles, colour, now);
            text.push_str(&render_pending(&pending_finalize, now));
            if !pending_finalize.is_empty() {
                let st = crate::store::summary(env);
                text.push_str(&format!(
                    "backout copies: in {} ({})\n",
                    st.location, st.why
                ));
            }
            out.write_all(text.as_bytes())
        }
    })?;
    Ok(code)
}

/// One warning (two lines) when this run asked IAM and some keys got no answer.
fn unreachable_warning(
    env: &Env,
    cache: &crate::state::cache::Cache,
    selected: &[KeyGroup],
    now: DateTime<Utc>,
) -> Option<String> {
    use crate::keys::iam::ApiFailure;
    let problems: Vec<&crate::keys::facts::Problem> = selected
        .iter()
        .filter_map(|g| cache.get(&g.key_id))
        .filter_map(|f| {
            f.problems.iter().find(|p| {
                p.at == now && matches!(p.failure, ApiFailure::Unreachable | ApiFailure::TimedOut)
            })
        })
        .collect();
    let first = problems.first()?;
    let n = problems.len();
    Some(format!(
        "IAM did not answer about {n} key{} ({}: {}); the table shows what keyage knew before\n  fix: {}",
        if n == 1 { "" } else { "s" },
        first.op,
        first.message,
        crate::aws::unreachable_hint(env)
    ))
}

fn select(inv: &Inventory, groups: &[KeyGroup], names: &[String]) -> Result<Vec<KeyGroup>> {
    if names.is_empty() {
        return Ok(groups.to_vec());
    }
    for n in names {
        if inv.profile(n).is_none() {
            let known: Vec<&str> = inv.profiles.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::usage(format!(
                "no profile named `{n}` in {} or {}",
                inv.credentials.path.display(),
                inv.config.path.display()
            ))
            .hint(if known.is_empty() {
                "there are no profiles at all".to_string()
            } else {
                format!("known profiles: {}", known.join(", "))
            }));
        }
    }
    Ok(groups
        .iter()
        .filter(|g| g.profiles.iter().any(|p| names.contains(p)))
        .cloned()
        .collect())
}

fn use_colour(env: &Env) -> bool {
    use std::io::IsTerminal;
    env.get("NO_COLOR").is_none()
        && env.get("TERM") != Some("dumb")
        && std::io::stdout().is_terminal()
}

/// `status --json` (see docs/keys.md for every field).
#[derive(Serialize)]
struct JsonReport<'a> {
    schema: u32,
    generated_at: DateTime<Utc>,
    offline: bool,
    credentials_file: String,
    credentials_file_exists: bool,
    config_file: String,
    config_file_exists: bool,
    keys: Vec<&'a Finding>,
    profiles: Vec<ProfileRow>,
    warnings: Vec<String>,
    /// Old keys kept after a rotation, waiting for `keyage finalize`.
    pending_finalize: &'a [PendingFinalize],
    /// Where the backout copies are: `kind` (`keyring`|`file`|null), `configured`,
    /// `location`, `why`.
    store: crate::store::Summary,
    exit_code: u8,
}

/// The "what comes next" lines for old keys kept after a rotation.
pub(crate) fn render_pending(pending: &[PendingFinalize], now: DateTime<Utc>) -> String {
    let mut s = String::new();
    for p in pending {
        let when = if p.deadline <= now {
            "now".to_string()
        } else {
            format!("from {}", p.deadline.format("%Y-%m-%d %H:%M UTC"))
        };
        s.push_str(&format!(
            "\npending finalize: old key {} of {} (replaced by {}, kept {}): `keyage finalize` deletes it {when} if it stays unused\n",
            p.old_key_id,
            p.profiles.join(", "),
            p.new_key_id,
            match p.old_key {
                crate::rotation::OldKey::KeepActive => "active",
                _ => "inactive",
            },
        ));
    }
    s
}

/// One profile in `status` (table's second part, JSON `profiles[]`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ProfileRow {
    pub name: String,
    /// `static`, `temporary`, `no_static_key` or `incomplete`.
    pub kind: &'static str,
    /// The key id for `static`/`temporary`.
    pub key_id: Option<String>,
    /// Where the credentials come from (`no_static_key`) or what is wrong (`incomplete`).
    pub detail: Option<String>,
    pub file: String,
    pub file_kind: FileKind,
    pub line: usize,
    pub current: bool,
    /// Other profiles with the same key id.
    pub shares_key_with: Vec<String>,
    /// The key is kept in the OS keyring by `keyage protect` (the profile reads it through
    /// `credential_process`).
    pub protected: bool,
}

impl ProfileRow {
    fn new(
        p: &crate::profiles::Profile,
        groups: &std::collections::HashMap<&str, &KeyGroup>,
    ) -> Self {
        let (kind, key_id, detail) = match &p.class {
            Class::Static { key_id } => ("static", Some(key_id.clone()), None),
            Class::Temporary { key_id } => ("temporary", Some(key_id.clone()), None),
            Class::NoStaticKey { source } => ("no_static_key", None, Some(source.clone())),
            Class::Incomplete { reason } => ("incomplete", None, Some(reason.clone())),
        };
        let shares = match &p.class {
            Class::Static { key_id } => groups
                .get(key_id.as_str())
                .map(|g| {
                    g.profiles
                        .iter()
                        .filter(|n| **n != p.name)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        ProfileRow {
            name: p.name.clone(),
            kind,
            key_id,
            detail,
            file: p.file.display().to_string(),
            file_kind: p.file_kind,
            line: p.line,
            current: p.current,
            shares_key_with: shares,
            protected: false,
        }
    }
}

fn paint(s: &str, level: Level, colour: bool) -> String {
    if !colour {
        return s.to_string();
    }
    let code = match level {
        Level::Expired => "1;31",
        Level::Warn => "33",
        Level::Unused => "35",
        Level::Unknown => "36",
        Level::Ok => "32",
        Level::Skipped => "2",
    };
    format!("\x1b[{code}m{s}\x1b[0m")
}

fn last_used_text(f: &Finding) -> String {
    match (f.last_used, &f.last_used_service) {
        (Some(d), Some(s)) => format!("{} ({s})", d.format("%Y-%m-%d")),
        (Some(d), None) => d.format("%Y-%m-%d").to_string(),
        (None, _) if f.checked_at.is_some() && f.problem.is_none() => "never".to_string(),
        (None, _) => "?".to_string(),
    }
}

/// The human table.
pub(crate) fn render_table(
    inv: &Inventory,
    findings: &[&Finding],
    profiles: &[ProfileRow],
    colour: bool,
    _now: DateTime<Utc>,
) -> String {
    let mut s = String::new();
    if !inv.credentials.exists() {
        if let Some(n) = inv.credentials.missing_note() {
            s.push_str(&n);
            s.push('\n');
        }
    }
    if findings.is_empty() {
        if inv.profiles.is_empty() {
            s.push_str("no profiles found\n");
            return s;
        }
        s.push_str("no static access keys in the selected profiles\n");
    } else {
        let rows: Vec<[String; 6]> = findings
            .iter()
            .map(|f| {
                let who = match f.source {
                    Source::Local => f.profiles.join(", "),
                    Source::Other => format!("({} other key)", f.user.as_deref().unwrap_or("user")),
                };
                let age = match f.age_days {
                    Some(_) => format!("{} d", f.age_text().replace('≥', "≥ ")),
                    None => "?".to_string(),
                };
                [
                    who,
                    f.key_id.clone(),
                    age,
                    f.level.to_string(),
                    last_used_text(f),
                    if inv.is_protected(&f.key_id) {
                        if f.note.is_empty() {
                            "protected (OS keyring)".to_string()
                        } else {
                            format!("protected (OS keyring); {}", f.note)
                        }
                    } else {
                        f.note.clone()
                    },
                ]
            })
            .collect();
        let mut table = crate::sys::table::Table::new(&[
            "PROFILES",
            "KEY",
            "AGE",
            "LEVEL",
            "LAST USED",
            "NOTE",
        ])
        .right(2);
        for r in rows {
            table.row(r);
        }
        s.push_str(&table.render_painted(|row, col, cell| match row {
            Some(i) if col == 3 => paint(cell, findings[i].level, colour),
            _ => cell.to_string(),
        }));
        // The AccessDenied explanation (with the policy statement) once, after the table.
        if let Some(f) = findings.iter().find(|f| f.missing_action.is_some()) {
            if let Some(a) = f.missing_action {
                s.push_str(&format!(
                    "\nAccessDenied: your IAM identity lacks {a}, so ages are lower bounds from when keyage first saw the key.\nAsk an admin to attach a policy with this statement:\n{}\n",
                    crate::keys::iam::SELF_SERVICE_STATEMENT
                ));
            }
        }
    }
    if !profiles.is_empty() {
        s.push_str("\nprofiles:\n");
        let nw = profiles
            .iter()
            .map(|p| p.name.chars().count())
            .max()
            .unwrap_or(0);
        for p in profiles {
            let what = match (p.kind, &p.key_id, &p.detail) {
                ("static", Some(k), _) => format!("static key {k}"),
                ("temporary", Some(k), _) => format!("temporary key {k} (skipped)"),
                ("no_static_key", _, Some(d)) if d != "none" => format!(
                    "no static key ({d}): {}",
                    crate::profiles::classify::CredentialKind::from_source(d).phrase()
                ),
                (_, _, Some(d)) => format!("{} ({d})", p.kind.replace('_', " ")),
                _ => p.kind.to_string(),
            };
            let shared = if p.shares_key_with.is_empty() {
                String::new()
            } else {
                format!("  shares its key with {}", p.shares_key_with.join(", "))
            };
            let cur = if p.current { "*" } else { " " };
            s.push_str(&format!(
                "{cur} {:<nw$}  {}:{}  {what}{shared}\n",
                p.name, p.file, p.line
            ));
        }
    }
    s
}
