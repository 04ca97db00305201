//! `keyage protect`, `unprotect` and `credential-process` end to end, through the binary,
//! against moto in authentication mode and a real gnome-keyring on a private bus; the real AWS
//! CLI (v1, from PyPI), boto3 and the Rust SDK (aws-config, in a child process of this test
//! binary) each call STS through keyage's credential_process.
//!
//! The kill tests need the `failpoints` feature: `cargo test --test protect --features failpoints`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{venv, Desktop, DesktopOpts, KeyageCommand, Moto, Out, Sandbox, TestKey, KEYAGE};

struct T {
    moto: Moto,
    desk: Desktop,
}

fn start() -> T {
    let moto = Moto::start();
    let desk = Desktop::start(DesktopOpts::keyring());
    moto.enable_auth();
    T { moto, desk }
}

fn credentials(key: &TestKey, other: &TestKey) -> String {
    format!(
        "# my keys -- keep this comment\r\n[default]\r\naws_access_key_id = {id}\r\n; inline note\r\naws_secret_access_key = {s}\r\nregion = us-east-1\r\n\r\n[other]\r\naws_access_key_id = {oid}\r\naws_secret_access_key = {os}\r\n\r\n[work]\r\naws_secret_access_key={s}   \r\naws_access_key_id={id}\r\n# trailing comment\r\n",
        id = key.id,
        s = key.secret,
        oid = other.id,
        os = other.secret
    )
}

const CONFIG: &str = "[default]\nregion = us-east-1\n\n[profile work]\noutput = json\n";

struct U {
    sb: Sandbox,
    key: TestKey,
    other: TestKey,
    before: String,
}

fn user(t: &T, name: &str) -> U {
    let key = t.moto.create_user(name);
    let other = t.moto.create_user(&format!("{name}-other"));
    let sb = Sandbox::new();
    let before = credentials(&key, &other);
    sb.write_credentials(&before);
    sb.write_config(CONFIG);
    U {
        sb,
        key,
        other,
        before,
    }
}

fn kg(t: &T, u: &U, args: &[&str]) -> Out {
    let out =
        u.sb.keyage()
            .moto(&t.moto)
            .desktop(&t.desk)
            .env("RUST_LOG", "trace")
            .env("KEYAGE_VERIFY_TIMEOUT_SECS", "6")
            .args(args)
            .run();
    for s in [&u.key.secret, &u.other.secret] {
        assert!(
            !out.stdout.contains(s.as_str()) || args.first() == Some(&"credential-process"),
            "a secret leaked on stdout of `keyage {}`",
            args.join(" ")
        );
        assert!(
            !out.stderr.contains(s.as_str()),
            "a secret leaked on stderr of `keyage {}`",
            args.join(" ")
        );
    }
    out
}

/// A client program (aws, python) in the sandbox's environment, on the desktop's bus, pointed
/// at moto.
fn client(t: &T, u: &U, program: &Path) -> Command {
    let mut c = u.sb.command(program.to_str().unwrap());
    c.moto(&t.moto)
        .desktop(&t.desk)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    c
}

/// `aws sts get-caller-identity --profile P` with the real AWS CLI: the caller's ARN.
fn cli_arn(t: &T, u: &U, profile: &str) -> String {
    let out = client(t, u, &venv().join("bin/aws"))
        .args([
            "sts",
            "get-caller-identity",
            "--profile",
            profile,
            "--output",
            "json",
        ])
        .run();
    out.expect_code(0);
    out.json()["Arn"].as_str().unwrap().to_string()
}

/// The access key id the AWS CLI resolves for a profile (`aws configure get` cannot see a
/// credential_process key; `aws configure list` masks it), via boto3.
fn boto3_identity(t: &T, u: &U, profile: &str) -> (String, String) {
    let script = format!(
        "import boto3\ns = boto3.Session(profile_name='{profile}')\nc = s.get_credentials().get_frozen_credentials()\nprint(c.access_key)\nprint(s.client('sts').get_caller_identity()['Arn'])\n"
    );
    let out = client(t, u, &venv().join("bin/python"))
        .args(["-c", &script])
        .run();
    out.expect_code(0);
    let mut l = out.stdout.lines();
    (l.next().unwrap().to_string(), l.next().unwrap().to_string())
}

