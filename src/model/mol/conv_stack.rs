//! The shared frame encoder: four plain convolutions with no normalisation
//! or activation between them (as published), 1 x 128 x 128 -> 128 x 16 x 16.
use tch::{nn, Tensor};

#[derive(Debug)]
pub struct ConvStack {
    layers: Vec<nn::Conv2D>,
}

impl ConvStack {
    /// Variables are named `conv_stack.{0..3}` under `path`, as in the
    /// official state dict (an `nn.Sequential` inside the module).
    pub fn new(path: &nn::Path, out_channels: i64) -> Self {
        let inner = path / "conv_stack";
        let conv = |index: usize, c_in: i64, c_out: i64, kernel: i64, stride: i64, padding: i64| {
            nn::conv2d(&inner / index, c_in, c_out, kernel, super::torch_conv(c_in * kernel * kernel, stride, padding))
        };
        Self {
            layers: vec![
                conv(0, 1, 8, 4, 2, 0),
                conv(1, 8, 32, 3, 2, 0),
                conv(2, 32, 64, 2, 2, 1),
                conv(3, 64, out_channels, 1, 1, 0),
            ],
        }
    }

    /// `[N, 1, H, W]` grey frames -> `[N, C, h, w]` features.
    pub fn forward(&self, frames: &Tensor) -> Tensor {
        self.layers.iter().fold(frames.shallow_clone(), |x, layer| x.apply(layer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn encodes_128_pixel_frames_to_a_16_by_16_grid_with_the_official_parameter_count() {
        let vs = nn::VarStore::new(Device::Cpu);
        let stack = ConvStack::new(&(vs.root() / "conv_stack"), 128);
        assert_eq!(super::super::trainable_params(&vs), 19_048);
        assert!(vs.variables().contains_key("conv_stack.conv_stack.2.weight"));
        let frames = Tensor::rand([2, 1, 128, 128], (Kind::Float, Device::Cpu));
        assert_eq!(stack.forward(&frames).size(), vec![2, 128, 16, 16]);
    }
}
