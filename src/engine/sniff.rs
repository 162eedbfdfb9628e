//! Container recognition from a file's first bytes (magic numbers), shared by the decoder's error
//! reporting and by callers that must reject non-audio uploads before storing them.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
