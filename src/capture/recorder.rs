//! Records what a live session analysed, so the session can be reviewed
//! later with the video under it. Frames are MJPEG in AVI, written by
//! OpenCV's own MJPEG writer: each frame reaches the file as it is written
//! and only the index waits for the close, and FFmpeg plays an AVI without
//! its index; so a recording cut short by a crash still plays up to its
//! last frames, beside the autosaved session. (FFmpeg's Matroska muxer,
//! tried first, holds back up to 5 s of frames per cluster.)
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Sender};
use opencv::core::{Mat, Size};
use opencv::videoio::{self, VideoWriter, VideoWriterTrait, VideoWriterTraitConst};

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("recording {path}: {problem}")]
    Open { path: PathBuf, problem: String },
    #[error("recording {path}: cannot create the file (an earlier recording is never overwritten)")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("recording {path}: cannot create its folder")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("recording {path}: OpenCV cannot open an MJPEG writer")]
    Writer {
        path: PathBuf,
        #[source]
        source: opencv::Error,
    },
    #[error("recording {path}: cannot start the writer thread")]
    Thread {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("recording {path}: frame {frame}")]
    Write {
        path: PathBuf,
        frame: u64,
        #[source]
        source: opencv::Error,
    },
    #[error("recording {path}: the writer thread stopped")]
    Stopped { path: PathBuf },
    #[error("recording {path}: the file holds {readable} of the {written} frames written (disk full?)")]
    Short { path: PathBuf, written: u64, readable: u64 },
}

/// Frames the AVI's index says it holds (0 when it cannot be opened).
/// OpenCV's writer does not report a failed write, so a full disk is only
/// seen by reading the file back; the index is read, not every frame, so
/// this stays quick after an hour-long session.
fn indexed_frames(path: &Path) -> u64 {
    use opencv::videoio::{VideoCapture, VideoCaptureTraitConst, CAP_PROP_FRAME_COUNT};
    let Some(name) = path.to_str() else { return 0 };
    let Ok(capture) = VideoCapture::from_file(name, videoio::CAP_OPENCV_MJPEG) else { return 0 };
    if !capture.is_opened().unwrap_or(false) {
        return 0;
    }
    capture.get(CAP_PROP_FRAME_COUNT).map_or(0, |n| if n.is_finite() && n > 0.0 { n as u64 } else { 0 })
}

/// A writer thread; frames are encoded off the analysis thread.
pub struct Recorder {
    path: PathBuf,
    frames: Option<Sender<Mat>>,
    thread: Option<JoinHandle<Result<u64, RecordError>>>,
}

impl Recorder {
    /// Opens `path` (.avi) for frames of `width`×`height` at `fps`.
    pub fn start(path: &Path, width: i32, height: i32, fps: f64) -> Result<Self, RecordError> {
        let open_err = |problem: &str| RecordError::Open { path: path.to_path_buf(), problem: problem.into() };
        let writer_err = |source| RecordError::Writer { path: path.to_path_buf(), source };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::files::create_private_dir_all(parent)
                .map_err(|source| RecordError::Folder { path: path.to_path_buf(), source })?;
        }
        // Created private before OpenCV opens it (it truncates and keeps the mode).
        crate::files::create_private_new(path)
            .map_err(|source| RecordError::Create { path: path.to_path_buf(), source })?;
        let name = path.to_str().ok_or_else(|| open_err("the path is not valid UTF-8"))?;
        let fourcc = VideoWriter::fourcc('M', 'J', 'P', 'G').map_err(writer_err)?;
        let fps = if fps.is_finite() && fps > 0.0 { fps } else { 30.0 };
        let mut writer =
            VideoWriter::new_with_backend(name, videoio::CAP_OPENCV_MJPEG, fourcc, fps, Size::new(width, height), true)
                .map_err(writer_err)?;
        if !writer.is_opened().map_err(writer_err)? {
            return Err(open_err("OpenCV cannot write an MJPEG AVI there"));
        }
        // A few frames of slack; a full queue makes the analysis wait (a
        // frame missing from the recording would shift every later one).
        let (frames, inbox) = bounded::<Mat>(8);
        let thread_path = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("glimpse-recorder".into())
            .spawn(move || {
                let mut written = 0u64;
                for frame in inbox {
                    writer.write(&frame).map_err(|source| RecordError::Write {
                        path: thread_path.clone(),
                        frame: written,
                        source,
                    })?;
                    written += 1;
                }
                writer.release().map_err(|source| RecordError::Write {
                    path: thread_path.clone(),
                    frame: written,
                    source,
                })?;
                let readable = indexed_frames(&thread_path);
                if readable < written {
                    return Err(RecordError::Short { path: thread_path.clone(), written, readable });
                }
                Ok(written)
            })
            .map_err(|source| RecordError::Thread { path: path.to_path_buf(), source })?;
        Ok(Self { path: path.to_path_buf(), frames: Some(frames), thread: Some(thread) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues a frame (BGR, the size given at start).
    pub fn write(&self, frame: &Mat) -> Result<(), RecordError> {
        let sender = self.frames.as_ref().ok_or_else(|| RecordError::Stopped { path: self.path.clone() })?;
        sender.send(frame.clone()).map_err(|_| RecordError::Stopped { path: self.path.clone() })
    }

    /// Writes what is queued, closes the file and says how many frames it holds.
    pub fn finish(mut self) -> Result<u64, RecordError> {
        self.close()
    }

    fn close(&mut self) -> Result<u64, RecordError> {
        drop(self.frames.take());
        match self.thread.take() {
            Some(thread) => thread.join().unwrap_or_else(|_| Err(RecordError::Stopped { path: self.path.clone() })),
            None => Err(RecordError::Stopped { path: self.path.clone() }),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture;

    #[test]
    fn a_recording_plays_back_frame_for_frame() {
        let dir = std::env::temp_dir().join(format!("glimpse-recorder-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let clip = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/astronaut-demo.mp4");
        let mut source = capture::open(&clip, None).expect("demo clip");
        let path = dir.join("live.avi");
        let recorder = Recorder::start(&path, 640, 480, 30.0).expect("recorder");
        for _ in 0..45 {
            let frame = source.next_frame().expect("decodes").expect("a frame");
            recorder.write(&frame.image).expect("queued");
        }
        assert_eq!(recorder.finish().expect("closed"), 45);
        let mut replay = capture::open(&path, None).expect("the recording opens");
        assert_eq!((replay.info().width, replay.info().height), (640, 480));
        let mut count = 0;
        while replay.next_frame().expect("decodes").is_some() {
            count += 1;
        }
        assert_eq!(count, 45);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
