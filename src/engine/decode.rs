//! Decoding: open a file with symphonia (or our Ogg Opus path), decode it packet by packet into
//! planar f32 chunks for the loudness meter, and keep only the ITU-R BS.775 mono down-mix for the
//! musical analysers. Owns the bad-input checks that need the container's own numbers.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use symphonia::core::audio::{Audio, Channels, GenericAudioBufferRef};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::channels::{ChannelRole, downmix_weights, roles_for, roles_for_count};
use super::error::Error;
use super::mp4edit;
use super::opus::OpusStream;
use super::sniff::sniff;

/// Below this the file is refused: not even one 100 ms loudness block fits.
pub const MIN_DURATION_SEC: f64 = 0.1;
/// A decode that yields less than this share of the declared length is a truncated file.
const TRUNCATION_SHARE: f64 = 0.97;
/// More channels than any speaker layout in use (22.2 has 24); also ebur128's limit.
const MAX_CHANNELS: usize = 64;
/// Sample rates outside these bounds are not audio anyone records (768 kHz is the highest rate
/// converters offer).
const MIN_SAMPLE_RATE: u32 = 1_000;
/// Largest packet a real stream has is FLAC's 65,535 frames; this leaves room for demuxers that
/// group PCM frames into large packets.
const MAX_FRAMES_PER_PACKET: u64 = 1 << 20;
const MAX_SAMPLE_RATE: u32 = 768_000;
/// Most audio frames one byte of a file can decode to: Opus at 6 kbit/s gives 64 frames per byte
/// at 48 kHz; every other codec here gives fewer.
const MAX_FRAMES_PER_BYTE: u64 = 64;
/// Decode errors tolerated before a stream is declared corrupt (lossy streams in the wild often
/// carry a few damaged frames).
const MAX_BAD_PACKETS: u32 = 64;

/// What the container and codec say about the stream.
#[derive(Debug, Clone)]
pub struct StreamInfo {
    pub format: String,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: usize,
    pub bit_depth: Option<u32>,
    /// Frames the header declares, when it declares an exact number.
    pub declared_frames: Option<u64>,
    /// The declared length or the demuxer's estimate of it, for progress reports only.
    pub estimated_frames: Option<u64>,
}

enum Codec {
    Symphonia(Box<dyn AudioDecoder>),
    Opus(Box<OpusStream>),
}

/// An open audio stream, decoded on demand chunk by chunk.
pub struct Source {
    reader: Box<dyn FormatReader>,
    codec: Codec,
    track_id: u32,
    /// Planes of the last packet, for decoders whose output is not f32 already.
    planes: Vec<Vec<f32>>,
    sink: Sink,
    good_packets: u32,
    bad_packets: u32,
}

/// Where decoded audio goes: the chunk for the loudness meter and the mono mix. Separate from the
/// decoder so a decoder's own f32 buffer can be read in place while the sink is written.
struct Sink {
    info: StreamInfo,
    roles: Vec<ChannelRole>,
    weights: Vec<f32>,
    mono: Vec<f32>,
    frames: u64,
    max_frames: u64,
    max_sec: f64,
    layout_fixed: bool,
    /// Frames still to drop from the start (an MP4 edit list's encoder priming).
    skip: u64,
    /// Frames still to keep before the rest is padding, when an edit list says so.
    keep: Option<u64>,
}

/// Whether an I/O error raised inside a container parser comes from the data (a seek out of
/// range, a read past the end, an invalid value) rather than from the device.
fn is_parse_failure(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        UnexpectedEof | InvalidInput | InvalidData | Unsupported | Other
    )
}

