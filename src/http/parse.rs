//! The request-head parser: RFC 9112 §2–§5, strictly.
//!
//! # How a head is found, then parsed
//!
//! Bytes reach us in arbitrary pieces. Rather than a byte-at-a-time state
//! machine that must save and resume its position inside a token, parsing
//! is split in two steps:
//!
//! 1. [`find_head_end`] looks for the empty line that ends the head. It is
//!    resumable: the caller passes how far earlier calls already looked, so
//!    every byte is searched once however the head is split (a client
//!    sending one byte at a time costs O(n), not O(n²)).
//! 2. [`parse_head`] runs once, on a complete head, and validates every
//!    rule. It copies nothing: the result is made of [`Span`]s, offsets into
//!    the connection's buffer, and the header fields go into a caller-owned
//!    `Vec` that the event loop reuses for every request, so parsing
//!    allocates nothing in steady state.
//!
//! # Leniencies, and where there are none
//!
//! A bare LF ends a line like CRLF does (RFC 9112 §2.2 allows it); a CR
//! anywhere else is an error. Empty lines before the request line are
//! skipped (§2.2). There is no leniency for whitespace before a colon, for
//! obs-fold, for control characters, or for a malformed version: each is a
//! 400, because each is a way for two parsers to disagree about a message.

use super::RequestError;

/// A range of bytes inside the buffer a head was parsed from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn new(start: usize, end: usize) -> Span {
        // Heads are bounded by `--max-header-bytes`, which the configuration
        // keeps far below 4 GiB, so offsets always fit.
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// The bytes this span covers in `buf`.
    pub fn of<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.start as usize..self.end as usize]
    }

    /// Whether the span is empty.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// HTTP/1.0 or HTTP/1.1 (any `HTTP/1.x` with x ≥ 1 is handled as 1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `HTTP/1.0`
    Http10,
    /// `HTTP/1.1` (and `HTTP/1.2` ... `HTTP/1.9`, RFC 9110 §2.5)
    Http11,
}

/// One header field line: where its name and (trimmed) value are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderSpan {
    /// The field name.
    pub name: Span,
    /// The field value without leading and trailing whitespace.
    pub value: Span,
}

/// A parsed request head. Spans refer to the buffer given to [`parse_head`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// The method token.
    pub method: Span,
    /// The request target exactly as sent.
    pub target: Span,
    /// The path part of the target (empty for an absolute-form target
    /// without a path, which means `/`).
    pub path: Span,
    /// The query, without its `?`.
    pub query: Option<Span>,
    /// The authority of an absolute-form target, which wins over `Host`.
    pub authority: Option<Span>,
    /// The protocol version.
    pub version: Version,
    /// Length of the head in bytes, the final empty line included.
    pub len: usize,
}

/// The limits that apply while parsing a head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadLimits {
    /// Longest request line plus header field lines, line ends included.
    pub max_header_bytes: usize,
    /// Most header fields.
    pub max_headers: usize,
}

const fn byte_class(accept: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < accept.len() {
        table[accept[i] as usize] = true;
        i += 1;
    }
    table
}

/// `tchar` of RFC 9110 §5.6.2: the bytes of methods and field names.
static TCHAR: [bool; 256] =
    byte_class(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

/// Whether `bytes` is a non-empty `token` (RFC 9110 §5.6.2).
pub fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| TCHAR[b as usize])
}

/// Whether `b` may appear in a field value: HTAB, SP, VCHAR and obs-text.
pub fn is_field_value_byte(b: u8) -> bool {
    b == b'\t' || (b >= b' ' && b != 0x7f)
}

/// Number of bytes of empty lines (CRLF or bare LF) at the start of `buf`.
/// RFC 9112 §2.2: a server SHOULD ignore them before a request line.
pub fn leading_empty_lines(buf: &[u8]) -> usize {
    let mut skipped = 0;
    loop {
        match &buf[skipped..] {
            [b'\n', ..] => skipped += 1,
            [b'\r', b'\n', ..] => skipped += 2,
            _ => return skipped,
        }
    }
}

