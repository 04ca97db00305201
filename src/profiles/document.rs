//! A lossless, line-based model of an AWS shared credentials or config file.
//!
//! The document keeps the original text; every line is a byte span of it plus its line ending
//! (`lines`), so `render(parse(x)) == x` byte for byte (comments, blank lines, indentation,
//! spacing around `=`, CRLF/LF mixed, a UTF-8 BOM, trailing whitespace, a missing final
//! newline). Settings keep the byte span of their key and of their value, which is what the one
//! writer (`edit`) splices. Section names are byte spans too: parsing allocates only the
//! section and entry tables (plus the rare key that is not one of the well-known ones); the
//! line table is built on demand.
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
pub(crate) const WHITESPACE: &[char] = &[' ', '\t'];
const COMMENT: &[char] = &['#', ';'];
const BOM: &str = "\u{feff}";

/// Keys that are stored without allocating (compared ASCII-case-insensitively, as the SDK does).
/// Any other key is lower-cased into its own `String`.
const KNOWN_KEYS: &[&str] = &[
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "region",
    "output",
    "role_arn",
    "source_profile",
    "credential_source",
    "external_id",
    "mfa_serial",
    "role_session_name",
    "duration_seconds",
    "web_identity_token_file",
    "sso_session",
    "sso_start_url",
    "sso_region",
    "sso_account_id",
    "sso_role_name",
    "sso_registration_scopes",
    "credential_process",
    "login_session",
    "endpoint_url",
    "services",
    "s3",
    "aws_account_id",
    "ca_bundle",
    "cli_pager",
    "retry_mode",
    "max_attempts",
];

/// How a line ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eol {
    /// The last line of a file without a final newline.
    None,
    Lf,
    CrLf,
}

impl Eol {
    pub(crate) fn as_str(self) -> &'static str {
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
/// The name and prefix are spans of the document's text and the settings are a range of the
/// document's entry table: read them with `Document::name`, `Document::prefix` and
/// `Document::entries`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// 1-based line of the header.
    pub line: usize,
    /// `profile` in `[profile work]`; None for `[work]`.
    pub prefix_span: Option<Range<usize>>,
    /// `work` in `[profile work]` or `[work]`.
    pub name_span: Range<usize>,
    entries: Range<usize>,
}

