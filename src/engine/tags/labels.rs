//! AudioSet class indices (the model's output order, `models/audioset_class_labels_indices.csv`)
//! and the tables that map them to tonearm's labels. A test checks every index against the CSV
//! so the tables cannot drift from the model.

/// The AudioSet label list, embedded for the name check and for reasons ("top class: …").
static LABELS_CSV: &str = include_str!("../../../models/audioset_class_labels_indices.csv");

/// "Music": gates everything music-specific.
pub const MUSIC: usize = 137;

/// AudioSet's display name of class `index`, from the embedded CSV.
pub fn audioset_name(index: usize) -> Option<String> {
    LABELS_CSV
        .lines()
        .skip(1)
        .find_map(|line| {
            let mut parts = line.splitn(3, ',');
            let i: usize = parts.next()?.parse().ok()?;
            (i == index).then(|| parts.nth(1).map(|n| n.trim_matches('"').to_string()))
        })
        .flatten()
}

/// tonearm's genre labels from the 52 AudioSet genre classes (many to one).
pub const GENRES: &[(usize, &str)] = &[
    (216, "Pop"),
    (217, "Hip-Hop"),
    (218, "Hip-Hop"),
    (219, "Rock"),
    (220, "Metal"),
    (221, "Punk"),
    (222, "Rock"),
    (223, "Rock"),
    (224, "Rock"),
    (225, "Rock"),
    (226, "R&B"),
    (227, "Soul"),
    (228, "Reggae"),
    (229, "Country"),
    (230, "Jazz"),
    (231, "Country"),
    (232, "Funk"),
    (233, "Folk"),
    (234, "World"),
    (235, "Jazz"),
    (236, "Disco"),
    (237, "Classical"),
    (238, "Classical"),
    (239, "Electronic"),
    (240, "House"),
    (241, "Techno"),
    (242, "Dubstep"),
    (243, "Drum & Bass"),
    (244, "Electronic"),
    (245, "Electronic"),
    (246, "Ambient"),
    (247, "Trance"),
    (248, "Latin"),
    (249, "Latin"),
    (250, "Latin"),
    (251, "Blues"),
    (252, "Children's"),
    (253, "New Age"),
    (254, "Vocal"),
    (255, "Vocal"),
    (30, "Vocal"),
    (31, "Vocal"),
    (256, "World"),
    (257, "Afrobeat"),
    (258, "Gospel"),
    (259, "Gospel"),
    (260, "World"),
    (261, "World"),
    (262, "World"),
    (263, "Reggae"),
    (264, "Folk"),
    (265, "Indie"),
];

/// Genre families, for hashtags and for the accuracy script's "right family" test.
pub fn genre_family(label: &str) -> &'static str {
    match label {
        "Electronic" | "House" | "Techno" | "Dubstep" | "Drum & Bass" | "Trance" | "Ambient"
        | "Disco" => "electronic",
        "Rock" | "Metal" | "Punk" | "Indie" => "rock",
        "Jazz" | "Blues" | "Funk" | "Soul" | "R&B" => "jazz-blues-soul",
        "Classical" | "New Age" => "classical",
        "Hip-Hop" => "hip-hop",
        "Pop" => "pop",
        _ => "other",
    }
}

/// The 7 AudioSet mood classes and tonearm's mood tags.
pub const MOODS: &[(usize, &str)] = &[
    (276, "happy"),
    (277, "funny"),
    (278, "sad"),
    (279, "tender"),
    (280, "exciting"),
    (281, "angry"),
    (282, "scary"),
];

