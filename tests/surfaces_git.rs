//! End to end through the binary with real git: the pre-commit hook, the installers, `keyage
//! scan`. Every test has its own HOME, XDG folders, GIT_CONFIG_GLOBAL and AWS files.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use support::{mode, text, Sandbox};

const OWN_ID: &str = "AKIAZ7QW3RTYU2IOPLKJ";
const OWN_SECRET: &str = "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";
const OTHER_ID: &str = "AKIAQWERTY234567ABCD";

/// The shared sandbox with the user's own key in `~/.aws/credentials`.
fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "[default]\naws_access_key_id = {OWN_ID}\naws_secret_access_key = {OWN_SECRET}\n"
    ));
    sb.write_config("[default]\nregion = us-east-1\n");
    sb
}

/// Nothing the tool prints may contain a secret or a full key id of the user.
fn assert_masked(o: &Output) {
    let all = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(!all.contains(OWN_SECRET), "secret leaked: {all}");
    assert!(
        !all.contains(&OWN_SECRET[4..20]),
        "secret part leaked: {all}"
    );
    assert!(!all.contains(OWN_ID), "own key id unmasked: {all}");
}

#[test]
fn hook_blocks_own_secret_and_passes_examples_and_random_strings() {
    let sb = sandbox();
    let repo = sb.repo("r");
    let o = sb.keyage_in(&repo, &["install", "git-hook"]);
    assert!(o.status.success(), "{}", text(&o.stderr));

    let o = sb.commit(
        &repo,
        &[(
            "app/settings.py",
            format!("A = 1\nKEY = \"{OWN_SECRET}\"\n").as_bytes(),
        )],
        &[],
    );
    assert!(!o.status.success(), "own secret must block");
    let err = text(&o.stderr);
    assert!(err.contains("app/settings.py:2:8"), "{err}");
    assert!(err.contains("your own secret access key"), "{err}");
    assert!(
        err.contains("--no-verify") && err.contains(".keyageignore"),
        "{err}"
    );
    assert_masked(&o);

    // own key id, also blocked, and masked
    std::fs::write(repo.join("app/settings.py"), "A = 1\n").unwrap();
    let o = sb.commit(
        &repo,
        &[("id.txt", format!("id {OWN_ID}\n").as_bytes())],
        &[],
    );
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("AKIA…PLKJ"));
    assert_masked(&o);
    std::fs::remove_file(repo.join("id.txt")).unwrap();
    assert!(sb
        .git(&repo, &["rm", "-q", "--cached", "id.txt"])
        .status
        .success());

    let fine = "# docs\nid = AKIAIOSFODNN7EXAMPLE\nsecret = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n\
                b64 = Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2Fy\nhex = 0123456789abcdef0123456789abcdef01234567\n\
                near = q9Xv3mK2pL8sT4wZ7yB1nC6dF0gH5jR2eA3uI9oQ\n";
    let o = sb.commit(&repo, &[("app/settings.py", fine.as_bytes())], &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stderr).is_empty(), "{}", text(&o.stderr));
}

#[test]
fn hook_reports_binary_file_once_and_pattern_keys() {
    let sb = sandbox();
    let repo = sb.repo("r");
    assert!(sb
        .keyage_in(&repo, &["install", "git-hook"])
        .status
        .success());
    let mut bin = vec![0u8, 159, 146, 150];
    for _ in 0..5 {
        bin.extend_from_slice(format!("\0{OTHER_ID}\0\n").as_bytes());
    }
    let o = sb.commit(&repo, &[("blob.bin", &bin)], &[]);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert_eq!(err.matches("blob.bin").count(), 1, "{err}");
    assert!(err.contains("blob.bin (binary file)"), "{err}");

    let o = sb.commit(
        &repo,
        &[
            ("blob.bin", b"clean"),
            ("t.txt", format!("k={OTHER_ID}\n").as_bytes()),
        ],
        &[],
    );
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("t.txt:1:3: an AWS access key id AKIA…ABCD"));
}

