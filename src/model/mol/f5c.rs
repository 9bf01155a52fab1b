//! F5C = FCC + CCC for one frame of a pair: `f = FCC(x) + CCC(FCC(x))`.
//! The model holds two, with separate weights for the first and the second
//! frame. Their variables sit at the model root as `FCC_1` / `CCC_1` (or
//! `_2`), as in the official state dict, so this struct takes both paths.
use tch::{nn, Tensor};

use super::ccc::Ccc;
use super::fcc::Fcc;
use super::MolConfig;

#[derive(Debug)]
pub struct F5c {
    fcc: Fcc,
    ccc: Ccc,
    neighbours: i64,
}

impl F5c {
    pub fn new(fcc_path: &nn::Path, ccc_path: &nn::Path, config: &MolConfig) -> Self {
        let side = config.feature_side();
        Self {
            fcc: Fcc::new(fcc_path, config.feature_channels, config.meta_kernel_size, config.fcc_ffn_dim),
            ccc: Ccc::new(ccc_path, side * side),
            neighbours: config.neighbours,
        }
    }

    /// `[B, C, S, S]` conv-stack features -> `[B, C, S, S]`.
    pub fn forward(&self, features: &Tensor, train: bool) -> Tensor {
        let mixed = self.fcc.forward(features, train);
        let edges = self.ccc.forward(&mixed, self.neighbours);
        mixed + edges
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn keeps_the_shape_and_adds_the_graph_term_to_the_fcc_output() {
        let config = MolConfig::official(3).expect("official");
        let vs = nn::VarStore::new(Device::Cpu);
        let f5c = F5c::new(&(vs.root() / "FCC_1"), &(vs.root() / "CCC_1"), &config);
        assert_eq!(super::super::trainable_params(&vs), 17_794 + 131_584);
        let features = Tensor::randn([1, 128, 16, 16], (Kind::Float, Device::Cpu));
        let out = f5c.forward(&features, false);
        assert_eq!(out.size(), vec![1, 128, 16, 16]);
        let mixed = f5c.fcc.forward(&features, false);
        let edges = f5c.ccc.forward(&mixed, 4);
        let gap = f64::try_from((out - mixed - edges).abs().max()).expect("tensor values on the host");
        assert!(gap < 1e-5, "F5C is not FCC + CCC(FCC): off by {gap}");
    }
}
