//! The IAM credential report: `parse` reads the CSV that GetCredentialReport returns and
//! `findings` judges it against a policy at a given `now`, both pure; [`fetch`] gets the
//! report from IAM, and `cmd::audit` prints the findings.
//!
//! Rules, per user and per access-key slot (1 and 2); an inactive key is never a finding:
//! - `key_not_rotated`: active and `last_rotated` more than `max_age_days` ago;
//! - `key_unused`: active and never used while created more than `unused_days` ago, or last
//!   used more than `unused_days` ago;
//! - `two_active_keys`: both slots active (one finding per user);
//! - `root_access_key`: an active access key on `<root_account>` (one per slot).

pub(crate) mod fetch;

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::error::{Error, Result};

/// The `user` value of the account's root row.
pub(crate) const ROOT_USER: &str = "<root_account>";

/// What error messages call the report in place of a file name.
const REPORT_NAME: &str = "credential report";

/// One access-key slot of one user, as the report states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct KeySlot {
    /// 1 or 2.
    pub slot: u8,
    pub active: bool,
    /// When the key was created or last rotated; None for `N/A` (no key in this slot).
    pub last_rotated: Option<DateTime<Utc>>,
    /// None for `N/A` (never used) and `no_information`.
    pub last_used: Option<DateTime<Utc>>,
    pub last_used_region: Option<String>,
    pub last_used_service: Option<String>,
}

/// One row of the report: a user (or the root account) and its two key slots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ReportUser {
    /// The 1-based line of the report this row came from (the header is line 1).
    pub line: usize,
    pub user: String,
    pub arn: String,
    pub created: Option<DateTime<Utc>>,
    pub keys: [KeySlot; 2],
}

impl ReportUser {
    pub(crate) fn is_root(&self) -> bool {
        self.user == ROOT_USER
    }
}

/// Columns we need (`access_key_N_*` for N = 1, 2 are checked by name).
const REQUIRED: [&str; 2] = ["user", "arn"];
const KEY_REQUIRED: [&str; 3] = ["active", "last_rotated", "last_used_date"];

fn report_error(line: usize, msg: impl std::fmt::Display) -> Error {
    Error::input(Path::new(REPORT_NAME), line, msg).hint(
        "the credential report from IAM is not in the expected format; run `keyage audit` again \
         and, if it persists, report it with this line number",
    )
}

/// True for the placeholder values the report uses where there is nothing to say.
fn is_placeholder(v: &str) -> bool {
    let v = v.trim();
    v.is_empty()
        || v.eq_ignore_ascii_case("N/A")
        || v.eq_ignore_ascii_case("no_information")
        || v.eq_ignore_ascii_case("not_supported")
}

fn parse_date(line: usize, column: &str, v: &str) -> Result<Option<DateTime<Utc>>> {
    if is_placeholder(v) {
        return Ok(None);
    }
    DateTime::parse_from_rfc3339(v.trim())
        .map(|d| Some(d.with_timezone(&Utc)))
        .map_err(|_| {
            report_error(
                line,
                format!(
                    "column {column}: {:?} is not a date (expected ISO 8601 such as \
                     2024-01-31T12:00:00+00:00, or N/A)",
                    shorten(v)
                ),
            )
        })
}

fn parse_bool(line: usize, column: &str, v: &str) -> Result<bool> {
    let t = v.trim();
    if t.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if t.eq_ignore_ascii_case("false") || is_placeholder(t) {
        Ok(false)
    } else {
        Err(report_error(
            line,
            format!(
                "column {column}: expected true or false, found {:?}",
                shorten(v)
            ),
        ))
    }
}

fn parse_text(v: &str) -> Option<String> {
    (!is_placeholder(v)).then(|| v.trim().to_string())
}

/// Keeps error messages short when a field is huge.
fn shorten(v: &str) -> String {
    if v.chars().count() > 60 {
        format!("{}…", v.chars().take(60).collect::<String>())
    } else {
        v.to_string()
    }
}

/// Column positions, looked up by name so that column order and extra columns do not matter.
struct Columns {
    user: usize,
    arn: usize,
    created: Option<usize>,
    /// Per slot: active, last_rotated, last_used_date, last_used_region, last_used_service.
    slots: [[Option<usize>; 5]; 2],
}