impl Source {
    /// Open and probe `path`; checks the declared length against the file and the limit before
    /// any audio is decoded.
    pub fn open(path: &Path, max_sec: f64) -> Result<Source, Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        if size == 0 {
            return Err(Error::EmptyFile);
        }
        let mut head = [0u8; 16];
        let n = read_up_to(&mut file, &mut head).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let sniffed = sniff(&head[..n]);

        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let reader = symphonia::default::get_probe()
            .probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| match (sniffed, e) {
                // The head was read, so an I/O error while parsing is a header pointing outside
                // the file (a seek to a negative or absurd offset) unless the OS says otherwise.
                (_, SymError::IoError(e)) if !is_parse_failure(&e) => io(e),
                (Some(fmt), e) => Error::CorruptAudio(format!("malformed {fmt} header: {e}")),
                (None, _) => Error::UnsupportedFormat(
                    "the first bytes match no supported container (WAV, AIFF, FLAC, MP3, Ogg, \
                     MP4/M4A, CAF, MKV)"
                        .to_string(),
                ),
            })?;
        let format = sniffed
            .unwrap_or(reader.format_info().short_name)
            .to_string();
        let track = reader
            .default_track(TrackType::Audio)
            .ok_or(Error::NoAudioTrack)?;
        let Some(CodecParameters::Audio(params)) = track.codec_params.as_ref() else {
            return Err(Error::NoAudioTrack);
        };
        let params = params.clone();
        let track_id = track.id;
        // symphonia estimates an MP3's (or ADTS AAC's) length from its first frames unless a
        // Xing/LAME tag states it; an estimate can be far off for VBR, so it only drives progress.
        let exact_length = match format.as_str() {
            "mp3" => track.delay.is_some(),
            "aac" => false,
            _ => true,
        };
        let estimated_frames = track.num_frames;
        let declared_frames = track.num_frames.filter(|_| exact_length);

        let channel_count = params.channels.as_ref().map_or(0, Channels::count);
        let sample_rate = params.sample_rate.unwrap_or(0);
        if channel_count == 0 {
            return Err(Error::CorruptAudio(
                "the header declares no channels".to_string(),
            ));
        }
        if channel_count > MAX_CHANNELS {
            return Err(Error::UnsupportedFormat(format!(
                "{channel_count} channels: at most {MAX_CHANNELS} are supported"
            )));
        }
        if sample_rate == 0 {
            return Err(Error::CorruptAudio(
                "the header declares no sample rate".to_string(),
            ));
        }
        // Buffers (decode chunks, the loudness meter's history) are sized from the rate, so a
        // crafted header with an absurd one would cost memory in proportion.
        if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
            return Err(Error::CorruptAudio(format!(
                "the header declares a sample rate of {sample_rate} Hz, outside \
                 {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz"
            )));
        }
        let mut roles = params.channels.as_ref().map(roles_for).unwrap_or_default();
        if roles.len() != channel_count {
            roles = roles_for_count(channel_count);
        }

        // Decoders size their output buffer from this before decoding anything: a crafted
        // header asking for hundreds of millions of frames per packet would cost that memory.
        if let Some(n) = params.max_frames_per_packet
            && n > MAX_FRAMES_PER_PACKET
        {
            return Err(Error::CorruptAudio(format!(
                "the header declares packets of {n} frames; at most {MAX_FRAMES_PER_PACKET} are \
                 plausible"
            )));
        }
        let mut bits_per_sample = params.bits_per_sample;
        let (codec, codec_name) = if params.codec == CODEC_ID_OPUS {
            let extra = params.extra_data.as_deref().unwrap_or(&[]);
            (
                Codec::Opus(Box::new(OpusStream::new(extra)?)),
                "opus".to_string(),
            )
        } else {
            let dec = symphonia::default::get_codecs()
                .make_audio_decoder(&params, &AudioDecoderOptions::default())
                .map_err(|e| match e {
                    SymError::Unsupported(what) => Error::UnsupportedCodec(format!(
                        "no decoder for this {format} stream ({what})"
                    )),
                    other => Error::CorruptAudio(format!("cannot set up the decoder: {other}")),
                })?;
            let name = dec.codec_info().short_name.to_string();
            bits_per_sample = bits_per_sample
                .or(dec.codec_params().bits_per_sample)
                .or_else(|| (name == "alac").then(|| alac_bit_depth(&params)).flatten());
            (Codec::Symphonia(dec), name)
        };
        let lossy = matches!(
            codec_name.as_str(),
            "mp1" | "mp2" | "mp3" | "aac" | "vorbis" | "opus"
        );
        let bit_depth = if lossy {
            None
        } else {
            bits_per_sample.or_else(|| pcm_bits(&codec_name))
        };

        let rate = f64::from(sample_rate);
        if let Some(frames) = declared_frames {
            let declared_sec = frames as f64 / rate;
            // PCM sizes are exact: a header claiming more bytes than the file holds is lying.
            if let Some(bits) = params.bits_per_coded_sample.or(params.bits_per_sample)
                && codec_name.starts_with("pcm")
            {
                let bytes = frames.saturating_mul(channel_count as u64 * u64::from(bits) / 8);
                if bytes > size.saturating_mul(2).saturating_add(1 << 20) {
                    return Err(Error::CorruptAudio(format!(
                        "the header declares {declared_sec:.1} s of audio ({bytes} bytes) but \
                         the file holds only {size} bytes"
                    )));
                }
            }
            if declared_sec > max_sec {
                return Err(Error::TooLong {
                    duration_sec: declared_sec,
                    max_sec,
                });
            }
        }
        let edit = if format == "mp4" {
            mp4edit::audio_edit(path, sample_rate)
        } else {
            None
        };
        let declared_frames = edit.and_then(|e| e.keep_frames).or(declared_frames);
        let max_frames = (max_sec * rate).ceil() as u64;
        let mut mono = Vec::new();
        if let Some(frames) = declared_frames {
            // One allocation of the right size: growth by doubling would briefly hold 1.5x more.
            // A header is believed only as far as the file's size allows (no codec yields more
            // than MAX_FRAMES_PER_BYTE frames per byte), so a small crafted file cannot make
            // every analysis reserve the memory of the longest track allowed.
            let plausible = size.saturating_mul(MAX_FRAMES_PER_BYTE);
            let frames = frames.min(max_frames).min(plausible);
            mono.reserve_exact(frames as usize + sample_rate as usize);
        }
        let weights = downmix_weights(&roles);
        Ok(Source {
            reader,
            codec,
            track_id,
            planes: Vec::new(),
            sink: Sink {
                info: StreamInfo {
                    format,
                    codec: codec_name,
                    sample_rate,
                    channels: channel_count,
                    bit_depth,
                    declared_frames,
                    estimated_frames,
                },
                roles,
                weights,
                mono,
                frames: 0,
                max_frames,
                max_sec,
                layout_fixed: false,
                skip: edit.map_or(0, |e| e.skip_frames),
                keep: edit.and_then(|e| e.keep_frames),
            },
            good_packets: 0,
            bad_packets: 0,
        })
    }

    /// Stream facts; rate and channel count are final once the first chunk has been filled.
    pub fn info(&self) -> &StreamInfo {
        &self.sink.info
    }

    pub fn roles(&self) -> &[ChannelRole] {
        &self.sink.roles
    }

    pub fn frames(&self) -> u64 {
        self.sink.frames
    }

    /// Decode until `chunk` holds at least `target` frames (planar, one Vec per channel) or the
    /// stream ends. Returns `false` once the stream has ended.
    pub fn fill(&mut self, chunk: &mut Vec<Vec<f32>>, target: usize) -> Result<bool, Error> {
        chunk.resize_with(self.sink.roles.len(), Vec::new);
        for c in chunk.iter_mut() {
            c.clear();
        }
        while chunk.first().map_or(0, Vec::len) < target {
            let packet = match self.reader.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) | Err(SymError::ResetRequired) => return Ok(false),
                // Streams written without a length (a piped WAV) end mid-block; a length that was
                // declared is checked in `finish`.
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Ok(false);
                }
                Err(e) => {
                    return Err(Error::CorruptAudio(format!(
                        "reading the stream failed after {:.1} s: {e}",
                        self.sink.seconds()
                    )));
                }
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let secs = self.sink.seconds();
            let decoded = match &mut self.codec {
                Codec::Symphonia(dec) => match dec.decode(&packet) {
                    Ok(GenericAudioBufferRef::F32(buf)) => {
                        // Most lossy decoders produce f32: read their planes in place.
                        let planes: Vec<&[f32]> =
                            (0..buf.num_planes()).filter_map(|i| buf.plane(i)).collect();
                        let rate = buf.spec().rate();
                        self.good_packets += 1;
                        self.sink.accept(chunk, &planes, rate)?;
                        continue;
                    }
                    Ok(buf) => {
                        buf.copy_to_vecs_planar::<f32>(&mut self.planes);
                        Ok(buf.spec().rate())
                    }
                    Err(SymError::DecodeError(m)) => Err(m.to_string()),
                    Err(SymError::IoError(e)) => Err(e.to_string()),
                    Err(e) => {
                        return Err(Error::CorruptAudio(format!(
                            "decoding failed after {secs:.1} s: {e}"
                        )));
                    }
                },
                Codec::Opus(dec) => dec
                    .decode(
                        &packet.data,
                        packet.trim_start.get() as usize,
                        packet.trim_end.get() as usize,
                        &mut self.planes,
                    )
                    .map(|()| 48_000)
                    .map_err(str::to_string),
            };
            match decoded {
                Ok(rate) => {
                    self.good_packets += 1;
                    let planes: Vec<&[f32]> = self.planes.iter().map(Vec::as_slice).collect();
                    self.sink.accept(chunk, &planes, rate)?;
                }
                Err(msg) => {
                    self.bad_packets += 1;
                    if self.bad_packets > MAX_BAD_PACKETS && self.bad_packets > self.good_packets {
                        return Err(Error::CorruptAudio(format!(
                            "{} of {} packets failed to decode (last: {msg})",
                            self.bad_packets,
                            self.bad_packets + self.good_packets
                        )));
                    }
                }
            }
        }
        Ok(true)
    }

    /// Verdict on a stream that has ended: a truncated or near-empty decode is an error.
    pub fn finish(self) -> Result<(StreamInfo, Vec<f32>), Error> {
        let Sink {
            info,
            mut mono,
            frames,
            ..
        } = self.sink;
        let rate = f64::from(info.sample_rate);
        let got = frames as f64;
        if frames == 0 && self.bad_packets > 0 {
            return Err(Error::CorruptAudio(format!(
                "none of the {} packets could be decoded",
                self.bad_packets
            )));
        }
        if let Some(declared) = info.declared_frames
            && got < declared as f64 * TRUNCATION_SHARE - rate * 0.05
        {
            return Err(Error::CorruptAudio(format!(
                "the file is truncated: {:.2} s decoded of the {:.2} s its header declares",
                got / rate,
                declared as f64 / rate
            )));
        }
        if got / rate < MIN_DURATION_SEC {
            return Err(Error::TooShort {
                duration_sec: got / rate,
                min_sec: MIN_DURATION_SEC,
            });
        }
        mono.shrink_to_fit();
        Ok((info, mono))
    }
}

