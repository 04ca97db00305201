//! The test rig: real parts, started by the tests themselves, torn down on Drop.
//!
//! - [`Moto`]: local IAM/STS (moto behind `tests/support/moto_wrapper.py`) on a free
//!   127.0.0.1 port, one server per test (startup ~0.5 s).
//! - [`Desktop`]: a private D-Bus session bus (no service directories: nothing is
//!   auto-started), optionally an unlocked gnome-keyring (Secret Service) and dunst under Xvfb
//!   with a `dbus-monitor` capture of every `Notify` call.
//! - [`Sandbox`]: a temporary HOME with XDG dirs and AWS files; [`Sandbox::keyage`] gives a
//!   `Command` for the binary with a cleared environment.
//!
//! Every process is started in its own process group (and dies with its parent thread through
//! PR_SET_PDEATHSIG); Drop kills the group. Nothing here touches the real HOME, keyring,
//! desktop or ~/.aws. See docs/rig.md.
#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

pub mod chaos;
pub mod rotating;

/// The (id, secret) of `profile` in a credentials text.
pub fn profile_key(text: &str, profile: &str) -> (String, String) {
    let (mut cur, mut id, mut secret) = (String::new(), String::new(), String::new());
    for line in text.lines() {
        let l = line.trim_end_matches('\r').trim();
        if let Some(n) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            cur = n.to_string();
        } else if cur == profile {
            if let Some((k, v)) = l.split_once('=') {
                match k.trim() {
                    "aws_access_key_id" => id = v.trim().to_string(),
                    "aws_secret_access_key" => secret = v.trim().to_string(),
                    _ => {}
                }
            }
        }
    }
    (id, secret)
}

/// The keyage binary under test.
pub const KEYAGE: &str = env!("CARGO_BIN_EXE_keyage");

/// How long a keyage command may run before the rig kills it and fails the test.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// Processes

/// A child process in its own process group; Drop kills the whole group.
pub struct Proc {
    name: String,
    child: Child,
}

impl Proc {
    /// Spawns `cmd` in a new process group that also gets SIGKILL when the spawning thread
    /// dies (so a crashed test leaves nothing behind).
    pub fn spawn(name: &str, cmd: &mut Command) -> Proc {
        cmd.process_group(0);
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: prctl and getppid are async-signal-safe; nothing else runs between fork and
        // exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                // The parent died before prctl took effect: do not outlive it.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("rig: cannot start {name}: {e}"));
        Proc {
            name: name.to_string(),
            child,
        }
    }
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
    /// True while the process runs.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
    /// Waits up to `timeout` for the process to exit by itself.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + timeout;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            if Instant::now() >= end {
                return None;
            }
            sleep(Duration::from_millis(20));
        }
    }
    /// Sends `sig` to the whole process group.
    pub fn signal(&self, sig: i32) {
        // SAFETY: plain syscall on a process group we created.
        unsafe {
            libc::kill(-(self.child.id() as i32), sig);
        }
    }
    /// SIGTERM to the group, then SIGKILL after 2 s; reaps the child.
    pub fn stop(&mut self) {
        if self.alive() {
            self.signal(libc::SIGCONT);
            self.signal(libc::SIGTERM);
            if self.wait_timeout(Duration::from_secs(2)).is_none() {
                self.signal(libc::SIGKILL);
                let _ = self.child.wait();
            }
        }
        // Whatever the leader left in its group goes too.
        self.signal(libc::SIGKILL);
    }
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// With KEYAGE_RIG_TRACE=1, prints how long each rig step took (to stderr).
fn trace(what: &str, since: Instant) {
    if std::env::var_os("KEYAGE_RIG_TRACE").is_some() {
        eprintln!("rig: {what} in {:?}", since.elapsed());
    }
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !ok() {
        if Instant::now() >= end {
            panic!("rig: timed out waiting for {what}");
        }
        sleep(Duration::from_millis(25));
    }
}

fn tempdir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("rig: cannot create a temp dir")
}

fn read_lossy(p: &Path) -> String {
    fs::read(p)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// An endpoint on 127.0.0.1 where nothing listens (for "IAM is down" tests).
pub fn dead_endpoint() -> String {
    let l = TcpListener::bind("127.0.0.1:0").expect("rig: bind");
    let port = l.local_addr().expect("rig: addr").port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// An endpoint on 127.0.0.1 that accepts connections and never answers
/// (tests/support/black_hole.py), for "the network hangs" tests. Ends with the value.
pub struct BlackHole {
    port: u16,
    _proc: Proc,
    _dir: tempfile::TempDir,
}

impl BlackHole {
    pub fn start() -> BlackHole {
        let dir = tempdir("keyage-blackhole-");
        let out = dir.path().join("stdout");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/black_hole.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).expect("rig: black hole stdout"))
            .stderr(Stdio::null());
        let proc = Proc::spawn("black hole", &mut cmd);
        let mut port = 0;
        wait_until("the black hole listens", Duration::from_secs(10), || {
            port = read_lossy(&out)
                .strip_prefix("READY ")
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or(0);
            port != 0
        });
        BlackHole {
            port,
            _proc: proc,
            _dir: dir,
        }
    }
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

// ---------------------------------------------------------------------------------------------
// Moto

/// The Python venv holding moto: `$KEYAGE_VENV`, else `<repo>/.venv` (made by scripts/test).
pub fn venv() -> PathBuf {
    match std::env::var_os("KEYAGE_VENV") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"),
    }
}

