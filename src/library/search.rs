//! The in-memory search index over the library, rebuilt from the store at start and kept in
//! step with every import, edit and deletion. Ranking is BM25F over five weighted fields (title,
//! tags, category with subcategory, description, and the machine tags the tagging model gave,
//! weighted lowest so they add recall without outranking what people wrote) on stemmed tokens; a query word also matches
//! vocabulary within its typo budget, words it is a prefix of, and its synonyms, each at a
//! discount, so the best spelling still ranks first (a word found as typed in many sounds is
//! not expanded). Filters are applied before scoring and are never violated.
//!
//! A query's scores are summed in per-thread dense arrays indexed by document slot (reset
//! through the list of slots it touched), and only the requested number of best results is kept,
//! in a heap, so a query costs the postings it walks and not a hash map or a sort of every match.

use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use super::categories::{CATEGORIES, LICENSE_TYPES};
use super::machine;
use super::synonyms;
use super::text::{distance_within, is_stopword, query_words, stem, tokens, typo_budget};
use crate::store::schema::SoundRecord;

const FIELDS: usize = 5;
/// Field weights: title, tags, category + subcategory, description, machine tags.
const WEIGHTS: [f32; FIELDS] = [3.0, 2.5, 1.2, 1.0, 0.3];
/// Length normalisation per field (tag lists: their count says little).
const B: [f32; FIELDS] = [0.75, 0.3, 0.3, 0.75, 0.3];
const K1: f32 = 1.2;
/// How much a match through a typo, a prefix or a synonym counts beside an exact one.
const TYPO_WEIGHT: f32 = 0.7;
const TYPO_WEIGHT_KNOWN: f32 = 0.25;
const PREFIX_WEIGHT: f32 = 0.45;
const SYNONYM_WEIGHT: f32 = 0.75;
/// Sounds a word must be found in, as typed, for its typo and prefix expansion to be skipped.
const FREQUENT: usize = 1000;

/// Filters of a search; every result satisfies all of them.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub category: Option<&'static str>,
    pub duration_max: Option<f64>,
    pub license_type: Option<&'static str>,
}

struct Doc {
    id: String,
    sound: Arc<SoundRecord>,
    /// Distinct terms, for removal.
    terms: Vec<String>,
}

/// What scoring and filtering read of a document, packed densely by slot so walking a
/// posting list does not chase a pointer per posting.
#[derive(Clone, Copy, Default)]
struct Meta {
    lens: [u32; FIELDS],
    duration_s: f64,
    /// Position in `CATEGORIES` and `LICENSE_TYPES`; [`UNKNOWN`] for anything else.
    category: u8,
    license_type: u8,
    /// Norm of the machine vector (0 when the sound has none).
    norm: f32,
}

/// The code of a category or licence type outside the fixed lists (a filter is always on one
/// of them, so it never matches this).
const UNKNOWN: u8 = u8::MAX;

fn code(list: &[&str], value: &str) -> u8 {
    list.iter()
        .position(|x| *x == value)
        .map_or(UNKNOWN, |i| i as u8)
}

#[derive(Clone, Copy)]
struct Posting {
    slot: u32,
    tf: [u8; FIELDS],
}

#[derive(Default)]
pub struct Index {
    docs: Vec<Option<Doc>>,
    metas: Vec<Meta>,
    free: Vec<u32>,
    slot_of: HashMap<String, u32>,
    postings: HashMap<String, Vec<Posting>>,
    /// Vocabulary by length in characters, for typo and prefix expansion.
    vocab_by_len: Vec<Vec<String>>,
    len_sum: [u64; FIELDS],
    live: u32,
}

impl Index {
    pub fn build(sounds: impl IntoIterator<Item = (String, SoundRecord)>) -> Index {
        let mut ix = Index::default();
        for (id, s) in sounds {
            ix.upsert(&id, Arc::new(s));
        }
        ix
    }

    pub fn len(&self) -> usize {
        self.live as usize
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub fn get(&self, id: &str) -> Option<&Arc<SoundRecord>> {
        let slot = *self.slot_of.get(id)?;
        self.docs.get(slot as usize)?.as_ref().map(|d| &d.sound)
    }

    /// Every live sound with its id.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &SoundRecord)> {
        self.docs
            .iter()
            .flatten()
            .map(|d| (d.id.as_str(), d.sound.as_ref()))
    }

    /// Every live sound (for the category counts).
    pub fn sounds(&self) -> impl Iterator<Item = &SoundRecord> {
        self.docs.iter().flatten().map(|d| d.sound.as_ref())
    }

