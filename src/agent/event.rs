//! What the agent reacts to: one `Event` per key that needs attention (from the keys policy)
//! and per rotation that needs the user (from the rotation journal). Plain data, no secrets.

/// The level of a key, as far as the agent cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Level {
    Ok,
    Warn,
    Expired,
    Unused,
}

/// One key as the latest refresh saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeySeen {
    /// Access key id (an id, not a secret).
    pub key_id: String,
    /// Profiles holding this key, in file order (may be empty for a user's other key).
    pub profiles: Vec<String>,
    pub level: Level,
    /// Age in days; `age_is_lower_bound` when IAM could not tell and `first_seen` was used.
    pub age_days: Option<i64>,
    pub age_is_lower_bound: bool,
    /// The policy that applies to this key.
    pub max_age_days: u32,
    /// For `Warn`: the highest warn threshold the age has reached (75, 85…): each one is a
    /// fresh reminder.
    pub warn_stage: Option<u32>,
    /// For `Unused`: days since last use (None: never used).
    pub unused_days: Option<i64>,
}

/// A rotation that needs the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RotationNeed {
    /// A rotation stopped half-way (crash, network): resume or back out.
    Interrupted { profile: String, key_id: String },
    /// The grace period passed: the old key can be deleted.
    FinalizeDue { profile: String, old_key_id: String },
    /// `agent.auto_finalize` deleted the old key (`already_gone`: IAM no longer listed it, so
    /// only its store copy was removed).
    Finalized {
        profile: String,
        old_key_id: String,
        already_gone: bool,
    },
    /// The key of `profile` was rotated elsewhere (another machine holding it): the files
    /// here hold a key IAM no longer accepts.
    RotatedElsewhere {
        profile: String,
        key_id: String,
        active: Vec<String>,
    },
    /// `agent.auto_rotate` rotated the key of `profile` (error: why it did not).
    AutoRotated {
        profile: String,
        key_id: String,
        error: Option<String>,
    },
}

/// Everything one cycle found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    Key(KeySeen),
    Rotation(RotationNeed),
}

impl Event {
    /// The subject this event is about (the key id), for the memory.
    pub(crate) fn subject(&self) -> &str {
        match self {
            Event::Key(k) => &k.key_id,
            Event::Rotation(RotationNeed::Interrupted { key_id, .. }) => key_id,
            Event::Rotation(RotationNeed::FinalizeDue { old_key_id, .. }) => old_key_id,
            Event::Rotation(RotationNeed::Finalized { old_key_id, .. }) => old_key_id,
            Event::Rotation(RotationNeed::AutoRotated { key_id, .. }) => key_id,
            Event::Rotation(RotationNeed::RotatedElsewhere { key_id, .. }) => key_id,
        }
    }
    /// What about it: `warn@75`, `expired`, `unused`, `rotation-interrupted`,
    /// `finalize-due`; None when there is nothing to say (level ok).
    pub(crate) fn mark(&self) -> Option<String> {
        match self {
            Event::Key(k) => match k.level {
                Level::Ok => None,
                Level::Warn => Some(match k.warn_stage {
                    Some(s) => format!("warn@{s}"),
                    None => "warn".to_string(),
                }),
                Level::Expired => Some("expired".to_string()),
                Level::Unused => Some("unused".to_string()),
            },
            Event::Rotation(RotationNeed::Interrupted { .. }) => {
                Some("rotation-interrupted".to_string())
            }
            Event::Rotation(RotationNeed::FinalizeDue { .. }) => Some("finalize-due".to_string()),
            Event::Rotation(RotationNeed::Finalized { .. }) => Some("finalized".to_string()),
            Event::Rotation(RotationNeed::AutoRotated { .. }) => Some("auto-rotated".to_string()),
            Event::Rotation(RotationNeed::RotatedElsewhere { .. }) => {
                Some("rotated-elsewhere".to_string())
            }
        }
    }
    /// Whether this mark is repeated once a day while it lasts (the others are said once).
    pub(crate) fn daily(&self) -> bool {
        matches!(
            self,
            Event::Key(KeySeen {
                level: Level::Expired,
                ..
            }) | Event::Rotation(
                RotationNeed::Interrupted { .. }
                    | RotationNeed::FinalizeDue { .. }
                    | RotationNeed::RotatedElsewhere { .. }
            )
        )
    }
}
