//! Support code shared by the integration tests: synthesised audio with known answers.

pub mod audio;
