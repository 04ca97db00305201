//! A lossless, line-based model of an AWS shared credentials or config file.
//!
//! Every line is kept as a byte span of the original text plus its line ending, so
//! `render(parse(x)) == x` byte for byte (comments, blank lines, indentation, spacing around
//! `=`, CRLF/LF mixed, a UTF-8 BOM, trailing whitespace, a missing final newline). Settings keep
//! the byte span of their key and of their value, which is what the one writer (`edit`) splices.
//!
//! The line rules are those of the AWS SDK for Rust (`aws-runtime` `env_config::parse`):
//! - a line that is empty or only spaces/tabs is blank; a line starting with `#` or `;` is a
//!   comment (an indented `#` is not: it is a continuation line);
//! - a line starting with `[` is a section header; a `#`/`;` anywhere in it starts a comment;
//!   it must end with `]`;
//! - a line starting with a space or tab continues the previous setting (for `s3 =` style
//!   blocks each such line must itself be `key = value`);
//! - any other line is `key = value`: the first `=` splits; key and value are trimmed of spaces
//!   and tabs; a `#`/`;` preceded by whitespace starts a comment; keys are case-insensitive.
//!
//! This module depends on nothing else in the crate (the fuzz targets include it by path) and
//! never puts file contents in errors or `Debug` output: values may be secrets.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// What the SDK counts as whitespace inside a line.
pub const WHITESPACE: &[char] = &[' ', '\t'];
const COMMENT: &[char] = &['#', ';'];
const BOM: &str = "\u{feff}";

/// How a line ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eol {
    /// The last line of a file without a final newline.
    None,
    Lf,
    CrLf,
}

impl Eol {
    pub fn as_str(self) -> &'static str {
        match self {
            Eol::None => "",
            Eol::Lf => "\n",
            Eol::CrLf => "\r\n",
        }
    }
}

/// What a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    Blank,
    Comment,
    /// A `[...]` header: index into `Document::sections`.
    Header {
        section: usize,
    },
    /// A `key = value` line: section and entry index.
    Setting {
        section: usize,
        entry: usize,
    },
    /// An indented line continuing that entry's value.
    Continuation {
        section: usize,
        entry: usize,
    },
}

/// One line: its content span (without the line ending) and its ending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub span: Range<usize>,
    pub eol: Eol,
    pub kind: LineKind,
}

/// A `[...]` section as written. Names are not secret; values are never stored here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// 1-based line of the header.
    pub line: usize,
    /// `profile` in `[profile work]`; None for `[work]`.
    pub prefix: Option<String>,
    /// `work` in `[profile work]` or `[work]`.
    pub name: String,
    pub entries: Vec<Entry>,
}

impl Section {
    /// The entry the SDK uses for `key` in this section (the last one: later keys win).
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| e.key == key)
    }
}

/// One `key = value` setting: spans only (the value may be a secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Lower-cased key, as the SDK compares them.
    pub key: String,
    /// 1-based line of the `key = value` line.
    pub line: usize,
    pub key_span: Range<usize>,
    /// The value on the first line (trimmed, without a trailing comment). May be empty.
    pub value_span: Range<usize>,
    /// Trimmed spans of indented continuation lines (the SDK joins them with `\n`).
    pub continuations: Vec<Range<usize>>,
}

/// A line that breaks the file format. Says which line and how to fix it, never the content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    pub message: String,
    pub hint: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A parsed file that renders back to its exact bytes.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Document {
    text: String,
    bom: bool,
    lines: Vec<Line>,
    sections: Vec<Section>,
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the text: it holds secrets.
        f.debug_struct("Document")
            .field("bytes", &self.text.len())
            .field("bom", &self.bom)
            .field("lines", &self.lines.len())
            .field("sections", &self.sections.len())
            .finish()
    }
}

impl Document {
    /// Parses raw bytes (checks UTF-8 first).
    pub fn parse_bytes(bytes: &[u8]) -> Result<Document, ParseError> {
        match std::str::from_utf8(bytes) {
            Ok(s) => Document::parse(s),
            Err(e) => {
                let at = e.valid_up_to();
                let line = 1 + bytes[..at].iter().filter(|b| **b == b'\n').count();
                Err(ParseError {
                    line,
                    message: format!("not valid UTF-8 (byte {} of the file)", at + 1),
                    hint: "save the file as UTF-8 (for example `iconv -f latin1 -t utf-8`)".into(),
                })
            }
        }
    }

