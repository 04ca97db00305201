//! Property tests: parse→render is the identity (arbitrary strings and generated ini-like
//! files), and a key replacement changes only the intended value ranges.

use proptest::prelude::*;

use std::collections::BTreeMap;

use keyage::profiles::document::Document;
use keyage::profiles::edit;
use keyage::profiles::{Class, Inventory};

const NEW_ID: &str = "AKIANEWKEY0000000001";
const NEW_SECRET: &str = "NewFAKEsecret+/fake0000000000000000000001";
const IDS: [&str; 3] = [
    "AKIAIOSFODNN7EXAMPLE",
    "AKIAI44QH8DHBEXAMPLE",
    "AKIAEXAMPLE000000003",
];
const SECRETS: [&str; 3] = ["s3cretONE/+", "s3cretTWO/+", "s3cretTHREE/+"];

fn eol() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("\n"), Just("\r\n")]
}
fn ws() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(""), Just(" "), Just("  "), Just("\t")]
}
fn comment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[#;][ -~é✓]{0,12}".prop_map(|c| format!(" {c}")),
    ]
}

/// One line of an ini-like file (may be invalid: the property then only checks identity).
fn any_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{1,8}".prop_map(|n| format!("[{n}]")),
        "[a-z]{1,8}".prop_map(|n| format!("[profile {n}]")),
        ("[a-zA-Z_]{1,10}", ws(), ws(), "[ -~]{0,20}")
            .prop_map(|(k, a, b, v)| format!("{k}{a}={b}{v}")),
        "[#;][ -~]{0,20}".prop_map(|c| c),
        ws().prop_map(str::to_string),
        ("[ \t]{1,3}", "[a-z_]{1,8}", "[ -~]{0,10}").prop_map(|(i, k, v)| format!("{i}{k} = {v}")),
        "[\\PC]{0,20}",
    ]
}

fn ini_like() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        prop::collection::vec((any_line(), eol()), 0..30),
        any::<bool>(),
    )
        .prop_map(|(bom, lines, final_eol)| {
            let mut s = String::new();
            if bom {
                s.push('\u{feff}');
            }
            let n = lines.len();
            for (i, (l, e)) in lines.into_iter().enumerate() {
                s.push_str(&l);
                if i + 1 < n || final_eol {
                    s.push_str(e);
                }
            }
            s
        })
}

/// A valid credentials file: profiles holding one of three keys, in varied formatting.
fn credentials_file() -> impl Strategy<Value = String> {
    let profile = (
        0usize..3,
        ws(),
        ws(),
        comment(),
        eol(),
        any::<bool>(),
        any::<bool>(),
        "[a-z]{1,6}",
    );
    prop::collection::vec(profile, 1..12).prop_map(|ps| {
        let mut s = String::from("# generated\n");
        for (i, (k, a, b, c, e, upper, extra, name)) in ps.into_iter().enumerate() {
            let (id_key, sec_key) = if upper {
                ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
            } else {
                ("aws_access_key_id", "aws_secret_access_key")
            };
            s.push_str(&format!("[{name}{i}]{c}{e}"));
            s.push_str(&format!("{id_key}{a}={b}{}{c}{e}", IDS[k]));
            if extra {
                s.push_str(&format!("region = eu-west-1{e}; note{e}{e}"));
            }
            s.push_str(&format!("{sec_key}{b}={a}{}{e}", SECRETS[k]));
        }
        s
    })
}

/// Profile → access key id, as keyage reads a credentials file (the whole inventory path).
fn keyage_ids(text: &str) -> BTreeMap<String, String> {
    let d = tempfile::tempdir().unwrap();
    let creds = d.path().join("credentials");
    std::fs::write(&creds, text).unwrap();
    let home = d.path().to_str().unwrap();
    let c = creds.to_str().unwrap();
    let cfg = d.path().join("config");
    let env = keyage::env::Env::from_pairs([
        ("HOME", home),
        ("AWS_SHARED_CREDENTIALS_FILE", c),
        ("AWS_CONFIG_FILE", cfg.to_str().unwrap()),
    ]);
    let inv = Inventory::load(&env).unwrap();
    inv.profiles
        .iter()
        .filter_map(|p| match &p.class {
            Class::Static { key_id } | Class::Temporary { key_id } => {
                Some((p.name.clone(), key_id.clone()))
            }
            _ => None,
        })
        .collect()
}

