//! The engine's error type: every way an analysis can fail, each with a stable machine code that
//! the command line and the API hand to users unchanged.

use std::path::PathBuf;

/// Why a file could not be analysed. Variants name what happened; `code()` is the stable string.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The message leaves the path out: uploads are stored under internal names.
    #[error("cannot read the file: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the file is empty (0 bytes)")]
    EmptyFile,
    #[error("not a recognised audio container: {0}")]
    UnsupportedFormat(String),
    #[error("the audio codec is not supported: {0}")]
    UnsupportedCodec(String),
    #[error("the audio data is corrupt: {0}")]
    CorruptAudio(String),
    #[error("the file holds no audio track")]
    NoAudioTrack,
    #[error("the audio lasts {duration_sec:.1} s, over the {max_sec:.1} s limit")]
    TooLong { duration_sec: f64, max_sec: f64 },
    #[error("the audio lasts {duration_sec:.3} s; at least {min_sec:.1} s is needed")]
    TooShort { duration_sec: f64, min_sec: f64 },
}

impl Error {
    /// The stable snake_case code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io_error",
            Error::EmptyFile => "empty_file",
            Error::UnsupportedFormat(_) => "unsupported_format",
            Error::UnsupportedCodec(_) => "unsupported_codec",
            Error::CorruptAudio(_) => "corrupt_audio",
            Error::NoAudioTrack => "no_audio_track",
            Error::TooLong { .. } => "too_long",
            Error::TooShort { .. } => "too_short",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_snake_case() {
        let cases = [
            (Error::EmptyFile, "empty_file"),
            (Error::UnsupportedFormat("x".into()), "unsupported_format"),
            (Error::UnsupportedCodec("x".into()), "unsupported_codec"),
            (Error::CorruptAudio("x".into()), "corrupt_audio"),
            (Error::NoAudioTrack, "no_audio_track"),
            (
                Error::TooLong {
                    duration_sec: 2.0,
                    max_sec: 1.0,
                },
                "too_long",
            ),
            (
                Error::TooShort {
                    duration_sec: 0.0,
                    min_sec: 0.1,
                },
                "too_short",
            ),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code);
            assert!(!err.to_string().is_empty());
        }
    }
}
