//! Notification memory: what was said, about which key, on which day. Kept in
//! `<state dir>/agent-notes.json` (0600, atomic writes, key ids and dates only — no secrets),
//! so a restarted agent does not repeat itself.
//!
//! The rule (`decide`, pure): a warn stage (`warn@75`, `warn@85`) and `unused` are said once;
//! `expired` and rotation reminders are said at most once per day while they last. So no
//! key/level pair is ever said twice on one (UTC) day.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::env::Env;
use crate::error::Result;
use crate::notifier::Note;

use super::event::Event;
use super::texts;

/// The file name under the state folder.
pub(crate) const FILE: &str = "agent-notes.json";

/// Marks not refreshed for this many days are forgotten when their key is gone.
const FORGET_AFTER_DAYS: i64 = 120;

/// `subject|mark` → the day it was last said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Memory {
    #[serde(default)]
    pub said: BTreeMap<String, NaiveDate>,
}

/// A notification to send, with the memory entry to record once it was shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Planned {
    pub entry: String,
    pub note: Note,
    /// What it is about.
    pub event: Event,
}

fn entry(subject: &str, mark: &str) -> String {
    format!("{subject}|{mark}")
}

/// Which events deserve a notification now. Pure.
pub(crate) fn decide(events: &[Event], memory: &Memory, now: DateTime<Utc>) -> Vec<Planned> {
    let today = now.date_naive();
    let mut out: Vec<Planned> = Vec::new();
    for ev in events {
        let Some(mark) = ev.mark() else { continue };
        let e = entry(ev.subject(), &mark);
        let due = match memory.said.get(&e) {
            None => true,
            Some(day) => ev.daily() && *day < today,
        };
        if !due || out.iter().any(|p| p.entry == e) {
            continue;
        }
        if let Some(note) = texts::note_for(ev) {
            out.push(Planned {
                entry: e,
                note,
                event: ev.clone(),
            });
        }
    }
    out
}

impl Memory {
    pub(crate) fn path(env: &Env) -> PathBuf {
        env.state_dir().join(FILE)
    }