    /// Parses text. Fails on the lines the AWS SDK rejects.
    pub fn parse(text: &str) -> Result<Document, ParseError> {
        Parser::new(text).run()
    }

    /// The original text, BOM included.
    pub fn text(&self) -> &str {
        &self.text
    }
    pub fn as_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }
    /// True when the file starts with a UTF-8 byte order mark.
    pub fn has_bom(&self) -> bool {
        self.bom
    }
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }
    pub fn slice(&self, span: &Range<usize>) -> &str {
        &self.text[span.clone()]
    }

    /// Rebuilds the file from its lines: BOM, then each line's content and ending.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(self.text.len());
        if self.bom {
            out.push_str(BOM);
        }
        for l in &self.lines {
            out.push_str(&self.text[l.span.clone()]);
            out.push_str(l.eol.as_str());
        }
        out
    }

    /// The value as the SDK sees it: first-line value, then `\n` + each continuation.
    pub fn value(&self, e: &Entry) -> Cow<'_, str> {
        let first = &self.text[e.value_span.clone()];
        if e.continuations.is_empty() {
            return Cow::Borrowed(first);
        }
        let mut s = first.to_string();
        for c in &e.continuations {
            s.push('\n');
            s.push_str(&self.text[c.clone()]);
        }
        Cow::Owned(s)
    }

    /// Can this entry's value be replaced by printable ASCII without changing how the line
    /// parses? Not when it continues on indented lines, nor when a `#`/`;` follows the value
    /// directly (the value then ends in a non-space whitespace such as a bare CR, and the
    /// comment would stop being a comment).
    pub fn replaceable(&self, e: &Entry) -> bool {
        e.continuations.is_empty() && !self.text[e.value_span.end..].starts_with(COMMENT)
    }

    /// The text with each span replaced by its string. Spans must not overlap (checked).
    pub fn splice(&self, edits: &[(Range<usize>, &str)]) -> Result<String, String> {
        splice(&self.text, edits)
    }
}

/// Replaces the given byte spans of `text`. Spans must lie on char boundaries and not overlap.
pub fn splice(text: &str, edits: &[(Range<usize>, &str)]) -> Result<String, String> {
    let mut sorted: Vec<&(Range<usize>, &str)> = edits.iter().collect();
    sorted.sort_by_key(|(r, _)| (r.start, r.end));
    let extra: usize = sorted.iter().map(|(_, s)| s.len()).sum();
    let mut out = String::with_capacity(text.len() + extra);
    let mut pos = 0;
    for (r, s) in sorted {
        if r.start < pos || r.end < r.start || r.end > text.len() {
            return Err("overlapping or out-of-range edit".into());
        }
        if !text.is_char_boundary(r.start) || !text.is_char_boundary(r.end) {
            return Err("edit not on a character boundary".into());
        }
        out.push_str(&text[pos..r.start]);
        out.push_str(s);
        pos = r.end;
    }
    out.push_str(&text[pos..]);
    Ok(out)
}

/// Splits `[profile work]`'s inside into (`profile`, `work`) the way the SDK does.
pub fn split_section_name(inner: &str) -> (Option<String>, String) {
    let input = inner.trim_matches(WHITESPACE);
    match input.split_once(WHITESPACE) {
        Some((prefix, suffix)) => (Some(prefix.trim().to_string()), suffix.trim().to_string()),
        None => (None, input.trim().to_string()),
    }
}

/// `[A-Za-z0-9_\-/.%@:+]+`: what the SDK accepts as a profile name or key.
pub fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
}

struct Parser<'a> {
    text: &'a str,
    lines: Vec<Line>,
    sections: Vec<Section>,
    /// (entry index in the current section, value was empty = `s3 =` block)
    property: Option<(usize, bool)>,
}

/// Byte index where a trailing comment starts, SDK style: a `#`/`;` preceded by whitespace
/// (or anywhere when `need_ws` is false).
fn comment_start(s: &str, need_ws: bool) -> Option<usize> {
    let mut prev_ws = false;
    for (i, c) in s.char_indices() {
        if COMMENT.contains(&c) && (prev_ws || !need_ws) {
            return Some(i);
        }
        prev_ws = c.is_whitespace();
    }
    None
}

