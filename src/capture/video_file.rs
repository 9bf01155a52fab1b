//! Video files through OpenCV's VideoCapture (FFmpeg on Debian), and the
//! opener the analysis and playback share.
use std::path::{Path, PathBuf};

use opencv::core::{Mat, MatTraitConst};
use opencv::videoio::{self, VideoCapture, VideoCaptureTrait, VideoCaptureTraitConst};

use super::avi_index::read_avi_frames;
use super::{CaptureError, Frame, FrameSource, SourceInfo, SourceKind};

/// Undecodable frames in a row after which a file counts as ended
/// (a truncated file fails on every read past the cut).
const MAX_FAILED_READS: u32 = 25;

/// A video file's decoder, whose frames come out as the file says to show
/// them: a phone's portrait video stores the sensor's landscape picture and
/// a display matrix that turns it.
///
/// OpenCV 4.6 with FFmpeg 5 turns such frames itself, but a quarter turn
/// the wrong way (a portrait clip comes out upside down:
/// `tests/rotation.rs`); its own turning is switched off and the frames
/// turned here, by the clockwise angle FFmpeg's player uses, which is 360°
/// less OpenCV's `CAP_PROP_ORIENTATION_META`.
pub struct OrientedCapture {
    capture: VideoCapture,
    /// Clockwise degrees the stored picture is turned for display: 0, 90,
    /// 180 or 270.
    pub rotation_deg: i32,
}

impl OrientedCapture {
    fn turn(&self) -> Option<opencv::core::RotateFlags> {
        match self.rotation_deg {
            90 => Some(opencv::core::RotateFlags::ROTATE_90_CLOCKWISE),
            180 => Some(opencv::core::RotateFlags::ROTATE_180),
            270 => Some(opencv::core::RotateFlags::ROTATE_90_COUNTERCLOCKWISE),
            _ => None,
        }
    }

    /// Reads the next frame, turned for display; `false` at the end or on
    /// an undecodable frame, as `VideoCapture::read`.
    pub fn read(&mut self, out: &mut Mat) -> opencv::Result<bool> {
        let Some(turn) = self.turn() else { return self.capture.read(out) };
        let mut stored = Mat::default();
        if !self.capture.read(&mut stored)? || stored.empty() {
            *out = stored;
            return Ok(false);
        }
        opencv::core::rotate(&stored, out, turn as i32)?;
        Ok(true)
    }

    pub fn get(&self, property: i32) -> opencv::Result<f64> {
        self.capture.get(property)
    }

    pub fn set(&mut self, property: i32, value: f64) -> opencv::Result<bool> {
        self.capture.set(property, value)
    }

    /// Width and height of the frames as shown.
    pub fn shown_size(&self) -> opencv::Result<(i32, i32)> {
        let (w, h) =
            (self.get(videoio::CAP_PROP_FRAME_WIDTH)? as i32, self.get(videoio::CAP_PROP_FRAME_HEIGHT)? as i32);
        Ok(if self.rotation_deg % 180 == 90 { (h, w) } else { (w, h) })
    }
}

/// Opens `path` for decoding with FFmpeg: the one way Glimpse opens a video
/// file, for the analysis and for playback alike, so both see the same
/// frames, turned as the file says to show them.
pub fn open_video_capture(path: &Path) -> Result<OrientedCapture, CaptureError> {
    let not_video = |reason: &str| CaptureError::NotVideo { path: path.to_path_buf(), reason: reason.into() };
    let ocv = |source| CaptureError::OpenCv { path: path.to_path_buf(), source };
    let name = path.to_str().ok_or_else(|| not_video("the path is not valid UTF-8"))?;
    if std::fs::metadata(path).map(|m| m.len() == 0).unwrap_or(false) {
        return Err(not_video("the file is empty"));
    }
    let mut capture = VideoCapture::from_file(name, videoio::CAP_FFMPEG).map_err(ocv)?;
    if !capture.is_opened().map_err(ocv)? {
        return Err(not_video(&why_unopenable(path)));
    }
    capture.set(videoio::CAP_PROP_ORIENTATION_AUTO, 0.0).map_err(ocv)?;
    let opencv_angle = capture.get(videoio::CAP_PROP_ORIENTATION_META).map_err(ocv)?;
    let rotation_deg =
        if opencv_angle.is_finite() { (360 - (opencv_angle.round() as i32).rem_euclid(360)) % 360 } else { 0 };
    // Only quarter turns are turned; any other angle is shown as stored.
    let rotation_deg = if rotation_deg % 90 == 0 { rotation_deg } else { 0 };
    Ok(OrientedCapture { capture, rotation_deg })
}

