//! index.xml: written from the table declarations, and read back from any export.
//!
//! [`render`] writes the GDPdU description in the byte conventions of the official DSFinV-K
//! 2.3 file (DSFinV-K spec §1.2): UTF-8 BOM, XML declaration, DOCTYPE naming [`DTD_FILE_NAME`],
//! CRLF line ends, two-space indentation, no line break after `</DataSet>`, the official
//! element order and `<X />` for empty elements. Only `DataSupplier` varies; with
//! [`DataSupplier::OFFICIAL`] the output is the official file.
//!
//! [`parse`] reads an index.xml back into [`TableSchema`]s, so that the export validator can
//! compare a foreign export's description with the declarations and read its CSVs as declared.
//! It is tolerant where GDPdU readers are (no BOM, LF line ends, unknown elements), reporting
//! that as [`Observation`]s, and fails with an [`IndexError`] naming element and line only
//! where the tables cannot be known.

use std::fmt;

use quick_xml::events::Event;
use quick_xml::reader::Reader;

use super::DTD_FILE_NAME;
use super::csv::{
    COLUMN_DELIMITER, DECIMAL_SYMBOL, DIGIT_GROUPING_SYMBOL, FIRST_DATA_LINE, RECORD_DELIMITER,
    TEXT_ENCAPSULATOR,
};
use super::tables::{ColumnType, Table};

/// The file's name inside an export.
pub const FILE_NAME: &str = "index.xml";

const BOM: &str = "\u{feff}";

/// Who supplies the data: index.xml `DataSupplier`, the one part that varies between exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataSupplier<'a> {
    /// `Name`: the business, usually from master data.
    pub name: &'a str,
    /// `Location`: its address.
    pub location: &'a str,
    /// `Comment`.
    pub comment: &'a str,
}

impl DataSupplier<'static> {
    /// The values of the official file: empty name and location, its GDPdU comment.
    pub const OFFICIAL: DataSupplier<'static> = DataSupplier {
        name: "",
        location: "",
        comment: "Datentraegerueberlassung nach GDPdU vom 12.11.2010",
    };
}

/// Why index.xml could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A character XML 1.0 cannot hold, not even escaped (a control character).
    #[error("{element} {text:?}: character U+{:04X} cannot appear in XML", u32::from(*.ch))]
    InvalidCharacter {
        /// The element the text was meant for.
        element: &'static str,
        /// The text.
        text: String,
        /// The character.
        ch: char,
    },
}

/// index.xml describing `tables` (normally [`TABLES`](super::tables::TABLES)), with `supplier`.
pub fn render(supplier: &DataSupplier<'_>, tables: &[&Table]) -> Result<Vec<u8>, RenderError> {
    let mut x = XmlOut::default();
    x.raw(
        0,
        &format!("{BOM}<?xml version=\"1.0\" encoding=\"utf-8\"?>"),
    );
    x.raw(0, &format!("<!DOCTYPE DataSet SYSTEM \"{DTD_FILE_NAME}\">"));
    x.open(0, "DataSet");
    x.leaf(1, "Version", "1.0")?;
    x.open(1, "DataSupplier");
    x.leaf(2, "Name", supplier.name)?;
    x.leaf(2, "Location", supplier.location)?;
    x.leaf(2, "Comment", supplier.comment)?;
    x.close(1, "DataSupplier");
    x.open(1, "Media");
    x.leaf(2, "Name", "CD Nummer 1")?;
    for t in tables {
        x.open(2, "Table");
        x.leaf(3, "URL", t.file)?;
        x.leaf(3, "Name", t.name)?;
        // The official file describes every table by its file name.
        x.leaf(3, "Description", t.file)?;
        x.leaf(3, "UTF8", "")?;
        x.leaf(3, "DecimalSymbol", DECIMAL_SYMBOL.encode_utf8(&mut [0; 4]))?;
        x.leaf(
            3,
            "DigitGroupingSymbol",
            DIGIT_GROUPING_SYMBOL.encode_utf8(&mut [0; 4]),
        )?;
        x.open(3, "Range");
        x.leaf(4, "From", &FIRST_DATA_LINE.to_string())?;
        x.close(3, "Range");
        x.open(3, "VariableLength");
        x.leaf(
            4,
            "ColumnDelimiter",
            COLUMN_DELIMITER.encode_utf8(&mut [0; 4]),
        )?;
        x.leaf(4, "RecordDelimiter", RECORD_DELIMITER)?;
        x.leaf(
            4,
            "TextEncapsulator",
            TEXT_ENCAPSULATOR.encode_utf8(&mut [0; 4]),
        )?;
        for c in t.columns {
            x.open(4, "VariableColumn");
            x.leaf(5, "Name", c.name)?;
            x.leaf(5, "Description", c.description)?;
            match c.ty {
                ColumnType::AlphaNumeric { max_len } => {
                    x.leaf(5, "AlphaNumeric", "")?;
                    x.leaf(5, "MaxLength", &max_len.to_string())?;
                }
                ColumnType::Numeric { accuracy: 0 } => x.leaf(5, "Numeric", "")?,
                ColumnType::Numeric { accuracy } => {
                    x.open(5, "Numeric");
                    x.leaf(6, "Accuracy", &accuracy.to_string())?;
                    x.close(5, "Numeric");
                }
            }
            x.close(4, "VariableColumn");
        }
        x.close(3, "VariableLength");
        x.close(2, "Table");
    }
    x.close(1, "Media");
    x.close(0, "DataSet");
    // The official file ends right after `</DataSet>`.
    x.buf.truncate(x.buf.len() - "\r\n".len());
    Ok(x.buf.into_bytes())
}

