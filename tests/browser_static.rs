//! The static-file features in headless Chromium, as a front-end developer
//! meets them: a deep link of a single-page app under `--fallback`
//! renders, and a page whose CSS and JS have `.br` copies loads them
//! compressed (resource timing: transfer size below decoded size) and
//! renders as it does from the plain files.
//!
//! Without Chromium these tests say so and pass, except in CI
//! (`CI=true`), where a missing browser fails them (`common::browser`).

mod common;
mod docroot;

use coffeeweb::handlers::StaticFiles;
use common::browser::{chromium, dump_dom};
use common::{config, TestServer};
use docroot::{fetch, Docroot};
use std::io::Write;

/// The text of the element with `id` in a dumped DOM.
fn text_of<'a>(dom: &'a str, id: &str) -> &'a str {
    let open = format!("id=\"{id}\">");
    let at = dom
        .find(&open)
        .unwrap_or_else(|| panic!("no #{id} in {dom}"))
        + open.len();
    &dom[at..at + dom[at..].find('<').unwrap()]
}

#[test]
fn a_deep_link_of_a_single_page_app_renders_under_fallback() {
    let Some(chromium) = chromium("a_deep_link_of_a_single_page_app_renders_under_fallback") else {
        return;
    };
    let root = Docroot::new("browser-spa");
    root.file(
        "index.html",
        b"<!doctype html><html><head><link rel=stylesheet href=\"/app.css\"></head>\
          <body><div id=\"app\">loading</div><script src=\"/app.js\"></script></body></html>",
    )
    .file("app.css", b"body { color: rgb(1, 2, 3) }\n")
    .file(
        "app.js",
        b"document.getElementById('app').textContent = 'route ' + location.pathname + \
          location.search + ' color ' + getComputedStyle(document.body).color;\n",
    );
    let files = StaticFiles::new(&root.dir, false)
        .unwrap()
        .with_fallback("index.html")
        .unwrap();
    let server = TestServer::with_files(config(), files);
    let url = format!("http://{}/users/42/profile?tab=x", server.addr);
    let dom = dump_dom(chromium, &url, 5000);
    assert_eq!(
        text_of(&dom, "app"),
        "route /users/42/profile?tab=x color rgb(1, 2, 3)"
    );
}

/// Brotli at the highest quality, as a build step would make the copy.
fn brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        writer.write_all(bytes).unwrap();
    }
    out
}

const PAGE: &[u8] = b"<!doctype html><html><head><link rel=stylesheet href=\"style.css\"></head>\
<body><div id=\"box\">box</div><pre id=\"render\">waiting</pre><pre id=\"sizes\">waiting</pre>\
<script src=\"app.js\"></script></body></html>";

/// A page, its CSS and its JS (large and repetitive, as real ones are).
fn site(name: &str, with_copies: bool) -> Docroot {
    let mut css: String = (0..400)
        .map(|i| {
            format!(
                ".unused-{i} {{ margin: {}px; padding: {}px; }}\n",
                i % 13,
                i % 7
            )
        })
        .collect();
    css.push_str("#box { width: 123px; color: rgb(4, 5, 6); }\n");
    let mut js: String = (0..300)
        .map(|i| format!("function helper{i}(x) {{ return x * {i} + {}; }}\n", i % 11))
        .collect();
    js.push_str(
        "const box = document.getElementById('box');\n\
         const style = getComputedStyle(box);\n\
         document.getElementById('render').textContent = 'width ' + style.width + ' color ' + \
         style.color + ' sum ' + helper299(2);\n\
         addEventListener('load', () => {\n\
           document.getElementById('sizes').textContent = ['style.css', 'app.js'].map((name) => {\n\
             const t = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/' + name));\n\
             return name + ' ' + t.transferSize + ' ' + t.decodedBodySize;\n\
           }).join(' ');\n\
         });\n",
    );
    let root = Docroot::new(name);
    root.file("page.html", PAGE)
        .file("style.css", css.as_bytes())
        .file("app.js", js.as_bytes());
    if with_copies {
        root.file("style.css.br", &brotli(css.as_bytes()))
            .file("app.js.br", &brotli(js.as_bytes()));
    }
    root
}

/// `(name, transfer size, decoded size)` of each resource.
fn sizes(dom: &str) -> Vec<(String, u64, u64)> {
    let words: Vec<&str> = text_of(dom, "sizes").split(' ').collect();
    words
        .chunks(3)
        .map(|w| {
            (
                w[0].to_string(),
                w[1].parse().unwrap(),
                w[2].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn css_and_js_with_br_copies_load_compressed_and_render_the_same() {
    let Some(chromium) = chromium("css_and_js_with_br_copies_load_compressed_and_render_the_same")
    else {
        return;
    };
    let compressed = site("browser-br", true);
    let plain = site("browser-plain", false);
    let serve = |root: &Docroot| {
        TestServer::with_files(config(), StaticFiles::new(&root.dir, false).unwrap())
    };
    let (with_br, without) = (serve(&compressed), serve(&plain));
    // What the browser will be sent, as a check of the setup.
    let css = fetch(
        with_br.addr,
        "GET",
        "/style.css",
        &[("Accept-Encoding", "gzip, deflate, br, zstd")],
    );
    assert_eq!(css.header("Content-Encoding"), Some("br"));
    let dom_br = dump_dom(
        chromium,
        &format!("http://{}/page.html", with_br.addr),
        5000,
    );
    let dom_plain = dump_dom(
        chromium,
        &format!("http://{}/page.html", without.addr),
        5000,
    );
    assert_eq!(
        text_of(&dom_br, "render"),
        "width 123px color rgb(4, 5, 6) sum 600"
    );
    assert_eq!(text_of(&dom_br, "render"), text_of(&dom_plain, "render"));
    for (name, transfer, decoded) in sizes(&dom_br) {
        assert!(transfer > 0, "{name} came over the wire");
        assert!(
            transfer < decoded,
            "{name} was not sent compressed: {transfer} >= {decoded}"
        );
        assert!(transfer < decoded / 4, "{name}: {transfer} of {decoded}");
    }
    for (name, transfer, decoded) in sizes(&dom_plain) {
        assert!(
            transfer > decoded,
            "{name}: plain, so headers add to the body"
        );
    }
    assert_eq!(
        sizes(&dom_br).iter().map(|s| s.2).collect::<Vec<_>>(),
        sizes(&dom_plain).iter().map(|s| s.2).collect::<Vec<_>>(),
        "the same bytes once decoded"
    );
}