    pub fn upsert(&mut self, id: &str, sound: Arc<SoundRecord>) {
        self.remove(id);
        let texts = [
            sound.title.clone(),
            sound.tags.join(" , "),
            format!("{} {}", sound.category, sound.subcategory),
            sound.description.clone(),
            sound
                .machine
                .as_ref()
                .map(|m| {
                    m.tags
                        .iter()
                        .map(|(label, _)| label.as_str())
                        .collect::<Vec<_>>()
                        .join(" , ")
                })
                .unwrap_or_default(),
        ];
        let mut tf: HashMap<String, [u8; FIELDS]> = HashMap::new();
        let mut lens = [0u32; FIELDS];
        for (f, text) in texts.iter().enumerate() {
            for t in tokens(text) {
                if is_stopword(&t) {
                    continue;
                }
                lens[f] += 1;
                let e = tf.entry(stem(&t)).or_default();
                e[f] = e[f].saturating_add(1);
            }
        }
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.docs.push(None);
                self.metas.push(Meta::default());
                (self.docs.len() - 1) as u32
            }
        };
        self.metas[slot as usize] = Meta {
            lens,
            duration_s: sound.duration_s,
            category: code(&CATEGORIES, &sound.category),
            license_type: code(&LICENSE_TYPES, &sound.license_type),
            norm: sound
                .machine
                .as_ref()
                .map_or(0.0, |m| machine::norm(&m.vector)),
        };
        let mut terms = Vec::with_capacity(tf.len());
        for (term, counts) in tf {
            let list = self.postings.entry(term.clone()).or_insert_with(|| {
                let n = term.chars().count();
                if self.vocab_by_len.len() <= n {
                    self.vocab_by_len.resize_with(n + 1, Vec::new);
                }
                self.vocab_by_len[n].push(term.clone());
                Vec::new()
            });
            list.push(Posting { slot, tf: counts });
            terms.push(term);
        }
        for (sum, len) in self.len_sum.iter_mut().zip(lens) {
            *sum += u64::from(len);
        }
        self.live += 1;
        self.slot_of.insert(id.to_string(), slot);
        self.docs[slot as usize] = Some(Doc {
            id: id.to_string(),
            sound,
            terms,
        });
    }

    pub fn remove(&mut self, id: &str) -> bool {
        let Some(slot) = self.slot_of.remove(id) else {
            return false;
        };
        let Some(doc) = self.docs.get_mut(slot as usize).and_then(Option::take) else {
            return false;
        };
        for term in &doc.terms {
            let emptied = match self.postings.get_mut(term) {
                Some(list) => {
                    list.retain(|p| p.slot != slot);
                    list.is_empty()
                }
                None => false,
            };
            if emptied {
                self.postings.remove(term);
                let n = term.chars().count();
                if let Some(bucket) = self.vocab_by_len.get_mut(n) {
                    bucket.retain(|t| t != term);
                }
            }
        }
        let lens = self
            .metas
            .get(slot as usize)
            .map_or([0; FIELDS], |m| m.lens);
        for (sum, len) in self.len_sum.iter_mut().zip(lens) {
            *sum -= u64::from(len);
        }
        self.live -= 1;
        self.free.push(slot);
        true
    }

    /// The words a query word stands for, with the weight of each.
    fn expand(&self, word: &str) -> Vec<(String, f32)> {
        let stemmed = stem(word);
        let mut out: Vec<(String, f32)> = Vec::new();
        let add = |t: String, w: f32, out: &mut Vec<(String, f32)>| {
            if let Some(e) = out.iter_mut().find(|(x, _)| *x == t) {
                e.1 = e.1.max(w);
            } else {
                out.push((t, w));
            }
        };
        let df = self.postings.get(&stemmed).map_or(0, Vec::len);
        let known = df > 0;
        if known {
            add(stemmed.clone(), 1.0, &mut out);
        }
        // A word found as typed in many sounds is taken as meant: its typo neighbours and
        // longer words would only add weaker matches behind more results than anyone pages
        // through, at the cost of walking their posting lists.
        let respell = df < FREQUENT;
        let n = stemmed.chars().count();
        let budget = typo_budget(word.chars().count());
        if respell && budget > 0 {
            let lo = n.saturating_sub(budget);
            let hi = (n + budget).min(self.vocab_by_len.len().saturating_sub(1));
            for len in lo..=hi {
                for t in self.vocab_by_len.get(len).into_iter().flatten() {
                    if *t == stemmed {
                        continue;
                    }
                    if let Some(d) = distance_within(&stemmed, t, budget) {
                        let w = if known {
                            TYPO_WEIGHT_KNOWN
                        } else {
                            TYPO_WEIGHT
                        };
                        add(t.clone(), w / d as f32, &mut out);
                    }
                }
            }
        }
        // A word typed as the start of a longer one ("foot" → "footstep"; search as you type).
        if respell && n >= 4 {
            for bucket in self.vocab_by_len.iter().skip(n + 1) {
                for t in bucket {
                    if t.starts_with(&stemmed) {
                        add(t.clone(), PREFIX_WEIGHT, &mut out);
                    }
                }
            }
        }
        for syn in synonyms::of(&stemmed) {
            let s = stem(syn);
            if self.postings.contains_key(&s) {
                add(s, SYNONYM_WEIGHT, &mut out);
            }
        }
        out
    }

    /// The `top` best sounds matching `query` within `filters`, best first, and how many
    /// sounds match in all.
    pub fn search(&self, query: &str, filters: &Filters, top: usize) -> Ranked {
        let words = query_words(query);
        if words.is_empty() || self.live == 0 || top == 0 {
            return Ranked::default();
        }
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            self.rank(&words, filters, top, &mut scratch)
        })
    }

    fn rank(
        &self,
        words: &[Vec<String>],
        filters: &Filters,
        top: usize,
        sc: &mut Scratch,
    ) -> Ranked {
        let n_docs = self.live as f32;
        let avg: [f32; FIELDS] =
            std::array::from_fn(|f| (self.len_sum[f] as f32 / n_docs).max(1.0));
        // Length normalisation as `a + b * len` per field, so each posting costs a multiply.
        let norm_a: [f32; FIELDS] = std::array::from_fn(|f| 1.0 - B[f]);
        let norm_b: [f32; FIELDS] = std::array::from_fn(|f| B[f] / avg[f]);
        // A filter names one of the fixed categories and licence types; anything else (never
        // produced by the API) matches nothing rather than everything.
        let wanted = |list: &[&str], v: &str| -> u8 { code(list, v).min(UNKNOWN - 1) };
        let category = filters.category.map(|c| wanted(&CATEGORIES, c));
        let license_type = filters.license_type.map(|l| wanted(&LICENSE_TYPES, l));
        let duration_max = filters.duration_max;
        let allowed = |m: &Meta| -> bool {
            category.is_none_or(|c| m.category == c)
                && license_type.is_none_or(|l| m.license_type == l)
                && duration_max.is_none_or(|d| m.duration_s <= d)
        };
        sc.reset(self.docs.len());
        for (wi, forms) in words.iter().enumerate() {
            let bit = 1u32 << wi.min(31);
            let mut seen: Vec<(String, f32)> = Vec::new();
            for (k, form) in forms.iter().enumerate() {
                // The parts of a compound count a little less than the compound itself.
                let part = if k == 0 { 1.0 } else { 0.8 };
                for (t, w) in self.expand(form) {
                    let w = w * part;
                    match seen.iter_mut().find(|(x, _)| *x == t) {
                        Some(e) => e.1 = e.1.max(w),
                        None => seen.push((t, w)),
                    }
                }
            }
            for (term, weight) in &seen {
                let Some(list) = self.postings.get(term) else {
                    continue;
                };
                let df = list.len() as f32;
                let idf = ((n_docs - df + 0.5) / (df + 0.5) + 1.0).ln();
                let scale = weight * idf;
                for p in list {
                    let slot = p.slot as usize;
                    let Some(meta) = self.metas.get(slot) else {
                        continue;
                    };
                    if !allowed(meta) {
                        continue;
                    }
                    let mut tf = 0.0f32;
                    for f in 0..FIELDS {
                        if p.tf[f] > 0 {
                            let norm = norm_a[f] + norm_b[f] * meta.lens[f] as f32;
                            tf += WEIGHTS[f] * f32::from(p.tf[f]) / norm;
                        }
                    }
                    let s = scale * tf / (K1 + tf);
                    let best = sc.word_best[slot];
                    if best == 0.0 {
                        sc.word_touched.push(p.slot);
                    }
                    if s > best {
                        sc.word_best[slot] = s;
                    }
                }
            }
            for &slot in &sc.word_touched {
                let i = slot as usize;
                if sc.mask[i] == 0 {
                    sc.touched.push(slot);
                }
                sc.score[i] += sc.word_best[i];
                sc.mask[i] |= bit;
                sc.word_best[i] = 0.0;
            }
            sc.word_touched.clear();
        }
        let n_words = words.len().min(32) as f32;
        // Only the `top` best are kept, in a heap whose root is the weakest of them.
        let mut heap: BinaryHeap<Reverse<Hit<'_>>> =
            BinaryHeap::with_capacity(top.min(sc.touched.len()) + 1);
        for &slot in &sc.touched {
            let i = slot as usize;
            // Documents matching more of the query's words come first at equal strength.
            let coverage = sc.mask[i].count_ones() as f32 / n_words;
            let score = sc.score[i] * (0.5 + 0.5 * coverage);
            if heap.len() == top && heap.peek().is_some_and(|weakest| score < weakest.0.score) {
                continue;
            }
            let Some(Some(doc)) = self.docs.get(i) else {
                continue;
            };
            let hit = Hit { score, id: &doc.id };
            if heap.len() < top {
                heap.push(Reverse(hit));
            } else if heap.peek().is_some_and(|weakest| hit > weakest.0) {
                heap.pop();
                heap.push(Reverse(hit));
            }
        }
        let total = sc.touched.len();
        let hits = heap
            .into_sorted_vec()
            .into_iter()
            .map(|Reverse(h)| (h.id.to_string(), h.score))
            .collect();
        sc.clear();
        Ranked { hits, total }
    }
}

