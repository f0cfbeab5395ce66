//! Files the server hands out (consent documents, tool evidence, reports, audit bundles) as
//! downloads, with one `Content-Disposition` for the API and the pages alike.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The file name a download is saved under: the base name only (no folders, so no `../`),
/// no control characters, no quotes or backslashes, at most 120 characters, never empty and
/// never hidden (no leading dot).
pub fn safe_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\' | '/' | ';'))
        .take(120)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_owned();
    if cleaned.is_empty() {
        "download".to_owned()
    } else {
        cleaned
    }
}

/// The `Content-Disposition` of an attachment named `name`: an ASCII `filename` for old
/// clients and the exact (cleaned) name as RFC 5987 `filename*` for the rest.
pub fn content_disposition(name: &str) -> HeaderValue {
    let name = safe_file_name(name);
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ' | '(' | ')') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(&name, RFC5987).to_string();
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment; filename=\"download\""))
}

/// Characters RFC 5987's `attr-char` does not allow as they are.
const RFC5987: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// A download: body, content type and file name.
pub fn download(
    body: impl Into<axum::body::Body>,
    content_type: &str,
    file_name: &str,
) -> Response {
    let mut res = body.into().into_response();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    res.headers_mut()
        .insert(header::CONTENT_DISPOSITION, content_disposition(file_name));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_loses_its_folders_and_control_characters() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(safe_file_name("con\r\nsent\t.pdf"), "consent.pdf");
        assert_eq!(safe_file_name("..."), "download");
        assert_eq!(safe_file_name(".hidden"), "hidden");
        assert_eq!(safe_file_name("a\"b;c.pdf"), "abc.pdf");
    }

    #[test]
    fn the_disposition_is_a_valid_header_for_any_name() {
        for name in [
            "consent.pdf",
            "Zoë – signed.pdf",
            "\u{0}\n../x",
            "../",
            "a\u{7f}b",
        ] {
            let v = content_disposition(name);
            let s = v.to_str().expect("ASCII header");
            assert!(s.starts_with("attachment; filename=\""), "{s}");
            assert!(!s.contains(".."), "{s}");
            assert!(!s.contains('/'), "{s}");
        }
        let v = content_disposition("Zoë.pdf");
        assert_eq!(
            v.to_str().expect("ascii"),
            "attachment; filename=\"Zo_.pdf\"; filename*=UTF-8''Zo%C3%AB.pdf"
        );
    }
}
