//! The analysis engine: decode once, then run each analyser on the decoded audio. No tokio, no
//! database, no server: `tonearm analyze` and the job workers call the same function.

pub mod features;
pub mod key;
pub mod tempo;
mod tempo_metre;
