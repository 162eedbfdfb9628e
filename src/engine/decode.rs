//! Decoding: open a file with symphonia (or our Ogg Opus path), decode it packet by packet into
//! planar f32 chunks for the loudness meter, and keep only the ITU-R BS.775 mono down-mix for the
//! musical analysers. Owns the bad-input checks that need the container's own numbers.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use symphonia::core::audio::{Audio, Channels, GenericAudioBufferRef, Position};
use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use super::error::Error;
use super::mp4edit;
use super::opus::OpusStream;

/// Below this the file is refused: not even one 100 ms loudness block fits.
pub const MIN_DURATION_SEC: f64 = 0.1;
/// A decode that yields less than this share of the declared length is a truncated file.
const TRUNCATION_SHARE: f64 = 0.97;
/// More channels than any speaker layout in use (22.2 has 24); also ebur128's limit.
const MAX_CHANNELS: usize = 64;
/// Decode errors tolerated before a stream is declared corrupt (lossy streams in the wild often
/// carry a few damaged frames).
const MAX_BAD_PACKETS: u32 = 64;

/// What a channel is, as far as the loudness weights and the down-mix care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelRole {
    Mono,
    Left,
    Right,
    Center,
    Lfe,
    /// Surround at about ±110°: BS.1770 weight 1.41.
    SurroundLeft,
    SurroundRight,
    /// Rear channels of a layout that also has side channels (7.1): weight 1.0.
    BackLeft,
    BackRight,
    Other,
}

impl ChannelRole {
    /// The BS.1770 weighting ebur128 applies for this role; the LFE is left out of loudness.
    pub fn ebu_channel(self) -> ebur128::Channel {
        match self {
            ChannelRole::Lfe => ebur128::Channel::Unused,
            ChannelRole::Right => ebur128::Channel::Right,
            ChannelRole::Center => ebur128::Channel::Center,
            ChannelRole::SurroundLeft => ebur128::Channel::LeftSurround,
            ChannelRole::SurroundRight => ebur128::Channel::RightSurround,
            ChannelRole::Mono
            | ChannelRole::Left
            | ChannelRole::BackLeft
            | ChannelRole::BackRight
            | ChannelRole::Other => ebur128::Channel::Left,
        }
    }
}

/// Roles for a symphonia channel set, in plane order.
pub fn roles_for(channels: &Channels) -> Vec<ChannelRole> {
    match channels {
        Channels::Positioned(pos) => {
            let has_sides = pos.intersects(Position::SIDE_LEFT | Position::SIDE_RIGHT);
            let count = pos.bits().count_ones() as usize;
            if count == 1 {
                return vec![ChannelRole::Mono];
            }
            let mut roles = Vec::with_capacity(count);
            for bit in 0..32 {
                let Some(p) = Position::from_bits(1 << bit) else {
                    continue;
                };
                if !pos.contains(p) || p.is_empty() {
                    continue;
                }
                roles.push(role_of_position(p, has_sides));
            }
            roles
        }
        Channels::Discrete(n) => roles_for_count(usize::from(*n)),
        other => vec![ChannelRole::Other; other.count()],
    }
}

fn role_of_position(p: Position, has_sides: bool) -> ChannelRole {
    if p == Position::FRONT_LEFT {
        ChannelRole::Left
    } else if p == Position::FRONT_RIGHT {
        ChannelRole::Right
    } else if p == Position::FRONT_CENTER {
        ChannelRole::Center
    } else if p == Position::LFE1 || p == Position::LFE2 {
        ChannelRole::Lfe
    } else if p == Position::SIDE_LEFT {
        ChannelRole::SurroundLeft
    } else if p == Position::SIDE_RIGHT {
        ChannelRole::SurroundRight
    } else if p == Position::REAR_LEFT {
        if has_sides {
            ChannelRole::BackLeft
        } else {
            ChannelRole::SurroundLeft
        }
    } else if p == Position::REAR_RIGHT {
        if has_sides {
            ChannelRole::BackRight
        } else {
            ChannelRole::SurroundRight
        }
    } else {
        ChannelRole::Other
    }
}

/// The usual layouts of a bare channel count (WAV without a channel mask, SMPTE order).
pub fn roles_for_count(n: usize) -> Vec<ChannelRole> {
    use ChannelRole::*;
    match n {
        1 => vec![Mono],
        2 => vec![Left, Right],
        3 => vec![Left, Right, Center],
        5 => vec![Left, Right, Center, SurroundLeft, SurroundRight],
        6 => vec![Left, Right, Center, Lfe, SurroundLeft, SurroundRight],
        _ => vec![Other; n],
    }
}

