//! Chooses the compute device once, at start-up, and says which it is.
use serde::{Deserialize, Serialize};
use tch::Device;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// CUDA when libtorch sees a GPU, otherwise the CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
}

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("--device cuda was asked for, but libtorch sees no CUDA device ({0})")]
    CudaUnavailable(String),
}

/// Loads libtorch's CUDA backend if it is installed. The linker drops
/// `libtorch_cuda.so` (no symbol of ours references it), and without it
/// libtorch reports no GPU even on a GPU machine, so we load it by hand.
/// Returns why CUDA cannot be used, if it cannot.
pub fn maybe_init_cuda() -> Result<(), String> {
    use std::sync::OnceLock;
    static LOADED: OnceLock<Result<(), String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let name = c"libtorch_cuda.so";
            // SAFETY: dlopen with a valid NUL-terminated name; the handle is
            // deliberately kept open for the life of the process.
            let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
            if handle.is_null() {
                Err("libtorch_cuda.so could not be loaded".to_string())
            } else {
                Ok(())
            }
        })
        .clone()
}

/// Picks the device for a `--device` choice. `Auto` never fails.
pub fn select_device(choice: DeviceChoice) -> Result<Device, DeviceError> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Cuda => match cuda_device() {
            Ok(device) => Ok(device),
            Err(why) => Err(DeviceError::CudaUnavailable(why)),
        },
        DeviceChoice::Auto => Ok(cuda_device().unwrap_or(Device::Cpu)),
    }
}

fn cuda_device() -> Result<Device, String> {
    maybe_init_cuda()?;
    if tch::Cuda::is_available() {
        Ok(Device::Cuda(0))
    } else {
        Err("no CUDA device is visible".to_string())
    }
}

/// What was asked and what it gave, for the line every command prints:
/// an `auto` that fell back to the CPU says why, so a lab that expected its
/// GPU to be used finds out at once.
pub fn announce(choice: DeviceChoice, device: Device) -> String {
    match (choice, device) {
        (DeviceChoice::Auto, Device::Cpu) => {
            let why = cuda_device().err().unwrap_or_else(|| "not tried".into());
            format!("{} (CUDA not used: {why})", describe(device))
        }
        _ => describe(device),
    }
}

/// The device chosen at start-up, and what was said about it.
#[derive(Clone, Debug)]
pub struct ChosenDevice {
    pub device: Device,
    /// The line every command prints (`announce`).
    pub line: String,
    /// `--device` on the command line, when given: the app's settings do
    /// not change the device that run.
    pub flag: Option<DeviceChoice>,
    /// Why the device asked for could not be had (the CPU runs instead).
    pub problem: Option<String>,
}

impl ChosenDevice {
    /// Selects `choice` and sets libtorch's threads for `usage` before
    /// saying so, so the line tells what the runs will use.
    pub fn choose(choice: DeviceChoice, flag: Option<DeviceChoice>, usage: ThreadUse) -> Result<Self, DeviceError> {
        let device = select_device(choice)?;
        configure_threads(device, usage);
        Ok(Self { device, line: announce(choice, device), flag, problem: None })
    }

    /// The CPU, when the choice failed with `problem`.
    pub fn cpu_because(problem: &DeviceError, flag: Option<DeviceChoice>, usage: ThreadUse) -> Self {
        configure_threads(Device::Cpu, usage);
        Self { device: Device::Cpu, line: describe(Device::Cpu), flag, problem: Some(problem.to_string()) }
    }
}

impl Default for ChosenDevice {
    /// The CPU, with nothing asked.
    fn default() -> Self {
        Self { device: Device::Cpu, line: describe(Device::Cpu), flag: None, problem: None }
    }
}

/// Who uses libtorch in this process, which decides its intra-op threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThreadUse {
    /// The video pipeline: decoding, detection, the UI and recording already
    /// share the cores, and libtorch's own threads on top of them only contend.
    Pipeline,
    /// Training or scoring, `parallel_jobs` folds at a time: parallel folds
    /// beat parallel kernels for a model this small, and one thread per model
    /// makes the result independent of the machine's core count.
    Training { parallel_jobs: usize },
    /// A benchmark or a single model: libtorch's default.
    Default,
}

/// The one place that sets libtorch's CPU threads. On CUDA nothing is set:
/// the kernels run on the GPU.
///
/// Training always runs each model on one thread: a reduction split over a
/// machine's cores sums in another order, so with libtorch's default a run
/// gave other weights on a machine with more cores. On CUDA, cuDNN's
/// benchmark mode (which picks kernels by timing them) is kept off for the
/// same reason.
pub fn configure_threads(device: Device, usage: ThreadUse) {
    if device.is_cuda() {
        if matches!(usage, ThreadUse::Training { .. }) {
            tch::Cuda::cudnn_set_benchmark(false);
        }
        return;
    }
    if let Some(threads) = cpu_threads(usage) {
        tch::set_num_threads(threads);
    }
}

/// libtorch's CPU threads for a use; `None` keeps its default (the cores).
fn cpu_threads(usage: ThreadUse) -> Option<i32> {
    match usage {
        ThreadUse::Pipeline | ThreadUse::Training { .. } => Some(1),
        ThreadUse::Default => None,
    }
}

/// A one-line description for logs and reports, e.g. `cpu (2 threads)`.
pub fn describe(device: Device) -> String {
    match device {
        Device::Cpu => format!("cpu ({} threads)", tch::get_num_threads()),
        Device::Cuda(index) => format!("cuda:{index} ({} visible)", tch::Cuda::device_count()),
        other => format!("{other:?}"),
    }
}

/// CPU model and core count, from /proc/cpuinfo where there is one: the
/// machine a benchmark or model card speaks of.
pub fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    format!("{cpu}, {cores} cores")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_runs_each_model_on_one_thread_whatever_the_job_count() {
        // One job used to keep libtorch's default, so its weights depended on the core count.
        for jobs in [1, 2, 16] {
            assert_eq!(cpu_threads(ThreadUse::Training { parallel_jobs: jobs }), Some(1), "{jobs} jobs");
        }
        assert_eq!(cpu_threads(ThreadUse::Pipeline), Some(1));
        assert_eq!(cpu_threads(ThreadUse::Default), None);
    }

    /// On a machine without a GPU (CI, this VM) `auto` gives the CPU and
    /// says why; `cuda` is an error that says why.
    #[test]
    fn auto_falls_back_to_the_cpu_and_says_why() {
        if cuda_device().is_ok() {
            return; // a GPU machine: nothing falls back
        }
        let device = select_device(DeviceChoice::Auto).expect("auto never fails");
        assert_eq!(device, Device::Cpu);
        let line = announce(DeviceChoice::Auto, device);
        assert!(line.starts_with("cpu (") && line.contains("CUDA not used: "), "{line}");
        assert_eq!(announce(DeviceChoice::Cpu, Device::Cpu), describe(Device::Cpu));
        let err = select_device(DeviceChoice::Cuda).expect_err("no GPU here").to_string();
        assert!(err.contains("--device cuda") && err.contains("no CUDA device"), "{err}");
    }
}