impl Index {
    /// The `top` sounds nearest to sound `id` in the tagging model's output space, nearest
    /// first, with their similarity (0..1); the sound itself and sounds not yet listened to are
    /// left out. Every listened sound is compared: a vector is 527 bytes, so 100,000 sounds are
    /// 53 MB read in one pass.
    pub fn similar(&self, id: &str, top: usize) -> Similar {
        let Some(&slot) = self.slot_of.get(id) else {
            return Similar::UnknownSound;
        };
        let Some(Some(doc)) = self.docs.get(slot as usize) else {
            return Similar::UnknownSound;
        };
        let Some(m) = doc.sound.machine.as_ref() else {
            return Similar::NotListened;
        };
        let norm = self.metas.get(slot as usize).map_or(0.0, |m| m.norm);
        if norm <= 0.0 || top == 0 {
            return Similar::Found(Vec::new());
        }
        let mut heap: BinaryHeap<Reverse<Hit<'_>>> = BinaryHeap::with_capacity(top + 1);
        for (i, other) in self.docs.iter().enumerate() {
            let Some(other) = other else {
                continue;
            };
            let other_norm = self.metas.get(i).map_or(0.0, |m| m.norm);
            if i == slot as usize || other_norm <= 0.0 {
                continue;
            }
            let Some(v) = other.sound.machine.as_ref().map(|m| m.vector.as_slice()) else {
                continue;
            };
            let score = machine::similarity(&m.vector, norm, v, other_norm);
            let hit = Hit {
                score,
                id: &other.id,
            };
            if heap.len() < top {
                heap.push(Reverse(hit));
            } else if heap.peek().is_some_and(|weakest| hit > weakest.0) {
                heap.pop();
                heap.push(Reverse(hit));
            }
        }
        Similar::Found(
            heap.into_sorted_vec()
                .into_iter()
                .map(|Reverse(h)| (h.id.to_string(), h.score))
                .collect(),
        )
    }
}

