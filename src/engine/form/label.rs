//! Section names from the form: what repeats, where it sits and how loud it is. The loudest
//! repeated material is the chorus, the repeated material that comes first is the verse, and
//! repeated material leading into a chorus is the prechorus (so is a build that texture cuts
//! separated from the chorus it repeats with, even with no verse); one-off sections are the intro
//! and outro at the ends, and in the middle a bridge, an instrumental or (when quiet) a
//! breakdown.

use super::{Section, Units};

/// Group letter of group index `g`: A..Z, then AA, AB, …
fn letter(g: usize) -> String {
    const ABC: &[u8; 26] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    if g < 26 {
        char::from(ABC[g]).to_string()
    } else {
        format!(
            "{}{}",
            char::from(ABC[(g / 26 - 1) % 26]),
            char::from(ABC[g % 26])
        )
    }
}

/// `lead_ins` are the starts of the parts cut off the front of repeats (builds).
pub(super) fn name_sections(
    u: &Units,
    cuts: &[usize],
    groups: &[usize],
    lead_ins: &[usize],
) -> Vec<Section> {
    let spans = u.spans(cuts);
    let m = spans.len();
    let energy: Vec<f32> = spans
        .iter()
        .map(|&(a, b)| u.energy[a..b].iter().sum::<f32>() / (b - a).max(1) as f32)
        .collect();
    let n_groups = groups.iter().copied().max().map_or(0, |g| g + 1);
    let count = |g: usize| groups.iter().filter(|&&x| x == g).count();
    let group_energy = |g: usize| {
        let members: Vec<f32> = (0..m)
            .filter(|&k| groups[k] == g)
            .map(|k| energy[k])
            .collect();
        members.iter().sum::<f32>() / members.len().max(1) as f32
    };
    // Material that comes back only at the two ends (a drum intro and outro) frames the song
    // rather than repeating inside it.
    let framing = |g: usize| {
        m > 2
            && (0..m)
                .filter(|&k| groups[k] == g)
                .all(|k| k == 0 || k + 1 == m)
    };
    let repeated: Vec<usize> = (0..n_groups)
        .filter(|&g| count(g) >= 2 && !framing(g))
        .collect();
    let chorus = repeated
        .iter()
        .copied()
        .max_by(|&a, &b| group_energy(a).total_cmp(&group_energy(b)));
    let leads_into_chorus = |g: usize| {
        (0..m)
            .filter(|&k| groups[k] == g)
            .all(|k| k + 1 < m && Some(groups[k + 1]) == chorus)
    };
    let build = repeated.iter().copied().find(|&g| {
        Some(g) != chorus
            && leads_into_chorus(g)
            && (0..m)
                .filter(|&k| groups[k] == g)
                .all(|k| lead_ins.contains(&cuts[k]))
    });
    let verse = repeated
        .iter()
        .copied()
        .find(|&g| Some(g) != chorus && Some(g) != build);
    let prechorus = build.or_else(|| {
        repeated
            .iter()
            .copied()
            .find(|&g| Some(g) != chorus && Some(g) != verse && leads_into_chorus(g))
    });
    let mut sorted = energy.clone();
    sorted.sort_by(f32::total_cmp);
    let median = sorted.get(m / 2).copied().unwrap_or(0.0);
    let mut bridge_seen = false;
    (0..m)
        .map(|k| {
            let g = groups[k];
            let label = if Some(g) == chorus {
                "chorus"
            } else if Some(g) == prechorus {
                "prechorus"
            } else if repeated.contains(&g) {
                "verse"
            } else if k == 0 {
                "intro"
            } else if k + 1 == m {
                "outro"
            } else if energy[k] < 0.7 * median {
                "breakdown"
            } else if !bridge_seen {
                bridge_seen = true;
                "bridge"
            } else {
                "instrumental"
            };
            let (a, b) = spans[k];
            let ms = |t: f64| (t * 1000.0).round() / 1000.0;
            Section {
                start: ms(u.bounds[a]),
                end: ms(u.bounds[b]),
                label: label.to_string(),
                group: letter(g),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Five 4-bar segments with the given groups and per-segment energies.
    fn units(energy: &[f32]) -> Units {
        let n = energy.len() * 4;
        Units {
            bounds: (0..=n).map(|i| i as f64 * 2.0).collect(),
            chroma: vec![[0.0; 12]; n],
            timbre: vec![vec![0.0; 4]; n],
            energy: energy.iter().flat_map(|&e| [e; 4]).collect(),
        }
    }

    #[test]
    fn loudest_repeated_material_is_the_chorus_and_the_ends_frame_it() {
        let u = units(&[0.5, 0.4, 0.9, 0.4, 0.9, 0.5]);
        let cuts = [0, 4, 8, 12, 16, 20];
        let groups = [0, 1, 2, 1, 2, 0];
        let s = name_sections(&u, &cuts, &groups, &[]);
        let labels: Vec<&str> = s.iter().map(|x| x.label.as_str()).collect();
        assert_eq!(
            labels,
            ["intro", "verse", "chorus", "verse", "chorus", "outro"]
        );
        let letters: Vec<&str> = s.iter().map(|x| x.group.as_str()).collect();
        assert_eq!(letters, ["A", "B", "C", "B", "C", "A"]);
        assert_eq!((s[0].start, s[5].end), (0.0, 48.0));
    }

    #[test]
    fn one_off_middle_sections_are_bridge_then_instrumental_or_breakdown() {
        let u = units(&[0.5, 0.9, 0.8, 0.2, 0.9, 0.8, 0.5]);
        let cuts = [0, 4, 8, 12, 16, 20, 24];
        let groups = [0, 1, 2, 3, 1, 4, 5];
        let labels: Vec<String> = name_sections(&u, &cuts, &groups, &[])
            .into_iter()
            .map(|x| x.label)
            .collect();
        assert_eq!(
            labels,
            [
                "intro",
                "chorus",
                "bridge",
                "breakdown",
                "chorus",
                "instrumental",
                "outro"
            ]
        );
    }

    #[test]
    fn a_build_cut_from_the_front_of_a_repeat_is_the_prechorus_even_without_a_verse() {
        let u = units(&[0.2, 0.6, 0.9, 0.3, 0.6, 0.9, 0.2]);
        let cuts = [0, 4, 8, 12, 16, 20, 24];
        let groups = [0, 1, 2, 3, 1, 2, 0];
        let labels = |lead_ins: &[usize]| -> Vec<String> {
            name_sections(&u, &cuts, &groups, lead_ins)
                .into_iter()
                .map(|x| x.label)
                .collect()
        };
        assert_eq!(
            labels(&[4, 16]),
            [
                "intro",
                "prechorus",
                "chorus",
                "breakdown",
                "prechorus",
                "chorus",
                "outro"
            ]
        );
        // Found by grouping alone, the same material is the verse.
        assert_eq!(labels(&[])[1], "verse");
    }

    #[test]
    fn group_letters_run_past_z() {
        assert_eq!(letter(0), "A");
        assert_eq!(letter(25), "Z");
        assert_eq!(letter(26), "AA");
        assert_eq!(letter(27), "AB");
    }
}
