//! A small owned XML tree and inclusive Canonical XML 1.0, for replaying the XML-DSig seal of
//! RT files (shared spec `rt.md` §1.5).
//!
//! A signature is over bytes that C14N derives from the document, so the tree keeps exactly
//! what C14N needs and nothing it must drop: element prefixes and namespace declarations as
//! written, attributes in their normalised form, text with character references resolved,
//! comments and processing instructions. Line endings are normalised before parsing, as XML
//! 1.0 §2.11 requires of every processor.
//!
//! quick-xml tokenises; the checks it leaves to its caller are done here (names, `<` in
//! attribute values, `]]>` in text, characters outside XML's `Char`, namespace bindings), so
//! a document that is not well-formed XML 1.0 with namespaces is an [`Error`], not a tree
//! that canonicalises to something no other implementation would produce.
//!
//! Not read, deliberately: documents with a DOCTYPE (C14N applies the DTD's default
//! attributes and entities, and RT files have none), encodings other than UTF-8 (all RT files
//! are UTF-8, spec §1.1), XML 1.1. Nesting is bounded by [`MAX_DEPTH`], so no input exhausts
//! the stack of the recursive canonicaliser. No input panics.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// Deepest element nesting read. A daily closing nests six levels (root, DatiRT, Riepilogo,
/// IVA, AliquotaIVA; the signature's X509Certificate); the bound only stops hostile input.
pub const MAX_DEPTH: usize = 64;

/// The namespace bound to the `xml` prefix by definition (Namespaces in XML 1.0 §3).
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// A parsed document: the root element with the comments and processing instructions around
/// it (C14N renders those outside the root too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Comments and processing instructions before the root, in order.
    pub before: Vec<Node>,
    /// The root element.
    pub root: Element,
    /// Comments and processing instructions after the root, in order.
    pub after: Vec<Node>,
}

/// A child of an element (or, for comments and processing instructions, of the document).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// An element.
    Element(Element),
    /// Character data, references resolved, CDATA sections merged in.
    Text(String),
    /// A comment's text.
    Comment(String),
    /// A processing instruction.
    Pi {
        /// The target.
        target: String,
        /// The data, without the white space that separates it from the target.
        data: String,
    },
}

/// An element as written: its qualified name, the namespace it resolves to, its own namespace
/// declarations, its other attributes and its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The prefix, empty when there is none.
    pub prefix: String,
    /// The local name.
    pub local: String,
    /// The namespace name, empty when the element is in no namespace.
    pub namespace: String,
    /// Namespace declarations on this element: (prefix, namespace name), the prefix empty for
    /// the default namespace and the name empty for `xmlns=""`. In document order.
    pub namespace_declarations: Vec<(String, String)>,
    /// The other attributes, in document order.
    pub attributes: Vec<Attribute>,
    /// The children, adjacent text merged.
    pub children: Vec<Node>,
    /// The 1-based line of the start tag.
    pub line: usize,
}

/// An attribute other than a namespace declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The prefix, empty when there is none.
    pub prefix: String,
    /// The local name.
    pub local: String,
    /// The namespace name; empty for an unprefixed attribute, which is in no namespace.
    pub namespace: String,
    /// The value after XML 1.0 §3.3.3 normalisation (all attributes are CDATA without a DTD).
    pub value: String,
}

impl Element {
    /// The name as written, `prefix:local` or `local`.
    pub fn qname(&self) -> String {
        if self.prefix.is_empty() {
            self.local.clone()
        } else {
            format!("{}:{}", self.prefix, self.local)
        }
    }

    /// Whether the element is `{namespace}local`.
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.namespace == namespace && self.local == local
    }

    /// The child elements, in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// The first child element `{namespace}local`.
    pub fn child(&self, namespace: &str, local: &str) -> Option<&Element> {
        self.elements().find(|e| e.is(namespace, local))
    }

    /// The text of the element's own text children, concatenated.
    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The value of the attribute `{namespace}local`.
    pub fn attribute(&self, namespace: &str, local: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.namespace == namespace && a.local == local)
            .map(|a| a.value.as_str())
    }
}

impl Attribute {
    /// The name as written.
    pub fn qname(&self) -> String {
        if self.prefix.is_empty() {
            self.local.clone()
        } else {
            format!("{}:{}", self.prefix, self.local)
        }
    }
}

/// Why bytes are not a document this module reads, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct Error {
    /// 1-based line.
    pub line: usize,
    /// 1-based column in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Parses a document. Every reason to refuse it is an [`Error`] with its position.
pub fn parse(bytes: &[u8]) -> Result<Document, Error> {
    let text = decode(bytes)?;
    Parser::new(&text).run()
}

