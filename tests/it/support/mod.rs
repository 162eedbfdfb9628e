//! Shared helpers: the real server in a temp dir, and a raw HTTP client.
#![allow(dead_code)]

pub mod client;
pub mod server;
