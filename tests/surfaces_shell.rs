//! End to end through the binary with real shells: `keyage init` in bash, zsh and fish (and
//! PowerShell when installed) shows the segment of an expired key and nothing for a fresh one;
//! shellcheck passes; strace proves bash and zsh fork nothing per prompt; `keyage prompt`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::{text, Sandbox};

/// Profiles whose segment file names are escaped (`segment::file_name`: `%XX` for each byte
/// but `[A-Za-z0-9-]`, and `.`/`_` after the first), with their segments.
const ESCAPED: &[(&str, &str)] = &[
    ("odd name", "key 80d"),
    (".hidden", "key 81d"),
    ("a/b~c", "key 82d"),
    ("_x", "key 83d"),
    ("\u{e9}t\u{e9}", "key 84d"),
    ("x%y", "key 85d"),
];

/// The shared sandbox with two keys (`default`, `fresh`) and the prompt folder.
fn shell_sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.write_credentials(
        "[default]\naws_access_key_id = AKIAZ7QW3RTYU2IOPLKJ\naws_secret_access_key = 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\n\
             [fresh]\naws_access_key_id = AKIAZ7QW3RTYU2IOPLKK\naws_secret_access_key = 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\n",
    );
    std::fs::create_dir_all(sb.seg_dir()).unwrap();
    sb
}

/// The shell tests' helpers on the shared sandbox.
trait ShellSandbox {
    fn seg_dir(&self) -> PathBuf;
    fn segments(&self);
    fn cmd(&self, prog: &str) -> Command;
    fn run_keyage(&self, args: &[&str]) -> Output;
    fn init(&self, shell: &str, extra: &[&str]) -> String;
    fn interactive(&self, c: Command, script: &str, profile: Option<&str>) -> String;
}

impl ShellSandbox for Sandbox {
    fn seg_dir(&self) -> PathBuf {
        self.home().join(".local/state/keyage/prompt")
    }
    /// Writes segment files in the format of `segment::write_all` (the real writer is used
    /// in `real_writer_status_then_shells`): `default` expired, `fresh` empty, plus `_meta`.
    fn segments(&self) {
        // make sure the segment is newer than the credentials file
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(self.seg_dir().join("default"), "key 92d!\n").unwrap();
        std::fs::write(self.seg_dir().join("fresh"), "").unwrap();
        for (name, seg) in ESCAPED {
            let file = keyage::surfaces::segment::file_name(name);
            std::fs::write(self.seg_dir().join(file), format!("{seg}\n")).unwrap();
        }
        std::fs::write(self.seg_dir().join("_all"), "key 92d!\n").unwrap();
        let mtime = |p: &Path| match std::fs::metadata(p).and_then(|m| m.modified()) {
            Ok(t) => {
                let d = t.duration_since(std::time::UNIX_EPOCH).unwrap();
                format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
            }
            Err(_) => "missing".to_string(),
        };
        let creds = self.home().join(".aws/credentials");
        let config = self.home().join(".aws/config");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        std::fs::write(
            self.seg_dir().join("_meta"),
            format!(
                "version=1\nwritten_at={now}\ncredentials_file={}\ncredentials_mtime={}\nconfig_file={}\nconfig_mtime={}\n",
                creds.display(),
                mtime(&creds),
                config.display(),
                mtime(&config)
            ),
        )
        .unwrap();
    }
    /// `prog` in the sandbox's environment (as these tests always ran it: no locale).
    fn cmd(&self, prog: &str) -> Command {
        let mut c = self.command(prog);
        c.env_remove("LANG").stdin(Stdio::inherit());
        c
    }
    fn run_keyage(&self, args: &[&str]) -> Output {
        self.cmd(env!("CARGO_BIN_EXE_keyage"))
            .args(args)
            .output()
            .unwrap()
    }
    fn init(&self, shell: &str, extra: &[&str]) -> String {
        let mut args = vec!["init", shell];
        args.extend_from_slice(extra);
        let o = self.run_keyage(&args);
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout)
    }
    /// Runs an interactive shell reading `script` from stdin; returns (stdout+stderr).
    fn interactive(&self, mut c: Command, script: &str, profile: Option<&str>) -> String {
        if let Some(p) = profile {
            c.env("AWS_PROFILE", p);
        }
        let out = run_with_stdin(c, script);
        format!("{}{}", text(&out.stdout), text(&out.stderr))
    }
}