/// Line-oriented XML writer in the official file's layout.
#[derive(Default)]
struct XmlOut {
    buf: String,
}

impl XmlOut {
    fn raw(&mut self, depth: usize, line: &str) {
        for _ in 0..depth {
            self.buf.push_str("  ");
        }
        self.buf.push_str(line);
        self.buf.push_str("\r\n");
    }

    fn open(&mut self, depth: usize, name: &str) {
        self.raw(depth, &format!("<{name}>"));
    }

    fn close(&mut self, depth: usize, name: &str) {
        self.raw(depth, &format!("</{name}>"));
    }

    /// `<name>text</name>`, or `<name />` when `text` is empty.
    fn leaf(&mut self, depth: usize, name: &'static str, text: &str) -> Result<(), RenderError> {
        if text.is_empty() {
            self.raw(depth, &format!("<{name} />"));
        } else {
            self.raw(depth, &format!("<{name}>{}</{name}>", escape(name, text)?));
        }
        Ok(())
    }
}

/// Escapes markup characters; CR and LF become character references (as in the official
/// `RecordDelimiter`), since XML parsers would turn literal line ends into a single LF.
fn escape(element: &'static str, text: &str) -> Result<String, RenderError> {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            '\n' => out.push_str("&#xA;"),
            '\t' => out.push(ch),
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => {
                return Err(RenderError::InvalidCharacter {
                    element,
                    text: text.to_owned(),
                    ch,
                });
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// An index.xml as read: its tables, supplier and what was unusual about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexXml {
    /// `Version` of the GDPdU description.
    pub version: Option<String>,
    /// `DataSupplier`; missing children read as empty.
    pub data_supplier: Option<SupplierInfo>,
    /// The tables of all `Media`, in document order.
    pub tables: Vec<TableSchema>,
    /// Deviations from the official form that do not stop reading.
    pub observations: Vec<Observation>,
}

/// `DataSupplier` as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SupplierInfo {
    /// `Name`.
    pub name: String,
    /// `Location`.
    pub location: String,
    /// `Comment`.
    pub comment: String,
}

/// One `<Table>` as declared. `None` means the element is absent; the GDPdU DTD's defaults
/// then apply: decimal `,`, grouping `.`, column `;`, record CRLF, encapsulator `"`, ANSI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSchema {
    /// `URL`: the file, relative to index.xml.
    pub url: String,
    /// `Name`: the IDEA table name.
    pub name: Option<String>,
    /// `Description`.
    pub description: Option<String>,
    /// The encoding element's name (`UTF8`, `ANSI`, …).
    pub encoding: Option<String>,
    /// `DecimalSymbol`.
    pub decimal_symbol: Option<String>,
    /// `DigitGroupingSymbol`.
    pub digit_grouping_symbol: Option<String>,
    /// `SkipNumBytes`.
    pub skip_num_bytes: Option<u64>,
    /// `Range/From`: the first line holding data.
    pub range_from: Option<u64>,
    /// `ColumnDelimiter`.
    pub column_delimiter: Option<String>,
    /// `RecordDelimiter`, references resolved (`&#xD;&#xA;` is `"\r\n"`).
    pub record_delimiter: Option<String>,
    /// `TextEncapsulator`.
    pub text_encapsulator: Option<String>,
    /// The columns in CSV order, primary-key columns included.
    pub columns: Vec<ColumnSchema>,
    /// Line of `<Table>` in index.xml.
    pub line: u32,
}

/// One `VariableColumn` (or `VariablePrimaryKey`) as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSchema {
    /// `Name`.
    pub name: String,
    /// `Description`.
    pub description: Option<String>,
    /// The declared type.
    pub ty: DeclaredType,
    /// Declared as `VariablePrimaryKey` (DSFinV-K declares none, DSFinV-K spec §1.2).
    pub primary_key: bool,
    /// Line of the element in index.xml.
    pub line: u32,
}

