//! Matcher throughput on large inputs (target ≥ 1 GB/s): random base64-ish text with lines,
//! source-like text with many near misses (`AKIA` prefixes, `A3T`, long upper-case tokens),
//! and binary noise. Run: `cargo bench --bench scan`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use keyage::scan::{Allowlist, Matcher, OwnValues};
use keyage::secret::secret;

const SIZE: usize = 64 << 20;

/// xorshift: fast, deterministic, no extra crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn base64_lines() -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut v = Vec::with_capacity(SIZE);
    while v.len() < SIZE {
        let x = r.next();
        v.push(if x % 61 == 0 {
            b'\n'
        } else {
            A[(x >> 8) as usize % 64]
        });
    }
    v
}

fn source_like() -> Vec<u8> {
    let words: &[&[u8]] = &[
        b"let ",
        b"fn ",
        b"AKIA",
        b"ASIA_ROLE ",
        b"A3T",
        b"CONFIG_VALUE ",
        b"aws_access_key_id",
        b" = ",
        b"\"",
        b"AKIAIOSFODNN7EXAMPLE",
        b"\n",
        b"    ",
        b"self.",
        b"QWERTYUIOPASDFGH",
        b"return ",
        b"// comment ",
        b"0123456789",
        b"{",
        b"}",
        b"();\n",
    ];
    let mut r = Rng(42);
    let mut v = Vec::with_capacity(SIZE);
    while v.len() < SIZE {
        v.extend_from_slice(words[r.next() as usize % words.len()]);
    }
    v
}

/// Real-shaped text: this repository's own sources, tests, docs and the scanner corpus (keys,
/// secret names, base64, near misses), repeated to 64 MiB.
fn real_shaped() -> Vec<u8> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["src", "tests", "docs", "tests/fixtures/scan-corpus"] {
        collect(&root.join(dir), &mut files);
    }
    files.sort();
    let mut one = Vec::new();
    for f in files {
        if let Ok(b) = std::fs::read(&f) {
            one.extend_from_slice(&b);
        }
    }
    let mut v = Vec::with_capacity(SIZE + one.len());
    while v.len() < SIZE {
        v.extend_from_slice(&one);
    }
    v.truncate(SIZE);
    v
}

fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn binary() -> Vec<u8> {
    let mut r = Rng(7);
    let mut v = Vec::with_capacity(SIZE);
    while v.len() < SIZE {
        v.extend_from_slice(&r.next().to_le_bytes());
    }
    v
}

fn matcher() -> Matcher {
    let own = OwnValues {
        key_ids: vec!["AKIAZ7QW3RTYU2IOPLKJ".into(), "AKIAZ7QW3RTYU2IOPLKK".into()],
        secrets: vec![
            (secret("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"), None),
            (secret("Zz9Xv3mK2pL8sT4wZ7yB1nC6dF0gH5jR2eA3uI9o"), None),
        ],
        ..Default::default()
    };
    Matcher::new(&own, Allowlist::default())
}

fn bench(c: &mut Criterion) {
    let m = matcher();
    let mut g = c.benchmark_group("scan");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(SIZE as u64));
    for (name, data) in [
        ("base64_lines_64MiB", base64_lines()),
        ("source_like_64MiB", source_like()),
        ("binary_64MiB", binary()),
        ("real_shaped_64MiB", real_shaped()),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| m.scan(std::hint::black_box(&data)).len())
        });
    }
    g.finish();
    // What the pre-commit hook pays before scanning: building the matcher (one packed SIMD
    // searcher over the own values, their base64 forms and the fixed needles).
    c.bench_function("matcher_build", |b| {
        b.iter(|| std::hint::black_box(matcher()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
