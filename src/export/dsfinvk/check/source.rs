//! Where an export's files come from: a directory or a zip archive.
//!
//! A zip may hold the export in a folder (the official package puts it in `index.xml/`); the
//! folder of the shallowest `index.xml` is the export, other entries are ignored. Files are
//! handed out as streams, one at a time, so a table is never held in memory whole.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use super::OpenError;
use crate::export::dsfinvk::index_xml;

/// Anything a zip can be read from.
pub(crate) trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// The largest index.xml read; the official one has about 100 KB.
const MAX_INDEX_BYTES: u64 = 64 << 20;

/// An opened export.
pub(crate) enum Source {
    /// A directory: file names are its entries.
    Dir(PathBuf),
    /// A zip: `prefix` is the folder of index.xml inside it (`""` or ending in `/`).
    Zip {
        archive: Box<zip::ZipArchive<Box<dyn ReadSeek>>>,
        prefix: String,
    },
}

impl Source {
    /// Opens a directory or a zip file.
    pub(crate) fn open(path: &Path) -> Result<Source, OpenError> {
        let meta = std::fs::metadata(path).map_err(|e| OpenError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        if meta.is_dir() {
            if !path.join(index_xml::FILE_NAME).is_file() {
                return Err(OpenError::NoIndex);
            }
            return Ok(Source::Dir(path.to_path_buf()));
        }
        let file = File::open(path).map_err(|e| OpenError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Source::zip(Box::new(BufReader::new(file)))
    }

    /// Opens a zip from any seekable reader.
    pub(crate) fn zip(reader: Box<dyn ReadSeek>) -> Result<Source, OpenError> {
        let archive = zip::ZipArchive::new(reader).map_err(|e| OpenError::NotAnExport {
            reason: format!("neither a directory nor a zip archive ({e})"),
        })?;
        let prefix = entry_names(&archive)
            .into_iter()
            .filter_map(|n| {
                if n == index_xml::FILE_NAME {
                    Some(String::new())
                } else {
                    n.strip_suffix(index_xml::FILE_NAME)
                        .filter(|p| p.ends_with('/'))
                        .map(str::to_string)
                }
            })
            .min_by_key(|p| (p.matches('/').count(), p.clone()))
            .ok_or(OpenError::NoIndex)?;
        Ok(Source::Zip {
            archive: Box::new(archive),
            prefix,
        })
    }

    /// The names of the export's files (no folders, no nested files), sorted.
    pub(crate) fn names(&mut self) -> Vec<String> {
        let mut names: Vec<String> = match self {
            Source::Dir(dir) => std::fs::read_dir(dir)
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                        .filter_map(|e| e.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default(),
            Source::Zip { archive, prefix } => entry_names(archive)
                .iter()
                .filter_map(|n| n.strip_prefix(prefix.as_str()))
                .filter(|n| !n.is_empty() && !n.contains('/'))
                .map(str::to_string)
                .collect(),
        };
        names.sort();
        names.dedup();
        names
    }

    /// The bytes of index.xml.
    pub(crate) fn index_bytes(&mut self) -> Result<Vec<u8>, OpenError> {
        let mut bytes = Vec::new();
        let res = self.with_file(index_xml::FILE_NAME, &mut |r| {
            r.take(MAX_INDEX_BYTES).read_to_end(&mut bytes).map(|_| ())
        });
        match res {
            Some(Ok(())) => Ok(bytes),
            Some(Err(e)) => Err(OpenError::Io {
                path: PathBuf::from(index_xml::FILE_NAME),
                source: e,
            }),
            None => Err(OpenError::NoIndex),
        }
    }

    /// Runs `f` on a stream of the file `name`; `None` when there is no such file.
    pub(crate) fn with_file<T>(
        &mut self,
        name: &str,
        f: &mut dyn FnMut(&mut dyn Read) -> io::Result<T>,
    ) -> Option<io::Result<T>> {
        match self {
            Source::Dir(dir) => {
                let path = dir.join(name);
                if !path.is_file() {
                    return None;
                }
                Some(File::open(path).and_then(|file| f(&mut BufReader::new(file))))
            }
            Source::Zip { archive, prefix } => {
                let full = format!("{prefix}{name}");
                let mut entry = archive.by_name(&full).ok()?;
                if entry.is_dir() {
                    return None;
                }
                Some(f(&mut entry))
            }
        }
    }
}

/// The names of a zip's entries that are valid UTF-8.
fn entry_names(archive: &zip::ZipArchive<Box<dyn ReadSeek>>) -> Vec<String> {
    archive
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .collect()
}
