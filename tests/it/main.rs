//! Integration tests: each module drives the real `tonearm` binary as a user or client would.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// `tonearm analyze`: loudness, formats, bad input, the engine entry point.
mod analyze;
// Analysis jobs over HTTP.
mod jobs;
// Keys and management tokens over HTTP.
mod keys;
// HTTP behaviour: errors, limits, shutdown, locking.
mod server;
// HTTPS.
mod tls;
// Start-up configuration and the config commands.
mod config;
// The management CLI.
mod cli;
// Plans, limits, scopes, allowlists, credits.
mod limits;
// The sound library: import, search, downloads.
mod library;
// OpenAPI document against the live router.
mod openapi;
// Webhook secrets and signatures.
mod webhooks;
// Webhook deliveries: signed events, retries, durability, target policy.
mod deliveries;
// Hostile input: mutated audio through the analyzer; sockets, bodies and credentials that misbehave.
mod fuzz;
mod hardening;
// Genre, mood, stems, mix report and release kit on synthesised audio.
mod sound;
// Operations: metrics, JSON logs, audit log, leak reports, key scanning, backup and restore.
mod backup;
mod ops;
// The README and Dockerfile against the repository and the binary.
mod readme;
// The web console's files, the admin reads it needs, and the console in a real browser.
mod console;
mod support;
