//! Deterministic randomness and the flow-image augmentations used in training.
//! Our own generator (not libtorch's global one) keeps training reproducible
//! from `--seed` even when several folds train on parallel threads.
pub use crate::model::input::mirror;
use crate::model::input::INPUT_SIDE;

/// SplitMix64: tiny, fast, and plenty for shuffling and augmentation.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A Beta(alpha, alpha) draw for alpha in (0, 1], by Jöhnk's method.
    pub fn beta_symmetric(&mut self, alpha: f64) -> f64 {
        loop {
            let x = self.unit().powf(1.0 / alpha);
            let y = self.unit().powf(1.0 / alpha);
            if x + y <= 1.0 && x + y > 0.0 {
                return x / (x + y);
            }
        }
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Augmentation {
    /// Probability of a left-right mirror.
    pub flip: f64,
    /// Largest translation in pixels, each axis.
    pub max_shift: i64,
}

impl Default for Augmentation {
    fn default() -> Self {
        Self { flip: 0.5, max_shift: 2 }
    }
}

impl Augmentation {
    /// One random variant of a CHW flow image in 0..1.
    pub fn apply(&self, flow: &[f32], rng: &mut Rng) -> Vec<f32> {
        let mut out = flow.to_vec();
        if rng.unit() < self.flip {
            out = mirror(&out);
        }
        if self.max_shift > 0 {
            let span = (2 * self.max_shift + 1) as usize;
            let dy = rng.below(span) as i64 - self.max_shift;
            let dx = rng.below(span) as i64 - self.max_shift;
            out = translate(&out, dy, dx);
        }
        out
    }
}

/// Moves the image by (dy, dx) pixels, repeating the edge pixels into the
/// gap (flow near a face crop's border is smooth, zeros would be a false edge).
/// Every plane moves together: the flow's three and the apex stream's.
pub fn translate(flow: &[f32], dy: i64, dx: i64) -> Vec<f32> {
    let side = INPUT_SIDE as i64;
    let clamp = |v: i64| v.clamp(0, side - 1) as usize;
    let mut out = vec![0.0; flow.len()];
    for channel in 0..flow.len() / (INPUT_SIDE * INPUT_SIDE) {
        let base = channel * INPUT_SIDE * INPUT_SIDE;
        for y in 0..side {
            for x in 0..side {
                let source = base + clamp(y - dy) * INPUT_SIDE + clamp(x - dx);
                out[base + y as usize * INPUT_SIDE + x as usize] = flow[source];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::input::INPUT_LEN;

    fn ramp() -> Vec<f32> {
        (0..INPUT_LEN).map(|i| (i % 97) as f32 / 96.0).collect()
    }

    #[test]
    fn translate_moves_content_and_repeats_edges() {
        let flow = ramp();
        let moved = translate(&flow, 1, 2);
        assert_eq!(moved[5 * 28 + 10], flow[4 * 28 + 8]);
        assert_eq!(moved[0], flow[0]);
        assert_eq!(translate(&flow, 0, 0), flow);
    }

    #[test]
    fn augmenting_with_the_apex_plane_flips_and_moves_it_with_the_flow() {
        let plane = INPUT_SIDE * INPUT_SIDE;
        let flow = ramp();
        let apex: Vec<f32> = (0..plane).map(|i| ((i * 13) % 29) as f32 / 28.0).collect();
        let mut both = flow.clone();
        both.extend_from_slice(&apex);
        let augmentation = Augmentation { flip: 0.5, max_shift: 2 };
        let mut flipped = 0;
        for seed in 0..16 {
            // The same draws: the flow's planes of the four-plane variant
            // are exactly the three-plane variant, and the apex plane
            // moved as the flow did (a flip shows as v mirrored).
            let out = augmentation.apply(&both, &mut Rng::new(seed));
            let alone = augmentation.apply(&flow, &mut Rng::new(seed));
            assert_eq!(out.len(), 4 * plane);
            assert_eq!(&out[..3 * plane], alone.as_slice(), "seed {seed}");
            let mut check = Rng::new(seed);
            let flip = check.unit() < 0.5;
            let (dy, dx) = (check.below(5) as i64 - 2, check.below(5) as i64 - 2);
            let apex_then = if flip { mirror(&both)[3 * plane..].to_vec() } else { apex.clone() };
            let mut moved_alone = vec![0.0; 3 * plane];
            moved_alone.extend_from_slice(&apex_then);
            assert_eq!(&out[3 * plane..], &translate(&moved_alone, dy, dx)[3 * plane..], "seed {seed}");
            flipped += usize::from(flip);
        }
        assert!(flipped > 2 && flipped < 14, "{flipped} of 16 flipped");
    }

    #[test]
    fn beta_draws_are_in_range_with_the_right_mean_and_spread() {
        let mut rng = Rng::new(3);
        let draws: Vec<f64> = (0..20_000).map(|_| rng.beta_symmetric(0.4)).collect();
        assert!(draws.iter().all(|d| (0.0..=1.0).contains(d)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64;
        // Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)) = 0.1389 for a = 0.4.
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        assert!((var - 1.0 / (4.0 * 1.8)).abs() < 0.01, "{var}");
    }

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut c = Rng::new(8);
        let draws_a: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let draws_b: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        let draws_c: Vec<u64> = (0..5).map(|_| c.next_u64()).collect();
        assert_eq!(draws_a, draws_b);
        assert_ne!(draws_a, draws_c);
        let mut items: Vec<u32> = (0..50).collect();
        Rng::new(1).shuffle(&mut items);
        let mut sorted = items.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_ne!(items, sorted);
    }
}
