//! Note, key and chord names as musicians write them: a key is spelled with the signature that
//! has fewer accidentals (Db major, not C# major; G# minor, not Ab minor), and the notes of a
//! piece follow its key's signature (Bb in F major, A# in F# major).

/// Major or minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Major,
    Minor,
}

/// A key as pitch class of the tonic (C = 0) and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub tonic: usize,
    pub mode: Mode,
}

const SHARP_NAMES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];
const FLAT_NAMES: [&str; 12] = [
    "C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B",
];
/// Names for notes when no key is known: the spellings most common across keys.
const NEUTRAL_NAMES: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];

/// Tonic names of the major keys with the fewest accidentals (F# major and Gb major both have
/// six; F# is the more common).
const MAJOR_TONICS: [&str; 12] = [
    "C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];
/// Tonic names of the minor keys with the fewest accidentals (D# minor and Eb minor both have
/// six; Eb is the more common).
const MINOR_TONICS: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B",
];

impl Key {
    pub fn tonic_name(self) -> &'static str {
        match self.mode {
            Mode::Major => MAJOR_TONICS[self.tonic % 12],
            Mode::Minor => MINOR_TONICS[self.tonic % 12],
        }
    }

    pub fn mode_name(self) -> &'static str {
        match self.mode {
            Mode::Major => "major",
            Mode::Minor => "minor",
        }
    }

    /// "Db major", "G# minor".
    pub fn name(self) -> String {
        format!("{} {}", self.tonic_name(), self.mode_name())
    }

    /// The tonic of the relative major (the major key with the same signature).
    fn relative_major(self) -> usize {
        match self.mode {
            Mode::Major => self.tonic % 12,
            Mode::Minor => (self.tonic + 3) % 12,
        }
    }

    /// Position on the circle of fifths (1..=12) shared by the Camelot and Open Key wheels,
    /// counted from the relative major.
    fn fifths_position(self) -> usize {
        (7 * self.relative_major()) % 12
    }

    /// Camelot code: C major = 8B, A minor = 8A.
    pub fn camelot(self) -> String {
        let number = (self.fifths_position() + 7) % 12 + 1;
        let letter = match self.mode {
            Mode::Major => 'B',
            Mode::Minor => 'A',
        };
        format!("{number}{letter}")
    }

    /// Open Key code: C major = 1d, A minor = 1m.
    pub fn open_key(self) -> String {
        let number = self.fifths_position() + 1;
        let letter = match self.mode {
            Mode::Major => 'd',
            Mode::Minor => 'm',
        };
        format!("{number}{letter}")
    }

    /// Whether the key's signature uses flats (F, Bb, … and their relative minors).
    fn uses_flats(self) -> bool {
        let major = self.relative_major();
        // Eb minor is written with six flats (its relative is spelled F# major here).
        if self.mode == Mode::Minor && self.tonic % 12 == 3 {
            return true;
        }
        // The spelled tonic of the relative major decides: "F" and every "…b" tonic use flats.
        major == 5 || MAJOR_TONICS[major].ends_with('b')
    }

    /// The name of pitch class `pc` in this key: sharps in sharp keys, flats in flat keys.
    pub fn note_name(self, pc: usize) -> &'static str {
        if self.uses_flats() {
            FLAT_NAMES[pc % 12]
        } else if self.relative_major() == 0 {
            NEUTRAL_NAMES[pc % 12]
        } else {
            SHARP_NAMES[pc % 12]
        }
    }
}

/// The name of pitch class `pc` in `key`, or the common spelling when no key is known.
pub fn note_name(pc: usize, key: Option<Key>) -> &'static str {
    key.map_or(NEUTRAL_NAMES[pc % 12], |k| k.note_name(pc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_24_keys_are_spelled_as_musicians_spell_them() {
        let major = [
            "C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
        ];
        let minor = [
            "C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B",
        ];
        for tonic in 0..12 {
            let maj = Key {
                tonic,
                mode: Mode::Major,
            };
            let min = Key {
                tonic,
                mode: Mode::Minor,
            };
            assert_eq!(maj.name(), format!("{} major", major[tonic]));
            assert_eq!(min.name(), format!("{} minor", minor[tonic]));
        }
        // The cases people get wrong.
        let db = Key {
            tonic: 1,
            mode: Mode::Major,
        };
        let gs = Key {
            tonic: 8,
            mode: Mode::Minor,
        };
        assert_eq!(db.name(), "Db major");
        assert_eq!(gs.name(), "G# minor");
    }

    #[test]
    fn notes_follow_the_key_signature() {
        let f_major = Key {
            tonic: 5,
            mode: Mode::Major,
        };
        let fs_major = Key {
            tonic: 6,
            mode: Mode::Major,
        };
        let c_minor = Key {
            tonic: 0,
            mode: Mode::Minor,
        };
        let b_major = Key {
            tonic: 11,
            mode: Mode::Major,
        };
        assert_eq!(f_major.note_name(10), "Bb");
        assert_eq!(fs_major.note_name(10), "A#");
        assert_eq!(c_minor.note_name(3), "Eb");
        assert_eq!(c_minor.note_name(8), "Ab");
        assert_eq!(b_major.note_name(3), "D#");
        assert_eq!(note_name(6, None), "F#");
    }
}
