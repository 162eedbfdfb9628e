//! Shared helpers for the integration tests: synthesised audio and a temporary directory.

pub mod audio;
