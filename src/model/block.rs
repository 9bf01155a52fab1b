//! One pre-norm transformer block: self-excluding attention, then an MLP.
use tch::{nn, Tensor};

use super::attention::SelfExcludingAttention;

#[derive(Debug)]
pub struct TransformerBlock {
    norm_attn: nn::LayerNorm,
    attention: SelfExcludingAttention,
    norm_mlp: nn::LayerNorm,
    fc_in: nn::Linear,
    fc_out: nn::Linear,
}

impl TransformerBlock {
    pub fn new(path: &nn::Path, dim: i64, heads: i64, mlp_hidden: i64) -> Self {
        Self {
            norm_attn: nn::layer_norm(path / "norm_attn", vec![dim], Default::default()),
            attention: SelfExcludingAttention::new(&(path / "attn"), dim, heads),
            norm_mlp: nn::layer_norm(path / "norm_mlp", vec![dim], Default::default()),
            fc_in: nn::linear(path / "fc_in", dim, mlp_hidden, Default::default()),
            fc_out: nn::linear(path / "fc_out", mlp_hidden, dim, Default::default()),
        }
    }

    /// `[B, N, D]` -> (`[B, N, D]`, attention `[B, heads, N, N]`).
    pub fn forward(&self, tokens: &Tensor) -> (Tensor, Tensor) {
        let (mixed, attention) = self.attention.forward(&tokens.apply(&self.norm_attn));
        let tokens = tokens + mixed;
        let hidden = tokens.apply(&self.norm_mlp).apply(&self.fc_in).gelu("none").apply(&self.fc_out);
        (tokens + hidden, attention)
    }
}
