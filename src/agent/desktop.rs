//! Stopgap until the rig's `notifier::Desktop` lands: notify-rust, called from a blocking
//! thread (the Speaker bounds the wait).
use crate::error::{Error, Kind, Result};
use crate::notifier::{Note, Notifier, Urgency};

#[derive(Debug, Default)]
pub struct NotifyRust;

impl Notifier for NotifyRust {
    fn send(&self, note: &Note) -> Result<()> {
        let mut n = notify_rust::Notification::new();
        n.appname("keyage").summary(&note.summary).body(&note.body);
        #[cfg(all(unix, not(target_os = "macos")))]
        n.urgency(match note.urgency {
            Urgency::Low => notify_rust::Urgency::Low,
            Urgency::Normal => notify_rust::Urgency::Normal,
            Urgency::Critical => notify_rust::Urgency::Critical,
        });
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        let _ = note.urgency;
        n.show()
            .map(|_| ())
            .map_err(|e| Error::new(Kind::Internal, format!("desktop notification failed: {e}")))
    }
}
