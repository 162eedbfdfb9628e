//! tonearm: a self-hosted audio-analysis API in one binary.
//!
//! ```text
//! client ─HTTP─▶ http (listener, TLS, route table, dispatch) ─▶ api (one file per resource)
//!                                  │ credentials                    │
//!                                  ▼                                ▼
//!                               auth (formats, index)           store (redb schema)
//! tonearm analyze ─▶ engine (decode → analysers on rayon)
//! ```
//! `app` is the composition root: it opens the store, loads the credential index, binds the
//! listener and runs shutdown. `cli` parses the command line and calls into the rest. `engine`
//! knows nothing of servers or databases, so `tonearm analyze` and the job workers call the same
//! function. `webhooks` holds the signing secrets (sealed at rest), the signature formats, the
//! outbound target policy and client, and the durable delivery scheduler that `jobs` hands each
//! finished job's event to. `library` keeps the sound library: originals, cached downloads,
//! the search index and signed download URLs. `metrics` holds the Prometheus registry the
//! request, job and delivery paths update; `backup` makes and restores archives of a consistent
//! snapshot.

pub mod api;
pub mod app;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod config;
pub mod engine;
pub mod http;
pub mod ids;
pub mod jobs;
pub mod library;
pub mod metrics;
pub mod policy;
pub mod store;
pub mod webhooks;

pub use app::Server;
