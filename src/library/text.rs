//! Text analysis for search: tokens, a light English stemmer (plurals, -ing, -ed, final e) so
//! "explosions", "slamming" and "closed" meet "explosion", "slam" and "close", and a bounded
//! Damerau-Levenshtein distance for typo tolerance.

/// Lowercased alphanumeric tokens. A hyphenated or slashed word also yields its parts joined
/// ("sci-fi" → "sci", "fi", "scifi"), so either spelling finds it.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in text.split(|c: char| {
        c.is_whitespace() || matches!(c, ',' | ';' | '.' | '(' | ')' | '"' | '!' | '?')
    }) {
        let parts: Vec<String> = word
            .split(|c: char| !c.is_alphanumeric())
            .filter(|p| !p.is_empty())
            .map(str::to_lowercase)
            .collect();
        if parts.len() > 1 {
            let joined: String = parts.concat();
            out.extend(parts);
            out.push(joined);
        } else {
            out.extend(parts);
        }
    }
    out
}

/// Words too common in titles and queries to say anything about a sound (in a sound library,
/// "sound" and "sfx" describe every item).
pub fn is_stopword(t: &str) -> bool {
    matches!(
        t,
        "a" | "an"
            | "the"
            | "of"
            | "on"
            | "in"
            | "at"
            | "and"
            | "or"
            | "to"
            | "with"
            | "for"
            | "from"
            | "by"
            | "is"
            | "it"
            | "into"
            | "as"
            | "sound"
            | "sounds"
            | "sfx"
    )
}

/// The words of a query, each with its alternative spellings: a hyphenated word is one word
/// whose forms are the joined spelling and its parts ("sci-fi" → ["scifi", "sci", "fi"]), so it
/// weighs as one word beside the others.
pub fn query_words(text: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for word in text.split(|c: char| {
        c.is_whitespace() || matches!(c, ',' | ';' | '.' | '(' | ')' | '"' | '!' | '?')
    }) {
        let parts: Vec<String> = word
            .split(|c: char| !c.is_alphanumeric())
            .filter(|p| !p.is_empty())
            .map(str::to_lowercase)
            .filter(|p| !is_stopword(p))
            .collect();
        let group = match parts.len() {
            0 => continue,
            1 => parts,
            _ => std::iter::once(parts.concat()).chain(parts).collect(),
        };
        if !out.contains(&group) {
            out.push(group);
        }
    }
    out
}

fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// A light stemmer: the inflections that separate what people type from what titles say.
pub fn stem(word: &str) -> String {
    let w = word.as_bytes();
    if w.len() <= 3 || !word.is_ascii() || w.iter().any(u8::is_ascii_digit) {
        return word.to_string();
    }
    let mut s = word.to_string();
    if s.ends_with("ies") && s.len() > 4 {
        s.truncate(s.len() - 3);
        s.push('y');
    } else if ["sses", "shes", "ches", "xes"]
        .iter()
        .any(|e| s.ends_with(e))
    {
        s.truncate(s.len() - 2);
    } else if s.ends_with('s') && !s.ends_with("ss") && !s.ends_with("us") && !s.ends_with("is") {
        s.pop();
    }
    let has_vowel = |stem: &str| stem.bytes().any(is_vowel);
    for suffix in ["ing", "ed"] {
        if s.len() > suffix.len() + 2
            && s.ends_with(suffix)
            && has_vowel(&s[..s.len() - suffix.len()])
        {
            s.truncate(s.len() - suffix.len());
            let b = s.as_bytes();
            let n = b.len();
            // "slamm" → "slam", but keep "ll", "ss", "zz" ("rolling" → "roll").
            if n >= 2
                && b[n - 1] == b[n - 2]
                && !is_vowel(b[n - 1])
                && !matches!(b[n - 1], b'l' | b's' | b'z')
            {
                s.pop();
            }
            break;
        }
    }
    if s.len() > 4 && s.ends_with('e') {
        s.pop();
    }
    s
}

/// Damerau-Levenshtein (optimal string alignment) distance, or `None` when above `max`.
pub fn distance_within(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let (n, m) = (a.len(), b.len());
    let mut prev2 = vec![0usize; m + 1];
    let mut prev: Vec<usize> = (0..=m).collect();
    let mut cur = vec![0usize; m + 1];
    for i in 1..=n {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    (prev[m] <= max).then_some(prev[m])
}

/// Typos allowed in a query word of this many characters (Meilisearch's rule of thumb).
pub fn typo_budget(len: usize) -> usize {
    match len {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflections_meet_their_base_form() {
        for (a, b) in [
            ("explosions", "explosion"),
            ("slamming", "slam"),
            ("closed", "close"),
            ("closing", "close"),
            ("footsteps", "footstep"),
            ("batteries", "battery"),
            ("crackling", "crackle"),
            ("chirping", "chirp"),
            ("rolling", "roll"),
            ("beeps", "beep"),
            ("crashes", "crash"),
        ] {
            assert_eq!(stem(a), stem(b), "{a} / {b}");
        }
        assert_eq!(stem("glass"), "glass");
        assert_eq!(stem("bus"), "bus");
        assert_eq!(stem("808"), "808");
    }

    #[test]
    fn hyphenated_words_are_found_either_way() {
        assert_eq!(tokens("Sci-Fi Door"), ["sci", "fi", "scifi", "door"]);
        assert_eq!(
            tokens("1kHz tone, -20 dBFS"),
            ["1khz", "tone", "20", "dbfs"]
        );
    }

    #[test]
    fn distances_are_bounded() {
        assert_eq!(distance_within("foostep", "footstep", 1), Some(1));
        assert_eq!(distance_within("explosian", "explosion", 2), Some(1));
        assert_eq!(distance_within("teh", "the", 1), Some(1));
        assert_eq!(distance_within("door", "window", 2), None);
    }
}
