//! Heavy-tailed counts: most people and videos are small, a few are huge.
//!
//! Log-normal draws (`median · e^(σ·z)`, `z` standard normal by Box–Muller) written out
//! here rather than pulled from `rand_distr`: two short functions, one dependency fewer.

use std::f64::consts::TAU;

use rand::{Rng, RngExt};

/// A standard normal draw.
fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    // 1 - [0, 1) = (0, 1]: keeps ln away from 0.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
}

/// A log-normal draw with the given median and spread, rounded and clamped to `0..=cap`.
pub(super) fn log_normal<R: Rng + ?Sized>(rng: &mut R, median: f64, sigma: f64, cap: u64) -> u64 {
    scale(median * (sigma * standard_normal(rng)).exp(), 1.0, cap)
}

/// `value · factor`, rounded and clamped to `0..=cap`.
pub(super) fn scale(value: f64, factor: f64, cap: u64) -> u64 {
    let x = (value * factor).round();
    if x.is_nan() || x <= 0.0 {
        0
    } else if x >= cap as f64 {
        cap
    } else {
        // In range and integral, so the cast is exact up to f64 precision.
        x as u64
    }
}

/// A fraction of `value`, drawn uniformly between `low` and `high` (both in `0..=1`).
pub(super) fn fraction<R: Rng + ?Sized>(rng: &mut R, value: u64, low: f64, high: f64) -> u64 {
    scale(value as f64, rng.random_range(low..high), value)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;

    use super::*;

    #[test]
    fn log_normal_has_its_median_and_a_long_tail() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let mut draws: Vec<u64> = (0..20_001)
            .map(|_| log_normal(&mut rng, 1000.0, 2.0, u64::MAX >> 1))
            .collect();
        draws.sort_unstable();
        let median = draws[10_000];
        assert!((800..1250).contains(&median), "median {median}");
        // e^(2·2.33) ≈ 105: the top percentile is two orders of magnitude above the median.
        assert!(draws[19_800] > 50 * median, "p99 {}", draws[19_800]);
    }

    #[test]
    fn scale_clamps_to_the_cap_and_zero() {
        assert_eq!(scale(1e30, 1.0, 500), 500);
        assert_eq!(scale(-3.0, 1.0, 500), 0);
        assert_eq!(scale(f64::NAN, 1.0, 500), 0);
        assert_eq!(scale(10.4, 2.0, 500), 21);
    }

    #[test]
    fn fraction_never_exceeds_the_value() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(4);
        for v in [0u64, 1, 7, 1_000_000] {
            for _ in 0..100 {
                assert!(fraction(&mut rng, v, 0.5, 1.0) <= v);
            }
        }
    }
}