/// UTF-8 without BOM, line endings normalised (XML 1.0 §2.11), every character a `Char`
/// (§2.2). Positions in errors refer to this text; line numbers are those of the input.
fn decode(bytes: &[u8]) -> Result<String, Error> {
    if bytes.starts_with(&[0xFE, 0xFF]) || bytes.starts_with(&[0xFF, 0xFE]) {
        return Err(Error {
            line: 1,
            column: 1,
            message: "UTF-16 is not read: RT files are UTF-8".into(),
        });
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let at = &bytes[..e.valid_up_to()];
        let line = 1 + at.iter().filter(|b| **b == b'\n').count();
        let column = 1 + String::from_utf8_lossy(at.rsplit(|b| *b == b'\n').next().unwrap_or(at))
            .chars()
            .count();
        Error {
            line,
            column,
            message: "not UTF-8".into(),
        }
    })?;
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    if let Some((idx, c)) = out.char_indices().find(|(_, c)| !is_xml_char(*c)) {
        let (line, column) = line_column(&out, idx);
        return Err(Error {
            line,
            column,
            message: format!("character U+{:04X} is not allowed in XML", c as u32),
        });
    }
    Ok(out)
}

/// XML 1.0 §2.2 `Char`. Surrogates cannot occur in a Rust `char`.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..)
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut start = offset;
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let before = &text[..start];
    let line = 1 + before.bytes().filter(|b| *b == b'\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, 1 + before[line_start..].chars().count())
}

