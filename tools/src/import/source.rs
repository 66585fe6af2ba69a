//! Streams lines out of capture files, one file after another, gzip or plain, without loading a
//! whole file: memory stays at one line plus the decompressor's window.

use super::error::{ImportError, Location};
use flate2::read::MultiGzDecoder;
use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// Counts the compressed bytes pulled from the file, for progress reporting.
struct Counting<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// One line read from an input.
#[derive(Debug)]
pub struct Line<'a> {
    pub text: &'a str,
    pub at: Location,
    /// The line did not end with a newline: the last line of a capture cut off mid-write.
    pub unterminated: bool,
}

/// What happened when asking for the next line.
#[derive(Debug)]
pub enum Next<'a> {
    Line(Line<'a>),
    /// The current file ended and the next one (if any) starts with the following call.
    EndOfFile {
        path: &'a Path,
    },
    /// All inputs are exhausted.
    Done,
}

/// Reads the lines of several files in order, tracking file and line number.
pub struct LineSource {
    paths: Vec<PathBuf>,
    next_path: usize,
    current: Option<(Arc<Path>, Box<dyn BufRead>)>,
    line_no: u64,
    buf: Vec<u8>,
    bytes_before_current: u64,
    current_read: Rc<Cell<u64>>,
    total_bytes: u64,
}

impl std::fmt::Debug for LineSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineSource").field("paths", &self.paths).field("line_no", &self.line_no).finish()
    }
}

impl LineSource {
    /// Checks that every input exists and is readable before anything is imported.
    pub fn open(paths: &[PathBuf]) -> Result<Self, ImportError> {
        let mut total_bytes = 0;
        for p in paths {
            let meta = std::fs::metadata(p).map_err(|e| ImportError::input(p, e))?;
            if meta.is_dir() {
                return Err(ImportError::input(
                    p,
                    io::Error::other("is a directory; give the capture files inside it"),
                ));
            }
            total_bytes += meta.len();
        }
        Ok(LineSource {
            paths: paths.to_vec(),
            next_path: 0,
            current: None,
            line_no: 0,
            buf: Vec::with_capacity(1 << 16),
            bytes_before_current: 0,
            current_read: Rc::new(Cell::new(0)),
            total_bytes,
        })
    }

    /// Input bytes (compressed, as on disk) consumed so far, and the total.
    pub fn progress(&self) -> (u64, u64) {
        (self.bytes_before_current + self.current_read.get(), self.total_bytes)
    }

    fn open_next(&mut self) -> Result<bool, ImportError> {
        let Some(path) = self.paths.get(self.next_path).cloned() else { return Ok(false) };
        self.next_path += 1;
        self.bytes_before_current += self.current_read.get();
        self.current_read = Rc::new(Cell::new(0));
        let mut file = File::open(&path).map_err(|e| ImportError::input(&path, e))?;
        let mut magic = [0u8; 2];
        let n = read_up_to(&mut file, &mut magic).map_err(|e| ImportError::input(&path, e))?;
        let counting =
            Counting { inner: io::Cursor::new(magic[..n].to_vec()).chain(file), read: self.current_read.clone() };
        let reader: Box<dyn BufRead> = if n == 2 && magic == [0x1f, 0x8b] {
            Box::new(BufReader::with_capacity(1 << 18, MultiGzDecoder::new(counting)))
        } else {
            Box::new(BufReader::with_capacity(1 << 18, counting))
        };
        self.current = Some((Arc::from(path.as_path()), reader));
        self.line_no = 0;
        Ok(true)
    }

    /// The next line, the end of a file, or the end of all input. A read error (a truncated or
    /// corrupt gzip stream, an unreadable file) names the file and the last line read whole.
    pub fn next_line(&mut self) -> Result<Next<'_>, ImportError> {
        if self.current.is_none() && !self.open_next()? {
            return Ok(Next::Done);
        }
        let Some((path, reader)) = self.current.as_mut() else { return Ok(Next::Done) };
        self.buf.clear();
        let n = match reader.read_until(b'\n', &mut self.buf) {
            Ok(n) => n,
            Err(e) => {
                let at = Location { file: path.clone(), line: self.line_no + 1 };
                self.current = None;
                return Err(ImportError::read_failed(at, e));
            }
        };
        if n == 0 {
            self.current = None;
            let path = &self.paths[self.next_path - 1];
            return Ok(Next::EndOfFile { path });
        }
        self.line_no += 1;
        let unterminated = self.buf.last() != Some(&b'\n');
        let mut bytes = &self.buf[..];
        while let [rest @ .., b'\n' | b'\r'] = bytes {
            bytes = rest;
        }
        let at = Location { file: path.clone(), line: self.line_no };
        // Not UTF-8: the parsers reject the replacement character as garbage, with its location.
        let text = std::str::from_utf8(bytes).unwrap_or("\u{FFFD}");
        Ok(Next::Line(Line { text, at, unterminated }))
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}
