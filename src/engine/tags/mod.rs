//! What the audio sounds like, from the vendored AudioSet tagger.

pub mod labels;
pub mod model;
pub mod resample;
