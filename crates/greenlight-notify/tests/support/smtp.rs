//! Starts the test SMTP server (`tests/smtp_sink.py`, Python's aiosmtpd) and reads back
//! what it received. Shared by the mail tests and the delivery benchmark.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

/// A running SMTP sink on 127.0.0.1. Stopped (and its folder removed) when dropped.
pub struct SmtpSink {
    child: Child,
    // Closing the sink's standard input stops it even if this process dies first.
    _stdin: ChildStdin,
    pub port: u16,
    dir: tempfile::TempDir,
}

/// One received message as the sink's Python `email` parser read it.
#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)] // each test binary reads a different subset
pub struct Received {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub headers: Vec<(String, String)>,
    pub raw_headers: String,
    pub parts: Vec<Part>,
}

#[derive(Debug, serde::Deserialize)]
pub struct Part {
    pub content_type: String,
    pub content: String,
}

#[allow(dead_code)]
impl Received {
    /// Every value of header `name` (case-insensitive).
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The one value of header `name`.
    pub fn header(&self, name: &str) -> &str {
        let all = self.header_all(name);
        assert_eq!(all.len(), 1, "header {name}: {:?}", self.headers);
        all[0]
    }

    /// The content of the part of type `content_type`.
    pub fn part(&self, content_type: &str) -> &str {
        let found: Vec<&Part> = self
            .parts
            .iter()
            .filter(|p| p.content_type == content_type)
            .collect();
        assert_eq!(found.len(), 1, "parts: {:?}", self.parts);
        &found[0].content
    }
}

/// The Python that has aiosmtpd: `GREENLIGHT_AIOSMTPD_PYTHON`, else the venv
/// `scripts/install-aiosmtpd.sh` makes, else the system's `python3` if it has the module.
fn python() -> Result<PathBuf, String> {
    let mut candidates = Vec::new();
    if let Some(p) = std::env::var_os("GREENLIGHT_AIOSMTPD_PYTHON") {
        candidates.push(PathBuf::from(p));
    }
    let venv = std::env::var_os("GREENLIGHT_AIOSMTPD_VENV")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
                .map(|c| c.join("greenlight/aiosmtpd"))
        });
    if let Some(venv) = venv {
        candidates.push(venv.join("bin/python"));
    }
    candidates.push(PathBuf::from("python3"));
    for python in candidates {
        let ok = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(python);
        }
    }
    Err("no Python with aiosmtpd found (run scripts/install-aiosmtpd.sh)".into())
}

impl SmtpSink {
    /// Starts the sink, or says why it cannot (`None`): the caller then skips.
    pub fn start(write_files: bool) -> Option<SmtpSink> {
        let python = match python() {
            Ok(p) => p,
            Err(why) => {
                eprintln!("skipped: {why}");
                return None;
            }
        };
        let dir = tempfile::tempdir().expect("a temporary folder");
        // Found from any crate of the workspace (the CLI's end-to-end tests use it too).
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../greenlight-notify/tests/smtp_sink.py");
        let mut command = Command::new(&python);
        command.arg(&script).arg(dir.path());
        if !write_files {
            command.arg("--no-files");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the SMTP sink");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut line)
            .expect("reading the SMTP sink's port");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the SMTP sink printed {line:?}, not its port"));
        Some(SmtpSink {
            child,
            _stdin: stdin,
            port,
            dir,
        })
    }

    /// Every message received so far, in order.
    #[allow(dead_code)]
    pub fn received(&self) -> Vec<Received> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("reading the sink's folder")
            .map(|e| e.expect("a folder entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| {
                let text = std::fs::read_to_string(p).expect("reading a received message");
                serde_json::from_str(&text).expect("the sink's JSON")
            })
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
