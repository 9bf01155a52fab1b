//! Live capture: a thread reads frames as fast as its source gives them and
//! hands them over a small bounded queue. When the consumer (the analysis)
//! falls behind, the oldest waiting frame is dropped, never the newest, and
//! the drops are counted, so the consumer always works on the present and
//! the capture thread never waits on it.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, TrySendError};

use super::{CameraSource, CaptureError, Frame, FrameSource, SourceInfo};

/// What the capture thread reports.
pub enum FeedEvent {
    /// A frame and when the capture thread got it (for latency figures and
    /// for a clock that keeps running across a camera reconnect).
    Frame { frame: Frame, captured_at: Instant },
    /// The source ended (a file played to its end).
    Ended,
    /// The source failed (a camera unplugged); the feed is over.
    Failed(CaptureError),
}

/// Anything a capture thread can read frames from.
pub trait FrameProducer {
    fn info(&self) -> SourceInfo;
    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError>;
    /// Whether the source can wait while the session is paused: a recording
    /// can, a camera cannot (it delivers the present or nothing).
    fn can_hold(&self) -> bool {
        false
    }
    /// The source was held for `held`: a paced one moves its clock on by
    /// as much, so it goes on at its pace instead of catching up in a burst.
    fn held_for(&mut self, _held: Duration) {}
}

impl FrameProducer for Box<dyn FrameSource> {
    fn info(&self) -> SourceInfo {
        self.as_ref().info().clone()
    }
    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        self.as_mut().next_frame()
    }
}

impl FrameProducer for Box<dyn FrameProducer> {
    fn info(&self) -> SourceInfo {
        self.as_ref().info()
    }
    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        self.as_mut().next_frame()
    }
    fn can_hold(&self) -> bool {
        self.as_ref().can_hold()
    }
    fn held_for(&mut self, held: Duration) {
        self.as_mut().held_for(held);
    }
}

/// Plays a recorded source at its own pace, as a camera would deliver it:
/// for trying the live view without a camera, and for measuring it.
pub struct Paced<P> {
    inner: P,
    started: Option<(Instant, f64)>,
}

impl<P: FrameProducer> Paced<P> {
    pub fn new(inner: P) -> Self {
        Self { inner, started: None }
    }
}

impl<P: FrameProducer> FrameProducer for Paced<P> {
    fn info(&self) -> SourceInfo {
        self.inner.info()
    }
    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        let Some(frame) = self.inner.next_frame()? else { return Ok(None) };
        let (wall_start, media_start) = *self.started.get_or_insert((Instant::now(), frame.timestamp_s));
        let due = Duration::from_secs_f64((frame.timestamp_s - media_start).max(0.0));
        if let Some(wait) = due.checked_sub(wall_start.elapsed()) {
            std::thread::sleep(wait);
        }
        Ok(Some(frame))
    }
    fn can_hold(&self) -> bool {
        true
    }
    fn held_for(&mut self, held: Duration) {
        if let Some((wall_start, _)) = &mut self.started {
            *wall_start += held;
        }
    }
}

impl FrameProducer for CameraSource {
    fn info(&self) -> SourceInfo {
        CameraSource::info(self).clone()
    }
    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError> {
        CameraSource::next_frame(self)
    }
}

pub struct LiveFeed {
    events: Receiver<FeedEvent>,
    stop: Arc<AtomicBool>,
    /// Set while the session is paused; only a source that `can_hold` obeys.
    hold: Arc<AtomicBool>,
    can_hold: bool,
    dropped: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
    info: SourceInfo,
}

