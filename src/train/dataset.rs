//! The labelled flow data set (`labels.csv` + 28x28 flow PNGs), loaded and
//! checked row by row: a bad row names the file, the line and the problem.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::model::input::{from_rgb8, INPUT_SIDE};
const HEADER: [&str; 7] = ["dataset", "subject", "sample", "label", "label_name", "flow", "apex"];

#[derive(Clone, Debug)]
pub struct Sample {
    pub dataset: String,
    pub subject: String,
    pub sample: String,
    pub label: usize,
    /// CHW floats in 0..1; channels u, v, optical strain.
    pub flow: Vec<f32>,
    /// The apex face crop (`labels.csv`'s `apex` column, joined to the
    /// data set's folder), when the row names one; read only by MOL.
    pub apex: Option<PathBuf>,
}

impl Sample {
    /// Subjects are unique within a source data set, so this is the LOSO fold.
    pub fn fold_key(&self) -> String {
        format!("{}/{}", self.dataset, self.subject)
    }
}

#[derive(Debug)]
pub struct Dataset {
    pub root: PathBuf,
    pub class_names: Vec<String>,
    pub samples: Vec<Sample>,
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {reason}")]
    Read { path: PathBuf, reason: std::io::Error },
    #[error("{path}: the header must be `{expected}`, found `{found}`")]
    Header { path: PathBuf, expected: String, found: String },
    #[error("{path}, line {line}: {problem}")]
    Row { path: PathBuf, line: usize, problem: String },
    // The problem is typed but said in the message (not a `source`): the
    // data set's tests and users read it on one line.
    #[error("{image} (from {csv}, line {line}): {problem}")]
    Image { image: PathBuf, csv: PathBuf, line: usize, problem: FlowImageError },
    #[error("{path}: no samples")]
    Empty { path: PathBuf },
}

impl Dataset {
    /// Loads `<root>/labels.csv` and every flow image it names. Labels must
    /// be indices into `class_names` and agree with the `label_name` column.
    pub fn load(root: &Path, class_names: &[String]) -> Result<Self, DataError> {
        let csv = root.join("labels.csv");
        let text = std::fs::read_to_string(&csv).map_err(|reason| DataError::Read { path: csv.clone(), reason })?;
        let rows = parse_labels(&csv, &text, class_names)?;
        let mut samples = Vec::with_capacity(rows.len());
        for row in rows {
            let image = root.join(&row.flow);
            let flow = read_flow_image(&image).map_err(|problem| DataError::Image {
                image,
                csv: csv.clone(),
                line: row.line,
                problem,
            })?;
            samples.push(Sample {
                dataset: row.dataset,
                subject: row.subject,
                sample: row.sample,
                label: row.label,
                flow,
                apex: (!row.apex.is_empty()).then(|| root.join(&row.apex)),
            });
        }
        Ok(Self { root: root.to_path_buf(), class_names: class_names.to_vec(), samples })
    }

    /// Samples per class, in class order.
    pub fn class_counts(&self) -> Vec<usize> {
        count_classes(self.samples.iter(), self.class_names.len())
    }

    /// Fold keys in sorted order with the indices of their samples.
    pub fn folds(&self) -> BTreeMap<String, Vec<usize>> {
        let mut folds: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, sample) in self.samples.iter().enumerate() {
            folds.entry(sample.fold_key()).or_default().push(i);
        }
        folds
    }
}

pub fn count_classes<'a>(samples: impl Iterator<Item = &'a Sample>, classes: usize) -> Vec<usize> {
    let mut counts = vec![0; classes];
    for sample in samples {
        counts[sample.label] += 1;
    }
    counts
}

/// One row of `labels.csv`, checked, its image not yet read.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelRow {
    /// 1-based line in the file, for messages.
    pub line: usize,
    pub dataset: String,
    pub subject: String,
    pub sample: String,
    pub label: usize,
    /// The flow image, relative to the data set's folder.
    pub flow: String,
    /// The apex crop, relative to the data set's folder (may be empty).
    pub apex: String,
}