/// XML 1.0 (5th ed.) §2.3 `NameStartChar`, without `:` (Namespaces: NCName).
fn is_name_start(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

fn is_ncname(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

/// Splits a QName into (prefix, local), or `None` when it is not one.
fn split_qname(name: &str) -> Option<(&str, &str)> {
    match name.split_once(':') {
        Some((p, l)) if is_ncname(p) && is_ncname(l) => Some((p, l)),
        None if is_ncname(name) => Some(("", name)),
        _ => None,
    }
}

/// An element being read: its start tag resolved, children so far, the bindings in scope.
struct Open {
    element: Element,
    scope: BTreeMap<String, String>,
}

struct Parser<'a> {
    text: &'a str,
    /// (offset, line) of the last start tag: offsets only grow, so each line is counted
    /// once however many elements there are.
    cursor: (usize, usize),
    reader: Reader<&'a [u8]>,
    stack: Vec<Open>,
    before: Vec<Node>,
    after: Vec<Node>,
    root: Option<Element>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Parser<'a> {
        let mut reader = Reader::from_str(text);
        let config = reader.config_mut();
        config.check_comments = true;
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        Parser {
            text,
            cursor: (0, 1),
            reader,
            stack: Vec::new(),
            before: Vec::new(),
            after: Vec::new(),
            root: None,
        }
    }

    fn line_at(&mut self, offset: usize) -> usize {
        let (from, line) = self.cursor;
        let to = offset.min(self.text.len()).max(from);
        let added = self.text.as_bytes()[from..to]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.cursor = (to, line + added);
        line + added
    }

    fn error(&self, offset: u64, message: impl Into<String>) -> Error {
        let (line, column) = line_column(self.text, usize::try_from(offset).unwrap_or(usize::MAX));
        Error {
            line,
            column,
            message: message.into(),
        }
    }

    fn run(mut self) -> Result<Document, Error> {
        loop {
            let at = self.reader.buffer_position();
            let event = match self.reader.read_event() {
                Ok(e) => e,
                Err(e) => {
                    let pos = self.reader.error_position();
                    return Err(self.error(pos, e.to_string()));
                }
            };
            match event {
                Event::Decl(d) => {
                    if at != 0 {
                        return Err(self.error(at, "XML declaration not at the start"));
                    }
                    let version = d.version().map_err(|e| self.error(at, e.to_string()))?;
                    if version.as_ref() != "1.0" {
                        return Err(
                            self.error(at, format!("XML version {version}: only 1.0 is read"))
                        );
                    }
                    if let Some(enc) = d.encoding() {
                        let enc = enc.map_err(|e| self.error(at, e.to_string()))?;
                        if !enc.eq_ignore_ascii_case("UTF-8") {
                            return Err(self.error(
                                at,
                                format!("encoding {enc}: only UTF-8 is read (RT files are UTF-8)"),
                            ));
                        }
                    }
                }
                Event::DocType(_) => {
                    return Err(self.error(
                        at,
                        "DOCTYPE is not read: canonical XML would need the DTD's defaults and entities, and RT files have none",
                    ));
                }
                Event::PI(pi) => {
                    let target = pi.target().to_string();
                    if target.eq_ignore_ascii_case("xml") || !is_ncname(&target) {
                        return Err(self.error(
                            at,
                            format!("processing instruction target {target:?} is not allowed"),
                        ));
                    }
                    let data = pi
                        .content()
                        .trim_start_matches([' ', '\t', '\n'])
                        .to_string();
                    self.misc(Node::Pi { target, data });
                }
                Event::Comment(c) => {
                    let text = c.into_inner().into_owned();
                    if text.ends_with('-') {
                        return Err(self.error(at, "comment ends with '-'"));
                    }
                    self.misc(Node::Comment(text));
                }
                Event::Start(s) => self.start(&s, at)?,
                Event::Empty(s) => {
                    self.start(&s, at)?;
                    self.end();
                }
                Event::End(_) => self.end(),
                Event::Text(t) => {
                    let raw = t.into_inner();
                    if self.stack.is_empty() {
                        if !raw.chars().all(|c| matches!(c, ' ' | '\t' | '\n')) {
                            return Err(self.error(at, "text outside the root element"));
                        }
                    } else {
                        if let Some(i) = raw.find("]]>") {
                            return Err(self.error(at + i as u64, "']]>' in text"));
                        }
                        self.text_node(&raw);
                    }
                }
                Event::CData(c) => {
                    if self.stack.is_empty() {
                        return Err(self.error(at, "CDATA section outside the root element"));
                    }
                    self.text_node(&c.into_inner());
                }
                Event::GeneralRef(r) => {
                    if self.stack.is_empty() {
                        return Err(self.error(at, "reference outside the root element"));
                    }
                    let name = r.into_inner();
                    let c = resolve_reference(&name).map_err(|m| self.error(at, m))?;
                    self.text_node(c.encode_utf8(&mut [0; 4]));
                }
                Event::Eof => break,
            }
        }
        if let Some(open) = self.stack.last() {
            let (line, qname) = (open.element.line, open.element.qname());
            return Err(Error {
                line,
                column: 1,
                message: format!("element <{qname}> is not closed"),
            });
        }
        match self.root {
            Some(root) => Ok(Document {
                before: self.before,
                root,
                after: self.after,
            }),
            None => Err(self.error(self.text.len() as u64, "no root element")),
        }
    }

    /// A comment or processing instruction: a child of the open element, or around the root.
    fn misc(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(open) => open.element.children.push(node),
            None if self.root.is_none() => self.before.push(node),
            None => self.after.push(node),
        }
    }

    fn text_node(&mut self, text: &str) {
        let Some(open) = self.stack.last_mut() else {
            return;
        };
        if let Some(Node::Text(prev)) = open.element.children.last_mut() {
            prev.push_str(text);
        } else {
            open.element.children.push(Node::Text(text.to_string()));
        }
    }

    fn start(&mut self, tag: &BytesStart<'_>, at: u64) -> Result<(), Error> {
        if self.stack.is_empty() && self.root.is_some() {
            return Err(self.error(at, "a second root element"));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.error(
                at,
                format!("elements nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let name = tag.name().as_ref().to_string();
        let (prefix, local) = split_qname(&name)
            .ok_or_else(|| self.error(at, format!("<{name}> is not a qualified name")))?;
        let (prefix, local) = (prefix.to_string(), local.to_string());
        check_attribute_separation(tag.attributes_raw()).map_err(|m| self.error(at, m))?;

        let mut scope = self
            .stack
            .last()
            .map(|o| o.scope.clone())
            .unwrap_or_default();
        let mut declarations = Vec::new();
        let mut raw_attributes = Vec::new();
        for attr in tag.attributes().with_checks(true) {
            let attr = attr.map_err(|e| self.error(at, format!("<{name}>: {e}")))?;
            let key = attr.key.as_ref().to_string();
            let value = normalize_attribute(&attr.value)
                .map_err(|m| self.error(at, format!("<{name}> {key}: {m}")))?;
            let (p, l) = split_qname(&key).ok_or_else(|| {
                self.error(
                    at,
                    format!("<{name}>: attribute {key:?} is not a qualified name"),
                )
            })?;
            if key == "xmlns" || p == "xmlns" {
                let declared = if key == "xmlns" { "" } else { l };
                check_declaration(declared, &value)
                    .map_err(|m| self.error(at, format!("<{name}>: {m}")))?;
                scope.insert(declared.to_string(), value.clone());
                declarations.push((declared.to_string(), value));
            } else {
                raw_attributes.push((p.to_string(), l.to_string(), value));
            }
        }
        let resolve = |p: &str| -> Option<String> {
            match p {
                "xml" => Some(XML_NS.to_string()),
                // An unprefixed element without a default namespace is in no namespace.
                "" => Some(scope.get("").cloned().unwrap_or_default()),
                _ => scope.get(p).filter(|u| !u.is_empty()).cloned(),
            }
        };
        if prefix == "xmlns" {
            return Err(self.error(
                at,
                format!("<{name}>: the xmlns prefix cannot name an element"),
            ));
        }
        let namespace = resolve(&prefix).ok_or_else(|| {
            self.error(at, format!("<{name}>: prefix {prefix:?} is not declared"))
        })?;
        let mut attributes = Vec::with_capacity(raw_attributes.len());
        for (p, l, value) in raw_attributes {
            let namespace = if p.is_empty() {
                String::new()
            } else {
                resolve(&p).ok_or_else(|| {
                    self.error(at, format!("<{name}>: prefix {p:?} is not declared"))
                })?
            };
            if attributes
                .iter()
                .any(|a: &Attribute| a.namespace == namespace && a.local == l)
            {
                return Err(self.error(at, format!("<{name}>: attribute {{{namespace}}}{l} twice")));
            }
            attributes.push(Attribute {
                prefix: p,
                local: l,
                namespace,
                value,
            });
        }
        let line = self.line_at(usize::try_from(at).unwrap_or(usize::MAX));
        self.stack.push(Open {
            element: Element {
                prefix,
                local,
                namespace,
                namespace_declarations: declarations,
                attributes,
                children: Vec::new(),
                line,
            },
            scope,
        });
        Ok(())
    }

    fn end(&mut self) {
        let Some(open) = self.stack.pop() else {
            return;
        };
        match self.stack.last_mut() {
            Some(parent) => parent.element.children.push(Node::Element(open.element)),
            None => self.root = Some(open.element),
        }
    }
}

/// Namespaces in XML 1.0 §3: `xmlns:p=""` is an error in 1.0, and the reserved prefixes and
/// names may not be rebound.
fn check_declaration(prefix: &str, value: &str) -> Result<(), String> {
    match prefix {
        "xmlns" => Err("the xmlns prefix cannot be declared".into()),
        "xml" if value != XML_NS => Err(format!("the xml prefix cannot be bound to {value:?}")),
        "xml" => Ok(()),
        _ if value == XML_NS || value == XMLNS_NS => {
            Err(format!("{value} cannot be bound to another prefix"))
        }
        "" => Ok(()),
        _ if value.is_empty() => Err(format!("prefix {prefix:?} cannot be undeclared in XML 1.0")),
        _ => Ok(()),
    }
}

/// XML 1.0 §3.1 requires white space between attributes; quick-xml reads `a='1'b='2'`.
fn check_attribute_separation(raw: &str) -> Result<(), String> {
    let mut quote = None;
    let mut after_value = false;
    for c in raw.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                after_value = true;
            }
            Some(_) => {}
            None => {
                if after_value && !matches!(c, ' ' | '\t' | '\n' | '/') {
                    return Err("attributes must be separated by white space".into());
                }
                after_value = false;
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
            }
        }
    }
    Ok(())
}

