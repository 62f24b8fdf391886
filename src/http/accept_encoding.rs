//! `Accept-Encoding` (RFC 9110 §12.5.3): which content codings a client
//! takes, and which of the ones we have to send it gets.
//!
//! Parsed without allocating (it runs on the cached static-file path): the
//! field values are scanned once into one q-value per coding we know.
//! The rules, as the RFC has them and browsers rely on:
//!
//! - no `Accept-Encoding` field, or an empty one: only the unencoded
//!   representation (`identity`). The RFC allows any coding then, but a
//!   client that says nothing (curl, scripts) expects plain bytes, and
//!   nginx and Caddy send it plain too;
//! - `*` stands for every coding not named elsewhere, `identity` included;
//! - `identity` is acceptable unless `identity;q=0`, or `*;q=0` without
//!   `identity` named;
//! - names are case-insensitive; `x-gzip` is `gzip` (§8.4.1.3);
//! - a q-value is `0` to `1` with at most three decimals; an element with a
//!   malformed one is ignored (as if not sent), so that garbage never turns
//!   a coding on;
//! - a coding named twice keeps its highest q-value.
//!
//! [`AcceptEncoding::choose`] picks, among the codings available, the one
//! with the highest q-value, ties broken br, zstd, gzip, then identity:
//! the smallest copy first, the plain one last.

/// A content coding we can send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Coding {
    /// Brotli (`br`).
    Br,
    /// Zstandard (`zstd`).
    Zstd,
    /// gzip (`gzip`).
    Gzip,
    /// No coding: the representation itself.
    Identity,
}

impl Coding {
    /// Every coding, in the order ties are broken.
    pub const ALL: [Coding; 4] = [Coding::Br, Coding::Zstd, Coding::Gzip, Coding::Identity];

    /// The codings that are files beside the original, with their suffix.
    pub const SIDECARS: [(Coding, &'static str); 3] = [
        (Coding::Br, ".br"),
        (Coding::Zstd, ".zst"),
        (Coding::Gzip, ".gz"),
    ];

    /// The name in `Content-Encoding`; `None` for identity, which is not sent.
    pub fn content_encoding(self) -> Option<&'static str> {
        match self {
            Coding::Br => Some("br"),
            Coding::Zstd => Some("zstd"),
            Coding::Gzip => Some("gzip"),
            Coding::Identity => None,
        }
    }

    /// Position in [`Coding::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    fn named(name: &[u8]) -> Option<Coding> {
        [
            (&b"br"[..], Coding::Br),
            (b"zstd", Coding::Zstd),
            (b"gzip", Coding::Gzip),
            (b"x-gzip", Coding::Gzip),
            (b"identity", Coding::Identity),
        ]
        .into_iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|(_, coding)| coding)
    }
}

/// A set of codings (which copies of a file exist).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Codings(u8);

impl Codings {
    /// Only the plain representation.
    pub const IDENTITY: Codings = Codings(1 << Coding::Identity as u8);

    /// This set with `coding` in it.
    pub fn with(self, coding: Coding) -> Codings {
        Codings(self.0 | 1 << coding as u8)
    }

    /// Whether `coding` is in the set.
    pub fn contains(self, coding: Coding) -> bool {
        self.0 & 1 << coding as u8 != 0
    }

    /// Whether the set holds more than the plain representation, so that
    /// the answer depends on `Accept-Encoding` (and says `Vary`).
    pub fn has_alternatives(self) -> bool {
        self.0 & !Codings::IDENTITY.0 != 0
    }
}

/// The q-values a request gives each coding, in thousandths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcceptEncoding {
    /// Per coding (indexed by [`Coding::index`]); `None` when not named.
    named: [Option<u16>; 4],
    /// The q-value of `*`, when sent.
    star: Option<u16>,
    /// Whether a field was sent at all.
    sent: bool,
}

impl AcceptEncoding {
    /// Reads every `Accept-Encoding` field value of a request (a list may
    /// be split over several fields).
    pub fn parse<'a>(fields: impl IntoIterator<Item = &'a [u8]>) -> AcceptEncoding {
        let mut accept = AcceptEncoding {
            named: [None; 4],
            star: None,
            sent: false,
        };
        for value in fields {
            accept.sent = true;
            for element in value.split(|&b| b == b',') {
                accept.add(element);
            }
        }
        accept
    }

    fn add(&mut self, element: &[u8]) {
        let mut parts = element.split(|&b| b == b';');
        let name = parts.next().unwrap_or_default().trim_ascii();
        if name.is_empty() {
            return;
        }
        let mut q = 1000;
        for param in parts {
            let param = param.trim_ascii();
            match param.split_first() {
                Some((b'q' | b'Q', rest)) if rest.trim_ascii_start().starts_with(b"=") => {
                    match qvalue(rest.trim_ascii_start()[1..].trim_ascii()) {
                        Some(value) => q = value,
                        None => return,
                    }
                }
                // Other parameters mean nothing for codings; ignored.
                _ => {}
            }
        }
        let slot = if name == b"*" {
            &mut self.star
        } else if let Some(coding) = Coding::named(name) {
            &mut self.named[coding.index()]
        } else {
            return;
        };
        *slot = Some(slot.map_or(q, |old| old.max(q)));
    }

    /// The q-value of `coding` for this request, in thousandths; 0 is
    /// "not acceptable".
    pub fn q(&self, coding: Coding) -> u16 {
        if !self.sent {
            return if coding == Coding::Identity { 1000 } else { 0 };
        }
        match (self.named[coding.index()], self.star, coding) {
            (Some(q), _, _) => q,
            (None, Some(star), _) => star,
            // identity is acceptable unless refused (RFC 9110 §12.5.3).
            (None, None, Coding::Identity) => 1,
            (None, None, _) => 0,
        }
    }

    /// The coding to send among `available`: the highest q-value, ties
    /// broken in [`Coding::ALL`] order; `None` when nothing available is
    /// acceptable (406).
    pub fn choose(&self, available: Codings) -> Option<Coding> {
        let mut best: Option<(Coding, u16)> = None;
        for coding in Coding::ALL {
            let q = self.q(coding);
            if available.contains(coding) && q > 0 && best.is_none_or(|(_, b)| q > b) {
                best = Some((coding, q));
            }
        }
        best.map(|(coding, _)| coding)
    }
}

