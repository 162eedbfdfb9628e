//! Presentation: reports that only read other sections' finished results — the mix report
//! (with the statistics gathered while decoding), the stems estimate and the release kit.

pub mod mix;
pub mod release_kit;
pub mod stems;
