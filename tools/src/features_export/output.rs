//! The output file is written under a temporary name in its own directory and renamed into place
//! only once complete, so the output name never holds half a file: an error, a crash or Ctrl-C
//! leaves either nothing or the previous file there (the temporary file is removed on error; a crash
//! can leave a `.<name>.partial*` file beside it).

use super::ExportError;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use tempfile::TempPath;

/// The temporary file an export writes into.
#[derive(Debug)]
pub struct PendingFile {
    file: File,
    path: TempPath,
}

impl PendingFile {
    /// Refuses an existing `dest` unless `force`; creates `dest`'s directory if needed, and the
    /// temporary file beside `dest` (same file system, so the final rename is atomic).
    pub fn create(dest: &Path, force: bool) -> Result<PendingFile, ExportError> {
        if dest.is_dir() {
            return Err(ExportError::Io {
                path: dest.to_path_buf(),
                source: std::io::Error::other("is a directory; give the path of the file to write"),
            });
        }
        if !force && dest.symlink_metadata().is_ok() {
            return Err(ExportError::Exists(dest.to_path_buf()));
        }
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let io = |source| ExportError::Io { path: dest.to_path_buf(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let prefix = format!(".{name}.partial");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        // A temporary file is private (0600) by default; the output is an ordinary file (0666 less
        // the umask), like any file a command creates.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let tmp = builder.tempfile_in(dir).map_err(io)?;
        let (file, path) = tmp.into_parts();
        Ok(PendingFile { file, path })
    }

    pub fn into_parts(self) -> (File, TempPath) {
        (self.file, self.path)
    }
}

/// Flushes and syncs the written file, then renames it to `dest` (replacing an existing file only
/// with `force`). Returns the file's size.
pub fn commit(writer: BufWriter<File>, temp: TempPath, dest: &Path, force: bool) -> Result<u64, ExportError> {
    let io = |source| ExportError::Io { path: dest.to_path_buf(), source };
    let mut writer = writer;
    writer.flush().map_err(io)?;
    let file = writer.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    let bytes = file.metadata().map_err(io)?.len();
    drop(file);
    if force {
        temp.persist(dest).map_err(|e| io(e.error))?;
    } else {
        // Someone may have created `dest` since the check at the start: still never overwrite it.
        temp.persist_noclobber(dest).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                ExportError::Exists(dest.to_path_buf())
            } else {
                io(e.error)
            }
        })?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_an_existing_file_and_leaves_nothing_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sub/m.parquet");
        let pending = PendingFile::create(&dest, false).unwrap();
        assert_eq!(std::fs::read_dir(dir.path().join("sub")).unwrap().count(), 1);
        drop(pending);
        assert_eq!(std::fs::read_dir(dir.path().join("sub")).unwrap().count(), 0, "temporary file removed");

        std::fs::write(&dest, b"old").unwrap();
        assert!(matches!(PendingFile::create(&dest, false), Err(ExportError::Exists(_))));
        let (file, path) = PendingFile::create(&dest, true).unwrap().into_parts();
        let mut w = BufWriter::new(file);
        w.write_all(b"new!").unwrap();
        assert_eq!(commit(w, path, &dest, true).unwrap(), 4);
        assert_eq!(std::fs::read(&dest).unwrap(), b"new!");
        assert_eq!(std::fs::read_dir(dir.path().join("sub")).unwrap().count(), 1);
    }
}