/// The Rust SDK (aws-config's profile chain, which runs credential_process) in a child process
/// of this test binary, with the sandbox's environment: the caller's ARN.
fn rust_sdk_arn(t: &T, u: &U, profile: &str) -> String {
    let exe = std::env::current_exe().unwrap();
    let out = client(t, u, &exe)
        .args([
            "--exact",
            "rust_sdk_probe",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KEYAGE_PROBE_PROFILE", profile)
        .run();
    out.expect_code(0);
    out.stdout
        .lines()
        .find_map(|l| l.split_once("ARN=").map(|(_, a)| a))
        .unwrap_or_else(|| panic!("no ARN from the probe:\n{}\n{}", out.stdout, out.stderr))
        .to_string()
}

/// Run by `rust_sdk_arn` only (ignored otherwise): STS GetCallerIdentity through aws-config's
/// default chain for `KEYAGE_PROBE_PROFILE`.
#[test]
#[ignore]
fn rust_sdk_probe() {
    let Ok(profile) = std::env::var("KEYAGE_PROBE_PROFILE") else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let cfg = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .profile_name(&profile)
            .load()
            .await;
        let sts = aws_sdk_sts::Client::new(&cfg);
        let id = sts
            .get_caller_identity()
            .send()
            .await
            .expect("GetCallerIdentity");
        println!("ARN={}", id.arn().unwrap_or_default());
    });
}

/// Every regular file under `dir` (the keyring's own files live outside the sandbox HOME).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                out.push(p);
            }
        }
    }
    out
}

fn assert_secret_in_no_file(u: &U, secret: &str) {
    for f in files_under(&u.sb.home()) {
        let b = std::fs::read(&f).unwrap_or_default();
        assert!(
            !b.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the secret is still in {}",
            f.display()
        );
    }
}

