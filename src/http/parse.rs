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
//! The scan is also where the cost of a request is, so the usual shapes
//! are read from one 16-byte load each (`parse/scan.rs`, SSE2), and
//! everything else by the rule they stand for:
//!
//! - a field line from the chunk it starts with (`common_field_line`):
//!   its name stops give the colon and, for most short fields, its value
//!   stops the line end too, with no second search;
//! - a `Host` value from the chunk it starts with, which gives its end and
//!   whether all its bytes are common host bytes, so the value is judged
//!   a valid host on the way and framing need not look again;
//! - `GET` with a target that ends in the first sixteen bytes, and the
//!   start of a longer one, from the line's first chunk
//!   (`get_target_end`).
//!
//! Whatever those paths do not recognise, the rule (`scan_field_line`,
//! `request_line_spaces`, `is_valid_host`) judges, so they can only be
//! faster, never more lenient; unit tests hold each to its rule for every
//! byte value at every position. The fields that framing reads are
//! noticed on the way (`NotedFields`), so that a head with none of them
//! but `Host` is not walked a second time. (Classifying whole 64-byte
//! blocks once per head and walking the masks was tried, and cost more:
//! two classes for every byte, where a line start's chunk answers for
//! most of a short field.)
//!
//! # Leniencies, and where there are none
//!
//! A bare LF ends a line like CRLF does (RFC 9112 §2.2 allows it); a CR
//! anywhere else is an error. Empty lines before the request line are
//! skipped (§2.2). There is no leniency for whitespace before a colon, for
//! obs-fold, for control characters, or for a malformed version: each is a
//! 400, because each is a way for two parsers to disagree about a message.

use super::RequestError;

mod scan;

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

impl Version {
    /// The version as it appears on the wire (and in access logs).
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
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
    /// What the scan noticed of the fields that framing reads.
    pub(crate) noted: NotedFields,
}

/// The fields that framing reads, noticed while the head was scanned, so
/// that framing need not look at every field again in the usual case of
/// a head whose only such field is `Host`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct NotedFields {
    /// How many `Host` fields (saturating: two or more is what matters).
    pub(crate) hosts: u8,
    /// Whether the value of the last `Host` field is a valid host
    /// ([`is_valid_host`]), judged while the head was scanned so that
    /// framing need not look at it again.
    pub(crate) host_valid: bool,
    /// A `Content-Length`, `Transfer-Encoding`, `Connection` or `Expect`
    /// field is present: framing reads every field.
    pub(crate) others: bool,
}

impl NotedFields {
    /// Notes the field line `name: value` of `buf`. Lengths are compared
    /// first: most fields are passed over on one integer.
    #[inline(always)]
    fn note(&mut self, buf: &[u8], field: &FieldLine) {
        // Only a `Host` line's value is known to be a valid host.
        if field.valid_host {
            self.hosts = self.hosts.saturating_add(1);
            self.host_valid = true;
            return;
        }
        let name = &buf[field.name.0..field.name.1];
        match name.len() {
            4 if name.first_chunk().is_some_and(is_host) => {
                self.hosts = self.hosts.saturating_add(1);
                self.host_valid = is_valid_host_in(buf, Span::new(field.value.0, field.value.1));
            }
            6 => self.others |= is_name(name, b"expect"),
            10 => self.others |= is_name(name, b"connection"),
            14 => self.others |= is_name(name, b"content-length"),
            17 => self.others |= is_name(name, b"transfer-encoding"),
            _ => {}
        }
    }
}

/// Whether the four bytes of a field name are `host` ([`is_name`] of a
/// word: one OR and one compare for the field every request has).
#[inline(always)]
fn is_host(name: &[u8; 4]) -> bool {
    u32::from_le_bytes(*name) | 0x2020_2020 == u32::from_le_bytes(*b"host")
}

