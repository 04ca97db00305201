//! `notifier::Desktop` against real dunst on a private bus (and no bus, a bus without a
//! server, a server that never replies). One test function: it sets DBUS_SESSION_BUS_ADDRESS
//! for this test process, so the cases run one after another.

mod support;

use std::time::{Duration, Instant};

use keyage::notifier::{server_info, Desktop as DesktopNotifier, Note, Notifier, Urgency};
use support::*;

fn note(summary: &str, urgency: Urgency) -> Note {
    Note {
        summary: summary.to_string(),
        body: "AKIA…MPLE is 91 days old\nrun `keyage rotate-self`".to_string(),
        urgency,
    }
}

#[test]
fn notifications_reach_a_real_server_with_bounded_waits() {
    let n = DesktopNotifier::new();
    let scratch = Sandbox::new();

    // No bus.
    set_bus(&format!(
        "unix:path={}",
        scratch.path("run/no-bus").display()
    ));
    let e = n.send(&note("x", Urgency::Low)).expect_err("no bus");
    assert!(e.to_string().contains("no D-Bus session bus"), "{e}");
    assert!(server_info(Duration::from_secs(3)).is_err());

    // A bus without a notification server.
    let bare = Desktop::start(DesktopOpts::bare());
    set_bus(bare.bus_address());
    let e = n.send(&note("x", Urgency::Low)).expect_err("no server");
    assert!(e.to_string().contains("no notification server"), "{e}");
    let e = server_info(Duration::from_secs(3)).expect_err("no server");
    assert!(e.to_string().contains("no notification server"), "{e}");
    drop(bare);

    // dunst.
    let d = Desktop::start(DesktopOpts::notifications());
    set_bus(d.bus_address());
    let info = server_info(Duration::from_secs(3)).expect("server info");
    assert_eq!(info.name, "dunst");
    n.send(&note("Key expired", Urgency::Critical))
        .expect("send");
    n.send(&note("Key aging", Urgency::Normal)).expect("send");
    n.send(&note("Rotated", Urgency::Low)).expect("send");
    let got = d.wait_notifications(3, Duration::from_secs(5));
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0].app, "keyage");
    assert_eq!(got[0].summary, "Key expired");
    assert_eq!(
        got[0].body,
        "AKIA…MPLE is 91 days old\nrun `keyage rotate-self`"
    );
    assert_eq!(
        got.iter().map(|g| g.urgency).collect::<Vec<_>>(),
        vec![Some(2), Some(1), Some(0)]
    );

    // A server that owns the name but never replies: the wait is bounded.
    d.signal("dunst", libc::SIGSTOP);
    let t = Instant::now();
    let e = n
        .send(&note("stuck", Urgency::Normal))
        .expect_err("stuck server");
    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
    assert!(e.to_string().contains("did not answer"), "{e}");
    d.signal("dunst", libc::SIGCONT);
}
