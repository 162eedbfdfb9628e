//! A lock-free histogram for the request path. prometheus-client's own takes a write lock per
//! observation, which the server's worker threads then contend for on every request; this one
//! is a handful of relaxed atomic adds and is encoded by the same library.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

#[derive(Debug, Clone)]
pub struct AtomicHistogram {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Upper bounds, ascending; the last is +Inf.
    bounds: Vec<f64>,
    /// Observations per bucket (not cumulative: the encoder sums them).
    counts: Vec<AtomicU64>,
    count: AtomicU64,
    /// Sum of the observations in nanounits, so it can be added to atomically.
    sum_nanos: AtomicU64,
}

impl AtomicHistogram {
    pub fn new(bounds: impl IntoIterator<Item = f64>) -> AtomicHistogram {
        let mut bounds: Vec<f64> = bounds.into_iter().collect();
        bounds.push(f64::MAX);
        let counts = bounds.iter().map(|_| AtomicU64::new(0)).collect();
        AtomicHistogram {
            inner: Arc::new(Inner {
                bounds,
                counts,
                count: AtomicU64::new(0),
                sum_nanos: AtomicU64::new(0),
            }),
        }
    }

    pub fn observe(&self, v: f64) {
        let i = &self.inner;
        let slot = i
            .bounds
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(i.bounds.len() - 1);
        i.counts[slot].fetch_add(1, Ordering::Relaxed);
        i.count.fetch_add(1, Ordering::Relaxed);
        let nanos = if v.is_finite() && v > 0.0 {
            (v * 1e9) as u64
        } else {
            0
        };
        i.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

impl TypedMetric for AtomicHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for AtomicHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let i = &self.inner;
        let buckets: Vec<(f64, u64)> = i
            .bounds
            .iter()
            .zip(&i.counts)
            .map(|(b, c)| (*b, c.load(Ordering::Relaxed)))
            .collect();
        // The count is the buckets' total, so a scrape between two adds stays consistent.
        let count = buckets.iter().map(|(_, c)| c).sum();
        let sum = i.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}
