//! Notification texts. Each names the profile(s) and the command to run; none holds a secret
//! (key ids are masked: `AKIA…MPLE`).

use crate::notifier::{Note, Urgency};
use crate::secret::mask_id;

use super::event::{Event, KeySeen, Level, RotationNeed};

/// The text for an event; None when there is nothing to say.
pub(crate) fn note_for(event: &Event) -> Option<Note> {
    match event {
        Event::Key(k) => key_note(k),
        Event::Rotation(r) => Some(rotation_note(r)),
    }
}

fn who(k: &KeySeen) -> String {
    match k.profiles.as_slice() {
        [] => format!("AWS key {} (in no local profile)", mask_id(&k.key_id)),
        [one] => format!("AWS key of profile {one}"),
        many => format!("AWS key of profiles {}", many.join(", ")),
    }
}

fn rotate_cmd(k: &KeySeen) -> String {
    match k.profiles.first() {
        Some(p) => format!("keyage rotate-self --profile {p}"),
        None => "keyage status".to_string(),
    }
}

fn age(k: &KeySeen) -> String {
    match k.age_days {
        Some(d) if k.age_is_lower_bound => format!("at least {d} days old"),
        Some(d) => format!("{d} days old"),
        None => "of unknown age".to_string(),
    }
}

fn key_note(k: &KeySeen) -> Option<Note> {
    let id = mask_id(&k.key_id);
    match k.level {
        Level::Ok => None,
        Level::Warn => {
            let left = k
                .age_days
                .map(|d| i64::from(k.max_age_days) - d)
                .filter(|l| *l >= 0)
                .map(|l| format!(" (in {l} days)"))
                .unwrap_or_default();
            Some(Note {
                summary: format!("{} is {}", who(k), age(k)),
                body: format!(
                    "Key {id} reaches the {}-day limit soon{left}. Rotate it: {}",
                    k.max_age_days,
                    rotate_cmd(k)
                ),
                urgency: Urgency::Normal,
            })
        }
        Level::Expired => Some(Note {
            summary: format!("{} has expired: {}", who(k), age(k)),
            body: format!(
                "Key {id} is past the {}-day limit. Rotate it now: {}",
                k.max_age_days,
                rotate_cmd(k)
            ),
            urgency: Urgency::Critical,
        }),
        Level::Unused => {
            let idle = match k.unused_days {
                Some(d) => format!("has not been used for {d} days"),
                None => "has never been used".to_string(),
            };
            Some(Note {
                summary: format!("{} is unused", who(k)),
                body: format!(
                    "Key {id} {idle}. If nothing needs it, make it inactive or delete it; see: keyage status"
                ),
                urgency: Urgency::Normal,
            })
        }
    }
}

