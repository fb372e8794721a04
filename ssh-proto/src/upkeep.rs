//! Per-connection timers the server enforces by itself: the authentication deadline
//! (LoginGraceTime), the inactivity timeout, and keepalives that end a connection
//! whose peer stopped answering.

use std::time::{Duration, Instant};

use crate::error::Error;

/// Upkeep settings, taken from [`crate::ServerConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpkeepPolicy {
    /// Time from connect to successful authentication; None: no deadline.
    pub auth_timeout: Option<Duration>,
    /// Close after this long without activity (channel traffic or requests); None: never.
    pub idle_timeout: Option<Duration>,
    /// Send keepalive@openssh.com after this long without hearing from the peer.
    pub keepalive_interval: Option<Duration>,
    /// Keepalives left unanswered before the connection is dropped.
    pub keepalive_count_max: u32,
}

/// What a due timer asks the connection to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UpkeepAction {
    /// Nothing is due.
    Nothing,
    /// Send a keepalive wanting a reply.
    SendKeepalive,
    /// End the connection with this error.
    Close(Error),
}

/// The timers' state.
#[derive(Debug, Clone)]
pub(crate) struct Upkeep {
    policy: UpkeepPolicy,
    started: Instant,
    last_activity: Instant,
    last_heard: Instant,
    unanswered: u32,
}

impl Upkeep {
    pub(crate) fn new(policy: UpkeepPolicy, now: Instant) -> Self {
        Upkeep {
            policy,
            started: now,
            last_activity: now,
            last_heard: now,
            unanswered: 0,
        }
    }

    /// Any packet arrived from the peer (a keepalive reply among them).
    pub(crate) fn heard(&mut self, now: Instant) {
        self.last_heard = now;
        self.unanswered = 0;
    }

    /// The connection did something that counts against the idle timeout.
    pub(crate) fn active(&mut self, now: Instant) {
        self.last_activity = now;
    }

    fn auth_deadline(&self, authenticated: bool) -> Option<Instant> {
        (!authenticated)
            .then_some(self.policy.auth_timeout)
            .flatten()
            .map(|t| self.started + t)
    }

    fn idle_deadline(&self) -> Option<Instant> {
        self.policy.idle_timeout.map(|t| self.last_activity + t)
    }

    fn keepalive_due(&self, authenticated: bool) -> Option<Instant> {
        let interval = self.policy.keepalive_interval.filter(|_| authenticated)?;
        // The next keepalive is due `interval` after we last heard from the peer or
        // after the previous keepalive, whichever is later.
        Some(self.last_heard + interval * (self.unanswered + 1))
    }

    /// The earliest instant at which `on_timeout` has something to do.
    pub(crate) fn poll_timeout(&self, authenticated: bool) -> Option<Instant> {
        [
            self.auth_deadline(authenticated),
            self.idle_deadline(),
            self.keepalive_due(authenticated),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Run the timers due at `now`.
    pub(crate) fn on_timeout(&mut self, now: Instant, authenticated: bool) -> UpkeepAction {
        if self.auth_deadline(authenticated).is_some_and(|d| now >= d) {
            return UpkeepAction::Close(Error::Timeout("authentication"));
        }
        if self.idle_deadline().is_some_and(|d| now >= d) {
            return UpkeepAction::Close(Error::Timeout("connection idle"));
        }
        if self.keepalive_due(authenticated).is_some_and(|d| now >= d) {
            if self.unanswered >= self.policy.keepalive_count_max {
                return UpkeepAction::Close(Error::Timeout("keepalives unanswered"));
            }
            self.unanswered += 1;
            return UpkeepAction::SendKeepalive;
        }
        UpkeepAction::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> UpkeepPolicy {
        UpkeepPolicy {
            auth_timeout: Some(Duration::from_secs(10)),
            idle_timeout: Some(Duration::from_secs(100)),
            keepalive_interval: Some(Duration::from_secs(5)),
            keepalive_count_max: 2,
        }
    }

    #[test]
    fn auth_deadline_only_before_authentication() {
        let t0 = Instant::now();
        let mut u = Upkeep::new(policy(), t0);
        assert_eq!(u.poll_timeout(false), Some(t0 + Duration::from_secs(10)));
        assert_eq!(
            u.on_timeout(t0 + Duration::from_secs(10), false),
            UpkeepAction::Close(Error::Timeout("authentication"))
        );
        assert_eq!(u.poll_timeout(true), Some(t0 + Duration::from_secs(5)));
    }

    #[test]
    fn keepalives_count_up_and_a_reply_resets_them() {
        let t0 = Instant::now();
        let mut u = Upkeep::new(policy(), t0);
        let s = Duration::from_secs;
        assert_eq!(u.on_timeout(t0 + s(4), true), UpkeepAction::Nothing);
        assert_eq!(u.on_timeout(t0 + s(5), true), UpkeepAction::SendKeepalive);
        assert_eq!(u.poll_timeout(true), Some(t0 + s(10)));
        assert_eq!(u.on_timeout(t0 + s(10), true), UpkeepAction::SendKeepalive);
        u.heard(t0 + s(11));
        assert_eq!(u.poll_timeout(true), Some(t0 + s(16)));
        assert_eq!(u.on_timeout(t0 + s(16), true), UpkeepAction::SendKeepalive);
        assert_eq!(u.on_timeout(t0 + s(21), true), UpkeepAction::SendKeepalive);
        assert_eq!(
            u.on_timeout(t0 + s(26), true),
            UpkeepAction::Close(Error::Timeout("keepalives unanswered"))
        );
    }

    #[test]
    fn idle_timeout_moves_with_activity() {
        let t0 = Instant::now();
        let p = UpkeepPolicy {
            keepalive_interval: None,
            ..policy()
        };
        let mut u = Upkeep::new(p, t0);
        let s = Duration::from_secs;
        u.active(t0 + s(50));
        assert_eq!(u.poll_timeout(true), Some(t0 + s(150)));
        assert_eq!(u.on_timeout(t0 + s(149), true), UpkeepAction::Nothing);
        assert_eq!(
            u.on_timeout(t0 + s(150), true),
            UpkeepAction::Close(Error::Timeout("connection idle"))
        );
    }
}