/// Parses and checks the text of a `labels.csv` (`csv` names it in errors).
pub fn parse_labels(csv: &Path, text: &str, class_names: &[String]) -> Result<Vec<LabelRow>, DataError> {
    let mut lines = text.lines().enumerate();
    let header = lines.next().map(|(_, l)| l.trim()).unwrap_or("");
    if header.split(',').map(str::trim).ne(HEADER) {
        return Err(DataError::Header {
            path: csv.to_path_buf(),
            expected: HEADER.join(","),
            found: header.to_string(),
        });
    }
    let mut rows = Vec::new();
    for (index, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        rows.push(parse_row(csv, index + 1, line, class_names)?);
    }
    if rows.is_empty() {
        return Err(DataError::Empty { path: csv.to_path_buf() });
    }
    Ok(rows)
}

fn parse_row(csv: &Path, line: usize, text: &str, class_names: &[String]) -> Result<LabelRow, DataError> {
    let row_error = |problem: String| DataError::Row { path: csv.to_path_buf(), line, problem };
    if text.contains('"') {
        return Err(row_error("quoted fields are not supported".into()));
    }
    let fields: Vec<&str> = text.split(',').map(str::trim).collect();
    if fields.len() != HEADER.len() {
        return Err(row_error(format!("expected {} fields, found {}", HEADER.len(), fields.len())));
    }
    for (name, value) in HEADER.iter().zip(&fields) {
        if value.is_empty() && *name != "apex" {
            return Err(row_error(format!("the `{name}` field is empty")));
        }
    }
    let label: usize =
        fields[3].parse().map_err(|_| row_error(format!("label `{}` is not a class index", fields[3])))?;
    let expected_name = class_names
        .get(label)
        .ok_or_else(|| row_error(format!("label {label} is out of range: there are {} classes", class_names.len())))?;
    if fields[4] != expected_name {
        return Err(row_error(format!("label {label} is `{expected_name}`, but the row names it `{}`", fields[4])));
    }
    Ok(LabelRow {
        line,
        dataset: fields[0].to_string(),
        subject: fields[1].to_string(),
        sample: fields[2].to_string(),
        label,
        flow: fields[5].to_string(),
        apex: fields[6].to_string(),
    })
}

/// Why a flow image could not be read; the underlying error is kept typed
/// and said in the message, which `DataError::Image` prints on one line.
#[derive(Debug, thiserror::Error)]
pub enum FlowImageError {
    #[error("file not found")]
    NotFound,
    #[error("cannot open it: {0}")]
    Open(std::io::Error),
    #[error("not a readable image (a PNG was expected: {0})")]
    Decode(png::DecodingError),
    #[error("expected a {side}x{side} 3-channel image, found {width}x{height}")]
    Size { side: usize, width: u32, height: u32 },
    #[error("not a readable image (a palette PNG that did not expand)")]
    Palette,
}

/// Reads a 28x28 flow PNG (R = u, G = v, B = strain) into the model's
/// input (`model::input`). Pure Rust, so training builds without OpenCV;
/// grey, palette, alpha and 16-bit PNGs are read as OpenCV's
/// `IMREAD_COLOR` read them (grey replicated, alpha dropped, high byte kept).
pub fn read_flow_image(path: &Path) -> Result<Vec<f32>, FlowImageError> {
    if !path.is_file() {
        return Err(FlowImageError::NotFound);
    }
    let file = std::fs::File::open(path).map_err(FlowImageError::Open)?;
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(FlowImageError::Decode)?;
    let side = INPUT_SIDE;
    let (width, height) = reader.info().size();
    if width != side as u32 || height != side as u32 {
        return Err(FlowImageError::Size { side, width, height });
    }
    // 28x28 at most 16-bit RGBA: the size is known to be small.
    let mut buffer = vec![0u8; reader.output_buffer_size().unwrap_or(side * side * 8)];
    let frame = reader.next_frame(&mut buffer).map_err(FlowImageError::Decode)?;
    let pixels = &buffer[..frame.buffer_size()];
    let rgb: Vec<u8> = match frame.color_type {
        png::ColorType::Rgb => pixels.to_vec(),
        png::ColorType::Rgba => pixels.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        png::ColorType::Grayscale => pixels.iter().flat_map(|&g| [g, g, g]).collect(),
        png::ColorType::GrayscaleAlpha => pixels.chunks_exact(2).flat_map(|p| [p[0], p[0], p[0]]).collect(),
        png::ColorType::Indexed => return Err(FlowImageError::Palette),
    };
    // The size was checked, so the pixel count fits.
    from_rgb8(&rgb).ok_or(FlowImageError::Size { side, width, height })
}
