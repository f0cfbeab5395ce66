//! Helpers shared by the CLI tests: run the real binary in a fresh temporary directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh temporary directory with the files a test needs, and the binary to run in it.
pub struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Self {
        Self {
            tmp: tempfile::tempdir().expect("a temporary directory can be created"),
        }
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes `contents` to `name` (relative to the directory), creating parent folders.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.tmp.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("parent folders can be created");
        }
        std::fs::write(&path, contents).expect("test file can be written");
        path
    }

    /// A `greenlight` command with this directory as working directory.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_greenlight"));
        // The scan cache goes to the user's cache folder: keep it inside this test's folder.
        cmd.current_dir(self.tmp.path())
            .env("XDG_CACHE_HOME", self.tmp.path().join(".user-cache"))
            .env_remove("GREENLIGHT_BANKS_URL")
            .env_remove("NO_COLOR")
            .env("GREENLIGHT_LOG", "off");
        cmd
    }

    /// Runs `greenlight ARGS...` here and returns its output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .output()
            .expect("the greenlight binary runs")
    }
}

/// `../shared` beside the project root, when present (tests that use it skip without it).
pub fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    dir.is_dir().then(|| dir.canonicalize().unwrap_or(dir))
}
