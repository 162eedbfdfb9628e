//! The most frequent chord loop: the sequence of chord changes that repeats most, written in
//! Roman numerals relative to the key ("I–V–vi–IV") and in chord names ("A–E–F#m–D").

use serde::{Deserialize, Serialize};

use super::chords::{Chord, Quality, Span};
use super::spelling::{Key, Mode};

/// Loop lengths (chords) tried, shortest first.
const MIN_LOOP: usize = 2;
const MAX_LOOP: usize = 8;
/// Chords shorter than this (seconds) are passing chords and left out of loops.
const MIN_CHORD_SEC: f64 = 0.6;

/// `create_report.progression`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progression {
    /// Roman numerals relative to the key, joined by en dashes: "I–V–vi–IV".
    pub roman: String,
    /// Chord names, joined by en dashes: "A–E–F#m–D".
    pub names: String,
}

/// The loop that covers the most chord changes, or `None` when nothing repeats.
pub fn most_frequent_loop(spans: &[Span], key: Key) -> Option<Progression> {
    let mut seq: Vec<Chord> = Vec::new();
    for s in spans {
        if let Some(c) = s.chord
            && s.end - s.start >= MIN_CHORD_SEC
            && seq.last() != Some(&c)
        {
            seq.push(c);
        }
    }
    let mut best: Option<(usize, usize, usize)> = None; // (coverage, length, start)
    for len in MIN_LOOP..=MAX_LOOP.min(seq.len() / 2) {
        for start in 0..=seq.len() - len {
            let pattern = &seq[start..start + len];
            // A loop does not repeat itself: "C–G–C–G" is the loop "C–G", and "A–E–F#m–D–A–E–F#m"
            // is the loop "A–E–F#m–D" going on, not a loop of seven.
            if (1..len).any(|p| is_periodic(pattern, p)) {
                continue;
            }
            let count = count_occurrences(&seq, pattern);
            if count < 2 {
                continue;
            }
            let coverage = count * len;
            // On a tie the longer loop: "A–E–F#m" covers as many changes as "A–E–F#m–D" when
            // the song stops three chords into a round, but only the four chords are the loop.
            if best.is_none_or(|(c, l, _)| coverage > c || (coverage == c && len > l)) {
                best = Some((coverage, len, start));
            }
        }
    }
    let (_, len, start) = best?;
    let mut pattern: Vec<Chord> = seq[start..start + len].to_vec();
    // Start the loop on the tonic chord when it holds one, as it is usually written.
    if let Some(pos) = pattern.iter().position(|c| c.root == key.tonic) {
        pattern.rotate_left(pos);
    }
    let roman: Vec<String> = pattern.iter().map(|&c| roman_numeral(c, key)).collect();
    let names: Vec<String> = pattern.iter().map(|c| c.name(Some(key))).collect();
    Some(Progression {
        roman: roman.join("–"),
        names: names.join("–"),
    })
}

fn is_periodic(pattern: &[Chord], period: usize) -> bool {
    (period..pattern.len()).all(|i| pattern[i] == pattern[i - period])
}

/// Non-overlapping occurrences of `pattern` in `seq`.
fn count_occurrences(seq: &[Chord], pattern: &[Chord]) -> usize {
    let mut count = 0;
    let mut i = 0;
    while i + pattern.len() <= seq.len() {
        if &seq[i..i + pattern.len()] == pattern {
            count += 1;
            i += pattern.len();
        } else {
            i += 1;
        }
    }
    count
}

