//! Desktop notifications.
//!
//! CONTRACT: `Notifier` is the narrow trait the agent uses; `Desktop` sends through
//! notify-rust with a bounded wait (a server that owns the bus name but never replies must not
//! hang us). Notification text never contains a secret.
//! TODO (issue 2): the `Desktop` implementation and `server_info()` for doctor.

use crate::error::Result;

/// How loud a notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Low,
    Normal,
    Critical,
}

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub summary: String,
    pub body: String,
    pub urgency: Urgency,
}

pub trait Notifier {
    fn send(&self, note: &Note) -> Result<()>;
}