/// XML 1.0 §3.3.3 for a CDATA attribute: references resolved, each white-space character
/// (after line-end normalisation: tab and line feed) replaced by a space; `<` is an error.
fn normalize_attribute(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(c) = rest.chars().next() {
        match c {
            '&' => {
                let end = rest.find(';').ok_or("'&' without ';'")?;
                out.push(resolve_reference(&rest[1..end])?);
                rest = &rest[end + 1..];
                continue;
            }
            '<' => return Err("'<' in an attribute value".into()),
            '\t' | '\n' => out.push(' '),
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    Ok(out)
}

/// The character of a reference `&name;` (the five predefined entities or a character
/// reference); without a DTD no other entity exists.
fn resolve_reference(name: &str) -> Result<char, String> {
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x") {
                (!hex.is_empty() && hex.len() <= 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then(|| u32::from_str_radix(hex, 16).ok())
                    .flatten()
            } else if let Some(dec) = name.strip_prefix('#') {
                (!dec.is_empty() && dec.len() <= 10 && dec.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| dec.parse::<u32>().ok())
                    .flatten()
            } else {
                return Err(format!("undefined entity &{name};"));
            };
            code.and_then(char::from_u32)
                .filter(|c| is_xml_char(*c))
                .ok_or_else(|| format!("&{name}; is not a character XML allows"))?
        }
    };
    Ok(c)
}

/// Inclusive Canonical XML 1.0 (W3C REC-xml-c14n-20010315) of the whole document, with the
/// element `exclude` and its subtree left out (the enveloped-signature transform), comments
/// only when `with_comments`.
pub fn canonicalize_document(
    doc: &Document,
    exclude: Option<&Element>,
    with_comments: bool,
) -> Vec<u8> {
    let mut c = Canonicalizer {
        out: String::new(),
        exclude: exclude.map(|e| e as *const Element),
        with_comments,
    };
    for node in &doc.before {
        if c.misc(node) {
            c.out.push('\n');
        }
    }
    c.element(&doc.root, &BTreeMap::new(), Apex::Yes(&[]));
    for node in &doc.after {
        let mark = c.out.len();
        c.out.push('\n');
        if !c.misc(node) {
            c.out.truncate(mark);
        }
    }
    c.out.into_bytes()
}

