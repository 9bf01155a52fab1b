//! Frames for the playhead: a decoder thread owns its own `VideoCapture`
//! (separate from the analysis, which reads the file front to back, but
//! opened the same way, by `capture::open_video_capture`) and
//! decodes whatever frame the UI asks for last. Stepping forward reads on;
//! a jump seeks. The UI never waits: it shows the latest frame that came back.
use std::path::Path;
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use opencv::core::{Mat, MatTraitConst, MatTraitConstManual};
use opencv::imgproc;
use opencv::videoio;

use crate::capture::{open_video_capture, CaptureError, OrientedCapture};

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
        let capture = open_video_capture(path)?;
        let (requests, request_rx) = unbounded::<u64>();
        // Two in flight: the UI shows one while the next decodes.
        let (frame_tx, frames) = bounded(2);
        let worker = std::thread::Builder::new()
            .name("glimpse-playback".into())
            .spawn(move || decode_loop(capture, &request_rx, &frame_tx, &wake))?;
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

fn decode_loop(
    mut capture: OrientedCapture,
    requests: &Receiver<u64>,
    frames: &Sender<Result<DecodedFrame, String>>,
    wake: &dyn Fn(),
) {
    // Index of the frame the next `read` returns.
    let mut next_index = 0u64;
    while let Ok(first) = requests.recv() {
        // Only the newest request matters (scrubbing sends many).
        let wanted = requests.try_iter().last().unwrap_or(first);
        let result = decode(&mut capture, &mut next_index, wanted);
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
}
