//! tonearm: a self-hosted audio-analysis API in one binary.
//!
//! `cli` parses the command line and calls into the rest. `engine` decodes audio and runs the
//! analysers; it knows nothing of servers or databases, so `tonearm analyze` and the job workers
//! call the same function.

pub mod cli;
pub mod engine;