/// A column type as GDPdU allows it, wider than what DSFinV-K uses ([`ColumnType`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclaredType {
    /// `<AlphaNumeric />`, with `MaxLength` when given.
    AlphaNumeric {
        /// `MaxLength`.
        max_len: Option<u32>,
    },
    /// `<Numeric>` with `Accuracy` (decimals written with a separator) or `ImpliedAccuracy`
    /// (decimals implied, no separator); neither means 0.
    Numeric {
        /// Number of decimals.
        accuracy: u32,
        /// Declared as `ImpliedAccuracy`.
        implied: bool,
    },
    /// `<Date>` with its `Format` (GDPdU default `DD.MM.YYYY`).
    Date {
        /// `Format`.
        format: Option<String>,
    },
}

impl DeclaredType {
    /// The DSFinV-K column type this is, if it is one.
    pub fn as_column_type(&self) -> Option<ColumnType> {
        match *self {
            DeclaredType::AlphaNumeric {
                max_len: Some(max_len),
            } => Some(ColumnType::AlphaNumeric { max_len }),
            DeclaredType::Numeric {
                accuracy,
                implied: false,
            } => Some(ColumnType::Numeric { accuracy }),
            _ => None,
        }
    }
}

/// Something unusual about an index.xml that does not stop reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// The file does not start with a UTF-8 byte order mark, as the official one does.
    NoByteOrderMark,
    /// Line ends other than CRLF, which the official file uses throughout.
    LineEnds {
        /// CR LF pairs.
        crlf: usize,
        /// LF without CR.
        lf: usize,
        /// CR without LF.
        cr: usize,
    },
    /// No `<!DOCTYPE DataSet SYSTEM "…">`.
    NoDoctype,
    /// An element fiskal does not use was skipped.
    IgnoredElement {
        /// Its path.
        element: String,
        /// Its line.
        line: u32,
    },
}

impl fmt::Display for Observation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observation::NoByteOrderMark => f.write_str("no UTF-8 byte order mark"),
            Observation::LineEnds { crlf, lf, cr } => write!(
                f,
                "line ends are not all CRLF ({crlf} CRLF, {lf} LF, {cr} CR)"
            ),
            Observation::NoDoctype => f.write_str("no DOCTYPE declaration"),
            Observation::IgnoredElement { element, line } => {
                write!(f, "line {line}: {element} ignored")
            }
        }
    }
}

/// Why an index.xml could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// The bytes are not UTF-8.
    #[error("index.xml line {line}: not UTF-8")]
    NotUtf8 {
        /// Line of the first invalid byte.
        line: u32,
    },
    /// Not well-formed XML.
    #[error("index.xml line {line}: {message}")]
    Xml {
        /// Line where the problem was found.
        line: u32,
        /// What the XML reader reported.
        message: String,
    },
    /// Elements nested deeper than any GDPdU description needs.
    #[error("index.xml line {line}: elements nested deeper than {MAX_DEPTH} levels")]
    TooDeep {
        /// Line of the element too deep.
        line: u32,
    },
    /// The root element is not `DataSet`.
    #[error("index.xml line {line}: root element is {found}, not DataSet")]
    NotDataSet {
        /// The root element's name.
        found: String,
        /// Its line.
        line: u32,
    },
    /// A required element is missing.
    #[error("index.xml line {line}: {parent} has no {element}")]
    Missing {
        /// Path of the element that lacks it.
        parent: String,
        /// What is missing.
        element: &'static str,
        /// Line of `parent`.
        line: u32,
    },
    /// An element's text is not what it must be.
    #[error("index.xml line {line}: {element} is {value:?}, expected {expected}")]
    Invalid {
        /// Path of the element.
        element: String,
        /// Its text.
        value: String,
        /// What it must be.
        expected: &'static str,
        /// Its line.
        line: u32,
    },
    /// A fixed-length table, which no CSV export can be.
    #[error(
        "index.xml line {line}: {element} is a FixedLength table, DSFinV-K tables are VariableLength"
    )]
    FixedLength {
        /// Path of the table.
        element: String,
        /// Its line.
        line: u32,
    },
}

/// Deeper than the DTD's deepest path (DataSet/Media/Table/VariableLength/VariableColumn/
/// Numeric/Accuracy is 7) with room to spare; a bound keeps hostile input from exhausting the
/// stack when the tree is dropped.
const MAX_DEPTH: usize = 32;