impl Sink {
    fn seconds(&self) -> f64 {
        self.frames as f64 / f64::from(self.info.sample_rate.max(1))
    }

    /// Append one decoded packet to `chunk` and to the mono mix.
    fn accept(
        &mut self,
        chunk: &mut Vec<Vec<f32>>,
        planes: &[&[f32]],
        rate: u32,
    ) -> Result<(), Error> {
        let n = planes.first().map_or(0, |p| p.len());
        if n == 0 {
            return Ok(());
        }
        if !self.layout_fixed {
            // Some codecs (HE-AAC with SBR/PS) only reveal the real rate and layout on decode.
            self.layout_fixed = true;
            if planes.len() != self.roles.len() || rate != self.info.sample_rate {
                if self.frames > 0 || chunk.first().is_some_and(|c| !c.is_empty()) {
                    return Err(Error::CorruptAudio(
                        "the channel layout changed".to_string(),
                    ));
                }
                if planes.len() != self.roles.len() {
                    self.roles = roles_for_count(planes.len());
                    self.weights = downmix_weights(&self.roles);
                    self.info.channels = planes.len();
                }
                if rate != self.info.sample_rate && rate > 0 {
                    let old = self.info.sample_rate;
                    self.skip = rescale(self.skip, old, rate);
                    self.keep = self.keep.map(|k| rescale(k, old, rate));
                    self.info.declared_frames =
                        self.info.declared_frames.map(|d| rescale(d, old, rate));
                    self.info.estimated_frames =
                        self.info.estimated_frames.map(|d| rescale(d, old, rate));
                    self.max_frames = (self.max_sec * f64::from(rate)).ceil() as u64;
                    self.info.sample_rate = rate;
                }
                chunk.resize_with(self.roles.len(), Vec::new);
                chunk.truncate(self.roles.len());
            }
        }
        if planes.len() != self.roles.len() {
            return Err(Error::CorruptAudio(
                "the channel count changed mid-stream".to_string(),
            ));
        }
        let first = self.skip.min(n as u64) as usize;
        self.skip -= first as u64;
        let mut last = n;
        if let Some(keep) = self.keep.as_mut() {
            let take = (*keep).min((n - first) as u64);
            *keep -= take;
            last = first + take as usize;
        }
        if last <= first {
            return Ok(());
        }
        let n = last - first;
        self.frames += n as u64;
        if self.frames > self.max_frames {
            return Err(Error::TooLong {
                duration_sec: self.seconds(),
                max_sec: self.max_sec,
            });
        }
        let start = self.mono.len();
        self.mono.resize(start + n, 0.0);
        let out = &mut self.mono[start..];
        for ((plane, &w), dst) in planes.iter().zip(&self.weights).zip(chunk.iter_mut()) {
            let plane = &plane[first.min(plane.len())..last.min(plane.len())];
            dst.extend_from_slice(plane);
            if w != 0.0 {
                for (m, &x) in out.iter_mut().zip(plane) {
                    *m += w * x;
                }
            }
        }
        Ok(())
    }
}