fn protected_lookup(t: &T, key_id: &str) -> Option<String> {
    let out = t
        .desk
        .command("secret-tool")
        .args(["lookup", "service", "keyage-protected", "username", key_id])
        .output()
        .unwrap();
    (out.status.success() && !out.stdout.is_empty())
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn cp_line(profile: &str) -> String {
    format!("credential_process = {KEYAGE} credential-process --profile {profile}")
}

fn git(u: &U, dir: &Path, args: &[&str]) -> Out {
    u.sb.command("git")
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .args(args)
        .run()
}

#[test]
fn protect_serves_every_client_and_rotates_without_touching_a_file() {
    let t = start();
    let u = user(&t, "alice");
    let arn = cli_arn(&t, &u, "default");
    assert!(arn.ends_with(":user/alice"), "{arn}");

    // Dry run: nothing changes.
    let o = kg(&t, &u, &["protect", "--profile", "work", "--dry-run"]);
    o.expect_code(0);
    assert!(o.stdout.contains("default, work"), "{}", o.stdout);
    assert_eq!(u.sb.read(".aws/credentials"), u.before);

    let o = kg(&t, &u, &["protect", "--profile", "work", "--yes"]);
    o.expect_code(0);
    let after = u.sb.read(".aws/credentials");
    // Surgical: the two lines of each holder became one credential_process line, with the
    // line's own ending; comments, the other profile and the spacing stay.
    let want = u
        .before
        .replace(
            &format!(
                "aws_access_key_id = {}\r\n; inline note\r\naws_secret_access_key = {}\r\n",
                u.key.id, u.key.secret
            ),
            &format!("{}\r\n; inline note\r\n", cp_line("default")),
        )
        .replace(
            &format!(
                "aws_secret_access_key={}   \r\naws_access_key_id={}\r\n",
                u.key.secret, u.key.id
            ),
            &format!("{}\r\n", cp_line("work")),
        );
    assert_eq!(after, want);
    assert_eq!(u.sb.read(".aws/config"), CONFIG);
    assert_secret_in_no_file(&u, &u.key.secret);
    assert_eq!(
        protected_lookup(&t, &u.key.id).as_deref(),
        Some(u.key.secret.as_str())
    );
    // The state holds no secret either (checked above: it is under HOME), but it has the index.
    assert!(u
        .sb
        .read(".local/state/keyage/protected.json")
        .contains(&u.key.id));

    // credential-process prints Version 1 JSON.
    let o = kg(&t, &u, &["credential-process", "--profile", "default"]);
    o.expect_code(0);
    let v = o.json();
    assert_eq!(v["Version"], 1);
    assert_eq!(v["AccessKeyId"], u.key.id.as_str());
    assert_eq!(v["SecretAccessKey"], u.key.secret.as_str());
    assert!(o.stderr.is_empty(), "{}", o.stderr);

    // The real AWS CLI, boto3 and the Rust SDK all get the key through keyage.
    assert_eq!(cli_arn(&t, &u, "default"), arn);
    assert_eq!(cli_arn(&t, &u, "work"), arn);
    assert_eq!(
        boto3_identity(&t, &u, "work"),
        (u.key.id.clone(), arn.clone())
    );
    assert_eq!(rust_sdk_arn(&t, &u, "default"), arn);

    // status ages the key from IAM and shows it protected.
    let o = kg(&t, &u, &["status", "--refresh", "--json"]);
    o.expect_code(0);
    let v = o.json();
    let k = v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == u.key.id.as_str())
        .expect("the protected key is listed")
        .clone();
    assert!(k["created"].is_string(), "{k}");
    assert_eq!(k["age_days"], 0, "{k}");
    assert_eq!(k["profiles"], serde_json::json!(["default", "work"]));
    let p = v["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "work")
        .unwrap()
        .clone();
    assert_eq!(p["protected"], true, "{p}");
    assert_eq!(p["key_id"], u.key.id.as_str(), "{p}");
    // The table says so too.
    let o = kg(&t, &u, &["status", "--offline"]);
    assert!(o.stdout.contains("protected"), "{}", o.stdout);

    // The hook blocks the protected secret without the keyring (no bus at all).
    let repo = u.sb.home().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&u, &repo, &["init", "-q", "-b", "main"]).expect_code(0);
    std::fs::write(
        repo.join("settings.py"),
        format!("SECRET = '{}'\n", u.key.secret),
    )
    .unwrap();
    git(&u, &repo, &["add", "settings.py"]).expect_code(0);
    let o =
        u.sb.keyage()
            .current_dir(&repo)
            .args(["hook", "pre-commit"])
            .run();
    assert_eq!(o.code, Some(1), "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stderr.contains("your own secret access key"),
        "{}",
        o.stderr
    );
    assert!(!o.stderr.contains(&u.key.secret));
    std::fs::remove_dir_all(&repo).unwrap();

    // rotate-self: no file changes at all; the keyring and the index move to the new key.
    let files_before: Vec<(PathBuf, Vec<u8>)> = [".aws/credentials", ".aws/config"]
        .iter()
        .map(|f| (u.sb.path(f), std::fs::read(u.sb.path(f)).unwrap()))
        .collect();
    let o = kg(&t, &u, &["rotate-self", "--profile", "default", "--yes"]);
    o.expect_code(0);
    for (p, b) in &files_before {
        assert_eq!(&std::fs::read(p).unwrap(), b, "{} changed", p.display());
    }
    let keys = t.moto.admin_keys("alice");
    let new = keys
        .iter()
        .find(|k| k.key_id != u.key.id)
        .expect("a new key");
    assert!(new.active);
    assert!(!keys.iter().find(|k| k.key_id == u.key.id).unwrap().active);
    let new_secret = protected_lookup(&t, &new.key_id).expect("the new key is in the keyring");
    assert!(protected_lookup(&t, &u.key.id).is_none());
    assert_eq!(cli_arn(&t, &u, "default"), arn);
    assert_eq!(boto3_identity(&t, &u, "work").0, new.key_id);
    assert_secret_in_no_file(&u, &new_secret);

    // unprotect: plaintext again, the CLI uses it; nothing changed the files since protect, so
    // the original bytes come back (with the new key's values).
    let o = kg(&t, &u, &["unprotect", "--profile", "default", "--yes"]);
    o.expect_code(0);
    let restored = u.sb.read(".aws/credentials");
    assert_eq!(
        restored,
        u.before
            .replace(&u.key.id, &new.key_id)
            .replace(&u.key.secret, &new_secret)
    );
    assert!(protected_lookup(&t, &new.key_id).is_none());
    assert_eq!(cli_arn(&t, &u, "work"), arn);
    let o = kg(&t, &u, &["credential-process", "--profile", "default"]);
    o.expect_code(1);
    assert!(o.stderr.contains("not protected"), "{}", o.stderr);
}

