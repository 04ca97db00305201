//! The chaos run shared by the keyring rig (tests/rotation.rs) and the file-store rig with no
//! D-Bus at all (tests/store.rs): `kill -9` at random moments across `rotate-self` against an
//! IAM with per-call latency, each followed by `--resume` or `backout --yes`. Every run must end
//! with a key in the files that STS accepts (boto3), exactly one active key, no orphan (every
//! key's secret in the files or the store), no journal, and the original key still in IAM
//! (keyage never deletes a key it did not make). `KEYAGE_CHAOS_SEED` replays a run.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{KeyageCommand, Moto, Proc, Sandbox, TestKey};

/// What the chaos run needs of a rig.
pub struct Rig<'a> {
    pub moto: &'a Moto,
    /// A fresh sandbox for run `i` whose credentials hold the user's key in `[default]` and
    /// `[work]`, and that key.
    pub user: &'a dyn Fn(usize) -> (Sandbox, TestKey),
    /// keyage in a sandbox, with the store under test.
    pub keyage: &'a dyn Fn(&Sandbox) -> Command,
    /// Whether the store holds a copy of this key's secret.
    pub stored: &'a dyn Fn(&Sandbox, &str) -> bool,
}

/// What a chaos run saw (also printed, for docs/rotation.md).
#[derive(Debug)]
pub struct Report {
    pub runs: usize,
    pub killed: usize,
    pub finished_first: usize,
    pub unproven: usize,
    pub worst: Duration,
    pub by_state: BTreeMap<String, usize>,
}

/// xorshift64: enough randomness for kill moments, reproducible from a seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn state_file(sb: &Sandbox, name: &str) -> String {
    sb.read(&format!(".local/state/keyage/{name}"))
}

