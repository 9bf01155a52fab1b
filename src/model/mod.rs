//! EPIR: efficient patch tokenization, integration and representation.
//!
//! DNSPT tokens -> stage 0 blocks -> token integration -> stage 1 blocks ...
//! -> DTSM keeps the most attended tokens -> classifier. The forward pass
//! returns the logits and the class token's attention over the input patch
//! grid, composed across stages, for heatmaps.
pub mod attention;
pub mod bench;
pub mod block;
pub mod config;
pub mod dnspt;
pub mod dtsm;
pub mod epir_model;
pub mod flops;
pub mod input;
pub mod integration;
pub mod mol;
pub mod ststnet;

use tch::{nn, Kind, Tensor};

pub use config::{ConfigError, EpirConfig};
pub use epir_model::{EpirModel, ModelError};

use block::TransformerBlock;
use dnspt::Dnspt;
use dtsm::Dtsm;
use integration::TokenIntegration;

#[derive(Debug)]
pub struct Epir {
    image_size: i64,
    grids: Vec<(i64, i64)>,
    tokenizer: Dnspt,
    class_token: Tensor,
    positions: Tensor,
    /// Non-empty stages of non-empty block lists (checked by the config).
    stages: Vec<Vec<TransformerBlock>>,
    integrations: Vec<TokenIntegration>,
    final_norm: nn::LayerNorm,
    dtsm: Dtsm,
    head_norm: nn::LayerNorm,
    head: nn::Linear,
}

#[derive(Debug)]
pub struct EpirOutput {
    /// `[B, classes]`.
    pub logits: Tensor,
    /// Class-token attention over the input patch grid, `[B, rows, cols]`,
    /// each map summing to one.
    pub attention: Tensor,
    /// Last-stage grid indices DTSM kept, `[B, keep]`.
    pub selected: Tensor,
    /// What the classifier's linear layer sees, `[B, 2 * last dim]`: the
    /// class token and DTSM's pooled tokens, concatenated and layer-normed.
    /// For training terms on the embedding (supervised contrastive); no
    /// extra weights, and the logits are this through `head`.
    pub feature: Tensor,
}

impl Epir {
    pub fn new(path: &nn::Path, config: &EpirConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let grids = config.grids();
        let d0 = config.dims[0];
        let first_tokens = grids[0].0 * grids[0].1;
        let stages = (0..config.num_stages())
            .map(|s| {
                (0..config.depths[s])
                    .map(|b| {
                        TransformerBlock::new(
                            &(path / format!("stage{s}") / format!("block{b}")),
                            config.dims[s],
                            config.heads[s],
                            config.mlp_hidden(config.dims[s]),
                        )
                    })
                    .collect()
            })
            .collect();
        let integrations = (1..config.num_stages())
            .map(|s| TokenIntegration::new(&(path / format!("integration{s}")), config.dims[s - 1], config.dims[s]))
            .collect();
        let last = config.dims[config.num_stages() - 1];
        let small = nn::Init::Randn { mean: 0.0, stdev: 0.02 };
        Ok(Self {
            tokenizer: Dnspt::new(&(path / "dnspt"), config.input_channels(), config.patch_size, d0, config.shift_fill),
            class_token: path.var("class_token", &[1, 1, d0], small),
            positions: path.var("positions", &[1, first_tokens, d0], small),
            stages,
            integrations,
            final_norm: nn::layer_norm(path / "final_norm", vec![last], Default::default()),
            dtsm: Dtsm::new(config.kept_tokens()),
            head_norm: nn::layer_norm(path / "head_norm", vec![2 * last], Default::default()),
            head: nn::linear(path / "head", 2 * last, config.num_classes(), Default::default()),
            grids,
            image_size: config.image_size,
        })
    }

    /// `[B, C, H, W]` flow images -> logits, attention grid, DTSM choice.
    pub fn forward(&self, images: &Tensor) -> EpirOutput {
        self.forward_dropping(images, None)
    }

    /// Transformer blocks in all stages, in order (drop-path needs two keep
    /// masks per block).
    pub fn block_count(&self) -> usize {
        self.stages.iter().map(Vec::len).sum()
    }