#[test]
fn unprotect_restores_exact_bytes_or_writes_back_surgically() {
    let t = start();
    let u = user(&t, "bob");
    kg(&t, &u, &["protect", "--yes"]).expect_code(0);
    kg(&t, &u, &["unprotect", "--yes"]).expect_code(0);
    assert_eq!(u.sb.read(".aws/credentials"), u.before);
    assert_eq!(u.sb.read(".aws/config"), CONFIG);

    // Changed since protect: the two values go back where the credential_process line is.
    kg(&t, &u, &["protect", "--yes"]).expect_code(0);
    let mut edited = u.sb.read(".aws/credentials");
    edited.push_str("[added]\r\nregion = eu-west-1\r\n");
    u.sb.write_credentials(&edited);
    let o = kg(&t, &u, &["unprotect", "--profile", "work", "--yes"]);
    o.expect_code(0);
    assert!(o.stdout.contains("changed since protect"), "{}", o.stdout);
    let back = u.sb.read(".aws/credentials");
    assert_eq!(
        back,
        edited
            .replace(
                &cp_line("default"),
                &format!(
                    "aws_access_key_id = {}\r\naws_secret_access_key = {}",
                    u.key.id, u.key.secret
                )
            )
            .replace(
                &cp_line("work"),
                &format!(
                    "aws_access_key_id = {}\r\naws_secret_access_key = {}",
                    u.key.id, u.key.secret
                )
            )
    );
    assert!(cli_arn(&t, &u, "work").ends_with(":user/bob"));
}

