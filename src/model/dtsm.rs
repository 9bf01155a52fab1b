//! DTSM, the dynamic token selection module: per sample, keep the tokens the
//! class token attends to most and pool them, weighted by that attention, so
//! the classifier sees the discriminative facial regions rather than an
//! average over the whole face.
use tch::{Kind, Tensor};

#[derive(Debug, Clone, Copy)]
pub struct Dtsm {
    keep: i64,
}

/// What DTSM chose for each sample.
#[derive(Debug)]
pub struct Selection {
    /// Attention-weighted mean of the kept tokens, `[B, D]`.
    pub pooled: Tensor,
    /// Grid indices of the kept tokens, most attended first, `[B, keep]`.
    pub indices: Tensor,
}

impl Dtsm {
    pub fn new(keep: i64) -> Self {
        Self { keep }
    }

    pub fn keep(&self) -> i64 {
        self.keep
    }

    /// `patch_tokens` `[B, N, D]`, `class_attention` `[B, N]` (the class
    /// token's attention over them, averaged over heads).
    pub fn select(&self, patch_tokens: &Tensor, class_attention: &Tensor) -> Selection {
        let size = patch_tokens.size();
        let (batch, dim) = (size[0], size[2]);
        let (weights, indices) = class_attention.topk(self.keep, -1, true, true);
        let gather_index = indices.unsqueeze(-1).expand([batch, self.keep, dim], false);
        let kept = patch_tokens.gather(1, &gather_index, false);
        let weights = &weights / weights.sum_dim_intlist(-1, true, Kind::Float).clamp_min(1e-12);
        let pooled = (kept * weights.unsqueeze(-1)).sum_dim_intlist(1, false, Kind::Float);
        Selection { pooled, indices }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn keeps_the_configured_share_and_the_most_attended_tokens() {
        let dtsm = Dtsm::new(3);
        // Token i has features all equal to i; attention favours tokens 5, 1, 7.
        let tokens = Tensor::arange(8, (Kind::Float, Device::Cpu)).reshape([1, 8, 1]).expand([1, 8, 4], false);
        let attention = Tensor::from_slice(&[0.01f32, 0.3, 0.02, 0.01, 0.02, 0.4, 0.04, 0.2]).reshape([1, 8]);
        let selection = dtsm.select(&tokens, &attention);
        assert_eq!(selection.indices.size(), vec![1, 3]);
        assert_eq!(
            Vec::<i64>::try_from(selection.indices.flatten(0, -1)).expect("tensor values on the host"),
            vec![5, 1, 7]
        );
        // Pooled value = (0.4*5 + 0.3*1 + 0.2*7) / 0.9.
        let pooled = Vec::<f32>::try_from(selection.pooled.flatten(0, -1)).expect("tensor values on the host");
        let expected = (0.4 * 5.0 + 0.3 * 1.0 + 0.2 * 7.0) / 0.9;
        assert_eq!(pooled.len(), 4);
        assert!(pooled.iter().all(|v| (*v as f64 - expected).abs() < 1e-5), "{pooled:?}");
    }
}
