//! The agent's service files: the systemd unit passes `systemd-analyze verify`, the LaunchAgent
//! plist and the Task Scheduler XML are valid XML with the expected fields (xmllint), and
//! install then uninstall leaves no file behind (`--print` writes nothing). The service manager
//! is never reached: XDG_RUNTIME_DIR points at an empty folder and no session bus is set.

use std::path::{Path, PathBuf};
use std::process::Command;

use keyage::agent::install::{self, Os};
use keyage::env::Env;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_keyage"))
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn isolated(home: &Path) -> Env {
    let run = home.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    Env::from_pairs([
        ("HOME", home.to_str().unwrap()),
        ("XDG_CONFIG_HOME", home.join("cfg").to_str().unwrap()),
        ("XDG_STATE_HOME", home.join("state").to_str().unwrap()),
        ("XDG_RUNTIME_DIR", run.to_str().unwrap()),
        ("PATH", path.as_str()),
    ])
}

fn verify_unit(bin: &Path) {
    let d = tempfile::tempdir().unwrap();
    let unit = d.path().join("keyage-agent.service");
    std::fs::write(&unit, install::render_systemd(bin)).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("systemd-analyze is installed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "verify failed: {err}");
    assert!(!err.contains("keyage-agent.service"), "warnings: {err}");
}

#[test]
fn systemd_unit_verifies() {
    let text = install::render_systemd(&bin());
    assert!(text.contains("Restart=on-failure"));
    assert!(text.contains("WantedBy=default.target"));
    verify_unit(&bin());
    // A path with a space and a percent sign is quoted and escaped.
    let d = tempfile::tempdir().unwrap();
    let odd = d.path().join("my tools 100%");
    std::fs::create_dir_all(&odd).unwrap();
    let link = odd.join("keyage");
    std::os::unix::fs::symlink(bin(), &link).unwrap();
    verify_unit(&link);
}

fn xpath(file: &Path, expr: &str) -> String {
    let out = Command::new("xmllint")
        .arg("--xpath")
        .arg(expr)
        .arg(file)
        .output()
        .expect("xmllint is installed");
    assert!(
        out.status.success(),
        "{expr}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn plist_and_task_xml_parse_with_expected_fields() {
    let d = tempfile::tempdir().unwrap();
    let b = Path::new("/opt/a & b/keyage");
    let plist = d.path().join("dev.keyage.agent.plist");
    std::fs::write(&plist, install::render_launchd(b)).unwrap();
    let task = d.path().join("keyage-agent.xml");
    std::fs::write(&task, install::render_task(b)).unwrap();
    for f in [&plist, &task] {
        let out = Command::new("xmllint")
            .arg("--noout")
            .arg(f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let key =
        |k: &str, what: &str| format!("/plist/dict/key[.='{k}']/following-sibling::*[1]{what}");
    assert_eq!(
        xpath(&plist, &format!("string({})", key("Label", ""))),
        "dev.keyage.agent"
    );
    assert_eq!(
        xpath(&plist, &format!("name({})", key("RunAtLoad", ""))),
        "true"
    );
    assert_eq!(
        xpath(&plist, &format!("name({})", key("KeepAlive", ""))),
        "true"
    );
    assert_eq!(
        xpath(
            &plist,
            &format!("string({})", key("ProgramArguments", "/string[1]"))
        ),
        "/opt/a & b/keyage"
    );
    assert_eq!(
        xpath(
            &plist,
            &format!("string({})", key("ProgramArguments", "/string[2]"))
        ),
        "agent"
    );
    let t = |p: &str| {
        let steps: Vec<String> = p
            .split('/')
            .map(|s| format!("*[local-name()='{s}']"))
            .collect();
        format!("string(/{})", steps.join("/"))
    };
    assert_eq!(
        xpath(&task, &t("Task/Actions/Exec/Command")),
        "/opt/a & b/keyage"
    );
    assert_eq!(
        xpath(&task, &t("Task/Actions/Exec/Arguments")),
        "agent --once"
    );
    assert_eq!(
        xpath(&task, &t("Task/Triggers/LogonTrigger/Enabled")),
        "true"
    );
    assert_eq!(
        xpath(
            &task,
            &t("Task/Triggers/CalendarTrigger/ScheduleByDay/DaysInterval")
        ),
        "1"
    );
    assert_eq!(xpath(&task, &t("Task/Settings/StartWhenAvailable")), "true");
}

#[test]
fn install_then_uninstall_leaves_nothing() {
    for os in [Os::Linux, Os::MacOs, Os::Windows] {
        let d = tempfile::tempdir().unwrap();
        let env = isolated(d.path());
        let plan = install::plan(&env, os, &bin()).unwrap();
        assert!(
            plan.path.starts_with(d.path()),
            "{os:?}: {}",
            plan.path.display()
        );

        // --print writes nothing.
        assert_eq!(install::install_with(&env, os, &bin(), true).unwrap(), 0);
        assert!(files_under(d.path()).is_empty(), "{os:?}");

        // No service manager reachable: the file is written, exit 0 (the manual command is
        // printed on stderr).
        assert_eq!(install::install_with(&env, os, &bin(), false).unwrap(), 0);
        assert_eq!(files_under(d.path()), vec![plan.path.clone()], "{os:?}");
        // Installing twice is fine.
        assert_eq!(install::install_with(&env, os, &bin(), false).unwrap(), 0);

        assert_eq!(install::uninstall_with(&env, os, &bin()).unwrap(), 0);
        assert!(
            files_under(d.path()).is_empty(),
            "{os:?}: {:?}",
            files_under(d.path())
        );
        // Uninstalling again says there is nothing to remove.
        assert_eq!(install::uninstall_with(&env, os, &bin()).unwrap(), 0);
    }
}
