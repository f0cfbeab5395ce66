//! The Greenlight HTTP server: the JSON API under `/api/v1`, problem+json errors, OpenAPI,
//! and the server-rendered web pages.

pub mod pages;