/// Whether the field name `name` is `lower` (lowercase letters and `-`),
/// ignoring case. Setting bit 0x20 lowers a letter, and maps no other
/// token byte onto a lowercase letter or `-` (only CR, which no name
/// holds, becomes `-`), so one OR per byte does what
/// `eq_ignore_ascii_case` does with a lookup.
pub(crate) fn is_name(name: &[u8], lower: &[u8]) -> bool {
    name.len() == lower.len() && name.iter().zip(lower).all(|(&a, &b)| a | 0x20 == b)
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

/// The bytes of a field value: HTAB, SP, VCHAR and obs-text (RFC 9110
/// §5.5); everything else is a control character.
static FIELD_VALUE: [bool; 256] = {
    let mut table = [true; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b == b'\t' as usize;
        b += 1;
    }
    table[0x7f] = false;
    table
};

/// Whether `bytes` is a non-empty `token` (RFC 9110 §5.6.2).
pub fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes
            .iter()
            .fold(true, |valid, &b| valid & TCHAR[b as usize])
}

/// Whether `b` may appear in a field value: HTAB, SP, VCHAR and obs-text.
pub fn is_field_value_byte(b: u8) -> bool {
    FIELD_VALUE[b as usize]
}

/// Whether every byte of `value` may appear in a field value (branch-free,
/// like [`is_token`]).
pub fn is_field_value(value: &[u8]) -> bool {
    value
        .iter()
        .fold(true, |valid, &b| valid & FIELD_VALUE[b as usize])
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
    parse_head_prefix(&buf[..len], limits, headers)?
        .ok_or(RequestError::BadRequest("incomplete request head"))
}

/// Parses the head at the start of `buf` in one pass, if it is all there:
/// `Ok(None)` means no rule is broken so far but the head has not ended.
/// This is the fast path for a head that arrived in one read (almost
/// every head): it is parsed without first searching for its end.
pub fn parse_head_prefix(
    buf: &[u8],
    limits: HeadLimits,
    headers: &mut Vec<HeaderSpan>,
) -> Result<Option<Head>, RequestError> {
    headers.clear();
    let Some((mut head, at)) = request_line(buf)? else {
        return Ok(None);
    };
    let Some((len, noted)) = field_lines(buf, at, limits, headers)? else {
        return Ok(None);
    };
    head.len = len;
    head.noted = noted;
    Ok(Some(head))
}

/// The field lines from `at` to the end of the head, appended to
/// `headers`: the length of the head, and what was noted of its fields.
// Inlined (callgrind: 16 instructions per head fewer than a call, which
// cost less than inlining while the loop was larger and ran short of
// registers).
#[inline(always)]
fn field_lines(
    buf: &[u8],
    mut at: usize,
    limits: HeadLimits,
    headers: &mut Vec<HeaderSpan>,
) -> Result<Option<(usize, NotedFields)>, RequestError> {
    let mut noted = NotedFields::default();
    let final_line = loop {
        // One byte tells a field line from the end of the head.
        match buf.get(at) {
            None => return Ok(None),
            Some(b'\n') => break 1,
            Some(b'\r') => match buf.get(at + 1) {
                None => return Ok(None),
                Some(b'\n') => break 2,
                Some(_) => {}
            },
            Some(_) => {}
        }
        if headers.len() == limits.max_headers {
            return Err(RequestError::HeaderFieldsTooLarge);
        }
        let field = match common_field_line(buf, at) {
            Some(field) => field,
            None => match scan_field_line(buf, at)? {
                Some(field) => field,
                None => return Ok(None),
            },
        };
        noted.note(buf, &field);
        headers.push(HeaderSpan {
            name: Span::new(field.name.0, field.name.1),
            value: Span::new(field.value.0, field.value.1),
        });
        at = field.next;
    };
    if at > limits.max_header_bytes {
        return Err(oversize_error(&buf[..at], limits.max_header_bytes));
    }
    Ok(Some((at + final_line, noted)))
}

