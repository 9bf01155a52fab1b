//! CCC, the "graph-style" half of F5C. Each position is linked to its `k`
//! most similar positions (cosine similarity of the channel vectors; a
//! position is its own nearest neighbour). Then, for every channel
//! separately, the channel's whole map `f` (all positions, as one vector)
//! and each neighbour offset map go through two position-mixing linear maps
//! (the official `Conv1d(1, P, kernel=P)`s), and the edge feature is
//! `max_j ReLU(W1 f + b1 + W2 (g_j - f) + b2)` with `g_j[p] = f[nbr_j(p)] -
//! f[p]`, the neighbour offset the official `get_graph_feature` already
//! returns: `f` is subtracted twice there, and this keeps that maths. The
//! official loop over channels and neighbours is done here as two matmuls.
use tch::{nn, Tensor};

#[derive(Debug)]
pub struct Ccc {
    /// `conv1`: applied to the channel map itself; weight `[P, 1, P]`.
    own: nn::Conv1D,
    /// `conv2`: applied to the neighbour offsets; weight `[P, 1, P]`.
    offset: nn::Conv1D,
}

impl Ccc {
    /// `positions` = H * W of the feature grid (256 in the official model).
    pub fn new(path: &nn::Path, positions: i64) -> Self {
        Self {
            own: nn::conv1d(path / "conv1", 1, positions, positions, super::torch_conv(positions, 1, 0)),
            offset: nn::conv1d(path / "conv2", 1, positions, positions, super::torch_conv(positions, 1, 0)),
        }
    }

    /// `[B, C, H, W]` features -> `[B, C, H, W]` edge features over a
    /// `neighbours`-NN graph built from these same features.
    pub fn forward(&self, features: &Tensor, neighbours: i64) -> Tensor {
        let size = features.size();
        let flat = features.reshape([size[0], size[1], -1]);
        let offsets = neighbour_offsets(&flat, &nearest_neighbours(&flat, neighbours));
        self.aggregate(&flat, &offsets).reshape(size.as_slice())
    }

    /// `flat` `[B, C, P]` and neighbour offsets `[B, C, P, k]` -> `[B, C, P]`.
    pub fn aggregate(&self, flat: &Tensor, offsets: &Tensor) -> Tensor {
        let linear = |conv: &nn::Conv1D, x: &Tensor| {
            let weight = conv.ws.squeeze_dim(1); // [out, in]
            let mixed = x.matmul(&weight.transpose(0, 1));
            match &conv.bs {
                Some(bias) => mixed + bias,
                None => mixed,
            }
        };
        // [B, C, 1, P]: the channel map itself, mixed.
        let own = linear(&self.own, flat).unsqueeze(2);
        // [B, C, k, P]: each neighbour's offset map, less f once more.
        let twice_subtracted = offsets.permute([0, 1, 3, 2]) - flat.unsqueeze(2);
        let edges = (own + linear(&self.offset, &twice_subtracted)).relu();
        edges.amax([2i64].as_slice(), false)
    }
}

/// `[B, C, P]` -> `[B, P, k]`: for each position, the `k` positions whose
/// channel vectors have the highest cosine similarity to it (itself first,
/// in general), as the official `knn_cos_sim_2`.
pub fn nearest_neighbours(flat: &Tensor, k: i64) -> Tensor {
    // F.normalize(p=2, dim=1): x / max(|x|, 1e-12).
    let norms = flat.norm_scalaropt_dim(2, [1i64].as_slice(), true).clamp_min(1e-12);
    let unit = flat / norms;
    let similarity = unit.transpose(1, 2).matmul(&unit); // [B, P, P]
    similarity.topk(k, -1, true, true).1
}