impl Columns {
    fn from_header(header: &csv::StringRecord) -> Result<Self> {
        let find = |name: &str| header.iter().position(|h| h.trim() == name);
        let mut missing = Vec::new();
        for name in REQUIRED {
            if find(name).is_none() {
                missing.push(name.to_string());
            }
        }
        let mut slots = [[None; 5]; 2];
        for (i, slot) in slots.iter_mut().enumerate() {
            let n = i + 1;
            for (j, field) in [
                "active",
                "last_rotated",
                "last_used_date",
                "last_used_region",
                "last_used_service",
            ]
            .iter()
            .enumerate()
            {
                let name = format!("access_key_{n}_{field}");
                slot[j] = find(&name);
                if slot[j].is_none() && KEY_REQUIRED.contains(field) {
                    missing.push(name);
                }
            }
        }
        if !missing.is_empty() {
            return Err(report_error(
                1,
                format!("the header lacks the column(s) {}", missing.join(", ")),
            ));
        }
        Ok(Columns {
            user: find("user").unwrap_or(0),
            arn: find("arn").unwrap_or(0),
            created: find("user_creation_time"),
            slots,
        })
    }
}

/// Parses the report's CSV (as GetCredentialReport returns it, already base64-decoded).
/// A malformed line gives an input error naming that line; nothing here panics.
pub(crate) fn parse(text: &[u8]) -> Result<Vec<ReportUser>> {
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text);
    let header = reader.headers().map_err(|e| csv_error(&e, 1))?.clone();
    let cols = Columns::from_header(&header)?;
    let mut users = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| csv_error(&e, i + 2))?;
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(i + 2);
        users.push(parse_row(&cols, &header, &rec, line)?);
    }
    Ok(users)
}

fn csv_error(e: &csv::Error, fallback_line: usize) -> Error {
    let line = e
        .position()
        .map(|p| p.line() as usize)
        .unwrap_or(fallback_line);
    let msg = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields as in the header, found {len}"),
        csv::ErrorKind::Utf8 { .. } => "the line is not valid UTF-8".to_string(),
        _ => format!("unreadable CSV: {e}"),
    };
    report_error(line, msg)
}

fn parse_row(
    cols: &Columns,
    header: &csv::StringRecord,
    rec: &csv::StringRecord,
    line: usize,
) -> Result<ReportUser> {
    let get = |i: usize| rec.get(i).unwrap_or("");
    let name = |i: usize| header.get(i).unwrap_or("?").trim().to_string();
    let user = get(cols.user).trim().to_string();
    if user.is_empty() {
        return Err(report_error(line, "the user column is empty"));
    }
    let created = match cols.created {
        Some(c) => parse_date(line, &name(c), get(c))?,
        None => None,
    };
    let mut keys = Vec::with_capacity(2);
    for (i, s) in cols.slots.iter().enumerate() {
        let active = match s[0] {
            Some(c) => parse_bool(line, &name(c), get(c))?,
            None => false,
        };
        let date = |k: usize| -> Result<Option<DateTime<Utc>>> {
            match s[k] {
                Some(c) => parse_date(line, &name(c), get(c)),
                None => Ok(None),
            }
        };
        let text = |k: usize| s[k].and_then(|c| parse_text(get(c)));
        keys.push(KeySlot {
            slot: (i + 1) as u8,
            active,
            last_rotated: date(1)?,
            last_used: date(2)?,
            last_used_region: text(3),
            last_used_service: text(4),
        });
    }
    let second = keys.pop();
    let first = keys.pop();
    let (Some(first), Some(second)) = (first, second) else {
        return Err(Error::internal("two key slots expected"));
    };
    Ok(ReportUser {
        line,
        user,
        arn: get(cols.arn).trim().to_string(),
        created,
        keys: [first, second],
    })
}

/// The thresholds, in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Policy {
    pub max_age_days: u32,
    pub unused_days: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_age_days: 90,
            unused_days: 45,
        }
    }
}

