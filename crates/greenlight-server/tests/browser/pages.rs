//! What the browser tests do on every page: sign in and out with the form, and keep
//! screenshots of what they saw (in `target/screenshots/`, or `GREENLIGHT_SCREENSHOTS`).

use std::path::PathBuf;

use serde_json::json;

use super::webdriver::Browser;

/// The folder of the screenshots.
pub fn screenshots() -> PathBuf {
    let dir = std::env::var("GREENLIGHT_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots")
        });
    std::fs::create_dir_all(&dir).expect("the screenshot folder");
    dir
}

/// Signs in with the form; waits until the browser left the form (or lands on the
/// second-factor step, or the form shows an error).
pub fn sign_in(b: &Browser, base: &str, email: &str, password: &str) {
    b.goto(&format!("{base}/signin"));
    b.fill("#email", email);
    b.fill("#password", password);
    b.click("form[action='/signin'] button[type=submit]");
    b.wait_for(
        "sign-in",
        "return !location.pathname.startsWith('/signin') || location.pathname === '/signin/code' \
         || !!document.querySelector('[role=alert]')",
        json!([]),
    );
}

/// Signs out with the header's button.
pub fn sign_out(b: &Browser) {
    b.click("form[action='/signout'] button");
    b.wait_for(
        "sign-out",
        "return location.pathname === '/signin'",
        json!([]),
    );
}
