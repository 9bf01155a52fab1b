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
//! - **Apex stream** (optional, `EpirConfig::apex_stream`): a fourth plane,
//!   the apex crop in grey at the same side, min-max scaled per image like
//!   the flow channels (`apex_plane`); it is pixel-aligned with the flow
//!   (same face crop), and a mirror only flips it.
use tch::Tensor;

pub const INPUT_SIDE: usize = 28;
pub const INPUT_CHANNELS: usize = 3;
pub const INPUT_LEN: usize = INPUT_CHANNELS * INPUT_SIDE * INPUT_SIDE;

/// `u`, `v` and `strain` (each `INPUT_SIDE`² values, row-major) → one
/// model input, each channel min-max scaled on its own.
pub fn encode_channels(u: &[f32], v: &[f32], strain: &[f32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(INPUT_LEN);
    for channel in [u, v, strain] {
        out.extend(min_max(channel));
    }
    out
}

/// One plane min-max scaled to 0..1 (a constant plane is all 0).
fn min_max(channel: &[f32]) -> impl Iterator<Item = f32> + '_ {
    let (lo, hi) = channel.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    let range = hi - lo;
    channel.iter().map(move |&x| if range > 1e-12 { (x - lo) / range } else { 0.0 })
}

/// The apex stream's plane from a grey apex crop already at
/// `INPUT_SIDE`² pixels (any scale): min-max scaled per image, so the
/// crops of the three source sets (lit and exposed differently, SAMM
/// grey) reach the network on one scale, as the flow channels do.
pub fn apex_plane(grey: &[f32]) -> Vec<f32> {
    min_max(grey).collect()
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

/// Left-right mirror of one input image (see the module comment), of any
/// number of `INPUT_SIDE`² planes: u (the first) is negated, the others,
/// the apex plane among them, only move.
pub fn mirror(flow: &[f32]) -> Vec<f32> {
    let side = INPUT_SIDE;
    let mut out = vec![0.0; flow.len()];
    for channel in 0..flow.len() / (side * side) {
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
    batch_of_images(flat, flat.len() / INPUT_LEN, device)
}

/// `count` flat inputs of any number of `INPUT_SIDE`² planes (the flow's
/// three, with the apex stream four) → a normalised `[count, C, H, W]`
/// batch on `device`.
pub fn batch_of_images(flat: &[f32], count: usize, device: tch::Device) -> Tensor {
    let side = INPUT_SIDE as i64;
    normalise_input(&Tensor::from_slice(flat).reshape([count as i64, -1, side, side])).to_device(device)
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

    #[test]
    fn with_the_apex_plane_a_mirror_negates_u_and_only_flips_the_grey() {
        let plane = INPUT_SIDE * INPUT_SIDE;
        let grey: Vec<f32> = (0..plane).map(|i| 40.0 + (i % 28) as f32 * 5.0).collect();
        let apex = apex_plane(&grey);
        // 40..175 grey levels -> 0..1: column 0 is 0, column 27 is 1, column 9 is 45/135.
        assert_eq!((apex[0], apex[27]), (0.0, 1.0));
        assert!((apex[9] - 1.0 / 3.0).abs() < 1e-6);
        assert!(apex_plane(&[3.0; 4]).iter().all(|&x| x == 0.0));
        let mut input = ramp();
        input.extend_from_slice(&apex);
        let once = mirror(&input);
        assert_eq!(once.len(), 4 * plane);
        // u negated and moved, the grey moved only: the left edge's grey is the right edge's.
        assert!((once[0] - (1.0 - input[27])).abs() < 1e-6);
        assert_eq!(once[3 * plane], 1.0);
        assert_eq!(once[3 * plane + 27], 0.0);
        assert!(mirror(&once).iter().zip(&input).all(|(a, b)| (a - b).abs() < 1e-6));
        // The batched mirror agrees, apex plane included.
        let batch = batch_of_images(&input, 1, tch::Device::Cpu);
        assert_eq!(batch.size(), vec![1, 4, 28, 28]);
        let expected = batch_of_images(&once, 1, tch::Device::Cpu);
        let worst = f64::try_from((mirror_normalised(&batch) - expected).abs().max()).expect("a scalar");
        assert!(worst < 1e-6, "off by {worst}");
    }
}