fn rotation_note(r: &RotationNeed) -> Note {
    match r {
        RotationNeed::Interrupted { profile, key_id } => Note {
            summary: format!("Key rotation of profile {profile} was interrupted"),
            body: format!(
                "The rotation of key {} stopped half-way. Finish it: keyage rotate-self --resume --profile {profile} (or undo it: keyage backout --profile {profile})",
                mask_id(key_id)
            ),
            urgency: Urgency::Critical,
        },
        RotationNeed::FinalizeDue {
            profile,
            old_key_id,
        } => Note {
            summary: format!("Old AWS key of profile {profile} can be deleted"),
            body: format!(
                "The grace period of old key {} has passed. Delete it: keyage finalize --profile {profile}",
                mask_id(old_key_id)
            ),
            urgency: Urgency::Normal,
        },
        RotationNeed::Finalized {
            profile,
            old_key_id,
            already_gone: false,
        } => Note {
            summary: format!("Deleted the old AWS key of profile {profile}"),
            body: format!(
                "Old key {} stayed unused after the rotation and its grace period passed (agent.auto_finalize). Check: keyage status --profile {profile}",
                mask_id(old_key_id)
            ),
            urgency: Urgency::Low,
        },
        RotationNeed::Finalized {
            profile,
            old_key_id,
            already_gone: true,
        } => Note {
            summary: format!("The old AWS key of profile {profile} was already deleted"),
            body: format!(
                "Old key {} had already been deleted in IAM elsewhere; keyage removed its keyring copy (agent.auto_finalize). Check: keyage status --profile {profile}",
                mask_id(old_key_id)
            ),
            urgency: Urgency::Low,
        },
        RotationNeed::RotatedElsewhere {
            profile,
            key_id,
            active,
        } => Note {
            summary: format!("The AWS key of profile {profile} was rotated elsewhere"),
            body: format!(
                "Key {} in your files is no longer accepted: another machine (or someone by hand) rotated it{}. Copy the new key from the machine that rotated it, or run keyage backout there. See: keyage status",
                mask_id(key_id),
                match active.as_slice() {
                    [] => String::new(),
                    ks => format!(
                        "; active now: {}",
                        ks.iter().map(|k| mask_id(k)).collect::<Vec<_>>().join(", ")
                    ),
                }
            ),
            urgency: Urgency::Critical,
        },
        RotationNeed::AutoRotated {
            profile,
            error: None,
            ..
        } => Note {
            summary: format!("Rotated the AWS key of profile {profile}"),
            body: format!(
                "The new key is in your files (agent.auto_rotate); the old one is inactive until: keyage finalize --profile {profile}"
            ),
            urgency: Urgency::Normal,
        },
        RotationNeed::AutoRotated {
            profile,
            error: Some(e),
            ..
        } => Note {
            summary: format!("Could not rotate the AWS key of profile {profile}"),
            body: format!("{e}. Rotate it yourself: keyage rotate-self --profile {profile}"),
            urgency: Urgency::Critical,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(level: Level, age: i64) -> KeySeen {
        KeySeen {
            key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            profiles: vec!["work".into()],
            level,
            age_days: Some(age),
            age_is_lower_bound: false,
            max_age_days: 90,
            warn_stage: Some(75),
            unused_days: None,
        }
    }

    #[test]
    fn warn_text() {
        let n = note_for(&Event::Key(key(Level::Warn, 80))).unwrap();
        assert_eq!(n.summary, "AWS key of profile work is 80 days old");
        assert_eq!(
            n.body,
            "Key AKIA…MPLE reaches the 90-day limit soon (in 10 days). Rotate it: keyage rotate-self --profile work"
        );
        assert_eq!(n.urgency, Urgency::Normal);
        assert!(!n.body.contains("AKIAIOSFODNN7EXAMPLE"));
    }

    #[test]
    fn expired_and_unused_texts() {
        let n = note_for(&Event::Key(key(Level::Expired, 100))).unwrap();
        assert_eq!(
            n.summary,
            "AWS key of profile work has expired: 100 days old"
        );
        assert!(n.body.contains("keyage rotate-self --profile work"));
        assert_eq!(n.urgency, Urgency::Critical);
        let mut k = key(Level::Unused, 50);
        k.profiles = vec!["a".into(), "b".into()];
        let n = note_for(&Event::Key(k)).unwrap();
        assert_eq!(n.summary, "AWS key of profiles a, b is unused");
        assert!(note_for(&Event::Key(key(Level::Ok, 1))).is_none());
    }

    #[test]
    fn rotation_texts() {
        let n = note_for(&Event::Rotation(RotationNeed::FinalizeDue {
            profile: "work".into(),
            old_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
        }))
        .unwrap();
        assert!(
            n.body.contains("keyage finalize --profile work"),
            "{}",
            n.body
        );
        let n = note_for(&Event::Rotation(RotationNeed::Interrupted {
            profile: "work".into(),
            key_id: "AKIAIOSFODNN7EXAMPLE".into(),
        }))
        .unwrap();
        assert!(n.body.contains("--resume --profile work"), "{}", n.body);
    }

    #[test]
    fn rotated_elsewhere_text() {
        let e = Event::Rotation(RotationNeed::RotatedElsewhere {
            profile: "work".into(),
            key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            active: vec!["AKIAI44QH8DHBEXAMPLE".into()],
        });
        let n = note_for(&e).unwrap();
        assert!(n.summary.contains("rotated elsewhere"), "{}", n.summary);
        assert!(n.body.contains("another machine") && !n.body.contains("AKIAIOSFODNN7EXAMPLE"));
        assert_eq!(e.mark().as_deref(), Some("rotated-elsewhere"));
        assert!(e.daily());
    }
}