/// One `key = value` setting: spans only (the value may be a secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Lower-cased key, as the SDK compares them (borrowed for the well-known keys).
    pub key: Cow<'static, str>,
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
    sections: Vec<Section>,
    /// Every section's entries, in file order (one table: a section holds a range of it).
    entries: Vec<Entry>,
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the text: it holds secrets.
        f.debug_struct("Document")
            .field("bytes", &self.text.len())
            .field("bom", &self.bom)
            .field("sections", &self.sections.len())
            .field("entries", &self.entries.len())
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
        let (bom, sections, entries) = Parser::new(text).run()?;
        Ok(Document {
            text: text.to_string(),
            bom,
            sections,
            entries,
        })
    }

    /// The original text, BOM included.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }
    /// True when the file starts with a UTF-8 byte order mark.
    pub fn has_bom(&self) -> bool {
        self.bom
    }
    /// Every line, in order: its span, ending and kind (built from the text on each call,
    /// with the parser's own line rules).
    pub fn lines(&self) -> Vec<Line> {
        let mut out = Vec::new();
        let mut pos = if self.bom { BOM.len() } else { 0 };
        // Headers and settings seen so far (the file parsed, so a setting has a header).
        let (mut headers, mut settings) = (0usize, 0usize);
        while pos < self.text.len() {
            let (end, next, eol) = line_end(&self.text, pos);
            let section = headers.saturating_sub(1);
            let entry = settings.saturating_sub(1);
            let kind = match shape(&self.text.as_bytes()[pos..end]) {
                Shape::Blank => LineKind::Blank,
                Shape::Comment => LineKind::Comment,
                Shape::Header => {
                    headers += 1;
                    settings = 0;
                    LineKind::Header {
                        section: headers - 1,
                    }
                }
                Shape::Setting => {
                    settings += 1;
                    LineKind::Setting {
                        section,
                        entry: settings - 1,
                    }
                }
                Shape::Continuation => LineKind::Continuation { section, entry },
            };
            out.push(Line {
                span: pos..end,
                eol,
                kind,
            });
            pos = next;
        }
        out
    }
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }
    pub fn slice(&self, span: &Range<usize>) -> &str {
        &self.text[span.clone()]
    }
    /// The settings of a section of this document, in file order (`LineKind::Setting`'s
    /// `entry` indexes this).
    pub fn entries(&self, s: &Section) -> &[Entry] {
        self.entries.get(s.entries.clone()).unwrap_or_default()
    }
    /// Entry `entry` of section `section`.
    pub fn entry(&self, section: usize, entry: usize) -> Option<&Entry> {
        self.entries(self.sections.get(section)?).get(entry)
    }
    /// The entry the SDK uses for `key` in section `s` (the last one: later keys win).
    #[cfg(test)]
    pub(crate) fn get(&self, s: &Section, key: &str) -> Option<&Entry> {
        self.entries(s).iter().rev().find(|e| e.key == key)
    }
    /// `work` in `[profile work]` or `[work]` (a section of this document).
    pub(crate) fn name(&self, s: &Section) -> &str {
        self.text.get(s.name_span.clone()).unwrap_or_default()
    }
    /// `profile` in `[profile work]`; None for `[work]` (a section of this document).
    pub(crate) fn prefix(&self, s: &Section) -> Option<&str> {
        let span = s.prefix_span.clone()?;
        self.text.get(span)
    }

    /// Rebuilds the file from its lines: BOM, then each line's content and ending.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(self.text.len());
        if self.bom {
            out.push_str(BOM);
        }
        for l in self.lines() {
            out.push_str(&self.text[l.span.clone()]);
            out.push_str(l.eol.as_str());
        }
        out
    }

    /// The whole line starting at byte `pos` (a line start): (end of its content, start of the
    /// next line, its ending).
    pub(crate) fn line_at(&self, pos: usize) -> (usize, usize, Eol) {
        line_end(&self.text, pos.min(self.text.len()))
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
    pub(crate) fn replaceable(&self, e: &Entry) -> bool {
        e.continuations.is_empty() && !self.text[e.value_span.end..].starts_with(COMMENT)
    }

    /// The text with each span replaced by its string. Spans must not overlap (checked).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn splice(&self, edits: &[(Range<usize>, &str)]) -> Result<String, String> {
        splice(&self.text, edits)
    }

    /// The text with the values of the given entries (section index, entry index, new value)
    /// replaced, and nothing else changed. Checked, not assumed: every edited line is parsed
    /// again from the new text with the parser's own line functions, and must end where and
    /// how it ended before, still be a `key = value` line with the same key, and hold exactly
    /// the new value.
    ///
    /// That is enough for the whole file to parse as before with only those values changed,
    /// without parsing the rest again: (1) every byte outside the value spans is copied, and
    /// a new value holds no `\n`, so the lines keep their boundaries (shifted); (2) the kind
    /// of a line, a header's name and a setting's key and value depend only on the line's own
    /// bytes (and its ending), which are unchanged for every other line; (3) the one state
    /// carried from line to line is the section count and the current setting (index, and
    /// whether its value is empty, which decides how indented lines after it are read). An
    /// edited line is still a setting of the same section, so the indexes follow unchanged;
    /// its entry must have no continuation lines, so no indented line follows it (before the
    /// next header or setting) in the old text, nor, by (1) and (2), in the new one: whether
    /// its value is empty is never consulted. (`fuzz/fuzz_targets/parse_edit_roundtrip.rs`
    /// checks this against a full parse of the result.)
    ///
    /// The new text is written into `out` (pass an empty `String`, e.g. inside a `Zeroizing`:
    /// its one allocation is sized up front, so no copy of the new values is left behind, and
    /// on an error `out` still holds what was spliced).
    pub(crate) fn replace_values(
        &self,
        edits: &[(usize, usize, &str)],
        out: &mut String,
    ) -> Result<(), String> {
        let mut planned: Vec<(&Entry, &str)> = Vec::with_capacity(edits.len());
        for &(si, ei, new) in edits {
            let e = self
                .entry(si, ei)
                .ok_or_else(|| "an edit points at no setting".to_string())?;
            if !e.continuations.is_empty() {
                return Err(format!(
                    "line {}: the value continues on indented lines; only single-line values are edited",
                    e.line
                ));
            }
            if new.contains('\n') {
                return Err(format!(
                    "line {}: a new value may not contain a line break",
                    e.line
                ));
            }
            planned.push((e, new));
        }
        planned.sort_by_key(|(e, _)| e.value_span.start);
        if planned.windows(2).any(|w| w[0].0.line == w[1].0.line) {
            return Err("two edits of one line".into());
        }
        let spans: Vec<(Range<usize>, &str)> = planned
            .iter()
            .map(|(e, new)| (e.value_span.clone(), *new))
            .collect();
        splice_into(&self.text, &spans, out)?;
        let out: &str = out;
        // Walk the edited lines in file order, tracking how far earlier edits moved the text.
        let mut shift: isize = 0;
        for (e, new) in &planned {
            let at = |p: usize| p.checked_add_signed(shift).unwrap_or(usize::MAX);
            // A setting line starts with its key (it is not indented).
            let (old_end, _, old_eol) = line_end(&self.text, e.key_span.start);
            let grow = new.len() as isize - e.value_span.len() as isize;
            let start = at(e.key_span.start);
            let want_end = at(old_end).checked_add_signed(grow);
            let refuse = || format!("line {}: the edit would not land as intended", e.line);
            let starts_line = start == 0
                || (self.bom && start == BOM.len())
                || out.as_bytes().get(start - 1) == Some(&b'\n');
            if start > out.len() || !starts_line {
                return Err(refuse());
            }
            let (end, _, eol) = line_end(out, start);
            if Some(end) != want_end
                || eol != old_eol
                || shape(&out.as_bytes()[start..end]) != Shape::Setting
            {
                return Err(refuse());
            }
            let (key, value) = split_setting(out, start..end, "the line").map_err(|_| refuse())?;
            if key != (at(e.key_span.start)..at(e.key_span.end)) || &out[value] != *new {
                return Err(refuse());
            }
            shift += grow;
        }
        Ok(())
    }
}