/// The answer of [`Index::similar`].
#[derive(Debug)]
pub enum Similar {
    UnknownSound,
    /// The sound has not been through the tagging model yet.
    NotListened,
    /// Nearest first: (id, similarity).
    Found(Vec<(String, f32)>),
}

/// The best hits of a search, best first, and how many sounds matched in all.
#[derive(Debug, Default)]
pub struct Ranked {
    pub hits: Vec<(String, f32)>,
    pub total: usize,
}

/// A candidate result: a higher score is better, and at equal scores the smaller id.
struct Hit<'a> {
    score: f32,
    id: &'a str,
}

impl PartialEq for Hit<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Hit<'_> {}

impl PartialOrd for Hit<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Hit<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.id.cmp(self.id))
    }
}

/// Per-thread working memory of a search, indexed by document slot and reused from one query
/// to the next: only the slots a query touched are reset after it.
#[derive(Default)]
struct Scratch {
    /// Summed score per document.
    score: Vec<f32>,
    /// Which query words each document matched.
    mask: Vec<u32>,
    /// The best match of the current query word per document.
    word_best: Vec<f32>,
    touched: Vec<u32>,
    word_touched: Vec<u32>,
}

impl Scratch {
    fn reset(&mut self, slots: usize) {
        if self.score.len() < slots {
            self.score.resize(slots, 0.0);
            self.mask.resize(slots, 0);
            self.word_best.resize(slots, 0.0);
        }
    }

