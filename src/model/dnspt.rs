//! DNSPT: dual-norm shifted patch tokenization.
//!
//! The input is stacked with four diagonally shifted copies of itself (by half
//! a patch), so every patch token also sees its neighbours' pixels; the stack
//! is cut into patches, and each flattened patch goes LayerNorm -> Linear ->
//! LayerNorm (the "dual norm" keeps the projection well conditioned on tiny
//! data sets).
use tch::{nn, Tensor};

use super::config::ShiftFill;

/// The input plus its four diagonal shifts.
pub const SHIFTED_COPIES: i64 = 5;

#[derive(Debug)]
pub struct Dnspt {
    patch_size: i64,
    fill: ShiftFill,
    norm_in: nn::LayerNorm,
    proj: nn::Linear,
    norm_out: nn::LayerNorm,
}

/// Width of one flattened patch of the shifted stack.
pub fn patch_features(in_channels: i64, patch_size: i64) -> i64 {
    in_channels * SHIFTED_COPIES * patch_size * patch_size
}

impl Dnspt {
    pub fn new(path: &nn::Path, in_channels: i64, patch_size: i64, dim: i64, fill: ShiftFill) -> Self {
        let features = patch_features(in_channels, patch_size);
        Self {
            patch_size,
            fill,
            norm_in: nn::layer_norm(path / "norm_in", vec![features], Default::default()),
            proj: nn::linear(path / "proj", features, dim, Default::default()),
            norm_out: nn::layer_norm(path / "norm_out", vec![dim], Default::default()),
        }
    }

    /// `[B, C, H, W]` -> `[B, (H/p)*(W/p), dim]`, tokens in row-major grid order.
    pub fn forward(&self, images: &Tensor) -> Tensor {
        let stacked = shifted_stack(images, self.patch_size / 2, self.fill);
        patchify(&stacked, self.patch_size).apply(&self.norm_in).apply(&self.proj).apply(&self.norm_out)
    }
}

/// `[B, C, H, W]` -> `[B, 5C, H, W]`: the input, then copies shifted by
/// `shift` pixels to the down-right, down-left, up-right and up-left, filled
/// by `fill` where a copy moved off the image.
pub fn shifted_stack(images: &Tensor, shift: i64, fill: ShiftFill) -> Tensor {
    let size = images.size();
    let (height, width) = (size[2], size[3]);
    let padded = match fill {
        ShiftFill::Zero => images.constant_pad_nd([shift, shift, shift, shift]),
        ShiftFill::Edge => images.replication_pad2d([shift, shift, shift, shift]),
    };
    let window = |top: i64, left: i64| padded.narrow(2, top, height).narrow(3, left, width);
    let s2 = 2 * shift;
    Tensor::cat(&[window(shift, shift), window(0, 0), window(0, s2), window(s2, 0), window(s2, s2)], 1)
}

/// `[B, C, H, W]` -> `[B, (H/p)*(W/p), C*p*p]`.
pub fn patchify(images: &Tensor, patch: i64) -> Tensor {
    let size = images.size();
    let (batch, channels, height, width) = (size[0], size[1], size[2], size[3]);
    let (rows, cols) = (height / patch, width / patch);
    images.reshape([batch, channels, rows, patch, cols, patch]).permute([0, 2, 4, 1, 3, 5]).reshape([
        batch,
        rows * cols,
        channels * patch * patch,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn shifted_copies_move_pixels_by_half_a_patch() {
        let image = Tensor::arange(16, (Kind::Float, Device::Cpu)).reshape([1, 1, 4, 4]) + 1.0;
        let stacked = shifted_stack(&image, 1, ShiftFill::Zero);
        assert_eq!(stacked.size(), vec![1, 5, 4, 4]);
        // Copy 0 is the input itself.
        assert_eq!(f64::try_from(stacked.get(0).get(0).get(2).get(3)).expect("tensor values on the host"), 12.0);
        // Copy 1 moved down-right: pixel (2, 3) now holds input (1, 2), row 0 is zero fill.
        assert_eq!(f64::try_from(stacked.get(0).get(1).get(2).get(3)).expect("tensor values on the host"), 7.0);
        assert_eq!(
            f64::try_from(stacked.get(0).get(1).get(0).sum(Kind::Float)).expect("tensor values on the host"),
            0.0
        );
        // Copy 4 moved up-left: pixel (0, 0) holds input (1, 1).
        assert_eq!(f64::try_from(stacked.get(0).get(4).get(0).get(0)).expect("tensor values on the host"), 6.0);
    }

    #[test]
    fn edge_fill_repeats_the_border_where_a_copy_moved_off() {
        let image = Tensor::arange(16, (Kind::Float, Device::Cpu)).reshape([1, 1, 4, 4]) + 1.0;
        let stacked = shifted_stack(&image, 1, ShiftFill::Edge);
        let at = |copy: i64, y: i64, x: i64| {
            f64::try_from(stacked.get(0).get(copy).get(y).get(x)).expect("tensor values on the host")
        };
        // Moved down-right: the inside is as with zero fill, row 0 repeats the top row.
        assert_eq!(at(1, 2, 3), 7.0);
        assert_eq!((at(1, 0, 0), at(1, 0, 2), at(1, 1, 0), at(1, 2, 0)), (1.0, 2.0, 1.0, 5.0));
        // Moved up-left: the last row and column repeat the bottom and right edges.
        assert_eq!((at(4, 3, 3), at(4, 3, 0), at(4, 0, 3)), (16.0, 14.0, 8.0));
    }

    #[test]
    fn patchify_keeps_every_pixel_once_in_grid_order() {
        let image = Tensor::arange(2 * 8 * 8, (Kind::Float, Device::Cpu)).reshape([1, 2, 8, 8]);
        let patches = patchify(&image, 4);
        assert_eq!(patches.size(), vec![1, 4, 32]);
        let total_in = f64::try_from(image.sum(Kind::Float)).expect("tensor values on the host");
        let total_out = f64::try_from(patches.sum(Kind::Float)).expect("tensor values on the host");
        assert_eq!(total_in, total_out);
        // Token 1 is the top-right patch: its first value is channel 0, pixel (0, 4).
        assert_eq!(f64::try_from(patches.get(0).get(1).get(0)).expect("tensor values on the host"), 4.0);
        // Its 17th value is channel 1, pixel (0, 4) = 64 + 4.
        assert_eq!(f64::try_from(patches.get(0).get(1).get(16)).expect("tensor values on the host"), 68.0);
    }

    #[test]
    fn tokenizer_output_is_layer_normalised() {
        let vs = nn::VarStore::new(Device::Cpu);
        let tokenizer = Dnspt::new(&vs.root(), 3, 4, 32, ShiftFill::Zero);
        let images = Tensor::rand([2, 3, 28, 28], (Kind::Float, Device::Cpu));
        let tokens = tokenizer.forward(&images);
        assert_eq!(tokens.size(), vec![2, 49, 32]);
        let mean =
            f64::try_from(tokens.mean_dim(-1, false, Kind::Float).abs().max()).expect("tensor values on the host");
        assert!(mean < 1e-4, "per-token mean {mean}");
    }
}
