//! Parse + edit + render of credentials files with 100 / 1,000 / 10,000 profiles
//! (issue 3 target: ≤ 20 ms at 10,000, linear growth). Run: `cargo bench --bench profiles`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use keyage::profiles::classify;
use keyage::profiles::document::Document;
use keyage::profiles::edit;
use keyage::profiles::{FileKind, LoadedFile};

const OLD_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const OLD_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// `n` profiles; every 10th holds the key being replaced, the rest hold distinct fake keys.
fn credentials(n: usize) -> String {
    let mut s = String::from("# bench file\n");
    for i in 0..n {
        if i % 10 == 0 {
            s.push_str(&format!(
                "[p{i}]\naws_access_key_id = {OLD_ID}\naws_secret_access_key = {OLD_SECRET}\n\n"
            ));
        } else {
            s.push_str(&format!(
                "[p{i}] # profile {i}\naws_access_key_id={}\naws_secret_access_key=fakeSECRET/{i:030}\nregion = us-east-1\n\n",
                format_args!("AKIAEXAMPLE{i:09}")
            ));
        }
    }
    s
}

fn parse_edit_render(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_edit_render");
    for n in [100usize, 1_000, 10_000] {
        let text = credentials(n);
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            b.iter(|| {
                let doc = Document::parse(black_box(text)).unwrap();
                let t = edit::targets(&doc, OLD_ID, Some(OLD_SECRET), &[]).unwrap();
                let out = edit::apply(&doc, &t, "AKIANEWKEY0000000001", "NewSecret/000").unwrap();
                black_box(out.len())
            })
        });
    }
    g.finish();
}

fn load_and_classify(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_classify");
    for n in [100usize, 1_000, 10_000] {
        let text = credentials(n);
        g.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            b.iter(|| {
                let doc = Document::parse(black_box(text)).unwrap();
                let f = |kind, doc| LoadedFile {
                    kind,
                    path: "/bench/credentials".into(),
                    doc,
                    mode: Some(0o600),
                };
                let inv = classify::build(
                    f(FileKind::Credentials, Some(doc)),
                    f(FileKind::Config, None),
                    "default",
                );
                black_box(inv.keys().len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, parse_edit_render, load_and_classify);
criterion_main!(benches);
