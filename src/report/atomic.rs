//! Atomic output files and the output directory.
//!
//! contract.md promises that an interrupted or failed run never leaves a half-written file: a
//! reader (a notebook, `acksim merge`, a script polling for `summary.csv`) sees either the old
//! file, or the complete new one, or nothing. So every file is written to a temporary file in
//! the same directory (a rename is only atomic within one file system), fsync'd, and renamed
//! over its final name; a temporary file that is not committed is removed when dropped.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::ReportError;

/// A file being written under a temporary name next to its final `path`.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    temp_path: PathBuf,
    /// `None` once committed (the temporary file then no longer exists).
    file: Option<File>,
}

/// Distinguishes temporary files of one process (several writers may share a directory).
static NEXT_TEMP: AtomicU32 = AtomicU32::new(0);

impl AtomicFile {
    /// Opens a new temporary file `.<name>.<pid>.<n>.tmp` next to `path`; hidden and ending in
    /// `.tmp` so that `ls` and the repository's `.gitignore` skip it if a crash strands it.
    pub fn create(path: &Path) -> Result<Self, ReportError> {
        let name = path
            .file_name()
            .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
        let dir = path.parent().unwrap_or(Path::new(""));
        loop {
            let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
            let temp_path = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp_path)
            {
                Ok(file) => {
                    return Ok(Self {
                        path: path.to_path_buf(),
                        temp_path,
                        file: Some(file),
                    });
                }
                // A stale file from an earlier process with the same pid: try the next name.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(source) => {
                    return Err(ReportError::Write {
                        path: path.to_path_buf(),
                        source,
                    });
                }
            }
        }
    }

    /// The final path this file will have once committed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the data to disk and renames the file to its final name, so the file appears
    /// complete or not at all (even across a power loss).
    pub fn commit(mut self) -> Result<PathBuf, ReportError> {
        let file = self.file.take().expect("an AtomicFile is committed once");
        let result = file
            .sync_all()
            .and_then(|()| fs::rename(&self.temp_path, &self.path));
        if let Err(source) = result {
            let _ = fs::remove_file(&self.temp_path);
            return Err(ReportError::Write {
                path: self.path.clone(),
                source,
            });
        }
        sync_parent_dir(&self.path);
        Ok(self.path.clone())
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("file already committed"))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl Drop for AtomicFile {
    /// An uncommitted file is abandoned output: remove it.
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.temp_path);
        }
    }
}

/// Makes the rename itself durable. Best effort: some file systems refuse to fsync a directory,
/// and by then the data is complete under its final name anyway.
fn sync_parent_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// The directory a run writes into. It remembers which directories it had to create, so that a
/// run that fails before writing anything removes them again (dropping it without [`keep`]):
/// a failed run leaves the file system as it found it.
///
/// [`keep`]: OutputDir::keep
#[derive(Debug)]
pub struct OutputDir {
    path: PathBuf,
    /// Directories created here, outermost first.
    created: Vec<PathBuf>,
}

impl OutputDir {
    /// Creates `path` and any missing parents.
    pub fn create(path: &Path) -> Result<Self, ReportError> {
        let missing: Vec<PathBuf> = path
            .ancestors()
            .filter(|a| !a.as_os_str().is_empty() && !a.exists())
            .map(Path::to_path_buf)
            .collect();
        let mut dir = Self {
            path: path.to_path_buf(),
            created: Vec::new(),
        };
        for m in missing.into_iter().rev() {
            match fs::create_dir(&m) {
                Ok(()) => dir.created.push(m),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(source) => {
                    return Err(ReportError::CreateDir {
                        path: path.to_path_buf(),
                        source,
                    });
                }
            }
        }
        if !path.is_dir() {
            let source = io::Error::new(io::ErrorKind::AlreadyExists, "not a directory");
            return Err(ReportError::CreateDir {
                path: path.to_path_buf(),
                source,
            });
        }
        Ok(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The path of `name` inside this directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The run succeeded: keep the directories.
    pub fn keep(mut self) {
        self.created.clear();
    }
}

impl Drop for OutputDir {
    /// Removes the directories this run created, innermost first, if they are still empty
    /// (`remove_dir` refuses a non-empty one, so nothing else is ever deleted).
    fn drop(&mut self) {
        for dir in self.created.iter().rev() {
            if fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn committed_file_appears_complete_under_its_name_and_nothing_else_remains() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("out.csv");
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"a,b\n1,2\n").unwrap();
        assert!(!path.exists(), "visible before commit");
        assert_eq!(f.commit().unwrap(), path);
        assert_eq!(fs::read_to_string(&path).unwrap(), "a,b\n1,2\n");
        assert_eq!(entries(tmp.path()), ["out.csv"]);
    }

    #[test]
    fn dropped_file_leaves_nothing_and_keeps_the_old_version() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("out.csv");
        fs::write(&path, "old\n").unwrap();
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"half a ro").unwrap();
        drop(f);
        assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
        assert_eq!(entries(tmp.path()), ["out.csv"]);
    }

    #[cfg(unix)]
    #[test]
    fn unwritable_directory_is_an_error_naming_the_path_and_leaves_nothing() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ro");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o555)).unwrap();
        let privileged = File::create(dir.join("probe")).is_ok(); // root ignores the mode
        let result = AtomicFile::create(&dir.join("summary.csv"));
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        if privileged {
            return;
        }
        let err = result.unwrap_err();
        assert!(err.to_string().contains("summary.csv"), "{err}");
        assert!(entries(&dir).is_empty());
    }

    #[test]
    fn failed_commit_is_an_error_naming_the_path_and_removes_the_temporary_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("out.csv");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("occupied"), "").unwrap(); // a rename cannot replace a non-empty directory
        let mut f = AtomicFile::create(&path).unwrap();
        f.write_all(b"x\n").unwrap();
        let err = f.commit().unwrap_err();
        assert!(err.to_string().contains("out.csv"), "{err}");
        assert_eq!(entries(tmp.path()), ["out.csv"]);
    }

    #[test]
    fn output_dir_removes_what_it_created_unless_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("a/b/c");
        drop(OutputDir::create(&deep).unwrap());
        assert!(!tmp.path().join("a").exists());
        OutputDir::create(&deep).unwrap().keep();
        assert!(deep.is_dir());
    }

    #[test]
    fn output_dir_never_removes_a_directory_it_did_not_create_or_one_with_files() {
        let tmp = tempfile::tempdir().unwrap();
        drop(OutputDir::create(tmp.path()).unwrap());
        assert!(tmp.path().is_dir());
        let dir = OutputDir::create(&tmp.path().join("x")).unwrap();
        fs::write(dir.join("keep.txt"), "").unwrap();
        drop(dir);
        assert!(tmp.path().join("x/keep.txt").exists());
    }

    #[test]
    fn output_dir_over_a_file_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        fs::write(&file, "").unwrap();
        let err = OutputDir::create(&file).unwrap_err();
        assert!(err.to_string().contains(&*file.to_string_lossy()), "{err}");
    }
}