/// The request line at the start of `buf`, and where the next line
/// starts; `Ok(None)` until its line end has arrived.
// Inlined, as is the common case of `request_line_parts`, so that the
// head is built where it is returned instead of being moved through three
// `Result`s (callgrind: 38 instructions per request).
#[inline(always)]
fn request_line(buf: &[u8]) -> Result<Option<(Head, usize)>, RequestError> {
    if let Some((sp1, sp2, next)) = common_request_line(buf) {
        let version = &buf[sp2 + 1..sp2 + 9];
        return request_line_parts(buf, sp1, sp2, version, Checked::Target)
            .map(|head| Some((head, next)));
    }
    let Some(lf) = buf.iter().position(|&b| b == b'\n') else {
        return Ok(None);
    };
    let line = &buf[..lf];
    parse_request_line(line.strip_suffix(b"\r").unwrap_or(line)).map(|head| Some((head, lf + 1)))
}

/// The usual shape, `token SP visible-ASCII SP <8 bytes> CRLF`, found in
/// one pass that also checks the method and target bytes: the positions of
/// the two spaces and of the next line. `None` for anything else, which
/// [`parse_request_line`] then judges (that function is the rule; this one
/// only saves it two passes over the line).
fn common_request_line(buf: &[u8]) -> Option<(usize, usize, usize)> {
    let (sp1, sp2) = match get_target_end(buf) {
        Some(sp2) => (3, sp2),
        None => request_line_spaces(buf)?,
    };
    match buf.get(sp2 + 9..)? {
        [b'\r', b'\n', ..] => Some((sp1, sp2, sp2 + 11)),
        [b'\n', ..] => Some((sp1, sp2, sp2 + 10)),
        _ => None,
    }
}

/// The second space of a `GET` line: where the visible bytes of its
/// target end. One load of the first sixteen bytes answers for a target
/// that ends in them (`GET / HTTP/1.1` is sixteen with its CRLF); a longer
/// one is searched on from the seventeenth byte, not from its first again.
#[inline(always)]
fn get_target_end(buf: &[u8]) -> Option<usize> {
    let chunk = buf.first_chunk::<{ scan::WIDTH }>()?;
    if chunk.first_chunk() != Some(b"GET ") {
        return None;
    }
    // Bit 0 is the target's first byte: the shift drops the method's.
    let stops = scan::graphic_stops(chunk) >> 4;
    let sp2 = match stops {
        0 => graphic_run(buf, scan::WIDTH)?,
        _ => 4 + stops.trailing_zeros() as usize,
    };
    (sp2 > 4 && buf[sp2] == b' ').then_some(sp2)
}

/// The two spaces of a line that starts `token SP visible-ASCII SP`.
fn request_line_spaces(buf: &[u8]) -> Option<(usize, usize)> {
    let sp1 = match buf.first_chunk::<4>() {
        Some(b"GET ") => 3,
        _ => buf.iter().position(|&b| !TCHAR[b as usize])?,
    };
    if sp1 == 0 || buf[sp1] != b' ' {
        return None;
    }
    let sp2 = graphic_run(buf, sp1 + 1)?;
    if sp2 == sp1 + 1 || buf[sp2] != b' ' {
        return None;
    }
    Some((sp1, sp2))
}

/// Parses a request line (without its line end).
fn parse_request_line(line: &[u8]) -> Result<Head, RequestError> {
    const MALFORMED: RequestError =
        RequestError::BadRequest("request line is not `method SP target SP version`");
    let sp1 = line.iter().position(|&b| b == b' ').ok_or(MALFORMED)?;
    let sp2 = sp1
        + 1
        + line[sp1 + 1..]
            .iter()
            .position(|&b| b == b' ')
            .ok_or(MALFORMED)?;
    if !is_token(&line[..sp1]) {
        return Err(RequestError::BadRequest("method is not a token"));
    }
    request_line_parts(line, sp1, sp2, &line[sp2 + 1..], Checked::Method)
}

/// What a caller of [`request_line_parts`] has already checked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Checked {
    /// The method is a token.
    Method,
    /// The method is a token and every byte of the target is visible
    /// ASCII.
    Target,
}

/// Where the run of visible ASCII bytes from `from` in `buf` ends, or
/// `None` if every byte is one.
fn graphic_run(buf: &[u8], from: usize) -> Option<usize> {
    scan::run_end(buf, from, scan::graphic_stops, |bytes| {
        bytes.iter().position(|b| !b.is_ascii_graphic())
    })
}

