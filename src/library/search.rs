//! The in-memory search index over the library, rebuilt from the store at start and kept in
//! step with every import, edit and deletion. Ranking is BM25F over four weighted fields (title,
//! tags, category with subcategory, description) on stemmed tokens; a query word also matches
//! vocabulary within its typo budget, words it is a prefix of, and its synonyms, each at a
//! discount, so the best spelling still ranks first. Filters are applied before scoring and
//! are never violated.

use std::collections::HashMap;
use std::sync::Arc;

use super::synonyms;
use super::text::{distance_within, is_stopword, query_words, stem, tokens, typo_budget};
use crate::store::schema::SoundRecord;

const FIELDS: usize = 4;
/// Field weights: title, tags, category + subcategory, description.
const WEIGHTS: [f32; FIELDS] = [3.0, 2.5, 1.2, 1.0];
/// Length normalisation per field (tags are a list: their count says little).
const B: [f32; FIELDS] = [0.75, 0.3, 0.3, 0.75];
const K1: f32 = 1.2;
/// How much a match through a typo, a prefix or a synonym counts beside an exact one.
const TYPO_WEIGHT: f32 = 0.7;
const TYPO_WEIGHT_KNOWN: f32 = 0.25;
const PREFIX_WEIGHT: f32 = 0.45;
const SYNONYM_WEIGHT: f32 = 0.75;

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
    lens: [u32; FIELDS],
    /// Distinct terms, for removal.
    terms: Vec<String>,
}

#[derive(Clone, Copy)]
struct Posting {
    slot: u32,
    tf: [u8; FIELDS],
}

#[derive(Default)]
pub struct Index {
    docs: Vec<Option<Doc>>,
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
                (self.docs.len() - 1) as u32
            }
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
            lens,
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
        for (sum, len) in self.len_sum.iter_mut().zip(doc.lens) {
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
        let known = self.postings.contains_key(&stemmed);
        if known {
            add(stemmed.clone(), 1.0, &mut out);
        }
        let n = stemmed.chars().count();
        let budget = typo_budget(word.chars().count());
        if budget > 0 {
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
        if n >= 4 {
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

    /// Ranked ids of the sounds matching `query` within `filters`, best first.
    pub fn search(&self, query: &str, filters: &Filters) -> Vec<(String, f32)> {
        let words = query_words(query);
        if words.is_empty() || self.live == 0 {
            return Vec::new();
        }
        let n_docs = self.live as f32;
        let avg: [f32; FIELDS] =
            std::array::from_fn(|f| (self.len_sum[f] as f32 / n_docs).max(1.0));
        let allowed = |slot: u32| -> bool {
            let Some(Some(d)) = self.docs.get(slot as usize) else {
                return false;
            };
            let s = &d.sound;
            filters.category.is_none_or(|c| s.category == c)
                && filters.duration_max.is_none_or(|m| s.duration_s <= m)
                && filters.license_type.is_none_or(|l| s.license_type == l)
        };
        // Per document: the summed score and, per query word, the best match it had.
        let mut acc: HashMap<u32, (f32, u32)> = HashMap::new();
        for (wi, forms) in words.iter().enumerate() {
            let mut best: HashMap<u32, f32> = HashMap::new();
            let expansions = forms.iter().enumerate().flat_map(|(k, form)| {
                // The parts of a compound count a little less than the compound itself.
                let part = if k == 0 { 1.0 } else { 0.8 };
                self.expand(form)
                    .into_iter()
                    .map(move |(t, w)| (t, w * part))
            });
            for (term, weight) in expansions {
                let Some(list) = self.postings.get(&term) else {
                    continue;
                };
                let df = list.len() as f32;
                let idf = ((n_docs - df + 0.5) / (df + 0.5) + 1.0).ln();
                for p in list {
                    if !allowed(p.slot) {
                        continue;
                    }
                    let Some(Some(doc)) = self.docs.get(p.slot as usize) else {
                        continue;
                    };
                    let mut tf = 0.0f32;
                    for f in 0..FIELDS {
                        if p.tf[f] > 0 {
                            let norm = 1.0 - B[f] + B[f] * doc.lens[f] as f32 / avg[f];
                            tf += WEIGHTS[f] * f32::from(p.tf[f]) / norm;
                        }
                    }
                    let s = weight * idf * tf / (K1 + tf);
                    let e = best.entry(p.slot).or_insert(0.0);
                    if s > *e {
                        *e = s;
                    }
                }
            }
            for (slot, s) in best {
                let e = acc.entry(slot).or_insert((0.0, 0));
                e.0 += s;
                e.1 |= 1 << wi.min(31);
            }
        }
        let n_words = words.len().min(32) as u32;
        let mut ranked: Vec<(String, f32)> = acc
            .into_iter()
            .filter_map(|(slot, (score, mask))| {
                let doc = self.docs.get(slot as usize)?.as_ref()?;
                // Documents matching more of the query's words come first at equal strength.
                let coverage = mask.count_ones() as f32 / n_words as f32;
                Some((doc.id.clone(), score * (0.5 + 0.5 * coverage)))
            })
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ranked
    }
}
