//! FCC, the "transformer-style" half of F5C: the channels split in two; each
//! half gets a learned position encoding and BatchNorm, then a global
//! circular depth-wise convolution along H then W (the other half W then H)
//! whose kernels are cropped from longer meta kernels, and a residual.
//!
//! Variable names follow the official state dict (`meta_kernel_1_H`, ...),
//! so converted official weights load as they are.
use tch::{nn, Tensor};

#[derive(Debug)]
pub struct Fcc {
    /// Channels in each half.
    half: i64,
    norm_first: nn::BatchNorm,
    norm_second: nn::BatchNorm,
    /// `[half, 1, meta, 1]`: first stage of the first half (along H).
    kernel_first_h: Tensor,
    /// `[half, 1, 1, meta]`: first stage of the second half (along W).
    kernel_first_w: Tensor,
    /// `[half, 1, meta, 1]`: second stage of the second half.
    kernel_second_h: Tensor,
    /// `[half, 1, 1, meta]`: second stage of the first half.
    kernel_second_w: Tensor,
    bias_first_h: Tensor,
    bias_first_w: Tensor,
    bias_second_h: Tensor,
    bias_second_w: Tensor,
    /// Position encodings `[1, half, meta, 1]` (H) and `[1, half, 1, meta]` (W).
    pe_first_h: Tensor,
    pe_first_w: Tensor,
    pe_second_h: Tensor,
    pe_second_w: Tensor,
}

fn unit_norm(path: nn::Path, channels: i64) -> nn::BatchNorm {
    let config =
        nn::BatchNormConfig { ws_init: nn::Init::Const(1.0), bs_init: nn::Init::Const(0.0), ..Default::default() };
    nn::batch_norm2d(path, channels, config)
}

impl Fcc {
    /// `channels` split into two halves; kernels `meta` long. `ffn_dim` sizes
    /// the feed-forward block the official module builds but never calls: its
    /// variables are created (and so counted and loadable) but unused.
    pub fn new(path: &nn::Path, channels: i64, meta: i64, ffn_dim: i64) -> Self {
        let half = channels / 2;
        // PyTorch's Conv2d default for a depth-wise kernel: U(+-1/sqrt(fan_in)).
        let bound = 1.0 / (meta as f64).sqrt();
        let kernel = |name: &str, shape: [i64; 4]| path.var(name, &shape, nn::Init::Uniform { lo: -bound, up: bound });
        let normal = nn::Init::Randn { mean: 0.0, stdev: 1.0 };
        let ffn = path / "ffn";
        let _ffn_norm = unit_norm(&ffn / 0, channels);
        let _ffn_in = nn::conv2d(&ffn / 1, channels, ffn_dim, 1, Default::default());
        let _ffn_out = nn::conv2d(&ffn / 4, ffn_dim, channels, 1, Default::default());
        Self {
            half,
            norm_first: unit_norm(path / "pre_Norm_1", half),
            norm_second: unit_norm(path / "pre_Norm_2", half),
            kernel_first_h: kernel("meta_kernel_1_H", [half, 1, meta, 1]),
            kernel_first_w: kernel("meta_kernel_1_W", [half, 1, 1, meta]),
            kernel_second_h: kernel("meta_kernel_2_H", [half, 1, meta, 1]),
            kernel_second_w: kernel("meta_kernel_2_W", [half, 1, 1, meta]),
            bias_first_h: path.var("meta_1_H_bias", &[half], normal),
            bias_first_w: path.var("meta_1_W_bias", &[half], normal),
            bias_second_h: path.var("meta_2_H_bias", &[half], normal),
            bias_second_w: path.var("meta_2_W_bias", &[half], normal),
            pe_first_h: path.var("meta_pe_1_H", &[1, half, meta, 1], normal),
            pe_first_w: path.var("meta_pe_1_W", &[1, half, 1, meta], normal),
            pe_second_h: path.var("meta_pe_2_H", &[1, half, meta, 1], normal),
            pe_second_w: path.var("meta_pe_2_W", &[1, half, 1, meta], normal),
        }
    }