#[test]
fn credential_process_errors_are_short_and_name_the_fix() {
    let t = start();
    let u = user(&t, "carol");
    let o = kg(&t, &u, &["credential-process", "--profile", "default"]);
    o.expect_code(1);
    assert!(o.stdout.is_empty());
    assert!(
        o.stderr.contains("not protected") && o.stderr.contains("keyage protect"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.lines().count() <= 2, "{}", o.stderr);
    kg(&t, &u, &["protect", "--yes"]).expect_code(0);
    let o = kg(&t, &u, &["credential-process", "--profile", "nope"]);
    o.expect_code(1);
    assert!(o.stderr.contains("`nope` is not protected"), "{}", o.stderr);
    // No keyring at all: the message says so.
    let o =
        u.sb.keyage()
            .args(["credential-process", "--profile", "default"])
            .run();
    o.expect_code(1);
    assert!(
        o.stderr.contains("D-Bus") || o.stderr.contains("Secret Service"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.lines().count() <= 2, "{}", o.stderr);
    // A locked keyring.
    let locked = Desktop::start_locked_keyring();
    let o =
        u.sb.keyage()
            .desktop(&locked)
            .args(["credential-process", "--profile", "default"])
            .run();
    o.expect_code(1);
    assert!(
        o.stderr.contains("unlock") || o.stderr.contains("locked"),
        "{}",
        o.stderr
    );
    // Refusals with the reason: a temporary key, a profile that is not there.
    let o = kg(&t, &u, &["protect", "--profile", "ghost", "--yes"]);
    o.expect_code(1);
    assert!(o.stderr.contains("no profile `ghost`"), "{}", o.stderr);
}

#[cfg(feature = "failpoints")]
#[test]
fn a_kill_at_any_point_leaves_a_working_key() {
    let t = start();
    for point in [
        "protect-after-store",
        "protect-after-index",
        "protect-after-write",
    ] {
        let u = user(
            &t,
            &format!("dave-{}", point.len() + point.as_bytes()[15] as usize),
        );
        let o =
            u.sb.keyage()
                .moto(&t.moto)
                .desktop(&t.desk)
                .env("KEYAGE_FAILPOINT", point)
                .args(["protect", "--profile", "work", "--yes"])
                .run();
        assert_ne!(o.code, Some(0), "{point}: {}", o.stderr);
        // Whatever the point, the CLI still works.
        assert!(cli_arn(&t, &u, "work").contains(":user/dave-"), "{point}");
        // Any command names the way out; running protect again finishes the job.
        let o = kg(&t, &u, &["status", "--offline"]);
        assert!(o.stderr.contains("keyage protect"), "{point}: {}", o.stderr);
        kg(&t, &u, &["protect", "--profile", "work", "--yes"]).expect_code(0);
        assert_secret_in_no_file(&u, &u.key.secret);
        assert!(
            cli_arn(&t, &u, "default").contains(":user/dave-"),
            "{point}"
        );
        let o = kg(&t, &u, &["status", "--offline"]);
        assert!(!o.stderr.contains("interrupted"), "{point}: {}", o.stderr);
        kg(&t, &u, &["unprotect", "--yes"]).expect_code(0);
        assert_eq!(u.sb.read(".aws/credentials"), u.before, "{point}");
    }
}

/// `doctor --json`'s checks with id `protect`.
fn protect_checks(t: &T, u: &U) -> Vec<serde_json::Value> {
    let o = kg(t, u, &["doctor", "--json"]);
    o.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "protect")
        .cloned()
        .collect()
}

/// A protected key through the rest of its life: doctor lists it, `backout` puts the old key
/// back in the keyring without touching a file, `finalize --force` deletes the old key after a
/// second rotation, and the AWS CLI works at every step. doctor names a tool config (s3cmd)
/// that still holds the key in plaintext.
#[test]
fn protected_key_backout_finalize_and_doctor() {
    let t = start();
    let u = user(&t, "erin");
    let arn = cli_arn(&t, &u, "default");
    kg(&t, &u, &["protect", "--profile", "default", "--yes"]).expect_code(0);
    let files = || -> Vec<Vec<u8>> {
        [".aws/credentials", ".aws/config"]
            .iter()
            .map(|f| std::fs::read(u.sb.path(f)).unwrap())
            .collect()
    };
    let protected_bytes = files();

    let c = protect_checks(&t, &u);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0]["status"], "ok", "{c:?}");
    assert_eq!(c[0]["key_id"], u.key.id.as_str());
    assert_eq!(c[0]["profiles"], serde_json::json!(["default", "work"]));

    // rotate-self, then backout: no file changes; the old key is served again.
    kg(&t, &u, &["rotate-self", "--profile", "default", "--yes"]).expect_code(0);
    let new = t
        .moto
        .admin_keys("erin")
        .into_iter()
        .find(|k| k.key_id != u.key.id)
        .expect("a new key");
    let o = kg(&t, &u, &["backout", "--profile", "default", "--yes"]);
    o.expect_code(0);
    assert_eq!(files(), protected_bytes, "backout changed a file");
    let keys = t.moto.admin_keys("erin");
    assert!(
        keys.iter().any(|k| k.key_id == u.key.id && k.active),
        "{keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.key_id == new.key_id && k.active),
        "{keys:?}"
    );
    assert_eq!(
        protected_lookup(&t, &u.key.id).as_deref(),
        Some(u.key.secret.as_str())
    );
    assert_eq!(
        boto3_identity(&t, &u, "work"),
        (u.key.id.clone(), arn.clone())
    );
    assert_eq!(cli_arn(&t, &u, "default"), arn);

    // Rotate again (the spare from the backout goes first), then finalize at once.
    kg(
        &t,
        &u,
        &[
            "rotate-self",
            "--profile",
            "default",
            "--delete-inactive-spare",
            "--yes",
        ],
    )
    .expect_code(0);
    let o = kg(&t, &u, &["finalize", "--profile", "default", "--force"]);
    o.expect_code(0);
    assert_eq!(files(), protected_bytes, "finalize changed a file");
    let keys = t.moto.admin_keys("erin");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].active && keys[0].key_id != u.key.id, "{keys:?}");
    assert_eq!(boto3_identity(&t, &u, "work").0, keys[0].key_id);
    assert!(protected_lookup(&t, &u.key.id).is_none());
    let c = protect_checks(&t, &u);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0]["status"], "ok", "{c:?}");
    assert_eq!(c[0]["key_id"], keys[0].key_id.as_str());

    // A tool that cannot run credential_process still holds the key: doctor says so.
    std::fs::write(
        u.sb.path(".s3cfg"),
        format!("[default]\naccess_key = {}\n", keys[0].key_id),
    )
    .unwrap();
    let c = protect_checks(&t, &u);
    let s3 = c
        .iter()
        .find(|c| c["detail"].as_str().unwrap().contains(".s3cfg"))
        .unwrap_or_else(|| panic!("{c:?}"));
    assert_eq!(s3["status"], "warn");
    assert!(s3["detail"].as_str().unwrap().contains("s3cmd"), "{s3}");
    std::fs::remove_file(u.sb.path(".s3cfg")).unwrap();

    // The keyring entry goes missing: doctor fails the check with a fix.
    let id = keys[0].key_id.clone();
    let st = t
        .desk
        .command("secret-tool")
        .args(["clear", "service", "keyage-protected", "username", &id])
        .status()
        .unwrap();
    assert!(st.success());
    let c = protect_checks(&t, &u);
    assert_eq!(c[0]["status"], "fail", "{c:?}");
    assert!(c[0]["fix"].is_string(), "{c:?}");
}

