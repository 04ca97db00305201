//! The fixture corpus (tests/fixtures/credentials): every file renders back byte for byte, and
//! replacing a key changes only the id/secret value bytes of the profiles that held it.
//! Plus the write path's guarantees: conflict detection, symlinks, mode, lock, bad input.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use keyage::error::Kind;
use keyage::profiles::document::{Document, LineKind};
use keyage::profiles::{edit, Class, FileKind, Inventory};
use keyage::secret::{secret, ExposeSecret};
use support::{mode, set_mode, Sandbox};

const NEW_ID: &str = "AKIANEWKEY0000000001";
const NEW_SECRET: &str = "NewFAKEsecret+/fake0000000000000000000001";

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/credentials")
}

fn fixtures(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

fn kind_of(p: &Path) -> FileKind {
    match p.extension().and_then(|e| e.to_str()) {
        Some("config") => FileKind::Config,
        _ => FileKind::Credentials,
    }
}

#[test]
fn corpus_has_at_least_25_files() {
    assert!(fixtures(&corpus_dir()).len() >= 25);
}

#[test]
fn every_fixture_renders_back_byte_for_byte() {
    for f in fixtures(&corpus_dir()) {
        let bytes = std::fs::read(&f).unwrap();
        let doc = Document::parse_bytes(&bytes).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert_eq!(doc.render().as_bytes(), &bytes[..], "{}", f.display());
    }
}

/// Lines (1-based) whose value must change when `old` is replaced, by the documented rule,
/// computed from the old inventory (not from the edit code).
fn expected_lines(inv: &Inventory, kind: FileKind, doc: &Document, old: &str) -> BTreeSet<usize> {
    let old_secret = inv.secret_for(old).map(|s| s.expose_secret().to_string());
    let mut set = BTreeSet::new();
    for s in doc.sections() {
        let holds = doc
            .entries(s)
            .iter()
            .any(|e| e.key == "aws_access_key_id" && doc.value(e) == old);
        for e in doc.entries(s) {
            if e.key == "aws_access_key_id" && doc.value(e) == old {
                set.insert(e.line);
            }
            if holds
                && e.key == "aws_secret_access_key"
                && Some(doc.value(e).as_ref()) == old_secret.as_deref()
            {
                set.insert(e.line);
            }
        }
    }
    for p in &inv.profiles {
        if p.class == (Class::Static { key_id: old.into() }) {
            for s in &p.sources {
                if s.key == "aws_secret_access_key" && s.file_kind == kind {
                    set.insert(s.line);
                }
            }
        }
    }
    set
}

/// Checks that `after` equals `before` except for the value span of the given lines, which
/// now hold the new id / secret.
fn assert_only_values_changed(
    before: &Document,
    after: &[u8],
    lines: &BTreeSet<usize>,
    what: &str,
) {
    let after = Document::parse_bytes(after).unwrap();
    assert_eq!(before.lines().len(), after.lines().len(), "{what}");
    assert_eq!(before.has_bom(), after.has_bom(), "{what}");
    for (i, (b, a)) in before.lines().iter().zip(after.lines()).enumerate() {
        let n = i + 1;
        assert_eq!(b.eol, a.eol, "{what}: line {n} ending");
        let old_text = before.slice(&b.span);
        let new_text = after.slice(&a.span);
        if !lines.contains(&n) {
            assert_eq!(old_text, new_text, "{what}: line {n} must not change");
            continue;
        }
        let LineKind::Setting { section, entry } = b.kind else {
            panic!("{what}: line {n} is not a setting");
        };
        let e = before.entry(section, entry).unwrap();
        let value = if e.key == "aws_access_key_id" {
            NEW_ID
        } else {
            NEW_SECRET
        };
        let rel = e.value_span.start - b.span.start..e.value_span.end - b.span.start;
        let expect = format!(
            "{}{}{}",
            &old_text[..rel.start],
            value,
            &old_text[rel.end..]
        );
        assert_eq!(new_text, expect, "{what}: line {n}");
    }
}

#[test]
fn replacing_each_key_changes_only_its_values_in_every_profile() {
    let mut replaced = 0;
    for f in fixtures(&corpus_dir()) {
        let bytes = std::fs::read(&f).unwrap();
        let kind = kind_of(&f);
        let groups = {
            let sb = Sandbox::new();
            sb.write_aws(kind, &bytes);
            sb.inventory().keys()
        };
        for g in groups {
            let what = format!("{} / {}", f.display(), g.key_id);
            let sb = Sandbox::new();
            let path = sb.write_aws(kind, &bytes);
            let inv = sb.inventory();
            let before = inv.file(kind).doc.clone().unwrap();
            let lines = expected_lines(&inv, kind, &before, &g.key_id);
            let written = edit::replace_key(&inv, &g.key_id, NEW_ID, &secret(NEW_SECRET)).unwrap();
            assert_eq!(written, vec![path.clone()], "{what}");
            let after = std::fs::read(&path).unwrap();
            assert_only_values_changed(&before, &after, &lines, &what);
            // Every profile that held the key now holds the new one; the rest are unchanged.
            let inv2 = sb.inventory();
            for p in &inv.profiles {
                let q = inv2.profile(&p.name).unwrap();
                if p.class
                    == (Class::Static {
                        key_id: g.key_id.clone(),
                    })
                {
                    assert_eq!(
                        q.class,
                        Class::Static {
                            key_id: NEW_ID.into()
                        },
                        "{what}: {}",
                        p.name
                    );
                } else {
                    assert_eq!(q.class, p.class, "{what}: {}", p.name);
                }
            }
            assert_eq!(
                inv2.secret_for(NEW_ID).unwrap().expose_secret(),
                NEW_SECRET,
                "{what}"
            );
            assert!(inv2.keys().iter().all(|k| k.key_id != g.key_id), "{what}");
            assert_eq!(mode(&path), 0o600, "{what}");
            replaced += 1;
        }
    }
    assert!(replaced >= 25, "only {replaced} replacements exercised");
}

#[test]
fn shared_key_is_one_group_with_file_and_line() {
    let sb = Sandbox::new();
    sb.write_aws(
        FileKind::Credentials,
        &std::fs::read(corpus_dir().join("09-shared-key.credentials")).unwrap(),
    );
    let inv = sb.inventory();
    let keys = inv.keys();
    assert_eq!(keys[0].key_id, "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(keys[0].profiles, vec!["default", "work"]);
    let w = inv.profile("work").unwrap();
    assert_eq!((w.file_kind, w.line), (FileKind::Credentials, 6));
    assert_eq!(w.region.as_deref(), Some("eu-west-1"));
    assert!(inv.profile("default").unwrap().current);
}

#[test]
fn key_in_both_files_is_replaced_in_both() {
    let sb = Sandbox::new();
    let c = sb.write_aws(
        FileKind::Credentials,
        b"[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = s1\n",
    );
    let k = sb.write_aws(
        FileKind::Config,
        b"[profile other]\nregion = x\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = s1\n",
    );
    let inv = sb.inventory();
    assert_eq!(inv.keys()[0].profiles, vec!["default", "other"]);
    let mut w =
        edit::replace_key(&inv, "AKIAIOSFODNN7EXAMPLE", NEW_ID, &secret(NEW_SECRET)).unwrap();
    w.sort();
    let mut expect = vec![c.clone(), k.clone()];
    expect.sort();
    assert_eq!(w, expect);
    assert_eq!(
        std::fs::read_to_string(&k).unwrap(),
        format!("[profile other]\nregion = x\naws_access_key_id = {NEW_ID}\naws_secret_access_key = {NEW_SECRET}\n")
    );
    // Not found: nothing to write.
    let inv = sb.inventory();
    assert!(
        edit::replace_key(&inv, "AKIAIOSFODNN7EXAMPLE", NEW_ID, &secret(NEW_SECRET))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_file_changed_after_loading_is_a_conflict_and_nothing_is_written() {
    let sb = Sandbox::new();
    let c = sb.write_aws(
        FileKind::Credentials,
        b"[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = s1\n",
    );
    let k = sb.write_aws(
        FileKind::Config,
        b"[profile x]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = s1\n",
    );
    let inv = sb.inventory();
    // Another tool rewrites the config file between our read and our write.
    let changed = b"[profile x]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = s1\nregion = y\n";
    std::fs::write(&k, changed).unwrap();
    let before_c = std::fs::read(&c).unwrap();
    let err =
        edit::replace_key(&inv, "AKIAIOSFODNN7EXAMPLE", NEW_ID, &secret(NEW_SECRET)).unwrap_err();
    assert_eq!(err.kind, Kind::Conflict, "{err}");
    assert!(
        err.message.contains("changed since keyage read it"),
        "{err}"
    );
    assert_eq!(std::fs::read(&k).unwrap(), changed);
    assert_eq!(
        std::fs::read(&c).unwrap(),
        before_c,
        "the other file is not written either"
    );
    let leftovers: Vec<_> = std::fs::read_dir(sb.path(".aws"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_symlinked_file_is_written_at_its_target_and_stays_a_link() {
    let sb = Sandbox::new();
    let real_dir = sb.root().join("dotfiles");
    std::fs::create_dir(&real_dir).unwrap();
    let real = real_dir.join("aws-credentials");
    std::fs::write(
        &real,
        b"[default]\naws_access_key_id=AKIAIOSFODNN7EXAMPLE\naws_secret_access_key=s1\n",
    )
    .unwrap();
    set_mode(&real, 0o600);
    let link = sb.aws_file(FileKind::Credentials);
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let inv = sb.inventory();
    let w = edit::replace_key(&inv, "AKIAIOSFODNN7EXAMPLE", NEW_ID, &secret(NEW_SECRET)).unwrap();
    assert_eq!(w, vec![link.clone()]);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_link(&link).unwrap(), real);
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        format!("[default]\naws_access_key_id={NEW_ID}\naws_secret_access_key={NEW_SECRET}\n")
    );
    // Issue 14 item 8: the writer's lock is on the file itself, so no lock file is left
    // beside it (this assertion used to check that `.aws-credentials.keyage.lock` existed).
    assert!(!real_dir.join(".aws-credentials.keyage.lock").exists());
    assert_eq!(std::fs::read_dir(&real_dir).unwrap().count(), 1);
}

#[test]
fn mode_is_kept_and_loose_modes_are_warned_about() {
    let sb = Sandbox::new();
    let c = sb.write_aws(
        FileKind::Credentials,
        b"[default]\naws_access_key_id=AKIAIOSFODNN7EXAMPLE\naws_secret_access_key=s1\n",
    );
    set_mode(&c, 0o640);
    let inv = sb.inventory();
    let fix = format!("chmod 600 {}", c.display());
    assert!(
        inv.warnings.iter().any(|w| w.contains(&fix)),
        "{:?}",
        inv.warnings
    );
    edit::replace_key(&inv, "AKIAIOSFODNN7EXAMPLE", NEW_ID, &secret(NEW_SECRET)).unwrap();
    assert_eq!(mode(&c), 0o640);
    set_mode(&c, 0o600);
    assert!(!sb.inventory().warnings.iter().any(|w| w.contains("chmod")));
}

#[test]
fn a_held_lock_makes_the_writer_wait() {
    use fs4::fs_std::FileExt;
    let sb = Sandbox::new();
    let c = sb.write_aws(
        FileKind::Credentials,
        b"[default]\naws_access_key_id=AKIAIOSFODNN7EXAMPLE\naws_secret_access_key=s1\n",
    );
    let inv = sb.inventory();
    // The lock is on the credentials file itself (nothing is left in ~/.aws).
    let lock = std::fs::File::open(edit::lock_path(&c.canonicalize().unwrap())).unwrap();
    assert!(lock.try_lock_exclusive().unwrap());
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(lock);
    });
    let start = std::time::Instant::now();
    edit::replace_key(&inv, "AKIAIOSFODNN7EXAMPLE", NEW_ID, &secret(NEW_SECRET)).unwrap();
    assert!(start.elapsed() >= std::time::Duration::from_millis(250));
    t.join().unwrap();
}

#[test]
fn bad_files_name_file_and_line_and_are_not_written() {
    let bad = fixtures(&corpus_dir().join("bad"));
    assert!(bad.len() >= 6);
    for f in bad {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let line: usize = name
            .split(".L")
            .nth(1)
            .unwrap()
            .split('.')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let bytes = std::fs::read(&f).unwrap();
        let sb = Sandbox::new();
        let p = sb.write_aws(kind_of(&f), &bytes);
        let err = Inventory::load(&sb.env()).unwrap_err();
        assert_eq!(err.kind, Kind::Input, "{name}: {err}");
        assert!(
            err.message.starts_with(&format!("{}:{line}:", p.display())),
            "{name}: {err}"
        );
        assert!(err.hint.is_some(), "{name}");
        // The message never quotes the file's content (it may be a secret).
        assert!(!err.to_string().contains("EXAMPLEKEY"), "{name}: {err}");
        assert_eq!(std::fs::read(&p).unwrap(), bytes);
    }
}

#[test]
fn missing_files_are_fine_and_a_folder_is_an_error() {
    let sb = Sandbox::new();
    let inv = sb.inventory();
    assert!(inv.profiles.is_empty());
    assert!(inv
        .credentials
        .missing_note()
        .unwrap()
        .starts_with("no credentials file at "));
    std::fs::create_dir(sb.aws_file(FileKind::Config)).unwrap();
    let err = Inventory::load(&sb.env()).unwrap_err();
    assert_eq!(err.kind, Kind::Input);
    assert!(err.message.contains("is a folder"), "{err}");
}

#[test]
fn an_unreadable_file_is_an_error_with_a_fix() {
    if unsafe { libc::geteuid() } == 0 {
        // root reads anything; the permission check cannot be exercised.
        return;
    }
    let sb = Sandbox::new();
    let c = sb.write_aws(FileKind::Credentials, b"[default]\n");
    set_mode(&c, 0o000);
    let err = Inventory::load(&sb.env()).unwrap_err();
    assert!(err.hint.unwrap().contains("chmod"));
}
