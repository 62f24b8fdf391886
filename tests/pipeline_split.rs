//! Any valid pipelined stream, split at random points and sent piece by
//! piece over a real socket, yields the same requests as when sent whole:
//! the incremental head search, body framing and in-place chunked decoding
//! must not care where the reads fall.

mod common;

use common::{config, echo_server, Client, TestServer};
use proptest::prelude::*;
use std::sync::OnceLock;
use std::time::Duration;

#[derive(Clone, Debug)]
enum Body {
    None,
    Length(Vec<u8>),
    Chunked(Vec<Vec<u8>>),
}

#[derive(Clone, Debug)]
struct Req {
    method: &'static str,
    path: String,
    body: Body,
}

impl Req {
    fn bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "{} {} HTTP/1.1\r\nHost: split\r\nX-Pad: {}\r\n",
            self.method,
            self.path,
            "p".repeat(self.path.len())
        )
        .into_bytes();
        match &self.body {
            Body::None => out.extend_from_slice(b"\r\n"),
            Body::Length(body) => {
                out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
                out.extend_from_slice(body);
            }
            Body::Chunked(chunks) => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for chunk in chunks.iter().filter(|c| !c.is_empty()) {
                    out.extend_from_slice(format!("{:x};ext=1\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\nTrailer: t\r\n\r\n");
            }
        }
        out
    }

    /// What the echo handler answers: `METHOD PATH LEN BODY`.
    fn expected(&self) -> Vec<u8> {
        let body: Vec<u8> = match &self.body {
            Body::None => Vec::new(),
            Body::Length(body) => body.clone(),
            Body::Chunked(chunks) => chunks.concat(),
        };
        let mut out = format!("{} {} {} ", self.method, self.path, body.len()).into_bytes();
        out.extend_from_slice(&body);
        out
    }
}

fn request() -> impl Strategy<Value = Req> {
    let bytes = || prop::collection::vec(any::<u8>(), 0..300);
    (
        prop_oneof![Just("GET"), Just("POST"), Just("PUT")],
        "/[a-z0-9]{0,12}",
        prop_oneof![
            Just(Body::None),
            bytes().prop_map(Body::Length),
            prop::collection::vec(bytes(), 0..5).prop_map(Body::Chunked),
        ],
    )
        .prop_map(|(method, path, body)| Req { method, path, body })
}

fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| echo_server(config()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn split_anywhere_same_requests(
        requests in prop::collection::vec(request(), 1..6),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let stream: Vec<u8> = requests.iter().flat_map(Req::bytes).collect();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(stream.len())).collect();
        points.sort_unstable();
        points.dedup();
        let mut client = Client::connect(server().addr);
        let mut from = 0;
        for point in points.into_iter().chain([stream.len()]) {
            client.send(&stream[from..point]);
            from = point;
            // Let each piece arrive on its own, so the server's reads fall
            // on the cut points rather than on one coalesced segment.
            std::thread::sleep(Duration::from_millis(1));
        }
        for request in &requests {
            let reply = client.response();
            prop_assert_eq!(reply.status, 200);
            prop_assert_eq!(reply.body, request.expected());
        }
    }
}