    /// `[B, C, S, S]` -> `[B, C, S, S]`. The grid must be square (the
    /// official crop uses one side for both axes). `train` selects batch
    /// statistics in the norms.
    pub fn forward(&self, features: &Tensor, train: bool) -> Tensor {
        let halves = features.chunk(2, 1);
        let (first, second) = (&halves[0], &halves[1]);
        let side = first.size()[2];
        let crop_h = |t: &Tensor| t.narrow(2, 0, side);
        let crop_w = |t: &Tensor| t.narrow(3, 0, side);
        let square = [1, self.half, side, side];
        let pe_first_h = crop_h(&self.pe_first_h).expand(square, false);
        let pe_first_w = crop_w(&self.pe_first_w).expand(square, false);
        let pe_second_h = crop_h(&self.pe_second_h).expand(square, false);
        let pe_second_w = crop_w(&self.pe_second_w).expand(square, false);

        let x1 = (first + pe_first_h).apply_t(&self.norm_first, train);
        let x2 = (second + pe_first_w).apply_t(&self.norm_second, train);
        let x1 = circular_conv(&x1, &crop_h(&self.kernel_first_h), &self.bias_first_h, 2) + pe_second_w;
        let x2 = circular_conv(&x2, &crop_w(&self.kernel_first_w), &self.bias_first_w, 3) + pe_second_h;
        let x1 = circular_conv(&x1, &crop_w(&self.kernel_second_w), &self.bias_second_w, 3);
        let x2 = circular_conv(&x2, &crop_h(&self.kernel_second_h), &self.bias_second_h, 2);
        Tensor::cat(&[first + x1, second + x2], 1)
    }
}

/// Depth-wise convolution along `axis` (2: H, 3: W) with a kernel as long
/// as that axis, wrapping around: the input is extended by itself minus its
/// last row/column, so every output sees the whole row/column once.
fn circular_conv(x: &Tensor, kernel: &Tensor, bias: &Tensor, axis: i64) -> Tensor {
    let length = x.size()[axis as usize];
    let wrapped = Tensor::cat(&[x.shallow_clone(), x.narrow(axis, 0, length - 1)], axis);
    let channels = x.size()[1];
    wrapped.conv2d(kernel, Some(bias), [1, 1], [0, 0], [1, 1], channels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn keeps_the_shape_and_counts_the_unused_feed_forward_block() {
        let vs = nn::VarStore::new(Device::Cpu);
        let fcc = Fcc::new(&(vs.root() / "FCC_1"), 128, 32, 2);
        assert_eq!(super::super::trainable_params(&vs), 17_794);
        assert!(vs.variables().contains_key("FCC_1.ffn.4.bias"));
        let features = Tensor::randn([2, 128, 16, 16], (Kind::Float, Device::Cpu));
        assert_eq!(fcc.forward(&features, true).size(), vec![2, 128, 16, 16]);
        assert_eq!(fcc.forward(&features, false).size(), vec![2, 128, 16, 16]);
    }

    #[test]
    fn circular_convolution_wraps_around_the_axis() {
        // One channel, a 1 x 3 row [1, 2, 3] and kernel [1, 10, 100] along W:
        // output j = sum_k kernel[k] * row[(j + k) mod 3].
        let row = Tensor::from_slice(&[1.0f32, 2.0, 3.0]).reshape([1, 1, 1, 3]);
        let kernel = Tensor::from_slice(&[1.0f32, 10.0, 100.0]).reshape([1, 1, 1, 3]);
        let bias = Tensor::from_slice(&[0.5f32]);
        let out = circular_conv(&row, &kernel, &bias, 3);
        let values = Vec::<f32>::try_from(out.flatten(0, -1)).expect("tensor values on the host");
        assert_eq!(values, vec![321.5, 132.5, 213.5]);
    }
}
