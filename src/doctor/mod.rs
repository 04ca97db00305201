//! `keyage doctor`: what this machine's setup can do, one line per check with its fix.
//!
//! The checks live in `files` (the AWS files), `aws` (identity and permissions of each static
//! key, in parallel), `protect` (keys kept in the keyring), `local` (keyring, notifications, git, installed hook/shell line/agent).
//! This module holds the model and the two renderings (text, JSON); it is pure.

pub(crate) mod aws;
pub(crate) mod files;
pub(crate) mod local;
pub(crate) mod protect;

use serde::Serialize;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Ok,
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Check {
    /// Stable identifier (see docs/doctor.md), e.g. `credentials_file`, `identity`.
    pub id: &'static str,
    pub status: Status,
    /// Short human label, e.g. `identity [default]`.
    pub title: String,
    /// What was found.
    pub detail: String,
    /// What to do about it (None when nothing needs doing).
    pub fix: Option<String>,
    /// The access key id the check is about, for per-key checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// The profiles using that key, for per-key checks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
}

/// `Check::ok`, `Check::warn` and `Check::fail`: a check with that status.
macro_rules! with_status {
    ($($name:ident: $status:ident),*) => {$(
        pub(crate) fn $name(
            id: &'static str,
            title: impl Into<String>,
            detail: impl Into<String>,
        ) -> Self {
            Self::new(id, Status::$status, title, detail)
        }
    )*};
}

impl Check {
    pub(crate) fn new(
        id: &'static str,
        status: Status,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Check {
            id,
            status,
            title: title.into(),
            detail: detail.into(),
            fix: None,
            key_id: None,
            profiles: Vec::new(),
        }
    }
    with_status!(ok: Ok, warn: Warn, fail: Fail);
    pub(crate) fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
    pub(crate) fn fix_opt(mut self, fix: Option<String>) -> Self {
        self.fix = fix;
        self
    }
    pub(crate) fn key(mut self, key_id: &str, profiles: &[String]) -> Self {
        self.key_id = Some(key_id.to_string());
        self.profiles = profiles.to_vec();
        self
    }
}

/// Counts per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Summary {
    pub ok: usize,
    pub warn: usize,
    pub fail: usize,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    /// JSON schema version.
    pub version: u32,
    /// True when no check failed (the exit code is 0 exactly then).
    pub ok: bool,
    pub summary: Summary,
    pub checks: Vec<Check>,
}

impl Report {
    pub(crate) fn new(checks: Vec<Check>) -> Self {
        let mut s = Summary::default();
        for c in &checks {
            match c.status {
                Status::Ok => s.ok += 1,
                Status::Warn => s.warn += 1,
                Status::Fail => s.fail += 1,
            }
        }
        Report {
            version: 1,
            ok: s.fail == 0,
            summary: s,
            checks,
        }
    }
    /// 0 when nothing failed, 1 otherwise.
    pub(crate) fn exit_code(&self) -> u8 {
        if self.ok {
            0
        } else {
            1
        }
    }
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_string())
    }
    /// The text report: `ok   title  detail`, the fix on the next line.
    pub(crate) fn to_text(&self) -> String {
        let tag = |c: &Check| match c.status {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        };
        // One table (tag, title, first detail line), titles padded to at most 32 chars; the
        // other detail lines go under the detail column, the fix under the title.
        let mut table = crate::sys::table::Table::headless(3).max_width(1, 32);
        for c in &self.checks {
            table.row([
                format!("{:<4}", tag(c)),
                c.title.clone(),
                c.detail.lines().next().unwrap_or("").to_string(),
            ]);
        }
        let pad = " ".repeat(table.offset(2));
        let mut out = String::new();
        for (c, line) in self.checks.iter().zip(table.render().lines()) {
            out.push_str(line);
            out.push('\n');
            for l in c.detail.lines().skip(1) {
                out.push_str(&format!("{pad}{l}\n"));
            }
            if let Some(f) = &c.fix {
                let mut lines = f.lines();
                out.push_str(&format!("      fix: {}\n", lines.next().unwrap_or("")));
                for l in lines {
                    out.push_str(&format!("           {l}\n"));
                }
            }
        }
        out.push_str(&format!(
            "\n{} ok, {} warning{}, {} failed\n",
            self.summary.ok,
            self.summary.warn,
            if self.summary.warn == 1 { "" } else { "s" },
            self.summary.fail
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_and_rendering() {
        let r = Report::new(vec![
            Check::ok("git", "git", "git version 2.39"),
            Check::warn("agent", "agent", "not installed").fix("keyage install agent"),
        ]);
        assert_eq!(r.exit_code(), 0);
        let t = r.to_text();
        assert!(t.contains("ok    git"), "{t}");
        assert!(t.contains("      fix: keyage install agent"), "{t}");
        assert!(t.contains("1 ok, 1 warning, 0 failed"), "{t}");
        let r = Report::new(vec![
            Check::fail("keyring", "keyring", "no bus").key("AKIAX", &["default".to_string()])
        ]);
        assert_eq!(r.exit_code(), 1);
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).expect("json");
        assert_eq!(v["ok"], false);
        assert_eq!(v["checks"][0]["status"], "fail");
        assert_eq!(v["checks"][0]["key_id"], "AKIAX");
        assert_eq!(v["checks"][0]["fix"], serde_json::Value::Null);
        assert_eq!(v["summary"]["fail"], 1);
    }
}