/// Trims SDK whitespace from a span of `text`.
fn trim_span(text: &str, span: Range<usize>) -> Range<usize> {
    let s = &text[span.clone()];
    let lead = s.len() - s.trim_start_matches(WHITESPACE).len();
    let t = s.trim_matches(WHITESPACE);
    span.start + lead..span.start + lead + t.len()
}

/// `key = value` within `span` (comments stripped, SDK rules): (key span, value span).
fn split_setting(
    text: &str,
    span: Range<usize>,
    what: &str,
) -> Result<(Range<usize>, Range<usize>), (String, String)> {
    let body = trim_span(text, span);
    let s = &text[body.clone()];
    let body = match comment_start(s, true) {
        Some(i) => trim_span(text, body.start..body.start + i),
        None => body,
    };
    let s = &text[body.clone()];
    let Some(eq) = s.find('=') else {
        return Err((
            format!("expected `key = value` ({what} without `=`)"),
            "write it as `key = value`, make it a comment with `#`, or remove it".into(),
        ));
    };
    let key = trim_span(text, body.start..body.start + eq);
    if key.is_empty() {
        return Err((
            format!("{what} has no name before `=`"),
            "write it as `key = value` or remove the line".into(),
        ));
    }
    let value = trim_span(text, body.start + eq + 1..body.end);
    Ok((key, value))
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            text,
            lines: Vec::new(),
            sections: Vec::new(),
            property: None,
        }
    }

    fn run(mut self) -> Result<Document, ParseError> {
        let text = self.text;
        let bom = text.starts_with(BOM);
        let mut pos = if bom { BOM.len() } else { 0 };
        let mut line_no = 0usize;
        while pos < text.len() {
            line_no += 1;
            let (end, next, eol) = match text[pos..].find('\n') {
                Some(i) => {
                    let nl = pos + i;
                    if nl > pos && text.as_bytes()[nl - 1] == b'\r' {
                        (nl - 1, nl + 1, Eol::CrLf)
                    } else {
                        (nl, nl + 1, Eol::Lf)
                    }
                }
                None => (text.len(), text.len(), Eol::None),
            };
            let kind = self
                .line(pos..end, line_no)
                .map_err(|(message, hint)| ParseError {
                    line: line_no,
                    message,
                    hint,
                })?;
            self.lines.push(Line {
                span: pos..end,
                eol,
                kind,
            });
            pos = next;
        }
        Ok(Document {
            text: text.to_string(),
            bom,
            lines: self.lines,
            sections: self.sections,
        })
    }

    fn line(&mut self, span: Range<usize>, line_no: usize) -> Result<LineKind, (String, String)> {
        let text = self.text;
        let content = &text[span.clone()];
        if content.trim_matches(WHITESPACE).is_empty() {
            return Ok(LineKind::Blank);
        }
        if content.starts_with(COMMENT) {
            return Ok(LineKind::Comment);
        }
        if content.starts_with('[') {
            return self.header(span, line_no);
        }
        if content.starts_with(WHITESPACE) {
            return self.continuation(span);
        }
        self.setting(span, line_no)
    }

    fn header(&mut self, span: Range<usize>, line_no: usize) -> Result<LineKind, (String, String)> {
        let content = &self.text[span];
        let t = content.trim_matches(WHITESPACE);
        let t = match comment_start(t, false) {
            Some(i) => t[..i].trim_matches(WHITESPACE),
            None => t,
        };
        let inner = t.strip_prefix('[').and_then(|r| r.strip_suffix(']'));
        let Some(inner) = inner else {
            return Err((
                "section header is not closed with `]`".into(),
                "close it, e.g. `[profile-name]` (`#` or `;` inside a header starts a comment)"
                    .into(),
            ));
        };
        let (prefix, name) = split_section_name(inner);
        self.sections.push(Section {
            line: line_no,
            prefix,
            name,
            entries: Vec::new(),
        });
        self.property = None;
        Ok(LineKind::Header {
            section: self.sections.len() - 1,
        })
    }

    fn setting(
        &mut self,
        span: Range<usize>,
        line_no: usize,
    ) -> Result<LineKind, (String, String)> {
        if self.sections.is_empty() {
            return Err((
                "a setting before any `[section]` header".into(),
                "put settings under a header such as `[default]`, or remove the line".into(),
            ));
        }
        let (key_span, value_span) = split_setting(self.text, span, "the line")?;
        let key = self.text[key_span.clone()].to_ascii_lowercase();
        let empty = value_span.is_empty();
        let section = self.sections.len() - 1;
        let entries = &mut self.sections[section].entries;
        entries.push(Entry {
            key,
            line: line_no,
            key_span,
            value_span,
            continuations: Vec::new(),
        });
        let entry = entries.len() - 1;
        self.property = Some((entry, empty));
        Ok(LineKind::Setting { section, entry })
    }

    fn continuation(&mut self, span: Range<usize>) -> Result<LineKind, (String, String)> {
        if self.sections.is_empty() {
            return Err((
                "an indented line before any `[section]` header".into(),
                "remove the leading spaces/tabs and put it under a header, or remove the line"
                    .into(),
            ));
        }
        let Some((entry, block)) = self.property else {
            return Err((
                "an indented line that continues no setting".into(),
                "remove the leading spaces/tabs (only lines under a `key =` line such as `s3 =` may be indented)".into(),
            ));
        };
        if block {
            split_setting(
                self.text,
                span.clone(),
                "an indented line of a `key =` block",
            )?;
        }
        let section = self.sections.len() - 1;
        let trimmed = trim_span(self.text, span);
        self.sections[section].entries[entry]
            .continuations
            .push(trimmed);
        Ok(LineKind::Continuation { section, entry })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(s: &str) -> Document {
        Document::parse(s).expect("parses")
    }

    #[test]
    fn round_trips_odd_shapes() {
        for s in [
            "",
            "\n",
            "\u{feff}[default]\r\naws_access_key_id=AKIAIOSFODNN7EXAMPLE\r\n",
            "[a]\nk = v   \n\n; c\n# c\n[b] # x\nk=v",
            "[profile x]\ns3 =\n  max_concurrent_requests = 10\n\n  region = us-west-2\n",
            "[a]\r\nk=v\nj=w\r\n",
            "[a]\nk=v\r",
        ] {
            assert_eq!(doc(s).render(), s);
        }
    }

    #[test]
    fn spans_and_values() {
        let d = doc("[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE # mine\nK=v;x\n");
        let s = &d.sections()[0];
        assert_eq!(s.name, "default");
        let e = s.get("aws_access_key_id").unwrap();
        assert_eq!(d.slice(&e.value_span), "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(e.line, 2);
        let k = s.get("k").unwrap();
        assert_eq!(d.value(k), "v;x");
    }

    #[test]
    fn section_names() {
        let d = doc("[profile  work ]\n[ default ]\n[sso-session s]\n");
        let n: Vec<_> = d
            .sections()
            .iter()
            .map(|s| (s.prefix.clone(), s.name.clone()))
            .collect();
        assert_eq!(
            n,
            vec![
                (Some("profile".into()), "work".into()),
                (None, "default".into()),
                (Some("sso-session".into()), "s".into())
            ]
        );
    }

    #[test]
    fn errors_name_the_line_not_the_content() {
        let cases = [
            ("[default\n", 1),
            ("k=v\n", 1),
            ("[a]\nk=v\nsecretstuff\n", 3),
            ("[a]\n  indented\n", 2),
            ("[a]\ns3 =\n  nope\n", 3),
            ("[a]\n= v\n", 2),
            ("  x = 1\n", 1),
        ];
        for (s, line) in cases {
            let e = Document::parse(s).unwrap_err();
            assert_eq!(e.line, line, "{s:?}");
            assert!(!e.message.contains("secretstuff"));
        }
        let e = Document::parse_bytes(b"[a]\nk=\xff\n").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn debug_hides_text() {
        let d = doc("[a]\naws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY\n");
        assert!(!format!("{d:?}").contains("wJalr"));
    }

    #[test]
    fn splice_replaces_only_spans() {
        let d = doc("[a]\nk = old # c\n");
        let e = d.sections()[0].get("k").unwrap();
        let out = d.splice(&[(e.value_span.clone(), "new")]).unwrap();
        assert_eq!(out, "[a]\nk = new # c\n");
        assert!(d.splice(&[(0..3, "x"), (1..2, "y")]).is_err());
    }
}