/// Reads an index.xml (see the module documentation).
pub fn parse(bytes: &[u8]) -> Result<IndexXml, IndexError> {
    let mut observations = Vec::new();
    let text = std::str::from_utf8(bytes).map_err(|e| IndexError::NotUtf8 {
        line: line_of(&bytes[..e.valid_up_to()]),
    })?;
    let text = match text.strip_prefix(BOM) {
        Some(rest) => rest,
        None => {
            observations.push(Observation::NoByteOrderMark);
            text
        }
    };
    let (crlf, lf, cr) = count_line_ends(text.as_bytes());
    if lf > 0 || cr > 0 {
        observations.push(Observation::LineEnds { crlf, lf, cr });
    }
    let (root, doctype) = read_tree(text)?;
    if !doctype {
        observations.push(Observation::NoDoctype);
    }
    let mut r = Interpreter { observations };
    let index = r.data_set(&root)?;
    Ok(IndexXml {
        observations: r.observations,
        ..index
    })
}

fn line_of(bytes: &[u8]) -> u32 {
    let n = bytes.iter().filter(|&&b| b == b'\n').count();
    u32::try_from(n).unwrap_or(u32::MAX).saturating_add(1)
}

fn count_line_ends(bytes: &[u8]) -> (usize, usize, usize) {
    let (mut crlf, mut lf, mut cr) = (0, 0, 0);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                crlf += 1;
                i += 1;
            }
            b'\r' => cr += 1,
            b'\n' => lf += 1,
            _ => {}
        }
        i += 1;
    }
    (crlf, lf, cr)
}

/// An element with its text (references resolved) and children.
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
    line: u32,
}

/// Byte offsets to line numbers, counting forward only.
struct Lines<'a> {
    text: &'a [u8],
    pos: usize,
    line: u32,
}

impl Lines<'_> {
    fn at(&mut self, pos: u64) -> u32 {
        let pos = usize::try_from(pos)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        if pos < self.pos {
            return line_of(&self.text[..pos]);
        }
        let n = self.text[self.pos..pos]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.line = self
            .line
            .saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        self.pos = pos;
        self.line
    }
}

/// The element tree and whether a DOCTYPE was present.
fn read_tree(text: &str) -> Result<(Node, bool), IndexError> {
    let mut reader = Reader::from_str(text);
    let mut lines = Lines {
        text: text.as_bytes(),
        pos: 0,
        line: 1,
    };
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut doctype = false;
    loop {
        let start = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(e) => {
                let line = lines.at(reader.error_position());
                return Err(IndexError::Xml {
                    line,
                    message: e.to_string(),
                });
            }
        };
        let line = lines.at(start);
        let xml_error = |message: String| IndexError::Xml { line, message };
        match event {
            Event::Start(e) | Event::Empty(e) if root.is_some() && stack.is_empty() => {
                let name = e.name().as_ref().to_owned();
                return Err(xml_error(format!("second root element {name}")));
            }
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(IndexError::TooDeep { line });
                }
                stack.push(Node {
                    name: e.name().as_ref().to_owned(),
                    text: String::new(),
                    children: Vec::new(),
                    line,
                });
            }
            Event::Empty(e) => {
                let node = Node {
                    name: e.name().as_ref().to_owned(),
                    text: String::new(),
                    children: Vec::new(),
                    line,
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::End(_) => {
                // The reader checks that end tags match their start tags.
                let Some(node) = stack.pop() else {
                    return Err(xml_error("end tag without start tag".to_owned()));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                match stack.last_mut() {
                    Some(node) => node.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return Err(xml_error("text outside the root element".to_owned())),
                }
            }
            Event::CData(t) => match stack.last_mut() {
                Some(node) => node.text.push_str(&t.xml10_content()),
                None => return Err(xml_error("CDATA outside the root element".to_owned())),
            },
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(ch)) => ch.to_string(),
                    Ok(None) => match quick_xml::escape::resolve_predefined_entity(&r) {
                        Some(s) => s.to_owned(),
                        None => return Err(xml_error(format!("unknown entity &{};", &*r))),
                    },
                    Err(e) => return Err(xml_error(e.to_string())),
                };
                match stack.last_mut() {
                    Some(node) => node.text.push_str(&resolved),
                    None => return Err(xml_error("reference outside the root element".to_owned())),
                }
            }
            Event::DocType(_) => doctype = true,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.first() {
        return Err(IndexError::Xml {
            line: open.line,
            message: format!("{} is not closed", open.name),
        });
    }
    match root {
        Some(root) => Ok((root, doctype)),
        None => Err(IndexError::Xml {
            line: lines.at(u64::MAX),
            message: "no root element".to_owned(),
        }),
    }
}

/// Turns the tree into tables, collecting observations.
struct Interpreter {
    observations: Vec<Observation>,
}