/// Replaces the given byte spans of `text`. Spans must lie on char boundaries and not overlap.
#[cfg(any(test, fuzzing))]
pub(crate) fn splice(text: &str, edits: &[(Range<usize>, &str)]) -> Result<String, String> {
    let mut out = String::new();
    splice_into(text, edits, &mut out)?;
    Ok(out)
}

/// `splice` into `out` (for the protect edit, whose replacements are whole lines).
pub(crate) fn splice_into_pub(
    text: &str,
    edits: &[(Range<usize>, &str)],
    out: &mut String,
) -> Result<(), String> {
    splice_into(text, edits, out)
}

/// `splice` into `out` (cleared first; reserved once, so it is not reallocated while filled).
fn splice_into(text: &str, edits: &[(Range<usize>, &str)], out: &mut String) -> Result<(), String> {
    let mut sorted: Vec<&(Range<usize>, &str)> = edits.iter().collect();
    sorted.sort_by_key(|(r, _)| (r.start, r.end));
    let extra: usize = sorted.iter().map(|(_, s)| s.len()).sum();
    out.clear();
    out.reserve_exact(text.len() + extra);
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
    Ok(())
}

/// Splits `[profile work]`'s inside into (`profile`, `work`) the way the SDK does.
pub(crate) fn split_section_name(inner: &str) -> (Option<&str>, &str) {
    let input = inner.trim_matches(WHITESPACE);
    match input.split_once(WHITESPACE) {
        Some((prefix, suffix)) => (Some(prefix.trim()), suffix.trim()),
        None => (None, input.trim()),
    }
}

