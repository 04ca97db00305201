//! Rotation follow-ups through the binary, against moto (authentication mode) and a real
//! gnome-keyring: finalize after a spare is deleted (#14.1), `finalize --profile nosuch` and
//! `backout` without a terminal (#14.8), the preflight (#13.3, #13.7) and the summary's
//! "what else to do" (#14.11).

mod support;

use support::rotating::{start, Rig, User};
use support::{KeyageCommand, Out};

fn run(t: &Rig, u: &User, args: &[&str]) -> Out {
    let out = t.kg(u).args(args).run();
    for s in [&u.key.secret] {
        assert!(
            !out.stdout.contains(s.as_str()) && !out.stderr.contains(s.as_str()),
            "a secret leaked in `keyage {}`",
            args.join(" ")
        );
    }
    out
}

fn pending_old_keys(t: &Rig, u: &User) -> Vec<String> {
    let j = run(t, u, &["status", "--json", "--offline"]).json();
    j["pending_finalize"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| p["old_key_id"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn finalize_after_the_spare_is_deleted() {
    let t = start();
    let u = t.user("spare");
    let a = u.key.id.clone();
    // A→B, backout (B inactive, waiting for finalize), then A→C deleting the spare B.
    run(&t, &u, &["rotate-self", "--yes"]).expect_code(0);
    let b = u.files_key();
    run(&t, &u, &["backout", "--yes"]).expect_code(0);
    assert_eq!(u.files_key(), a);
    assert_eq!(pending_old_keys(&t, &u), vec![b.clone()]);
    let stale_list = u.state("pending-finalize.json");
    let out = run(&t, &u, &["rotate-self", "--yes", "--delete-inactive-spare"]);
    out.expect_code(0);
    let c = u.files_key();
    assert!(c != a && c != b);
    assert!(!t.moto.admin_keys("spare").iter().any(|k| k.key_id == b));
    // The deleted B no longer waits for finalize; status and backout agree on A→C.
    assert_eq!(pending_old_keys(&t, &u), vec![a.clone()]);
    assert!(!u.state("pending-finalize.json").contains(&b));
    assert_eq!(t.desk.secret_tool_lookup(&b), None, "B's keyring copy gone");

    // A pending list left by an older keyage (B→A still listed) is handled too: acting as A
    // (inactive) fails, so the key that replaced it (C) acts, and the gone B is dropped.
    let now = u.state("pending-finalize.json");
    let mut list: serde_json::Value = serde_json::from_str(&now).unwrap();
    let old: serde_json::Value = serde_json::from_str(&stale_list).unwrap();
    list["pending"]
        .as_array_mut()
        .unwrap()
        .push(old["pending"][0].clone());
    std::fs::write(
        u.sb.path(".local/state/keyage/pending-finalize.json"),
        serde_json::to_vec(&list).unwrap(),
    )
    .unwrap();
    t.moto.set_last_used(&a, Some(3));
    let out = run(&t, &u, &["finalize", "--force"]);
    out.expect_code(0);
    assert!(
        !out.stderr.contains("InvalidClientTokenId"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains(&format!("deleted old key {a}")),
        "{}",
        out.stdout
    );
    assert_eq!(pending_old_keys(&t, &u), Vec::<String>::new());
    let keys = t.moto.admin_keys("spare");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].key_id, c);
    // Nothing pending, nothing to back out: they agree.
    let out = run(&t, &u, &["backout", "--yes"]);
    out.expect_code(1);
    assert!(out.stderr.contains("no rotation"), "{}", out.stderr);
    run(&t, &u, &["finalize"]).expect_code(0);
}

#[test]
fn finalize_of_an_unknown_profile_and_backout_without_a_terminal() {
    let t = start();
    let u = t.user("usage");
    let out = run(&t, &u, &["finalize", "--profile", "nosuch"]);
    out.expect_code(2);
    assert!(out.stderr.contains("nosuch"), "{}", out.stderr);
    run(&t, &u, &["status", "--profile", "nosuch"]).expect_code(2);
    run(&t, &u, &["rotate-self", "--yes"]).expect_code(0);
    let rotated = u.sb.read(".aws/credentials");
    // No terminal, no --yes: refused like rotate-self, nothing changed.
    let out = run(&t, &u, &["backout"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("no terminal") && out.stderr.contains("--yes"),
        "{}",
        out.stderr
    );
    assert_eq!(u.sb.read(".aws/credentials"), rotated);
    run(&t, &u, &["backout", "--yes"]).expect_code(0);
    assert_eq!(u.sb.read(".aws/credentials"), u.before);
}