/// Why FFmpeg could not open `path`, as far as its first bytes tell: an
/// MP4/MOV whose index (`moov` box) never got written is a recording that
/// was cut off (a full disk, a crash, a pulled card), which FFmpeg reports
/// as an unknown format.
fn why_unopenable(path: &Path) -> String {
    use std::io::{Read, Seek, SeekFrom};
    const UNKNOWN: &str = "FFmpeg does not recognise its format or codec";
    // Walks the top-level boxes by their headers (16 bytes each, so a
    // multi-gigabyte file costs a few reads).
    let Ok(mut file) = std::fs::File::open(path) else { return UNKNOWN.into() };
    let Ok(length) = file.metadata().map(|m| m.len()) else { return UNKNOWN.into() };
    let mut boxes = Vec::new();
    let mut at = 0u64;
    let mut cut_short = false;
    while at + 8 <= length && boxes.len() < 10_000 {
        let mut header = [0u8; 16];
        let available = (length - at).min(16) as usize;
        if file.seek(SeekFrom::Start(at)).is_err() || file.read_exact(&mut header[..available]).is_err() {
            break;
        }
        let kind = header[4..8].to_vec();
        if !kind.iter().all(|b| b.is_ascii_alphanumeric() || *b == b' ') {
            break;
        }
        let size = match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
            0 => length - at,
            1 if available == 16 => u64::from_be_bytes(header[8..16].try_into().unwrap_or([0; 8])),
            n => u64::from(n),
        };
        boxes.push(kind);
        if size < 8 {
            break;
        }
        if at + size > length {
            cut_short = true;
            break;
        }
        at += size;
    }
    let is_mp4 = boxes.first().is_some_and(|b| b == b"ftyp");
    if is_mp4 && !boxes.iter().any(|b| b == b"moov") {
        let how = if cut_short { "the file ends inside its media data" } else { "it holds media data only" };
        return format!(
            "an MP4/MOV file without its index (no 'moov' box; {how}): the recording was cut off before it was \
             finished (truncated file), and its frames cannot be located"
        );
    }
    UNKNOWN.into()
}

pub struct VideoFile {
    info: SourceInfo,
    capture: OrientedCapture,
    next_index: u64,
    last_timestamp_s: f64,
    warnings: Vec<String>,
    ended: bool,
    /// For an AVI with damaged frames: the source frame number of each
    /// frame that still decodes, in order (see `avi_index`).
    source_numbers: Option<Vec<u64>>,
}

// VideoCapture holds a raw pointer; it is used from one thread at a time.
unsafe impl Send for VideoFile {}

