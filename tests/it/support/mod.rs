//! Shared helpers: the real server in a temp dir, a raw HTTP client, synthesised audio.
#![allow(dead_code)]

pub mod audio;
pub mod client;
pub mod receiver;
pub mod server;
pub mod webdriver;
