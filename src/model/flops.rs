//! Parameter and FLOP count of EPIR, layer by layer, from the config alone.
//! FLOPs are 2 x multiply-accumulates of the linear layers and attention
//! matmuls (norms, softmax and GELU are elementwise and left out).
use serde::{Deserialize, Serialize};

use super::config::EpirConfig;
use super::dnspt::patch_features;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerCost {
    pub name: String,
    pub params: u64,
    /// Multiply-accumulates for one input sample.
    pub macs: u64,
}

impl LayerCost {
    pub fn flops(&self) -> u64 {
        2 * self.macs
    }
}

fn linear_params(inputs: i64, outputs: i64) -> i64 {
    inputs * outputs + outputs
}

fn norm_params(width: i64) -> i64 {
    2 * width
}

/// One row per layer, in forward order, for a single input sample.
pub fn layer_costs(config: &EpirConfig) -> Vec<LayerCost> {
    let mut rows = Vec::new();
    let mut push =
        |name: String, params: i64, macs: i64| rows.push(LayerCost { name, params: params as u64, macs: macs as u64 });
    let grids = config.grids();
    let tokens_of = |stage: usize| grids[stage].0 * grids[stage].1;
    let features = patch_features(config.input_channels(), config.patch_size);
    let d0 = config.dims[0];
    push(
        "dnspt (shift, patchify, LN, linear, LN)".into(),
        norm_params(features) + linear_params(features, d0) + norm_params(d0),
        tokens_of(0) * features * d0,
    );
    push("class token + positions".into(), d0 + tokens_of(0) * d0, 0);
    for stage in 0..config.num_stages() {
        let dim = config.dims[stage];
        if stage > 0 {
            let dim_in = config.dims[stage - 1];
            push(
                format!("integration {} -> {}", stage - 1, stage),
                norm_params(4 * dim_in) + linear_params(4 * dim_in, dim) + linear_params(dim_in, dim),
                tokens_of(stage) * 4 * dim_in * dim + dim_in * dim,
            );
        }
        let count = tokens_of(stage) + 1;
        let hidden = config.mlp_hidden(dim);
        for block in 0..config.depths[stage] {
            let params = norm_params(dim)
                + linear_params(dim, 3 * dim)
                + linear_params(dim, dim)
                + config.heads[stage]
                + norm_params(dim)
                + linear_params(dim, hidden)
                + linear_params(hidden, dim);
            let macs = count * dim * 3 * dim   // q, k, v
                + 2 * count * count * dim      // scores and weighted sum
                + count * dim * dim            // output projection
                + 2 * count * dim * hidden; // MLP
            push(format!("stage {stage} block {block} ({count} tokens x {dim})"), params, macs);
        }
    }
    let last = config.dims[config.num_stages() - 1];
    push("final norm".into(), norm_params(last), 0);
    push(format!("dtsm (keep {} tokens)", config.kept_tokens()), 0, config.kept_tokens() * last);
    push(
        "head (LN, linear)".into(),
        norm_params(2 * last) + linear_params(2 * last, config.num_classes()),
        2 * last * config.num_classes(),
    );
    rows
}

pub fn total_params(config: &EpirConfig) -> u64 {
    layer_costs(config).iter().map(|row| row.params).sum()
}

pub fn total_flops(config: &EpirConfig) -> u64 {
    layer_costs(config).iter().map(LayerCost::flops).sum()
}