/// Finds the end of a head that starts at `buf[0]`: the index just past the
/// empty line that ends it. `from` is how many bytes earlier calls already
/// searched (pass `buf.len()` of the last call); bytes before it are not
/// searched again.
pub fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(offset) = buf[at..].iter().position(|&b| b == b'\n') {
        let lf = at + offset;
        let line = &buf[..lf];
        if line.ends_with(b"\n") || line.ends_with(b"\n\r") {
            return Some(lf + 1);
        }
        at = lf + 1;
    }
    None
}

/// The error for a head that is over `--max-header-bytes`: 414 when the
/// request line alone is over it, else 431. `buf` starts at the request
/// line and may be incomplete.
pub fn oversize_error(buf: &[u8], max_header_bytes: usize) -> RequestError {
    match buf.iter().position(|&b| b == b'\n') {
        Some(lf) if lf < max_header_bytes => RequestError::HeaderFieldsTooLarge,
        _ => RequestError::UriTooLong,
    }
}

/// Parses a complete head: `buf` starts with the request line and contains
/// at least the bytes up to [`find_head_end`]'s answer (`len`). Header
/// fields are appended to `headers`, which is cleared first.
pub fn parse_head(
    buf: &[u8],
    len: usize,
    limits: HeadLimits,
    headers: &mut Vec<HeaderSpan>,
) -> Result<Head, RequestError> {
    headers.clear();
    let head = &buf[..len];
    let final_line = if head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\r\n") {
        2
    } else {
        1
    };
    if len - final_line > limits.max_header_bytes {
        return Err(oversize_error(head, limits.max_header_bytes));
    }
    let mut lines = Lines { buf: head, at: 0 };
    let (line_start, line) = lines.next_line()?;
    let mut parsed = parse_request_line(line, line_start)?;
    parsed.len = len;
    loop {
        let (start, line) = lines.next_line()?;
        if line.is_empty() {
            return Ok(parsed);
        }
        if headers.len() == limits.max_headers {
            return Err(RequestError::HeaderFieldsTooLarge);
        }
        let (name, value) = parse_field_line(line)?;
        headers.push(HeaderSpan {
            name: Span::new(start + name.0, start + name.1),
            value: Span::new(start + value.0, start + value.1),
        });
    }
}

/// Splits a head into lines. Each line comes without its terminator; a
/// CR is part of the terminator only right before the LF.
struct Lines<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Lines<'a> {
    fn next_line(&mut self) -> Result<(usize, &'a [u8]), RequestError> {
        let start = self.at;
        let rest = &self.buf[start..];
        let lf = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(RequestError::BadRequest("incomplete request head"))?;
        self.at = start + lf + 1;
        let line = &rest[..lf];
        Ok((start, line.strip_suffix(b"\r").unwrap_or(line)))
    }
}

fn parse_request_line(line: &[u8], base: usize) -> Result<Head, RequestError> {
    const MALFORMED: RequestError =
        RequestError::BadRequest("request line is not `method SP target SP version`");
    let sp1 = line.iter().position(|&b| b == b' ').ok_or(MALFORMED)?;
    let sp2 = sp1
        + 1
        + line[sp1 + 1..]
            .iter()
            .position(|&b| b == b' ')
            .ok_or(MALFORMED)?;
    let (method, target, version) = (&line[..sp1], &line[sp1 + 1..sp2], &line[sp2 + 1..]);
    if !is_token(method) {
        return Err(RequestError::BadRequest("method is not a token"));
    }
    let version = parse_version(version)?;
    let target_start = base + sp1 + 1;
    let form = parse_target(target, method)?;
    let at = |(start, end): (usize, usize)| Span::new(target_start + start, target_start + end);
    Ok(Head {
        method: Span::new(base, base + sp1),
        target: Span::new(target_start, base + sp2),
        path: at(form.path),
        query: form.query.map(at),
        authority: form.authority.map(at),
        version,
        len: 0,
    })
}

fn parse_version(version: &[u8]) -> Result<Version, RequestError> {
    match version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            match (major, minor) {
                (b'1', b'0') => Ok(Version::Http10),
                (b'1', _) => Ok(Version::Http11),
                _ => Err(RequestError::VersionNotSupported),
            }
        }
        _ => Err(RequestError::BadRequest("malformed HTTP version")),
    }
}