/// `flat` `[B, C, P]`, `indices` `[B, P, k]` -> `[B, C, P, k]` with
/// `out[b, c, p, j] = flat[b, c, indices[b, p, j]] - flat[b, c, p]`, the
/// official `get_graph_feature`.
pub fn neighbour_offsets(flat: &Tensor, indices: &Tensor) -> Tensor {
    let size = flat.size();
    let (batch, channels, positions) = (size[0], size[1], size[2]);
    let k = indices.size()[2];
    let index = indices.reshape([batch, 1, positions * k]).expand([batch, channels, positions * k], false);
    let gathered = flat.gather(2, &index, false).reshape([batch, channels, positions, k]);
    gathered - flat.unsqueeze(-1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    fn values(t: &Tensor) -> Vec<f64> {
        Vec::<f64>::try_from(t.to_kind(Kind::Double).flatten(0, -1)).expect("tensor values on the host")
    }

    #[test]
    fn parameter_count_and_shape_match_the_official_module() {
        let vs = nn::VarStore::new(Device::Cpu);
        let ccc = Ccc::new(&(vs.root() / "CCC_1"), 256);
        assert_eq!(super::super::trainable_params(&vs), 131_584);
        let features = Tensor::randn([2, 128, 16, 16], (Kind::Float, Device::Cpu));
        assert_eq!(ccc.forward(&features, 4).size(), vec![2, 128, 16, 16]);
    }

    /// The official per-channel, per-neighbour loop written out with plain
    /// numbers on a 2 x 3 grid with 3 channels and k = 2, against the
    /// vectorised module.
    #[test]
    fn vectorised_aggregation_equals_the_official_loop() {
        let (batch, channels, positions, k) = (2usize, 3usize, 6usize, 2usize);
        let vs = nn::VarStore::new(Device::Cpu);
        let ccc = Ccc::new(&vs.root(), positions as i64);
        let input: Vec<f64> = (0..batch * channels * positions)
            .map(|i| ((i * 37 + 11) % 23) as f64 / 7.0 - 1.5 + (i as f64 * 0.013).sin())
            .collect();
        let features = Tensor::from_slice(&input).to_kind(Kind::Float).reshape([batch as i64, channels as i64, 2, 3]);
        let out = values(&ccc.forward(&features, k as i64));
        let w1 = values(&ccc.own.ws);
        let b1 = values(ccc.own.bs.as_ref().expect("conv1 has a bias"));
        let w2 = values(&ccc.offset.ws);
        let b2 = values(ccc.offset.bs.as_ref().expect("conv2 has a bias"));
        // Features as f32 went into the model; use the same rounded values.
        let x: Vec<f64> = values(&features);
        let at = |b: usize, c: usize, p: usize| x[(b * channels + c) * positions + p];

        let mut worst = 0.0f64;
        for b in 0..batch {
            // k nearest positions by cosine similarity of channel vectors.
            let norm = |p: usize| (0..channels).map(|c| at(b, c, p).powi(2)).sum::<f64>().sqrt();
            let neighbours: Vec<Vec<usize>> = (0..positions)
                .map(|p| {
                    let mut order: Vec<(f64, usize)> = (0..positions)
                        .map(|q| {
                            let dot: f64 = (0..channels).map(|c| at(b, c, p) * at(b, c, q)).sum();
                            (dot / (norm(p) * norm(q)), q)
                        })
                        .collect();
                    order.sort_by(|a, b| b.0.total_cmp(&a.0));
                    order.iter().take(k).map(|&(_, q)| q).collect()
                })
                .collect();
            for c in 0..channels {
                let f: Vec<f64> = (0..positions).map(|p| at(b, c, p)).collect();
                for o in 0..positions {
                    let mut best = f64::NEG_INFINITY;
                    for j in 0..k {
                        let mut v = b1[o] + b2[o];
                        for t in 0..positions {
                            let offset = f[neighbours[t][j]] - f[t];
                            v += w1[o * positions + t] * f[t] + w2[o * positions + t] * (offset - f[t]);
                        }
                        best = best.max(v.max(0.0));
                    }
                    let got = out[(b * channels + c) * positions + o];
                    worst = worst.max((got - best).abs());
                }
            }
        }
        assert!(worst < 1e-5, "vectorised CCC differs from the loop by {worst}");
    }

    #[test]
    fn a_position_is_its_own_nearest_neighbour() {
        let flat = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 0.2, 0.0, 1.0, 0.1, 1.0]).reshape([1, 2, 4]);
        // Columns: (1,0), (0,1), (1,0.1), (0.2,1).
        let indices = nearest_neighbours(&flat, 2);
        let got = Vec::<i64>::try_from(indices.flatten(0, -1)).expect("tensor values on the host");
        assert_eq!(got, vec![0, 2, 1, 3, 2, 0, 3, 1]);
    }
}