/// An access key made by the rig. `secret` is a throwaway moto secret (test data only).
#[derive(Debug, Clone)]
pub struct TestKey {
    pub user: String,
    pub id: String,
    pub secret: String,
}

impl TestKey {
    /// A `[profile]` section for a credentials file.
    pub fn credentials_section(&self, profile: &str) -> String {
        format!(
            "[{profile}]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            self.id, self.secret
        )
    }
}

/// One key as the rig's admin view sees it (bypasses authentication).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminKey {
    pub key_id: String,
    pub active: bool,
    /// ISO 8601, e.g. `2026-08-15T11:00:52Z`.
    pub created: String,
    pub last_used: Option<String>,
}

/// The self-service actions the rig's default user policy allows (with Resource "*").
pub const SELF_SERVICE_ACTIONS: &[&str] = &[
    "iam:ListAccessKeys",
    "iam:GetAccessKeyLastUsed",
    "iam:CreateAccessKey",
    "iam:UpdateAccessKey",
    "iam:DeleteAccessKey",
    "iam:GetUser",
    "sts:GetCallerIdentity",
];

/// A moto IAM/STS server for one test.
pub struct Moto {
    port: u16,
    proc: Proc,
    dir: tempfile::TempDir,
}

impl Moto {
    /// Starts the wrapper on a free 127.0.0.1 port and waits until it listens.
    /// Authentication is off until [`Moto::enable_auth`].
    pub fn start() -> Moto {
        Moto::spawn().ready()
    }
    /// Starts the wrapper without waiting (Python needs ~0.5 s to import moto): start the
    /// other parts meanwhile, then call [`MotoStarting::ready`]. Call both on the test's own
    /// thread (children die with the thread that spawned them).
    pub fn spawn() -> MotoStarting {
        Moto::spawn_with(&[])
    }
    /// A slow IAM: every AWS call is answered after `latency_ms` (the wrapper's
    /// `--latency-ms`).
    pub fn start_slow(latency_ms: u32) -> Moto {
        Moto::spawn_with(&["--latency-ms", &latency_ms.to_string()]).ready()
    }
    fn spawn_with(extra: &[&str]) -> MotoStarting {
        let started = Instant::now();
        let dir = tempdir("keyage-moto-");
        let out = dir.path().join("stdout");
        let err = dir.path().join("stderr");
        let python = venv().join("bin/python");
        assert!(
            python.exists(),
            "rig: no python at {} — run scripts/test once (it creates the venv with moto), or set KEYAGE_VENV",
            python.display()
        );
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/moto_wrapper.py");
        let mut cmd = Command::new(python);
        cmd.arg(script)
            .args(["--port", "0"])
            .args(extra)
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_PROFILE")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).expect("rig: moto stdout"))
            .stderr(fs::File::create(&err).expect("rig: moto stderr"));
        let proc = Proc::spawn("moto", &mut cmd);
        MotoStarting { proc, dir, started }
    }
    /// `http://127.0.0.1:PORT`, for AWS_ENDPOINT_URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    pub fn port(&self) -> u16 {
        self.port
    }
    /// The server's log (werkzeug request lines, Python errors).
    pub fn log(&self) -> String {
        read_lossy(&self.dir.path().join("stderr"))
    }

    /// A user with the self-service policy (Resource "*") and one access key.
    pub fn create_user(&self, name: &str) -> TestKey {
        self.create_user_with(name, Some(SELF_SERVICE_ACTIONS))
    }
    /// A user whose inline policy allows exactly `actions` (None: no policy at all), with one
    /// access key.
    pub fn create_user_with(&self, name: &str, actions: Option<&[&str]>) -> TestKey {
        let body = serde_json::json!({ "name": name, "actions": actions, "key": true });
        let v = self.post("user", &body);
        TestKey {
            user: name.to_string(),
            id: str_field(&v, "key_id"),
            secret: str_field(&v, "secret"),
        }
    }
    /// Another access key for `user`.
    pub fn create_key(&self, user: &str) -> TestKey {
        let v = self.post("key", &serde_json::json!({ "user": user }));
        TestKey {
            user: user.to_string(),
            id: str_field(&v, "key_id"),
            secret: str_field(&v, "secret"),
        }
    }
    /// Sets the key's CreateDate to `days` days ago.
    pub fn make_old(&self, key_id: &str, days: u32) {
        self.post(
            "age",
            &serde_json::json!({ "key_id": key_id, "days": days }),
        );
    }
    /// Sets the key's LastUsedDate to `days_ago` days ago (None: never used) and pins it:
    /// later signed requests with the key no longer move it.
    pub fn set_last_used(&self, key_id: &str, days_ago: Option<u32>) {
        self.post(
            "last-used",
            &serde_json::json!({ "key_id": key_id, "days": days_ago }),
        );
    }
    /// Admin: make a key Active/Inactive.
    pub fn set_active(&self, key_id: &str, active: bool) {
        self.post(
            "status",
            &serde_json::json!({ "key_id": key_id, "active": active }),
        );
    }
    /// Admin: delete a key.
    pub fn delete_key(&self, key_id: &str) {
        self.post("delete", &serde_json::json!({ "key_id": key_id }));
    }
    /// Switches moto's authentication mode on: unknown, deleted and Inactive keys get
    /// InvalidClientTokenId, a wrong secret SignatureDoesNotMatch, a missing action
    /// AccessDenied.
    pub fn enable_auth(&self) {
        self.post("auth", &serde_json::json!({}));
    }
    /// Admin view of a user's keys (never authenticated, never counts as a use).
    pub fn admin_keys(&self, user: &str) -> Vec<AdminKey> {
        let (code, body) = http(
            self.port,
            "GET",
            &format!("/keyage-test/keys?user={user}"),
            None,
        );
        assert_eq!(code, 200, "rig: keys of {user}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("rig: keys json");
        v.as_array()
            .expect("rig: keys array")
            .iter()
            .map(|k| AdminKey {
                key_id: str_field(k, "key_id"),
                active: k["active"].as_bool().unwrap_or(false),
                created: str_field(k, "created"),
                last_used: k["last_used"].as_str().map(str::to_string),
            })
            .collect()
    }

    fn post(&self, what: &str, body: &serde_json::Value) -> serde_json::Value {
        let (code, text) = http(
            self.port,
            "POST",
            &format!("/keyage-test/{what}"),
            Some(&body.to_string()),
        );
        assert_eq!(code, 200, "rig: moto /keyage-test/{what} failed: {text}");
        serde_json::from_str(&text).expect("rig: moto json")
    }
}

