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
