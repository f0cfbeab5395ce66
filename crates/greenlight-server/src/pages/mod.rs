//! The web pages (server-rendered). To be written.