/// Bits per sample from a PCM codec name ("pcm_f32le" -> 32), for readers that leave it unset.
fn pcm_bits(codec: &str) -> Option<u32> {
    let rest = codec.strip_prefix("pcm_")?.get(1..)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A frame count at rate `from` expressed at rate `to`.
fn rescale(frames: u64, from: u32, to: u32) -> u64 {
    (u128::from(frames) * u128::from(to) / u128::from(from.max(1))) as u64
}

/// ALAC keeps its bit depth in the magic cookie (ALACSpecificConfig byte 5), which may come with
/// or without the enclosing 12-byte `alac` atom header.
fn alac_bit_depth(params: &symphonia::core::codecs::audio::AudioCodecParameters) -> Option<u32> {
    let cookie = params.extra_data.as_deref()?;
    let config = if cookie.get(4..8) == Some(b"alac") {
        cookie.get(12..)?
    } else {
        cookie
    };
    config
        .get(5)
        .map(|&b| u32::from(b))
        .filter(|b| (8..=32).contains(b))
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcm_codec_names_give_their_bit_depth() {
        assert_eq!(pcm_bits("pcm_f32le"), Some(32));
        assert_eq!(pcm_bits("pcm_f64be"), Some(64));
        assert_eq!(pcm_bits("pcm_u8"), Some(8));
        assert_eq!(pcm_bits("pcm_mulaw"), None);
        assert_eq!(pcm_bits("flac"), None);
    }
}
