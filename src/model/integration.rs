//! Token integration between cascaded stages: every 2x2 neighbourhood of the
//! token grid is concatenated into one token (zero padding completes odd
//! grids), so the next stage sees a quarter of the tokens and no token is
//! dropped. The class token is carried over by its own projection.
use tch::{nn, Tensor};

#[derive(Debug)]
pub struct TokenIntegration {
    norm: nn::LayerNorm,
    reduce: nn::Linear,
    class_proj: nn::Linear,
}

impl TokenIntegration {
    pub fn new(path: &nn::Path, dim_in: i64, dim_out: i64) -> Self {
        Self {
            norm: nn::layer_norm(path / "norm", vec![4 * dim_in], Default::default()),
            reduce: nn::linear(path / "reduce", 4 * dim_in, dim_out, Default::default()),
            class_proj: nn::linear(path / "class_proj", dim_in, dim_out, Default::default()),
        }
    }

    /// `[B, 1 + H*W, D]` (class token first) on an `(H, W)` grid ->
    /// `[B, 1 + ceil(H/2)*ceil(W/2), D_out]`.
    pub fn forward(&self, tokens: &Tensor, grid: (i64, i64)) -> Tensor {
        let size = tokens.size();
        let (batch, count, dim) = (size[0], size[1], size[2]);
        let class_token = tokens.narrow(1, 0, 1).apply(&self.class_proj);
        let patches = tokens.narrow(1, 1, count - 1).reshape([batch, grid.0, grid.1, dim]);
        let merged = merge_neighbours(&patches).apply(&self.norm).apply(&self.reduce);
        Tensor::cat(&[class_token, merged], 1)
    }
}

/// `[B, H, W, D]` -> `[B, ceil(H/2)*ceil(W/2), 4D]`: each output token is its
/// 2x2 neighbourhood (top-left, top-right, bottom-left, bottom-right)
/// concatenated; odd grids are padded with zero tokens first.
pub fn merge_neighbours(grid: &Tensor) -> Tensor {
    let size = grid.size();
    let (batch, height, width, dim) = (size[0], size[1], size[2], size[3]);
    let padded = grid.constant_pad_nd([0, 0, 0, width % 2, 0, height % 2]);
    let (rows, cols) = ((height + 1) / 2, (width + 1) / 2);
    padded.reshape([batch, rows, 2, cols, 2, dim]).permute([0, 1, 3, 2, 4, 5]).reshape([batch, rows * cols, 4 * dim])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn merging_keeps_every_token_value_exactly_once() {
        // 7x7 grid of distinct values: after merging, the 16 tokens hold all
        // 49*D input values once each, plus only zeros from the padding.
        let dim = 3;
        let grid = Tensor::arange(7 * 7 * dim, (Kind::Float, Device::Cpu)).reshape([1, 7, 7, dim]) + 1.0;
        let merged = merge_neighbours(&grid);
        assert_eq!(merged.size(), vec![1, 16, 4 * dim]);
        let values = Vec::<f32>::try_from(merged.flatten(0, -1)).expect("tensor values on the host");
        let mut nonzero: Vec<i64> = values.iter().filter(|v| **v != 0.0).map(|v| *v as i64).collect();
        nonzero.sort_unstable();
        let expected: Vec<i64> = (1..=7 * 7 * dim).collect();
        assert_eq!(nonzero, expected);
        assert_eq!(values.len() as i64 - 7 * 7 * dim, (64 - 49) * dim);
    }

    #[test]
    fn neighbourhoods_are_spatial_2x2_blocks() {
        let grid = Tensor::arange(16, (Kind::Float, Device::Cpu)).reshape([1, 4, 4, 1]);
        let merged = Vec::<f32>::try_from(merge_neighbours(&grid).flatten(0, -1)).expect("tensor values on the host");
        // First merged token: (0,0) (0,1) (1,0) (1,1); last: (2,2) (2,3) (3,2) (3,3).
        assert_eq!(&merged[0..4], &[0.0, 1.0, 4.0, 5.0]);
        assert_eq!(&merged[12..16], &[10.0, 11.0, 14.0, 15.0]);
    }

    #[test]
    fn integration_quarters_the_token_count() {
        let vs = nn::VarStore::new(Device::Cpu);
        let integration = TokenIntegration::new(&vs.root(), 8, 16);
        let tokens = Tensor::randn([2, 1 + 49, 8], (Kind::Float, Device::Cpu));
        assert_eq!(integration.forward(&tokens, (7, 7)).size(), vec![2, 1 + 16, 16]);
    }
}
