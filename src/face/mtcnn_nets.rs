//! The three MTCNN networks (P-Net, R-Net, O-Net) as facenet-pytorch 2.6.0
//! defines them, and the loading of their converted weights with every
//! tensor checked; the cascade that runs them is `mtcnn.rs`.
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

use super::FaceError;
use crate::model::epir_model::mismatches;

pub(super) fn prelu(p: &nn::Path, channels: i64) -> Tensor {
    p.var("weight", &[channels], nn::Init::Const(0.25))
}

pub(super) fn conv(p: nn::Path, cin: i64, cout: i64, k: i64) -> nn::Conv2D {
    nn::conv2d(p, cin, cout, k, Default::default())
}

pub(super) fn pool(x: &Tensor, k: i64, s: i64) -> Tensor {
    x.max_pool2d([k, k], [s, s], [0, 0], [1, 1], true)
}

/// facenet flattens NHWC-transposed (0, 3, 2, 1) before the dense layer.
pub(super) fn flatten_like_facenet(x: &Tensor) -> Tensor {
    let n = x.size()[0];
    x.permute([0, 3, 2, 1]).contiguous().view([n, -1])
}

pub(super) struct PNet {
    conv1: nn::Conv2D,
    prelu1: Tensor,
    conv2: nn::Conv2D,
    prelu2: Tensor,
    conv3: nn::Conv2D,
    prelu3: Tensor,
    conv4_1: nn::Conv2D,
    conv4_2: nn::Conv2D,
}

impl PNet {
    pub(super) fn new(p: &nn::Path) -> Self {
        Self {
            conv1: conv(p / "conv1", 3, 10, 3),
            prelu1: prelu(&(p / "prelu1"), 10),
            conv2: conv(p / "conv2", 10, 16, 3),
            prelu2: prelu(&(p / "prelu2"), 16),
            conv3: conv(p / "conv3", 16, 32, 3),
            prelu3: prelu(&(p / "prelu3"), 32),
            conv4_1: conv(p / "conv4_1", 32, 2, 1),
            conv4_2: conv(p / "conv4_2", 32, 4, 1),
        }
    }

    /// Box regression `[N, 4, H, W]` and face probabilities `[N, 2, H, W]`.
    pub(super) fn forward(&self, x: &Tensor) -> (Tensor, Tensor) {
        let x = pool(&self.conv1.forward(x).prelu(&self.prelu1), 2, 2);
        let x = self.conv2.forward(&x).prelu(&self.prelu2);
        let x = self.conv3.forward(&x).prelu(&self.prelu3);
        (self.conv4_2.forward(&x), self.conv4_1.forward(&x).softmax(1, Kind::Float))
    }
}

pub(super) struct RNet {
    conv1: nn::Conv2D,
    prelu1: Tensor,
    conv2: nn::Conv2D,
    prelu2: Tensor,
    conv3: nn::Conv2D,
    prelu3: Tensor,
    dense4: nn::Linear,
    prelu4: Tensor,
    dense5_1: nn::Linear,
    dense5_2: nn::Linear,
}

impl RNet {
    pub(super) fn new(p: &nn::Path) -> Self {
        Self {
            conv1: conv(p / "conv1", 3, 28, 3),
            prelu1: prelu(&(p / "prelu1"), 28),
            conv2: conv(p / "conv2", 28, 48, 3),
            prelu2: prelu(&(p / "prelu2"), 48),
            conv3: conv(p / "conv3", 48, 64, 2),
            prelu3: prelu(&(p / "prelu3"), 64),
            dense4: nn::linear(p / "dense4", 576, 128, Default::default()),
            prelu4: prelu(&(p / "prelu4"), 128),
            dense5_1: nn::linear(p / "dense5_1", 128, 2, Default::default()),
            dense5_2: nn::linear(p / "dense5_2", 128, 4, Default::default()),
        }
    }

    /// Box regression `[N, 4]` and probabilities `[N, 2]`.
    pub(super) fn forward(&self, x: &Tensor) -> (Tensor, Tensor) {
        let x = pool(&self.conv1.forward(x).prelu(&self.prelu1), 3, 2);
        let x = pool(&self.conv2.forward(&x).prelu(&self.prelu2), 3, 2);
        let x = self.conv3.forward(&x).prelu(&self.prelu3);
        let x = self.dense4.forward(&flatten_like_facenet(&x)).prelu(&self.prelu4);
        (self.dense5_2.forward(&x), self.dense5_1.forward(&x).softmax(1, Kind::Float))
    }
}