/// A moto server that is still starting (see [`Moto::spawn`]).
pub struct MotoStarting {
    proc: Proc,
    dir: tempfile::TempDir,
    started: Instant,
}

impl MotoStarting {
    /// Waits until the server listens.
    pub fn ready(mut self) -> Moto {
        let out = self.dir.path().join("stdout");
        let end = Instant::now() + Duration::from_secs(60);
        let port = loop {
            if let Some(p) = read_lossy(&out)
                .lines()
                .find_map(|l| l.strip_prefix("READY "))
                .and_then(|p| p.trim().parse::<u16>().ok())
            {
                break p;
            }
            if !self.proc.alive() || Instant::now() > end {
                panic!(
                    "rig: moto did not start:\n{}",
                    read_lossy(&self.dir.path().join("stderr"))
                );
            }
            sleep(Duration::from_millis(20));
        };
        trace("moto started", self.started);
        Moto {
            port,
            proc: self.proc,
            dir: self.dir,
        }
    }
}

/// Starts moto and a desktop side by side (moto's start-up overlaps the desktop's).
pub fn start_rig(opts: DesktopOpts) -> (Moto, Desktop) {
    let moto = Moto::spawn();
    let desktop = Desktop::start(opts);
    (moto.ready(), desktop)
}

fn str_field(v: &serde_json::Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("rig: no {k} in {v}"))
        .to_string()
}

/// A minimal HTTP/1.1 client for the rig's own endpoints (Connection: close).
pub fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("rig: connect to moto");
    s.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("rig: http write");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("rig: http read");
    let code = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let text = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, text)
}

// ---------------------------------------------------------------------------------------------
// Desktop

/// What a [`Desktop`] runs besides its private bus.
#[derive(Debug, Clone, Copy, Default)]
pub struct DesktopOpts {
    /// gnome-keyring-daemon (Secret Service), unlocked with a test password.
    pub keyring: bool,
    /// dunst under Xvfb, plus a dbus-monitor capture of Notify calls.
    pub notifications: bool,
}

impl DesktopOpts {
    /// Keyring and notifications.
    pub fn full() -> Self {
        DesktopOpts {
            keyring: true,
            notifications: true,
        }
    }
    pub fn keyring() -> Self {
        DesktopOpts {
            keyring: true,
            notifications: false,
        }
    }
    pub fn notifications() -> Self {
        DesktopOpts {
            keyring: false,
            notifications: true,
        }
    }
    /// A bus with nothing on it (no keyring, no notification server).
    pub fn bare() -> Self {
        DesktopOpts::default()
    }
}

