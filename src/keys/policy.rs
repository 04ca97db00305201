//! The policy, pure: key groups (from the local files) + cached facts + config + `now` →
//! one `Finding` per key. `status`, the prompt segment, the git hook and the agent all call
//! `evaluate`, so they can never disagree.
//!
//! Rules:
//! - age = now − CreateDate (whole days). When IAM could not say (AccessDenied, never checked,
//!   offline) the age is a lower bound, now − first_seen, shown as `≥ N d`: it can prove a key
//!   expired or warned, never that it is fine (then the level is `unknown`).
//! - `expired` at age ≥ max_age_days; `warn` at age ≥ the first of warn_at_days
//!   (`warn_threshold` is the highest one crossed); `unused` when an active key's last use (or,
//!   never used, its creation) is at least unused_after_days ago; else `ok`.
//! - a profile set to `ignore` gives `skipped` (all of a key's profiles must be ignored).
//! - a key AWS rejects is `unknown` with `invalid = true`.
//! - the user's other key, found through ListAccessKeys and absent from the local files, is a
//!   finding of its own when active (judged like a local key); when inactive it is only noted
//!   (`skipped`).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{Config, Policy};
use crate::keys::facts::{KeyFacts, OtherKey};
use crate::keys::iam::ApiFailure;
use crate::profiles::KeyGroup;
use crate::state::cache::Cache;

/// How a key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Expired,
    Unused,
    Unknown,
    Skipped,
}

impl Level {
    /// Higher is worse (for "worst of").
    pub(crate) fn severity(self) -> u8 {
        match self {
            Level::Skipped => 0,
            Level::Ok => 1,
            Level::Unknown => 2,
            Level::Unused => 3,
            Level::Warn => 4,
            Level::Expired => 5,
        }
    }
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Expired => "expired",
            Level::Unused => "unused",
            Level::Unknown => "unknown",
            Level::Skipped => "skipped",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a finding's key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// In a local credentials/config file (one or more profiles).
    Local,
    /// Another key of the same IAM user, not in any local file.
    Other,
}

/// The decision about one key. Serialized as-is in `status --json` (`keys[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub key_id: String,
    pub source: Source,
    /// Profiles holding this key (file order); empty for `other` keys.
    pub profiles: Vec<String>,
    /// For `other` keys: the local key through which it was found.
    pub found_via: Option<String>,
    pub level: Level,
    /// True when this key needs attention (expired, warn, unused, or invalid).
    pub finding: bool,
    /// Age in whole days (a lower bound when `age_is_lower_bound`); None when nothing is known.
    pub age_days: Option<i64>,
    pub age_is_lower_bound: bool,
    /// Days until max_age_days (negative when past); None without an age.
    pub days_left: Option<i64>,
    /// The highest warn_at_days threshold crossed (None below the first).
    pub warn_threshold: Option<u32>,
    pub max_age_days: u32,
    pub created: Option<DateTime<Utc>>,
    pub first_seen: Option<DateTime<Utc>>,
    pub checked_at: Option<DateTime<Utc>>,
    /// Status in IAM (None: unknown).
    pub active: Option<bool>,
    /// AWS rejected the key (deleted, inactive, wrong secret).
    pub invalid: bool,
    pub last_used: Option<DateTime<Utc>>,
    pub last_used_service: Option<String>,
    pub last_used_region: Option<String>,
    pub account: Option<String>,
    pub arn: Option<String>,
    pub user: Option<String>,
    /// `invalid`, `access_denied`, `unreachable`, `not_checked` or `error`; None when IAM
    /// answered everything.
    pub problem: Option<&'static str>,
    /// For `access_denied`: the IAM action that was missing, e.g. `iam:ListAccessKeys`.
    pub missing_action: Option<&'static str>,
    /// A short human explanation (the table's NOTE column).
    pub note: String,
    /// The key was rotated elsewhere (`rotation::mark_elsewhere`): the prompt says so. Not in
    /// the JSON (the note says it there).
    #[serde(skip)]
    pub rotated_elsewhere: bool,
}

