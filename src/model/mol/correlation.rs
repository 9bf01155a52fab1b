//! FlowNetC's correlation layer, as `spatial_correlation_sample(kernel_size=1,
//! patch_size=P, stride=1, padding=0, dilation_patch=D)` followed by the
//! official normalisation: divide by the channel count, then LeakyReLU(0.1).
//! Written with tensor ops (zero padding + unfold), no custom kernel.
use tch::Tensor;

use super::leaky_relu;

/// `first`, `second` `[B, C, H, W]` -> `[B, P*P, H, W]`, channel
/// `dy * P + dx` holding `sum_c first[c, y, x] * second[c, y + (dy - P/2) D,
/// x + (dx - P/2) D] / C` (zero outside `second`), then LeakyReLU(0.1).
pub fn correlate(first: &Tensor, second: &Tensor, patch: i64, dilation: i64) -> Tensor {
    let size = first.size();
    let (batch, channels, height, width) = (size[0], size[1], size[2], size[3]);
    let radius = dilation * (patch - 1) / 2;
    let padded = second.constant_pad_nd([radius, radius, radius, radius]);
    // One vertical displacement at a time keeps the product at
    // [B, C, H, P, W] instead of [B, C, P, P, H, W].
    let rows: Vec<Tensor> = (0..patch)
        .map(|dy| {
            let band = padded.narrow(2, dy * dilation, height); // [B, C, H, W + 2r]
            let windows = band.unfold(3, width, dilation); // [B, C, H, P, W]
                                                           // [B, H, P, W]
            (windows * first.unsqueeze(3)).sum_dim_intlist([1i64].as_slice(), false, first.kind())
        })
        .collect();
    let raw = Tensor::stack(&rows, 1) // [B, P(dy), H, P(dx), W]
        .permute([0, 1, 3, 2, 4])
        .reshape([batch, patch * patch, height, width]);
    leaky_relu(&(raw / channels as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn official_window_gives_441_channels() {
        let first = Tensor::randn([2, 256, 16, 16], (Kind::Float, Device::Cpu));
        let second = Tensor::randn([2, 256, 16, 16], (Kind::Float, Device::Cpu));
        assert_eq!(correlate(&first, &second, 21, 2).size(), vec![2, 441, 16, 16]);
    }

    /// The spatial-correlation-sampler loop, written out, on a tiny input
    /// where most displacements fall partly outside the grid.
    #[test]
    fn equals_the_naive_loop() {
        let (batch, channels, height, width, patch, dilation) = (2i64, 3i64, 5i64, 4i64, 5i64, 2i64);
        let count = (batch * channels * height * width) as usize;
        let a: Vec<f32> = (0..count).map(|i| ((i * 13 + 5) % 17) as f32 / 4.0 - 2.0).collect();
        let b: Vec<f32> = (0..count).map(|i| ((i * 7 + 3) % 19) as f32 / 5.0 - 1.7).collect();
        let shape = [batch, channels, height, width];
        let got =
            correlate(&Tensor::from_slice(&a).reshape(shape), &Tensor::from_slice(&b).reshape(shape), patch, dilation);
        assert_eq!(got.size(), vec![batch, patch * patch, height, width]);
        let got = Vec::<f32>::try_from(got.flatten(0, -1)).expect("tensor values on the host");
        let index = |n: i64, c: i64, y: i64, x: i64| (((n * channels + c) * height + y) * width + x) as usize;
        let radius = dilation * (patch - 1) / 2;
        let mut checked_nonzero = 0;
        for n in 0..batch {
            for dy in 0..patch {
                for dx in 0..patch {
                    for y in 0..height {
                        for x in 0..width {
                            let (y2, x2) = (y + dy * dilation - radius, x + dx * dilation - radius);
                            let mut sum = 0.0f32;
                            if (0..height).contains(&y2) && (0..width).contains(&x2) {
                                for c in 0..channels {
                                    sum += a[index(n, c, y, x)] * b[index(n, c, y2, x2)];
                                }
                            }
                            let sum = sum / channels as f32;
                            let expected = if sum >= 0.0 { sum } else { 0.1 * sum };
                            let at = ((((n * patch + dy) * patch + dx) * height + y) * width + x) as usize;
                            assert!(
                                (got[at] - expected).abs() < 1e-5,
                                "n {n} dy {dy} dx {dx} y {y} x {x}: {} vs {expected}",
                                got[at]
                            );
                            checked_nonzero += usize::from(expected != 0.0);
                        }
                    }
                }
            }
        }
        assert!(checked_nonzero > 200, "too few non-zero correlations checked: {checked_nonzero}");
    }
}
