//! The ground floor (`src/sys/`) end to end, through the binary: bounded reads (a FIFO,
//! /dev/zero, a 1 GB file), private state folders (a symlink, a folder of another user), lock
//! files (0600, none left in ~/.aws after a rotation), and a closed stdout (no panic).

mod support;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use support::{mode, Desktop, DesktopOpts, KeyageCommand, Moto, Sandbox};

const ID: &str = "AKIAZ7QW3RTYU2IOPLKJ";
const SECRET: &str = "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";

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "[default]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n"
    ));
    sb.write_config("[default]\nregion = us-east-1\n");
    sb
}

fn mkfifo(p: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo {}", p.display());
}

/// A clean one- or two-line error: names `what`, has a fix, no panic, no Debug dump.
fn clean_error(stderr: &str, what: &[&str]) {
    for w in what {
        assert!(stderr.contains(w), "stderr lacks {w:?}:\n{stderr}");
    }
    assert!(stderr.contains("fix:"), "no fix:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Os {"), "a Debug dump: {stderr}");
    assert!(!stderr.contains(SECRET));
}

#[test]
fn dev_zero_as_the_credentials_file_is_refused_fast() {
    let sb = sandbox();
    for args in [&["status", "--offline"][..], &["status"][..]] {
        let start = Instant::now();
        let out = sb
            .keyage()
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/zero")
            .endpoint(&support::dead_endpoint())
            .args(args)
            .run();
        out.expect_code(1);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        clean_error(
            &out.stderr,
            &[
                "/dev/zero",
                "character device",
                "AWS_SHARED_CREDENTIALS_FILE",
            ],
        );
    }
}

#[test]
fn a_fifo_never_blocks_the_prompt_and_is_a_clean_error_elsewhere() {
    let sb = sandbox();
    let fifo = sb.path("fifo.toml");
    mkfifo(&fifo);
    // The prompt prints nothing and exits at once (it would block forever on open or read).
    let start = Instant::now();
    let out = sb
        .keyage()
        .env("KEYAGE_CONFIG", &fifo)
        .args(["prompt"])
        .run();
    out.expect_code(0);
    assert_eq!(out.stdout, "");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    // A FIFO as a segment file: the prompt still does not block.
    let seg = sb.path(".local/state/keyage/prompt");
    std::fs::create_dir_all(&seg).unwrap();
    mkfifo(&seg.join("_meta"));
    mkfifo(&seg.join("default"));
    let start = Instant::now();
    sb.keyage().args(["prompt"]).run().expect_code(0);
    assert!(start.elapsed() < Duration::from_secs(3));
    std::fs::remove_dir_all(&seg).unwrap();
    // status names the file, what it is and the fix.
    let out = sb
        .keyage()
        .env("KEYAGE_CONFIG", &fifo)
        .args(["status", "--offline"])
        .run();
    out.expect_code(1);
    clean_error(&out.stderr, &["fifo.toml", "FIFO"]);
    // The same for the AWS files.
    let out = sb
        .keyage()
        .env("AWS_CONFIG_FILE", &fifo)
        .args(["status", "--offline"])
        .run();
    out.expect_code(1);
    clean_error(&out.stderr, &["fifo.toml", "FIFO", "AWS_CONFIG_FILE"]);
}

#[test]
fn a_huge_file_is_refused_naming_the_cap() {
    let sb = sandbox();
    let big = sb.path("big-credentials");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(1 << 30).unwrap(); // 1 GB, sparse
    drop(f);
    let start = Instant::now();
    let out = sb
        .keyage()
        .env("AWS_SHARED_CREDENTIALS_FILE", &big)
        .args(["status", "--offline"])
        .run();
    out.expect_code(1);
    assert!(start.elapsed() < Duration::from_secs(5));
    clean_error(&out.stderr, &["big-credentials", "32 MiB"]);
    // keyage's own config file has a smaller cap.
    let out = sb
        .keyage()
        .env("KEYAGE_CONFIG", &big)
        .args(["status", "--offline"])
        .run();
    out.expect_code(1);
    clean_error(&out.stderr, &["big-credentials", "1 MiB"]);
}