/// One captured `org.freedesktop.Notifications.Notify` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub app: String,
    pub summary: String,
    pub body: String,
    /// 0 low, 1 normal, 2 critical (None when the sender gave no urgency hint).
    pub urgency: Option<u8>,
    /// Action keys and labels, flattened as sent (`["default", "Open", …]`).
    pub actions: Vec<String>,
}

/// A private desktop session: its own D-Bus bus (no service dirs, so nothing auto-starts),
/// and what `DesktopOpts` asks for. Dropping it stops everything.
pub struct Desktop {
    // Field order = drop order: processes first, then the directory.
    procs: Vec<Proc>,
    bus_address: String,
    display: Option<String>,
    monitor_log: Option<PathBuf>,
    dir: tempfile::TempDir,
}

/// The password of the test keyring.
pub const KEYRING_PASSWORD: &str = "keyage-test-password";

impl Desktop {
    pub fn start(opts: DesktopOpts) -> Desktop {
        Self::start_inner(opts, true)
    }
    /// A bus with a gnome-keyring that has no unlocked collection (fresh, started without
    /// `--unlock`): every write fails as "locked / no access".
    pub fn start_locked_keyring() -> Desktop {
        Self::start_inner(DesktopOpts::keyring(), false)
    }
    fn start_inner(opts: DesktopOpts, unlock: bool) -> Desktop {
        let started = Instant::now();
        let dir = tempdir("keyage-desktop-");
        let root = dir.path().to_path_buf();
        for d in ["run", "home", "data", "config", "cache", "state"] {
            fs::create_dir_all(root.join(d)).expect("rig: desktop dirs");
        }
        fs::set_permissions(root.join("run"), fs::Permissions::from_mode(0o700)).ok();
        let conf = root.join("bus.conf");
        fs::write(
            &conf,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}/run/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                root.display()
            ),
        )
        .expect("rig: bus.conf");
        let mut d = Desktop {
            procs: Vec::new(),
            bus_address: String::new(),
            display: None,
            monitor_log: None,
            dir,
        };

        let addr_file = root.join("bus.addr");
        let mut bus = Command::new("dbus-daemon");
        bus.arg(format!("--config-file={}", conf.display()))
            .args(["--nofork", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(fs::File::create(&addr_file).expect("rig: bus.addr"))
            .stderr(fs::File::create(root.join("bus.log")).expect("rig: bus.log"));
        d.procs.push(Proc::spawn("dbus-daemon", &mut bus));
        wait_until("the private D-Bus", Duration::from_secs(10), || {
            read_lossy(&addr_file).ends_with('\n')
        });
        d.bus_address = read_lossy(&addr_file).trim().to_string();
        trace("dbus-daemon ready", started);

        if opts.notifications {
            // The monitor first, so no Notify call is missed.
            let log = root.join("notify.log");
            let mut mon = d.command("dbus-monitor");
            mon.args([
                "--session",
                "type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
            ])
            .stdout(fs::File::create(&log).expect("rig: notify.log"))
            .stderr(Stdio::null());
            d.procs.push(Proc::spawn("dbus-monitor", &mut mon));
            wait_until("dbus-monitor", Duration::from_secs(10), || {
                read_lossy(&log).contains("member=NameLost")
            });
            d.monitor_log = Some(log);
            trace("dbus-monitor ready", started);

            let display_file = root.join("display");
            let f = fs::File::create(&display_file).expect("rig: display file");
            let mut x = d.command("Xvfb");
            x.args([
                "-displayfd",
                "5",
                "-screen",
                "0",
                "640x480x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(fs::File::create(root.join("xvfb.log")).expect("rig: xvfb.log"));
            let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
            // SAFETY: dup2 is async-signal-safe; `f` outlives the spawn.
            unsafe {
                x.pre_exec(move || {
                    let r = if fd == 5 {
                        libc::fcntl(5, libc::F_SETFD, 0)
                    } else {
                        libc::dup2(fd, 5)
                    };
                    if r < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            d.procs.push(Proc::spawn("Xvfb", &mut x));
            drop(f);
            wait_until("Xvfb", Duration::from_secs(15), || {
                read_lossy(&display_file).ends_with('\n')
            });
            d.display = Some(format!(":{}", read_lossy(&display_file).trim()));
            trace("Xvfb ready", started);

            let rc = root.join("dunstrc");
            fs::write(
                &rc,
                "[global]\nhistory_length = 100\nstack_duplicates = false\nshow_indicators = no\n\
                 [urgency_low]\ntimeout = 0\n[urgency_normal]\ntimeout = 0\n[urgency_critical]\ntimeout = 0\n",
            )
            .expect("rig: dunstrc");
            let mut dunst = d.command("dunst");
            dunst
                .arg("-config")
                .arg(&rc)
                .stdout(Stdio::null())
                .stderr(fs::File::create(root.join("dunst.log")).expect("rig: dunst.log"));
            d.procs.push(Proc::spawn("dunst", &mut dunst));
            d.wait_for_name("org.freedesktop.Notifications");
            trace("dunst ready", started);
        }

        if opts.keyring {
            let mut gk = d.command("gnome-keyring-daemon");
            gk.arg("--foreground");
            if unlock {
                gk.arg("--unlock");
            }
            gk.arg("--components=secrets")
                .stdin(if unlock {
                    Stdio::piped()
                } else {
                    Stdio::null()
                })
                .stdout(Stdio::null())
                .stderr(fs::File::create(root.join("keyring.log")).expect("rig: keyring.log"));
            let mut p = Proc::spawn("gnome-keyring-daemon", &mut gk);
            if let Some(mut stdin) = p.child.stdin.take() {
                stdin
                    .write_all(KEYRING_PASSWORD.as_bytes())
                    .expect("rig: keyring password");
            }
            d.procs.push(p);
            d.wait_for_name("org.freedesktop.secrets");
            trace("gnome-keyring ready", started);
        }
        d
    }

    /// A command that runs inside this desktop session (its bus, display, HOME and XDG dirs).
    pub fn command(&self, program: &str) -> Command {
        let root = self.dir.path();
        let mut c = Command::new(program);
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", root.join("home"))
            .env("XDG_RUNTIME_DIR", root.join("run"))
            .env("XDG_DATA_HOME", root.join("data"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("XDG_CACHE_HOME", root.join("cache"))
            .env("XDG_STATE_HOME", root.join("state"))
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address)
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::null());
        if let Some(disp) = &self.display {
            c.env("DISPLAY", disp);
        }
        c
    }

    /// `DBUS_SESSION_BUS_ADDRESS`.
    pub fn bus_address(&self) -> &str {
        &self.bus_address
    }
    /// `DISPLAY` of the Xvfb server, when notifications were asked for.
    pub fn display(&self) -> Option<&str> {
        self.display.as_deref()
    }
    /// The variables a client process needs to use this desktop.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut v = vec![(
            "DBUS_SESSION_BUS_ADDRESS".to_string(),
            self.bus_address.clone(),
        )];
        if let Some(d) = &self.display {
            v.push(("DISPLAY".to_string(), d.clone()));
        }
        v
    }

    /// True when `name` has an owner on this bus.
    pub fn has_owner(&self, name: &str) -> bool {
        self.command("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
            ])
            .arg(format!("string:{name}"))
            .stderr(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
            .unwrap_or(false)
    }

    fn wait_for_name(&mut self, name: &str) {
        let end = Instant::now() + Duration::from_secs(15);
        while !self.has_owner(name) {
            if Instant::now() > end || self.procs.iter_mut().any(|p| !p.alive()) {
                let logs: String = ["bus.log", "keyring.log", "dunst.log", "xvfb.log"]
                    .iter()
                    .map(|f| format!("--- {f}\n{}", read_lossy(&self.dir.path().join(f))))
                    .collect();
                panic!("rig: {name} did not appear on the private bus\n{logs}");
            }
            sleep(Duration::from_millis(25));
        }
    }

    /// Every Notify call seen so far, in order.
    pub fn notifications(&self) -> Vec<Notification> {
        let log = self
            .monitor_log
            .as_ref()
            .expect("rig: Desktop started without notifications");
        parse_notify_log(&read_lossy(log))
    }
    /// Waits (up to `timeout`) until at least `n` notifications were captured.
    pub fn wait_notifications(&self, n: usize, timeout: Duration) -> Vec<Notification> {
        let end = Instant::now() + timeout;
        loop {
            let v = self.notifications();
            if v.len() >= n || Instant::now() >= end {
                return v;
            }
            sleep(Duration::from_millis(25));
        }
    }

    /// The secret keyage stored for `key_id` (service `keyage`), read with secret-tool.
    pub fn secret_tool_lookup(&self, key_id: &str) -> Option<String> {
        let out = self
            .command("secret-tool")
            .args(["lookup", "service", "keyage", "username", key_id])
            .output()
            .expect("rig: secret-tool");
        if out.status.success() && !out.stdout.is_empty() {
            Some(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            None
        }
    }
    /// Stores a secret the way keyage does (service `keyage`, username = key id).
    pub fn secret_tool_store(&self, key_id: &str, secret: &str) {
        let mut c = self.command("secret-tool");
        c.args([
            "store",
            "--label=keyage test",
            "service",
            "keyage",
            "username",
            key_id,
        ])
        .stdin(Stdio::piped());
        let mut child = c.spawn().expect("rig: secret-tool store");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(secret.as_bytes())
            .expect("rig: secret-tool stdin");
        assert!(child.wait().expect("rig: secret-tool").success());
    }
    /// Sends `sig` to one of the daemons' process group, e.g. `libc::SIGSTOP` to "dunst" for a
    /// server that owns its name but never replies (`libc::SIGCONT` resumes it).
    pub fn signal(&self, name: &str, sig: i32) {
        for p in self.procs.iter().filter(|p| p.name() == name) {
            p.signal(sig);
        }
    }
    /// Stops one of the daemons (e.g. "gnome-keyring-daemon", "dunst") mid-test.
    pub fn stop(&mut self, name: &str) {
        self.procs.retain(|p| p.name() != name);
    }
    /// Log files of the daemons (for failure messages).
    pub fn logs(&self) -> String {
        ["bus.log", "keyring.log", "dunst.log", "xvfb.log"]
            .iter()
            .map(|f| format!("--- {f}\n{}", read_lossy(&self.dir.path().join(f))))
            .collect()
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        // Clients first, the bus last.
        while let Some(p) = self.procs.pop() {
            drop(p);
        }
    }
}

/// Parses `dbus-monitor` text output into Notify calls.
pub fn parse_notify_log(text: &str) -> Vec<Notification> {
    let mut out = Vec::new();
    let mut blocks: Vec<String> = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.split_inclusive('\n') {
        let header = line.starts_with("method call ")
            || line.starts_with("signal ")
            || line.starts_with("method return ")
            || line.starts_with("error ");
        if header {
            if let Some(b) = cur.take() {
                blocks.push(b);
            }
            if line.starts_with("method call ") && line.contains("member=Notify") {
                cur = Some(String::new());
            }
        } else if let Some(b) = cur.as_mut() {
            b.push_str(line);
        }
    }
    if let Some(b) = cur.take() {
        blocks.push(b);
    }
    for b in blocks {
        if let Some(n) = parse_notify_args(&b) {
            out.push(n);
        }
    }
    out
}

fn parse_notify_args(b: &str) -> Option<Notification> {
    // Arguments: app_name s, replaces_id u, app_icon s, summary s, body s, actions as,
    // hints a{sv}, timeout i. Strings are printed raw (may span lines).
    let mut rest = b;
    let mut take_string = |until: &str| -> Option<String> {
        let start = rest.find("   string \"")? + "   string \"".len();
        let after = &rest[start..];
        let end = after.find(until)?;
        let s = after[..end].to_string();
        rest = &after[end + 1..];
        Some(s)
    };
    let app = take_string("\"\n   uint32 ")?;
    let _icon = take_string("\"\n   string \"")?;
    let summary = take_string("\"\n   string \"")?;
    let body = take_string("\"\n   array [")?;
    // rest now starts with "\n   array [" (actions) then hints.
    let actions_start = rest.find("   array [")? + "   array [".len();
    let after_actions = &rest[actions_start..];
    let actions_end = after_actions.find("\n   ]")?;
    let actions = after_actions[..actions_end]
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            l.strip_prefix("string \"")
                .and_then(|s| s.strip_suffix('"'))
                .map(str::to_string)
        })
        .collect();
    let hints = &after_actions[actions_end + 5..];
    let urgency = hints.find("string \"urgency\"").and_then(|i| {
        let h = &hints[i..];
        let v = h.find("byte ")?;
        h[v + 5..]
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
    });
    Some(Notification {
        app,
        summary,
        body,
        urgency,
        actions,
    })
}

// ---------------------------------------------------------------------------------------------
// Sandbox

/// A temporary HOME with XDG dirs and the AWS files, for one test.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

/// A finished keyage run.
#[derive(Debug, Clone)]
pub struct Out {
    /// Exit code (None when killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Panics with both streams unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempdir("keyage-sandbox-");
        let home = dir.path().join("home");
        for d in [
            ".aws",
            ".config",
            ".local/share",
            ".local/state",
            ".cache",
            "run",
        ] {
            fs::create_dir_all(home.join(d)).expect("rig: sandbox dirs");
        }
        fs::set_permissions(home.join("run"), fs::Permissions::from_mode(0o700)).ok();
        Sandbox { dir }
    }
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }
    /// A path inside HOME.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.home().join(rel)
    }
    pub fn credentials_path(&self) -> PathBuf {
        self.path(".aws/credentials")
    }
    pub fn config_path(&self) -> PathBuf {
        self.path(".aws/config")
    }
    /// Writes `~/.aws/credentials` (mode 0600).
    pub fn write_credentials(&self, text: &str) {
        write_private(&self.credentials_path(), text);
    }
    /// Writes `~/.aws/config` (mode 0600).
    pub fn write_config(&self, text: &str) {
        write_private(&self.config_path(), text);
    }
    pub fn read(&self, rel: &str) -> String {
        read_lossy(&self.path(rel))
    }
    /// The keyage binary with a cleared environment: PATH, HOME, XDG_* (under HOME),
    /// AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, AWS_REGION=us-east-1, no bus (unless
    /// `.desktop()`), no endpoint (unless `.moto()`), stdin /dev/null, cwd HOME.
    pub fn keyage(&self) -> Command {
        let mut c = Command::new(KEYAGE);
        self.apply_env(&mut c);
        c
    }
    /// Any program in this sandbox's environment (git, bash, zsh, fish…).
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        self.apply_env(&mut c);
        c
    }
    fn apply_env(&self, c: &mut Command) {
        let home = self.home();
        c.env_clear()
            .env("PATH", sandbox_path())
            .env("HOME", &home)
            .env("USER", "keyage-test")
            .env("LANG", "C.UTF-8")
            .env("TERM", "dumb")
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_RUNTIME_DIR", home.join("run"))
            .env("AWS_SHARED_CREDENTIALS_FILE", self.credentials_path())
            .env("AWS_CONFIG_FILE", self.config_path())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .current_dir(&home)
            .stdin(Stdio::null());
    }
}

