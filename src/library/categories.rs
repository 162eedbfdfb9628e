//! The fixed taxonomy of the library: 14 top-level categories and the three licence types.

pub const CATEGORIES: [&str; 14] = [
    "Foley",
    "Ambience",
    "UI/UX",
    "Music Stems",
    "Voiceover",
    "Nature",
    "Industrial",
    "Transport",
    "Weapons",
    "Fantasy",
    "Horror",
    "Comedy",
    "Sports",
    "Broadcast",
];

pub const LICENSE_TYPES: [&str; 3] = ["royalty-free", "copyleft", "editorial"];

/// The canonical spelling of a category, matched without regard to case, spaces, `/` or `-`
/// (`ui-ux`, `music_stems` and `Music Stems` are the same category).
pub fn canonical(name: &str) -> Option<&'static str> {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = squash(name);
    CATEGORIES.into_iter().find(|c| squash(c) == wanted)
}

pub fn license_type(name: &str) -> Option<&'static str> {
    let lower = name.trim().to_ascii_lowercase();
    LICENSE_TYPES.into_iter().find(|l| *l == lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_match_loosely_and_only_the_fourteen() {
        assert_eq!(canonical("ui/ux"), Some("UI/UX"));
        assert_eq!(canonical("UI-UX"), Some("UI/UX"));
        assert_eq!(canonical("music stems"), Some("Music Stems"));
        assert_eq!(canonical("foley"), Some("Foley"));
        assert_eq!(canonical("Footsteps"), None);
        assert_eq!(license_type("Royalty-Free"), Some("royalty-free"));
        assert_eq!(license_type("gpl"), None);
    }
}