/// The same, read by rust-ini (an independent ini reader: inline comments stripped, keys
/// case-insensitive, as the SDK does for these files).
fn rust_ini_ids(text: &str) -> BTreeMap<String, String> {
    let ini = ini::Ini::load_from_str(text).unwrap();
    ini.iter()
        .filter_map(|(sec, props)| {
            let id = props.get("aws_access_key_id")?;
            Some((sec?.to_string(), id.trim().to_string()))
        })
        .collect()
}

/// The same, read by the AWS SDK's own profile-file parser (aws-runtime).
fn sdk_ids(text: &str) -> BTreeMap<String, String> {
    use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
    use aws_runtime::env_config::section::EnvConfigSections;
    use aws_types::os_shim_internal::{Env, Fs};
    let files = EnvConfigFiles::builder()
        .with_contents(EnvConfigFileKind::Credentials, text.to_string())
        .build();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let source = rt
        .block_on(aws_runtime::env_config::source::load(
            &Env::from_slice(&[]),
            &Fs::from_slice(&[]),
            &files,
        ))
        .unwrap();
    let sections = EnvConfigSections::parse(source).unwrap();
    sections
        .profiles()
        .filter_map(|name| {
            let id = sections.get_profile(name)?.get("aws_access_key_id")?;
            Some((name.to_string(), id.to_string()))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Differential: keyage, rust-ini and the SDK's parser agree on every profile's key id,
    /// before and after an edit.
    #[test]
    fn three_readers_agree_on_every_key_id(s in credentials_file(), k in 0usize..3) {
        let ours = keyage_ids(&s);
        prop_assert!(!ours.is_empty());
        prop_assert_eq!(&ours, &rust_ini_ids(&s));
        prop_assert_eq!(&ours, &sdk_ids(&s));
        let doc = Document::parse(&s).unwrap();
        let t = edit::targets(&doc, IDS[k], Some(SECRETS[k]), &[]).unwrap();
        let out = edit::apply(&doc, &t, NEW_ID, NEW_SECRET).unwrap();
        let after = keyage_ids(&out);
        for (name, id) in &ours {
            let want = if id == IDS[k] { NEW_ID } else { id.as_str() };
            prop_assert_eq!(after.get(name).map(String::as_str), Some(want));
        }
        prop_assert_eq!(&after, &rust_ini_ids(&out));
        prop_assert_eq!(&after, &sdk_ids(&out));
    }

    #[test]
    fn render_is_identity_on_arbitrary_strings(s in "\\PC*|[\\[\\]=#; \t\r\na-z\u{feff}]*") {
        if let Ok(doc) = Document::parse(&s) {
            prop_assert_eq!(doc.render(), s);
        }
    }

    #[test]
    fn render_is_identity_on_arbitrary_bytes(b in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(doc) = Document::parse_bytes(&b) {
            prop_assert_eq!(doc.render().into_bytes(), b);
        }
    }

    #[test]
    fn render_is_identity_on_ini_like_files(s in ini_like()) {
        if let Ok(doc) = Document::parse(&s) {
            prop_assert_eq!(doc.render(), s);
        }
    }

    #[test]
    fn generated_credentials_parse_and_render(s in credentials_file()) {
        let doc = Document::parse(&s).unwrap();
        prop_assert_eq!(doc.render(), s);
    }

    #[test]
    fn an_edit_changes_only_the_intended_ranges(s in credentials_file(), k in 0usize..3) {
        let doc = Document::parse(&s).unwrap();
        let t = edit::targets(&doc, IDS[k], Some(SECRETS[k]), &[]).unwrap();
        let holders = s.matches(IDS[k]).count();
        prop_assert_eq!(t.len(), 2 * holders);
        let out = edit::apply(&doc, &t, NEW_ID, NEW_SECRET).unwrap();
        // Walk the spans: everything between them is byte-identical.
        let mut spans: Vec<_> = t.iter().collect();
        spans.sort_by_key(|x| x.span.start);
        let (mut po, mut pn) = (0usize, 0usize);
        for x in spans {
            let len = x.span.start - po;
            prop_assert_eq!(&s[po..x.span.start], &out[pn..pn + len]);
            let v = match x.target { edit::Target::KeyId => NEW_ID, edit::Target::Secret => NEW_SECRET };
            prop_assert_eq!(&out[pn + len..pn + len + v.len()], v);
            pn += len + v.len();
            po = x.span.end;
        }
        prop_assert_eq!(&s[po..], &out[pn..]);
        prop_assert!(!out.contains(IDS[k]));
        prop_assert!(!out.contains(SECRETS[k]));
        for (j, id) in IDS.iter().enumerate() {
            if j != k {
                prop_assert_eq!(out.matches(id).count(), s.matches(id).count());
            }
        }
    }
}
