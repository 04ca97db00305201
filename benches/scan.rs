//! Matcher throughput on large inputs (target ≥ 1 GB/s): random base64-ish text with lines,
//! source-like text with many near misses (`AKIA` prefixes, `A3T`, long upper-case tokens),
//! and binary noise. Run: `cargo bench --bench scan`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use keyage::secret::secret;
use keyage::surfaces::scan::{Allowlist, Matcher, OwnValues};

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
    ] {
        g.bench_function(name, |b| {
            b.iter(|| m.scan(std::hint::black_box(&data)).len())
        });
    }
    g.finish();
    // What the pre-commit hook pays before scanning: building the matcher (Aho-Corasick over
    // the own values, the key-id regex).
    c.bench_function("matcher_build", |b| {
        b.iter(|| std::hint::black_box(matcher()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