/// The library in a sandbox (tests that call keyage's functions rather than its binary): an
/// `Env` with HOME and the AWS file variables pointing into the sandbox.
impl Sandbox {
    pub fn env(&self) -> keyage::env::Env {
        let home = self.home();
        let (creds, config) = (self.credentials_path(), self.config_path());
        keyage::env::Env::from_pairs([
            ("HOME", home.to_str().expect("rig: utf-8 HOME")),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                creds.to_str().expect("rig: utf-8 path"),
            ),
            ("AWS_CONFIG_FILE", config.to_str().expect("rig: utf-8 path")),
        ])
    }
    /// `~/.aws/credentials` or `~/.aws/config`.
    pub fn aws_file(&self, kind: keyage::profiles::FileKind) -> PathBuf {
        match kind {
            keyage::profiles::FileKind::Credentials => self.credentials_path(),
            keyage::profiles::FileKind::Config => self.config_path(),
        }
    }
    /// Writes the AWS file of `kind` (any bytes, mode 0600) and returns its path.
    pub fn write_aws(&self, kind: keyage::profiles::FileKind, bytes: &[u8]) -> PathBuf {
        let p = self.aws_file(kind);
        fs::write(&p, bytes).unwrap_or_else(|e| panic!("rig: write {}: {e}", p.display()));
        set_mode(&p, 0o600);
        p
    }
    /// The inventory keyage reads from the sandbox's AWS files.
    pub fn inventory(&self) -> keyage::profiles::Inventory {
        keyage::profiles::Inventory::load(&self.env()).expect("inventory")
    }
}

