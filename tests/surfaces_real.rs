//! The surfaces fed by the real writer: `keyage status` against moto (keys made old) writes
//! the segment files; then `keyage prompt`, real bash/zsh/fish prompts and the git hook's age
//! warning read them.

mod support;

use std::process::Stdio;

use support::*;

fn interactive(sb: &Sandbox, shell: &str, script: &str, profile: Option<&str>) -> String {
    use std::io::Write;
    let mut c = sb.command(shell);
    match shell {
        "bash" => c.args(["--norc", "--noprofile", "-i"]),
        "zsh" => c.args(["-f", "-i"]),
        _ => c.args(["--no-config", "-c", script]),
    };
    c.env("PS1", "PROMPT> ");
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_keyage"))
        .parent()
        .unwrap();
    c.env("PATH", format!("{}:/usr/bin:/bin", bin.display()));
    if let Some(p) = profile {
        c.env("AWS_PROFILE", p);
    }
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    if shell != "fish" {
        stdin.write_all(script.as_bytes()).unwrap();
    }
    drop(stdin);
    let o = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn status_writes_segments_that_prompt_shells_and_hook_show() {
    let moto = Moto::start();
    let old = moto.create_user("alice");
    let fresh = moto.create_user("carol");
    moto.make_old(&old.id, 100);
    moto.enable_auth();
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "{}\n{}",
        old.credentials_section("default"),
        fresh.credentials_section("carol")
    ));
    sb.keyage().arg("status").moto(&moto).run().expect_code(3);

    // keyage prompt
    let out = sb.keyage().arg("prompt").run();
    out.expect_code(0);
    assert_eq!(out.stdout, "key 100d!");
    let out = sb
        .keyage()
        .args(["prompt"])
        .env("AWS_PROFILE", "carol")
        .run();
    assert_eq!(out.stdout, "");
    let out = sb
        .keyage()
        .args(["prompt", "--scope", "all"])
        .env("AWS_PROFILE", "carol")
        .run();
    assert_eq!(out.stdout, "key 100d!");

    // real shells
    for shell in ["bash", "zsh"] {
        let script =
            format!("eval \"$(keyage init {shell})\"\n:\necho \"seg=[$KEYAGE_SEGMENT]\"\n");
        let out = interactive(&sb, shell, &script, None);
        assert!(out.contains("key 100d! PROMPT> "), "{shell}: {out}");
        let out = interactive(&sb, shell, &script, Some("carol"));
        assert!(
            out.contains("seg=[]") && !out.contains("key 1"),
            "{shell}: {out}"
        );
    }
    let fish = "keyage init fish | source; fish_prompt; echo; echo \"seg=[$KEYAGE_SEGMENT]\"";
    let out = interactive(&sb, "fish", fish, None);
    assert!(out.starts_with("key 100d! "), "fish: {out}");
    let out = interactive(&sb, "fish", fish, Some("carol"));
    assert!(out.contains("seg=[]"), "fish: {out}");

    // The hook warns about the old key (no network: AWS_ENDPOINT_URL is not even set) …
    let repo = sb.path("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let git = |args: &[&str]| {
        let o = sb
            .command("git")
            .args(args)
            .current_dir(&repo)
            .env("GIT_CONFIG_GLOBAL", sb.path(".gitconfig"))
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    git(&["init", "-q"]);
    sb.keyage()
        .args(["install", "git-hook"])
        .current_dir(&repo)
        .run()
        .expect_code(0);
    std::fs::write(repo.join("a.txt"), "hello\n").unwrap();
    git(&["add", "a.txt"]);
    let (code, err) = git(&["commit", "-q", "-m", "a"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("getting old (key 100d!)"), "{err}");
    // … blocks with [hook] block_on_age …
    std::fs::create_dir_all(sb.path(".config/keyage")).unwrap();
    std::fs::write(
        sb.path(".config/keyage/config.toml"),
        "[hook]\nblock_on_age = true\n",
    )
    .unwrap();
    std::fs::write(repo.join("b.txt"), "hello\n").unwrap();
    git(&["add", "b.txt"]);
    let (code, err) = git(&["commit", "-q", "-m", "b"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("block_on_age"), "{err}");
    std::fs::remove_file(sb.path(".config/keyage/config.toml")).unwrap();
    // … and blocks the real secret of that key, masked.
    std::fs::write(repo.join("c.txt"), format!("s = {}\n", old.secret)).unwrap();
    git(&["add", "c.txt"]);
    let (code, err) = git(&["commit", "-q", "-m", "c"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("c.txt:1:5: your own secret access key"),
        "{err}"
    );
    assert!(!err.contains(&old.secret[4..]), "{err}");
}