/// The agent's `auto_rotate` on a protected key: no file changes, the notification says so,
/// and the CLI uses the new key.
#[test]
fn auto_rotate_of_a_protected_key_changes_no_file() {
    let moto = Moto::start();
    let desk = Desktop::start(DesktopOpts::full());
    moto.enable_auth();
    let t = T { moto, desk };
    let u = user(&t, "frank");
    kg(&t, &u, &["protect", "--profile", "default", "--yes"]).expect_code(0);
    t.moto.make_old(&u.key.id, 80);
    t.moto.set_last_used(&u.key.id, Some(1));
    let before: Vec<Vec<u8>> = [".aws/credentials", ".aws/config"]
        .iter()
        .map(|f| std::fs::read(u.sb.path(f)).unwrap())
        .collect();
    std::fs::create_dir_all(u.sb.path(".config/keyage")).unwrap();
    std::fs::write(
        u.sb.path(".config/keyage/config.toml"),
        "[agent]\nauto_rotate = true\n",
    )
    .unwrap();
    kg(&t, &u, &["agent", "--once"]).expect_code(0);
    let n = t
        .desk
        .wait_notifications(1, std::time::Duration::from_secs(10));
    assert!(
        n.iter()
            .any(|n| n.summary.starts_with("Rotated the AWS key")),
        "{n:?}"
    );
    for (f, b) in [".aws/credentials", ".aws/config"].iter().zip(&before) {
        assert_eq!(&std::fs::read(u.sb.path(f)).unwrap(), b, "{f} changed");
    }
    let keys = t.moto.admin_keys("frank");
    let new = keys
        .iter()
        .find(|k| k.key_id != u.key.id && k.active)
        .unwrap_or_else(|| panic!("{keys:?}"));
    assert_eq!(boto3_identity(&t, &u, "work").0, new.key_id);
    assert!(protected_lookup(&t, &new.key_id).is_some());
}

