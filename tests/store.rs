//! The encrypted file store end to end, through the binary, on a session with NO D-Bus at all
//! (no DBUS_SESSION_BUS_ADDRESS, no bus socket in XDG_RUNTIME_DIR), against moto in
//! authentication mode. SSH keys are made with ssh-keygen in the test HOME. Every output is
//! searched for every secret, and every file under the test HOME for the old secret.
//!
//! Plus, on the desktop rig (gnome-keyring on a private bus): `auto` still picks the Secret
//! Service, and `keyage store migrate` moves copies across and loses none.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{mode, Desktop, DesktopOpts, KeyageCommand, Moto, Out, Sandbox, TestKey};

struct U {
    sb: Sandbox,
    key: TestKey,
    before: String,
    secrets: Vec<String>,
}

fn credentials(key: &TestKey, other: &TestKey) -> String {
    format!(
        "# my keys\n[default]\naws_access_key_id = {id}\naws_secret_access_key = {s}\nregion = us-east-1\n\n[other]\naws_access_key_id = {oid}\naws_secret_access_key = {os}\n\n[work]\naws_secret_access_key={s}\naws_access_key_id={id}\n",
        id = key.id,
        s = key.secret,
        oid = other.id,
        os = other.secret
    )
}

fn ssh_keygen(home: &Path, passphrase: &str) {
    let dir = home.join(".ssh");
    std::fs::create_dir_all(&dir).unwrap();
    let st = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-C",
            "keyage-test",
            "-N",
            passphrase,
            "-f",
        ])
        .arg(dir.join("id_ed25519"))
        .stdin(std::process::Stdio::null())
        .status()
        .expect("ssh-keygen (Debian package openssh-client)");
    assert!(st.success());
}

fn user(moto: &Moto, name: &str, passphrase: &str) -> U {
    let key = moto.create_user(name);
    let other = moto.create_user(&format!("{name}-other"));
    let sb = Sandbox::new();
    let before = credentials(&key, &other);
    sb.write_credentials(&before);
    sb.write_config("[default]\nregion = us-east-1\n");
    ssh_keygen(&sb.home(), passphrase);
    U {
        secrets: vec![key.secret.clone(), other.secret.clone()],
        sb,
        key,
        before,
    }
}

fn kg(moto: &Moto, u: &U) -> Command {
    kg_in(moto, &u.sb)
}

/// keyage in a sandbox (no bus), on moto, with the logs and bounds of every test.
fn kg_in(moto: &Moto, sb: &Sandbox) -> Command {
    let mut c = sb.keyage();
    c.moto(moto)
        .env("RUST_LOG", "trace")
        .env("KEYAGE_VERIFY_TIMEOUT_SECS", "6")
        .env("KEYAGE_LOCK_WAIT_SECS", "1");
    c
}

fn run(moto: &Moto, u: &mut U, args: &[&str]) -> Out {
    let out = kg(moto, u).args(args).run();
    let (_, s) = key_of(u, "default");
    if !u.secrets.contains(&s) {
        u.secrets.push(s);
    }
    for s in u.secrets.iter().filter(|s| s.len() >= 16) {
        assert!(
            !out.stdout.contains(s.as_str()) && !out.stderr.contains(s.as_str()),
            "a secret leaked in `keyage {}`",
            args.join(" ")
        );
    }
    out
}

fn key_of(u: &U, profile: &str) -> (String, String) {
    support::profile_key(&u.sb.read(".aws/credentials"), profile)
}

/// Proves a key works through the binary (a dry run: STS + ListAccessKeys), from a sandbox of
/// its own with no bus and an SSH key for the file store.
fn key_works(moto: &Moto, id: &str, secret: &str) -> bool {
    let sb = Sandbox::new();
    ssh_keygen(&sb.home(), "");
    sb.write_credentials(&format!(
        "[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"
    ));
    let out = sb
        .keyage()
        .moto(moto)
        .args(["rotate-self", "--dry-run", "--delete-inactive-spare"])
        .run();
    out.code == Some(0) || out.stderr.contains("two active access keys")
}