impl Finding {
    /// Does this finding make `status` exit 3 under `--fail-on` (`warn` = true: warn, unused and
    /// invalid count too)?
    pub(crate) fn fails(&self, fail_on_warn: bool) -> bool {
        match self.level {
            Level::Expired => true,
            _ => fail_on_warn && self.finding,
        }
    }
    /// The age for display: `87`, `≥12`, or `?`.
    pub(crate) fn age_text(&self) -> String {
        match (self.age_days, self.age_is_lower_bound) {
            (Some(d), false) => d.to_string(),
            (Some(d), true) => format!("≥{d}"),
            (None, _) => "?".to_string(),
        }
    }
}

/// The one decision: a finding per local key group, then one per other key of their users.
pub(crate) fn evaluate(
    groups: &[KeyGroup],
    cache: &Cache,
    config: &Config,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let mut out = Vec::with_capacity(groups.len());
    let mut others: Vec<Finding> = Vec::new();
    // Key ids already listed (local ones, then other keys as they come): one lookup per other
    // key, not a walk over every group (10,000 profiles whose users have two keys each).
    let local_ids: HashSet<&str> = groups.iter().map(|g| g.key_id.as_str()).collect();
    let mut other_ids: HashSet<String> = HashSet::new();
    for g in groups {
        let policy = config.policy_for(g.profiles.iter().map(String::as_str));
        let fallback;
        let facts = match cache.get(&g.key_id) {
            Some(f) => f,
            None => {
                fallback = KeyFacts::new(&g.key_id, now);
                &fallback
            }
        };
        out.push(local(g, facts, &policy, now));
        for o in &facts.others {
            if local_ids.contains(o.key_id.as_str()) || other_ids.contains(&o.key_id) {
                continue;
            }
            if !policy.ignore {
                other_ids.insert(o.key_id.clone());
                others.push(other(o, facts, &policy, now));
            }
        }
    }
    out.extend(others);
    out
}

fn days_between(from: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - from).num_days().max(0)
}

/// Level from an age (exact or lower bound) and last use.
fn judge(
    age: i64,
    lower_bound: bool,
    active: Option<bool>,
    idle_days: Option<i64>,
    policy: &Policy,
) -> (Level, Option<u32>) {
    let threshold = policy
        .warn_at_days
        .iter()
        .rev()
        .find(|w| age >= i64::from(**w))
        .copied();
    if age >= i64::from(policy.max_age_days) {
        return (Level::Expired, threshold);
    }
    if threshold.is_some() {
        return (Level::Warn, threshold);
    }
    if lower_bound {
        return (Level::Unknown, None);
    }
    if active != Some(false) && idle_days.is_some_and(|d| d >= i64::from(policy.unused_after_days))
    {
        return (Level::Unused, None);
    }
    (Level::Ok, None)
}