impl Interpreter {
    fn data_set(&mut self, root: &Node) -> Result<IndexXml, IndexError> {
        if root.name != "DataSet" {
            return Err(IndexError::NotDataSet {
                found: root.name.clone(),
                line: root.line,
            });
        }
        let mut index = IndexXml {
            version: None,
            data_supplier: None,
            tables: Vec::new(),
            observations: Vec::new(),
        };
        let mut n_media = 0;
        for child in &root.children {
            match child.name.as_str() {
                "Version" => index.version = Some(child.text.clone()),
                "DataSupplier" => index.data_supplier = Some(self.supplier(child)),
                "Media" => {
                    n_media += 1;
                    self.media(
                        child,
                        &format!("DataSet/Media[{n_media}]"),
                        &mut index.tables,
                    )?;
                }
                _ => self.ignore("DataSet", child),
            }
        }
        if n_media == 0 {
            return Err(IndexError::Missing {
                parent: "DataSet".to_owned(),
                element: "Media",
                line: root.line,
            });
        }
        Ok(index)
    }

    fn supplier(&mut self, node: &Node) -> SupplierInfo {
        let mut s = SupplierInfo::default();
        for child in &node.children {
            match child.name.as_str() {
                "Name" => s.name = child.text.clone(),
                "Location" => s.location = child.text.clone(),
                "Comment" => s.comment = child.text.clone(),
                _ => self.ignore("DataSet/DataSupplier", child),
            }
        }
        s
    }

    fn media(
        &mut self,
        node: &Node,
        path: &str,
        tables: &mut Vec<TableSchema>,
    ) -> Result<(), IndexError> {
        for child in &node.children {
            match child.name.as_str() {
                "Name" => {}
                "Table" => {
                    let path = format!("{path}/Table[{}]", tables.len() + 1);
                    tables.push(self.table(child, &path)?);
                }
                _ => self.ignore(path, child),
            }
        }
        Ok(())
    }

    fn table(&mut self, node: &Node, path: &str) -> Result<TableSchema, IndexError> {
        let url = required(node, path, "URL")?.text.clone();
        let path = format!("{path}({url})");
        let mut t = TableSchema {
            url,
            name: None,
            description: None,
            encoding: None,
            decimal_symbol: None,
            digit_grouping_symbol: None,
            skip_num_bytes: None,
            range_from: None,
            column_delimiter: None,
            record_delimiter: None,
            text_encapsulator: None,
            columns: Vec::new(),
            line: node.line,
        };
        let mut has_layout = false;
        for child in &node.children {
            let here = || format!("{path}/{}", child.name);
            match child.name.as_str() {
                "URL" => {}
                "Name" => t.name = Some(child.text.clone()),
                "Description" => t.description = Some(child.text.clone()),
                "ANSI" | "Macintosh" | "OEM" | "UTF16" | "UTF7" | "UTF8" => {
                    t.encoding = Some(child.name.clone());
                }
                "DecimalSymbol" => t.decimal_symbol = Some(child.text.clone()),
                "DigitGroupingSymbol" => t.digit_grouping_symbol = Some(child.text.clone()),
                "SkipNumBytes" => t.skip_num_bytes = Some(number(child, &here())?),
                "Range" => {
                    let range = here();
                    t.range_from = Some(number(required(child, &range, "From")?, &range)?);
                    for c in &child.children {
                        if c.name != "From" {
                            self.ignore(&range, c);
                        }
                    }
                }
                "VariableLength" => {
                    has_layout = true;
                    self.variable_length(child, &here(), &mut t)?;
                }
                "FixedLength" => {
                    return Err(IndexError::FixedLength {
                        element: path,
                        line: node.line,
                    });
                }
                _ => self.ignore(&path, child),
            }
        }
        if !has_layout {
            return Err(IndexError::Missing {
                parent: path,
                element: "VariableLength",
                line: node.line,
            });
        }
        Ok(t)
    }

    fn variable_length(
        &mut self,
        node: &Node,
        path: &str,
        t: &mut TableSchema,
    ) -> Result<(), IndexError> {
        for child in &node.children {
            match child.name.as_str() {
                "ColumnDelimiter" => t.column_delimiter = Some(child.text.clone()),
                "RecordDelimiter" => t.record_delimiter = Some(child.text.clone()),
                "TextEncapsulator" => t.text_encapsulator = Some(child.text.clone()),
                "VariableColumn" | "VariablePrimaryKey" => {
                    let here = format!("{path}/{}[{}]", child.name, t.columns.len() + 1);
                    t.columns.push(self.column(child, &here)?);
                }
                _ => self.ignore(path, child),
            }
        }
        if t.columns.is_empty() {
            return Err(IndexError::Missing {
                parent: path.to_owned(),
                element: "VariableColumn",
                line: node.line,
            });
        }
        Ok(())
    }