pub(super) struct ONet {
    conv1: nn::Conv2D,
    prelu1: Tensor,
    conv2: nn::Conv2D,
    prelu2: Tensor,
    conv3: nn::Conv2D,
    prelu3: Tensor,
    conv4: nn::Conv2D,
    prelu4: Tensor,
    dense5: nn::Linear,
    prelu5: Tensor,
    dense6_1: nn::Linear,
    dense6_2: nn::Linear,
    dense6_3: nn::Linear,
}

impl ONet {
    pub(super) fn new(p: &nn::Path) -> Self {
        Self {
            conv1: conv(p / "conv1", 3, 32, 3),
            prelu1: prelu(&(p / "prelu1"), 32),
            conv2: conv(p / "conv2", 32, 64, 3),
            prelu2: prelu(&(p / "prelu2"), 64),
            conv3: conv(p / "conv3", 64, 64, 3),
            prelu3: prelu(&(p / "prelu3"), 64),
            conv4: conv(p / "conv4", 64, 128, 2),
            prelu4: prelu(&(p / "prelu4"), 128),
            dense5: nn::linear(p / "dense5", 1152, 256, Default::default()),
            prelu5: prelu(&(p / "prelu5"), 256),
            dense6_1: nn::linear(p / "dense6_1", 256, 2, Default::default()),
            dense6_2: nn::linear(p / "dense6_2", 256, 4, Default::default()),
            dense6_3: nn::linear(p / "dense6_3", 256, 10, Default::default()),
        }
    }

    /// Box regression `[N, 4]`, landmarks `[N, 10]` (5 x then 5 y, relative
    /// to the box) and probabilities `[N, 2]`.
    pub(super) fn forward(&self, x: &Tensor) -> (Tensor, Tensor, Tensor) {
        let x = pool(&self.conv1.forward(x).prelu(&self.prelu1), 3, 2);
        let x = pool(&self.conv2.forward(&x).prelu(&self.prelu2), 3, 2);
        let x = pool(&self.conv3.forward(&x).prelu(&self.prelu3), 2, 2);
        let x = self.conv4.forward(&x).prelu(&self.prelu4);
        let x = self.dense5.forward(&flatten_like_facenet(&x)).prelu(&self.prelu5);
        (self.dense6_2.forward(&x), self.dense6_3.forward(&x), self.dense6_1.forward(&x).softmax(1, Kind::Float))
    }
}

/// Builds a network in a fresh store and fills it from `path`, refusing a
/// file whose tensor names or shapes differ from the architecture.
pub(super) fn load_net<T>(
    path: &Path,
    device: Device,
    build: impl FnOnce(&nn::Path) -> T,
) -> Result<(nn::VarStore, T), FaceError> {
    let weights_error = |problem: String| FaceError::Weights { path: path.to_path_buf(), problem };
    let mut store = nn::VarStore::new(device);
    let net = build(&store.root());
    if !path.is_file() {
        return Err(weights_error("file not found (set-up downloads and converts the MTCNN weights)".into()));
    }
    let stored =
        Tensor::read_safetensors(path).map_err(|source| FaceError::WeightsRead { path: path.to_path_buf(), source })?;
    let problems = mismatches(&store, &stored);
    let stored: BTreeMap<String, Tensor> = stored.into_iter().collect();
    let variables: HashMap<String, Tensor> = store.variables();
    if !problems.is_empty() {
        return Err(weights_error(format!("do not fit the network: {}", problems.join("; "))));
    }
    tch::no_grad(|| -> Result<(), FaceError> {
        for (name, variable) in &variables {
            if let Some(value) = stored.get(name) {
                let mut variable = variable.shallow_clone();
                variable.f_copy_(&value.to_kind(Kind::Float)).map_err(|source| FaceError::WeightsTensor {
                    path: path.to_path_buf(),
                    name: name.clone(),
                    source,
                })?;
            }
        }
        Ok(())
    })?;
    store.freeze();
    Ok((store, net))
}