    /// As `forward`, in training with drop-path: `keep` holds two `[B, 1, 1]`
    /// masks per block, in block order (see `TransformerBlock::forward_dropping`).
    pub fn forward_dropping(&self, images: &Tensor, keep: Option<&[Tensor]>) -> EpirOutput {
        let size = images.size();
        let batch = size[0];
        let resized;
        let images = if (size[2], size[3]) == (self.image_size, self.image_size) {
            images
        } else {
            resized = images.upsample_bilinear2d([self.image_size, self.image_size], false, None, None);
            &resized
        };
        let d0 = self.class_token.size()[2];
        let patches = self.tokenizer.forward(images) + &self.positions;
        let mut tokens = Tensor::cat(&[self.class_token.expand([batch, 1, d0], false), patches], 1);
        let mut class_maps = Vec::with_capacity(self.stages.len());
        let mut block_index = 0;
        for (stage, blocks) in self.stages.iter().enumerate() {
            if stage > 0 {
                tokens = self.integrations[stage - 1].forward(&tokens, self.grids[stage - 1]);
            }
            let masks = |i: usize| keep.map(|k| [&k[2 * i], &k[2 * i + 1]]);
            let (mut out, mut attention) = blocks[0].forward_dropping(&tokens, masks(block_index));
            block_index += 1;
            for block in &blocks[1..] {
                (out, attention) = block.forward_dropping(&out, masks(block_index));
                block_index += 1;
            }
            tokens = out;
            class_maps.push(class_attention(&attention));
        }
        let tokens = tokens.apply(&self.final_norm);
        let count = tokens.size()[1];
        let class_feature = tokens.select(1, 0);
        let last_map = &class_maps[class_maps.len() - 1];
        let selection = self.dtsm.select(&tokens.narrow(1, 1, count - 1), last_map);
        let feature = Tensor::cat(&[class_feature, selection.pooled], -1).apply(&self.head_norm);
        let logits = feature.apply(&self.head);
        EpirOutput {
            logits,
            attention: compose_attention(&class_maps, &self.grids),
            selected: selection.indices,
            feature,
        }
    }
}

/// Temperature scaling of probabilities `[B, classes]`: softmax(log p / T).
/// On plain softmax outputs this equals dividing the logits by T; it also
/// applies to the mirror-averaged probabilities, which have no logits.
pub fn calibrated(probabilities: &Tensor, temperature: f64) -> Tensor {
    (probabilities.clamp_min(1e-12).log() / temperature).softmax(-1, Kind::Float)
}

/// `[B, heads, 1+N, 1+N]` -> `[B, N]`: the class token's attention over the
/// patch tokens, mean over heads. Because self-attention is masked, the
/// class token's row already sums to one over the patches.
fn class_attention(attention: &Tensor) -> Tensor {
    let count = attention.size()[3];
    attention.select(2, 0).narrow(2, 1, count - 1).mean_dim(1, false, Kind::Float)
}