    fn column(&mut self, node: &Node, path: &str) -> Result<ColumnSchema, IndexError> {
        let name = required(node, path, "Name")?.text.clone();
        let path = format!("{path}({name})");
        let mut description = None;
        let mut ty = None;
        let mut max_len = None;
        for child in &node.children {
            let here = || format!("{path}/{}", child.name);
            match child.name.as_str() {
                "Name" => {}
                "Description" => description = Some(child.text.clone()),
                "AlphaNumeric" => ty = Some(DeclaredType::AlphaNumeric { max_len: None }),
                "MaxLength" => max_len = Some(number(child, &here())?),
                "Numeric" => ty = Some(self.numeric(child, &here())?),
                "Date" => {
                    let format = child
                        .children
                        .iter()
                        .find(|c| c.name == "Format")
                        .map(|c| c.text.clone());
                    ty = Some(DeclaredType::Date { format });
                }
                _ => self.ignore(&path, child),
            }
        }
        let ty = match ty {
            Some(DeclaredType::AlphaNumeric { .. }) => DeclaredType::AlphaNumeric { max_len },
            Some(ty) => ty,
            None => {
                return Err(IndexError::Missing {
                    parent: path,
                    element: "AlphaNumeric, Numeric or Date",
                    line: node.line,
                });
            }
        };
        Ok(ColumnSchema {
            name,
            description,
            ty,
            primary_key: node.name == "VariablePrimaryKey",
            line: node.line,
        })
    }

    fn numeric(&mut self, node: &Node, path: &str) -> Result<DeclaredType, IndexError> {
        let mut ty = DeclaredType::Numeric {
            accuracy: 0,
            implied: false,
        };
        for child in &node.children {
            let here = format!("{path}/{}", child.name);
            match child.name.as_str() {
                "Accuracy" => {
                    ty = DeclaredType::Numeric {
                        accuracy: number(child, &here)?,
                        implied: false,
                    };
                }
                "ImpliedAccuracy" => {
                    ty = DeclaredType::Numeric {
                        accuracy: number(child, &here)?,
                        implied: true,
                    };
                }
                _ => self.ignore(path, child),
            }
        }
        Ok(ty)
    }

    fn ignore(&mut self, parent: &str, node: &Node) {
        self.observations.push(Observation::IgnoredElement {
            element: format!("{parent}/{}", node.name),
            line: node.line,
        });
    }
}

fn required<'n>(node: &'n Node, path: &str, name: &'static str) -> Result<&'n Node, IndexError> {
    node.children
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| IndexError::Missing {
            parent: path.to_owned(),
            element: name,
            line: node.line,
        })
}

