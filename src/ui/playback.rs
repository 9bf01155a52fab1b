//! Frames for the playhead: a decoder thread owns its own `VideoCapture`
//! (separate from the analysis, which reads the file front to back, but
//! opened the same way, by `capture::open_video_capture`) and
//! decodes whatever frame the UI asks for last. Stepping forward reads on;
//! a jump seeks. A folder of numbered frames (a data set's clip) is read a
//! file per frame. The UI never waits: it shows the latest frame that came back.
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use opencv::core::{Mat, MatTraitConst, MatTraitConstManual};
use opencv::imgproc;
use opencv::videoio;

use crate::capture::{frame_files, open_video_capture, CaptureError, OrientedCapture};

/// Jumps forward up to this many frames are read through rather than
/// sought: reading a few frames is faster than a seek to the previous
/// keyframe and exact where seeking in some containers is not.
const READ_THROUGH: u64 = 12;

pub struct DecodedFrame {
    pub index: u64,
    pub image: eframe::egui::ColorImage,
}

pub struct FrameDecoder {
    requests: Sender<u64>,
    pub frames: Receiver<Result<DecodedFrame, String>>,
    worker: Option<JoinHandle<()>>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlaybackError {
    #[error(transparent)]
    Open(#[from] CaptureError),
    #[error("cannot start the playback thread")]
    Thread(#[from] std::io::Error),
}

impl FrameDecoder {
    pub fn open(path: &Path, wake: impl Fn() + Send + 'static) -> Result<Self, PlaybackError> {
        let reader = if path.is_dir() {
            Reader::Folder(frame_files(path)?)
        } else {
            Reader::Video { capture: open_video_capture(path)?, next_index: 0 }
        };
        let (requests, request_rx) = unbounded::<u64>();
        // Two in flight: the UI shows one while the next decodes.
        let (frame_tx, frames) = bounded(2);
        let worker = std::thread::Builder::new()
            .name("glimpse-playback".into())
            .spawn(move || decode_loop(reader, &request_rx, &frame_tx, &wake))?;
        Ok(Self { requests, frames, worker: Some(worker) })
    }

    /// Asks for frame `index`; older requests still queued are dropped.
    pub fn request(&self, index: u64) {
        let _ = self.requests.send(index);
    }
}

impl Drop for FrameDecoder {
    fn drop(&mut self) {
        // Closing the request channel ends the loop; not joined, so that a
        // slow decode never freezes the UI.
        let (closed, _) = unbounded();
        self.requests = closed;
        drop(self.worker.take());
    }
}

/// Where the frames come from.
enum Reader {
    Video {
        capture: OrientedCapture,
        /// Index of the frame the next `read` returns.
        next_index: u64,
    },
    /// A folder's frames in order: any one is a file read.
    Folder(Vec<PathBuf>),
}

fn decode_loop(
    mut reader: Reader,
    requests: &Receiver<u64>,
    frames: &Sender<Result<DecodedFrame, String>>,
    wake: &dyn Fn(),
) {
    while let Ok(first) = requests.recv() {
        // Only the newest request matters (scrubbing sends many).
        let wanted = requests.try_iter().last().unwrap_or(first);
        let result = match &mut reader {
            Reader::Video { capture, next_index } => decode(capture, next_index, wanted),
            Reader::Folder(files) => read_file(files, wanted),
        };
        if frames.send(result).is_err() {
            return;
        }
        wake();
    }
}

fn decode(capture: &mut OrientedCapture, next_index: &mut u64, wanted: u64) -> Result<DecodedFrame, String> {
    let cv = |e: opencv::Error| e.message;
    if wanted < *next_index || wanted - *next_index > READ_THROUGH {
        capture.set(videoio::CAP_PROP_POS_FRAMES, wanted as f64).map_err(cv)?;
        *next_index = wanted;
    }
    let mut bgr = Mat::default();
    loop {
        if !capture.read(&mut bgr).map_err(cv)? || bgr.empty() {
            return Err(format!("frame {wanted} cannot be decoded (past the end?)"));
        }
        *next_index += 1;
        if *next_index > wanted {
            break;
        }
    }
    Ok(DecodedFrame { index: wanted, image: to_color_image(&bgr).map_err(cv)? })
}

/// Frame `wanted` of a folder: its file, read as an image.
fn read_file(files: &[PathBuf], wanted: u64) -> Result<DecodedFrame, String> {
    let file = usize::try_from(wanted)
        .ok()
        .and_then(|i| files.get(i))
        .ok_or_else(|| format!("frame {wanted} is past the folder's last ({} frames)", files.len()))?;
    let name = file.to_str().ok_or_else(|| format!("{}: the path is not valid UTF-8", file.display()))?;
    let bgr = opencv::imgcodecs::imread(name, opencv::imgcodecs::IMREAD_COLOR)
        .map_err(|e| format!("{}: {}", file.display(), e.message))?;
    if bgr.empty() {
        return Err(format!("{}: not a readable image", file.display()));
    }
    let image = to_color_image(&bgr).map_err(|e| format!("{}: {}", file.display(), e.message))?;
    Ok(DecodedFrame { index: wanted, image })
}

/// BGR `Mat` → egui's RGBA image.
pub fn to_color_image(bgr: &Mat) -> opencv::Result<eframe::egui::ColorImage> {
    let mut rgb = Mat::default();
    imgproc::cvt_color_def(bgr, &mut rgb, imgproc::COLOR_BGR2RGB)?;
    let size = [rgb.cols().max(0) as usize, rgb.rows().max(0) as usize];
    let bytes = if rgb.is_continuous() { rgb.data_bytes()?.to_vec() } else { rgb.try_clone()?.data_bytes()?.to_vec() };
    Ok(eframe::egui::ColorImage::from_rgb(size, &bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn fetch(decoder: &FrameDecoder, index: u64) -> DecodedFrame {
        decoder.request(index);
        decoder.frames.recv_timeout(Duration::from_secs(20)).expect("an answer").expect("a frame")
    }

    /// Stepping, reading through short jumps, seeking far and back all give
    /// the frame asked for, at the video's size.
    #[test]
    fn the_decoder_returns_the_frame_asked_for() {
        let clip = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/astronaut-demo.mp4");
        let decoder = FrameDecoder::open(&clip, || {}).expect("opens");
        for index in [0, 1, 2, 9, 200, 3, 359] {
            let frame = fetch(&decoder, index);
            assert_eq!(frame.index, index);
            assert_eq!(frame.image.size, [640, 480]);
        }
        // Frames decoded by stepping and by seeking agree.
        let stepped: Vec<_> = (0..=40).map(|i| fetch(&decoder, i)).map(|f| f.image).collect();
        let sought = fetch(&decoder, 40).image;
        let _ = fetch(&decoder, 300);
        let sought_again = fetch(&decoder, 40).image;
        assert_eq!(stepped[40], sought);
        assert_eq!(sought, sought_again);
        decoder.request(100_000);
        let past_end = decoder.frames.recv_timeout(Duration::from_secs(20)).expect("an answer");
        assert!(past_end.is_err(), "past the end is an error, not a hang");
    }

    /// A folder of numbered frames plays in the order of the numbers in
    /// the names (img10 after img9), any frame asked for.
    #[test]
    fn a_frame_folder_plays_in_the_order_of_its_numbers() {
        let dir = crate::files::scratch_dir("playback-folder");
        for (number, grey) in [(9, 10.0), (10, 200.0), (8, 90.0)] {
            let image = Mat::new_rows_cols_with_default(6, 8, opencv::core::CV_8UC3, opencv::core::Scalar::all(grey))
                .expect("mat");
            let path = dir.join(format!("img{number}.png"));
            let written =
                opencv::imgcodecs::imwrite(path.to_str().expect("utf-8"), &image, &opencv::core::Vector::new());
            assert!(written.expect("imwrite"));
        }
        let decoder = FrameDecoder::open(&dir, || {}).expect("opens");
        let grey = |frame: DecodedFrame| (frame.index, frame.image.size, frame.image.pixels[0].r());
        assert_eq!(grey(fetch(&decoder, 2)), (2, [8, 6], 200));
        assert_eq!(grey(fetch(&decoder, 0)), (0, [8, 6], 90));
        assert_eq!(grey(fetch(&decoder, 1)), (1, [8, 6], 10));
        decoder.request(3);
        let past_end = decoder.frames.recv_timeout(Duration::from_secs(20)).expect("an answer");
        assert_eq!(past_end.err().as_deref(), Some("frame 3 is past the folder's last (3 frames)"));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