/// The 79 AudioSet instrument classes and tonearm's instrument labels (many to one).
pub const INSTRUMENTS: &[(usize, &str)] = &[
    (139, "Plucked strings"),
    (140, "Guitar"),
    (141, "Electric guitar"),
    (142, "Bass guitar"),
    (143, "Acoustic guitar"),
    (144, "Slide guitar"),
    (145, "Guitar"),
    (146, "Guitar"),
    (147, "Banjo"),
    (148, "Sitar"),
    (149, "Mandolin"),
    (150, "Zither"),
    (151, "Ukulele"),
    (152, "Keyboard"),
    (153, "Piano"),
    (154, "Electric piano"),
    (155, "Organ"),
    (156, "Organ"),
    (157, "Organ"),
    (158, "Synthesizer"),
    (159, "Sampler"),
    (160, "Harpsichord"),
    (161, "Percussion"),
    (162, "Drums"),
    (163, "Drum machine"),
    (164, "Drums"),
    (165, "Drums"),
    (166, "Drums"),
    (167, "Drums"),
    (168, "Drums"),
    (169, "Timpani"),
    (170, "Tabla"),
    (171, "Drums"),
    (172, "Drums"),
    (92, "Cowbell"),
    (173, "Percussion"),
    (174, "Tambourine"),
    (175, "Percussion"),
    (176, "Percussion"),
    (177, "Gong"),
    (178, "Bells"),
    (179, "Mallet percussion"),
    (180, "Marimba"),
    (181, "Glockenspiel"),
    (182, "Vibraphone"),
    (183, "Steelpan"),
    (184, "Orchestra"),
    (185, "Brass"),
    (186, "French horn"),
    (187, "Trumpet"),
    (188, "Trombone"),
    (189, "Strings"),
    (190, "Strings"),
    (191, "Violin"),
    (192, "Strings"),
    (193, "Cello"),
    (194, "Double bass"),
    (195, "Woodwinds"),
    (196, "Flute"),
    (197, "Saxophone"),
    (198, "Clarinet"),
    (199, "Harp"),
    (28, "Choir"),
    (200, "Bells"),
    (201, "Bells"),
    (202, "Bells"),
    (203, "Bells"),
    (204, "Tuning fork"),
    (205, "Chimes"),
    (206, "Chimes"),
    (207, "Bells"),
    (208, "Harmonica"),
    (209, "Accordion"),
    (210, "Bagpipes"),
    (211, "Didgeridoo"),
    (212, "Shofar"),
    (213, "Theremin"),
    (214, "Singing bowl"),
    (215, "Turntable scratching"),
];

/// Classes the mood numbers read: intensity (exciting, angry music, heavy metal) and valence
/// (happy and funny against sad, angry and scary music).
pub const HEAVY_METAL: usize = 220;
pub const HAPPY_MUSIC: usize = 276;
pub const FUNNY_MUSIC: usize = 277;
pub const SAD_MUSIC: usize = 278;
pub const EXCITING_MUSIC: usize = 280;
pub const ANGRY_MUSIC: usize = 281;
pub const SCARY_MUSIC: usize = 282;

/// Classes that mean a drum kit or drum machine is playing.
pub const DRUM_CLASSES: &[usize] = &[162, 163, 164, 165, 168, 171, 172];
/// Classes that mean a voice is singing or rapping (speech alone is not a vocal part).
pub const VOCAL_CLASSES: &[usize] = &[27, 32, 33, 34, 35, 36, 254, 255];
/// Bass instruments.
pub const BASS_CLASSES: &[usize] = &[142, 194];

/// The highest probability among `classes`.
pub fn max_of(probs: &[f32], classes: &[usize]) -> f32 {
    classes
        .iter()
        .filter_map(|&i| probs.get(i).copied())
        .fold(0.0, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_name_the_classes_the_tables_mean() {
        assert_eq!(LABELS_CSV.lines().count(), 528);
        assert_eq!(audioset_name(MUSIC).as_deref(), Some("Music"));
        assert_eq!(GENRES.len(), 52);
        assert_eq!(INSTRUMENTS.len(), 79);
        let spot = [
            (216, "Pop music"),
            (220, "Heavy metal"),
            (243, "Drum and bass"),
            (265, "Independent music"),
            (30, "Chant"),
            (HEAVY_METAL, "Heavy metal"),
            (HAPPY_MUSIC, "Happy music"),
            (FUNNY_MUSIC, "Funny music"),
            (SAD_MUSIC, "Sad music"),
            (EXCITING_MUSIC, "Exciting music"),
            (ANGRY_MUSIC, "Angry music"),
            (SCARY_MUSIC, "Scary music"),
            (139, "Plucked string instrument"),
            (153, "Piano"),
            (162, "Drum kit"),
            (92, "Cowbell"),
            (28, "Choir"),
            (215, "Scratching (performance technique)"),
            (27, "Singing"),
            (36, "Rapping"),
        ];
        for (i, name) in spot {
            assert_eq!(audioset_name(i).as_deref(), Some(name), "class {i}");
        }
        for (i, _) in GENRES.iter().chain(MOODS).chain(INSTRUMENTS) {
            assert!(*i < super::super::model::CLASSES);
        }
    }
}