/// Inclusive Canonical XML 1.0 of the subtree `apex`, whose ancestors from the root down are
/// `ancestors`: the node-set of XML-DSig's SignedInfo. As C14N 1.0 §2.4 requires of a document
/// subset, the apex carries every namespace in scope and the `xml:` attributes it inherits.
pub fn canonicalize_subtree(
    ancestors: &[&Element],
    apex: &Element,
    with_comments: bool,
) -> Vec<u8> {
    let mut c = Canonicalizer {
        out: String::new(),
        exclude: None,
        with_comments,
    };
    let mut scope = BTreeMap::new();
    for a in ancestors {
        for (p, u) in &a.namespace_declarations {
            scope.insert(p.as_str(), u.as_str());
        }
    }
    c.element(apex, &scope, Apex::Yes(ancestors));
    c.out.into_bytes()
}

enum Apex<'a> {
    /// The element starts the output: these are its ancestors.
    Yes(&'a [&'a Element]),
    No,
}

struct Canonicalizer {
    out: String,
    exclude: Option<*const Element>,
    with_comments: bool,
}

impl Canonicalizer {
    /// Renders a comment or processing instruction; false when nothing was rendered.
    fn misc(&mut self, node: &Node) -> bool {
        match node {
            Node::Comment(text) if self.with_comments => {
                let _ = write!(self.out, "<!--{text}-->");
                true
            }
            Node::Pi { target, data } => {
                self.out.push_str("<?");
                self.out.push_str(target);
                if !data.is_empty() {
                    self.out.push(' ');
                    self.out.push_str(data);
                }
                self.out.push_str("?>");
                true
            }
            _ => false,
        }
    }

    /// `parent_scope`: the bindings in scope at the parent (for the apex: of its ancestors).
    fn element<'e>(
        &mut self,
        el: &'e Element,
        parent_scope: &BTreeMap<&'e str, &'e str>,
        apex: Apex<'_>,
    ) {
        let mut scope = parent_scope.clone();
        for (p, u) in &el.namespace_declarations {
            scope.insert(p.as_str(), u.as_str());
        }
        // C14N 1.0 §2.3/§4.7: a namespace node is rendered unless the output parent has the
        // same one; the apex has no output parent, so all of its non-empty ones are, and an
        // empty default (xmlns="") is rendered only to undo a parent's non-empty default. The
        // xml namespace is never rendered.
        let mut rendered: Vec<(&str, &str)> = match apex {
            Apex::Yes(_) => scope
                .iter()
                .filter(|(p, u)| **p != "xml" && !u.is_empty())
                .map(|(p, u)| (*p, *u))
                .collect(),
            Apex::No => scope
                .iter()
                .filter(|(p, u)| **p != "xml" && parent_scope.get(*p).copied().unwrap_or("") != **u)
                .map(|(p, u)| (*p, *u))
                .collect(),
        };
        rendered.sort_unstable();

        let mut attributes: Vec<&Attribute> = el.attributes.iter().collect();
        let inherited: Vec<Attribute>;
        if let Apex::Yes(ancestors) = apex {
            // §2.4: the apex of a subset inherits xml:lang, xml:space… from its ancestors,
            // the nearest one winning.
            let mut found: Vec<Attribute> = Vec::new();
            for a in ancestors.iter().rev() {
                for attr in a.attributes.iter().filter(|x| x.namespace == XML_NS) {
                    let shadowed = el
                        .attributes
                        .iter()
                        .chain(found.iter())
                        .any(|x| x.namespace == XML_NS && x.local == attr.local);
                    if !shadowed {
                        found.push(attr.clone());
                    }
                }
            }
            inherited = found;
            attributes.extend(inherited.iter());
        }
        // §2.2: attributes ordered by namespace name, then local name; unqualified first.
        attributes.sort_by(|a, b| (&a.namespace, &a.local).cmp(&(&b.namespace, &b.local)));

        let qname = el.qname();
        self.out.push('<');
        self.out.push_str(&qname);
        for (p, u) in rendered {
            if p.is_empty() {
                self.out.push_str(" xmlns=\"");
            } else {
                let _ = write!(self.out, " xmlns:{p}=\"");
            }
            escape_attribute(&mut self.out, u);
            self.out.push('"');
        }
        for a in attributes {
            self.out.push(' ');
            self.out.push_str(&a.qname());
            self.out.push_str("=\"");
            escape_attribute(&mut self.out, &a.value);
            self.out.push('"');
        }
        self.out.push('>');
        for child in &el.children {
            match child {
                Node::Element(e) => {
                    if self.exclude != Some(e as *const Element) {
                        self.element(e, &scope, Apex::No);
                    }
                }
                Node::Text(t) => escape_text(&mut self.out, t),
                other => {
                    self.misc(other);
                }
            }
        }
        let _ = write!(self.out, "</{qname}>");
    }
}

