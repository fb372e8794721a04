//! A wake-up flag that both async tasks (through a `Waker`) and plain threads
//! (through a condition variable) can wait on: how a stream, a handler's reply or the
//! registry tells a connection's loop that there is work.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use ssh_proto::ChannelId;

#[derive(Debug, Default)]
struct WakeState {
    notified: bool,
    waker: Option<Waker>,
    /// Channels whose streams have news (output, reads, commands), so the loop visits
    /// those instead of every channel.
    channels: Vec<ChannelId>,
}

/// A single-waiter notification, set by any thread, consumed by the waiter.
#[derive(Debug, Default)]
pub struct Wakeup {
    state: Mutex<WakeState>,
    cond: Condvar,
}

impl Wakeup {
    /// A wake-up with nothing pending.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, WakeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Mark work pending and wake the waiter, whichever way it waits.
    pub fn notify(&self) {
        self.wake(None);
    }

    /// Mark `channel` as having news and wake the waiter.
    pub(crate) fn notify_channel(&self, channel: ChannelId) {
        self.wake(Some(channel));
    }

    fn wake(&self, channel: Option<ChannelId>) {
        let waker = {
            let mut s = self.lock();
            s.notified = true;
            s.channels.extend(channel);
            s.waker.take()
        };
        self.cond.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Move the channels with news into `into` (emptying the list).
    pub(crate) fn take_channels(&self, into: &mut Vec<ChannelId>) {
        let mut s = self.lock();
        into.append(&mut s.channels);
        // Nothing had news: a quiet connection keeps no list.
        if s.channels.capacity() > 0 && into.is_empty() {
            s.channels = Vec::new();
        }
    }

    /// Async wait: Ready (and cleared) once notified, else registers the task's waker.
    pub fn poll_notified(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.lock();
        if std::mem::take(&mut s.notified) {
            Poll::Ready(())
        } else {
            s.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    /// Blocking wait until notified or `deadline` passes; returns whether notified.
    pub fn wait(&self, deadline: Option<Instant>) -> bool {
        let mut s = self.lock();
        loop {
            if std::mem::take(&mut s.notified) {
                return true;
            }
            match deadline {
                None => s = self.cond.wait(s).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return false;
                    }
                    s = self
                        .cond
                        .wait_timeout(s, d - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_thread_wakes_a_blocked_waiter_and_timeouts_expire() {
        let w = Arc::new(Wakeup::new());
        assert!(!w.wait(Some(Instant::now() + Duration::from_millis(5))));
        let w2 = w.clone();
        let t = std::thread::spawn(move || w2.notify());
        assert!(w.wait(None));
        t.join().unwrap();
        w.notify();
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(w.poll_notified(&mut cx).is_ready());
        assert!(w.poll_notified(&mut cx).is_pending());
    }
}