/// What is wrong. The serialized names are part of the JSON and CSV schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FindingKind {
    /// An active access key on the root account.
    RootAccessKey,
    /// Both slots of one user are active.
    TwoActiveKeys,
    /// An active key older than the maximum age.
    KeyNotRotated,
    /// An active key not used for longer than the unused limit (or never, when older).
    KeyUnused,
}

impl FindingKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FindingKind::RootAccessKey => "root_access_key",
            FindingKind::TwoActiveKeys => "two_active_keys",
            FindingKind::KeyNotRotated => "key_not_rotated",
            FindingKind::KeyUnused => "key_unused",
        }
    }
}

/// One finding. Field names are the JSON schema (see docs/audit.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Finding {
    pub user: String,
    pub arn: String,
    pub root: bool,
    pub kind: FindingKind,
    /// The key slot (1 or 2); None for `two_active_keys`.
    pub slot: Option<u8>,
    pub last_rotated: Option<DateTime<Utc>>,
    /// Whole days since `last_rotated`.
    pub age_days: Option<i64>,
    pub last_used: Option<DateTime<Utc>>,
    /// Whole days since `last_used`; None when never used.
    pub days_since_used: Option<i64>,
    /// One sentence for people.
    pub detail: String,
}

fn days(d: Duration) -> i64 {
    d.num_days().max(0)
}

/// Judges every row at `now`. Order: report order, then slot, then kind.
pub(crate) fn findings(users: &[ReportUser], policy: &Policy, now: DateTime<Utc>) -> Vec<Finding> {
    let max_age = Duration::days(i64::from(policy.max_age_days));
    let unused = Duration::days(i64::from(policy.unused_days));
    let mut out = Vec::new();
    for u in users {
        let base = |kind: FindingKind, k: Option<&KeySlot>, detail: String| Finding {
            user: u.user.clone(),
            arn: u.arn.clone(),
            root: u.is_root(),
            kind,
            slot: k.map(|k| k.slot),
            last_rotated: k.and_then(|k| k.last_rotated),
            age_days: k.and_then(|k| k.last_rotated).map(|r| days(now - r)),
            last_used: k.and_then(|k| k.last_used),
            days_since_used: k.and_then(|k| k.last_used).map(|d| days(now - d)),
            detail,
        };
        if u.keys.iter().all(|k| k.active) {
            out.push(base(
                FindingKind::TwoActiveKeys,
                None,
                "both access keys are active; keep one, or make the spare inactive".to_string(),
            ));
        }
        for k in u.keys.iter().filter(|k| k.active) {
            let n = k.slot;
            if u.is_root() {
                out.push(base(
                    FindingKind::RootAccessKey,
                    Some(k),
                    format!("the root account has an active access key (slot {n}); delete it"),
                ));
            }
            if let Some(r) = k.last_rotated {
                if now - r > max_age {
                    out.push(base(
                        FindingKind::KeyNotRotated,
                        Some(k),
                        format!(
                            "key {n} is {} days old (limit {}); rotate it",
                            days(now - r),
                            policy.max_age_days
                        ),
                    ));
                }
            }
            match (k.last_used, k.last_rotated) {
                (Some(used), _) if now - used > unused => out.push(base(
                    FindingKind::KeyUnused,
                    Some(k),
                    format!(
                        "key {n} was last used {} days ago (limit {}); make it inactive if unneeded",
                        days(now - used),
                        policy.unused_days
                    ),
                )),
                (None, Some(r)) if now - r > unused => out.push(base(
                    FindingKind::KeyUnused,
                    Some(k),
                    format!(
                        "key {n} was never used in its {} days (limit {}); make it inactive if unneeded",
                        days(now - r),
                        policy.unused_days
                    ),
                )),
                _ => {}
            }
        }
    }
    out
}

/// Counts for the summary line and the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Summary {
    pub users: usize,
    pub active_keys: usize,
    pub findings: usize,
}

