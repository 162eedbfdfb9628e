//! Ogg Opus decoding with the pure-Rust `opus-rs` decoder (symphonia has none): packets come from
//! symphonia's Ogg demuxer, this turns them into planar f32 at 48 kHz with the container's
//! pre-skip and end trimming applied. Mono and stereo streams (channel mapping family 0 or 1).

use opus_rs::OpusDecoder;

use super::error::Error;

/// Largest Opus packet: 120 ms at 48 kHz.
const MAX_FRAME_SAMPLES: usize = 5760;

/// Decoder state for one Opus stream.
pub struct OpusStream {
    decoder: OpusDecoder,
    channels: usize,
    /// Linear output gain from the OpusHead (RFC 7845 §5.1).
    gain: f32,
    /// Pre-skip frames not yet dropped: symphonia's Ogg demuxer reports the pre-skip as the
    /// track's delay but does not trim it from the packets.
    skip: usize,
    interleaved: Vec<f32>,
}

impl OpusStream {
    /// Set up from the OpusHead identification header (the track's extra data).
    pub fn new(head: &[u8]) -> Result<OpusStream, Error> {
        if head.len() < 19 || &head[..8] != b"OpusHead" {
            return Err(Error::CorruptAudio(
                "the Opus identification header is missing".into(),
            ));
        }
        let channels = usize::from(head[9]);
        let pre_skip = u16::from_le_bytes([head[10], head[11]]);
        let gain_q8 = i16::from_le_bytes([head[16], head[17]]);
        let family = head[18];
        if channels == 0 {
            return Err(Error::CorruptAudio(
                "the Opus header declares no channels".into(),
            ));
        }
        if channels > 2 || family > 1 {
            return Err(Error::UnsupportedCodec(format!(
                "Opus with {channels} channels (mapping family {family}): only mono and stereo \
                 streams are decoded"
            )));
        }
        if family == 1 && (head.len() < 21 || head[19] != 1) {
            return Err(Error::UnsupportedCodec(
                "multistream Opus is not decoded".into(),
            ));
        }
        let decoder = OpusDecoder::new(48_000, channels)
            .map_err(|e| Error::CorruptAudio(format!("cannot set up the Opus decoder: {e}")))?;
        Ok(OpusStream {
            decoder,
            channels,
            gain: 10f32.powf(f32::from(gain_q8) / (20.0 * 256.0)),
            skip: usize::from(pre_skip),
            interleaved: vec![0.0; MAX_FRAME_SAMPLES * channels],
        })
    }

    /// Decode one packet into `planes` (resized to this packet), dropping `trim_start` leading
    /// and `trim_end` trailing frames as the container asks, and the stream's pre-skip.
    pub fn decode(
        &mut self,
        packet: &[u8],
        trim_start: usize,
        trim_end: usize,
        planes: &mut Vec<Vec<f32>>,
    ) -> Result<(), &'static str> {
        let n = self
            .decoder
            .decode(packet, MAX_FRAME_SAMPLES, &mut self.interleaved)?;
        let n = n.min(MAX_FRAME_SAMPLES);
        let mut start = trim_start.min(n);
        let end = n.saturating_sub(trim_end).max(start);
        let skipped = self.skip.min(end - start);
        self.skip -= skipped;
        start += skipped;
        planes.resize_with(self.channels, Vec::new);
        for (c, plane) in planes.iter_mut().enumerate() {
            plane.clear();
            plane.extend(
                self.interleaved[start * self.channels..end * self.channels]
                    .iter()
                    .skip(c)
                    .step_by(self.channels)
                    .map(|x| x * self.gain),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(channels: u8, family: u8) -> Vec<u8> {
        let mut h = b"OpusHead".to_vec();
        h.extend([1, channels, 0x38, 0x01, 0x80, 0xBB, 0, 0, 0, 0, family]);
        if family == 1 {
            h.extend([1, u8::from(channels == 2), 0, 1]);
        }
        h
    }

    #[test]
    fn accepts_mono_and_stereo_heads() {
        assert!(OpusStream::new(&head(1, 0)).is_ok());
        assert!(OpusStream::new(&head(2, 0)).is_ok());
    }

    #[test]
    fn refuses_surround_and_broken_heads_with_codes() {
        let six = OpusStream::new(&head(6, 1)).err().map(|e| e.code());
        assert_eq!(six, Some("unsupported_codec"));
        let short = OpusStream::new(b"OpusHe").err().map(|e| e.code());
        assert_eq!(short, Some("corrupt_audio"));
    }
}
