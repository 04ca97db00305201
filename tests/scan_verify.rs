//! `keyage scan --verify` against moto: a live pair is VALID with its account, a deleted
//! key's pair is invalid, the secret is never printed, and plain `scan` makes no call.

mod support;

use support::*;

#[test]
fn verify_checks_found_pairs_live_and_never_prints_secrets() {
    let moto = Moto::start();
    let live = moto.create_user("alice");
    let dead = moto.create_key("alice");
    moto.delete_key(&dead.id);
    moto.enable_auth();
    let sb = Sandbox::new();
    // The user's own files hold neither key: these are copies found in a project.
    sb.write_credentials("");
    let proj = sb.path("proj");
    std::fs::create_dir_all(&proj).unwrap();
    std::fs::write(
        proj.join("live.env"),
        format!(
            "AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\n",
            live.id, live.secret
        ),
    )
    .unwrap();
    std::fs::write(
        proj.join("old.csv"),
        format!(
            "Access key ID,Secret access key\n{},{}\n",
            dead.id, dead.secret
        ),
    )
    .unwrap();
    let p = proj.to_str().unwrap();

    // Without --verify: no network (the endpoint is not even given).
    let out = sb.keyage().args(["scan", "--json", p]).run();
    out.expect_code(3);
    let v = out.json();
    assert!(v.get("verified").is_none());
    let f = v["findings"].as_array().unwrap();
    assert!(f.iter().any(|x| x["kind"] == "secret_with_context"), "{v}");
    // moto makes key ids for account 123456789012; keyage decodes that offline.
    assert!(f.iter().any(|x| x["account"] == "123456789012"), "{v}");

    let out = sb.keyage().args(["scan", "--verify", p]).moto(&moto).run();
    out.expect_code(3);
    let all = format!("{}{}", out.stdout, out.stderr);
    for s in [&live.secret, &dead.secret] {
        assert!(!all.contains(s.as_str()), "secret leaked: {all}");
        assert!(!all.contains(&s[4..]), "secret part leaked: {all}");
    }
    let live_masked = format!("{}…{}", &live.id[..4], &live.id[16..]);
    let dead_masked = format!("{}…{}", &dead.id[..4], &dead.id[16..]);
    let line = |id: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(&format!("verify {id}")))
            .unwrap_or_else(|| panic!("no verify line for {id}: {all}"))
            .to_string()
    };
    let l = line(&live_masked);
    assert!(l.contains("VALID") && l.contains("123456789012"), "{l}");
    assert!(l.contains("live.env:2:23"), "{l}");
    let l = line(&dead_masked);
    assert!(
        l.contains("invalid") && l.contains("InvalidClientTokenId"),
        "{l}"
    );

    let out = sb
        .keyage()
        .args(["scan", "--verify", "--json", p])
        .moto(&moto)
        .run();
    let v = out.json();
    let ver = v["verified"].as_array().unwrap();
    assert_eq!(ver.len(), 2, "{v}");
    assert!(ver
        .iter()
        .any(|x| x["verdict"] == "valid" && x["account"] == "123456789012"));
    assert!(ver.iter().any(|x| x["verdict"] == "invalid"));
}