/// The Roman numeral of `chord` in `key`: upper case for major chords, lower case for minor,
/// with "b"/"#" for roots outside the scale and "7"/"maj7" for sevenths.
pub fn roman_numeral(chord: Chord, key: Key) -> String {
    const NUMERALS: [&str; 7] = ["I", "II", "III", "IV", "V", "VI", "VII"];
    // Scale degree (0-based) and accidental of each semitone above the tonic.
    const MAJOR_DEGREES: [(usize, &str); 12] = [
        (0, ""),
        (1, "b"),
        (1, ""),
        (2, "b"),
        (2, ""),
        (3, ""),
        (3, "#"),
        (4, ""),
        (5, "b"),
        (5, ""),
        (6, "b"),
        (6, ""),
    ];
    const MINOR_DEGREES: [(usize, &str); 12] = [
        (0, ""),
        (1, "b"),
        (1, ""),
        (2, ""),
        (2, "#"),
        (3, ""),
        (3, "#"),
        (4, ""),
        (5, ""),
        (5, "#"),
        (6, ""),
        (6, "#"),
    ];
    let interval = (chord.root + 12 - key.tonic) % 12;
    let (degree, accidental) = match key.mode {
        Mode::Major => MAJOR_DEGREES[interval],
        Mode::Minor => MINOR_DEGREES[interval],
    };
    let numeral = if chord.quality.is_minor() {
        NUMERALS[degree].to_lowercase()
    } else {
        NUMERALS[degree].to_string()
    };
    let suffix = match chord.quality {
        Quality::Major | Quality::Minor => "",
        Quality::Dominant7 | Quality::Minor7 => "7",
        Quality::Major7 => "maj7",
    };
    format!("{accidental}{numeral}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(i: usize, root: usize, quality: Quality) -> Span {
        Span {
            start: i as f64,
            end: i as f64 + 1.0,
            chord: Some(Chord { root, quality }),
        }
    }

    #[test]
    fn pop_loop_is_found_in_numerals_and_names() {
        let a_major = Key {
            tonic: 9,
            mode: Mode::Major,
        };
        // A E F#m D, three times, after a one-chord intro on D.
        let mut spans = vec![span(0, 2, Quality::Major)];
        for r in 0..3 {
            let base = 1 + r * 4;
            spans.push(span(base, 9, Quality::Major));
            spans.push(span(base + 1, 4, Quality::Major));
            spans.push(span(base + 2, 6, Quality::Minor));
            spans.push(span(base + 3, 2, Quality::Major));
        }
        let p = most_frequent_loop(&spans, a_major).expect("a loop");
        assert_eq!(p.roman, "I–V–vi–IV");
        assert_eq!(p.names, "A–E–F#m–D");
        // Cut off three chords into a fourth round: the loop is still the four chords, not a
        // longer "loop" that covers more changes by running into the next round.
        let mut spans = Vec::new();
        for r in 0..4 {
            for (k, (root, q)) in [
                (9, Quality::Major),
                (4, Quality::Major),
                (6, Quality::Minor),
                (2, Quality::Major),
            ]
            .into_iter()
            .enumerate()
            {
                if r < 3 || k < 3 {
                    spans.push(span(r * 4 + k, root, q));
                }
            }
        }
        let p = most_frequent_loop(&spans, a_major).expect("a loop");
        assert_eq!(p.roman, "I–V–vi–IV");
    }

    #[test]
    fn numerals_cover_minor_keys_and_borrowed_chords() {
        let a_minor = Key {
            tonic: 9,
            mode: Mode::Minor,
        };
        let c_major = Key {
            tonic: 0,
            mode: Mode::Major,
        };
        let ch = |root, quality| Chord { root, quality };
        assert_eq!(roman_numeral(ch(9, Quality::Minor), a_minor), "i");
        assert_eq!(roman_numeral(ch(5, Quality::Major), a_minor), "VI");
        assert_eq!(roman_numeral(ch(4, Quality::Dominant7), a_minor), "V7");
        assert_eq!(roman_numeral(ch(7, Quality::Major), a_minor), "VII");
        assert_eq!(roman_numeral(ch(10, Quality::Major), c_major), "bVII");
        assert_eq!(roman_numeral(ch(2, Quality::Minor7), c_major), "ii7");
        assert_eq!(roman_numeral(ch(0, Quality::Major7), c_major), "Imaj7");
    }

    #[test]
    fn no_repetition_gives_no_loop() {
        let c_major = Key {
            tonic: 0,
            mode: Mode::Major,
        };
        let spans = [span(0, 0, Quality::Major), span(1, 7, Quality::Major)];
        assert_eq!(most_frequent_loop(&spans, c_major), None);
    }
}