impl VideoFile {
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let ocv = |source| CaptureError::OpenCv { path: path.to_path_buf(), source };
        let capture = open_video_capture(path)?;
        let get = |prop| capture.get(prop).map_err(ocv);
        let (width, height) = capture.shown_size().map_err(ocv)?;
        if width <= 0 || height <= 0 {
            return Err(CaptureError::NotVideo {
                path: path.to_path_buf(),
                reason: format!("it declares a {width}x{height} picture"),
            });
        }
        let nominal_fps = get(videoio::CAP_PROP_FPS)?.max(0.0);
        let mut count = get(videoio::CAP_PROP_FRAME_COUNT)?;
        let mut warnings = Vec::new();
        // An AVI with frame periods that hold no frame (damaged, or dropped
        // by a variable-rate writer): its decoded frames are numbered from
        // the index, as FFmpeg's reader renumbers them.
        let gappy = read_avi_frames(path).filter(|frames| !frames.is_whole());
        let source_numbers = gappy.map(|frames| {
            warnings.extend(frames.loss_warning(path));
            let numbers = frames.intact_numbers();
            count = numbers.len() as f64;
            numbers
        });
        let info = SourceInfo {
            path: path.to_path_buf(),
            kind: SourceKind::VideoFile,
            width,
            height,
            nominal_fps,
            frame_count: (count > 0.0).then_some(count as u64),
        };
        if capture.rotation_deg != 0 {
            // Said once, so a reader of the session knows the frames and the
            // coordinates in it are those of the picture as shown.
            warnings.push(format!(
                "{}: stored turned; frames turned {}° clockwise as the file says to show them",
                path.display(),
                capture.rotation_deg
            ));
        }
        Ok(Self {
            info,
            capture,
            next_index: 0,
            last_timestamp_s: f64::NEG_INFINITY,
            warnings,
            ended: false,
            source_numbers,
        })
    }

    fn path(&self) -> PathBuf {
        self.info.path.clone()
    }
}

impl FrameSource for VideoFile {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        if self.ended {
            return Ok(None);
        }
        let ocv = |source, path| CaptureError::OpenCv { path, source };
        let mut failed = 0;
        loop {
            let mut image = Mat::default();
            let ok = self.capture.read(&mut image).map_err(|e| ocv(e, self.path()))?;
            if ok && !image.empty() {
                let index = self.next_index;
                self.next_index += 1;
                let pos_ms = self.capture.get(videoio::CAP_PROP_POS_MSEC).map_err(|e| ocv(e, self.path()))?;
                let timestamp_s = self.timestamp(index, pos_ms);
                self.last_timestamp_s = timestamp_s;
                if image.typ() != opencv::core::CV_8UC3 {
                    return Err(CaptureError::BadFrame {
                        path: self.path(),
                        index,
                        problem: format!("decoded as OpenCV type {}, expected 8-bit BGR", image.typ()),
                    });
                }
                return Ok(Some(Frame { index, timestamp_s, image }));
            }
            // A failed read is the end of the stream, unless the container
            // says more frames follow (a damaged frame mid-file): skip a few.
            let more_expected = self.info.frame_count.is_some_and(|n| self.next_index + u64::from(failed) + 1 < n);
            failed += 1;
            if !more_expected || failed >= MAX_FAILED_READS {
                self.ended = true;
                if let Some(expected) = self.info.frame_count.filter(|&n| self.next_index + 1 < n) {
                    self.warnings.push(format!(
                        "{}: stream ended after {} of the {expected} frames the container declares (truncated or damaged file)",
                        self.info.path.display(),
                        self.next_index
                    ));
                }
                return Ok(None);
            }
        }
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
}

impl VideoFile {
    /// The container's presentation time, made strictly increasing; falls
    /// back to index / nominal fps where the container gives none.
    fn timestamp(&self, index: u64, pos_ms: f64) -> f64 {
        let frame_time = self.info.nominal_fps > 0.0;
        if let Some(&number) = self.source_numbers.as_ref().and_then(|n| n.get(index as usize)).filter(|_| frame_time) {
            // An AVI frame lasts one period: its time is its place in the file.
            return (number as f64 / self.info.nominal_fps).max(self.last_timestamp_s + 1e-6);
        }
        let from_container = pos_ms / 1000.0;
        let fallback =
            if self.info.nominal_fps > 0.0 { index as f64 / self.info.nominal_fps } else { index as f64 / 30.0 };
        let t = if pos_ms.is_finite() && (pos_ms > 0.0 || index == 0) { from_container } else { fallback };
        if t > self.last_timestamp_s {
            t
        } else {
            // Duplicate or backwards stamps: nudge forward by a nominal frame.
            let step = if self.info.nominal_fps > 0.0 { 1.0 / self.info.nominal_fps } else { 1.0 / 30.0 };
            self.last_timestamp_s + step
        }
    }
}