fn local(g: &KeyGroup, f: &KeyFacts, policy: &Policy, now: DateTime<Utc>) -> Finding {
    let mut notes: Vec<String> = Vec::new();
    let main = f.main_problem();
    let invalid = f.is_invalid();
    let (age, lower) = match f.created {
        Some(c) => (Some(days_between(c, now)), false),
        None => (Some(days_between(f.first_seen, now)), true),
    };
    let lu = f.last_used.as_ref();
    let idle = lu
        .and_then(|l| l.date)
        .or(f.created)
        .map(|d| days_between(d, now));
    let (mut level, threshold) = judge(age.unwrap_or(0), lower, f.active, idle, policy);
    let problem = if invalid {
        Some("invalid")
    } else {
        match main.map(|p| p.failure) {
            Some(ApiFailure::AccessDenied) => Some("access_denied"),
            Some(ApiFailure::Unreachable | ApiFailure::TimedOut) => Some("unreachable"),
            Some(_) => Some("error"),
            None if f.checked_at.is_none() => Some("not_checked"),
            None => None,
        }
    };
    if invalid {
        level = Level::Unknown;
    }
    if policy.ignore {
        level = Level::Skipped;
        notes.push("ignored by config".to_string());
    }
    if let Some(p) = main {
        notes.push(p.short());
    } else if f.checked_at.is_none() {
        notes.push("not checked with IAM yet (run `keyage status` online)".to_string());
    }
    if lower && !invalid {
        notes.push(format!(
            "age from first seen {} (a lower bound)",
            f.first_seen.format("%Y-%m-%d")
        ));
    }
    if f.active == Some(false) && !invalid {
        notes.push("inactive in IAM".to_string());
    }
    match level {
        Level::Expired => notes.insert(
            0,
            format!(
                "older than {} days: rotate it (`keyage rotate-self`)",
                policy.max_age_days
            ),
        ),
        Level::Warn => notes.insert(
            0,
            format!(
                "expires in {} d",
                i64::from(policy.max_age_days) - age.unwrap_or(0)
            ),
        ),
        Level::Unused => notes.insert(0, format!("unused for {} d", idle.unwrap_or(0))),
        _ => {}
    }
    let finding = !policy.ignore
        && (invalid || matches!(level, Level::Expired | Level::Warn | Level::Unused));
    Finding {
        key_id: g.key_id.clone(),
        source: Source::Local,
        profiles: g.profiles.clone(),
        found_via: None,
        level,
        finding,
        age_days: age,
        age_is_lower_bound: lower,
        days_left: age.map(|a| i64::from(policy.max_age_days) - a),
        warn_threshold: threshold,
        max_age_days: policy.max_age_days,
        created: f.created,
        first_seen: Some(f.first_seen),
        checked_at: f.checked_at,
        active: f.active,
        invalid,
        last_used: lu.and_then(|l| l.date),
        last_used_service: lu.and_then(|l| l.service.clone()),
        last_used_region: lu.and_then(|l| l.region.clone()),
        account: f.identity.as_ref().map(|i| i.account.clone()),
        arn: f.identity.as_ref().map(|i| i.arn.clone()),
        user: f.identity.as_ref().and_then(|i| i.user_name.clone()),
        problem,
        missing_action: main.and_then(|p| p.missing_action()),
        note: notes.join("; "),
        rotated_elsewhere: false,
    }
}

fn other(o: &OtherKey, via: &KeyFacts, policy: &Policy, now: DateTime<Utc>) -> Finding {
    let user = via.identity.as_ref().and_then(|i| i.user_name.clone());
    let who = user.clone().unwrap_or_else(|| "this user".to_string());
    let age = o.created.map(|c| days_between(c, now));
    let lu = o.last_used.as_ref();
    let idle = lu
        .and_then(|l| l.date)
        .or(o.created)
        .map(|d| days_between(d, now));
    let (level, threshold, note) = if !o.active {
        (
            Level::Skipped,
            None,
            format!("inactive second key of {who}, not in your files (noted; delete it when you no longer need it)"),
        )
    } else {
        let (level, threshold) = match age {
            Some(a) => judge(a, false, Some(true), idle, policy),
            None => (Level::Unknown, None),
        };
        let what = match level {
            Level::Expired => format!("older than {} days: ", policy.max_age_days),
            Level::Warn => "getting old: ".to_string(),
            Level::Unused => format!("unused for {} d: ", idle.unwrap_or(0)),
            _ => String::new(),
        };
        (
            level,
            threshold,
            format!(
                "{what}second active key of {who}, not in your files (deactivate or rotate it)"
            ),
        )
    };
    Finding {
        key_id: o.key_id.clone(),
        source: Source::Other,
        profiles: Vec::new(),
        found_via: Some(via.key_id.clone()),
        level,
        finding: o.active && matches!(level, Level::Expired | Level::Warn | Level::Unused),
        age_days: age,
        age_is_lower_bound: false,
        days_left: age.map(|a| i64::from(policy.max_age_days) - a),
        warn_threshold: threshold,
        max_age_days: policy.max_age_days,
        created: o.created,
        first_seen: None,
        checked_at: via.checked_at,
        active: Some(o.active),
        invalid: false,
        last_used: lu.and_then(|l| l.date),
        last_used_service: lu.and_then(|l| l.service.clone()),
        last_used_region: lu.and_then(|l| l.region.clone()),
        account: via.identity.as_ref().map(|i| i.account.clone()),
        arn: via.identity.as_ref().map(|i| i.arn.clone()),
        user,
        problem: None,
        missing_action: None,
        note,
        rotated_elsewhere: false,
    }
}