/// Offsets, relative to the target, of the parts a handler needs.
struct TargetForm {
    path: (usize, usize),
    query: Option<(usize, usize)>,
    authority: Option<(usize, usize)>,
}

/// Accepts origin-form (`/p?q`), absolute-form (`http://a/p?q`) and
/// asterisk-form (`*`, OPTIONS only), RFC 9112 §3.2. The target may hold
/// any visible ASCII byte: what a path may contain is the handler's rule
/// (the static handler refuses backslashes, for instance, with a 404).
fn parse_target(target: &[u8], method: &[u8]) -> Result<TargetForm, RequestError> {
    if target.is_empty() {
        return Err(RequestError::BadRequest("empty request target"));
    }
    if !target.iter().all(|&b| b.is_ascii_graphic()) {
        return Err(RequestError::BadRequest("invalid byte in request target"));
    }
    match target {
        [b'/', ..] => Ok(split_path_query(target, 0, None)),
        b"*" if method == b"OPTIONS" => Ok(TargetForm {
            path: (0, 1),
            query: None,
            authority: None,
        }),
        b"*" => Err(RequestError::BadRequest("`*` target is only for OPTIONS")),
        _ => parse_absolute_form(target),
    }
}

fn parse_absolute_form(target: &[u8]) -> Result<TargetForm, RequestError> {
    let scheme_len = if starts_with_ignore_case(target, b"http://") {
        7
    } else if starts_with_ignore_case(target, b"https://") {
        8
    } else {
        return Err(RequestError::BadRequest("unsupported request-target form"));
    };
    let rest = &target[scheme_len..];
    let authority_len = rest
        .iter()
        .position(|&b| b == b'/' || b == b'?')
        .unwrap_or(rest.len());
    let authority = &rest[..authority_len];
    if authority.is_empty() || authority.contains(&b'@') || !is_valid_host(authority) {
        return Err(RequestError::BadRequest(
            "invalid authority in request target",
        ));
    }
    let path_start = scheme_len + authority_len;
    Ok(split_path_query(
        target,
        path_start,
        Some((scheme_len, path_start)),
    ))
}

fn split_path_query(
    target: &[u8],
    path_start: usize,
    authority: Option<(usize, usize)>,
) -> TargetForm {
    match target[path_start..].iter().position(|&b| b == b'?') {
        Some(q) => TargetForm {
            path: (path_start, path_start + q),
            query: Some((path_start + q + 1, target.len())),
            authority,
        },
        None => TargetForm {
            path: (path_start, target.len()),
            query: None,
            authority,
        },
    }
}

fn starts_with_ignore_case(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// The bytes a `Host` value or an authority may hold (RFC 3986 §3.2.2:
/// reg-name, IP literals and a port). The empty value is valid for `Host`.
pub fn is_valid_host(host: &[u8]) -> bool {
    static HOST: [bool; 256] = byte_class(
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:%[]",
    );
    host.iter().all(|&b| HOST[b as usize])
}

/// Start and end offsets of a part of a line.
type Offsets = (usize, usize);

/// Parses `name ":" OWS value OWS`, giving the offsets of the name and of
/// the trimmed value. Shared by the head and by chunked trailers.
pub(crate) fn parse_field_line(line: &[u8]) -> Result<(Offsets, Offsets), RequestError> {
    if let [b' ' | b'\t', ..] = line {
        return Err(RequestError::BadRequest("obsolete line folding"));
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(RequestError::BadRequest("header field without a colon"))?;
    let name = &line[..colon];
    if let [.., b' ' | b'\t'] = name {
        return Err(RequestError::BadRequest("whitespace before colon"));
    }
    if !is_token(name) {
        return Err(RequestError::BadRequest("header name is not a token"));
    }
    let mut start = colon + 1;
    let mut end = line.len();
    while start < end && matches!(line[start], b' ' | b'\t') {
        start += 1;
    }
    while end > start && matches!(line[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    if !line[start..end].iter().all(|&b| is_field_value_byte(b)) {
        return Err(RequestError::BadRequest(
            "control character in header value",
        ));
    }
    Ok(((0, colon), (start, end)))
}