/// `[A-Za-z0-9_\-/.%@:+]+`: what the SDK accepts as a profile name or key.
pub(crate) fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'_' | b'-' | b'/' | b'.' | b'%' | b'@' | b':' | b'+')
        })
}

/// The lower-cased key: a well-known key is borrowed, any other is lower-cased into a `String`.
fn key_name(raw: &str) -> Cow<'static, str> {
    match KNOWN_KEYS.iter().find(|k| raw.eq_ignore_ascii_case(k)) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(raw.to_ascii_lowercase()),
    }
}

/// What a line is, from its content alone (SDK order of checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Blank,
    Comment,
    Header,
    Continuation,
    Setting,
}

fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn shape(content: &[u8]) -> Shape {
    match content.first() {
        None => Shape::Blank,
        Some(&b) if is_ws(b) => {
            if content.iter().all(|&b| is_ws(b)) {
                Shape::Blank
            } else {
                Shape::Continuation
            }
        }
        Some(b'#' | b';') => Shape::Comment,
        Some(b'[') => Shape::Header,
        Some(_) => Shape::Setting,
    }
}

/// The line starting at `pos`: (end of its content, start of the next line, its ending).
fn line_end(text: &str, pos: usize) -> (usize, usize, Eol) {
    let nl = memchr::memchr(b'\n', &text.as_bytes()[pos..]).map(|i| pos + i);
    line_at(text, pos, nl)
}

/// The line starting at `pos` whose `\n` (if any) is at `nl`.
fn line_at(text: &str, pos: usize, nl: Option<usize>) -> (usize, usize, Eol) {
    match nl {
        Some(nl) if nl > pos && text.as_bytes()[nl - 1] == b'\r' => (nl - 1, nl + 1, Eol::CrLf),
        Some(nl) => (nl, nl + 1, Eol::Lf),
        None => (text.len(), text.len(), Eol::None),
    }
}

/// Is the character just before byte `i` of `text` whitespace (Unicode, as the SDK checks)?
fn whitespace_before(text: &str, i: usize) -> bool {
    match text.as_bytes()[i - 1] {
        b if b.is_ascii() => (b as char).is_whitespace(),
        _ => text[..i]
            .chars()
            .next_back()
            .is_some_and(char::is_whitespace),
    }
}

/// Trims SDK whitespace (spaces and tabs) from a span of `text`.
fn trim_span(text: &str, span: Range<usize>) -> Range<usize> {
    let b = text.as_bytes();
    let (mut start, mut end) = (span.start, span.end);
    while start < end && is_ws(b[start]) {
        start += 1;
    }
    while end > start && is_ws(b[end - 1]) {
        end -= 1;
    }
    start..end
}

/// `key = value` within `span` (comments stripped, SDK rules): (key span, value span).
/// The first `=` splits; a `#`/`;` preceded by whitespace starts a comment (so an `=` after
/// it does not count).
fn split_setting(
    text: &str,
    span: Range<usize>,
    what: &str,
) -> Result<(Range<usize>, Range<usize>), (String, String)> {
    let body = trim_span(text, span);
    let b = text.as_bytes();
    let mut eq = None;
    let mut end = body.end;
    // Jump from one `=`, `#` or `;` to the next.
    let mut at = body.start;
    while let Some(k) = memchr::memchr3(b'=', b'#', b';', &b[at..body.end]) {
        let i = at + k;
        if b[i] == b'=' {
            eq = eq.or(Some(i));
        } else if i > body.start && whitespace_before(text, i) {
            end = i;
            break;
        }
        at = i + 1;
    }
    let Some(eq) = eq else {
        return Err((
            format!("expected `key = value` ({what} without `=`)"),
            "write it as `key = value`, make it a comment with `#`, or remove it".into(),
        ));
    };
    let key = trim_span(text, body.start..eq);
    if key.is_empty() {
        return Err((
            format!("{what} has no name before `=`"),
            "write it as `key = value` or remove the line".into(),
        ));
    }
    // Trim the body before the value (an empty value sits right after `=`, as before).
    let end = trim_span(text, body.start..end).end;
    let value = trim_span(text, eq + 1..end);
    Ok((key, value))
}