pub(crate) fn summary(users: &[ReportUser], findings: &[Finding]) -> Summary {
    Summary {
        users: users.len(),
        active_keys: users
            .iter()
            .flat_map(|u| u.keys.iter())
            .filter(|k| k.active)
            .count(),
        findings: findings.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;
    use chrono::TimeZone;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap()
    }

    /// An ISO date `d` days before `now()`.
    fn ago(d: i64) -> String {
        (now() - Duration::days(d))
            .format("%Y-%m-%dT%H:%M:%S+00:00")
            .to_string()
    }

    /// A report row; `k1`/`k2` are (active, last_rotated, last_used_date).
    fn row(user: &str, k1: (&str, &str, &str), k2: (&str, &str, &str)) -> String {
        let arn = if user == ROOT_USER {
            "arn:aws:iam::123456789012:root".to_string()
        } else {
            format!("arn:aws:iam::123456789012:user/{user}")
        };
        format!(
            "{user},{arn},{},true,no_information,N/A,N/A,false,{},{},{},N/A,N/A,{},{},{},N/A,N/A,false,N/A,false,N/A",
            ago(400),
            k1.0,
            k1.1,
            k1.2,
            k2.0,
            k2.1,
            k2.2
        )
    }

    /// A key slot in days: (active, days since rotated, days since last used).
    type Days = (bool, i64, Option<i64>);

    /// A row with two dated slots.
    fn aged(user: &str, k1: Days, k2: Days) -> String {
        let cols = |(active, rotated, used): Days| {
            (
                active.to_string(),
                ago(rotated),
                used.map_or("N/A".into(), ago),
            )
        };
        let ((a1, r1, u1), (a2, r2, u2)) = (cols(k1), cols(k2));
        row(user, (&a1, &r1, &u1), (&a2, &r2, &u2))
    }

    fn report(rows: &[String]) -> String {
        let mut s = HEADER.to_string();
        for r in rows {
            s.push('\n');
            s.push_str(r);
        }
        s.push('\n');
        s
    }

    const NONE: (&str, &str, &str) = ("false", "N/A", "N/A");

    fn kinds(f: &[Finding]) -> Vec<(String, Option<u8>, FindingKind)> {
        f.iter().map(|f| (f.user.clone(), f.slot, f.kind)).collect()
    }

    /// The report of `rows`, parsed, and its findings under the default policy.
    fn judged(rows: &[String]) -> (Vec<ReportUser>, Vec<Finding>) {
        let users = parse(report(rows).as_bytes()).unwrap();
        let f = findings(&users, &Policy::default(), now());
        (users, f)
    }

    #[test]
    fn parses_aws_values() {
        let root = format!(
            "{ROOT_USER},arn:aws:iam::123456789012:root,{},not_supported,{},not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
            ago(1000),
            ago(3)
        );
        let alice = format!(
            "alice,arn:aws:iam::123456789012:user/alice,{},false,N/A,N/A,N/A,false,true,{},{},us-west-2,s3,false,{},no_information,not_supported,not_supported,false,N/A,false,N/A",
            ago(200),
            ago(10),
            ago(1),
            ago(100)
        );
        let users = parse(report(&[root, alice]).as_bytes()).unwrap();
        assert_eq!(users.len(), 2);
        assert!(users[0].is_root());
        assert_eq!(users[0].line, 2);
        assert!(!users[0].keys[0].active && users[0].keys[0].last_rotated.is_none());
        let a = &users[1];
        assert_eq!(a.line, 3);
        assert_eq!(a.user, "alice");
        assert_eq!(a.created, Some(now() - Duration::days(200)));
        assert!(a.keys[0].active);
        assert_eq!(a.keys[0].slot, 1);
        assert_eq!(a.keys[0].last_rotated, Some(now() - Duration::days(10)));
        assert_eq!(a.keys[0].last_used, Some(now() - Duration::days(1)));
        assert_eq!(a.keys[0].last_used_region.as_deref(), Some("us-west-2"));
        assert_eq!(a.keys[0].last_used_service.as_deref(), Some("s3"));
        assert_eq!(a.keys[1].slot, 2);
        assert!(!a.keys[1].active);
        assert_eq!(a.keys[1].last_used, None);
        assert_eq!(a.keys[1].last_used_region, None);
        assert_eq!(a.keys[1].last_used_service, None);
    }

    #[test]
    fn column_order_crlf_bom_and_quotes_do_not_matter() {
        let text = format!(
            "\u{feff}arn,access_key_2_last_used_date,access_key_2_last_rotated,access_key_2_active,access_key_1_last_used_date,access_key_1_last_rotated,access_key_1_active,user\r\n\"arn:aws:iam::1:user/x,y\",N/A,N/A,false,N/A,{},TRUE,\"bob\"\r\n",
            ago(5)
        );
        let users = parse(text.as_bytes()).unwrap();
        assert_eq!(users[0].user, "bob");
        assert_eq!(users[0].arn, "arn:aws:iam::1:user/x,y");
        assert!(users[0].keys[0].active);
        assert_eq!(users[0].created, None);
    }

    #[test]
    fn header_only_is_an_empty_report() {
        assert!(parse(HEADER.as_bytes()).unwrap().is_empty());
    }

    fn err_of(text: &str) -> Error {
        parse(text.as_bytes()).expect_err("should fail")
    }

    /// The error of `text`, which must name line `line` of the report.
    fn err_at(text: &str, line: usize) -> Error {
        let e = err_of(text);
        let at = format!("credential report:{line}:");
        assert!(e.message.starts_with(&at), "{}", e.message);
        e
    }

    #[test]
    fn malformed_lines_name_the_line() {
        let good = row("a", ("true", &ago(1), "N/A"), NONE);
        // Too few fields on line 3.
        let e = err_at(
            &report(&[good.clone(), "b,arn:aws:iam::1:user/b,true".to_string()]),
            3,
        );
        assert_eq!(e.kind, Kind::Input);
        assert!(e.message.contains("expected 22 fields"), "{}", e.message);
        // A bad boolean on line 4.
        let bad = row("c", ("maybe", &ago(1), "N/A"), NONE);
        let e = err_at(&report(&[good.clone(), good.clone(), bad]), 4);
        assert!(e.message.contains("access_key_1_active"), "{}", e.message);
        assert!(e.message.contains("maybe"), "{}", e.message);
        // A bad date on line 2.
        let bad = row("d", NONE, ("true", "last tuesday", "N/A"));
        let e = err_at(&report(&[bad]), 2);
        assert!(
            e.message.contains("access_key_2_last_rotated"),
            "{}",
            e.message
        );
        assert!(e.hint.is_some());
        // An empty user name.
        let bad = row("", NONE, NONE);
        err_at(&report(&[good, bad]), 3);
        // An unterminated quote runs to the end: still an error or a short row, never a panic.
        let e = err_of(&format!("{HEADER}\n\"unterminated,x\n"));
        assert_eq!(e.kind, Kind::Input);
    }

    #[test]
    fn missing_columns_and_odd_input_are_errors() {
        let e = err_at("user,arn,access_key_1_active\nx,y,true\n", 1);
        assert!(
            e.message.contains("access_key_1_last_rotated"),
            "{}",
            e.message
        );
        assert!(e.message.contains("access_key_2_active"), "{}", e.message);
        let e = err_of("");
        assert!(e.message.contains("credential report:1:"), "{}", e.message);
        let e = parse(b"user,arn\n\xff\xfe,x\n").expect_err("bad utf8");
        assert_eq!(e.kind, Kind::Input);
        let mut bytes = report(&[row("a", NONE, NONE)]).into_bytes();
        bytes.extend_from_slice(b"\xff,\n");
        let e = parse(&bytes).expect_err("bad utf8 row");
        assert!(
            e.message.starts_with("credential report:3:"),
            "{}",
            e.message
        );
    }

    #[test]
    fn huge_values_are_shortened_in_errors() {
        let long = "x".repeat(5000);
        let e = err_of(&report(&[row("a", (&long, "N/A", "N/A"), NONE)]));
        assert!(e.message.len() < 300, "{}", e.message.len());
    }

    #[test]
    fn findings_follow_the_rules() {
        let (_, f) = judged(&[
            // Fresh and used: nothing.
            row("fresh", ("true", &ago(10), &ago(1)), NONE),
            // Old in slot 1, used recently.
            row("old1", ("true", &ago(100), &ago(2)), NONE),
            // Old in slot 2 (slot 1 inactive and old: never a finding).
            aged("old2", (false, 300, None), (true, 120, Some(3))),
            // Two active fresh keys.
            aged("two", (true, 5, Some(1)), (true, 6, Some(1))),
            // Never used and older than 45 days (but younger than 90).
            row("idle", ("true", &ago(50), "N/A"), NONE),
            // Never used but young: nothing.
            row("new", ("true", &ago(3), "N/A"), NONE),
            // Last used long ago.
            row("stale", ("true", &ago(60), &ago(46)), NONE),
            // Root with an active key, fresh and used.
            row(ROOT_USER, ("true", &ago(1), &ago(1)), NONE),
        ]);
        use FindingKind::*;
        assert_eq!(
            kinds(&f),
            vec![
                ("old1".into(), Some(1), KeyNotRotated),
                ("old2".into(), Some(2), KeyNotRotated),
                ("two".into(), None, TwoActiveKeys),
                ("idle".into(), Some(1), KeyUnused),
                ("stale".into(), Some(1), KeyUnused),
                (ROOT_USER.into(), Some(1), RootAccessKey),
            ]
        );
        let old2 = &f[1];
        assert_eq!(old2.age_days, Some(120));
        assert_eq!(old2.days_since_used, Some(3));
        assert_eq!(old2.arn, "arn:aws:iam::123456789012:user/old2");
        assert!(!old2.root);
        assert!(f[5].root);
        assert_eq!(f[2].age_days, None);
        assert_eq!(f[3].days_since_used, None);
        assert_eq!(f[3].age_days, Some(50));
        assert!(f[3].detail.contains("never used"), "{}", f[3].detail);
    }

    #[test]
    fn an_old_unused_key_is_two_findings_and_inactive_keys_none() {
        let (users, f) = judged(&[
            aged("x", (true, 100, None), (false, 500, Some(400))),
            aged("y", (false, 100, None), (false, 100, None)),
        ]);
        use FindingKind::*;
        assert_eq!(
            kinds(&f),
            vec![
                ("x".into(), Some(1), KeyNotRotated),
                ("x".into(), Some(1), KeyUnused)
            ]
        );
        let s = summary(&users, &f);
        assert_eq!((s.users, s.active_keys, s.findings), (2, 1, 2));
    }

    #[test]
    fn thresholds_are_strict_and_configurable() {
        let exactly = now() - Duration::days(90);
        let users = vec![ReportUser {
            line: 2,
            user: "u".into(),
            arn: "a".into(),
            created: None,
            keys: [
                KeySlot {
                    slot: 1,
                    active: true,
                    last_rotated: Some(exactly),
                    last_used: Some(now()),
                    last_used_region: None,
                    last_used_service: None,
                },
                KeySlot {
                    slot: 2,
                    active: false,
                    last_rotated: None,
                    last_used: None,
                    last_used_region: None,
                    last_used_service: None,
                },
            ],
        }];
        assert!(findings(&users, &Policy::default(), now()).is_empty());
        let later = now() + Duration::seconds(1);
        assert_eq!(findings(&users, &Policy::default(), later).len(), 1);
        let strict = Policy {
            max_age_days: 30,
            unused_days: 0,
        };
        let f = findings(&users, &strict, later);
        assert_eq!(f.len(), 2, "{f:?}");
        // A date in the future (clock skew) never yields negative ages.
        let f = findings(&users, &strict, exactly - Duration::days(1));
        assert!(f.is_empty());
    }

    #[test]
    fn active_key_without_dates_is_not_judged_on_age() {
        let (_, f) = judged(&[row("z", ("true", "N/A", "no_information"), NONE)]);
        assert!(f.is_empty());
    }

    #[test]
    fn finding_json_field_names() {
        let (_, f) = judged(&[row("o", ("true", &ago(100), "N/A"), NONE)]);
        let v = serde_json::to_value(&f[0]).unwrap();
        let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "age_days",
                "arn",
                "days_since_used",
                "detail",
                "kind",
                "last_rotated",
                "last_used",
                "root",
                "slot",
                "user"
            ]
        );
        assert_eq!(v["kind"], "key_not_rotated");
        assert_eq!(v["last_rotated"], "2026-08-15T12:00:00Z");
        assert_eq!(FindingKind::KeyUnused.as_str(), "key_unused");
    }
}