    fn clear(&mut self) {
        for &slot in &self.touched {
            self.score[slot as usize] = 0.0;
            self.mask[slot as usize] = 0;
        }
        self.touched.clear();
        self.word_touched.clear();
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sound(title: &str, tags: &[&str], category: &str, license: &str, secs: f64) -> SoundRecord {
        SoundRecord {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            category: category.into(),
            license_type: license.into(),
            duration_s: secs,
            ..SoundRecord::sample(title, "", 0)
        }
    }

    fn small() -> Index {
        Index::build([
            (
                "a".into(),
                sound("Door Slam", &["door", "slam"], "Foley", "royalty-free", 1.0),
            ),
            (
                "b".into(),
                sound("Slamming Doors", &["door"], "Foley", "copyleft", 3.0),
            ),
            (
                "c".into(),
                sound(
                    "Footsteps on Gravel",
                    &["footstep"],
                    "Foley",
                    "royalty-free",
                    9.0,
                ),
            ),
            (
                "d".into(),
                sound(
                    "Car Door Close",
                    &["car", "door"],
                    "Transport",
                    "royalty-free",
                    2.0,
                ),
            ),
            (
                "e".into(),
                sound("Big Explosion", &["explosion"], "Weapons", "editorial", 4.0),
            ),
        ])
    }

    fn ids(r: &Ranked) -> Vec<&str> {
        r.hits.iter().map(|(id, _)| id.as_str()).collect()
    }

    #[test]
    fn word_forms_typos_and_filters() {
        let ix = small();
        let all = Filters::default();
        assert_eq!(ids(&ix.search("foostep", &all, 10)), ["c"]);
        assert_eq!(ids(&ix.search("explosions", &all, 10)), ["e"]);
        let slam = ix.search("door slam", &all, 10);
        assert_eq!(&ids(&slam)[..2], ["a", "b"]);
        assert_eq!(slam.total, 3);
        let f = Filters {
            license_type: Some("royalty-free"),
            duration_max: Some(2.0),
            ..Filters::default()
        };
        assert_eq!(ids(&ix.search("door", &f, 10)), ["a", "d"]);
        let f = Filters {
            category: Some("Transport"),
            ..Filters::default()
        };
        assert_eq!(ids(&ix.search("door", &f, 10)), ["d"]);
        assert!(ix.search("zzqx", &all, 10).hits.is_empty());
    }

    #[test]
    fn the_top_of_the_heap_is_the_head_of_the_full_ranking() {
        let mut rng = 7u64;
        let mut next = |n: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n as u64) as usize
        };
        let words = [
            "door", "slam", "wood", "metal", "creak", "heavy", "soft", "glass",
        ];
        let docs: Vec<(String, SoundRecord)> = (0..300)
            .map(|i| {
                let title: Vec<&str> = (0..3).map(|_| words[next(words.len())]).collect();
                let tags: Vec<&str> = (0..2).map(|_| words[next(words.len())]).collect();
                let lic = ["royalty-free", "copyleft"][next(2)];
                let rec = sound(&title.join(" "), &tags, "Foley", lic, next(10) as f64);
                (format!("s{i:03}"), rec)
            })
            .collect();
        let ix = Index::build(docs);
        let f = Filters {
            license_type: Some("copyleft"),
            ..Filters::default()
        };
        for q in ["door slam", "wood", "creaky glass"] {
            for filters in [Filters::default(), f.clone()] {
                let full = ix.search(q, &filters, usize::MAX);
                assert_eq!(full.hits.len(), full.total);
                for w in full.hits.windows(2) {
                    assert!(w[0].1 > w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0));
                }
                // The same query again (reused working memory) and only its head.
                let head = ix.search(q, &filters, 7);
                assert_eq!(head.hits[..], full.hits[..7]);
                assert_eq!(head.total, full.total);
            }
        }
    }

    #[test]
    fn a_frequent_word_is_not_respelled() {
        let docs = |n: usize| -> Index {
            let mut d: Vec<(String, SoundRecord)> = (0..n)
                .map(|i| {
                    (
                        format!("d{i}"),
                        sound("Candle", &[], "Foley", "copyleft", 1.0),
                    )
                })
                .collect();
            d.push(("p".into(), sound("Handle", &[], "Foley", "copyleft", 1.0)));
            d.push((
                "m".into(),
                sound("Candlestick", &[], "Foley", "copyleft", 1.0),
            ));
            Index::build(d)
        };
        // A rare word also finds its typo neighbour and the longer word it starts...
        let r = docs(3).search("candle", &Filters::default(), 5);
        assert_eq!(r.total, 5);
        assert!(ids(&r).contains(&"m") && ids(&r).contains(&"p"));
        // ...a frequent one is taken as typed.
        let r = docs(FREQUENT).search("candle", &Filters::default(), 5);
        assert_eq!(r.total, FREQUENT);
    }
}
