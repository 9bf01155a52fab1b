//! The EPIR input, made exactly as the MEGC2019 flow images were: u, v and
//! strain on a 28×28 grid, each channel min-max scaled to 0..1 on its own
//! (the PNGs stored them as 0..255 per image), channel-first.
use super::{flow_to_strain, FlowField};
use crate::train::dataset::{FLOW_LEN, FLOW_SIDE};

pub const EPIR_SIDE: usize = FLOW_SIDE;

/// `flow` must be `EPIR_SIDE`×`EPIR_SIDE` (down-sample it first). Strain is
/// computed on this grid, as the published preprocessing did.
pub fn epir_input(flow: &FlowField) -> Vec<f32> {
    let flow = flow.downsample(EPIR_SIDE);
    let strain = flow_to_strain(&flow);
    let mut out = Vec::with_capacity(FLOW_LEN);
    for channel in [&flow.u, &flow.v, &strain] {
        let (lo, hi) = channel.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        let range = hi - lo;
        // A constant channel carries no pattern; the PNG encoder wrote 0s.
        out.extend(channel.iter().map(|&x| if range > 1e-12 { (x - lo) / range } else { 0.0 }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_min_max_scaled_independently() {
        let mut flow = FlowField::zeros(EPIR_SIDE, EPIR_SIDE);
        for (i, u) in flow.u.iter_mut().enumerate() {
            *u = i as f32 * 0.01 - 3.0;
        }
        let input = epir_input(&flow);
        assert_eq!(input.len(), FLOW_LEN);
        let plane = EPIR_SIDE * EPIR_SIDE;
        assert_eq!(input[0], 0.0);
        assert!((input[plane - 1] - 1.0).abs() < 1e-6);
        // v is constant (zero) and u is a linear ramp with no strain change.
        assert!(input[plane..2 * plane].iter().all(|&x| x == 0.0));
        assert!(input.iter().all(|x| (0.0..=1.0).contains(x)));
    }
}
