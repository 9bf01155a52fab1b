//! The EPIR input made from a face's flow, exactly as the MEGC2019 flow
//! images were (the contract is `model::input`): u, v and strain on the
//! model's grid, strain computed on that grid as the published
//! preprocessing did.
use super::{flow_to_strain, FlowField};
use crate::model::input::encode_channels;
pub use crate::model::input::INPUT_SIDE as EPIR_SIDE;

/// Down-samples `flow` to the model's grid and encodes it.
pub fn epir_input(flow: &FlowField) -> Vec<f32> {
    let flow = flow.downsample(EPIR_SIDE);
    let strain = flow_to_strain(&flow);
    encode_channels(&flow.u, &flow.v, &strain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::input::INPUT_LEN;

    #[test]
    fn channels_are_min_max_scaled_independently() {
        let mut flow = FlowField::zeros(EPIR_SIDE, EPIR_SIDE);
        for (i, u) in flow.u.iter_mut().enumerate() {
            *u = i as f32 * 0.01 - 3.0;
        }
        let input = epir_input(&flow);
        assert_eq!(input.len(), INPUT_LEN);
        let plane = EPIR_SIDE * EPIR_SIDE;
        assert_eq!(input[0], 0.0);
        assert!((input[plane - 1] - 1.0).abs() < 1e-6);
        // v is constant (zero) and u is a linear ramp with no strain change.
        assert!(input[plane..2 * plane].iter().all(|&x| x == 0.0));
        assert!(input.iter().all(|x| (0.0..=1.0).contains(x)));
    }
}