/// The worst finding of a set (by level severity, then age).
pub(crate) fn worst<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Option<&'a Finding> {
    findings
        .into_iter()
        .max_by_key(|f| (f.level.severity(), f.age_days.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::facts::Problem;
    use crate::keys::iam::{Identity, LastUsed};
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }
    fn group(id: &str, profiles: &[&str]) -> KeyGroup {
        KeyGroup {
            key_id: id.to_string(),
            profiles: profiles.iter().map(|s| s.to_string()).collect(),
        }
    }
    fn problem(op: &str, failure: ApiFailure, code: &str, message: &str) -> Problem {
        Problem {
            op: op.into(),
            failure,
            code: Some(code.into()),
            message: message.into(),
            at: now(),
        }
    }
    fn facts(id: &str, age: Option<i64>) -> KeyFacts {
        let mut f = KeyFacts::new(id, now() - Duration::days(2));
        f.checked_at = Some(now() - Duration::hours(1));
        f.identity = Some(Identity::from_arn(
            "123".into(),
            "arn:aws:iam::123:user/alice".into(),
        ));
        f.created = age.map(|a| now() - Duration::days(a) - Duration::hours(1));
        f.active = Some(true);
        f.last_used = Some(LastUsed {
            date: Some(now() - Duration::days(1)),
            service: Some("sts".into()),
            region: Some("us-east-1".into()),
        });
        f
    }
    fn eval(groups: &[KeyGroup], fs: Vec<KeyFacts>, cfg: &Config) -> Vec<Finding> {
        let mut c = Cache::empty();
        for f in fs {
            c.put(f);
        }
        evaluate(groups, &c, cfg, now())
    }
    fn one(age: Option<i64>) -> Finding {
        eval(
            &[group("AKIA1", &["default"])],
            vec![facts("AKIA1", age)],
            &Config::default(),
        )
        .remove(0)
    }

    #[test]
    fn levels_by_age() {
        let f = one(Some(100));
        assert_eq!(
            (f.level, f.age_days, f.finding),
            (Level::Expired, Some(100), true)
        );
        assert_eq!(f.days_left, Some(-10));
        assert!(f.fails(false));
        let f = one(Some(90));
        assert_eq!(f.level, Level::Expired);
        let f = one(Some(80));
        assert_eq!((f.level, f.warn_threshold), (Level::Warn, Some(75)));
        assert!(!f.fails(false) && f.fails(true));
        assert_eq!(one(Some(86)).warn_threshold, Some(85));
        let f = one(Some(3));
        assert_eq!((f.level, f.finding, f.problem), (Level::Ok, false, None));
        assert_eq!(f.user.as_deref(), Some("alice"));
        assert_eq!(f.age_text(), "3");
    }

    #[test]
    fn unused_when_idle() {
        let mut f = facts("AKIA1", Some(50));
        f.last_used = Some(LastUsed::default());
        let r = eval(
            &[group("AKIA1", &["a"])],
            vec![f.clone()],
            &Config::default(),
        );
        assert_eq!(r[0].level, Level::Unused);
        f.last_used = Some(LastUsed {
            date: Some(now() - Duration::days(46)),
            ..Default::default()
        });
        let r = eval(&[group("AKIA1", &["a"])], vec![f], &Config::default());
        assert_eq!(r[0].level, Level::Unused);
        assert!(r[0].fails(true) && !r[0].fails(false));
    }

    #[test]
    fn lower_bound_from_first_seen() {
        let mut f = KeyFacts::new("AKIA1", now() - Duration::days(12));
        f.checked_at = Some(now());
        f.problems.push(problem(
            "ListAccessKeys",
            ApiFailure::AccessDenied,
            "AccessDenied",
            "no",
        ));
        let r = eval(
            &[group("AKIA1", &["a"])],
            vec![f.clone()],
            &Config::default(),
        );
        assert_eq!(r[0].level, Level::Unknown);
        assert_eq!(r[0].age_text(), "≥12");
        assert_eq!(r[0].problem, Some("access_denied"));
        assert_eq!(r[0].missing_action, Some("iam:ListAccessKeys"));
        assert!(r[0].note.contains("iam:ListAccessKeys"), "{}", r[0].note);
        // A lower bound can still prove expiry.
        f.first_seen = now() - Duration::days(95);
        let r = eval(&[group("AKIA1", &["a"])], vec![f], &Config::default());
        assert_eq!(r[0].level, Level::Expired);
        assert!(r[0].age_is_lower_bound);
    }

    #[test]
    fn never_checked_is_unknown() {
        let r = eval(&[group("AKIA1", &["a"])], vec![], &Config::default());
        assert_eq!(r[0].level, Level::Unknown);
        assert_eq!(r[0].problem, Some("not_checked"));
        assert_eq!(r[0].age_text(), "≥0");
    }

    #[test]
    fn invalid_key() {
        let mut f = facts("AKIA1", Some(10));
        f.problems.push(problem(
            "GetCallerIdentity",
            ApiFailure::InvalidKey,
            "InvalidClientTokenId",
            "x",
        ));
        let r = eval(&[group("AKIA1", &["a"])], vec![f], &Config::default());
        assert!(r[0].invalid && r[0].finding);
        assert_eq!(
            (r[0].level, r[0].problem),
            (Level::Unknown, Some("invalid"))
        );
        assert!(r[0].note.contains("invalid"));
    }

    #[test]
    fn ignore_and_overrides() {
        let cfg = Config::parse(
            "[profiles.a]\nignore = true\n[profiles.b]\nmax_age_days = 30\n",
            std::path::Path::new("c"),
        )
        .unwrap();
        let r = eval(
            &[group("AKIA1", &["a"]), group("AKIA2", &["b"])],
            vec![facts("AKIA1", Some(200)), facts("AKIA2", Some(31))],
            &cfg,
        );
        assert_eq!((r[0].level, r[0].finding), (Level::Skipped, false));
        assert_eq!(r[1].level, Level::Expired);
        assert_eq!(r[1].max_age_days, 30);
    }

    #[test]
    fn other_keys() {
        let mut f = facts("AKIA1", Some(5));
        f.others = vec![OtherKey {
            key_id: "AKIAOLD".into(),
            created: Some(now() - Duration::days(120)),
            active: false,
            last_used: None,
        }];
        let g = [group("AKIA1", &["a", "b"])];
        let r = eval(&g, vec![f.clone()], &Config::default());
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].profiles, vec!["a", "b"]);
        assert_eq!(
            (r[1].source, r[1].level, r[1].finding),
            (Source::Other, Level::Skipped, false)
        );
        assert!(r[1].note.contains("inactive"));
        assert!(!r.iter().any(|x| x.fails(true)));
        f.others[0].active = true;
        let r = eval(&g, vec![f.clone()], &Config::default());
        assert_eq!((r[1].level, r[1].finding), (Level::Expired, true));
        assert_eq!(r[1].found_via.as_deref(), Some("AKIA1"));
        assert!(r[1].fails(false));
        // An other key that is local itself is not repeated.
        let mut f2 = facts("AKIAOLD", Some(120));
        f2.others = vec![OtherKey {
            key_id: "AKIA1".into(),
            created: f.created,
            active: true,
            last_used: None,
        }];
        let r = eval(
            &[group("AKIA1", &["a"]), group("AKIAOLD", &["c"])],
            vec![f, f2],
            &Config::default(),
        );
        assert_eq!(r.len(), 2);
        assert!(r.iter().all(|x| x.source == Source::Local));
    }

    #[test]
    fn worst_of() {
        let a = one(Some(80));
        let b = one(Some(100));
        let c = one(Some(1));
        assert_eq!(worst([&a, &b, &c]).unwrap().level, Level::Expired);
        assert!(worst([]).is_none());
    }
}
