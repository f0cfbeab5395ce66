//! The web pages: server-rendered HTML for producers, reviewers, legal, admins and auditors.

pub mod form;
pub mod session;