/// C14N 1.0 §2.3 text: `&`, `<`, `>` and carriage return escaped.
fn escape_text(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

/// C14N 1.0 §2.3 attribute values: `&`, `<`, `"`, tab, line feed, carriage return escaped.
fn escape_attribute(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c14n(input: &str) -> String {
        String::from_utf8(canonicalize_document(
            &parse(input.as_bytes()).unwrap(),
            None,
            false,
        ))
        .unwrap()
    }

    fn c14n_comments(input: &str) -> String {
        String::from_utf8(canonicalize_document(
            &parse(input.as_bytes()).unwrap(),
            None,
            true,
        ))
        .unwrap()
    }

    fn error(input: &[u8]) -> Error {
        parse(input).unwrap_err()
    }

    /// W3C C14N 1.0 §3.1 (without its external DOCTYPE, which fiskal does not read): the XML
    /// declaration goes, PIs outside the root get line breaks, comments go or stay.
    #[test]
    fn w3c_3_1_pis_comments_and_outside_the_document_element() {
        let input = "<?xml version=\"1.0\"?>\n\n<?xml-stylesheet   href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n\n<doc>Hello, world!<!-- Comment 1 --></doc>\n\n<?pi-without-data     ?>\n\n<!-- Comment 2 -->\n\n<!-- Comment 3 -->\n";
        assert_eq!(
            c14n(input),
            "<?xml-stylesheet href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n<doc>Hello, world!</doc>\n<?pi-without-data?>"
        );
        assert_eq!(
            c14n_comments(input),
            "<?xml-stylesheet href=\"doc.xsl\"\n   type=\"text/xsl\"   ?>\n<doc>Hello, world!<!-- Comment 1 --></doc>\n<?pi-without-data?>\n<!-- Comment 2 -->\n<!-- Comment 3 -->"
        );
    }

    /// §3.2: white space inside the document element is kept exactly.
    #[test]
    fn w3c_3_2_whitespace_in_content_is_preserved() {
        let input = "<doc>\n   <clean>   </clean>\n   <dirty>   A   B   </dirty>\n   <mixed>\n      A\n      <clean>   </clean>\n      B\n      <dirty>   A   B   </dirty>\n      C\n   </mixed>\n</doc>";
        assert_eq!(c14n(input), input);
    }

    /// §3.3 (without the DTD's default attribute): empty elements become start and end tags,
    /// attributes are sorted by namespace URI then local name after the namespace
    /// declarations sorted by prefix, and superfluous declarations go.
    #[test]
    fn w3c_3_3_start_and_end_tags() {
        let input = r#"<doc>
   <e1   />
   <e2   ></e2>
   <e3   name = "elem3"   id="elem3"   />
   <e4   name="elem4"   id="elem4"   ></e4>
   <e5 a:attr="out" b:attr="sorted" attr2="all" attr="I'm"
      xmlns:b="http://www.ietf.org"
      xmlns:a="http://www.w3.org"
      xmlns="http://example.org"/>
   <e6 xmlns="" xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="" xmlns:a="http://www.w3.org">
            <e9 xmlns="" xmlns:a="http://www.ietf.org"/>
         </e8>
      </e7>
   </e6>
</doc>"#;
        let want = r#"<doc>
   <e1></e1>
   <e2></e2>
   <e3 id="elem3" name="elem3"></e3>
   <e4 id="elem4" name="elem4"></e4>
   <e5 xmlns="http://example.org" xmlns:a="http://www.w3.org" xmlns:b="http://www.ietf.org" attr="I'm" attr2="all" b:attr="sorted" a:attr="out"></e5>
   <e6 xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="">
            <e9 xmlns:a="http://www.ietf.org"></e9>
         </e8>
      </e7>
   </e6>
</doc>"#;
        assert_eq!(c14n(input), want);
    }

    /// §3.4 (attributes CDATA, as without a DTD): character references resolved, CDATA
    /// sections become escaped text, `&#xD;` kept as a reference, attribute white space
    /// normalised but character references to white space kept.
    #[test]
    fn w3c_3_4_character_modifications_and_references() {
        let input = r#"<doc>
   <text>First line&#x0d;&#10;Second line</text>
   <value>&#x32;</value>
   <compute><![CDATA[value>"0" && value<"10" ?"valid":"error"]]></compute>
   <compute expr='value>"0" &amp;&amp; value&lt;"10" ?"valid":"error"'>valid</compute>
   <norm attr=' &apos;   &#x20;&#13;&#xa;&#9;   &apos; '/>
   <normNames attr='   A   &#x20;&#13;&#xa;&#9;   B   '/>
</doc>"#;
        let want = "<doc>\n   <text>First line&#xD;\nSecond line</text>\n   <value>2</value>\n   <compute>value&gt;\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"</compute>\n   <compute expr=\"value>&quot;0&quot; &amp;&amp; value&lt;&quot;10&quot; ?&quot;valid&quot;:&quot;error&quot;\">valid</compute>\n   <norm attr=\" '    &#xD;&#xA;&#x9;   ' \"></norm>\n   <normNames attr=\"   A    &#xD;&#xA;&#x9;   B   \"></normNames>\n</doc>";
        assert_eq!(c14n(input), want);
    }

    /// §3.6: the output is UTF-8, whatever the reference.
    #[test]
    fn w3c_3_6_utf8_output() {
        assert_eq!(c14n("<doc>&#169;</doc>").as_bytes(), b"<doc>\xC2\xA9</doc>");
    }

    /// Line ends are normalised before parsing (XML 1.0 §2.11): CR LF and a lone CR become
    /// LF in text, and a literal tab or line feed in an attribute becomes a space.
    #[test]
    fn line_endings_are_normalised() {
        assert_eq!(c14n("<a>x\r\ny\rz</a>\r\n"), "<a>x\ny\nz</a>");
        assert_eq!(c14n("<a b=\"1\r\n2\t3\"/>"), "<a b=\"1 2 3\"></a>");
        let doc = parse(b"<a>\r\n<b/>\r\n</a>").unwrap();
        let b = doc.root.elements().next().unwrap();
        assert_eq!(b.line, 2);
    }

    /// A subtree in its context (XML-DSig's SignedInfo): it carries every namespace in scope
    /// and the xml: attributes it inherits (the apex's own xml:space wins); attributes sort by
    /// namespace URI, so xml: (http://www.w3.org/XML/…) comes before urn:p; below the apex,
    /// redundant declarations go and an empty default undoes an inherited one.
    #[test]
    fn subtree_renders_namespaces_and_xml_attributes_in_scope() {
        let doc = parse(
            br#"<a xmlns="urn:d" xmlns:p="urn:p" xmlns:u="urn:unused" xml:lang="it" xml:space="default"><p:b xml:space="preserve" z="1" p:y="2"><c xmlns:p="urn:p"><d xmlns=""/></c></p:b></a>"#,
        )
        .unwrap();
        let b = doc.root.elements().next().unwrap();
        let got = String::from_utf8(canonicalize_subtree(&[&doc.root], b, false)).unwrap();
        assert_eq!(
            got,
            r#"<p:b xmlns="urn:d" xmlns:p="urn:p" xmlns:u="urn:unused" z="1" xml:lang="it" xml:space="preserve" p:y="2"><c><d xmlns=""></d></c></p:b>"#
        );
    }

    /// The enveloped-signature transform: the excluded element and its subtree go, the text
    /// around it stays.
    #[test]
    fn document_without_an_element() {
        let doc = parse(b"<r xmlns:s=\"urn:s\">\n<a>1</a>\n<s:Sig><x/></s:Sig></r>").unwrap();
        let sig = doc.root.elements().nth(1).unwrap();
        let got = String::from_utf8(canonicalize_document(&doc, Some(sig), false)).unwrap();
        assert_eq!(got, "<r xmlns:s=\"urn:s\">\n<a>1</a>\n</r>");
    }

    #[test]
    fn names_and_namespaces_are_resolved() {
        let doc = parse(br#"<p:r xmlns:p="urn:p" xmlns:q="urn:q" q:a="1" b="2"><c/><q:d xmlns="urn:x"><e/></q:d></p:r>"#).unwrap();
        let r = &doc.root;
        assert_eq!(
            (r.prefix.as_str(), r.local.as_str(), r.namespace.as_str()),
            ("p", "r", "urn:p")
        );
        assert_eq!(r.attribute("urn:q", "a"), Some("1"));
        assert_eq!(r.attribute("", "b"), Some("2"));
        let kids: Vec<&Element> = r.elements().collect();
        assert_eq!(kids[0].namespace, "");
        assert_eq!(kids[1].namespace, "urn:q");
        assert_eq!(kids[1].elements().next().unwrap().namespace, "urn:x");
        assert!(r.child("urn:q", "d").is_some());
    }

    #[test]
    fn malformed_documents_are_errors_with_their_position() {
        let cases: &[(&[u8], &str)] = &[
            (b"<a><b></a>", "expected `</b>`"),
            (b"<a>", "<a> is not closed"),
            (b"<a/><b/>", "a second root element"),
            (b"x<a/>", "text outside the root element"),
            (b"", "no root element"),
            (
                b"<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>",
                "DOCTYPE is not read",
            ),
            (b"<a>&x;</a>", "undefined entity &x;"),
            (b"<a>&#0;</a>", "&#0; is not a character XML allows"),
            (b"<a>&#xD800;</a>", "is not a character XML allows"),
            (b"<a b='<'/>", "'<' in an attribute value"),
            (b"<a b='1'c='2'/>", "separated by white space"),
            (b"<a b='1' b='2'/>", "duplicated attribute"),
            (
                b"<a xmlns:x='u' xmlns:y='u' x:b='1' y:b='2'/>",
                "attribute {u}b twice",
            ),
            (b"<x:a/>", "prefix \"x\" is not declared"),
            (b"<a x:b='1'/>", "prefix \"x\" is not declared"),
            (b"<a xmlns:x=''/>", "cannot be undeclared"),
            (
                b"<a xmlns:xml='urn:other'/>",
                "the xml prefix cannot be bound",
            ),
            (b"<1a/>", "is not a qualified name"),
            (b"<a:b:c xmlns:a='u'/>", "is not a qualified name"),
            (b"<a>]]></a>", "']]>' in text"),
            (b"<a>\x01</a>", "U+0001 is not allowed"),
            (b"<a>\xC3\x28</a>", "not UTF-8"),
            (b"\xFF\xFE<\0a\0/\0>\0", "UTF-16 is not read"),
            (
                b"<?xml version='1.0' encoding='ISO-8859-1'?><a/>",
                "only UTF-8 is read",
            ),
            (b"<?xml version='1.1'?><a/>", "only 1.0 is read"),
            (
                b"<a/><?xml version='1.0'?>",
                "XML declaration not at the start",
            ),
            (
                b"<a><?xml-ok?><?XML x?></a>",
                "target \"XML\" is not allowed",
            ),
            (b"<a><!-- x -- y --></a>", "--"),
        ];
        for (input, want) in cases {
            let e = error(input);
            assert!(
                e.message.contains(want),
                "{:?}: {e}",
                String::from_utf8_lossy(input)
            );
        }
        let e = error(b"<a>\n  <b>\n  <c x='<'/></b></a>");
        assert_eq!((e.line, e.column), (3, 3), "{e}");
        let e = error(b"<a>\n\n\xFF</a>");
        assert_eq!((e.line, e.column), (3, 1));
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert!(error(deep.as_bytes()).message.contains("nested deeper"));
        let hostile = "<a>".repeat(1_000_000);
        assert!(error(hostile.as_bytes()).message.contains("nested deeper"));
    }

    const SAMPLE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/conformance/rt/samples/dati/RT_192.168.1.133_13_04_2017__15_54_46_16.xml"
    ));

    /// Canonical XML of canonical XML is itself: the output is a document that reads back
    /// to the same tree, namespaces and escapes included.
    fn assert_idempotent(doc: &Document) {
        let once = canonicalize_document(doc, None, true);
        let again =
            parse(&once).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&once)));
        assert_eq!(canonicalize_document(&again, None, true), once);
    }

    #[test]
    fn canonical_form_is_a_fixed_point() {
        assert_idempotent(&parse(SAMPLE.as_bytes()).unwrap());
        assert_idempotent(&parse(b"<a xmlns='u'><b xmlns=''><c xmlns:p='v' p:q='&#9;&#13;\"&lt;'>&#13;&gt;</c></b><!--c--><?p d?></a>").unwrap());
    }

    fn xmlish() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "<a>",
            "</a>",
            "<b:c xmlns:b='u'>",
            "</b:c>",
            "<d/>",
            " e='1'",
            "xmlns='v'",
            "&amp;",
            "&#13;",
            "&lt;",
            "<![CDATA[x<]]>",
            "<!--c-->",
            "<?p q?>",
            "\r\n",
            "\t",
            "text",
            "é",
            ">",
            "\"",
            "'",
            "<",
            "/>",
            "=",
        ]);
        prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Arbitrary bytes are parsed or refused, never a panic; whatever parses
        /// canonicalises without panicking.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(doc) = parse(&bytes) {
                let _ = canonicalize_document(&doc, None, false);
            }
        }

        /// Strings built from XML's pieces reach deep into the parser; any that parses has a
        /// canonical form that is a fixed point.
        #[test]
        fn xml_like_input_never_panics_and_canonicalises_stably(text in xmlish()) {
            if let Ok(doc) = parse(text.as_bytes()) {
                assert_idempotent(&doc);
                for e in doc.root.elements() {
                    let _ = canonicalize_subtree(&[&doc.root], e, false);
                }
            }
        }

        /// A real daily closing with one byte changed, inserted or removed.
        #[test]
        fn damaged_sample_never_panics(idx in 0usize..4000, byte in any::<u8>(), op in 0u8..3) {
            let mut bytes = SAMPLE.as_bytes().to_vec();
            let i = idx % bytes.len();
            match op {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
            if let Ok(doc) = parse(&bytes) {
                assert_idempotent(&doc);
            }
        }
    }
}