/// Git in a sandbox: `GIT_CONFIG_GLOBAL` in HOME, a fixed author and committer, repositories
/// beside HOME (in the sandbox's own folder).
impl Sandbox {
    /// The sandbox's own folder (HOME is `root()/home`).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }
    /// The file `git config --global` writes in this sandbox.
    pub fn gitconfig(&self) -> PathBuf {
        self.path(".gitconfig")
    }
    /// Adds the git settings to a command of this sandbox.
    pub fn with_git<'a>(&self, c: &'a mut Command) -> &'a mut Command {
        c.env("GIT_CONFIG_GLOBAL", self.gitconfig())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
    }
    /// Runs git in `dir`.
    pub fn git(&self, dir: &Path, args: &[&str]) -> std::process::Output {
        let mut c = self.command("git");
        self.with_git(&mut c)
            .current_dir(dir)
            .args(args)
            .output()
            .expect("rig: run git")
    }
    /// Runs keyage in `dir` (with the git settings).
    pub fn keyage_in(&self, dir: &Path, args: &[&str]) -> std::process::Output {
        let mut c = self.keyage();
        self.with_git(&mut c)
            .current_dir(dir)
            .args(args)
            .output()
            .expect("rig: run keyage")
    }
    /// A new repository `root()/name` on branch main.
    pub fn repo(&self, name: &str) -> PathBuf {
        let r = self.root().join(name);
        fs::create_dir_all(&r).expect("rig: mkdir repo");
        assert!(self.git(&r, &["init", "-q", "-b", "main"]).status.success());
        r
    }
    /// Writes, stages and commits `files`; returns the commit's output.
    pub fn commit(
        &self,
        repo: &Path,
        files: &[(&str, &[u8])],
        extra: &[&str],
    ) -> std::process::Output {
        for (name, bytes) in files {
            let p = repo.join(name);
            fs::create_dir_all(p.parent().expect("rig: parent")).expect("rig: mkdir");
            fs::write(p, bytes).expect("rig: write");
            assert!(self.git(repo, &["add", "--", name]).status.success());
        }
        let mut args = vec!["commit", "-q", "-m", "test"];
        args.extend_from_slice(extra);
        self.git(repo, &args)
    }
}

