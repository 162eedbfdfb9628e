//! Boundaries inside repeated sections. An EDM build and its drop, or a verse whose second half
//! brings in the band, repeat together: the pair returns as one unit, so grouping sees one
//! section, and the novelty curve barely moves between them because both lie on the same side
//! of the song's mean texture (the cosine of standardised timbre ignores how far each is from
//! it). Repetition settles it: when every occurrence of a group changes texture at the same bar
//! of its phrase grid, and the change explains a large share of the texture's variance in each
//! of them, the group is cut there. The part before the cut leads into the part after it.

use super::Units;
use super::novelty::MIN_SECTION_BARS;

/// Sections are built of four-bar phrases; a texture change inside a repeat falls on one.
const PHRASE_BARS: usize = 4;
/// Least share of the timbre variance, in every occurrence, that the two halves must explain
/// (R² of a two-part fit). On the public songs a build and its drop explain 42 % and 48 %;
/// verses and choruses that merely develop stay under 17 %.
const MIN_EXPLAINED: f32 = 0.3;

/// Sum of squared deviations of the timbre vectors of `rows` from their mean.
fn scatter(u: &Units, rows: std::ops::Range<usize>) -> f32 {
    let n = rows.len();
    if n == 0 {
        return 0.0;
    }
    let dims = u.timbre[rows.start].len();
    let mut mean = vec![0.0f32; dims];
    for t in &u.timbre[rows.clone()] {
        for (m, v) in mean.iter_mut().zip(t) {
            *m += v / n as f32;
        }
    }
    u.timbre[rows]
        .iter()
        .map(|t| {
            t.iter()
                .zip(&mean)
                .map(|(v, m)| (v - m).powi(2))
                .sum::<f32>()
        })
        .sum()
}

/// Share of the timbre variance of bars `start..start + len` explained by cutting them at
/// `start + offset` (0 when the bars do not vary at all).
fn explained(u: &Units, start: usize, len: usize, offset: usize) -> f32 {
    let total = scatter(u, start..start + len);
    if total <= 1e-6 {
        return 0.0;
    }
    let parts = scatter(u, start..start + offset) + scatter(u, start + offset..start + len);
    1.0 - parts / total
}

/// The cuts inside repeated groups, and the starts of the lead-in parts they leave in front.
pub(super) struct Builds {
    pub cuts: Vec<usize>,
    pub lead_ins: Vec<usize>,
}

/// `cuts` (unit indices where sections start, beginning with 0) with the cuts where every
/// occurrence of a repeated group changes texture at the same phrase line; `None` when no
/// group does.
pub(super) fn split_repeats(u: &Units, cuts: &[usize], groups: &[usize]) -> Option<Builds> {
    let segs = u.spans(cuts);
    let n_groups = groups.iter().copied().max().map_or(0, |g| g + 1);
    let mut added = Vec::new();
    let mut lead_ins = Vec::new();
    for g in 0..n_groups {
        let occurrences: Vec<(usize, usize)> = segs
            .iter()
            .zip(groups)
            .filter(|&(_, &x)| x == g)
            .map(|(&s, _)| s)
            .collect();
        if occurrences.len() < 2 {
            continue;
        }
        let starts: Vec<usize> = occurrences.iter().map(|s| s.0).collect();
        // Compare the occurrences over the length they share.
        let len = occurrences.iter().map(|s| s.1 - s.0).min().unwrap_or(0);
        // The first phrase line that leaves a section's length in front.
        let first = PHRASE_BARS * MIN_SECTION_BARS.div_ceil(PHRASE_BARS);
        let best = (first..=len.saturating_sub(MIN_SECTION_BARS))
            .step_by(PHRASE_BARS)
            .map(|o| {
                let weakest = starts
                    .iter()
                    .map(|&s| explained(u, s, len, o))
                    .fold(f32::INFINITY, f32::min);
                (o, weakest)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((offset, share)) = best
            && share >= MIN_EXPLAINED
        {
            added.extend(starts.iter().map(|&s| s + offset));
            lead_ins.extend(starts);
        }
    }
    if added.is_empty() {
        return None;
    }
    let mut cuts = cuts.to_vec();
    cuts.extend(added);
    cuts.sort_unstable();
    cuts.dedup();
    Some(Builds { cuts, lead_ins })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bars with a texture each: `t` picks one of three timbre vectors, `wobble` varies it a
    /// little from bar to bar as real bars do.
    fn units(textures: &[usize]) -> Units {
        let base = [
            vec![-1.0, -1.0, -1.0, -1.0],
            vec![0.3, 0.2, 0.8, 0.9],
            vec![1.2, 1.3, 0.9, 1.0],
        ];
        let timbre = textures
            .iter()
            .enumerate()
            .map(|(i, &t)| {
                let wobble = if i % 2 == 0 { 0.1 } else { -0.1 };
                base[t].iter().map(|v| v + wobble).collect()
            })
            .collect();
        Units {
            bounds: (0..=textures.len()).map(|i| i as f64 * 2.0).collect(),
            chroma: vec![[0.0; 12]; textures.len()],
            timbre,
            energy: vec![1.0; textures.len()],
        }
    }

    #[test]
    fn a_build_and_drop_repeated_together_are_cut_at_the_drop_in_every_repeat() {
        // intro 8 | build 8 + drop 16 | breakdown 8 | build 8 + drop 16
        let t = [&[0; 8][..], &[1; 8], &[2; 16], &[0; 8], &[1; 8], &[2; 16]].concat();
        let u = units(&t);
        let split = split_repeats(&u, &[0, 8, 32, 40], &[0, 1, 2, 1]).expect("a split");
        assert_eq!(split.cuts, [0, 8, 16, 32, 40, 48]);
        assert_eq!(split.lead_ins, [8, 40]);
    }

    #[test]
    fn a_change_in_only_one_repeat_cuts_nothing() {
        // The second occurrence keeps one texture throughout.
        let t = [&[0; 8][..], &[1; 8], &[2; 16], &[0; 8], &[2; 24]].concat();
        let u = units(&t);
        assert!(split_repeats(&u, &[0, 8, 32, 40], &[0, 1, 2, 1]).is_none());
        // Repeats that keep one texture throughout are left whole.
        let t = [[0; 8], [2; 8], [0; 8], [2; 8]].concat();
        assert!(split_repeats(&units(&t), &[0, 8, 16, 24], &[0, 1, 0, 1]).is_none());
    }

    #[test]
    fn identical_bars_explain_nothing() {
        let u = Units {
            bounds: (0..=8).map(f64::from).collect(),
            chroma: vec![[0.0; 12]; 8],
            timbre: vec![vec![0.5; 3]; 8],
            energy: vec![1.0; 8],
        };
        assert_eq!(explained(&u, 0, 8, 4), 0.0);
    }
}
