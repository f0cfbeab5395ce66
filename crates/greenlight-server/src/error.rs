//! One error type for the API, answered as RFC 9457 `application/problem+json` with the
//! field paths the command line uses (`errors: [{path, pointer, detail}]`).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use greenlight_store::{FieldProblem, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

/// One problem with a field of the request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// The field path as the CLI prints it (`tools[0].data_use`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// RFC 6901 pointer (`/tools/0/data_use`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    pub detail: String,
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Open blockers, for a refused approval.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blockers: Vec<String>,
    /// The current ETag, for 412.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The request id, for 5xx (the cause is in the log under it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// An error answered as problem+json.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: the problem document is large and errors travel through every `Result`.
    pub problem: Box<Problem>,
}

fn pointer(path: &str) -> String {
    greenlight_core::format::path_to_pointer(path)
}

impl ApiError {
    /// A problem with a status, a title and a detail.
    pub fn new(status: StatusCode, title: &str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            problem: Box::new(Problem {
                kind: format!(
                    "https://greenlight.invalid/problems/{}",
                    title.to_lowercase().replace(' ', "-")
                ),
                title: title.to_owned(),
                status: status.as_u16(),
                detail: detail.into(),
                errors: vec![],
                blockers: vec![],
                etag: None,
                request_id: None,
            }),
        }
    }

    /// 401: no valid token or session.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "sign in, or send an API token as `Authorization: Bearer <token>`",
        )
    }

    /// 400 with one field error.
    pub fn bad_request(path: Option<&str>, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut e = Self::new(StatusCode::BAD_REQUEST, "Bad request", detail.clone());
        e.problem.errors.push(FieldError {
            path: path.map(str::to_owned),
            pointer: path.map(pointer),
            line: None,
            column: None,
            detail,
        });
        e
    }

    /// 413: the body is over the limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload too large",
            format!("the body is larger than {limit} bytes"),
        )
    }

    fn with_errors(mut self, problems: &[FieldProblem]) -> Self {
        self.problem.errors = problems
            .iter()
            .map(|p| FieldError {
                path: p.path.clone(),
                pointer: p.path.as_deref().map(pointer),
                line: p.line,
                column: p.column,
                detail: p.message.clone(),
            })
            .collect();
        self
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::new(
                StatusCode::NOT_FOUND,
                "Not found",
                format!("{what} does not exist or is not visible to you"),
            ),
            StoreError::Forbidden(why) => ApiError::new(StatusCode::FORBIDDEN, "Forbidden", why),
            StoreError::Conflict { message, blockers } => {
                let mut e = ApiError::new(StatusCode::CONFLICT, "Conflict", message);
                e.problem.blockers = blockers;
                e
            }
            StoreError::DuplicateReference { message, .. } => {
                let mut e = ApiError::new(StatusCode::CONFLICT, "Conflict", message.clone());
                e.problem.errors.push(FieldError {
                    path: Some("use.ref".to_owned()),
                    pointer: Some(pointer("use.ref")),
                    line: None,
                    column: None,
                    detail: message,
                });
                e
            }
            StoreError::Stale {
                record,
                given,
                current,
            } if given.is_empty() => {
                let mut e = ApiError::new(
                    StatusCode::PRECONDITION_REQUIRED,
                    "Precondition required",
                    format!("send the {record}'s ETag as If-Match (GET the {record} first)"),
                );
                e.problem.etag = Some(current);
                e
            }
            StoreError::Stale {
                record,
                given,
                current,
            } => {
                let again = if record == "declaration" {
                    "decide again"
                } else {
                    "try again"
                };
                let mut e = ApiError::new(
                    StatusCode::PRECONDITION_FAILED,
                    "Precondition failed",
                    format!("the {record} changed since {given}; reload it and {again}"),
                );
                e.problem.etag = Some(current);
                e
            }
            StoreError::Invalid { summary, problems } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid request", summary)
                    .with_errors(&problems)
            }
            StoreError::InvalidDeclaration { summary, problems } => {
                // A body that is not YAML/JSON at all (no field path anywhere) is malformed (400);
                // a document with field problems fails validation (422).
                let status = if problems.iter().all(|p| p.path.is_none()) {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                ApiError::new(status, "Invalid declaration", summary).with_errors(&problems)
            }
            StoreError::TooLarge {
                limit, problems, ..
            } => ApiError::too_large(limit).with_errors(&problems),
            StoreError::Unavailable(why) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Unavailable", why)
            }
            other => {
                tracing::error!(error = %other, "internal error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error",
                    "internal error",
                )
            }
        }
    }
}

/// The request id of the current request, set by the middleware for 5xx problems.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(&*self.problem)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

/// The API's result type.
pub type ApiResult<T> = Result<T, ApiError>;