/// With the file store in use, protect refuses (the file store cannot serve credential_process)
/// and changes nothing.
#[test]
fn protect_refuses_on_the_file_store() {
    let t = start();
    let u = user(&t, "gina");
    std::fs::create_dir_all(u.sb.path(".config/keyage")).unwrap();
    std::fs::write(
        u.sb.path(".config/keyage/config.toml"),
        "[store]\nbackend = \"file\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(u.sb.path(".ssh")).unwrap();
    let st =
        u.sb.command("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(u.sb.path(".ssh/id_ed25519"))
            .stdin(std::process::Stdio::null())
            .status()
            .expect("ssh-keygen");
    assert!(st.success());
    let o = kg(&t, &u, &["protect", "--profile", "default", "--yes"]);
    assert_ne!(o.code, Some(0), "{}", o.stdout);
    assert!(o.stderr.contains("OS keyring"), "{}", o.stderr);
    assert!(o.stderr.contains("fix"), "{}", o.stderr);
    assert_eq!(u.sb.read(".aws/credentials"), u.before);
    assert!(protected_lookup(&t, &u.key.id).is_none());
    assert!(!u.sb.path(".local/state/keyage/protected.json").exists());
}

/// `credential-process --session`: STS GetSessionToken credentials instead of the long-term
/// key, cached in the keyring (a second call serves the same session), and the AWS CLI and
/// boto3 call STS with them through a credential_process line.
#[test]
fn credential_process_session_serves_a_cached_sts_session() {
    let t = start();
    let mut u = user(&t, "hana");
    // The self-service policy plus sts:GetSessionToken (docs/protect.md: what a session needs).
    let mut actions: Vec<&str> = support::SELF_SERVICE_ACTIONS.to_vec();
    actions.push("sts:GetSessionToken");
    u.key = t.moto.create_user_with("hana-s", Some(&actions));
    u.before = credentials(&u.key, &u.other);
    u.sb.write_credentials(&u.before);
    kg(&t, &u, &["protect", "--profile", "default", "--yes"]).expect_code(0);
    let args = [
        "credential-process",
        "--profile",
        "default",
        "--session",
        "--duration",
        "15m",
    ];
    let o = kg(&t, &u, &args);
    o.expect_code(0);
    let v = o.json();
    assert_eq!(v["Version"], 1);
    let id = v["AccessKeyId"].as_str().unwrap().to_string();
    assert_ne!(id, u.key.id, "a session, not the long-term key");
    assert!(
        v["SessionToken"].as_str().is_some_and(|s| !s.is_empty()),
        "{v}"
    );
    assert!(v["Expiration"].as_str().is_some(), "{v}");
    assert_ne!(v["SecretAccessKey"], u.key.secret.as_str());
    // Cached: the second call serves the same session.
    let again = kg(&t, &u, &args);
    again.expect_code(0);
    assert_eq!(again.json()["AccessKeyId"], id.as_str());
    // A real client through a credential_process line that asks for the session: boto3 runs
    // keyage and gets the cached session. (moto's access control knows only AssumeRole's
    // temporary keys, not GetSessionToken's, so an STS call with them is refused by moto; the
    // call itself is not part of this test.)
    let mut config = u.sb.read(".aws/config");
    config.push_str(&format!(
        "\n[profile sess]\ncredential_process = {KEYAGE} credential-process --profile default --session --duration 15m\n"
    ));
    u.sb.write_config(&config);
    let script = "import boto3\nc = boto3.Session(profile_name='sess').get_credentials().get_frozen_credentials()\nprint(c.access_key)\nprint(bool(c.token))\n";
    let out = client(&t, &u, &venv().join("bin/python"))
        .args(["-c", script])
        .run();
    out.expect_code(0);
    let mut l = out.stdout.lines();
    assert_eq!(l.next(), Some(id.as_str()));
    assert_eq!(l.next(), Some("True"));
    assert_secret_in_no_file(&u, &u.key.secret);
    assert_secret_in_no_file(&u, v["SecretAccessKey"].as_str().unwrap());
}
