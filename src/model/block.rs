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
        self.forward_dropping(tokens, None)
    }

    /// As `forward`, with drop-path in training: `keep` scales the attention
    /// and the MLP branch of each sample (`[B, 1, 1]` each: 0 drops the
    /// branch, 1/(1-p) keeps it, so the expectation is unchanged).
    pub fn forward_dropping(&self, tokens: &Tensor, keep: Option<[&Tensor; 2]>) -> (Tensor, Tensor) {
        let (mixed, attention) = self.attention.forward(&tokens.apply(&self.norm_attn));
        let tokens = match keep {
            Some([k, _]) => tokens + mixed * k,
            None => tokens + mixed,
        };
        let hidden = tokens.apply(&self.norm_mlp).apply(&self.fc_in).gelu("none").apply(&self.fc_out);
        let tokens = match keep {
            Some([_, k]) => tokens + hidden * k,
            None => tokens + hidden,
        };
        (tokens, attention)
    }
}