fn store_dir(u: &U) -> PathBuf {
    u.sb.path(".local/share/keyage/store")
}

/// The copy of `id` in the file store, decrypted here with the test's SSH key.
fn stored(u: &U, id: &str) -> Option<String> {
    use std::io::Read;
    let bytes = std::fs::read(store_dir(u).join(format!("{id}.age"))).ok()?;
    let key = std::fs::read(u.sb.path(".ssh/id_ed25519")).unwrap();
    let ident = age::ssh::Identity::from_buffer(&key[..], None).unwrap();
    let d = age::Decryptor::new_buffered(&bytes[..]).unwrap();
    let mut r = d
        .decrypt(std::iter::once(&ident as &dyn age::Identity))
        .ok()?;
    let mut s = String::new();
    r.read_to_string(&mut s).unwrap();
    Some(s)
}

/// Every file under the test HOME (state, data, config, cache…) but the credentials file.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn assert_no_plaintext(u: &U, secret: &str) {
    let mut files = Vec::new();
    files_under(&u.sb.home(), &mut files);
    assert!(files.len() > 3, "{files:?}");
    for f in files {
        if f == u.sb.credentials_path() {
            continue;
        }
        let b = std::fs::read(&f).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&b).contains(secret),
            "the secret is in plain text in {}",
            f.display()
        );
    }
}

#[test]
fn no_bus_rotation_backout_and_doctor_on_the_file_store() {
    let moto = Moto::start();
    moto.enable_auth();
    let mut u = user(&moto, "nobus", "");

    // doctor names the store and why; the missing keyring is only a warning.
    let out = run(&moto, &mut u, &["doctor", "--json"]);
    let v = out.json();
    let checks = v["checks"].as_array().expect("checks");
    let one = |id: &str| {
        checks
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no {id} check: {v:#}"))
            .clone()
    };
    let st = one("store");
    assert_eq!(st["status"], "ok", "{st:#}");
    let d = st["detail"].as_str().unwrap();
    assert!(d.starts_with("file store"), "{d}");
    assert!(d.contains("no D-Bus session bus"), "{d}");
    assert!(d.contains("id_ed25519.pub"), "{d}");
    assert_eq!(one("keyring")["status"], "warn", "{v:#}");

    let out = run(&moto, &mut u, &["rotate-self", "--yes"]);
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("Backout copies: in the encrypted file store"),
        "{}",
        out.stdout
    );
    let (new_id, new_secret) = key_of(&u, "default");
    assert_ne!(new_id, u.key.id);
    assert_eq!(key_of(&u, "work"), (new_id.clone(), new_secret.clone()));
    assert!(key_works(&moto, &new_id, &new_secret), "new key works");
    assert!(
        !key_works(&moto, &u.key.id, &u.key.secret),
        "old key inactive"
    );
    let keys = moto.admin_keys("nobus");
    assert!(!keys.iter().find(|k| k.key_id == u.key.id).unwrap().active);
    // Both copies are in the file store, encrypted, private.
    assert_eq!(
        stored(&u, &u.key.id).as_deref(),
        Some(u.key.secret.as_str())
    );
    assert_eq!(stored(&u, &new_id).as_deref(), Some(new_secret.as_str()));
    assert_eq!(mode(&store_dir(&u)), 0o700);
    assert_eq!(
        mode(&store_dir(&u).join(format!("{}.age", u.key.id))),
        0o600
    );
    assert_no_plaintext(&u, &u.key.secret);
    // status says where the copies are.
    let st = run(&moto, &mut u, &["status", "--json", "--offline"]).json();
    assert_eq!(st["store"]["kind"], "file", "{st:#}");
    let table = run(&moto, &mut u, &["status", "--offline"]);
    assert!(
        table
            .stdout
            .contains("backout copies: in the encrypted file store"),
        "{}",
        table.stdout
    );
    // store list: ids only.
    let out = run(&moto, &mut u, &["store", "list"]);
    out.expect_code(0);
    assert!(out.stdout.contains(&u.key.id) && out.stdout.contains(&new_id));

    // backout: original bytes, the old key works again.
    let out = run(&moto, &mut u, &["backout", "--yes"]);
    out.expect_code(0);
    assert_eq!(u.sb.read(".aws/credentials"), u.before);
    assert!(
        key_works(&moto, &u.key.id, &u.key.secret),
        "old key works again"
    );
    assert_no_plaintext(&u, &u.key.secret);
    assert_no_plaintext(&u, &new_secret);

    // finalize (after the old key's grace) deletes the copy of what it deletes.
    let out = run(&moto, &mut u, &["finalize", "--force"]);
    out.expect_code(0);
    assert!(out.stdout.contains("deleted old key"), "{}", out.stdout);
    assert!(
        stored(&u, &new_id).is_none(),
        "the deleted key's copy is gone"
    );
    assert_eq!(
        stored(&u, &u.key.id).as_deref(),
        Some(u.key.secret.as_str())
    );
}

