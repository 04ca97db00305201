//! Desktop notifications.
//!
//! CONTRACT: `Notifier` is the narrow trait the agent uses; `Desktop` sends through
//! notify-rust with a bounded wait (a server that owns the bus name but never replies must not
//! hang us). Notification text never contains a secret.
//!
//! notify-rust's zbus backend blocks on its own executor and, against a server that owns
//! `org.freedesktop.Notifications` but never answers, waits forever. Every call here runs on
//! a thread of its own and is given up after `Desktop::timeout` (3 s); the abandoned thread
//! ends with the process. Callers inside an async runtime should use `spawn_blocking`.

use std::time::Duration;

use crate::error::{Error, Kind, Result};

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

/// The application name notifications are sent under.
pub(crate) const APP_NAME: &str = "keyage";

/// The desktop's notification server (freedesktop Notifications on Linux, Notification
/// Center on macOS, toast notifications on Windows).
#[derive(Debug, Clone)]
pub struct Desktop {
    /// How long one call may take.
    pub timeout: Duration,
}

impl Default for Desktop {
    fn default() -> Self {
        Desktop {
            timeout: Duration::from_secs(3),
        }
    }
}

impl Desktop {
    pub fn new() -> Self {
        Self::default()
    }
}

/// What the notification server says about itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServerInfo {
    pub name: String,
    pub vendor: String,
    pub version: String,
    pub spec_version: String,
}

/// Runs `f` on its own thread; gives up after `timeout`.
fn bounded<T: Send + 'static>(
    timeout: Duration,
    action: &'static str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match crate::bounded::run("keyage-notify", timeout, f)? {
        Some(r) => r,
        None => Err(Error::new(
            Kind::Refused,
            format!(
                "the notification server did not answer within {} s (while trying to {action})",
                timeout.as_secs()
            ),
        )
        .hint("the notification daemon seems stuck: restart it (e.g. `killall -HUP dunst` or log out and in)")),
    }
}

impl Notifier for Desktop {
    fn send(&self, note: &Note) -> Result<()> {
        let note = note.clone();
        bounded(self.timeout, "show a notification", move || {
            let mut n = notify_rust::Notification::new();
            n.appname(APP_NAME)
                .summary(&note.summary)
                .body(&note.body)
                .icon(match note.urgency {
                    Urgency::Critical => "dialog-warning",
                    _ => "dialog-information",
                });
            #[cfg(all(unix, not(target_os = "macos")))]
            n.urgency(match note.urgency {
                Urgency::Low => notify_rust::Urgency::Low,
                Urgency::Normal => notify_rust::Urgency::Normal,
                Urgency::Critical => notify_rust::Urgency::Critical,
            });
            n.show()
                .map(|_| ())
                .map_err(|e| notify_error("reach the notification server", &e.to_string()))
        })
    }
}

/// Asks the notification server who it is (for `keyage doctor`).
#[cfg(all(unix, not(target_os = "macos")))]
pub fn server_info(timeout: Duration) -> Result<ServerInfo> {
    bounded(timeout, "ask the notification server who it is", || {
        notify_rust::get_server_information()
            .map(|i| ServerInfo {
                name: i.name,
                vendor: i.vendor,
                version: i.version,
                spec_version: i.spec_version,
            })
            .map_err(|e| notify_error("reach the notification server", &e.to_string()))
    })
}

/// On macOS and Windows the system always has a notification center.
#[cfg(not(all(unix, not(target_os = "macos"))))]
pub(crate) fn server_info(_timeout: Duration) -> Result<ServerInfo> {
    Ok(ServerInfo {
        name: if cfg!(target_os = "macos") {
            "Notification Center".into()
        } else {
            "Windows notifications".into()
        },
        vendor: String::new(),
        version: String::new(),
        spec_version: String::new(),
    })
}

/// Maps a notify-rust error text to ours, with the fix.
fn notify_error(action: &str, text: &str) -> Error {
    let t = text.to_ascii_lowercase();
    if crate::bus::session_bus_of_process().is_unreachable() {
        Error::new(
            Kind::Refused,
            format!("cannot {action}: no D-Bus session bus is reachable ({text})"),
        )
        .hint("run keyage inside your desktop session (DBUS_SESSION_BUS_ADDRESS must point at its bus)")
    } else if t.contains("serviceunknown")
        || t.contains("was not provided by any")
        || t.contains("org.freedesktop.notifications")
    {
        Error::new(
            Kind::Refused,
            format!("cannot {action}: no notification server is running ({text})"),
        )
        .hint("start a notification daemon (your desktop's, or e.g. dunst / mako / xfce4-notifyd)")
    } else {
        Error::new(Kind::Refused, format!("cannot {action}: {text}"))
    }
}
