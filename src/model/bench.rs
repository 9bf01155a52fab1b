//! `glimpse bench model`: size, per-layer FLOPs and forward latency of EPIR.
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use super::flops::{layer_costs, LayerCost};
use super::EpirModel;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Latency {
    pub device: String,
    /// Two forward passes per input (input and mirror) when true.
    #[serde(default)]
    pub test_time_mirror: bool,
    pub batch: i64,
    pub runs: usize,
    pub median_ms: f64,
    pub p95_ms: f64,
    pub min_ms: f64,
    pub per_sample_ms: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelBench {
    pub params: u64,
    pub flops_per_sample: u64,
    pub layers: Vec<LayerCost>,
    pub cpu_threads: i32,
    pub latencies: Vec<Latency>,
}

/// Times the inference path (no gradients) of `model` at one batch size:
/// `warmup` untimed runs, then `runs` (at least one) timed ones.
pub fn time_forward(model: &EpirModel, batch: i64, warmup: usize, runs: usize) -> Latency {
    let c = &model.config;
    let side = crate::model::input::INPUT_SIDE as i64;
    let input = Tensor::rand([batch, c.input_channels(), side, side], (Kind::Float, model.device));
    let times = timed_runs(model.device, warmup, runs, || {
        // The inference path the product uses, mirror averaging included.
        let (probabilities, _) = model.probabilities(&input, model.config.test_time_mirror);
        // Reading one value forces the computation to finish on any device.
        let _ = f64::try_from(probabilities.sum(Kind::Float));
    });
    Latency::from_times(model.device, model.config.test_time_mirror, batch, &times)
}

/// Milliseconds of `runs` (at least one) timed calls of `pass` after
/// `warmup` untimed ones, sorted; a GPU is synchronised around each call.
pub fn timed_runs(device: Device, warmup: usize, runs: usize, mut pass: impl FnMut()) -> Vec<f64> {
    let runs = runs.max(1);
    let sync = || {
        if let Device::Cuda(index) = device {
            tch::Cuda::synchronize(index as i64);
        }
    };
    let mut times = Vec::with_capacity(runs);
    for i in 0..warmup + runs {
        sync();
        let start = Instant::now();
        pass();
        sync();
        if i >= warmup {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    times
}

impl Latency {
    /// Median, p95 and minimum of sorted, non-empty `times` (ms).
    pub fn from_times(device: Device, test_time_mirror: bool, batch: i64, times: &[f64]) -> Self {
        let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        let median = pick(0.5);
        Self {
            device: crate::device::describe(device),
            test_time_mirror,
            batch,
            runs: times.len(),
            median_ms: median,
            p95_ms: pick(0.95),
            min_ms: times[0],
            per_sample_ms: median / batch as f64,
        }
    }

    /// The device, marked when each input also ran mirrored.
    pub fn label(&self) -> String {
        if self.test_time_mirror {
            format!("{} (with mirror pass)", self.device)
        } else {
            self.device.clone()
        }
    }
}

/// Benchmarks the CPU model, and the GPU one when given, at each batch size.
pub fn bench_model(cpu: &EpirModel, gpu: Option<&EpirModel>, batches: &[i64], runs: usize) -> ModelBench {
    let layers = layer_costs(&cpu.config);
    let mut latencies = Vec::new();
    for model in std::iter::once(cpu).chain(gpu) {
        for &batch in batches {
            let runs_here = if batch > 1 { runs.div_ceil(4).max(10) } else { runs };
            latencies.push(time_forward(model, batch, runs_here.div_ceil(5).max(5), runs_here));
        }
    }
    ModelBench {
        params: cpu.param_count(),
        flops_per_sample: layers.iter().map(LayerCost::flops).sum(),
        layers,
        cpu_threads: tch::get_num_threads(),
        latencies,
    }
}

pub fn table(bench: &ModelBench) -> String {
    let mut out = String::new();
    out.push_str(&format!("{:<40} {:>10} {:>12}\n", "layer", "params", "FLOPs"));
    for layer in &bench.layers {
        out.push_str(&format!("{:<40} {:>10} {:>12}\n", layer.name, layer.params, layer.flops()));
    }
    out.push_str(&format!("{:<40} {:>10} {:>12}\n\n", "total", bench.params, bench.flops_per_sample));
    out.push_str(&format!(
        "{:<36} {:>6} {:>6} {:>11} {:>9} {:>9} {:>12}\n",
        "device", "batch", "runs", "median ms", "p95 ms", "min ms", "ms/sample"
    ));
    for l in &bench.latencies {
        out.push_str(&format!(
            "{:<36} {:>6} {:>6} {:>11.3} {:>9.3} {:>9.3} {:>12.4}\n",
            l.label(),
            l.batch,
            l.runs,
            l.median_ms,
            l.p95_ms,
            l.min_ms,
            l.per_sample_ms
        ));
    }
    out
}