/// The head of the request line whose spaces are at `sp1` and `sp2`,
/// whose method is known to be a token, and whose version is `version`;
/// checks the version and the target.
#[inline(always)]
fn request_line_parts(
    line: &[u8],
    sp1: usize,
    sp2: usize,
    version: &[u8],
    checked: Checked,
) -> Result<Head, RequestError> {
    // One integer compare where a byte string compare costs eight.
    let version = match <&[u8; 8]>::try_from(version) {
        Ok(v) if u64::from_le_bytes(*v) == u64::from_le_bytes(*b"HTTP/1.1") => Version::Http11,
        _ => parse_version(version)?,
    };
    let target_start = sp1 + 1;
    let target = &line[target_start..sp2];
    if checked != Checked::Target && !target.iter().all(|&b| b.is_ascii_graphic()) {
        return Err(RequestError::BadRequest("invalid byte in request target"));
    }
    let form = parse_target(target, &line[..sp1])?;
    let at = |(start, end): (usize, usize)| Span::new(target_start + start, target_start + end);
    Ok(Head {
        method: Span::new(0, sp1),
        target: Span::new(target_start, sp2),
        path: at(form.path),
        query: form.query.map(at),
        authority: form.authority.map(at),
        version,
        len: 0,
        noted: NotedFields::default(),
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
/// any visible ASCII byte (checked by the caller): what a path may contain
/// is the handler's rule (the static handler refuses backslashes, for
/// instance, with a 404).
fn parse_target(target: &[u8], method: &[u8]) -> Result<TargetForm, RequestError> {
    match target {
        [] => Err(RequestError::BadRequest("empty request target")),
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
    // No early exit: a branch-free loop the compiler can unroll, cheaper
    // for the short, valid values that are the rule.
    host.iter().fold(true, |valid, &b| valid & HOST[b as usize])
}

/// [`is_valid_host`] of the bytes `host` covers in `buf`: when sixteen
/// bytes from its start are in `buf`, one vector check of the common host
/// bytes (letters, digits, `-.:`) answers for a host of up to sixteen.
fn is_valid_host_in(buf: &[u8], host: Span) -> bool {
    let (start, len) = (host.start as usize, (host.end - host.start) as usize);
    if let Some(chunk) = buf[start..].first_chunk::<{ scan::WIDTH }>() {
        if len <= scan::WIDTH && scan::none_in_first(scan::host_stops(chunk), len) {
            return true;
        }
    }
    is_valid_host(host.of(buf))
}

/// Start and end offsets of a part of a line.
type Offsets = (usize, usize);

/// A field line found by [`scan_field_line`]; offsets are into its buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FieldLine {
    /// The field name.
    pub(crate) name: Offsets,
    /// The value without surrounding whitespace.
    pub(crate) value: Offsets,
    /// Where the next line starts.
    pub(crate) next: usize,
    /// This is a `Host` line whose value is known to be a valid host
    /// ([`is_valid_host`]): it was checked on the way. False: another
    /// line, or not known.
    pub(crate) valid_host: bool,
}

const CONTROL_IN_VALUE: RequestError =
    RequestError::BadRequest("control character in header value");

/// Reads the field line `name ":" OWS value OWS` starting at `start`, up
/// to and including its line end (LF or CRLF), validating each byte once.
/// `Ok(None)`: the line has not ended yet. Shared by the head and by
/// chunked trailers.
// Inlined into the head loop so that the line it finds comes back in
// registers, not through memory (callgrind: 41 instructions per request).
#[inline(always)]
pub(crate) fn scan_field_line(buf: &[u8], start: usize) -> Result<Option<FieldLine>, RequestError> {
    let Some(name_end) = token_run(buf, start) else {
        return Ok(None);
    };
    if name_end == start || buf.get(name_end) != Some(&b':') {
        return field_name_error(buf.get(start..).unwrap_or_default());
    }
    let mut value_start = name_end + 1;
    // Nearly always one space: taken without a loop.
    if buf.get(value_start) == Some(&b' ') {
        value_start += 1;
    }
    while let Some(b' ' | b'\t') = buf.get(value_start) {
        value_start += 1;
    }
    let Some(end) = value_run(buf, value_start) else {
        return Ok(None);
    };
    let next = match buf.get(end..) {
        Some([b'\r', b'\n', ..]) => end + 2,
        Some([b'\n', ..]) => end + 1,
        Some([b'\r']) => return Ok(None),
        _ => return Err(CONTROL_IN_VALUE),
    };
    Ok(Some(FieldLine {
        name: (start, name_end),
        value: (value_start, trimmed_end(buf, value_start, end)),
        next,
        valid_host: false,
    }))
}

/// The usual field line, `name ":" [SP] value OWS CRLF` whose name of
/// letters, digits and `-` ends in the sixteen bytes from `start`, read
/// from one load of those bytes: their name stops give the colon, and
/// their value stops the value's end when it is in them too (a value
/// that goes on is searched from the chunk's end). The same line
/// [`scan_field_line`] would find, or `None` for anything else (another
/// name byte, more whitespace, an error, a line not yet ended, fewer than
/// sixteen bytes left), which that function then judges: it is the rule,
/// this one only saves it a second search of the same bytes.
#[inline(always)]
fn common_field_line(buf: &[u8], start: usize) -> Option<FieldLine> {
    let chunk = buf.get(start..)?.first_chunk::<{ scan::WIDTH }>()?;
    let (names, values) = scan::field_stops(chunk);
    let name_len = names.trailing_zeros() as usize;
    if name_len == 0 || chunk.get(name_len) != Some(&b':') {
        return None;
    }
    let mut value_start = name_len + 1;
    if chunk.get(value_start) == Some(&b' ') {
        value_start += 1;
    }
    if matches!(buf.get(start + value_start), Some(b' ' | b'\t')) {
        return None;
    }
    let (end, valid_host) = if name_len == 4 && chunk.first_chunk().is_some_and(is_host) {
        host_value_end(buf, start + value_start)?
    } else {
        // `value_start <= 16` (the colon is in the chunk): the shift is in
        // range, and leaves no bit when the value starts after the chunk.
        let rest = values >> value_start;
        let end = match rest {
            0 => value_run(buf, start + value_start.max(scan::WIDTH))?,
            _ => start + value_start + rest.trailing_zeros() as usize,
        };
        (end, false)
    };
    let next = match buf.get(end..)? {
        [b'\r', b'\n', ..] => end + 2,
        [b'\n', ..] => end + 1,
        _ => return None,
    };
    let value_start = start + value_start;
    Some(FieldLine {
        name: (start, start + name_len),
        value: (value_start, trimmed_end(buf, value_start, end)),
        next,
        valid_host,
    })
}

/// The end of a `Host` value that starts at `from` and ends in the sixteen
/// bytes from there, found from one load that also tells whether the bytes
/// before that end are all letters, digits, `-`, `.` and `:` (then the
/// value, whatever its trailing whitespace, is a valid host; else it is
/// not known and [`is_valid_host`] judges it). `None` for a longer value,
/// which the rule then reads.
#[inline(always)]
fn host_value_end(buf: &[u8], from: usize) -> Option<(usize, bool)> {
    let chunk = buf.get(from..)?.first_chunk::<{ scan::WIDTH }>()?;
    let (hosts, values) = scan::host_value_stops(chunk);
    if values == 0 {
        return None;
    }
    let len = values.trailing_zeros();
    Some((
        from + len as usize,
        scan::none_in_first(hosts, len as usize),
    ))
}

/// Where the value `buf[start..end]` ends without its trailing
/// whitespace. It holds no control byte but tab, so that is SP and HTAB
/// only; nearly every value has none, which one byte tells.
#[inline(always)]
fn trimmed_end(buf: &[u8], start: usize, end: usize) -> usize {
    match buf.get(start..end) {
        Some(value @ [.., b' ' | b'\t']) => start + value.trim_ascii_end().len(),
        _ => end,
    }
}

/// Where the run of `tchar`s from `from` in `buf` ends, or `None` if
/// every byte is one. Vector checks find the end of the letters, digits
/// and dashes of nearly every name (normally at its colon); the table
/// goes on from a stop that is another `tchar`.
#[inline(always)]
fn token_run(buf: &[u8], from: usize) -> Option<usize> {
    let tchar_run = |bytes: &[u8]| bytes.iter().position(|&b| !TCHAR[b as usize]);
    let common = scan::run_end(buf, from, scan::name_stops, tchar_run)?;
    // Nearly every name ends at its colon, which is no `tchar`.
    match buf.get(common) {
        Some(&b) if b == b':' || !TCHAR[b as usize] => return Some(common),
        _ => {}
    }
    tchar_run(&buf[common..]).map(|n| common + n)
}

/// Where the run of field-value bytes from `from` in `buf` ends, or `None`
/// if every byte is one. Values are most of a head's bytes, so they are
/// checked sixteen at a time with vector compares, and a buffer shorter
/// than that eight at a time ([`word_value_run`]).
#[inline(always)]
fn value_run(buf: &[u8], from: usize) -> Option<usize> {
    scan::run_end(buf, from, scan::value_stops, word_value_run)
}

/// The length of the run of field-value bytes that `bytes` starts with, or
/// `None` if every byte is one.
#[cfg(test)]
fn field_value_run(bytes: &[u8]) -> Option<usize> {
    value_run(bytes, 0)
}

/// [`field_value_run`] eight bytes at a time (SWAR): the word's
/// control-byte mask says where the first byte below 0x20 or equal to
/// 0x7F is. A tab there is a value byte, and the search goes on after it;
/// anything else ends the run (normally the CR or LF of the line end).
fn word_value_run(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(Ok(chunk)) = bytes.get(at..at + 8).map(<[u8; 8]>::try_from) {
        let controls = control_bytes(u64::from_le_bytes(chunk));
        if controls == 0 {
            at += 8;
            continue;
        }
        let first = at + (controls.trailing_zeros() / 8) as usize;
        if bytes[first] != b'\t' {
            return Some(first);
        }
        at = first + 1;
    }
    bytes[at..]
        .iter()
        .position(|&b| !FIELD_VALUE[b as usize])
        .map(|n| at + n)
}

/// A mask whose lowest set bit is the high bit of the first byte of
/// `word` (little-endian) that is below 0x20 or is 0x7F; zero if none.
/// ("hasless" and "haszero" from Bit Twiddling Hacks: borrows only run
/// upwards, so bits above the first match may be wrong, the lowest never.)
fn control_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let del = word ^ (ONES * 0x7f);
    let is_del = del.wrapping_sub(ONES) & !del & HIGH;
    below_space | is_del
}

/// Why a line that does not start with `token ":"` is not a field line.
/// The answer depends on the whole line, so it waits for the line's end.
fn field_name_error(line: &[u8]) -> Result<Option<FieldLine>, RequestError> {
    let Some(lf) = line.iter().position(|&b| b == b'\n') else {
        return Ok(None);
    };
    let line = &line[..lf];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Err(RequestError::BadRequest(
        match line.iter().position(|&b| b == b':') {
            _ if matches!(line.first(), Some(b' ' | b'\t')) => "obsolete line folding",
            None => "header field without a colon",
            Some(colon) if matches!(line[..colon].last(), Some(b' ' | b'\t')) => {
                "whitespace before colon"
            }
            Some(_) => "header name is not a token",
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_check_finds_the_first_control_byte() {
        // Every byte value, at every position of a word of otherwise
        // plain bytes, with a second control byte above it or not.
        for b in 0..=255u8 {
            for position in 0..8 {
                for later in [None, Some(0u8), Some(b'\r'), Some(0x7f)] {
                    let mut bytes = *b"abcdefgh";
                    bytes[position] = b;
                    if let Some(later) = later.filter(|_| position < 7) {
                        bytes[7] = later;
                    }
                    let controls = control_bytes(u64::from_le_bytes(bytes));
                    let first = bytes
                        .iter()
                        .position(|&b| !FIELD_VALUE[b as usize] || b == b'\t');
                    let found = (controls != 0).then(|| (controls.trailing_zeros() / 8) as usize);
                    assert_eq!(found, first, "{bytes:?}");
                }
            }
        }
    }

    /// The `GET` line read from one load, or searched on past it, finds
    /// the spaces the rule finds, for every byte value at every position of
    /// lines whose target ends before, at and after the sixteenth byte.
    #[test]
    fn gets_are_the_rules_request_lines() {
        let mut found = 0;
        for line in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"GET /abcdefghi HTTP/1.1\r\n",
            b"GET /abcdefghij HTTP/1.1\r\n",
            b"GET /abcdefghijk HTTP/1.1\r\n",
            b"GET /static/css/main.css?v=3 HTTP/1.1\r\n",
        ] {
            for position in 0..line.len() {
                for b in 0..=255u8 {
                    let mut bytes = line.to_vec();
                    bytes[position] = b;
                    if let Some(sp2) = get_target_end(&bytes) {
                        found += 1;
                        assert_eq!(request_line_spaces(&bytes), Some((3, sp2)), "{bytes:?}");
                    }
                }
            }
        }
        assert!(found > 1000, "{found}");
    }

    /// The word compare that notes `Host` answers as `is_name` does, for
    /// every byte value at every position of the name.
    #[test]
    fn host_is_noted_exactly_when_the_name_is_host() {
        for position in 0..4 {
            for b in 0..=255u8 {
                let mut buf = *b"host: x";
                buf[position] = b;
                let mut noted = NotedFields::default();
                let field = FieldLine {
                    name: (0, 4),
                    value: (6, 7),
                    next: 7,
                    valid_host: false,
                };
                noted.note(&buf, &field);
                assert_eq!(noted.hosts == 1, is_name(&buf[..4], b"host"), "{buf:?}");
            }
        }
    }

    /// Every byte value at every position of field lines of several
    /// shapes (value in the chunk, value going on past it, name ending at
    /// the chunk's end, short buffers): whenever the one-load path finds
    /// a line, it is the line the rule finds.
    #[test]
    fn common_field_lines_are_the_rules_lines() {
        let lines: [&[u8]; 6] = [
            b"Accept: */*\r\n\r\n",
            b"Host: 127.0.0.1:45678\r\nUser-Agent: wrk\r\n",
            b"User-Agent: wrk\r\nX",
            b"abcdefghijklmno: v \t\r\nX: y\r\n",
            b"abcdefghijklmn:  v\nX: y\r\n\r\n",
            b"A:\r\n\r\n0123456789abcdef",
        ];
        let (mut found, mut hosts) = (0, 0);
        for line in lines {
            for position in 0..line.len() {
                for b in 0..=255u8 {
                    let mut bytes = line.to_vec();
                    bytes[position] = b;
                    for len in [bytes.len(), position + 1] {
                        let buf = &bytes[..len];
                        if let Some(common) = common_field_line(buf, 0) {
                            found += 1;
                            hosts += usize::from(common.valid_host);
                            let value = &buf[common.value.0..common.value.1];
                            // A host known valid is a valid host, in a Host
                            // line; the rule does not judge hosts.
                            let name = &buf[common.name.0..common.name.1];
                            assert!(
                                !common.valid_host
                                    || is_valid_host(value) && is_name(name, b"host"),
                                "{buf:?}"
                            );
                            let rule = FieldLine {
                                valid_host: false,
                                ..common
                            };
                            assert_eq!(scan_field_line(buf, 0), Ok(Some(rule)), "{buf:?}");
                        }
                    }
                }
            }
        }
        assert!(found > 1000 && hosts > 100, "{found} {hosts}");
    }

    #[test]
    fn value_runs_stop_at_the_first_control_byte() {
        let value = b"text/html,application/xhtml+xml;q=0.9\t, */*\r\n";
        let end = value.iter().position(|&b| b == b'\r').unwrap();
        for start in 0..end {
            assert_eq!(field_value_run(&value[start..]), Some(end - start));
        }
        assert_eq!(field_value_run(b"no line end yet"), None);
        assert_eq!(field_value_run(b"0123456789abcdef\x00"), Some(16));
    }
}
