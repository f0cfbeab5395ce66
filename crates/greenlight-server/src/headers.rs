//! Security headers on every response: the pages cannot be framed by another site
//! (clickjacking), run only the server's own script and style, never leak their address to
//! other sites, and are never sniffed as another content type.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// The pages load only `/static/app.css` and `/static/app.js`; thumbnails are inline images.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to every response (handlers may set their own first).
pub async fn add(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let https = crate::client::is_https(req.headers(), &state.config);
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let fixed: [(HeaderName, &'static str); 5] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    for (name, value) in fixed {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    if https {
        h.entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(HeaderValue::from_static("max-age=31536000"));
    }
    res
}

#[cfg(test)]
mod tests {
    /// The policy allows only the server's own stylesheet and script: an inline `style`
    /// attribute, `<style>` or `<script>` block, or `on…=` handler in a template would be
    /// silently dropped by the browser.
    #[test]
    fn the_templates_carry_no_inline_styles_or_scripts() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).expect("the templates folder") {
            let path = entry.expect("an entry").path();
            let text = std::fs::read_to_string(&path).expect("a template");
            for bad in [
                "style=",
                "<style",
                "<script>",
                " onclick=",
                " onload=",
                " onchange=",
            ] {
                assert!(!text.contains(bad), "{} contains {bad:?}", path.display());
            }
            checked += 1;
        }
        assert!(checked > 10, "read the templates");
        let js = include_str!("../static/app.js");
        assert!(
            !js.contains("style:"),
            "app.js sets an inline style attribute"
        );
    }
}
