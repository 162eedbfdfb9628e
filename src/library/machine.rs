//! What the tagging model hears in a sound: its machine tags, searchable but kept apart from
//! the curated tags, and its place in the model's output space for "more like this".
//!
//! The place is the vector of the 527 AudioSet class probabilities, stored as the square root
//! of each probability in one byte. The similarity of two sounds is the cosine of these vectors:
//! for probability vectors it is the Bhattacharyya coefficient of the normalised distributions,
//! so every class counts in proportion to how sure the model is, and a sound's few likely
//! classes are not drowned out by the long tail of near-zero ones (the square root lifts the
//! tail above the byte's resolution, too).

use super::audio::Pcm;
use crate::engine::tags::{self, labels};
use crate::store::schema::MachineTags;

/// At most this many machine tags per sound, each with at least this probability.
pub const MAX_TAGS: usize = 5;
pub const TAG_MIN: f32 = 0.2;

/// Listens to `pcm` with the tagger: its machine tags and its vector. `Err` when the model
/// cannot run; empty tags and vector for silence or audio too short to hear.
pub fn listen(pcm: &Pcm) -> Result<MachineTags, String> {
    let (segments, _) = tags::segments(&pcm.mono(), pcm.rate);
    Ok(match tags::classify(&segments)?.mean {
        Some(mean) => MachineTags {
            tags: top_tags(&mean),
            vector: vector(&mean),
        },
        None => MachineTags::default(),
    })
}

/// The classes at or above `TAG_MIN`, most likely first, at most `MAX_TAGS`: (AudioSet name,
/// confidence in thousandths).
fn top_tags(probs: &[f32]) -> Vec<(String, u16)> {
    let mut order: Vec<usize> = (0..probs.len()).filter(|&i| probs[i] >= TAG_MIN).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
    order
        .into_iter()
        .take(MAX_TAGS)
        .filter_map(|i| {
            let name = labels::audioset_name(i)?;
            Some((name, (probs[i].clamp(0.0, 1.0) * 1000.0).round() as u16))
        })
        .collect()
}

/// √p per class, in one byte.
fn vector(probs: &[f32]) -> Vec<u8> {
    probs
        .iter()
        .map(|p| (p.clamp(0.0, 1.0).sqrt() * 255.0).round() as u8)
        .collect()
}

/// Euclidean norm of a stored vector (0 for an empty one).
pub fn norm(v: &[u8]) -> f32 {
    (v.iter().map(|&x| u32::from(x) * u32::from(x)).sum::<u32>() as f32).sqrt()
}

/// Cosine of two stored vectors given their norms; 0 when either is empty or silent.
pub fn similarity(a: &[u8], na: f32, b: &[u8], nb: f32) -> f32 {
    if a.len() != b.len() || na <= 0.0 || nb <= 0.0 {
        return 0.0;
    }
    let dot: u32 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| u32::from(x) * u32::from(y))
        .sum();
    dot as f32 / (na * nb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tags::model;

    fn pcm(f: impl Fn(f32) -> f32, secs: f32) -> Pcm {
        let rate = 16_000;
        let n = (secs * rate as f32) as usize;
        Pcm {
            rate,
            planes: vec![(0..n).map(|i| f(i as f32 / rate as f32)).collect()],
            bit_depth: Some(16),
        }
    }

    #[test]
    fn tags_come_most_likely_first_above_the_floor() {
        let mut p = vec![0.0f32; model::CLASSES];
        p[501] = 0.66;
        p[481] = 0.54;
        p[0] = 0.19;
        let t = top_tags(&p);
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(t[0], ("Sine wave".to_string(), 660));
        assert_eq!(t[1].1, 540);
    }

    #[test]
    fn similarity_is_a_cosine() {
        let a = [255u8, 0, 0];
        let b = [255u8, 255, 0];
        assert!((similarity(&a, norm(&a), &a, norm(&a)) - 1.0).abs() < 1e-6);
        assert!(
            (similarity(&a, norm(&a), &b, norm(&b)) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-3
        );
        assert_eq!(similarity(&a, norm(&a), &[], 0.0), 0.0);
        assert_eq!(similarity(&[0, 0, 0], 0.0, &a, norm(&a)), 0.0);
    }

    /// Two sines of different pitch sound more alike to the model than a sine and noise.
    #[test]
    fn a_sine_is_nearer_another_sine_than_noise() {
        let tone = |hz: f32| move |t: f32| 0.5 * (2.0 * std::f32::consts::PI * hz * t).sin();
        let mut seed = 1u32;
        let noise = move |_t: f32| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let a = listen(&pcm(tone(1000.0), 2.0)).unwrap();
        let b = listen(&pcm(tone(440.0), 2.0)).unwrap();
        let noise_cell = std::cell::RefCell::new(noise);
        let c = listen(&pcm(|t| (noise_cell.borrow_mut())(t), 2.0)).unwrap();
        assert_eq!(a.vector.len(), model::CLASSES);
        assert!(a.tags.iter().any(|(l, _)| l == "Sine wave"), "{:?}", a.tags);
        let s = |x: &MachineTags, y: &MachineTags| {
            similarity(&x.vector, norm(&x.vector), &y.vector, norm(&y.vector))
        };
        assert!(s(&a, &b) > s(&a, &c), "{} {}", s(&a, &b), s(&a, &c));
        let silent = listen(&pcm(|_| 0.0, 0.0)).unwrap();
        assert!(silent.tags.is_empty() && silent.vector.is_empty());
    }
}
