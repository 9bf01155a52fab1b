//! `glimpse bench mol`: size, per-layer FLOPs (where tabulated) and the
//! latency of one event's forward pass (one 8-frame clip, batch 1, no
//! gradients) for each MOL config, on the CPU and on a GPU when present.
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use super::cost::layer_costs;
use super::{MolConfig, MolError, MolModel};
use crate::model::bench::{timed_runs, Latency};
use crate::model::flops::LayerCost;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MolBench {
    /// `lite` or `official`.
    pub name: String,
    pub config: MolConfig,
    /// Trainable parameters of the built model.
    pub params: u64,
    /// Per-layer cost of one clip; empty where not tabulated (FlowNetC).
    pub layers: Vec<LayerCost>,
    /// FLOPs of one clip, `None` where not tabulated.
    pub flops_per_clip: Option<u64>,
    pub cpu_threads: i32,
    /// One event = one clip at batch 1.
    pub latencies: Vec<Latency>,
}

/// Times one clip's forward pass of `model`: `warmup` untimed runs, then
/// `runs` (at least one) timed ones.
pub fn time_clip(model: &MolModel, warmup: usize, runs: usize) -> Result<Latency, MolError> {
    let (frames, side) = (model.config.frames, model.config.image_size);
    let input = model.checked_frames(&Tensor::rand([1, frames, side, side], (Kind::Float, model.device)))?;
    let times = timed_runs(model.device, warmup, runs, || {
        let out = tch::no_grad(|| model.net.forward(&input, false));
        // Reading values forces the computation to finish on any device.
        let _ = f64::try_from(out.class_logits.sum(Kind::Float));
        let _ = f64::try_from(out.flows.sum(Kind::Float));
    });
    Ok(Latency::from_times(model.device, false, 1, &times))
}

/// Builds `config` on the CPU (and on `gpu` when given) and times it.
pub fn bench_mol(name: &str, config: MolConfig, gpu: Option<Device>, runs: usize) -> Result<MolBench, MolError> {
    let layers = layer_costs(&config).unwrap_or_default();
    let flops_per_clip = (!layers.is_empty()).then(|| layers.iter().map(LayerCost::flops).sum());
    let cpu = MolModel::new(config.clone(), Device::Cpu)?;
    let mut latencies = vec![time_clip(&cpu, runs.div_ceil(5).max(1), runs)?];
    let params = cpu.param_count() as u64;
    drop(cpu);
    if let Some(device) = gpu {
        let model = MolModel::new(config.clone(), device)?;
        latencies.push(time_clip(&model, runs.div_ceil(5).max(3), runs)?);
    }
    Ok(MolBench { name: name.into(), config, params, layers, flops_per_clip, cpu_threads: tch::get_num_threads(), latencies })
}

pub fn table(benches: &[MolBench]) -> String {
    let mut out = String::new();
    for bench in benches {
        out.push_str(&format!("MOL {} ({} frames of {}x{} px)\n", bench.name, bench.config.frames, bench.config.image_size, bench.config.image_size));
        out.push_str(&format!("{:<44} {:>10} {:>14}\n", "layer", "params", "FLOPs"));
        for layer in &bench.layers {
            out.push_str(&format!("{:<44} {:>10} {:>14}\n", layer.name, layer.params, layer.flops()));
        }
        let flops = bench.flops_per_clip.map_or("not tabulated".to_string(), |f| f.to_string());
        out.push_str(&format!("{:<44} {:>10} {:>14}\n", "total (built model's parameters)", bench.params, flops));
        out.push_str(&format!("{:<36} {:>6} {:>14} {:>9} {:>9}\n", "device", "runs", "ms per event", "p95 ms", "min ms"));
        for l in &bench.latencies {
            out.push_str(&format!(
                "{:<36} {:>6} {:>14.1} {:>9.1} {:>9.1}\n",
                l.device, l.runs, l.median_ms, l.p95_ms, l.min_ms
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lite_bench_counts_the_built_model_and_times_real_forward_passes() {
        let bench = bench_mol("lite", MolConfig::lite(), None, 2).expect("bench");
        assert_eq!(bench.params, 988_003);
        assert_eq!(bench.flops_per_clip, Some(173_792_768));
        assert_eq!(bench.latencies.len(), 1);
        let cpu = &bench.latencies[0];
        assert_eq!(cpu.runs, 2);
        // A 174-MFLOP pass cannot take under 0.1 ms on a CPU.
        assert!(cpu.min_ms > 0.1 && cpu.min_ms <= cpu.median_ms && cpu.median_ms <= cpu.p95_ms, "{cpu:?}");
        let text = table(&[bench]);
        assert!(text.contains("988003") && text.contains("173792768"), "{text}");
    }
}
