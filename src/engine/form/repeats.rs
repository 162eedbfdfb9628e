//! Boundaries that repetition shows and novelty misses. When an intro runs into the first verse
//! in the same texture, or a solo runs into the last chorus, the novelty curve has no peak
//! between them and one segment holds both. Yet the verse or the chorus also stands alone
//! elsewhere in the song: slid along the long segment, the shorter one matches well at some
//! offset and poorly at its start. The segment is then cut where the repeat begins (after the
//! repetition cue of Paulus, Müller & Klapuri 2010).

use super::Units;
use super::novelty::{GROUP_SIMILARITY, MIN_SECTION_BARS, group_similarity};

/// The aligned match must beat the match at the long segment's start by this much: a long
/// chorus that merely repeats itself matches at its start already and is left whole.
const MARGIN: f32 = 0.1;
/// Passes over the segments: a cut can reveal another one (intro | verse | chorus).
const PASSES: usize = 2;

/// Mean similarity of `len` bars from `a` and from `b`.
fn aligned(u: &Units, a: usize, b: usize, len: usize) -> f32 {
    (0..len)
        .map(|k| group_similarity(u, a + k, b + k))
        .sum::<f32>()
        / len as f32
}

/// Where segment `long` should be cut so that a repeat of `short` starts there, if anywhere:
/// the best offset of at least `MIN_SECTION_BARS` at which the repeat runs to the segment's
/// end (give or take a short tail), and its score above the start's. Only a repeat at the end
/// counts: one in the middle of a long segment is a solo or a vamp over the song's own chords,
/// which matches every part of itself.
fn repeat_offset(u: &Units, long: (usize, usize), short: (usize, usize)) -> Option<(usize, f32)> {
    let (ll, sl) = (long.1 - long.0, short.1 - short.0);
    if sl < MIN_SECTION_BARS || ll < sl + MIN_SECTION_BARS {
        return None;
    }
    let at_start = aligned(u, long.0, short.0, sl);
    let last = ll - sl;
    let first = last
        .saturating_sub(MIN_SECTION_BARS - 1)
        .max(MIN_SECTION_BARS);
    let (best, score) = (first..=last)
        .map(|o| (o, aligned(u, long.0 + o, short.0, sl)))
        .max_by(|x, y| x.1.total_cmp(&y.1))?;
    (score >= GROUP_SIMILARITY && score - at_start >= MARGIN).then_some((best, score - at_start))
}

/// `cuts` (unit indices where sections start, beginning with 0) with the cuts repetition adds.
pub(super) fn add_repeat_cuts(u: &Units, cuts: &[usize]) -> Vec<usize> {
    let mut cuts = cuts.to_vec();
    for _ in 0..PASSES {
        let segs = u.spans(&cuts);
        let mut added = Vec::new();
        for (i, &long) in segs.iter().enumerate() {
            let best = segs
                .iter()
                .enumerate()
                // A neighbour that matches the end is the same material going on (a solo over
                // the song's changes), not a repeat returning.
                .filter(|&(j, _)| j.abs_diff(i) > 1)
                .filter_map(|(_, &short)| repeat_offset(u, long, short))
                .max_by(|x, y| x.1.total_cmp(&y.1));
            if let Some((offset, _)) = best {
                added.push(long.0 + offset);
            }
        }
        if added.is_empty() {
            break;
        }
        cuts.extend(added);
        cuts.sort_unstable();
        cuts.dedup();
    }
    cuts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bars with one chord each (a pitch class lit) in one of two textures.
    fn units(bars: &[(usize, usize)]) -> Units {
        let chroma = bars
            .iter()
            .map(|&(pc, _)| std::array::from_fn(|i| if i == pc { 1.0 } else { 0.05 }))
            .collect();
        let timbre = bars
            .iter()
            .map(|&(_, t)| {
                if t == 0 {
                    vec![1.0, -1.0, 0.5]
                } else {
                    vec![-1.0, 1.0, -0.5]
                }
            })
            .collect();
        Units {
            bounds: (0..=bars.len()).map(|i| i as f64 * 2.0).collect(),
            chroma,
            timbre,
            energy: vec![1.0; bars.len()],
        }
    }

    /// An intro in the verse's texture but on other chords, glued to the first verse: the
    /// second verse, elsewhere, shows where the first one starts.
    #[test]
    fn a_repeat_at_the_end_of_a_segment_cuts_it_where_the_repeat_starts() {
        let verse = [(0, 0), (7, 0), (9, 0), (5, 0), (0, 0), (7, 0)];
        let chorus = [(5, 1), (0, 1), (7, 1), (9, 1), (5, 1), (0, 1)];
        let intro = [(2, 0), (2, 0), (4, 0), (4, 0)];
        let mut bars: Vec<(usize, usize)> = intro.to_vec();
        bars.extend(verse);
        bars.extend(chorus);
        bars.extend(verse);
        bars.extend(chorus);
        let u = units(&bars);
        // Novelty found the chorus boundaries only: the intro and the first verse are one.
        assert_eq!(add_repeat_cuts(&u, &[0, 10, 16, 22]), [0, 4, 10, 16, 22]);
    }

    /// A segment whose end repeats its neighbour (a solo going on over the same changes) is
    /// left whole, and so is one that repeats another from its start (a doubled chorus).
    #[test]
    fn continuing_material_and_repeats_from_the_start_add_no_cut() {
        let changes = [(0, 0), (5, 0), (7, 0), (0, 0)];
        let other = [(3, 1), (3, 1), (8, 1), (8, 1)];
        let fill = [(2, 0), (2, 0), (4, 0), (4, 0)];
        let mut bars: Vec<(usize, usize)> = other.to_vec();
        bars.extend(changes);
        bars.extend(fill);
        bars.extend(changes);
        bars.extend(other);
        let u = units(&bars);
        // Bars 8..16 end with the changes of bars 4..8, their neighbour.
        assert_eq!(add_repeat_cuts(&u, &[0, 4, 8, 16]), [0, 4, 8, 16]);
        // The same segment after something else: now the changes return, and it is cut.
        let mut bars: Vec<(usize, usize)> = changes.to_vec();
        bars.extend(other);
        bars.extend(fill);
        bars.extend(changes);
        let u = units(&bars);
        assert_eq!(add_repeat_cuts(&u, &[0, 4, 8]), [0, 4, 8, 12]);
        // A chorus played twice over, and once alone: it matches from its start.
        let mut bars: Vec<(usize, usize)> = other.to_vec();
        bars.extend(changes);
        bars.extend(changes);
        bars.extend(other);
        bars.extend(changes);
        let u = units(&bars);
        assert_eq!(add_repeat_cuts(&u, &[0, 4, 12, 16]), [0, 4, 12, 16]);
    }
}