#[test]
fn a_symlinked_state_folder_is_refused_and_its_target_untouched() {
    let sb = sandbox();
    let target = sb.path("elsewhere");
    std::fs::create_dir(&target).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
    let state = sb.path(".local/state/keyage");
    std::os::unix::fs::symlink(&target, &state).unwrap();
    let out = sb.keyage().args(["finalize"]).run();
    out.expect_code(1);
    clean_error(&out.stderr, &[".local/state/keyage", "symbolic link"]);
    assert_eq!(mode(&target), 0o755, "the link's target was chmod'ed");
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
    // status still shows the keys; it says why it could not write the prompt files.
    let out = sb.keyage().args(["status", "--offline"]).run();
    assert!(out.stdout.contains(ID) || out.stderr.contains("symbolic link"));
    assert_eq!(mode(&target), 0o755);
    assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0);
}

#[test]
fn a_state_folder_of_another_user_is_refused() {
    let sb = sandbox();
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    let state = if me == 0 {
        let d = sb.path("theirs");
        std::fs::create_dir(&d).unwrap();
        std::os::unix::fs::chown(&d, Some(65534), Some(65534)).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        d
    } else {
        // Not root: a folder we cannot chown; one that root owns will do.
        std::path::PathBuf::from("/")
    };
    let before = std::fs::metadata(&state).unwrap();
    let out = sb
        .keyage()
        .env("KEYAGE_STATE_DIR", &state)
        .args(["finalize"])
        .run();
    out.expect_code(1);
    clean_error(&out.stderr, &["belongs to user id", "KEYAGE_STATE_DIR"]);
    let after = std::fs::metadata(&state).unwrap();
    assert_eq!(before.mode(), after.mode(), "mode changed");
    assert_eq!(before.uid(), after.uid());
}

#[test]
fn the_rotation_lock_file_is_0600_even_when_an_older_one_was_0644() {
    let sb = sandbox();
    let out = sb.keyage().args(["finalize"]).run();
    out.expect_code(0);
    let lock = sb.path(".local/state/keyage/rotation.lock");
    assert_eq!(mode(&lock), 0o600);
    std::fs::set_permissions(&lock, std::fs::Permissions::from_mode(0o644)).unwrap();
    sb.keyage().args(["finalize"]).run().expect_code(0);
    assert_eq!(mode(&lock), 0o600);
    assert_eq!(mode(&sb.path(".local/state/keyage")), 0o700);
}

#[test]
fn a_rotation_leaves_no_lock_file_in_dot_aws() {
    let moto = Moto::start();
    let desk = Desktop::start(DesktopOpts::keyring());
    let key = moto.create_user("floor");
    let sb = Sandbox::new();
    sb.write_credentials(&key.credentials_section("default"));
    sb.write_config("[default]\nregion = us-east-1\n");
    let out = sb
        .keyage()
        .moto(&moto)
        .desktop(&desk)
        .env("KEYAGE_VERIFY_TIMEOUT_SECS", "6")
        .args(["rotate-self", "--yes"])
        .run();
    out.expect_code(0);
    assert!(!sb.read(".aws/credentials").contains(&key.id), "rotated");
    let mut names: Vec<String> = std::fs::read_dir(sb.path(".aws"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["config", "credentials"],
        "left in ~/.aws: {names:?}"
    );
    let state = sb.path(".local/state/keyage");
    for e in std::fs::read_dir(&state).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
}

/// Runs `keyage ARGS | true` in bash: the reader is gone before keyage writes.
fn into_closed_pipe(sb: &Sandbox, args: &str) -> (i32, String) {
    let out = sb
        .command("bash")
        .args([
            "-c",
            &format!("keyage {args} | true; echo \"${{PIPESTATUS[0]}}\" >&2"),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = err
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(-1);
    (code, err)
}

#[test]
fn a_closed_stdout_is_no_panic() {
    let sb = sandbox();
    // Enough profiles for the table to exceed a pipe's buffer.
    let mut creds = String::new();
    for i in 0..3000 {
        creds.push_str(&format!(
            "[p{i}]\naws_access_key_id = AKIAZ7QW3RTYU{:07}\naws_secret_access_key = {SECRET}\n",
            i
        ));
    }
    sb.write_credentials(&creds);
    for args in [
        "completions bash",
        "completions zsh",
        "man",
        "init bash",
        "status --offline",
        "status --offline --json",
    ] {
        for _ in 0..3 {
            let (code, err) = into_closed_pipe(&sb, args);
            assert!(!err.contains("panicked"), "keyage {args}: {err}");
            assert!(!err.contains("Broken pipe"), "keyage {args}: {err}");
            let ok = if args.starts_with("status") {
                code == 0 || code == 1 || code == 3
            } else {
                code == 0
            };
            assert!(ok, "keyage {args} exited {code}: {err}");
        }
    }
}
