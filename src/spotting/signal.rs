//! The spotting signal. Region motion is measured from a reference frame a
//! fixed gap L back (L longer than any micro-expression): b(t) = |d(t) − d(t−L)|.
//! Alone, b shows every event twice, the second time L later as the face
//! returns (the reference then sits inside the event). Taking
//! s(t) = min(b(t), b(t+L)) keeps the event (both sides see neutral frames)
//! and cancels the echo (one side sees the event on both ends).
use std::collections::VecDeque;

/// Motion of one face at one frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MotionSample {
    pub frame: u64,
    pub timestamp_s: f64,
    /// Expressive-region motion (brows, mouth), head motion removed, px.
    pub expressive: f32,
    /// Eye-region motion (blinks), px.
    pub eyes: f32,
    /// The head's own displacement (removed from the above), px.
    pub head: f32,
}

/// Turns backward-referenced samples b(t) into two-sided ones s(t), L later.
pub struct TwoSidedSignal {
    gap_s: f64,
    pending: VecDeque<MotionSample>,
}

impl TwoSidedSignal {
    pub fn new(gap_s: f64) -> Self {
        Self { gap_s, pending: VecDeque::new() }
    }

    /// Adds b(t); returns the samples whose s is now known.
    pub fn push(&mut self, sample: MotionSample) -> Vec<MotionSample> {
        let mut ready = Vec::new();
        while let Some(front) = self.pending.front() {
            if sample.timestamp_s + 1e-9 < front.timestamp_s + self.gap_s {
                break;
            }
            let mut s = *front;
            s.expressive = s.expressive.min(sample.expressive);
            s.eyes = s.eyes.min(sample.eyes);
            s.head = s.head.min(sample.head);
            ready.push(s);
            self.pending.pop_front();
        }
        self.pending.push_back(sample);
        ready
    }

    /// The last L seconds have no later frame to compare with: they come
    /// back one-sided (b, not s), echoes and all; callers should not spot
    /// on them.
    pub fn finish(&mut self) -> Vec<MotionSample> {
        self.pending.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// b(t) for a face displaced by `d` during frames 10..=14 (10 fps, L = 1 s).
    fn backward(d: f32) -> Vec<MotionSample> {
        let displacement = |f: i64| if (10..=14).contains(&f) { d } else { 0.0 };
        (0..40)
            .map(|f| MotionSample {
                frame: f as u64,
                timestamp_s: f as f64 / 10.0,
                expressive: (displacement(f) - displacement(f - 10)).abs(),
                eyes: 0.0,
                head: 0.0,
            })
            .collect()
    }

    #[test]
    fn the_echo_one_gap_later_cancels() {
        let b = backward(2.0);
        assert_eq!(b[12].expressive, 2.0);
        assert_eq!(b[22].expressive, 2.0, "b alone echoes the event 1 s later");
        let mut signal = TwoSidedSignal::new(1.0);
        let mut s: Vec<MotionSample> = b.iter().flat_map(|&x| signal.push(x)).collect();
        s.extend(signal.finish());
        assert_eq!(s.len(), 40);
        let above: Vec<u64> = s.iter().filter(|x| x.expressive > 0.0).map(|x| x.frame).collect();
        assert_eq!(above, vec![10, 11, 12, 13, 14]);
    }
}