impl LiveFeed {
    /// Opens the source on a new capture thread (cameras must be opened on
    /// the thread that reads them) and starts reading. `wake` runs after
    /// each frame is queued (the UI passes `ctx.request_repaint`).
    pub fn start<P, F>(open: F, capacity: usize, wake: impl Fn() + Send + 'static) -> Result<Self, CaptureError>
    where
        P: FrameProducer,
        F: FnOnce() -> Result<P, CaptureError> + Send + 'static,
    {
        let (tx, events) = bounded::<FeedEvent>(capacity.max(1));
        let drain = events.clone();
        let (opened_tx, opened_rx) = bounded::<Result<(SourceInfo, bool), CaptureError>>(1);
        let stop = Arc::new(AtomicBool::new(false));
        let hold = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicU64::new(0));
        let (stop_flag, hold_flag, drop_count) = (stop.clone(), hold.clone(), dropped.clone());
        let thread = std::thread::Builder::new()
            .name("glimpse-capture".into())
            .spawn(move || {
                let mut source = match open() {
                    Ok(source) => source,
                    Err(e) => {
                        let _ = opened_tx.send(Err(e));
                        return;
                    }
                };
                let can_hold = source.can_hold();
                if opened_tx.send(Ok((source.info(), can_hold))).is_err() {
                    return;
                }
                // Waits while the feed is held; `false` once told to stop.
                let wait_while_held = |source: &mut P| {
                    if !can_hold || !hold_flag.load(Ordering::Relaxed) {
                        return !stop_flag.load(Ordering::Relaxed);
                    }
                    let since = Instant::now();
                    while hold_flag.load(Ordering::Relaxed) {
                        if stop_flag.load(Ordering::Relaxed) {
                            return false;
                        }
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    source.held_for(since.elapsed());
                    !stop_flag.load(Ordering::Relaxed)
                };
                while wait_while_held(&mut source) {
                    let frame = match source.next_frame() {
                        Ok(Some(frame)) => frame,
                        Ok(None) => {
                            let _ = tx.send(FeedEvent::Ended);
                            return;
                        }
                        Err(e) => {
                            let _ = tx.send(FeedEvent::Failed(e));
                            return;
                        }
                    };
                    // A frame read as the hold began waits for the release
                    // rather than being queued (and perhaps dropped) unseen.
                    if !wait_while_held(&mut source) {
                        return;
                    }
                    match tx.try_send(FeedEvent::Frame { frame, captured_at: Instant::now() }) {
                        Ok(()) => {}
                        Err(TrySendError::Full(event)) => {
                            // Make room by dropping the oldest waiting frame.
                            if drain.try_recv().is_ok() {
                                drop_count.fetch_add(1, Ordering::Relaxed);
                            }
                            if tx.try_send(event).is_err() {
                                drop_count.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(TrySendError::Disconnected(_)) => return,
                    }
                    wake();
                }
            })
            .map_err(CaptureError::Thread)?;
        let opened = opened_rx.recv().unwrap_or_else(|_| {
            Err(CaptureError::Camera { index: 0, problem: "the capture thread stopped while opening".into() })
        });
        match opened {
            Ok((info, can_hold)) => Ok(Self { events, stop, hold, can_hold, dropped, thread: Some(thread), info }),
            Err(e) => {
                let _ = thread.join();
                Err(e)
            }
        }
    }

    pub fn info(&self) -> &SourceInfo {
        &self.info
    }

    /// The next event, waiting at most `timeout`; `None` on timeout.
    pub fn next(&self, timeout: Duration) -> Option<FeedEvent> {
        match self.events.recv_timeout(timeout) {
            Ok(event) => Some(event),
            Err(RecvTimeoutError::Timeout) => None,
            // The thread ended without a word (cannot happen: it always
            // sends Ended or Failed); report it as an end.
            Err(RecvTimeoutError::Disconnected) => Some(FeedEvent::Ended),
        }
    }

    /// Whether `hold` pauses the source itself (a recording played as a camera).
    pub fn can_hold(&self) -> bool {
        self.can_hold
    }

    /// Holds the source where it is (`true`) or lets it go on; a camera
    /// ignores it.
    pub fn hold(&self, on: bool) {
        self.hold.store(on, Ordering::Relaxed);
    }

    /// Frames dropped so far because the consumer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn shut_down(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Unblock a final `send` of Ended/Failed.
        while self.events.try_recv().is_ok() {}
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for LiveFeed {
    fn drop(&mut self) {
        self.shut_down();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{self, CameraRequest};
    use std::path::PathBuf;

    fn demo_clip() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/demo/astronaut-demo.mp4")
    }

    #[test]
    fn a_slow_consumer_gets_the_newest_frames_and_the_drops_are_counted() {
        let clip = demo_clip();
        let feed = LiveFeed::start(move || capture::open(&clip, None), 2, || {}).expect("feed");
        assert_eq!(feed.info().width, 640);
        let mut received = Vec::new();
        loop {
            match feed.next(Duration::from_secs(10)) {
                Some(FeedEvent::Frame { frame, .. }) => {
                    received.push(frame.index);
                    // Analysis slower than decoding.
                    std::thread::sleep(Duration::from_millis(4));
                }
                Some(FeedEvent::Ended) => break,
                Some(FeedEvent::Failed(e)) => panic!("feed failed: {e}"),
                None => panic!("no frame for 10 s"),
            }
        }
        assert!(received.windows(2).all(|w| w[0] < w[1]), "frames arrive in order");
        assert_eq!(received.last(), Some(&359), "the newest frame is never the one dropped");
        assert!(feed.dropped() > 0, "decoding outpaces a 4 ms consumer");
        assert_eq!(received.len() as u64 + feed.dropped(), 360, "every frame is either delivered or counted");
    }

    #[test]
    fn a_paced_file_arrives_at_its_own_frame_rate() {
        let clip = demo_clip();
        let feed = LiveFeed::start(move || capture::open(&clip, None).map(Paced::new), 4, || {}).expect("feed");
        let mut arrivals = Vec::new();
        while arrivals.len() < 31 {
            match feed.next(Duration::from_secs(10)) {
                Some(FeedEvent::Frame { captured_at, .. }) => arrivals.push(captured_at),
                _ => panic!("the clip has more than 31 frames"),
            }
        }
        // 30 frame periods of the 30 fps demo clip: a second, not the few
        // milliseconds decoding takes.
        let span = arrivals[30].duration_since(arrivals[0]).as_secs_f64();
        assert!((0.95..1.2).contains(&span), "30 frames took {span:.3} s");
        assert_eq!(feed.dropped(), 0);
    }

    /// A held clip stops where it is: nothing arrives while it is held, and
    /// after the release it goes on from the next frame at its own pace.
    #[test]
    fn a_held_paced_file_waits_and_goes_on_from_the_same_frame() {
        let clip = demo_clip();
        let feed = LiveFeed::start(move || capture::open(&clip, None).map(Paced::new), 2, || {}).expect("feed");
        assert!(feed.can_hold());
        let frame_index = |event: Option<FeedEvent>| match event {
            Some(FeedEvent::Frame { frame, .. }) => Some(frame.index),
            _ => None,
        };
        let mut last = 0;
        for _ in 0..10 {
            last = frame_index(feed.next(Duration::from_secs(10))).expect("a frame");
        }
        feed.hold(true);
        // The frame being paced when the hold began may still come.
        while let Some(index) = frame_index(feed.next(Duration::from_millis(100))) {
            last = index;
        }
        assert_eq!(frame_index(feed.next(Duration::from_millis(600))), None, "nothing arrives while held");
        feed.hold(false);
        let released = Instant::now();
        let mut next = Vec::new();
        while next.len() < 16 {
            next.push(frame_index(feed.next(Duration::from_secs(10))).expect("a frame after the release"));
        }
        let expected: Vec<u64> = (last + 1..last + 17).collect();
        assert_eq!(next, expected, "no frame skipped across the hold");
        // 15 periods of the 30 fps clip after the first: half a second,
        // not a burst catching up on the 0.7 s held.
        let span = released.elapsed().as_secs_f64();
        assert!((0.45..0.9).contains(&span), "16 frames took {span:.3} s");
        assert_eq!(feed.dropped(), 0);
    }

    #[test]
    fn a_source_that_cannot_open_is_reported_by_start() {
        let err =
            LiveFeed::start(|| CameraSource::open(&CameraRequest { index: 98, ..CameraRequest::default() }), 4, || {})
                .err()
                .map(|e| format!("{:#}", anyhow::Error::new(e)))
                .unwrap_or_default();
        assert!(err.starts_with("camera 98: "), "{err}");
    }
}