/// ITU-R BS.775 down-mix to mono: fold to Lo/Ro (centre and surrounds at -3 dB, LFE dropped),
/// then average. Layouts with channels BS.775 does not place get an equal-weight average.
pub fn downmix_weights(roles: &[ChannelRole]) -> Vec<f32> {
    use ChannelRole::*;
    const MINUS_3DB: f32 = std::f32::consts::FRAC_1_SQRT_2;
    if roles.contains(&Other) {
        let audible = roles.iter().filter(|r| **r != Lfe).count().max(1) as f32;
        return roles
            .iter()
            .map(|r| if *r == Lfe { 0.0 } else { 1.0 / audible })
            .collect();
    }
    roles
        .iter()
        .map(|r| match r {
            Mono => 1.0,
            Left | Right => 0.5,
            Center => MINUS_3DB,
            Lfe => 0.0,
            SurroundLeft | SurroundRight | BackLeft | BackRight => 0.5 * MINUS_3DB,
            Other => 0.0,
        })
        .collect()
}

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

/// The container name from the first bytes of a file, or `None` when it is not audio we know.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    let at = |i: usize, m: &[u8]| head.get(i..i + m.len()) == Some(m);
    if at(0, b"RIFF") && (at(8, b"WAVE") || head.len() < 12) {
        return Some("wav");
    }
    if at(0, b"RF64") || at(0, b"BW64") {
        return Some("wav");
    }
    if at(0, b"FORM") && (at(8, b"AIFF") || at(8, b"AIFC")) {
        return Some("aiff");
    }
    if at(0, b"fLaC") {
        return Some("flac");
    }
    if at(0, b"OggS") {
        return Some("ogg");
    }
    if at(4, b"ftyp") {
        return Some("mp4");
    }
    if at(0, b"caff") {
        return Some("caf");
    }
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some("mkv");
    }
    if at(0, b"ID3") {
        return Some("mp3");
    }
    match head {
        [0xFF, b, ..] if b & 0xF6 == 0xF0 => Some("aac"),
        [0xFF, b, ..] if b & 0xE0 == 0xE0 && b & 0x06 != 0 && b & 0x18 != 0x08 => Some("mp3"),
        _ => None,
    }
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
                (_, SymError::IoError(e)) if e.kind() != std::io::ErrorKind::UnexpectedEof => io(e),
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
        let mut roles = params.channels.as_ref().map(roles_for).unwrap_or_default();
        if roles.len() != channel_count {
            roles = roles_for_count(channel_count);
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
            mono.reserve_exact(frames.min(max_frames) as usize + sample_rate as usize);
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

    #[test]
    fn sniff_recognises_containers() {
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), Some("wav"));
        assert_eq!(sniff(b"FORM\0\0\0\0AIFF"), Some("aiff"));
        assert_eq!(sniff(b"fLaC\0\0\0\x22"), Some("flac"));
        assert_eq!(sniff(b"OggS\0\x02"), Some("ogg"));
        assert_eq!(sniff(b"\0\0\0\x20ftypM4A "), Some("mp4"));
        assert_eq!(sniff(b"ID3\x04\0"), Some("mp3"));
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90, 0x64]), Some("mp3"));
        assert_eq!(sniff(&[0xFF, 0xF1, 0x50, 0x80]), Some("aac"));
        assert_eq!(sniff(b"hello world, this is text"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn five_one_down_mix_follows_bs775_and_drops_lfe() {
        let w = downmix_weights(&roles_for_count(6));
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let expect = [0.5, 0.5, h, 0.0, 0.5 * h, 0.5 * h];
        for (a, b) in w.iter().zip(expect) {
            assert!((a - b).abs() < 1e-3, "{w:?}");
        }
    }

    #[test]
    fn lfe_is_not_weighted_into_loudness() {
        let roles = roles_for_count(6);
        assert_eq!(roles[3].ebu_channel(), ebur128::Channel::Unused);
        assert_eq!(roles[4].ebu_channel(), ebur128::Channel::LeftSurround);
    }

    #[test]
    fn seven_one_rear_channels_get_unit_weight() {
        let pos = Position::FRONT_LEFT
            | Position::FRONT_RIGHT
            | Position::FRONT_CENTER
            | Position::LFE1
            | Position::REAR_LEFT
            | Position::REAR_RIGHT
            | Position::SIDE_LEFT
            | Position::SIDE_RIGHT;
        let roles = roles_for(&Channels::Positioned(pos));
        assert_eq!(roles.len(), 8);
        assert_eq!(roles[4], ChannelRole::BackLeft);
        assert_eq!(roles[6], ChannelRole::SurroundLeft);
    }
}