/// `0`, `0.5`, `1.000`... (RFC 9110 §12.4.2) in thousandths.
fn qvalue(text: &[u8]) -> Option<u16> {
    let (whole, fraction) = match text.iter().position(|&b| b == b'.') {
        Some(dot) => (&text[..dot], &text[dot + 1..]),
        None => (text, &b""[..]),
    };
    if fraction.len() > 3 || !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for at in 0..3 {
        let digit = fraction.get(at).map_or(0, |d| u16::from(d - b'0'));
        thousandths = thousandths * 10 + digit;
    }
    match whole {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(fields: &[&str]) -> AcceptEncoding {
        AcceptEncoding::parse(fields.iter().map(|f| f.as_bytes()))
    }

    const ALL: Codings = Codings(0b1111);

    fn choice(fields: &[&str], available: Codings) -> Option<Coding> {
        accept(fields).choose(available)
    }

    #[test]
    fn qvalues() {
        assert_eq!(qvalue(b"1"), Some(1000));
        assert_eq!(qvalue(b"1."), Some(1000));
        assert_eq!(qvalue(b"1.000"), Some(1000));
        assert_eq!(qvalue(b"0"), Some(0));
        assert_eq!(qvalue(b"0.5"), Some(500));
        assert_eq!(qvalue(b"0.05"), Some(50));
        assert_eq!(qvalue(b"0.001"), Some(1));
        for bad in [
            &b"1.001"[..],
            b"2",
            b"0.0001",
            b"-0",
            b".5",
            b"",
            b"0.5x",
            b"01",
            b"1e0",
        ] {
            assert_eq!(qvalue(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn no_field_means_plain_only() {
        assert_eq!(choice(&[], ALL), Some(Coding::Identity));
        assert_eq!(choice(&[""], ALL), Some(Coding::Identity));
        assert_eq!(choice(&[" , ,"], ALL), Some(Coding::Identity));
    }

    #[test]
    fn highest_q_wins_and_ties_go_to_the_smallest() {
        assert_eq!(choice(&["gzip, br"], ALL), Some(Coding::Br));
        assert_eq!(choice(&["gzip, zstd"], ALL), Some(Coding::Zstd));
        assert_eq!(choice(&["br;q=0.5, gzip"], ALL), Some(Coding::Gzip));
        assert_eq!(
            choice(&["gzip;q=0.9, identity"], ALL),
            Some(Coding::Identity)
        );
        assert_eq!(choice(&["gzip, identity"], ALL), Some(Coding::Gzip));
        assert_eq!(
            choice(
                &["gzip, deflate, br, zstd"],
                Codings::IDENTITY.with(Coding::Gzip)
            ),
            Some(Coding::Gzip)
        );
        assert_eq!(choice(&["br"], Codings::IDENTITY), Some(Coding::Identity));
    }

    #[test]
    fn star_identity_and_refusals() {
        assert_eq!(choice(&["*"], ALL), Some(Coding::Br));
        assert_eq!(choice(&["*;q=0"], ALL), None);
        assert_eq!(choice(&["*;q=0, gzip"], ALL), Some(Coding::Gzip));
        assert_eq!(choice(&["*;q=0, identity"], ALL), Some(Coding::Identity));
        assert_eq!(choice(&["identity;q=0"], Codings::IDENTITY), None);
        assert_eq!(
            choice(&["br, identity;q=0"], Codings::IDENTITY.with(Coding::Gzip)),
            None
        );
        assert_eq!(choice(&["gzip;q=0"], ALL), Some(Coding::Identity));
        assert_eq!(choice(&["*, br;q=0"], ALL), Some(Coding::Zstd));
        assert_eq!(choice(&["br;q=0.2, *;q=0.1"], ALL), Some(Coding::Br));
        assert_eq!(accept(&["deflate"]).q(Coding::Identity), 1);
    }

    #[test]
    fn spelling_and_malformed_elements() {
        assert_eq!(choice(&["GZip ; Q = 0.5"], ALL), Some(Coding::Gzip));
        assert_eq!(choice(&["x-gzip"], ALL), Some(Coding::Gzip));
        assert_eq!(
            choice(&["br;q=2"], ALL),
            Some(Coding::Identity),
            "bad q ignored"
        );
        assert_eq!(choice(&["br;q="], ALL), Some(Coding::Identity));
        assert_eq!(choice(&["br;level=1"], ALL), Some(Coding::Br));
        assert_eq!(choice(&["brotli, gz"], ALL), Some(Coding::Identity));
        assert_eq!(
            choice(&["br;q=0, br"], ALL),
            Some(Coding::Br),
            "highest kept"
        );
        assert_eq!(choice(&["identity;q=0,", "gzip"], ALL), Some(Coding::Gzip));
        assert_eq!(
            choice(&["gzip;q=0.001, identity;q=0"], ALL),
            Some(Coding::Gzip)
        );
    }
}
