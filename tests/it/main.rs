//! Integration tests: each module drives the real `tonearm` binary as a user or client would.

// `tonearm analyze`: loudness, formats, bad input, the engine entry point.
mod analyze;
mod support;
