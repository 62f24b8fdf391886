//! Micro-benchmarks of the code every request runs through: the head
//! parser (wrk's head, a browser's, one with 20 fields), chunked decoding,
//! response head encoding and the `Date` cache.
//!
//! `cargo bench`; for a figure that does not move with the machine's load,
//! count instructions instead (`scripts/callgrind.sh`).

use coffeeweb::http::chunked::{ChunkedDecoder, ChunkedLimits};
use coffeeweb::http::date::DateCache;
use coffeeweb::http::framing::framing;
use coffeeweb::http::parse::{parse_head_prefix, HeadLimits, HeaderSpan};
use coffeeweb::http::{ConnectionHeader, Response, Status};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::time::{Duration, SystemTime};

const WRK: &[u8] =
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n";

const BROWSER: &[u8] = b"GET /index.html HTTP/1.1\r\nHost: localhost:8080\r\nConnection: keep-alive\r\n\
sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n\
sec-ch-ua-mobile: ?0\r\nsec-ch-ua-platform: \"Linux\"\r\nUpgrade-Insecure-Requests: 1\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n\
Sec-Fetch-Site: none\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-User: ?1\r\nSec-Fetch-Dest: document\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n\r\n";

const LIMITS: HeadLimits = HeadLimits {
    max_header_bytes: 8192,
    max_headers: 100,
};

fn twenty_fields() -> Vec<u8> {
    let mut head = b"GET /api/v1/items?page=2 HTTP/1.1\r\nHost: api.example.com\r\n".to_vec();
    for i in 0..19 {
        head.extend_from_slice(format!("X-Field-{i}: value-{i}-abcdefghijklmnop\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

fn parser(c: &mut Criterion) {
    let many = twenty_fields();
    let mut group = c.benchmark_group("parse head + framing");
    for (name, head) in [("wrk", WRK), ("browser", BROWSER), ("20 fields", &many[..])] {
        group.throughput(Throughput::Bytes(head.len() as u64));
        let mut spans: Vec<HeaderSpan> = Vec::with_capacity(100);
        group.bench_function(name, |b| {
            b.iter(|| {
                let head = black_box(head);
                let parsed = parse_head_prefix(head, LIMITS, &mut spans)
                    .unwrap()
                    .unwrap();
                black_box(framing(head, &parsed, &spans, 1 << 20).unwrap())
            })
        });
    }
    group.finish();
}

fn chunked(c: &mut Criterion) {
    let mut body = Vec::new();
    for _ in 0..64 {
        body.extend_from_slice(b"400\r\n");
        body.extend_from_slice(&[b'x'; 1024]);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let limits = ChunkedLimits {
        max_body: 1 << 20,
        max_line: 8192,
        max_trailers: 100,
    };
    let mut group = c.benchmark_group("chunked");
    group.throughput(Throughput::Bytes(64 * 1024));
    group.bench_function("64 KiB in 1 KiB chunks, in place", |b| {
        b.iter_batched_ref(
            || body.clone(),
            |buf| {
                let mut decoder = ChunkedDecoder::new(limits);
                let decoded = decoder.decode(buf).unwrap();
                assert!(decoded.done);
                black_box(decoder.decoded_len())
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn response(c: &mut Criterion) {
    let date = DateCache::new();
    let mut res = Response::new();
    res.set_status(Status::OK)
        .header("Content-Type", "text/plain")
        .set_body("Hello, World!");
    let mut out = Vec::with_capacity(512);
    c.bench_function("encode response head", |b| {
        b.iter(|| {
            out.clear();
            res.encode_head(&mut out, black_box(&date), ConnectionHeader::Omit);
            black_box(out.len())
        })
    });
}

fn date(c: &mut Criterion) {
    let mut cache = DateCache::new();
    let now = SystemTime::now();
    c.bench_function("date cache, same second", |b| {
        b.iter(|| {
            cache.update(black_box(now));
            black_box(cache.line().len())
        })
    });
    let mut second = 0u64;
    c.bench_function("date cache, new second", |b| {
        b.iter(|| {
            second += 1;
            cache.update(black_box(
                SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + second),
            ));
            black_box(cache.line().len())
        })
    });
}

criterion_group!(benches, parser, chunked, response, date);
criterion_main!(benches);