#[test]
fn hook_scans_only_the_change_renames_and_amend() {
    let sb = sandbox();
    let repo = sb.repo("r");
    assert!(sb
        .keyage_in(&repo, &["install", "git-hook"])
        .status
        .success());
    // An old fixture, committed with --no-verify before keyage was there.
    let o = sb.commit(
        &repo,
        &[("fixture.txt", format!("{OTHER_ID}\nline\n").as_bytes())],
        &["--no-verify"],
    );
    assert!(o.status.success());
    // Editing another line of that file does not report the old line.
    let o = sb.commit(
        &repo,
        &[(
            "fixture.txt",
            format!("{OTHER_ID}\nline changed\n").as_bytes(),
        )],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    // A pure rename adds no lines.
    assert!(sb
        .git(&repo, &["mv", "fixture.txt", "moved.txt"])
        .status
        .success());
    let o = sb.git(&repo, &["commit", "-q", "-m", "rename"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Amend does not rescan the tree.
    let o = sb.git(&repo, &["commit", "-q", "--amend", "-m", "renamed"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // But a new line with a key in a renamed file is found, with its new-file line number.
    assert!(sb
        .git(&repo, &["mv", "moved.txt", "again.txt"])
        .status
        .success());
    let o = sb.commit(
        &repo,
        &[(
            "again.txt",
            format!("{OTHER_ID}\nline changed\nnew {}\n", "AKIAQWERTY234567ABCE").as_bytes(),
        )],
        &[],
    );
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("again.txt:3:5"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn hook_allowlists() {
    let sb = sandbox();
    let repo = sb.repo("r");
    assert!(sb
        .keyage_in(&repo, &["install", "git-hook"])
        .status
        .success());
    std::fs::write(
        repo.join(".keyageignore"),
        format!("# test ids\n{OTHER_ID}\nfixtures/\n"),
    )
    .unwrap();
    let o = sb.commit(
        &repo,
        &[
            ("a.txt", format!("{OTHER_ID}\n").as_bytes()),
            ("fixtures/f.txt", b"AKIAQWERTY234567ABCF\n"),
            ("b.txt", b"AKIAQWERTY234567ABCG # keyage:allow\n"),
            (
                ".keyageignore",
                std::fs::read(repo.join(".keyageignore"))
                    .unwrap()
                    .as_slice(),
            ),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(sb
        .git(
            &repo,
            &["config", "--add", "keyage.allow", "AKIAQWERTY234567ABCH"]
        )
        .status
        .success());
    let o = sb.commit(&repo, &[("c.txt", b"AKIAQWERTY234567ABCH\n")], &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // The user's own secret is never allowlisted by a pragma.
    let o = sb.commit(
        &repo,
        &[("d.txt", format!("{OWN_SECRET} keyage:allow\n").as_bytes())],
        &[],
    );
    assert!(!o.status.success());
}

/// The one `git diff -z --raw -p` call: file names git would quote (a newline, a name that
/// looks like a patch header, spaces, non-ASCII), a file that becomes a symlink (git splits
/// that into two patch sections), a renamed binary file, and `keyage.allow` set in an
/// included config file (git's own lookup).
#[test]
fn hook_handles_odd_names_type_changes_and_included_config() {
    let sb = sandbox();
    let repo = sb.repo("r");
    assert!(sb
        .keyage_in(&repo, &["install", "git-hook"])
        .status
        .success());
    let o = sb.commit(
        &repo,
        &[
            ("plain.txt", b"one\ntwo\n"),
            ("blob.bin", b"\0\x01binary\0\n"),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));

    // Odd names, clean content: passes. Then a key in each, found under its real name.
    let odd = [
        "new\nline.txt",
        "diff --git a b.txt",
        "sp ace \u{e9}t\u{e9}.txt",
    ];
    let files: Vec<(&str, &[u8])> = odd.iter().map(|n| (*n, &b"clean\n"[..])).collect();
    let o = sb.commit(&repo, &files, &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    for (i, name) in odd.iter().enumerate() {
        let body = format!("clean\nx {}{}\n", &OTHER_ID[..19], ["X", "Y", "Z"][i]);
        let o = sb.commit(&repo, &[(name, body.as_bytes())], &[]);
        assert!(!o.status.success(), "{name}");
        let err = text(&o.stderr);
        assert!(
            err.contains(&format!("{name}:2:3: an AWS access key id")),
            "{err}"
        );
        assert!(sb.git(&repo, &["reset", "-q", "--hard"]).status.success());
    }

    // A file that becomes a symlink: one file, two patch sections.
    std::fs::remove_file(repo.join("plain.txt")).unwrap();
    std::os::unix::fs::symlink("blob.bin", repo.join("plain.txt")).unwrap();
    assert!(sb.git(&repo, &["add", "plain.txt"]).status.success());
    let o = sb.git(&repo, &["commit", "-q", "-m", "type change"]);
    assert!(o.status.success(), "{}", text(&o.stderr));

    // A renamed and changed binary file: its staged blob is scanned, reported once.
    assert!(sb
        .git(&repo, &["mv", "blob.bin", "moved.bin"])
        .status
        .success());
    let mut bin = b"\0\x01binary\0\n".to_vec();
    bin.extend_from_slice(format!("\0{OTHER_ID}\0{OTHER_ID}\n").as_bytes());
    let o = sb.commit(&repo, &[("moved.bin", &bin)], &[]);
    assert!(!o.status.success());
    let err = text(&o.stderr);
    assert_eq!(err.matches("moved.bin (binary file)").count(), 1, "{err}");

    // keyage.allow from a file included by the repository's config.
    let inc = sb.root().join("included.gitconfig");
    std::fs::write(&inc, "[keyage]\n\tallow = moved.bin\n").unwrap();
    assert!(sb
        .git(&repo, &["config", "include.path", inc.to_str().unwrap()])
        .status
        .success());
    let o = sb.git(&repo, &["commit", "-q", "-m", "allowed"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

fn write_marker_hook(repo: &Path) -> (PathBuf, Vec<u8>) {
    let hook = repo.join(".git/hooks/pre-commit");
    let marker = repo.join("own-hook-ran");
    let body = format!(
        "#!/bin/sh\n# the user's own hook\necho ran >> '{}'\n",
        marker.display()
    );
    std::fs::write(&hook, &body).unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o750)).unwrap();
    (hook, body.into_bytes())
}

#[test]
fn repo_install_keeps_existing_hook_and_uninstall_restores_it() {
    let sb = sandbox();
    let repo = sb.repo("r");
    let (hook, body) = write_marker_hook(&repo);
    let before: Vec<_> = std::fs::read_dir(repo.join(".git/hooks"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    let o = sb.keyage_in(
        &repo,
        &["install", "git-hook", "--repo", repo.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("kept your hook"));
    // idempotent
    assert!(sb
        .keyage_in(&repo, &["install", "git-hook"])
        .status
        .success());
    let o = sb.commit(&repo, &[("a.txt", b"hello\n")], &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(repo.join("own-hook-ran")).unwrap(),
        "ran\n"
    );
    // Blocked commits do not reach the chained hook.
    let o = sb.commit(&repo, &[("b.txt", OWN_SECRET.as_bytes())], &[]);
    assert!(!o.status.success());
    assert_eq!(
        std::fs::read_to_string(repo.join("own-hook-ran")).unwrap(),
        "ran\n"
    );
    assert!(sb
        .git(&repo, &["rm", "-q", "--cached", "b.txt"])
        .status
        .success());

    let o = sb.keyage_in(&repo, &["uninstall", "git-hook"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(std::fs::read(&hook).unwrap(), body);
    assert_eq!(mode(&hook) & 0o7777, 0o750);
    let after: Vec<_> = std::fs::read_dir(repo.join(".git/hooks"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(before.len(), after.len());

    // Without a previous hook, uninstall leaves no hook at all.
    let repo2 = sb.repo("r2");
    assert!(sb
        .keyage_in(&repo2, &["install", "git-hook"])
        .status
        .success());
    assert!(repo2.join(".git/hooks/pre-commit").exists());
    assert!(sb
        .keyage_in(&repo2, &["uninstall", "git-hook"])
        .status
        .success());
    assert!(!repo2.join(".git/hooks/pre-commit").exists());
}

#[test]
fn global_install_runs_repo_hook_and_uninstall_restores_gitconfig() {
    let sb = sandbox();
    let original =
        b"[user]\n\tname = Someone\n# a comment keyage must keep\n[alias]\n\tst = status\n";
    std::fs::write(sb.gitconfig(), original).unwrap();
    let repo = sb.repo("r");
    let (_hook, _) = write_marker_hook(&repo);
    let o = sb.keyage_in(&repo, &["install", "git-hook", "--global"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let hp = sb.git(&repo, &["config", "--global", "core.hooksPath"]);
    assert!(text(&hp.stdout).contains("keyage/git-hooks"));
    // idempotent
    assert!(sb
        .keyage_in(&repo, &["install", "git-hook", "--global"])
        .status
        .success());

    let o = sb.commit(&repo, &[("a.txt", b"hello\n")], &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(repo.join("own-hook-ran")).unwrap(),
        "ran\n"
    );
    let o = sb.commit(&repo, &[("b.txt", OWN_SECRET.as_bytes())], &[]);
    assert!(!o.status.success());
    assert_masked(&o);
    assert!(sb
        .git(&repo, &["rm", "-q", "--cached", "b.txt"])
        .status
        .success());

    let o = sb.keyage_in(&repo, &["uninstall", "git-hook", "--global"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(std::fs::read(sb.gitconfig()).unwrap(), original);
    assert!(!sb.home().join(".config/keyage/git-hooks").exists());

    // No global config before: none after.
    std::fs::remove_file(sb.gitconfig()).unwrap();
    assert!(sb
        .keyage_in(&repo, &["install", "git-hook", "--global"])
        .status
        .success());
    assert!(sb.gitconfig().exists());
    assert!(sb
        .keyage_in(&repo, &["uninstall", "git-hook", "--global"])
        .status
        .success());
    assert!(!sb.gitconfig().exists());
}

#[test]
fn global_install_refuses_a_foreign_hooks_path() {
    let sb = sandbox();
    let original = b"[core]\n\thooksPath = /opt/company-hooks\n";
    std::fs::write(sb.gitconfig(), original).unwrap();
    let o = sb.keyage_in(&sb.home(), &["install", "git-hook", "--global"]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.contains("/opt/company-hooks") && err.contains("will not replace"),
        "{err}"
    );
    assert_eq!(std::fs::read(sb.gitconfig()).unwrap(), original);
}

#[test]
fn shell_line_is_idempotent_and_removed_exactly() {
    let sb = sandbox();
    let rc = sb.home().join(".bashrc");
    let original = b"# my rc\nalias ll='ls -l'"; // no final newline
    std::fs::write(&rc, original).unwrap();
    std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o640)).unwrap();
    for _ in 0..2 {
        let o = sb.keyage_in(&sb.home(), &["install", "shell", "bash"]);
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    let t = std::fs::read_to_string(&rc).unwrap();
    assert_eq!(t.matches("# keyage init").count(), 1, "{t}");
    assert!(t.contains("eval \"$(keyage init bash)\""));
    assert!(sb
        .keyage_in(&sb.home(), &["uninstall", "shell", "bash"])
        .status
        .success());
    assert_eq!(std::fs::read(&rc).unwrap(), original);
    assert_eq!(mode(&rc) & 0o777, 0o640);
    // fish: the file and folder are created
    assert!(sb
        .keyage_in(&sb.home(), &["install", "shell", "fish"])
        .status
        .success());
    let f = sb.home().join(".config/fish/config.fish");
    assert!(std::fs::read_to_string(&f)
        .unwrap()
        .contains("keyage init fish | source"));
}

#[test]
fn scan_paths_respects_gitignore_and_exit_codes() {
    let sb = sandbox();
    let repo = sb.repo("proj");
    std::fs::write(repo.join(".gitignore"), "ignored.txt\n").unwrap();
    std::fs::write(repo.join("ignored.txt"), OTHER_ID).unwrap();
    std::fs::write(
        repo.join("clean.txt"),
        "nothing here AKIAIOSFODNN7EXAMPLE\n",
    )
    .unwrap();
    let o = sb.keyage_in(&repo, &["scan"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    std::fs::create_dir_all(repo.join("src")).unwrap();
    std::fs::write(
        repo.join("src/conf.ini"),
        format!("x\nsecret={OWN_SECRET}\n"),
    )
    .unwrap();
    let o = sb.keyage_in(&repo, &["scan", "--json", "."]);
    assert_eq!(o.status.code(), Some(3));
    assert_masked(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = &v["findings"][0];
    assert_eq!(f["kind"], "own_secret");
    assert_eq!(f["line"], 2);
    assert!(f["path"].as_str().unwrap().ends_with("src/conf.ini"));
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
}

/// A file of `MAP_FROM` bytes or more is mapped rather than read (`sys::fs::view_regular`):
/// the same findings, at the right line, for a key at its very end and one in the middle.
#[test]
fn scan_large_file_is_mapped_and_read_to_the_end() {
    let sb = sandbox();
    let repo = sb.repo("big");
    let line = "let x = compute(a, b); // some ordinary source line\n";
    let n = (5 << 20) / line.len() + 1;
    let mut body = line.repeat(n / 2);
    body.push_str(&format!("secret={OWN_SECRET}\n"));
    body.push_str(&line.repeat(n - n / 2));
    body.push_str(&format!("id = {OTHER_ID}\n"));
    std::fs::write(repo.join("big.rs"), &body).unwrap();
    assert!(
        body.len() as u64 >= 4 << 20,
        "large enough to be mapped (sys::fs::MAP_FROM)"
    );
    let o = sb.keyage_in(&repo, &["scan", "--json", "big.rs"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert_masked(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = v["findings"].as_array().unwrap();
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(f[0]["kind"], "own_secret");
    assert_eq!(f[0]["line"], n / 2 + 1);
    assert_eq!(f[1]["kind"], "key_id_pattern");
    assert_eq!(f[1]["line"], n + 2);
}

#[test]
fn scan_home_finds_copied_keys_but_not_the_aws_files() {
    let sb = sandbox();
    let h = sb.home();
    std::fs::write(
        h.join(".bashrc"),
        format!("export AWS_SECRET_ACCESS_KEY={OWN_SECRET}\n"),
    )
    .unwrap();
    std::fs::create_dir_all(h.join("work/app")).unwrap();
    std::fs::write(h.join("work/app/.gitignore"), ".env\n").unwrap();
    std::fs::write(
        h.join("work/app/.env"),
        format!("AWS_ACCESS_KEY_ID={OWN_ID}\n"),
    )
    .unwrap();
    std::fs::create_dir_all(h.join(".config/sometool")).unwrap();
    std::fs::write(
        h.join(".config/sometool/settings.json"),
        format!("{{\"k\":\"{OTHER_ID}\"}}"),
    )
    .unwrap();
    std::fs::write(h.join(".s3cfg"), "access_key = AKIAIOSFODNN7EXAMPLE\n").unwrap();
    let o = sb.keyage_in(&h, &["scan", "--home", "--json"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert_masked(&o);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let paths: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert!(paths.iter().any(|p| p.ends_with(".bashrc")));
    assert!(paths.iter().any(|p| p.ends_with("work/app/.env")));
    assert!(paths.iter().any(|p| p.ends_with("sometool/settings.json")));
    assert!(!paths.iter().any(|p| p.contains(".aws")));

    for p in [".bashrc", "work/app/.env", ".config/sometool/settings.json"] {
        std::fs::remove_file(h.join(p)).unwrap();
    }
    let o = sb.keyage_in(&h, &["scan", "--home"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

/// Fake-but-shaped values for the pattern rules (never real keys).
const CTX_SECRET: &str = "Hk3pQ9vLm2Xr7TzW4yNb8Ce1Fd6Gj0Ks5Ua/Rt+E";
const CTX_ID: &str = "AKIAQWERTY234567WXYZ";

fn b64(s: &str) -> String {
    // Standard base64, by hand (the tests keep no base64 crate).
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn blocked_with(sb: &Sandbox, repo: &Path, name: &str, body: &[u8], want: &[&str]) {
    let o = sb.commit(repo, &[(name, body)], &[]);
    let err = text(&o.stderr);
    assert!(!o.status.success(), "{name} must block: {err}");
    for w in want {
        assert!(err.contains(w), "{name}: want {w:?} in\n{err}");
    }
    assert_masked(&o);
    assert!(!err.contains(CTX_SECRET), "{err}");
    assert!(!err.contains(&CTX_SECRET[4..]), "{err}");
    assert!(sb.git(repo, &["reset", "-q", "--hard"]).status.success());
    let _ = std::fs::remove_file(repo.join(name));
}

/// Issue 16, items 1–3: a secret next to its name, the id + secret pair, base64 copies (a
/// Kubernetes Secret, a whole credentials file in a CI variable, a JWT payload, the user's own
/// secret base64-encoded), UTF-16 text, and what each finding says it is.
#[test]
fn hook_finds_context_secrets_pairs_and_encoded_copies() {
    let sb = sandbox();
    let repo = sb.repo("r");
    assert!(sb
        .keyage_in(&repo, &["install", "git-hook"])
        .status
        .success());
    assert!(sb
        .commit(&repo, &[("README", b"base\n")], &[])
        .status
        .success());

    blocked_with(
        &sb,
        &repo,
        ".env",
        format!("REGION=eu-west-1\nAWS_SECRET_ACCESS_KEY={CTX_SECRET}\n").as_bytes(),
        &[".env:2:23: an AWS secret access key Hk3p"],
    );
    blocked_with(
        &sb,
        &repo,
        "values.yaml",
        format!("aws:\n  secretAccessKey: \"{CTX_SECRET}\"\n").as_bytes(),
        &["values.yaml:2:21: an AWS secret access key"],
    );
    blocked_with(
        &sb,
        &repo,
        "main.tf",
        format!("provider \"aws\" {{\n  region     = \"us-east-1\"\n  secret_key = \"{CTX_SECRET}\"\n}}\n")
            .as_bytes(),
        &["main.tf:3:17: an AWS secret access key"],
    );
    blocked_with(
        &sb,
        &repo,
        "keys.csv",
        format!("Access key ID,Secret access key\nAKIAIOSFODNN7EXAMPL2,{CTX_SECRET}\n").as_bytes(),
        &["next to key id AKIA…MPL2"],
    );
    // Kubernetes Secret: both values base64-encoded.
    blocked_with(
        &sb,
        &repo,
        "secret.yaml",
        format!(
            "apiVersion: v1\nkind: Secret\ndata:\n  AWS_ACCESS_KEY_ID: {}\n  AWS_SECRET_ACCESS_KEY: {}\n",
            b64(CTX_ID),
            b64(CTX_SECRET)
        )
        .as_bytes(),
        &[
            "secret.yaml:4:22: an AWS access key id AKIA…WXYZ",
            "secret.yaml:5:26: an AWS secret access key",
            "base64-encoded",
        ],
    );
    // A whole credentials file in a CI variable.
    let creds =
        format!("[default]\naws_access_key_id = {CTX_ID}\naws_secret_access_key = {CTX_SECRET}\n");
    blocked_with(
        &sb,
        &repo,
        ".gitlab-ci.yml",
        format!("variables:\n  AWS_CREDS_B64: \"{}\"\n", b64(&creds)).as_bytes(),
        &[
            ".gitlab-ci.yml:2:19: an AWS access key id AKIA…WXYZ",
            "an AWS secret access key",
        ],
    );
    // A JWT whose payload carries a key id (base64url, no padding).
    let payload = b64(&format!("{{\"sub\":\"ci\",\"aws\":\"{CTX_ID}\"}}"))
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_");
    blocked_with(
        &sb,
        &repo,
        "token.txt",
        format!("eyJhbGciOiJIUzI1NiJ9.{payload}.c2lnbmF0dXJl\n").as_bytes(),
        &["an AWS access key id AKIA…WXYZ", "base64-encoded"],
    );
    // The user's own secret, base64-encoded (no name, no key id near).
    blocked_with(
        &sb,
        &repo,
        "blob.txt",
        format!("x: {}\n", b64(&format!("pre {OWN_SECRET} post"))).as_bytes(),
        &["your own secret access key q9Xv", "base64-encoded"],
    );
    // UTF-16 (PowerShell writes it) with a byte-order mark: scanned as text.
    let mut utf16 = vec![0xFF, 0xFE];
    for u in format!("$env:AWS_ACCESS_KEY_ID = \"{CTX_ID}\"\r\n").encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    blocked_with(
        &sb,
        &repo,
        "setenv.ps1",
        &utf16,
        &["setenv.ps1:1:27: an AWS access key id AKIA…WXYZ"],
    );
    // Temporary keys and accounts (decoded offline from the key id).
    blocked_with(
        &sb,
        &repo,
        "t.txt",
        b"ASIAY34FZKBOKMUTVV7A\n",
        &["temporary (ASIA) key", "account 609629065308"],
    );

    // Negatives: placeholders, references, hex digests, a lone random 40-character string.
    let fine = format!(
        "AWS_SECRET_ACCESS_KEY=${{AWS_SECRET_ACCESS_KEY}}\n\
         aws_secret_access_key = <your secret here>\n\
         aws_secret_access_key = 0123456789abcdef0123456789abcdef01234567\n\
         client_secret: \"{CTX_SECRET}\"\n\
         AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    );
    let o = sb.commit(&repo, &[("fine.txt", fine.as_bytes())], &[]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // A weak name (`secret`) with nothing about AWS near it.
    let o = sb.commit(
        &repo,
        &[(
            "django.py",
            format!("secret = \"{CTX_SECRET}\"\n").as_bytes(),
        )],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
}

/// Issue 14, item 7: a path allowlist (`.keyageignore`, `git config keyage.allow`) excuses
/// pattern matches only; the user's own key in such a file still blocks, and the message says
/// how to remove it instead of offering the allowlist.
#[test]
fn hook_own_key_in_an_allowlisted_path_still_blocks() {
    let sb = sandbox();
    let repo = sb.repo("r");
    assert!(sb
        .keyage_in(&repo, &["install", "git-hook"])
        .status
        .success());
    std::fs::write(repo.join(".keyageignore"), "notes.txt\n").unwrap();
    let o = sb.commit(
        &repo,
        &[
            (".keyageignore", b"notes.txt\n"),
            ("notes.txt", format!("fixture {OTHER_ID}\n").as_bytes()),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = sb.commit(
        &repo,
        &[(
            "notes.txt",
            format!("fixture {OTHER_ID}\nmine {OWN_SECRET}\n").as_bytes(),
        )],
        &[],
    );
    assert!(
        !o.status.success(),
        "own secret in an allowlisted path must block"
    );
    let err = text(&o.stderr);
    assert!(
        err.contains("notes.txt:2:6: your own secret access key"),
        "{err}"
    );
    assert!(!err.contains("an AWS access key id"), "{err}");
    assert!(err.contains("cannot be allowlisted"), "{err}");
    assert!(err.contains("take it out of the file"), "{err}");
    assert!(!err.contains("Allow it"), "{err}");
    assert_masked(&o);
    assert!(sb.git(&repo, &["reset", "-q", "--hard"]).status.success());

    // The same through `git config keyage.allow`, with the own key id.
    assert!(sb
        .git(&repo, &["config", "--add", "keyage.allow", "other.txt"])
        .status
        .success());
    let o = sb.commit(
        &repo,
        &[("other.txt", format!("{OWN_ID}\n").as_bytes())],
        &[],
    );
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("your own access key id AKIA…PLKJ"));
    assert!(sb.git(&repo, &["reset", "-q", "--hard"]).status.success());

    // Mixed: own advice plus the allowlist for the others.
    let o = sb.commit(
        &repo,
        &[("mixed.txt", format!("{OWN_ID}\n{OTHER_ID}\n").as_bytes())],
        &[],
    );
    let err = text(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("cannot be allowlisted") && err.contains("For the other findings"),
        "{err}"
    );
}

/// Keys the AWS files no longer hold: a secret kept elsewhere (a planted keyed fingerprint,
/// as `keyage protect` writes it) and an old key waiting for finalize (the pending list) and
/// an inactive one (the cache) are still blocked, and say what they are.
#[test]
fn hook_blocks_fingerprinted_and_old_keys() {
    use keyage::scan::fingerprint::{digest, hex};
    const KEPT_ID: &str = "AKIAZ7QW3RTYU2IOPLKK";
    const KEPT_SECRET: &str = "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";
    const OLD_ID: &str = "AKIAZ7QW3RTYU2IOPLKL";
    const INACTIVE_ID: &str = "AKIAZ7QW3RTYU2IOPLKM";
    let sb = sandbox();
    let state = sb.home().join(".local/state/keyage");
    std::fs::create_dir_all(&state).unwrap();
    let key = [42u8; 32];
    std::fs::write(state.join("fingerprint.key"), key).unwrap();
    std::fs::write(
        state.join("fingerprints.json"),
        format!(
            "{{\"version\":1,\"entries\":[{{\"key_id\":\"{KEPT_ID}\",\"hmac\":\"{}\",\"status\":\"current\"}}]}}",
            hex(&digest(&key, KEPT_SECRET.as_bytes()))
        ),
    )
    .unwrap();
    let fp = std::fs::read_to_string(state.join("fingerprints.json")).unwrap();
    assert!(!fp.contains(KEPT_SECRET));
    std::fs::write(
        state.join("pending-finalize.json"),
        format!(
            "{{\"version\":1,\"pending\":[{{\"rotation_id\":\"r1\",\"profile\":\"default\",\
             \"profiles\":[\"default\"],\"account\":\"123456789012\",\"user\":\"alice\",\
             \"old_key_id\":\"{OLD_ID}\",\"new_key_id\":\"{OWN_ID}\",\"old_key\":\"inactive\",\
             \"rotated_at\":\"2026-11-01T00:00:00Z\",\"deadline\":\"2026-11-08T00:00:00Z\"}}]}}"
        ),
    )
    .unwrap();
    std::fs::write(
        state.join("cache.json"),
        format!(
            "{{\"version\":1,\"keys\":{{\"{OWN_ID}\":{{\"key_id\":\"{OWN_ID}\",\
             \"first_seen\":\"2026-11-01T00:00:00Z\",\"identity\":{{\"account\":\"123456789012\",\
             \"arn\":\"arn:aws:iam::123456789012:user/alice\",\"user_name\":\"alice\"}},\
             \"others\":[{{\"key_id\":\"{INACTIVE_ID}\",\"active\":false}}],\"problems\":[]}}}}}}"
        ),
    )
    .unwrap();
    let repo = sb.repo("r");
    assert!(sb
        .keyage_in(&repo, &["install", "git-hook"])
        .status
        .success());
    // A bare 40-character secret: only its fingerprint can tell it is the user's.
    let o = sb.commit(
        &repo,
        &[("a.txt", format!("s {KEPT_SECRET}\n").as_bytes())],
        &[],
    );
    let err = text(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("a.txt:1:3: your own secret access key Mv8L") && err.contains("AKIA…PLKK"),
        "{err}"
    );
    assert!(
        !err.contains(KEPT_SECRET) && !err.contains(&KEPT_SECRET[4..]),
        "{err}"
    );
    assert!(sb.git(&repo, &["reset", "-q", "--hard"]).status.success());
    let o = sb.commit(
        &repo,
        &[(
            "b.txt",
            format!("{KEPT_ID}\n{OLD_ID}\n{INACTIVE_ID}\n").as_bytes(),
        )],
        &[],
    );
    let err = text(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("b.txt:1:1: your own access key id AKIA…PLKK"),
        "{err}"
    );
    assert!(
        err.contains("b.txt:2:1: your old access key id AKIA…PLKL (waiting for keyage finalize)"),
        "{err}"
    );
    assert!(
        err.contains("b.txt:3:1: your old access key id AKIA…PLKM (inactive)"),
        "{err}"
    );
    assert!(err.contains("cannot be allowlisted"), "{err}");
    assert!(sb.git(&repo, &["reset", "-q", "--hard"]).status.success());
    // Another key of the user's account vs another account's key (decoded offline).
    let o = sb.commit(&repo, &[("c.txt", b"AKIAQWERTY234567ABCD\n")], &[]);
    assert!(
        text(&o.stderr).contains("not one of yours"),
        "{}",
        text(&o.stderr)
    );
}

/// Issue 14, item 4: a missing path is an error; FIFOs are skipped with a note (never opened,
/// so the scan never waits); `/proc` is skipped (virtual file system) and the scan finishes.
#[test]
fn scan_missing_paths_special_files_and_proc() {
    let sb = sandbox();
    let o = sb.keyage_in(&sb.home(), &["scan", "/no/such/path"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("/no/such/path") && err.contains("no such file"),
        "{err}"
    );
    assert!(text(&o.stdout).is_empty());

    let dir = sb.path("d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.txt"), "clean\n").unwrap();
    let fifo = dir.join("pipe");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    for target in [dir.clone(), fifo.clone()] {
        let o = sb.keyage_in(&sb.home(), &["scan", target.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        assert!(text(&o.stderr).contains("(a FIFO"), "{}", text(&o.stderr));
    }

    let started = std::time::Instant::now();
    let o = sb.keyage_in(&sb.home(), &["scan", "/proc"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("virtual file system proc"),
        "{}",
        text(&o.stderr)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let o = sb.keyage_in(&sb.home(), &["scan", "/proc/self/status", "/dev/null"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

/// `keyage scan --json`: what each finding is (kind, account, encoded), documented examples
/// listed apart and not counted, own keys found in an allowlisted path.
#[test]
fn scan_json_says_what_each_finding_is() {
    let sb = sandbox();
    let dir = sb.path("p");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".keyageignore"), "fixtures/\n").unwrap();
    std::fs::create_dir_all(dir.join("fixtures")).unwrap();
    std::fs::write(
        dir.join("fixtures/f.txt"),
        format!("{OTHER_ID}\n{OWN_SECRET}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("app.env"),
        format!(
            "AWS_ACCESS_KEY_ID={CTX_ID}\nAWS_SECRET_ACCESS_KEY={CTX_SECRET}\n# AKIAIOSFODNN7EXAMPLE\n"
        ),
    )
    .unwrap();
    let o = sb.keyage_in(&dir, &["scan", "--json"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert_masked(&o);
    assert!(!text(&o.stdout).contains(CTX_SECRET));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = v["findings"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = f
        .iter()
        .map(|x| (x["path"].as_str().unwrap(), x["kind"].as_str().unwrap()))
        .collect();
    assert!(kinds.contains(&("app.env", "key_id_pattern")), "{kinds:?}");
    assert!(
        kinds.contains(&("app.env", "secret_with_context")),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("fixtures/f.txt", "own_secret")),
        "{kinds:?}"
    );
    assert!(
        !kinds.contains(&("fixtures/f.txt", "key_id_pattern")),
        "{kinds:?}"
    );
    assert_eq!(f.len(), 3, "{kinds:?}");
    let id = f.iter().find(|x| x["kind"] == "key_id_pattern").unwrap();
    assert!(id["account"].as_str().is_some_and(|a| a.len() == 12));
    let ignored = v["ignored"].as_array().unwrap();
    assert_eq!(ignored.len(), 1);
    assert_eq!(ignored[0]["kind"], "documented_example");
}

/// A FIFO where `.keyageignore` should be: the hook and `scan` neither block nor crash; the
/// FIFO is noted and skipped, and the own secret is still blocked.
#[test]
fn a_fifo_keyageignore_does_not_block_the_hook_or_scan() {
    let sb = std::sync::Arc::new(sandbox());
    let repo = sb.repo("fifo");
    let o = sb.keyage_in(&repo, &["install", "git-hook"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let st = std::process::Command::new("mkfifo")
        .arg(repo.join(".keyageignore"))
        .status()
        .unwrap();
    assert!(st.success());
    // `commit` waits for git; a blocking open of the FIFO would hang it, so run it on a thread
    // and give up (fail) after a generous bound.
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let (sb, repo) = (sb.clone(), repo.clone());
        let body = format!("KEY = \"{OWN_SECRET}\"\n");
        std::thread::spawn(move || {
            let _ = tx.send(sb.commit(&repo, &[("s.py", body.as_bytes())], &[]));
        });
    }
    let o = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the hook blocked on a FIFO .keyageignore");
    assert!(!o.status.success(), "own secret must block");
    assert!(text(&o.stderr).contains("your own secret access key"));
    let o = sb.keyage_in(&repo, &["scan", "."]);
    assert_eq!(o.status.code(), Some(3), "findings: {}", text(&o.stderr));
    assert!(text(&o.stderr).contains("(a FIFO)"), "{}", text(&o.stderr));
}

/// The front starts the hook's git before it parses the command line; when git cannot be
/// started there (not on PATH), the hook still says so in one clean line with the fix, and
/// exits non-zero, as it did when it started git itself.
#[test]
fn hook_without_git_on_path_says_so() {
    let sb = sandbox();
    let repo = sb.repo("nogit");
    let empty = sb.root().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let o = sb
        .keyage()
        .current_dir(&repo)
        .env("PATH", &empty)
        .args(["hook", "pre-commit"])
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.starts_with("keyage: cannot run git: "), "{err}");
    assert!(err.contains("install git or fix PATH"), "{err}");
    assert!(err.lines().count() <= 2, "{err}");
}
