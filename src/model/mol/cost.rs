//! Parameters and FLOPs of MOL with the lite flow head, layer by layer,
//! from the config alone, for one 8-frame clip (`model::flops`' rows and
//! convention: FLOPs = 2 x multiply-accumulates of the convolutions,
//! linear maps and CCC's matrix products; norms, activations, pooling,
//! top-k and the bilinear upsampling are left out). The parameter total is
//! checked against the built model, so the table describes what runs.
use crate::model::flops::LayerCost;

use super::{FlowHead, MolConfig};

/// Rows for one clip, or `None` for FlowNetC (not tabulated here).
pub fn layer_costs(config: &MolConfig) -> Option<Vec<LayerCost>> {
    let FlowHead::Lite { width: w } = config.flow_head else {
        return None;
    };
    let mut rows = Vec::new();
    let mut push = |name: &str, params: i64, macs: i64| {
        rows.push(LayerCost { name: name.into(), params: params as u64, macs: macs as u64 })
    };
    let (side, c, frames, pairs) = (config.image_size, config.feature_channels, config.frames, config.pairs());
    let s = config.feature_side();
    // Conv stack on every frame once: (c_in, c_out, kernel, output side).
    let s1 = (side - 4) / 2 + 1;
    let s2 = (s1 - 3) / 2 + 1;
    let stack = [(1, 8, 4, s1), (8, 32, 3, s2), (32, 64, 2, s), (64, c, 1, s)];
    let params: i64 = stack.iter().map(|&(i, o, k, _)| i * o * k * k + o).sum();
    let macs: i64 = stack.iter().map(|&(i, o, k, out)| out * out * o * i * k * k).sum();
    push("conv stack (8 frames)", params, frames * macs);
    // F5C, first and second: FCC (4 circular depth-wise convolutions of a
    // grid-long kernel on each half; the unused feed-forward block's
    // variables counted as parameters) and CCC.
    let (half, meta, positions) = (c / 2, config.meta_kernel_size, s * s);
    let fcc_params = 2 * 2 * half
        + 4 * half * meta
        + 4 * half
        + 4 * half * meta
        + (2 * c + c * config.fcc_ffn_dim + config.fcc_ffn_dim + config.fcc_ffn_dim * c + c);
    let ccc_params = 2 * (positions * positions + positions);
    let fcc_macs = 4 * half * s * s * s;
    // Cosine similarities, the own-map linear, and one linear per neighbour.
    let ccc_macs = (2 + config.neighbours) * c * positions * positions;
    push("F5C first + second (7 pairs each)", 2 * (fcc_params + ccc_params), 2 * pairs * (fcc_macs + ccc_macs));
    // Landmark head per pair.
    let inner = s - 2;
    let flat = 32 * inner * inner;
    let marks = 2 * config.landmarks;
    push(
        "landmark head (7 pairs)",
        c * 32 * 9 + 32 + flat * 512 + 512 + 512 * marks + marks,
        pairs * (inner * inner * 32 * c * 9 + flat * 512 + 512 * marks),
    );
    // MER head once: conv3d k 2x2x5 stride 2x2x1, pool, two linears.
    let grid = (s - 2) / 2 + 1;
    let time = 2 * pairs - 5 + 1;
    let mer_flat = super::mer_head::MerHead::flat_features(config);
    let classes = config.num_classes();
    push(
        "MER head",
        c * 32 * 20 + 32 + mer_flat * 256 + 256 + 256 * classes + classes,
        grid * grid * time * 32 * c * 20 + mer_flat * 256 + 256 * classes,
    );
    // Lite flow per pair; ConvBnAct = conv without bias + BatchNorm.
    let (half_side, quarter, eighth) = (side / 2, side / 4, side / 8);
    let correlation = config.correlation_channels();
    let joint_in = w / 2 + correlation + 2 * c;
    let encoder_params = 9 * (w / 2) + w + 9 * (w / 2) * w + 2 * w + 9 * w * w + 2 * w;
    let encoder_macs =
        half_side * half_side * (w / 2) * 9 + quarter * quarter * w * (w / 2) * 9 + eighth * eighth * w * w * 9;
    let flow_params = encoder_params
        + (w * (w / 2) + w)
        + (joint_in * 2 * w * 9 + 4 * w)
        + 2 * w * 2 * 9
        + 2 * 2 * 16
        + 2 * w * w * 16
        + (2 * w + 2) * 2 * 9;
    let flow_macs = 2 * encoder_macs
        + eighth * eighth * (w / 2) * w
        + eighth * eighth * correlation * w
        + eighth * eighth * 2 * w * joint_in * 9
        + eighth * eighth * 2 * 2 * w * 9
        + eighth * eighth * 2 * 2 * 16
        + eighth * eighth * 2 * w * w * 16
        + quarter * quarter * 2 * (2 * w + 2) * 9;
    push("lite flow (7 pairs)", flow_params, pairs * flow_macs);
    Some(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::mol::MolModel;
    use tch::Device;

    #[test]
    fn lite_table_matches_the_built_model_and_counts_its_flops() {
        let config = MolConfig::lite();
        let rows = layer_costs(&config).expect("a lite config is tabulated");
        let params: u64 = rows.iter().map(|r| r.params).sum();
        let model = MolModel::new(config.clone(), Device::Cpu).expect("model");
        assert_eq!(params as i64, model.param_count());
        let flops: u64 = rows.iter().map(LayerCost::flops).sum();
        // 86.9 M multiply-accumulates a clip.
        assert_eq!(flops, 173_792_768);
        assert!(layer_costs(&MolConfig::official(3).expect("official")).is_none());
    }
}
