//! `vault::Keyring` against a real gnome-keyring on a private bus (and against no bus, and a
//! bus without a Secret Service). One test function: it sets DBUS_SESSION_BUS_ADDRESS for
//! this test process, so the cases must run one after another.

mod support;

use keyage::error::Kind;
use keyage::secret::{secret, ExposeSecret};
use keyage::vault::{Keyring, SecretStore};
use support::*;

#[test]
fn keyring_on_real_secret_service() {
    let ring = Keyring::new();
    let scratch = Sandbox::new();

    // 1. No bus at all.
    set_bus(&format!(
        "unix:path={}",
        scratch.path("run/no-such-bus").display()
    ));
    let t = std::time::Instant::now();
    let e = ring.probe().expect_err("no bus");
    assert_eq!(e.kind, Kind::Keyring);
    let text = e.to_string();
    assert!(text.contains("D-Bus session bus"), "{text}");
    assert!(text.contains("fix:"), "{text}");
    assert!(t.elapsed().as_secs() < 5, "fails fast");

    // 2. A bus, but no Secret Service on it.
    let bare = Desktop::start(DesktopOpts::bare());
    set_bus(bare.bus_address());
    let e = ring
        .put("AKIAVAULTTEST0000001", &secret("x".to_string()))
        .expect_err("no service");
    let text = e.to_string();
    assert!(text.contains("no Secret Service"), "{text}");
    assert!(text.contains("gnome-keyring"), "{text}");
    drop(bare);

    // 3. A real, unlocked gnome-keyring.
    let d = Desktop::start(DesktopOpts::keyring());
    set_bus(d.bus_address());
    ring.probe().expect("probe");
    let id = "AKIAVAULTTEST0000002";
    assert!(ring.get(id).expect("get").is_none());
    ring.put(id, &secret("first-secret".to_string()))
        .expect("put");
    ring.put(id, &secret("second-secret".to_string()))
        .expect("replace");
    assert_eq!(
        ring.get(id).expect("get").expect("some").expose_secret(),
        "second-secret"
    );
    // Other tools see the same entry.
    assert_eq!(d.secret_tool_lookup(id).as_deref(), Some("second-secret"));
    // Entries written by other tools under the same attributes are found too.
    d.secret_tool_store("AKIAVAULTTEST0000003", "from-secret-tool");
    // (secret-tool stores no target attribute; keyring looks up by all of its attributes,
    // so this entry is *not* ours: keyage only reads what it wrote.)

    // 4. From inside an async runtime, on a worker thread and through spawn_blocking.
    let rt = keyage::aws::runtime().expect("runtime");
    let got = rt.block_on(async {
        let direct = Keyring::new().get(id).expect("direct in async");
        let spawned = tokio::task::spawn_blocking(move || Keyring::new().get(id))
            .await
            .expect("join")
            .expect("spawn_blocking get");
        (direct, spawned)
    });
    assert_eq!(got.0.expect("some").expose_secret(), "second-secret");
    assert_eq!(got.1.expect("some").expose_secret(), "second-secret");

    ring.delete(id).expect("delete");
    ring.delete(id).expect("delete again is fine");
    assert!(ring.get(id).expect("get").is_none());
    assert_eq!(d.secret_tool_lookup(id), None);

    // 5. A daemon that owns its name but never answers: the wait is bounded.
    d.signal("gnome-keyring-daemon", libc::SIGSTOP);
    let quick = Keyring {
        timeout: std::time::Duration::from_secs(2),
        ..Keyring::default()
    };
    let t = std::time::Instant::now();
    let e = quick.probe().expect_err("stuck keyring");
    assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
    assert!(e.to_string().contains("did not answer"), "{e}");
    d.signal("gnome-keyring-daemon", libc::SIGCONT);

    // 6. The daemon goes away mid-session.
    let mut d = d;
    d.stop("gnome-keyring-daemon");
    let e = ring.probe().expect_err("daemon gone");
    assert_eq!(e.kind, Kind::Keyring);
}
