//! Prometheus metrics (text exposition, written by hand: a few counters and one
//! histogram do not justify a metrics framework) and the per-request middleware that
//! feeds them, logs a span per request with its request id, and tags 5xx problems.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// Upper bounds (seconds) of the request latency histogram.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// Request counters and latency histograms by route.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    /// Notification deliveries sent by this instance.
    pub notifications_delivered: Counter,
    /// Notification delivery attempts that failed on this instance.
    pub notifications_failed: Counter,
}

/// A counter.
#[derive(Default)]
pub struct Counter(std::sync::atomic::AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The count.
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
        }
        if let Ok(mut l) = self.latency.lock() {
            let h = l.entry(route.to_owned()).or_insert_with(|| Histogram {
                counts: vec![0; BUCKETS.len()],
                sum: 0.0,
                count: 0,
            });
            for (i, b) in BUCKETS.iter().enumerate() {
                if secs <= *b {
                    h.counts[i] += 1;
                }
            }
            h.sum += secs;
            h.count += 1;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, w: &greenlight_store::WriterStats) -> String {
        let mut out = String::new();
        out.push_str("# HELP greenlight_notifications_delivered_total Notification deliveries sent by this instance.\n");
        out.push_str("# TYPE greenlight_notifications_delivered_total counter\n");
        let _ = writeln!(
            out,
            "greenlight_notifications_delivered_total {}",
            self.notifications_delivered.get()
        );
        out.push_str("# HELP greenlight_notifications_failed_total Notification delivery attempts that failed on this instance.\n");
        out.push_str("# TYPE greenlight_notifications_failed_total counter\n");
        let _ = writeln!(
            out,
            "greenlight_notifications_failed_total {}",
            self.notifications_failed.get()
        );
        out.push_str(
            "# HELP greenlight_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE greenlight_http_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((method, route, status), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "greenlight_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP greenlight_http_request_duration_seconds Request latency by route.\n");
        out.push_str("# TYPE greenlight_http_request_duration_seconds histogram\n");
        if let Ok(l) = self.latency.lock() {
            for (route, h) in l.iter() {
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "greenlight_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{b}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "greenlight_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "greenlight_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "greenlight_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.count
                );
            }
        }
        let counters = [
            (
                "greenlight_store_write_batches_total",
                "Write transactions committed (group commit).",
                w.batches,
            ),
            (
                "greenlight_store_write_requests_total",
                "Write requests handled by the writer.",
                w.requests,
            ),
            (
                "greenlight_store_audit_entries_total",
                "Audit entries appended.",
                w.audit_entries,
            ),
            (
                "greenlight_store_failed_batches_total",
                "Write transactions that failed as a whole.",
                w.failed_batches,
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP greenlight_store_commit_seconds_total Time spent committing (fsync included).\n# TYPE greenlight_store_commit_seconds_total counter\ngreenlight_store_commit_seconds_total {}",
            w.commit_micros as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "# HELP greenlight_store_batch_seconds_total Time from BEGIN to COMMIT of write batches.\n# TYPE greenlight_store_batch_seconds_total counter\ngreenlight_store_batch_seconds_total {}",
            w.batch_micros as f64 / 1e6
        );
        out
    }
}

/// Per request: a request id (taken from `x-request-id` or made), a tracing span with
/// method, route and id, the metrics, and the id on the response.
pub async fn track(
    State(metrics): State<std::sync::Arc<Metrics>>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    req.extensions_mut()
        .insert(crate::error::RequestId(id.clone()));
    let span = tracing::info_span!("request", method = %method, route = %route, request_id = %id);
    let mut res = next.run(req).instrument(span.clone()).await;
    let status = res.status().as_u16();
    let secs = started.elapsed().as_secs_f64();
    metrics.observe(&method, &route, status, secs);
    if status >= 500 {
        span.in_scope(|| tracing::warn!(status, elapsed_ms = secs * 1e3, "request failed"));
    } else {
        span.in_scope(|| tracing::debug!(status, elapsed_ms = secs * 1e3, "request"));
    }
    let is_problem = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v == "application/problem+json");
    if status >= 500 && is_problem {
        res = with_request_id(res, &id).await;
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

/// Adds `request_id` to a 5xx problem document, so the person who saw "internal error"
/// can name the request whose cause is in the log.
async fn with_request_id(res: Response, id: &str) -> Response {
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Response::from_parts(parts, axum::body::Body::empty());
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(mut v) => {
            v["request_id"] = serde_json::Value::String(id.to_owned());
            serde_json::to_vec(&v).unwrap_or_else(|_| bytes.to_vec())
        }
        Err(_) => bytes.to_vec(),
    };
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(body))
}