/// PATH for sandboxed programs: the folder of the keyage binary under test first (so hooks and
/// shell lines that run `keyage` get this build, never an installed one), then the test's PATH.
pub fn sandbox_path() -> std::ffi::OsString {
    let mut dirs = vec![Path::new(KEYAGE)
        .parent()
        .expect("rig: keyage has a folder")
        .to_path_buf()];
    if let Some(p) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(dirs).expect("rig: PATH")
}

fn write_private(p: &Path, text: &str) {
    if let Some(dir) = p.parent() {
        fs::create_dir_all(dir).expect("rig: mkdir");
    }
    fs::write(p, text).expect("rig: write");
    fs::set_permissions(p, fs::Permissions::from_mode(0o600)).expect("rig: chmod");
}

/// Rig additions to `Command` for keyage runs.
pub trait KeyageCommand {
    /// Points the AWS SDK at this moto (AWS_ENDPOINT_URL).
    fn moto(&mut self, moto: &Moto) -> &mut Self;
    /// Points at an arbitrary endpoint (e.g. [`dead_endpoint`]).
    fn endpoint(&mut self, url: &str) -> &mut Self;
    /// Puts the process on this desktop's bus (and display).
    fn desktop(&mut self, desktop: &Desktop) -> &mut Self;
    /// Shifts the process's wall clock with libfaketime, e.g. `"+8d"` (8 days ahead) or
    /// `"-100d"`; the monotonic clock is left alone (timeouts keep working).
    fn faketime(&mut self, offset: &str) -> &mut Self;
    /// Runs to completion (killed after [`COMMAND_TIMEOUT`]), capturing both streams.
    fn run(&mut self) -> Out;
}