fn number<T: std::str::FromStr>(node: &Node, path: &str) -> Result<T, IndexError> {
    node.text.trim().parse().map_err(|_| IndexError::Invalid {
        element: path.to_owned(),
        value: node.text.clone(),
        expected: "a non-negative integer",
        line: node.line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::dsfinvk::tables::TABLES;
    use proptest::prelude::*;

    /// The official DSFinV-K 2.3 index.xml (fixtures/conformance/dsfinvk/SOURCES.md).
    const OFFICIAL: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/conformance/dsfinvk/index.xml"
    ));

    #[test]
    fn official_supplier_renders_the_official_file_byte_for_byte() {
        let ours = render(&DataSupplier::OFFICIAL, &TABLES).unwrap();
        if ours != OFFICIAL {
            let at = ours
                .iter()
                .zip(OFFICIAL)
                .position(|(a, b)| a != b)
                .unwrap_or(ours.len().min(OFFICIAL.len()));
            let from = at.saturating_sub(80);
            panic!(
                "differs at byte {at}:\nours:     {:?}\nofficial: {:?}",
                String::from_utf8_lossy(&ours[from..(at + 80).min(ours.len())]),
                String::from_utf8_lossy(&OFFICIAL[from..(at + 80).min(OFFICIAL.len())]),
            );
        }
    }

    #[test]
    fn official_file_matches_the_declarations_table_by_table() {
        let index = parse(OFFICIAL).unwrap();
        assert_eq!(index.observations, []);
        assert_eq!(index.version.as_deref(), Some("1.0"));
        let supplier = index.data_supplier.as_ref().unwrap();
        assert_eq!(
            (
                supplier.name.as_str(),
                supplier.location.as_str(),
                supplier.comment.as_str()
            ),
            (
                DataSupplier::OFFICIAL.name,
                DataSupplier::OFFICIAL.location,
                DataSupplier::OFFICIAL.comment
            )
        );
        assert_eq!(index.tables.len(), TABLES.len());
        for (schema, table) in index.tables.iter().zip(TABLES) {
            assert_eq!(schema.url, table.file);
            assert_eq!(schema.name.as_deref(), Some(table.name), "{}", table.file);
            assert_eq!(schema.description.as_deref(), Some(table.file));
            assert_eq!(schema.encoding.as_deref(), Some("UTF8"));
            assert_eq!(schema.decimal_symbol.as_deref(), Some(","));
            assert_eq!(schema.digit_grouping_symbol.as_deref(), Some("."));
            assert_eq!(schema.range_from, Some(FIRST_DATA_LINE));
            assert_eq!(schema.skip_num_bytes, None);
            assert_eq!(schema.column_delimiter.as_deref(), Some(";"));
            assert_eq!(schema.record_delimiter.as_deref(), Some("\r\n"));
            assert_eq!(schema.text_encapsulator.as_deref(), Some("\""));
            let names: Vec<_> = schema.columns.iter().map(|c| c.name.as_str()).collect();
            let declared: Vec<_> = table.columns.iter().map(|c| c.name).collect();
            assert_eq!(names, declared, "{}", table.file);
            for (c, d) in schema.columns.iter().zip(table.columns) {
                assert_eq!(c.description.as_deref(), Some(d.description), "{}", d.name);
                assert_eq!(
                    c.ty.as_column_type(),
                    Some(d.ty),
                    "{} {}",
                    table.file,
                    d.name
                );
                assert!(!c.primary_key);
            }
        }
    }

    #[test]
    fn supplier_is_escaped_and_reads_back() {
        let supplier = DataSupplier {
            name: "Müller & Söhne <GmbH>",
            location: "Hauptstr. 1\r\n12345 Berlin",
            comment: "",
        };
        let bytes = render(&supplier, &TABLES).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("<Name>Müller &amp; Söhne &lt;GmbH&gt;</Name>\r\n"));
        assert!(text.contains("<Location>Hauptstr. 1&#xD;&#xA;12345 Berlin</Location>\r\n"));
        assert!(text.contains("    <Comment />\r\n"));
        let back = parse(&bytes).unwrap();
        assert_eq!(
            back.data_supplier,
            Some(SupplierInfo {
                name: supplier.name.to_owned(),
                location: supplier.location.to_owned(),
                comment: String::new(),
            })
        );
        assert_eq!(back.tables, parse(OFFICIAL).unwrap().tables);
    }

    #[test]
    fn control_characters_cannot_be_rendered() {
        let supplier = DataSupplier {
            name: "bad\u{1}name",
            ..DataSupplier::OFFICIAL
        };
        let err = render(&supplier, &TABLES).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Name \"bad\\u{1}name\": character U+0001 cannot appear in XML"
        );
    }

    #[test]
    fn missing_bom_and_lf_line_ends_are_observations() {
        let text = std::str::from_utf8(OFFICIAL).unwrap();
        let plain = text.strip_prefix(BOM).unwrap().replace("\r\n", "\n");
        let index = parse(plain.as_bytes()).unwrap();
        let n_lines = text.matches("\r\n").count();
        assert_eq!(
            index.observations,
            [
                Observation::NoByteOrderMark,
                Observation::LineEnds {
                    crlf: 0,
                    lf: n_lines,
                    cr: 0
                }
            ]
        );
        // The RecordDelimiter is written as references and survives the changed line ends.
        assert_eq!(index.tables, parse(OFFICIAL).unwrap().tables);
        assert_eq!(
            index.observations[1].to_string(),
            format!("line ends are not all CRLF (0 CRLF, {n_lines} LF, 0 CR)")
        );
    }

    const MINIMAL: &str = "<DataSet><Version>1.0</Version><Media><Name>M</Name><Table>\n\
        <URL>a.csv</URL>\n\
        <VariableLength>\n\
        <VariableColumn><Name>A</Name><AlphaNumeric/><MaxLength>5</MaxLength></VariableColumn>\n\
        <VariablePrimaryKey><Name>K</Name><Numeric><ImpliedAccuracy>2</ImpliedAccuracy></Numeric></VariablePrimaryKey>\n\
        <VariableColumn><Name>D</Name><Date><Format>YYYY-MM-DD</Format></Date><Map/></VariableColumn>\n\
        <VariableColumn><Name>T</Name><AlphaNumeric/></VariableColumn>\n\
        </VariableLength></Table></Media></DataSet>";

    #[test]
    fn gdpdu_forms_beyond_dsfinvk_are_read() {
        let index = parse(MINIMAL.as_bytes()).unwrap();
        let t = &index.tables[0];
        assert_eq!(
            (t.url.as_str(), t.name.as_ref(), t.line),
            ("a.csv", None, 1)
        );
        let tys: Vec<_> = t.columns.iter().map(|c| c.ty.clone()).collect();
        assert_eq!(
            tys,
            [
                DeclaredType::AlphaNumeric { max_len: Some(5) },
                DeclaredType::Numeric {
                    accuracy: 2,
                    implied: true
                },
                DeclaredType::Date {
                    format: Some("YYYY-MM-DD".to_owned())
                },
                DeclaredType::AlphaNumeric { max_len: None },
            ]
        );
        assert!(t.columns[1].primary_key);
        assert_eq!(t.columns[1].line, 5);
        assert_eq!(
            tys[0].as_column_type(),
            Some(ColumnType::AlphaNumeric { max_len: 5 })
        );
        assert!(tys[1..].iter().all(|t| t.as_column_type().is_none()));
        assert!(index.observations.contains(&Observation::NoDoctype));
        assert!(
            index.observations.contains(&Observation::IgnoredElement {
                element: "DataSet/Media[1]/Table[1](a.csv)/VariableLength/VariableColumn[3](D)/Map"
                    .to_owned(),
                line: 6
            })
        );
    }

    #[test]
    fn errors_name_the_element_and_line() {
        let cases: [(&str, &str); 9] = [
            (
                "<DataSet><Media><Table><URL>a.csv</URL>\n<VariableLength>\n</VariableLength></Table></Media></DataSet>",
                "index.xml line 2: DataSet/Media[1]/Table[1](a.csv)/VariableLength has no VariableColumn",
            ),
            (
                "<DataSet><Media><Table>\n<URL>a.csv</URL>\n<VariableLength><VariableColumn>\n<Name>A</Name><AlphaNumeric/><MaxLength>fünf</MaxLength>\n</VariableColumn></VariableLength></Table></Media></DataSet>",
                "index.xml line 4: DataSet/Media[1]/Table[1](a.csv)/VariableLength/VariableColumn[1](A)/MaxLength is \"fünf\", expected a non-negative integer",
            ),
            (
                "<DataSet><Media><Table>\n<VariableLength/></Table></Media></DataSet>",
                "index.xml line 1: DataSet/Media[1]/Table[1] has no URL",
            ),
            (
                "<DataSet><Media>\n<Table><URL>a.csv</URL></Table></Media></DataSet>",
                "index.xml line 2: DataSet/Media[1]/Table[1](a.csv) has no VariableLength",
            ),
            (
                "<DataSet><Media><Table><URL>a.csv</URL>\n<VariableLength>\n<VariableColumn><Name>A</Name></VariableColumn></VariableLength></Table></Media></DataSet>",
                "index.xml line 3: DataSet/Media[1]/Table[1](a.csv)/VariableLength/VariableColumn[1](A) has no AlphaNumeric, Numeric or Date",
            ),
            (
                "<DataSet><Media>\n<Table><URL>a.txt</URL><FixedLength/></Table></Media></DataSet>",
                "index.xml line 2: DataSet/Media[1]/Table[1](a.txt) is a FixedLength table, DSFinV-K tables are VariableLength",
            ),
            (
                "<?xml version=\"1.0\"?>\n<Index>\n</Index>",
                "index.xml line 2: root element is Index, not DataSet",
            ),
            (
                "<DataSet>\n<Media>\n<Table>\n</Media></DataSet>",
                "index.xml line 4: ill-formed document: expected `</Table>`, but `</Media>` was found",
            ),
            (
                "<DataSet><Version>1.0</Version></DataSet>",
                "index.xml line 1: DataSet has no Media",
            ),
        ];
        for (xml, want) in cases {
            assert_eq!(
                parse(xml.as_bytes()).unwrap_err().to_string(),
                want,
                "{xml}"
            );
        }
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert_eq!(
            parse(deep.as_bytes()).unwrap_err(),
            IndexError::TooDeep { line: 1 }
        );
        assert_eq!(
            parse(b"<DataSet>\n\xff</DataSet>").unwrap_err(),
            IndexError::NotUtf8 { line: 2 }
        );
        assert!(matches!(
            parse(b"<DataSet>&bogus;</DataSet>").unwrap_err(),
            IndexError::Xml { line: 1, .. }
        ));
        assert!(matches!(
            parse(b"").unwrap_err(),
            IndexError::Xml { line: 1, .. }
        ));
        assert!(matches!(
            parse(b"<DataSet/><DataSet/>").unwrap_err(),
            IndexError::Xml { line: 1, .. }
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn damaged_official_files_never_panic(
            cut in 0..OFFICIAL.len(),
            flips in proptest::collection::vec((0..OFFICIAL.len(), any::<u8>()), 0..8),
        ) {
            let mut bytes = OFFICIAL[..cut].to_vec();
            for (at, b) in flips {
                if at < bytes.len() {
                    bytes[at] = b;
                }
            }
            let _ = parse(&bytes);
        }
    }
}
