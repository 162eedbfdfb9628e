//! Boundaries and groups from the bar-level self-similarity: a checkerboard kernel slid along
//! the diagonal gives the novelty curve (Foote 2000), whose peaks are the section boundaries;
//! segments that repeat the same bars (high similarity along their aligned diagonal) share a
//! group (after Paulus, Müller & Klapuri 2010, "repetition" and "homogeneity" cues).

use super::Units;

/// Half-widths (bars) of the checkerboard kernels; their novelty curves are averaged so that
/// both short and long sections show.
const KERNEL_BARS: [usize; 2] = [4, 8];
/// Shortest section (bars).
pub(super) const MIN_SECTION_BARS: usize = 4;
/// A novelty peak becomes a boundary when it reaches this share of the highest peak.
const PEAK_SHARE: f32 = 0.35;
/// Weight of chroma against timbre in the similarity that finds boundaries: a change of texture
/// (instruments, drums, level) marks a section more reliably than a change of chord.
const CHROMA_WEIGHT: f32 = 0.25;
/// The same weight when comparing segments: repeated sections repeat their chords.
const GROUP_CHROMA_WEIGHT: f32 = 0.5;
/// Two segments share a group when their aligned similarity is above this.
pub(super) const GROUP_SIMILARITY: f32 = 0.65;

/// Similarity of two units in -1..1: chroma and timbre cosines, mixed.
pub(super) fn similarity(u: &Units, i: usize, j: usize) -> f32 {
    similarity_weighted(u, i, j, CHROMA_WEIGHT)
}

fn similarity_weighted(u: &Units, i: usize, j: usize, w: f32) -> f32 {
    let c = centred_cosine(&u.chroma[i], &u.chroma[j]);
    let t = cosine(&u.timbre[i], &u.timbre[j]);
    w * c + (1.0 - w) * t
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa <= 1e-12 || bb <= 1e-12 {
        return 0.0;
    }
    ab / (aa * bb).sqrt()
}

fn centred_cosine(a: &[f32; 12], b: &[f32; 12]) -> f32 {
    let ma = a.iter().sum::<f32>() / 12.0;
    let mb = b.iter().sum::<f32>() / 12.0;
    let ca: [f32; 12] = std::array::from_fn(|i| a[i] - ma);
    let cb: [f32; 12] = std::array::from_fn(|i| b[i] - mb);
    cosine(&ca, &cb)
}

/// Novelty at each unit boundary `i` (between units i-1 and i), 0 at the ends.
pub(super) fn novelty(u: &Units) -> Vec<f32> {
    let n = u.len();
    let mut out = vec![0.0f32; n];
    for &k in &KERNEL_BARS {
        let taper: Vec<f32> = (1..=k)
            .map(|a| (-2.0 * ((a as f32 - 0.5) / k as f32).powi(2)).exp())
            .collect();
        for (i, slot) in out.iter_mut().enumerate().skip(1) {
            let (mut sum, mut weight) = (0.0f32, 0.0f32);
            for a in 1..=k {
                for b in 1..=k {
                    let w = taper[a - 1] * taper[b - 1];
                    let (before_a, before_b) = (i.checked_sub(a), i.checked_sub(b));
                    let (after_a, after_b) = (i + a - 1, i + b - 1);
                    if let (Some(p), Some(q)) = (before_a, before_b) {
                        sum += w * similarity(u, p, q);
                        weight += w;
                    }
                    if after_a < n && after_b < n {
                        sum += w * similarity(u, after_a, after_b);
                        weight += w;
                    }
                    if let Some(p) = before_a
                        && after_b < n
                    {
                        sum -= 2.0 * w * similarity(u, p, after_b);
                        weight += 2.0 * w;
                    }
                }
            }
            if weight > 0.0 {
                *slot += sum / weight / KERNEL_BARS.len() as f32;
            }
        }
    }
    out
}

/// Unit indices where sections start, always beginning with 0.
pub(super) fn boundaries(u: &Units) -> Vec<usize> {
    let n = u.len();
    let nov = novelty(u);
    let top = nov.iter().fold(0.0f32, |m, &v| m.max(v));
    let mut peaks: Vec<usize> = (1..n)
        .filter(|&i| {
            nov[i] > 0.0
                && nov[i] >= PEAK_SHARE * top
                && (i < 2 || nov[i] >= nov[i - 1])
                && (i + 1 >= n || nov[i] > nov[i + 1])
        })
        .collect();
    peaks.sort_by(|&a, &b| nov[b].total_cmp(&nov[a]));
    let mut cuts: Vec<usize> = vec![0];
    for p in peaks {
        let far = cuts.iter().all(|&c| c.abs_diff(p) >= MIN_SECTION_BARS)
            && n - p >= MIN_SECTION_BARS.min(n / 2);
        if far {
            cuts.push(p);
        }
    }
    cuts.sort_unstable();
    cuts
}

/// Similarity of two bars as segments are compared: chords count more than for boundaries.
pub(super) fn group_similarity(u: &Units, i: usize, j: usize) -> f32 {
    similarity_weighted(u, i, j, GROUP_CHROMA_WEIGHT)
}

/// Similarity of two segments: the mean similarity of their bars aligned from their starts.
fn segment_similarity(u: &Units, a: (usize, usize), b: (usize, usize)) -> f32 {
    let len = (a.1 - a.0).min(b.1 - b.0);
    if len == 0 {
        return 0.0;
    }
    (0..len)
        .map(|k| group_similarity(u, a.0 + k, b.0 + k))
        .sum::<f32>()
        / len as f32
}

/// Group index (0, 1, …, in order of first appearance) of each segment.
pub(super) fn group_segments(u: &Units, cuts: &[usize]) -> Vec<usize> {
    let segs = u.spans(cuts);
    let m = segs.len();
    let mut sim = vec![vec![0.0f32; m]; m];
    for a in 0..m {
        for b in a + 1..m {
            let s = segment_similarity(u, segs[a], segs[b]);
            sim[a][b] = s;
            sim[b][a] = s;
        }
    }
    // Average-linkage agglomeration while the closest clusters are similar enough.
    let mut clusters: Vec<Vec<usize>> = (0..m).map(|i| vec![i]).collect();
    loop {
        let mut best: Option<(f32, usize, usize)> = None;
        for a in 0..clusters.len() {
            for b in a + 1..clusters.len() {
                let mut total = 0.0f32;
                for &x in &clusters[a] {
                    for &y in &clusters[b] {
                        total += sim[x][y];
                    }
                }
                let mean = total / (clusters[a].len() * clusters[b].len()) as f32;
                if best.is_none_or(|(s, _, _)| mean > s) {
                    best = Some((mean, a, b));
                }
            }
        }
        match best {
            Some((s, a, b)) if s >= GROUP_SIMILARITY => {
                let moved = clusters.remove(b);
                clusters[a].extend(moved);
            }
            _ => break,
        }
    }
    let mut cluster_of = vec![0usize; m];
    for (c, members) in clusters.iter().enumerate() {
        for &s in members {
            cluster_of[s] = c;
        }
    }
    // Renumber by first appearance.
    let mut order: Vec<usize> = Vec::new();
    cluster_of
        .iter()
        .map(|&c| {
            if let Some(p) = order.iter().position(|&o| o == c) {
                p
            } else {
                order.push(c);
                order.len() - 1
            }
        })
        .collect()
}