/// Runs until `kills` kills have landed (at most `2 * kills + 10` runs) and checks every run.
pub fn run(rig: &Rig, kills: usize) -> Report {
    let seed = std::env::var("KEYAGE_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("chaos seed {seed} (KEYAGE_CHAOS_SEED replays it)");
    let mut rng = Rng(seed);
    let start = Instant::now();
    let (mut killed, mut finished_first, mut unproven) = (0, 0, 0);
    let mut by_state = BTreeMap::<String, usize>::new();
    let mut worst = Duration::ZERO;
    // Kills land at a random moment after the journal appears (steps a–f), within `hi`, which
    // adapts to the machine's speed (a run that finished first shrinks it); every fifth
    // lands at a random moment from the start instead (before or around the plan).
    let mut hi: u64 = 1500;
    let mut checks: Vec<(usize, String, String, String)> = Vec::new();
    let mut i = 0;
    while killed < kills && i < kills * 2 + 10 {
        i += 1;
        let (sb, key) = (rig.user)(i);
        let jpath = sb.path(".local/state/keyage/rotation-journal.json");
        let mut cmd = (rig.keyage)(&sb);
        cmd.args(["rotate-self", "--yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let t0 = Instant::now();
        let mut p = Proc::spawn("keyage rotate-self", &mut cmd);
        if i % 5 != 0 {
            while p.alive() && !jpath.exists() && t0.elapsed() < Duration::from_secs(20) {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        std::thread::sleep(Duration::from_millis(rng.below(hi)));
        if p.alive() {
            p.signal(libc::SIGKILL);
            killed += 1;
            hi = hi * 21 / 20;
        } else {
            finished_first += 1;
            hi = (hi * 3 / 5).max(50);
        }
        let _ = p.wait_timeout(Duration::from_secs(10));
        let journal = state_file(&sb, "rotation-journal.json");
        let state = serde_json::from_str::<serde_json::Value>(&journal)
            .ok()
            .and_then(|j| j["state"].as_str().map(str::to_string))
            .unwrap_or_else(|| "none".to_string());
        let way = if i % 2 == 0 { "resume" } else { "backout" };
        let args: &[&str] = if way == "resume" {
            &["rotate-self", "--resume", "--yes"]
        } else {
            &["backout", "--yes"]
        };
        let t1 = Instant::now();
        let out = (rig.keyage)(&sb).args(args).run();
        worst = worst.max(t1.elapsed());
        let all = format!("{}{}", out.stdout, out.stderr);
        // No secret in what keyage printed: the original one, nor the files' one now.
        let files_secret = super::profile_key(&sb.read(".aws/credentials"), "default").1;
        for s in [&key.secret, &files_secret] {
            assert!(
                s.len() < 16 || !all.contains(s.as_str()),
                "{i}: a secret leaked in `keyage {}`",
                args.join(" ")
            );
        }
        if all.contains("cannot prove it made") || all.contains("keyage did not make it") {
            // Killed in the instant between IAM's answer and the journal write: the key is
            // named and left alone; the user deletes it, as the message says.
            unproven += 1;
            for k in rig.moto.admin_keys(&key.user) {
                if k.key_id != key.id && !(rig.stored)(&sb, &k.key_id) {
                    assert!(all.contains(&k.key_id), "{i}: the key is named: {all}");
                    rig.moto.delete_key(&k.key_id);
                }
            }
        } else if out.code != Some(0) {
            // Nothing to resume or back out (the rotation had finished, or never began).
            assert!(
                journal.is_empty()
                    && (all.contains("no interrupted rotation") || all.contains("no rotation")),
                "{i}: {way} after a kill at {state} failed: {all}"
            );
        }
        *by_state.entry(format!("{state}/{way}")).or_default() += 1;
        let text = sb.read(".aws/credentials");
        let (id, secret) = super::profile_key(&text, "default");
        assert_eq!(
            super::profile_key(&text, "work"),
            (id.clone(), secret.clone()),
            "{i}"
        );
        checks.push((i, format!("{state}/{way}"), id, secret));
        let keys = rig.moto.admin_keys(&key.user);
        assert_eq!(
            keys.iter().filter(|k| k.active).count(),
            1,
            "{i}: {state}/{way}: {keys:?}"
        );
        assert!(
            keys.iter().any(|k| k.key_id == key.id),
            "{i}: the original key is gone"
        );
        for k in &keys {
            let in_files = text.contains(&k.key_id);
            assert!(
                in_files || (rig.stored)(&sb, &k.key_id),
                "{i}: orphan key {}",
                k.key_id
            );
        }
        assert_eq!(
            state_file(&sb, "rotation-journal.json"),
            "",
            "{i}: {state}/{way}"
        );
    }
    // Every run's files' key, proven with STS through boto3 (one process for all).
    let list = serde_json::to_string(
        &checks
            .iter()
            .map(|c| serde_json::json!([c.2, c.3]))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let out = Command::new(super::venv().join("bin/python"))
        .args([
            "-c",
            "import sys, json, boto3\n\
             for k, s in json.loads(sys.argv[2]):\n\
             \ttry:\n\
             \t\tboto3.client('sts', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id=k, aws_secret_access_key=s).get_caller_identity(); print('ok')\n\
             \texcept Exception as e:\n\
             \t\tprint('rejected', type(e).__name__)\n",
            &rig.moto.endpoint(),
            &list,
        ])
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .output()
        .expect("boto3");
    let verdicts: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        verdicts.len(),
        checks.len(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (c, v) in checks.iter().zip(&verdicts) {
        assert_eq!(
            v, "ok",
            "run {}: {}: the files' key {} is refused by STS",
            c.0, c.1, c.2
        );
    }
    let r = Report {
        runs: i,
        killed,
        finished_first,
        unproven,
        worst,
        by_state,
    };
    eprintln!(
        "chaos: {} runs, {} killed, {} finished before the kill, {} unprovable keys reported; worst recovery {} ms; total {} s; by state/way: {:?}",
        r.runs,
        r.killed,
        r.finished_first,
        r.unproven,
        r.worst.as_millis(),
        start.elapsed().as_secs(),
        r.by_state
    );
    assert!(killed >= kills, "only {killed} kills landed in {i} runs");
    r
}
