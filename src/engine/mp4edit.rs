//! The edit list of an MP4/M4A audio track, which symphonia parses but does not apply: encoders
//! prime AAC with 1024-2112 silent frames and pad the last packet, and the edit list says which
//! frames are the programme. Without it durations run ~40 ms long and every beat time is late.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// A moov box larger than this is not read for its edit list (real ones are kilobytes to a few MB).
const MAX_MOOV_BYTES: u64 = 64 << 20;

/// The programme part of the first audio track, in its sample frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AudioEdit {
    /// Frames to drop from the start of the decoded stream.
    pub skip_frames: u64,
    /// Frames to keep after the skip, when the edit states a duration.
    pub keep_frames: Option<u64>,
}

/// Read the edit of the first audio track of an MP4 file; `None` when there is none to apply.
pub fn audio_edit(path: &Path, sample_rate: u32) -> Option<AudioEdit> {
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let moov = find_top_level(&mut file, len, b"moov")?;
    let movie_timescale = child(&moov, b"mvhd").and_then(|m| timescale_of_header(m, 12, 20))?;
    let mut rest = &moov[..];
    while let Some((kind, body, next)) = next_box(rest) {
        rest = next;
        if &kind != b"trak" {
            continue;
        }
        let Some(mdia) = child(body, b"mdia") else {
            continue;
        };
        let is_audio = child(mdia, b"hdlr").is_some_and(|h| h.get(8..12) == Some(b"soun"));
        if !is_audio {
            continue;
        }
        let media_timescale = child(mdia, b"mdhd").and_then(|m| timescale_of_header(m, 12, 20))?;
        let elst = child(body, b"edts").and_then(|e| child(e, b"elst"))?;
        return edit_from_elst(elst, movie_timescale, media_timescale, sample_rate);
    }
    None
}

/// One non-empty edit (the usual gapless layout) becomes a skip and a keep; anything fancier
/// (empty edits, several segments, rate changes) is left alone.
fn edit_from_elst(elst: &[u8], movie_ts: u32, media_ts: u32, rate: u32) -> Option<AudioEdit> {
    let version = *elst.first()?;
    let count = u32::from_be_bytes(elst.get(4..8)?.try_into().ok()?);
    if count != 1 || movie_ts == 0 || media_ts == 0 {
        return None;
    }
    let (duration, media_time) = if version == 1 {
        let d = u64::from_be_bytes(elst.get(8..16)?.try_into().ok()?);
        let t = i64::from_be_bytes(elst.get(16..24)?.try_into().ok()?);
        (d, t)
    } else {
        let d = u64::from(u32::from_be_bytes(elst.get(8..12)?.try_into().ok()?));
        let t = i64::from(i32::from_be_bytes(elst.get(12..16)?.try_into().ok()?));
        (d, t)
    };
    if media_time < 0 {
        return None;
    }
    let to_frames = |v: u64, ts: u32| -> u64 {
        (u128::from(v) * u128::from(rate) / u128::from(ts)).min(u128::from(u64::MAX)) as u64
    };
    let skip_frames = to_frames(media_time as u64, media_ts);
    let keep_frames = (duration > 0).then(|| to_frames(duration, movie_ts));
    (skip_frames > 0 || keep_frames.is_some()).then_some(AudioEdit {
        skip_frames,
        keep_frames,
    })
}

/// mvhd and mdhd keep the timescale at byte 12 (version 0) or 20 (version 1) of their body.
fn timescale_of_header(body: &[u8], v0: usize, v1: usize) -> Option<u32> {
    let at = if *body.first()? == 1 { v1 } else { v0 };
    Some(u32::from_be_bytes(body.get(at..at + 4)?.try_into().ok()?))
}

fn find_top_level(file: &mut File, len: u64, want: &[u8; 4]) -> Option<Vec<u8>> {
    let mut pos = 0u64;
    while pos + 8 <= len {
        file.seek(SeekFrom::Start(pos)).ok()?;
        let mut head = [0u8; 16];
        file.read_exact(&mut head[..8]).ok()?;
        let mut size = u64::from(u32::from_be_bytes(head[..4].try_into().ok()?));
        let mut header = 8u64;
        if size == 1 {
            file.read_exact(&mut head[8..16]).ok()?;
            size = u64::from_be_bytes(head[8..16].try_into().ok()?);
            header = 16;
        } else if size == 0 {
            size = len - pos;
        }
        if size < header {
            return None;
        }
        if &head[4..8] == want {
            let body = size - header;
            if body > MAX_MOOV_BYTES || pos + size > len {
                return None;
            }
            let mut buf = vec![0u8; body as usize];
            file.read_exact(&mut buf).ok()?;
            return Some(buf);
        }
        pos = pos.checked_add(size)?;
    }
    None
}

/// Split the first box off `data`: (type, body, rest).
fn next_box(data: &[u8]) -> Option<([u8; 4], &[u8], &[u8])> {
    let size = u32::from_be_bytes(data.get(..4)?.try_into().ok()?) as usize;
    let kind: [u8; 4] = data.get(4..8)?.try_into().ok()?;
    let (header, size) = match size {
        1 => (
            16,
            u64::from_be_bytes(data.get(8..16)?.try_into().ok()?) as usize,
        ),
        0 => (8, data.len()),
        s => (8, s),
    };
    if size < header || size > data.len() {
        return None;
    }
    Some((kind, &data[header..size], &data[size..]))
}

fn child<'a>(data: &'a [u8], want: &[u8; 4]) -> Option<&'a [u8]> {
    let mut rest = data;
    while let Some((kind, body, next)) = next_box(rest) {
        if &kind == want {
            return Some(body);
        }
        rest = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elst_v0(duration: u32, media_time: i32) -> Vec<u8> {
        let mut b = vec![0, 0, 0, 0];
        b.extend(1u32.to_be_bytes());
        b.extend(duration.to_be_bytes());
        b.extend(media_time.to_be_bytes());
        b.extend([0, 1, 0, 0]);
        b
    }

    #[test]
    fn aac_priming_edit_becomes_skip_and_keep() {
        // ffmpeg's layout: movie timescale 1000, media timescale = rate, 1024 frames of priming.
        let e = edit_from_elst(&elst_v0(5000, 1024), 1000, 44_100, 44_100);
        assert_eq!(
            e,
            Some(AudioEdit {
                skip_frames: 1024,
                keep_frames: Some(220_500)
            })
        );
    }

    #[test]
    fn empty_or_multiple_edits_are_ignored() {
        assert_eq!(
            edit_from_elst(&elst_v0(5000, -1), 1000, 44_100, 44_100),
            None
        );
        let mut two = elst_v0(5000, 0);
        two[7] = 2;
        assert_eq!(edit_from_elst(&two, 1000, 44_100, 44_100), None);
        assert_eq!(edit_from_elst(&[0, 0], 1000, 44_100, 44_100), None);
    }

    #[test]
    fn box_walk_stops_on_bad_sizes() {
        assert!(next_box(&[0, 0, 0, 4, b'f', b'r', b'e', b'e']).is_none());
        assert!(next_box(&[0, 0, 0, 99, b'f', b'r', b'e', b'e']).is_none());
        let ok = [0, 0, 0, 9, b'f', b'r', b'e', b'e', 7];
        assert_eq!(
            next_box(&ok).map(|(k, b, _)| (k, b.to_vec())),
            Some((*b"free", vec![7]))
        );
    }
}
