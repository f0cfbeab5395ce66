//! A small W3C WebDriver command layer over `ureq` (chromedriver on loopback): the handful
//! of commands the browser tests use, with nothing to download at build or run time.

// A shared helper: not every test binary that includes it uses every command.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A running chromedriver, killed on drop.
pub struct Driver {
    child: Child,
    pub port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The browser and driver binaries, or why the tests skip.
pub fn binaries() -> Result<(String, String), String> {
    let chrome =
        std::env::var("GREENLIGHT_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let driver =
        std::env::var("GREENLIGHT_CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    for p in [&chrome, &driver] {
        if !std::path::Path::new(p).exists() {
            return Err(format!(
                "{p} is missing (apt-get install chromium chromium-driver)"
            ));
        }
    }
    Ok((chrome, driver))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Driver {
    /// Starts chromedriver and waits until it answers.
    pub fn start(driver: &str) -> Driver {
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let d = Driver { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if http(port, "GET", "/status", None).is_ok() {
                return d;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("chromedriver did not answer on port {port}");
    }
}

fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    // WebDriver answers errors with a 4xx/5xx status and a JSON body the caller reads.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(120)))
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("http://127.0.0.1:{port}{path}");
    let response = match method {
        "GET" => agent.get(&url).call(),
        "DELETE" => agent.delete(&url).call(),
        _ => agent
            .post(&url)
            .content_type("application/json")
            .send(body.map(|b| b.to_string()).unwrap_or_default()),
    };
    let mut response = response.map_err(|e| e.to_string())?;
    // Screenshots and printed pages come back as base64 in the JSON: allow them room.
    let text = response
        .body_mut()
        .with_config()
        .limit(512 << 20)
        .read_to_string()
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
}

/// A browser session.
pub struct Browser {
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
    }
}

impl Browser {
    /// A headless Chromium with a fresh profile.
    pub fn open(driver: &Driver, chrome: &str) -> Browser {
        let profile = tempfile::tempdir().expect("a profile directory");
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1400,1000",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chrome, "args": args}
        }}});
        let v = http(driver.port, "POST", "/session", Some(&caps)).expect("a browser session");
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_owned();
        Browser {
            port: driver.port,
            session,
            _profile: profile,
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let v = http(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            body.as_ref(),
        )
        .unwrap_or_else(|e| panic!("webdriver {method} {path}: {e}"));
        if v["value"].get("error").is_some() {
            panic!("webdriver {method} {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }

    pub fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = http(
                self.port,
                "POST",
                &format!("/session/{}/element", self.session),
                Some(&json!({"using": "css selector", "value": css})),
            )
            .expect("webdriver answers");
            if let Some(id) = v["value"]
                .as_object()
                .and_then(|o| o.values().next())
                .and_then(Value::as_str)
                && v["value"].get("error").is_none()
            {
                return id.to_owned();
            }
            if Instant::now() > deadline {
                panic!("no element {css} on {}", self.url());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn exists(&self, css: &str) -> bool {
        let v = self.script(
            "return document.querySelector(arguments[0]) !== null",
            json!([css]),
        );
        v.as_bool().unwrap_or(false)
    }

    pub fn fill(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/clear"), Some(json!({})));
        self.cmd(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        );
    }

    pub fn click(&self, css: &str) {
        let id = self.find(css);
        self.cmd("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    /// Sets a select's value (and tells the page it changed).
    pub fn select(&self, css: &str, value: &str) {
        self.find(css);
        self.script(
            "const s = document.querySelector(arguments[0]); s.value = arguments[1]; s.dispatchEvent(new Event('change', {bubbles: true}));",
            json!([css, value]),
        );
    }

    pub fn script(&self, js: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": args})),
        )
    }

    pub fn script_async(&self, js: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/async",
            Some(json!({"script": js, "args": args})),
        )
    }

    pub fn text(&self, css: &str) -> String {
        self.find(css);
        self.script(
            "return document.querySelector(arguments[0]).innerText",
            json!([css]),
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    pub fn body(&self) -> String {
        self.text("body")
    }

    pub fn title(&self) -> String {
        self.cmd("GET", "/title", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until a script returns true.
    pub fn wait_for(&self, what: &str, js: &str, args: Value) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if self.script(js, args.clone()).as_bool() == Some(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out waiting for {what} on {}", self.url());
    }

    /// Lets the page download files into `dir` without asking (headless Chromium refuses
    /// downloads unless told where they go).
    pub fn allow_downloads(&self, dir: &std::path::Path) {
        self.cmd(
            "POST",
            "/chromium/send_command",
            Some(json!({"cmd": "Page.setDownloadBehavior", "params": {
                "behavior": "allow", "downloadPath": dir.display().to_string()
            }})),
        );
    }

    /// Prints the page to PDF with the browser's print (the print stylesheet applies).
    pub fn print_pdf(&self, path: &std::path::Path) {
        use base64::Engine;
        let v = self.cmd(
            "POST",
            "/print",
            Some(json!({"orientation": "landscape", "background": true})),
        );
        let pdf = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .expect("a base64 PDF");
        std::fs::write(path, pdf).expect("PDF written");
    }

    /// Sets the window's size, in CSS pixels.
    pub fn resize(&self, width: u64, height: u64) {
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        );
    }

    /// Writes a PNG screenshot of the window as it is (no resizing), e.g. a narrow one.
    pub fn screenshot_window(&self, path: &std::path::Path) {
        use base64::Engine;
        let v = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .expect("a base64 PNG");
        std::fs::write(path, png).expect("screenshot written");
    }

    /// Writes a PNG screenshot of the whole page.
    pub fn screenshot(&self, path: &std::path::Path) {
        use base64::Engine;
        let height = self
            .script("return document.documentElement.scrollHeight", json!([]))
            .as_u64()
            .unwrap_or(1000)
            .clamp(600, 4000);
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": 1400, "height": height + 140})),
        );
        let v = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .expect("a base64 PNG");
        std::fs::write(path, png).expect("screenshot written");
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": 1400, "height": 1000})),
        );
    }
}
