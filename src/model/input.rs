//! The model's input contract, the one place that states it: what motion
//! pipeline, training data and inference must all agree on.
//!
//! - **Size**: `INPUT_SIDE`×`INPUT_SIDE` (28×28), as the MEGC2019 flow images.
//! - **Channels, in order**: horizontal flow u, vertical flow v, optical
//!   strain (the PNGs store them as R, G, B).
//! - **Scaling**: each channel min-max scaled to 0..1 on its own, per image
//!   (the PNGs store 0..255); a constant channel is all 0 (the PNG encoder
//!   wrote 0s). The network then sees `(x - 0.5) × 2`.
//! - **Layout**: channel-first (CHW) floats, `INPUT_LEN` per image.
//! - **Mirror**: a left-right mirror flips the width and negates u, which on
//!   a min-max-scaled channel is exactly `1 - u`; v and strain only move.
use tch::Tensor;

pub const INPUT_SIDE: usize = 28;
pub const INPUT_CHANNELS: usize = 3;
pub const INPUT_LEN: usize = INPUT_CHANNELS * INPUT_SIDE * INPUT_SIDE;

/// `u`, `v` and `strain` (each `INPUT_SIDE`² values, row-major) → one
/// model input, each channel min-max scaled on its own.
pub fn encode_channels(u: &[f32], v: &[f32], strain: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(INPUT_LEN);
    for channel in [u, v, strain] {
        let (lo, hi) = channel.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        let range = hi - lo;
        out.extend(channel.iter().map(|&x| if range > 1e-12 { (x - lo) / range } else { 0.0 }));
    }
    out
}

/// Interleaved 8-bit RGB pixels of a flow image (R = u, G = v, B = strain)
/// → one model input; `None` unless there are exactly `INPUT_SIDE`² pixels.
pub fn from_rgb8(pixels: &[u8]) -> Option<Vec<f32>> {
    let plane = INPUT_SIDE * INPUT_SIDE;
    if pixels.len() != plane * INPUT_CHANNELS {
        return None;
    }
    let mut flow = vec![0.0f32; INPUT_LEN];
    for (pixel, rgb) in pixels.chunks_exact(INPUT_CHANNELS).enumerate() {
        for (channel, &value) in rgb.iter().enumerate() {
            flow[channel * plane + pixel] = f32::from(value) / 255.0;
        }
    }
    Some(flow)
}

/// Left-right mirror of one input image (see the module comment).
pub fn mirror(flow: &[f32]) -> Vec<f32> {
    let side = INPUT_SIDE;
    let mut out = vec![0.0; flow.len()];
    for channel in 0..INPUT_CHANNELS {
        for y in 0..side {
            for x in 0..side {
                let value = flow[(channel * side + y) * side + (side - 1 - x)];
                out[(channel * side + y) * side + x] = if channel == 0 { 1.0 - value } else { value };
            }
        }
    }
    out
}

/// Inputs arrive in 0..1; the network sees them centred on zero.
pub fn normalise_input(images: &Tensor) -> Tensor {
    (images - 0.5) * 2.0
}

/// The mirror of a normalised `[B, C, H, W]` batch: flip the width and
/// negate u (channel 0). Centred inputs make -u exact.
pub fn mirror_normalised(batch: &Tensor) -> Tensor {
    let channels = batch.size()[1];
    let mut sign = vec![1.0f32; channels as usize];
    sign[0] = -1.0;
    batch.flip([3]) * Tensor::from_slice(&sign).reshape([1, channels, 1, 1]).to_device(batch.device())
}

/// Flat inputs → a normalised `[count, C, H, W]` batch on `device`.
pub fn batch_of(flat: &[f32], device: tch::Device) -> Tensor {
    let count = (flat.len() / INPUT_LEN) as i64;
    let side = INPUT_SIDE as i64;
    normalise_input(&Tensor::from_slice(flat).reshape([count, INPUT_CHANNELS as i64, side, side])).to_device(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp() -> Vec<f32> {
        (0..INPUT_LEN).map(|i| (i % 97) as f32 / 96.0).collect()
    }

    #[test]
    fn channels_are_scaled_on_their_own_and_a_constant_one_is_zero() {
        let plane = INPUT_SIDE * INPUT_SIDE;
        let u: Vec<f32> = (0..plane).map(|i| i as f32 * 0.01 - 3.0).collect();
        let v = vec![0.7; plane];
        let strain: Vec<f32> = (0..plane).map(|i| (i % 5) as f32).collect();
        let input = encode_channels(&u, &v, &strain);
        assert_eq!(input.len(), INPUT_LEN);
        assert_eq!(input[0], 0.0);
        assert!((input[plane - 1] - 1.0).abs() < 1e-6);
        assert!(input[plane..2 * plane].iter().all(|&x| x == 0.0));
        assert_eq!(input[2 * plane + 4], 1.0);
        assert_eq!(input[2 * plane + 5], 0.0);
    }

    #[test]
    fn rgb_pixels_become_u_v_strain_planes() {
        let mut pixels = vec![0u8; INPUT_SIDE * INPUT_SIDE * 3];
        pixels[..3].copy_from_slice(&[255, 51, 0]);
        let flow = from_rgb8(&pixels).expect("28x28 RGB");
        let plane = INPUT_SIDE * INPUT_SIDE;
        assert_eq!((flow[0], flow[plane], flow[2 * plane]), (1.0, 0.2, 0.0));
        assert!(from_rgb8(&pixels[3..]).is_none());
    }

    #[test]
    fn mirror_twice_is_identity_and_negates_u() {
        let flow = ramp();
        let once = mirror(&flow);
        // u at (0, 0) becomes 1 - u at (0, 27); v is just moved.
        assert!((once[0] - (1.0 - flow[27])).abs() < 1e-6);
        assert_eq!(once[28 * 28], flow[28 * 28 + 27]);
        let twice = mirror(&once);
        assert!(twice.iter().zip(&flow).all(|(a, b)| (a - b).abs() < 1e-6));
    }

    #[test]
    fn mirroring_a_normalised_batch_matches_mirroring_the_image() {
        let flow: Vec<f32> = (0..INPUT_LEN).map(|i| ((i * 53) % 89) as f32 / 88.0).collect();
        let expected = batch_of(&mirror(&flow), tch::Device::Cpu);
        let got = mirror_normalised(&batch_of(&flow, tch::Device::Cpu));
        let worst = f64::try_from((got - expected).abs().max()).expect("a scalar");
        assert!(worst < 1e-6, "off by {worst}");
    }
}