#[test]
fn a_passphrase_protected_ssh_key_writes_unattended_and_refuses_to_read_without_a_terminal() {
    let moto = Moto::start();
    moto.enable_auth();
    let mut u = user(&moto, "locked", "correct horse battery");
    // Writing needs no secret: the rotation runs unattended.
    run(&moto, &mut u, &["rotate-self", "--yes"]).expect_code(0);
    let (new_id, _) = key_of(&u, "default");
    assert_ne!(new_id, u.key.id);
    assert!(store_dir(&u).join(format!("{}.age", u.key.id)).exists());
    // Reading (backout) needs the key's passphrase: no terminal, so it refuses with the fix
    // and changes nothing.
    let out = run(&moto, &mut u, &["backout", "--yes"]);
    out.expect_code(1);
    assert!(out.stderr.contains("has a passphrase"), "{}", out.stderr);
    assert!(out.stderr.contains("no terminal"), "{}", out.stderr);
    assert!(out.stderr.contains("fix:"), "{}", out.stderr);
    assert!(out.stderr.contains("identities"), "{}", out.stderr);
    assert_eq!(key_of(&u, "default").0, new_id);
}

#[test]
fn no_ssh_key_falls_back_to_a_passphrase() {
    let moto = Moto::start();
    moto.enable_auth();
    let mut u = user(&moto, "pass", "");
    std::fs::remove_dir_all(u.sb.path(".ssh")).unwrap();
    // No terminal and no KEYAGE_STORE_PASSPHRASE: refused before any IAM change.
    let out = run(&moto, &mut u, &["rotate-self", "--yes"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("KEYAGE_STORE_PASSPHRASE"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("ssh-keygen"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was changed"), "{}", out.stderr);
    assert_eq!(moto.admin_keys("pass").len(), 1);
    // With the passphrase in the environment (automation), rotate and back out.
    let with = |u: &U, args: &[&str]| {
        kg(&moto, u)
            .env("KEYAGE_STORE_PASSPHRASE", "a long test passphrase")
            .args(args)
            .run()
    };
    with(&u, &["rotate-self", "--yes"]).expect_code(0);
    assert_no_plaintext(&u, &u.key.secret);
    let out = kg(&moto, &u)
        .env("KEYAGE_STORE_PASSPHRASE", "the wrong one")
        .args(["backout", "--yes"])
        .run();
    out.expect_code(1);
    assert!(out.stderr.contains("does not open"), "{}", out.stderr);
    with(&u, &["backout", "--yes"]).expect_code(0);
    assert_eq!(u.sb.read(".aws/credentials"), u.before);
}

#[test]
fn bad_store_config_names_the_line() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.path(".config/keyage")).unwrap();
    std::fs::write(
        sb.path(".config/keyage/config.toml"),
        "max_age_days = 90\n\n[store]\nbackend = \"floppy\"\n",
    )
    .unwrap();
    let out = sb.keyage().args(["store", "list"]).run();
    out.expect_code(1);
    assert!(out.stderr.contains("config.toml:4:"), "{}", out.stderr);
    std::fs::write(
        sb.path(".config/keyage/config.toml"),
        "[store]\nbackend = \"file\"\nrecipients = [\"age1nope\"]\n",
    )
    .unwrap();
    let out = sb.keyage().args(["store", "list"]).run();
    out.expect_code(1);
    assert!(out.stderr.contains("config.toml:3:"), "{}", out.stderr);
}

/// Kill at a step (the `failpoints` feature), then `--resume` (one user) and `backout`
/// (another), all on the file store with no bus: both end with a working key in the files,
/// one active key, the old secret kept, no journal left.
#[cfg(feature = "failpoints")]
#[test]
fn killed_at_each_step_on_the_file_store() {
    let moto = Moto::start();
    moto.enable_auth();
    let points = [
        "after-create",
        "after-keyring-new",
        "after-backup",
        "after-write",
        "after-verify",
        "after-retire",
        "after-record",
    ];
    for (n, point) in points.iter().enumerate() {
        for (i, way) in ["resume", "backout"].iter().enumerate() {
            let mut u = user(&moto, &format!("k{n}{i}"), "");
            let out = kg(&moto, &u)
                .env("KEYAGE_FAILPOINT", point)
                .args(["rotate-self", "--yes"])
                .run();
            assert_eq!(out.code, None, "{point}: not killed: {}", out.stderr);
            let journal = u.sb.read(".local/state/keyage/rotation-journal.json");
            let out = if *way == "resume" {
                run(&moto, &mut u, &["rotate-self", "--resume", "--yes"])
            } else {
                run(&moto, &mut u, &["backout", "--yes"])
            };
            if journal.is_empty() && *way == "resume" {
                out.expect_code(1);
            } else {
                out.expect_code(0);
            }
            let (id, secret) = key_of(&u, "default");
            assert_eq!(key_of(&u, "work"), (id.clone(), secret.clone()));
            assert!(key_works(&moto, &id, &secret), "{point}/{way}: key works");
            if *way == "backout" {
                assert_eq!(u.sb.read(".aws/credentials"), u.before, "{point}");
            } else {
                assert_ne!(id, u.key.id, "{point}: resumed to the new key");
            }
            let keys = moto.admin_keys(&u.key.user);
            assert_eq!(
                keys.iter().filter(|k| k.active).count(),
                1,
                "{point}/{way}: {keys:?}"
            );
            // No orphan: every key's secret is in the files or the file store.
            for k in &keys {
                assert!(
                    k.key_id == id || stored(&u, &k.key_id).is_some(),
                    "{point}/{way}: orphan {}",
                    k.key_id
                );
            }
            if id != u.key.id {
                assert_eq!(
                    stored(&u, &u.key.id).as_deref(),
                    Some(u.key.secret.as_str()),
                    "{point}/{way}: old secret kept"
                );
            }
            assert_no_plaintext(&u, &u.key.secret);
            assert_eq!(
                u.sb.read(".local/state/keyage/rotation-journal.json"),
                "",
                "{point}/{way}"
            );
        }
    }
}

/// On the desktop rig, `auto` still picks the Secret Service; `store migrate` moves every
/// copy to the file store and back, losing none.
#[test]
fn auto_picks_the_secret_service_and_migrate_moves_every_copy() {
    let moto = Moto::spawn();
    let desk = Desktop::start(DesktopOpts::keyring());
    let moto = moto.ready();
    moto.enable_auth();
    let mut u = user(&moto, "desk", "");
    let on_desk = |u: &U, args: &[&str]| kg(&moto, u).desktop(&desk).args(args).run();

    let v = on_desk(&u, &["doctor", "--json"]).json();
    let st = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "store")
        .cloned()
        .expect("store check");
    assert_eq!(st["status"], "ok", "{st:#}");
    assert!(
        st["detail"]
            .as_str()
            .unwrap()
            .starts_with("keyring: the OS keyring (Secret Service"),
        "{st:#}"
    );
    let out = on_desk(&u, &["rotate-self", "--yes"]);
    out.expect_code(0);
    assert!(
        out.stdout.contains("Backout copies: in the OS keyring"),
        "{}",
        out.stdout
    );
    let (new_id, new_secret) = key_of(&u, "default");
    u.secrets.push(new_secret.clone());
    assert_eq!(
        desk.secret_tool_lookup(&u.key.id).as_deref(),
        Some(u.key.secret.as_str())
    );
    assert!(!store_dir(&u).join(format!("{}.age", u.key.id)).exists());

    // To the file store: both copies move, the keyring entries go.
    let out = on_desk(&u, &["store", "migrate", "--to", "file"]);
    out.expect_code(0);
    assert!(out.stdout.contains("Moved 2 copies"), "{}", out.stdout);
    assert!(out.stdout.contains("backend = \"file\""), "{}", out.stdout);
    assert_eq!(
        stored(&u, &u.key.id).as_deref(),
        Some(u.key.secret.as_str())
    );
    assert_eq!(stored(&u, &new_id).as_deref(), Some(new_secret.as_str()));
    assert_eq!(desk.secret_tool_lookup(&u.key.id), None);
    assert_eq!(desk.secret_tool_lookup(&new_id), None);
    assert_no_plaintext(&u, &u.key.secret);
    // Again: nothing left to move, nothing lost.
    let out = on_desk(&u, &["store", "migrate", "--to", "file"]);
    out.expect_code(0);
    assert!(out.stdout.contains("No copies to move"), "{}", out.stdout);
    assert!(stored(&u, &u.key.id).is_some());

    // With backend = "file", backout works from the file store on the desktop too.
    std::fs::create_dir_all(u.sb.path(".config/keyage")).unwrap();
    std::fs::write(
        u.sb.path(".config/keyage/config.toml"),
        "[store]\nbackend = \"file\"\n",
    )
    .unwrap();
    let out = on_desk(&u, &["store", "list", "--json"]);
    let v = out.json();
    assert_eq!(v["kind"], "file", "{v:#}");
    assert_eq!(v["ids"].as_array().unwrap().len(), 2);

    // And back to the keyring.
    let out = on_desk(&u, &["store", "migrate", "--to", "keyring"]);
    out.expect_code(0);
    assert!(out.stdout.contains("Moved 2 copies"), "{}", out.stdout);
    assert_eq!(
        desk.secret_tool_lookup(&u.key.id).as_deref(),
        Some(u.key.secret.as_str())
    );
    assert_eq!(
        desk.secret_tool_lookup(&new_id).as_deref(),
        Some(new_secret.as_str())
    );
    assert!(stored(&u, &u.key.id).is_none());
    std::fs::write(u.sb.path(".config/keyage/config.toml"), "").unwrap();
    on_desk(&u, &["backout", "--yes"]).expect_code(0);
    assert_eq!(u.sb.read(".aws/credentials"), u.before);
    assert!(key_works(&moto, &u.key.id, &u.key.secret));
}

/// The chaos run of the reliability issue (tests/support/chaos.rs) on the file store, with no
/// D-Bus at all: 30 `kill -9` at random moments, each followed by resume or backout.
#[test]
fn chaos_on_the_file_store_with_no_bus() {
    let moto = Moto::start_slow(10);
    moto.enable_auth();
    let user = |i: usize| {
        let u = user(&moto, &format!("fc{i}"), "");
        (u.sb, u.key)
    };
    let keyage = |sb: &Sandbox| kg_in(&moto, sb);
    let stored = |sb: &Sandbox, id: &str| {
        sb.path(".local/share/keyage/store")
            .join(format!("{id}.age"))
            .is_file()
    };
    support::chaos::run(
        &support::chaos::Rig {
            moto: &moto,
            user: &user,
            keyage: &keyage,
            stored: &stored,
        },
        30,
    );
}