fn run_with_stdin(mut c: Command, script: &str) -> Output {
    use std::io::Write;
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn have(prog: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {prog}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

const PROMPTS: &str = ":\n:\n:\necho \"seg=[$KEYAGE_SEGMENT]\"\n";

fn bash(sb: &Sandbox) -> Command {
    let mut c = sb.cmd("bash");
    c.args(["--norc", "--noprofile", "-i"])
        .env("PS1", "PROMPT> ");
    c
}

fn zsh(sb: &Sandbox) -> Command {
    let mut c = sb.cmd("zsh");
    c.args(["-f", "-i"]).env("PS1", "PROMPT> ");
    c
}

#[test]
fn bash_and_zsh_show_expired_and_nothing_for_fresh() {
    let sb = shell_sandbox();
    sb.segments();
    for (name, mk) in [("bash", bash as fn(&Sandbox) -> Command), ("zsh", zsh)] {
        let script = format!("eval \"$(keyage init {name})\"\n{PROMPTS}");
        let out = sb.interactive(mk(&sb), &script, None);
        assert!(out.contains("key 92d! PROMPT> "), "{name}: {out}");
        assert!(out.contains("seg=[key 92d!]"), "{name}: {out}");
        let out = sb.interactive(mk(&sb), &script, Some("fresh"));
        assert!(!out.contains("key 9"), "{name}: {out}");
        assert!(out.contains("seg=[]"), "{name}: {out}");
        // profiles whose file names are escaped (segment::file_name)
        for (profile, seg) in ESCAPED {
            let out = sb.interactive(mk(&sb), &script, Some(profile));
            assert!(
                out.contains(&format!("seg=[{seg}]")),
                "{name} {profile}: {out}"
            );
        }
        // a profile with no segment file at all
        let out = sb.interactive(mk(&sb), &script, Some("nosuch"));
        assert!(
            out.contains("seg=[]") && !out.contains("key 9"),
            "{name}: {out}"
        );
        // credentials changed after the segment was written: show nothing
        let script2 = format!(
            "eval \"$(keyage init {name})\"\n:\necho \"a=[$KEYAGE_SEGMENT]\"\ntouch -d '+1 hour' \"$AWS_SHARED_CREDENTIALS_FILE\"\n:\necho \"b=[$KEYAGE_SEGMENT]\"\n"
        );
        let out = sb.interactive(mk(&sb), &script2, None);
        assert!(
            out.contains("a=[key 92d!]") && out.contains("b=[]"),
            "{name}: {out}"
        );
        let past = std::time::SystemTime::now() - Duration::from_secs(3600);
        let f = std::fs::File::options()
            .write(true)
            .open(sb.home().join(".aws/credentials"))
            .unwrap();
        f.set_modified(past).unwrap();
        sb.segments();
        // --no-prompt leaves PS1 alone but keeps the variable
        let script = format!("eval \"$(keyage init {name} --no-prompt)\"\n{PROMPTS}");
        let out = sb.interactive(mk(&sb), &script, None);
        assert!(!out.contains("key 92d! PROMPT> "), "{name}: {out}");
        assert!(out.contains("seg=[key 92d!]"), "{name}: {out}");
    }
}

#[test]
fn fish_shows_expired_and_nothing_for_fresh() {
    if !have("fish") {
        eprintln!("fish not installed: skipped");
        return;
    }
    let sb = shell_sandbox();
    sb.segments();
    // fish's prompt and segment for AWS_PROFILE `profile`, in the sandbox's locale or C.UTF-8.
    let run_in = |profile: Option<&str>, utf8: bool| {
        let mut c = sb.cmd("fish");
        c.args([
            "--no-config",
            "-c",
            "keyage init fish | source; fish_prompt; echo; echo \"seg=[$KEYAGE_SEGMENT]\"",
        ]);
        if utf8 {
            c.env("LANG", "C.UTF-8");
        }
        if let Some(p) = profile {
            c.env("AWS_PROFILE", p);
        }
        let o = c.output().unwrap();
        format!("{}{}", text(&o.stdout), text(&o.stderr))
    };
    let run = |profile: Option<&str>| run_in(profile, false);
    let out = run(None);
    assert!(out.starts_with("key 92d! "), "{out}");
    assert!(out.contains("seg=[key 92d!]"), "{out}");
    let out = run(Some("fresh"));
    assert!(!out.contains("key 9") && out.contains("seg=[]"), "{out}");
    // profiles whose file names are escaped (segment::file_name), in a UTF-8 locale and (ASCII
    // names only) in the C locale: there fish 3 re-encodes non-ASCII environment values, so
    // the aws CLI and keyage started from that fish see another name as well.
    for utf8 in [true, false] {
        for (profile, seg) in ESCAPED.iter().filter(|(p, _)| utf8 || p.is_ascii()) {
            let out = run_in(Some(profile), utf8);
            assert!(out.starts_with(&format!("{seg} ")), "{profile}: {out}");
            assert!(out.contains(&format!("seg=[{seg}]")), "{profile}: {out}");
        }
    }
    let out = run(Some("no such"));
    assert!(out.contains("seg=[]") && !out.contains("key "), "{out}");
}

#[test]
fn powershell_if_available() {
    if !have("pwsh") {
        eprintln!("pwsh not installed: skipped");
        return;
    }
    let sb = shell_sandbox();
    sb.segments();
    let mut c = sb.cmd("pwsh");
    c.args([
        "-NoProfile",
        "-Command",
        "Invoke-Expression (& keyage init powershell | Out-String); prompt",
    ]);
    let o = c.output().unwrap();
    assert!(
        text(&o.stdout).starts_with("key 92d! "),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn shellcheck_passes_on_bash_and_zsh_as_bash() {
    if !have("shellcheck") {
        eprintln!("shellcheck not installed: skipped");
        return;
    }
    let sb = shell_sandbox();
    for (shell, extra) in [
        ("bash", &[][..]),
        ("bash", &["--no-prompt"][..]),
        ("zsh", &[][..]),
        ("zsh", &["--no-prompt"][..]),
    ] {
        let code = sb.init(shell, extra);
        let f = sb.root().join(format!("init-{shell}-{}.sh", extra.len()));
        std::fs::write(&f, &code).unwrap();
        let o = Command::new("shellcheck")
            .args(["-s", "bash"])
            .arg(&f)
            .output()
            .unwrap();
        assert!(o.status.success(), "{shell} {extra:?}: {}", text(&o.stdout));
    }
}

/// Counts process creations in an strace log.
fn forks(log: &str) -> usize {
    log.lines()
        .filter(|l| {
            (l.contains("clone(")
                || l.contains("clone3(")
                || l.contains("fork(")
                || l.contains("vfork("))
                && !l.contains("CLONE_THREAD")
                && !l.contains("resumed>")
        })
        .count()
}

#[test]
fn bash_and_zsh_fork_nothing_per_prompt() {
    if !have("strace") {
        eprintln!("strace not installed: skipped");
        return;
    }
    let sb = shell_sandbox();
    sb.segments();
    for name in ["bash", "zsh"] {
        let mut counts = Vec::new();
        for prompts in [2usize, 12] {
            // The init code is produced before the traced shell starts, so the only process
            // creations left would be per prompt.
            let code = sb.root().join(format!("init.{name}"));
            std::fs::write(&code, sb.init(name, &[])).unwrap();
            let script = format!(
                "source '{}'\n{}echo \"seg=[$KEYAGE_SEGMENT]\"\n",
                code.display(),
                ":\n".repeat(prompts)
            );
            let log = sb.root().join(format!("strace-{name}-{prompts}.log"));
            let mut c = sb.cmd("strace");
            c.args([
                "-f",
                "-qq",
                "-e",
                "trace=clone,clone3,fork,vfork,execve",
                "-o",
            ])
            .arg(&log)
            .arg(if name == "bash" {
                "/bin/bash"
            } else {
                "/bin/zsh"
            });
            if name == "bash" {
                c.args(["--norc", "--noprofile", "-i"]);
            } else {
                c.args(["-f", "-i"]);
            }
            c.env("PS1", "PROMPT> ");
            let o = run_with_stdin(c, &script);
            let out = format!("{}{}", text(&o.stdout), text(&o.stderr));
            assert!(
                out.matches("key 92d! PROMPT> ").count() > prompts,
                "{name}: {out}"
            );
            let log = std::fs::read_to_string(&log).unwrap();
            counts.push(forks(&log));
        }
        assert_eq!(
            counts,
            vec![0, 0],
            "{name}: process creations with 2 and 12 prompts"
        );
    }
}

#[test]
fn prompt_command_reads_segments_only() {
    let sb = shell_sandbox();
    // nothing written yet: nothing printed, exit 0
    let o = sb.run_keyage(&["prompt"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    sb.segments();
    let o = sb.run_keyage(&["prompt"]);
    assert_eq!(text(&o.stdout), "key 92d!");
    let o = sb
        .cmd(env!("CARGO_BIN_EXE_keyage"))
        .args(["prompt"])
        .env("AWS_PROFILE", "fresh")
        .output()
        .unwrap();
    assert!(o.stdout.is_empty());
    let o = sb
        .cmd(env!("CARGO_BIN_EXE_keyage"))
        .args(["prompt", "--scope", "all"])
        .env("AWS_PROFILE", "fresh")
        .output()
        .unwrap();
    assert_eq!(text(&o.stdout), "key 92d!");
    // the config's scope is the default
    std::fs::create_dir_all(sb.home().join(".config/keyage")).unwrap();
    std::fs::write(
        sb.home().join(".config/keyage/config.toml"),
        "[prompt]\nscope = \"all\"\n",
    )
    .unwrap();
    let o = sb
        .cmd(env!("CARGO_BIN_EXE_keyage"))
        .args(["prompt"])
        .env("AWS_PROFILE", "fresh")
        .output()
        .unwrap();
    assert_eq!(text(&o.stdout), "key 92d!");
    // credentials changed after the segment: nothing
    std::thread::sleep(Duration::from_millis(20));
    let c = sb.home().join(".aws/credentials");
    std::fs::write(&c, std::fs::read(&c).unwrap()).unwrap();
    let o = sb.run_keyage(&["prompt"]);
    assert!(o.stdout.is_empty() && o.stderr.is_empty());
    // no network, no async runtime: the process makes no sockets and starts no threads
    if have("strace") {
        sb.segments();
        let log = sb.root().join("prompt.strace");
        let o = sb
            .cmd("strace")
            .args(["-f", "-qq", "-e", "trace=socket,connect,clone,clone3", "-o"])
            .arg(&log)
            .arg(env!("CARGO_BIN_EXE_keyage"))
            .arg("prompt")
            .output()
            .unwrap();
        assert_eq!(text(&o.stdout), "key 92d!");
        let log = std::fs::read_to_string(&log).unwrap();
        assert!(
            log.trim().is_empty(),
            "prompt made syscalls it should not: {log}"
        );
    }
}