/// libfaketime's multi-threaded preload library (Debian package `faketime`).
pub fn libfaketime() -> PathBuf {
    let lib = fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("faketime/libfaketimeMT.so.1"))
        .chain([PathBuf::from("/usr/lib/faketime/libfaketimeMT.so.1")])
        .find(|p| p.exists());
    lib.expect("rig: libfaketimeMT.so.1 not found (apt-get install faketime)")
}

impl KeyageCommand for Command {
    fn moto(&mut self, moto: &Moto) -> &mut Self {
        self.endpoint(&moto.endpoint())
    }
    fn endpoint(&mut self, url: &str) -> &mut Self {
        self.env("AWS_ENDPOINT_URL", url)
    }
    fn desktop(&mut self, desktop: &Desktop) -> &mut Self {
        for (k, v) in desktop.env() {
            self.env(k, v);
        }
        self
    }
    fn faketime(&mut self, offset: &str) -> &mut Self {
        self.env("LD_PRELOAD", libfaketime())
            .env("FAKETIME", offset)
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .env("FAKETIME_NO_CACHE", "1")
    }
    fn run(&mut self) -> Out {
        let mut so = tempfile::tempfile().expect("rig: tempfile");
        let mut se = tempfile::tempfile().expect("rig: tempfile");
        self.stdout(so.try_clone().expect("rig: dup"))
            .stderr(se.try_clone().expect("rig: dup"));
        let mut p = Proc::spawn("command", self);
        let status = match p.wait_timeout(COMMAND_TIMEOUT) {
            Some(s) => s,
            None => {
                p.stop();
                panic!("rig: command ran longer than {COMMAND_TIMEOUT:?}: {self:?}");
            }
        };
        let read = |f: &mut fs::File| {
            use std::io::Seek;
            let mut s = Vec::new();
            f.seek(std::io::SeekFrom::Start(0)).expect("rig: seek");
            f.read_to_end(&mut s).expect("rig: read");
            String::from_utf8_lossy(&s).into_owned()
        };
        Out {
            code: status.code(),
            stdout: read(&mut so),
            stderr: read(&mut se),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Small shared helpers

/// Bytes as text (lossy).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A file's permission bits (`& 0o7777`).
pub fn mode(p: &Path) -> u32 {
    fs::metadata(p)
        .unwrap_or_else(|e| panic!("rig: metadata of {}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

pub fn set_mode(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("rig: chmod {}: {e}", p.display()));
}

/// Points this test process's D-Bus clients at `addr` (tests of the library's edges).
pub fn set_bus(addr: &str) {
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", addr);
}

/// `text` holds no part of `key`'s secret.
pub fn no_secret(text: &str, key: &TestKey) {
    assert!(!text.contains(&key.secret), "secret leaked: {text}");
}

/// `text` holds neither `key`'s secret nor its full id.
pub fn no_full_key(text: &str, key: &TestKey) {
    no_secret(text, key);
    assert!(!text.contains(&key.id), "full key id shown: {text}");
}