/// Byte offset of `part` (a slice of `text`) in `text`.
fn offset_in(text: &str, part: &str) -> Range<usize> {
    let start = part.as_ptr() as usize - text.as_ptr() as usize;
    start..start + part.len()
}

struct Parser<'a> {
    text: &'a str,
    sections: Vec<Section>,
    entries: Vec<Entry>,
    /// (entry index in the current section, value was empty = `s3 =` block)
    property: Option<(usize, bool)>,
}

type Parsed = (bool, Vec<Section>, Vec<Entry>);

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            text,
            sections: Vec::new(),
            entries: Vec::new(),
            property: None,
        }
    }

    fn run(mut self) -> Result<Parsed, ParseError> {
        let text = self.text;
        let bom = text.starts_with(BOM);
        let mut pos = if bom { BOM.len() } else { 0 };
        // Size the tables up front from the first byte of each line: `[` starts a section; a
        // setting starts with anything but `[`, whitespace, `#`, `;` or the end (an estimate:
        // a line starting with a bare CR is a setting too, and then the table grows).
        let bytes = text.as_bytes();
        let (mut headers, mut settings) = (0, 0);
        let mut count = |first: Option<&u8>| match first {
            Some(b'[') => headers += 1,
            None | Some(b' ' | b'\t' | b'#' | b';' | b'\r' | b'\n') => {}
            Some(_) => settings += 1,
        };
        count(bytes.get(pos));
        memchr::memchr_iter(b'\n', bytes).for_each(|i| count(bytes.get(i + 1)));
        self.sections.reserve_exact(headers);
        self.entries.reserve_exact(settings);
        let first = pos;
        let mut newlines = memchr::memchr_iter(b'\n', &text.as_bytes()[first..]).map(|i| first + i);
        let mut line_no = 0usize;
        while pos < text.len() {
            line_no += 1;
            let (end, next, _) = line_at(text, pos, newlines.next());
            self.line(pos..end, line_no)
                .map_err(|(message, hint)| ParseError {
                    line: line_no,
                    message,
                    hint,
                })?;
            pos = next;
        }
        Ok((bom, self.sections, self.entries))
    }

    fn line(&mut self, span: Range<usize>, line_no: usize) -> Result<LineKind, (String, String)> {
        match shape(&self.text.as_bytes()[span.clone()]) {
            Shape::Blank => Ok(LineKind::Blank),
            Shape::Comment => Ok(LineKind::Comment),
            Shape::Header => self.header(span, line_no),
            Shape::Continuation => self.continuation(span),
            Shape::Setting => self.setting(span, line_no),
        }
    }

    fn header(&mut self, span: Range<usize>, line_no: usize) -> Result<LineKind, (String, String)> {
        let text = self.text;
        let mut t = trim_span(text, span);
        if let Some(i) = text.as_bytes()[t.clone()]
            .iter()
            .position(|&b| b == b'#' || b == b';')
        {
            t = trim_span(text, t.start..t.start + i);
        }
        let inner = text[t].strip_prefix('[').and_then(|r| r.strip_suffix(']'));
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
            prefix_span: prefix.map(|p| offset_in(text, p)),
            name_span: offset_in(text, name),
            entries: self.entries.len()..self.entries.len(),
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
        let key = key_name(&self.text[key_span.clone()]);
        let empty = value_span.is_empty();
        let section = self.sections.len() - 1;
        self.entries.push(Entry {
            key,
            line: line_no,
            key_span,
            value_span,
            continuations: Vec::new(),
        });
        // The section's range ends at the table's end (its entries are the last ones pushed).
        let range = &mut self.sections[section].entries;
        range.end = self.entries.len();
        let entry = range.len() - 1;
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
        // The setting being continued is the last one pushed (a header resets `property`).
        if let Some(e) = self.entries.last_mut() {
            e.continuations.push(trimmed);
        }
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
        assert_eq!(d.name(s), "default");
        let e = d.get(s, "aws_access_key_id").unwrap();
        assert_eq!(d.slice(&e.value_span), "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(e.line, 2);
        let k = d.get(s, "k").unwrap();
        assert_eq!(d.value(k), "v;x");
    }

    #[test]
    fn section_names() {
        let d = doc("[profile  work ]\n[ default ]\n[sso-session s]\n");
        let n: Vec<_> = d
            .sections()
            .iter()
            .map(|s| (d.prefix(s), d.name(s)))
            .collect();
        assert_eq!(
            n,
            vec![
                (Some("profile"), "work"),
                (None, "default"),
                (Some("sso-session"), "s")
            ]
        );
        // Unicode whitespace around the parts is trimmed, as the SDK does.
        let d = doc("[profile\u{a0} work\u{3000}]\n");
        let s = &d.sections()[0];
        assert_eq!((d.prefix(s), d.name(s)), (Some("profile"), "work"));
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
        let e = d.get(&d.sections()[0], "k").unwrap();
        let out = d.splice(&[(e.value_span.clone(), "new")]).unwrap();
        assert_eq!(out, "[a]\nk = new # c\n");
        assert!(d.splice(&[(0..3, "x"), (1..2, "y")]).is_err());
    }

    #[test]
    fn keys_are_lower_cased_and_known_ones_borrowed() {
        let d = doc("[a]\nAWS_Access_Key_ID=x\nMy_Key=y\n");
        let e = d.entries(&d.sections()[0]);
        assert!(matches!(e[0].key, Cow::Borrowed("aws_access_key_id")));
        assert_eq!(e[1].key, "my_key");
    }

    #[test]
    fn replace_values_edits_and_checks() {
        let src = "[a]\r\nk = old # c\r\nj=v\n[b]\nk=w";
        let d = doc(src);
        let replace = |d: &Document, edits: &[(usize, usize, &str)]| {
            let mut out = String::new();
            d.replace_values(edits, &mut out).map(|()| out)
        };
        let out = replace(&d, &[(0, 0, "new"), (1, 0, "longer-value")]).unwrap();
        assert_eq!(out, "[a]\r\nk = new # c\r\nj=v\n[b]\nk=longer-value");
        assert_eq!(replace(&d, &[]).unwrap(), src);
        for bad in ["x\ny", "x #c", "x ;c", " x"] {
            assert!(replace(&d, &[(0, 0, bad)]).is_err(), "{bad:?}");
        }
        // A bare CR at the end of an LF line would turn it into a CRLF line.
        assert!(replace(&d, &[(0, 1, "v\r")]).is_err());
        assert!(replace(&d, &[(0, 0, "a"), (0, 0, "b")]).is_err());
        assert!(replace(&d, &[(0, 5, "a")]).is_err());
        assert!(replace(&d, &[(9, 0, "a")]).is_err());
        let d = doc("[a]\nk=v\n  w\n");
        assert!(replace(&d, &[(0, 0, "a")]).is_err());
        // An empty value can be filled (and a value emptied): the next line is no continuation.
        let d = doc("[a]\nk=\n[b]\nj=v\n");
        assert_eq!(
            replace(&d, &[(0, 0, "x"), (1, 0, "")]).unwrap(),
            "[a]\nk=x\n[b]\nj=\n"
        );
    }
}