/// Spreads the last stage's class attention down to the input patch grid:
/// each merged token's share goes to the tokens it was merged from, in
/// proportion to the earlier stage's class attention over them. Every map
/// keeps summing to one.
pub fn compose_attention(class_maps: &[Tensor], grids: &[(i64, i64)]) -> Tensor {
    let last = class_maps.len() - 1;
    let batch = class_maps[last].size()[0];
    let (rows, cols) = grids[last];
    let mut map = class_maps[last].reshape([batch, rows, cols]);
    for stage in (0..last).rev() {
        let (rows, cols) = grids[stage];
        let child = class_maps[stage].reshape([batch, rows, cols]);
        let (up_rows, up_cols) = ((rows + 1) / 2, (cols + 1) / 2);
        let block_sums = child
            .constant_pad_nd([0, cols % 2, 0, rows % 2])
            .reshape([batch, up_rows, 2, up_cols, 2])
            .sum_dim_intlist([2i64, 4].as_slice(), false, Kind::Float);
        let upsample = |t: &Tensor| {
            t.repeat_interleave_self_int(2, 1, None)
                .repeat_interleave_self_int(2, 2, None)
                .narrow(1, 0, rows)
                .narrow(2, 0, cols)
        };
        map = upsample(&map) * &child / upsample(&block_sums).clamp_min(1e-12);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn count_params(vs: &nn::VarStore) -> u64 {
        vs.variables().values().map(|t| t.numel() as u64).sum()
    }

    #[test]
    fn forward_shapes_and_attention_map_sums_to_one() {
        let config = EpirConfig::default();
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Epir::new(&vs.root(), &config).expect("valid config");
        let images = Tensor::rand([4, 3, 28, 28], (Kind::Float, Device::Cpu));
        let out = model.forward(&images);
        assert_eq!(out.logits.size(), vec![4, 3]);
        assert_eq!(out.attention.size(), vec![4, 7, 7]);
        assert_eq!(out.selected.size(), vec![4, 8]);
        let sums = out.attention.sum_dim_intlist([1i64, 2].as_slice(), false, Kind::Float);
        let worst = f64::try_from((sums - 1.0).abs().max()).expect("tensor values on the host");
        assert!(worst < 1e-5, "attention maps sum off by {worst}");
        assert!(f64::try_from(out.attention.min()).expect("tensor values on the host") > 0.0);
    }

    #[test]
    fn a_32_px_model_takes_the_28_px_flow_and_merges_an_8x8_grid_without_padding() {
        let config = EpirConfig { image_size: 32, shift_fill: config::ShiftFill::Edge, ..Default::default() };
        assert_eq!(config.grids(), vec![(8, 8), (4, 4)]);
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Epir::new(&vs.root(), &config).expect("valid config");
        assert_eq!(flops::total_params(&config), count_params(&vs));
        let images = Tensor::rand([3, 3, 28, 28], (Kind::Float, Device::Cpu));
        let out = model.forward(&images);
        assert_eq!(out.logits.size(), vec![3, 3]);
        assert_eq!(out.attention.size(), vec![3, 8, 8]);
        // Half of the 16 unpadded second-stage tokens.
        assert_eq!(out.selected.size(), vec![3, 8]);
        // Resizing is the model's first step: a 32 px input gives the same logits as its 28 px source.
        let resized = images.upsample_bilinear2d([32, 32], false, None, None);
        let worst = f64::try_from((model.forward(&resized).logits - &out.logits).abs().max()).expect("host");
        assert!(worst < 1e-5, "{worst}");
    }

    #[test]
    fn drop_path_drops_whole_branches_per_sample_and_keeps_the_rest_exact() {
        let config = EpirConfig { drop_path: 0.2, ..Default::default() };
        let rates = config.drop_path_rates();
        assert_eq!(rates.len(), 4);
        for (rate, expected) in rates.iter().zip([0.0, 0.2 / 3.0, 0.4 / 3.0, 0.2]) {
            assert!((rate - expected).abs() < 1e-12, "{rates:?}");
        }
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Epir::new(&vs.root(), &config).expect("valid config");
        assert_eq!(model.block_count(), 4);
        let images = Tensor::rand([2, 3, 28, 28], (Kind::Float, Device::Cpu));
        let plain = model.forward(&images).logits;
        let ones: Vec<Tensor> = (0..8).map(|_| Tensor::ones([2, 1, 1], (Kind::Float, Device::Cpu))).collect();
        let kept = model.forward_dropping(&images, Some(&ones)).logits;
        let same = f64::try_from((&kept - &plain).abs().max()).expect("host");
        assert!(same < 1e-6, "keeping every branch is the plain forward: {same}");
        // Dropping every branch of sample 0 changes it and leaves sample 1 alone.
        let first_dropped: Vec<Tensor> =
            (0..8).map(|_| Tensor::from_slice(&[0.0f32, 1.0]).reshape([2, 1, 1])).collect();
        let dropped = model.forward_dropping(&images, Some(&first_dropped)).logits;
        let moved = f64::try_from((dropped.get(0) - plain.get(0)).abs().max()).expect("host");
        let other = f64::try_from((dropped.get(1) - plain.get(1)).abs().max()).expect("host");
        assert!(moved > 1e-4 && other < 1e-6, "sample 0 moved {moved}, sample 1 {other}");
    }

    #[test]
    fn counted_params_match_the_variables_for_several_shapes() {
        for config in [
            EpirConfig::default(),
            EpirConfig { dims: vec![32, 48, 64], depths: vec![1, 2, 1], heads: vec![2, 4, 4], ..Default::default() },
            EpirConfig {
                patch_size: 2,
                dims: vec![16],
                depths: vec![3],
                heads: vec![2],
                select_ratio: 0.25,
                ..Default::default()
            },
        ] {
            let vs = nn::VarStore::new(Device::Cpu);
            let model = Epir::new(&vs.root(), &config).expect("valid config");
            assert_eq!(flops::total_params(&config), count_params(&vs), "{config:?}");
            let images = Tensor::rand([2, 3, 28, 28], (Kind::Float, Device::Cpu));
            let out = model.forward(&images);
            let (rows, cols) = config.grids()[0];
            assert_eq!(out.attention.size(), vec![2, rows, cols]);
            assert_eq!(out.selected.size(), vec![2, config.kept_tokens()]);
        }
    }

    #[test]
    fn the_apex_stream_adds_one_plane_to_the_tokeniser_alone() {
        // Off (the default): the shipped architecture, to the parameter.
        let plain = nn::VarStore::new(Device::Cpu);
        let _ = Epir::new(&plain.root(), &EpirConfig::default()).expect("valid config");
        assert_eq!(count_params(&plain), 394_419);
        let config = EpirConfig { apex_stream: true, ..Default::default() };
        assert_eq!((config.in_channels, config.input_channels()), (3, 4));
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Epir::new(&vs.root(), &config).expect("valid config");
        assert_eq!(flops::total_params(&config), count_params(&vs));
        // One more plane of 5 shifted copies of 4x4 patches: 80 more patch
        // features, each with a LayerNorm gain and bias and 64 projection weights.
        assert_eq!(count_params(&vs) - count_params(&plain), 80 * (2 + 64));
        let (shapes, plain_shapes) = (vs.variables(), plain.variables());
        assert_eq!(shapes.len(), plain_shapes.len());
        for (name, tensor) in &shapes {
            let expected = match name.as_str() {
                "dnspt.proj.weight" => vec![64, 4 * 5 * 16],
                "dnspt.norm_in.weight" | "dnspt.norm_in.bias" => vec![4 * 5 * 16],
                _ => plain_shapes[name].size(),
            };
            assert_eq!(tensor.size(), expected, "{name}");
        }
        let images = Tensor::rand([2, 4, 28, 28], (Kind::Float, Device::Cpu));
        let out = model.forward(&images);
        assert_eq!(out.logits.size(), vec![2, 3]);
        assert_eq!(out.attention.size(), vec![2, 7, 7]);
        // The apex plane reaches the logits.
        let dimmed = Tensor::cat(&[images.narrow(1, 0, 3), images.narrow(1, 3, 1) * 0.0], 1);
        let moved = f64::try_from((model.forward(&dimmed).logits - &out.logits).abs().max()).expect("host");
        assert!(moved > 1e-5, "{moved}");
    }

    #[test]
    fn composed_attention_follows_the_earlier_stage_within_each_block() {
        // Stage 1 (1x1 grid) gives everything to its single token; stage 0
        // (2x2) split 1:1:2:4, so the composed map is that split normalised.
        let stage0 = Tensor::from_slice(&[1.0f32, 1.0, 2.0, 4.0]).reshape([1, 4]) / 8.0;
        let stage1 = Tensor::ones([1, 1], (Kind::Float, Device::Cpu));
        let map = compose_attention(&[stage0, stage1], &[(2, 2), (1, 1)]);
        let values = Vec::<f32>::try_from(map.flatten(0, -1)).expect("tensor values on the host");
        assert_eq!(values, vec![0.125, 0.125, 0.25, 0.5]);
    }
}