    /// Reads the memory; a missing file is empty; an unreadable one is reported and ignored
    /// (it is our own file: losing it means at worst one repeated reminder).
    pub(crate) fn load(path: &Path) -> Memory {
        match crate::sys::fs::read_state(path) {
            Ok(Some(bytes)) => match serde_json::from_slice(&bytes) {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(path = %path.display(), "notification memory unreadable, starting afresh: {e}");
                    Memory::default()
                }
            },
            Ok(None) => Memory::default(),
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot read the notification memory: {e}");
                Memory::default()
            }
        }
    }

    /// Writes it atomically (creating the 0700 state folder).
    pub(crate) fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            crate::state::ensure_private_dir(dir)?;
        }
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| crate::error::Error::internal(format!("notification memory: {e}")))?;
        crate::state::write_atomic(path, &bytes)
    }

    /// Records that `planned` was shown today.
    pub(crate) fn record(&mut self, planned: &Planned, now: DateTime<Utc>) {
        self.said.insert(planned.entry.clone(), now.date_naive());
    }

    /// Forgets what is no longer relevant: marks of keys that are back to ok or gone, so that a
    /// key that warns again later is said again; old marks of vanished subjects.
    pub(crate) fn prune(&mut self, events: &[Event], now: DateTime<Utc>) {
        let live: BTreeSet<String> = events
            .iter()
            .filter_map(|e| e.mark().map(|m| entry(e.subject(), &m)))
            .collect();
        let subjects: BTreeSet<&str> = events.iter().map(Event::subject).collect();
        let today = now.date_naive();
        self.said.retain(|e, day| {
            if live.contains(e) {
                return true;
            }
            let subject = e.split('|').next().unwrap_or_default();
            if subjects.contains(subject) {
                // Same key, other mark: keep earlier warn stages (so warn@75 is not repeated
                // when the key is at 85), forget once the key is ok again.
                let key_ok = events
                    .iter()
                    .any(|ev| ev.subject() == subject && ev.mark().is_none());
                return !key_ok;
            }
            (today - *day).num_days() < FORGET_AFTER_DAYS
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::event::{KeySeen, Level, RotationNeed};
    use super::*;
    use chrono::TimeZone;

    fn key(level: Level, stage: Option<u32>) -> Event {
        Event::Key(KeySeen {
            key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            profiles: vec!["work".into()],
            level,
            age_days: Some(80),
            age_is_lower_bound: false,
            max_age_days: 90,
            warn_stage: stage,
            unused_days: None,
        })
    }

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
    }

    fn cycle(events: &[Event], m: &mut Memory, now: DateTime<Utc>) -> usize {
        let p = decide(events, m, now);
        for x in &p {
            m.record(x, now);
        }
        m.prune(events, now);
        p.len()
    }

    #[test]
    fn warn_once_then_expired_once_a_day() {
        let mut m = Memory::default();
        let warn = [key(Level::Warn, Some(75))];
        assert_eq!(cycle(&warn, &mut m, at(1, 9)), 1);
        assert_eq!(cycle(&warn, &mut m, at(1, 15)), 0);
        assert_eq!(
            cycle(&warn, &mut m, at(2, 9)),
            0,
            "warn stages are said once"
        );
        let warn85 = [key(Level::Warn, Some(85))];
        assert_eq!(
            cycle(&warn85, &mut m, at(11, 9)),
            1,
            "next stage is a new reminder"
        );
        let exp = [key(Level::Expired, None)];
        assert_eq!(cycle(&exp, &mut m, at(16, 9)), 1);
        assert_eq!(cycle(&exp, &mut m, at(16, 20)), 0);
        assert_eq!(
            cycle(&exp, &mut m, at(17, 9)),
            1,
            "expired is repeated daily"
        );
    }

    #[test]
    fn ok_again_forgets_and_nothing_for_ok() {
        let mut m = Memory::default();
        assert_eq!(cycle(&[key(Level::Ok, None)], &mut m, at(1, 9)), 0);
        assert_eq!(cycle(&[key(Level::Warn, Some(75))], &mut m, at(1, 9)), 1);
        assert_eq!(cycle(&[key(Level::Ok, None)], &mut m, at(2, 9)), 0);
        assert!(m.said.is_empty());
        assert_eq!(cycle(&[key(Level::Warn, Some(75))], &mut m, at(3, 9)), 1);
    }

    #[test]
    fn duplicates_in_one_cycle_are_said_once_and_rotation_daily() {
        let m = Memory::default();
        let r = Event::Rotation(RotationNeed::FinalizeDue {
            profile: "work".into(),
            old_key_id: "AKIAOLD0000000000000".into(),
        });
        let evs = [
            key(Level::Unused, None),
            key(Level::Unused, None),
            r.clone(),
        ];
        assert_eq!(decide(&evs, &m, at(1, 1)).len(), 2);
        let mut m = Memory::default();
        assert_eq!(cycle(std::slice::from_ref(&r), &mut m, at(1, 1)), 1);
        assert_eq!(cycle(std::slice::from_ref(&r), &mut m, at(1, 2)), 0);
        assert_eq!(cycle(&[r], &mut m, at(2, 1)), 1);
    }

    #[test]
    fn persisted_without_secrets() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state").join(FILE);
        let mut m = Memory::default();
        cycle(&[key(Level::Warn, Some(75))], &mut m, at(1, 9));
        m.save(&p).unwrap();
        let back = Memory::load(&p);
        assert_eq!(back, m);
        assert_eq!(
            decide(&[key(Level::Warn, Some(75))], &back, at(1, 10)).len(),
            0
        );
        std::fs::write(&p, b"{nope").unwrap();
        assert_eq!(Memory::load(&p), Memory::default());
        assert_eq!(Memory::load(&d.path().join("none")), Memory::default());
    }
}
