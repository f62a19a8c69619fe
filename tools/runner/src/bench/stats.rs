//! Per-call timings reduced to the figures we report: median and 95th percentile.

use std::fmt;
use std::time::Duration;

/// Median and p95 of a set of per-call timings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub calls: usize,
    pub median: Duration,
    pub p95: Duration,
}

impl Summary {
    /// Nearest-rank percentiles; `None` for no samples.
    pub fn of(samples: &[Duration]) -> Option<Self> {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let rank = |percent: usize| {
            let index = (sorted.len() * percent).div_ceil(100).saturating_sub(1);
            sorted.get(index).copied()
        };
        Some(Self {
            calls: sorted.len(),
            median: rank(50)?,
            p95: rank(95)?,
        })
    }

    /// `self.median / other.median`.
    pub fn ratio_to(&self, other: &Summary) -> f64 {
        self.median.as_secs_f64() / other.median.as_secs_f64()
    }
}

/// A duration in the unit that keeps 3–4 significant digits.
pub struct Human(pub Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos() as f64;
        let text = if nanos < 1_000.0 {
            format!("{nanos:.0} ns")
        } else if nanos < 1_000_000.0 {
            format!("{:.2} µs", nanos / 1e3)
        } else if nanos < 1_000_000_000.0 {
            format!("{:.2} ms", nanos / 1e6)
        } else {
            format!("{:.2} s", nanos / 1e9)
        };
        f.pad(&text)
    }
}

/// A byte count in KiB/MiB.
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0 as f64;
        let text = if self.0 < 1024 {
            format!("{} B", self.0)
        } else if bytes < 1024.0 * 1024.0 {
            format!("{:.1} KiB", bytes / 1024.0)
        } else {
            format!("{:.2} MiB", bytes / (1024.0 * 1024.0))
        };
        f.pad(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_micros(v)).collect()
    }

    #[test]
    fn median_and_p95_use_nearest_rank() {
        let samples = micros(&(1..=100).rev().collect::<Vec<_>>());
        let summary = Summary::of(&samples).unwrap();
        assert_eq!(summary.calls, 100);
        assert_eq!(summary.median, Duration::from_micros(50));
        assert_eq!(summary.p95, Duration::from_micros(95));
    }

    #[test]
    fn single_sample_is_every_percentile() {
        let summary = Summary::of(&micros(&[7])).unwrap();
        assert_eq!(
            (summary.median, summary.p95),
            (Duration::from_micros(7), Duration::from_micros(7))
        );
    }

    #[test]
    fn no_samples_no_summary() {
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn durations_print_in_a_readable_unit() {
        assert_eq!(Human(Duration::from_nanos(950)).to_string(), "950 ns");
        assert_eq!(Human(Duration::from_nanos(12_345)).to_string(), "12.35 µs");
        assert_eq!(Human(Duration::from_micros(2_500)).to_string(), "2.50 ms");
        assert_eq!(Bytes(3 * 1024 * 1024).to_string(), "3.00 MiB");
    }
}
