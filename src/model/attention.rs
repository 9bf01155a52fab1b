//! Self-excluding multi-head attention: each token's attention to itself is
//! masked out, so a token's output is built only from the others (a token
//! otherwise puts most of its weight on itself and the map says little), and
//! a learnable per-head temperature sharpens or flattens the distribution.
use tch::{nn, Kind, Tensor};

#[derive(Debug)]
pub struct SelfExcludingAttention {
    heads: i64,
    head_dim: i64,
    qkv: nn::Linear,
    proj: nn::Linear,
    /// log of the per-head scale applied to q·k; starts at 1/sqrt(head_dim).
    log_scale: Tensor,
}

impl SelfExcludingAttention {
    pub fn new(path: &nn::Path, dim: i64, heads: i64) -> Self {
        let head_dim = dim / heads;
        let initial = -0.5 * (head_dim as f64).ln();
        Self {
            heads,
            head_dim,
            qkv: nn::linear(path / "qkv", dim, 3 * dim, Default::default()),
            proj: nn::linear(path / "proj", dim, dim, Default::default()),
            log_scale: path.var("log_scale", &[heads], nn::Init::Const(initial)),
        }
    }

    /// `[B, N, D]` -> (`[B, N, D]`, attention probabilities `[B, heads, N, N]`).
    pub fn forward(&self, tokens: &Tensor) -> (Tensor, Tensor) {
        let size = tokens.size();
        let (batch, count, dim) = (size[0], size[1], size[2]);
        let qkv =
            tokens.apply(&self.qkv).reshape([batch, count, 3, self.heads, self.head_dim]).permute([2, 0, 3, 1, 4]);
        let (q, k, v) = (qkv.get(0), qkv.get(1), qkv.get(2));
        let scale = self.log_scale.exp().reshape([1, self.heads, 1, 1]);
        let scores = q.matmul(&k.transpose(-2, -1)) * scale;
        let attention = masked_softmax(&scores);
        let mixed = attention.matmul(&v).transpose(1, 2).reshape([batch, count, dim]);
        (mixed.apply(&self.proj), attention)
    }
}

/// Softmax over the last axis with the diagonal (self) set to exactly zero.
pub fn masked_softmax(scores: &Tensor) -> Tensor {
    let count = scores.size()[scores.dim() - 1];
    let diagonal = Tensor::eye(count, (Kind::Bool, scores.device()));
    scores.masked_fill(&diagonal, f64::NEG_INFINITY).softmax(-1, Kind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn a_token_gives_itself_exactly_zero_attention() {
        let vs = nn::VarStore::new(Device::Cpu);
        let attention = SelfExcludingAttention::new(&vs.root(), 32, 4);
        let tokens = Tensor::randn([3, 10, 32], (Kind::Float, Device::Cpu));
        let (out, probs) = attention.forward(&tokens);
        assert_eq!(out.size(), vec![3, 10, 32]);
        assert_eq!(probs.size(), vec![3, 4, 10, 10]);
        let diagonal = probs.diagonal(0, -2, -1);
        assert_eq!(f64::try_from(diagonal.abs().max()).expect("tensor values on the host"), 0.0);
        // Each row still sums to one over the other tokens.
        let row_sums = probs.sum_dim_intlist(-1, false, Kind::Float);
        let worst = f64::try_from((row_sums - 1.0).abs().max()).expect("tensor values on the host");
        assert!(worst < 1e-5, "row sums off by {worst}");
    }

    #[test]
    fn temperature_is_learnable_and_changes_sharpness() {
        let vs = nn::VarStore::new(Device::Cpu);
        let attention = SelfExcludingAttention::new(&vs.root(), 16, 2);
        assert!(vs.variables().keys().any(|k| k == "log_scale"));
        let scores = Tensor::randn([1, 1, 6, 6], (Kind::Float, Device::Cpu));
        let entropy = |p: &Tensor| {
            let terms = p * p.clamp_min(1e-12).log();
            -f64::try_from(terms.sum(Kind::Float)).expect("tensor values on the host")
        };
        let cool = masked_softmax(&(&scores * 4.0));
        let warm = masked_softmax(&(&scores * 0.25));
        assert!(entropy(&cool) < entropy(&warm));
        drop(attention);
    }
}
