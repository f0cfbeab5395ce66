//! When to try a failed delivery again: exponential back-off with full jitter, and a time
//! after which the delivery is dead.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;

/// The retry schedule of a delivery.
///
/// After the `n`th failed attempt the next one waits a random time between zero and
/// `min(max_delay, base * factor^(n-1))` ("full jitter": receivers that failed together do
/// not all come back at the same moment), and no attempt is scheduled later than
/// `give_up_after` after the first one. The defaults (30 s, doubling, at most 1 h, 24 h)
/// are what `serve` uses; tests shorten them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// The cap of the wait after the first failure.
    pub base: Duration,
    /// How much the cap grows per failure (at least 1).
    pub factor: f64,
    /// The largest the cap grows.
    pub max_delay: Duration,
    /// How long after the first attempt the delivery is given up (dead).
    pub give_up_after: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            base: Duration::from_secs(30),
            factor: 2.0,
            max_delay: Duration::from_secs(60 * 60),
            give_up_after: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl Backoff {
    /// The cap of the wait after `attempts_so_far` failed attempts (the random wait lies
    /// between zero and it). Grows with the attempts, never beyond `max_delay`.
    pub fn cap(&self, attempts_so_far: u32) -> Duration {
        let exponent = attempts_so_far.saturating_sub(1).min(i32::MAX as u32) as i32;
        let factor = if self.factor.is_finite() {
            self.factor.max(1.0)
        } else {
            1.0
        };
        let secs = self.base.as_secs_f64() * factor.powi(exponent);
        let max = self.max_delay.as_secs_f64();
        // `secs` can be infinite after many attempts; the cap stops the growth.
        let capped = if secs.is_finite() { secs.min(max) } else { max };
        Duration::try_from_secs_f64(capped).unwrap_or(self.max_delay)
    }

    /// When to make the next attempt, after `attempts_so_far` attempts of which the first was
    /// at `first_attempt_at`, now being `now`; `None` when the delivery is dead (the time is
    /// up). Never later than `first_attempt_at + give_up_after`: a wait that would end later
    /// is shortened to that last moment, so the last attempt happens at the deadline.
    ///
    /// With no attempt made yet, the answer is `now`.
    pub fn next_attempt(
        &self,
        attempts_so_far: u32,
        first_attempt_at: DateTime<Utc>,
        now: DateTime<Utc>,
        rng: &mut impl Rng,
    ) -> Option<DateTime<Utc>> {
        let deadline = first_attempt_at
            .checked_add_signed(delta(self.give_up_after))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        if now >= deadline {
            return None;
        }
        if attempts_so_far == 0 {
            return Some(now);
        }
        let cap = self.cap(attempts_so_far);
        let wait = if cap.is_zero() {
            Duration::ZERO
        } else {
            rng.gen_range(Duration::ZERO..=cap)
        };
        let next = now.checked_add_signed(delta(wait)).unwrap_or(deadline);
        Some(next.min(deadline))
    }
}

/// A `Duration` as chrono's `TimeDelta`, saturating at chrono's largest (some 292 million
/// years): a configured duration cannot overflow the date arithmetic.
fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn caps_double_until_the_maximum_and_never_shrink() {
        let b = Backoff::default();
        assert_eq!(b.cap(1), Duration::from_secs(30));
        assert_eq!(b.cap(2), Duration::from_secs(60));
        assert_eq!(b.cap(3), Duration::from_secs(120));
        let mut last = Duration::ZERO;
        for n in 1..200 {
            let cap = b.cap(n);
            assert!(cap >= last, "cap fell at attempt {n}");
            assert!(cap <= b.max_delay, "cap beyond max_delay at attempt {n}");
            last = cap;
        }
        assert_eq!(b.cap(u32::MAX), b.max_delay);
    }

    #[test]
    fn waits_lie_between_zero_and_the_cap() {
        let b = Backoff::default();
        let mut rng = StdRng::seed_from_u64(7);
        let mut spread = std::collections::BTreeSet::new();
        for n in 1..40 {
            for _ in 0..50 {
                let next = b.next_attempt(n, t0(), t0(), &mut rng).unwrap();
                let wait = (next - t0()).to_std().unwrap();
                assert!(wait <= b.cap(n), "attempt {n}: waited {wait:?}");
                spread.insert(wait.as_millis());
            }
        }
        // Full jitter: the waits are spread, not one fixed schedule.
        assert!(spread.len() > 100, "only {} distinct waits", spread.len());
    }

    #[test]
    fn no_attempt_is_scheduled_beyond_give_up_after_and_then_it_is_dead() {
        let b = Backoff::default();
        let deadline = t0() + TimeDelta::hours(24);
        let mut rng = StdRng::seed_from_u64(1);
        let mut now = t0();
        let mut attempts = 1;
        // Follow the schedule attempt by attempt, as the dispatcher would.
        while let Some(next) = b.next_attempt(attempts, t0(), now, &mut rng) {
            assert!(next <= deadline, "scheduled at {next}");
            assert!(next >= now);
            now = next;
            attempts += 1;
            assert!(attempts < 10_000, "the schedule never ends");
        }
        assert_eq!(now, deadline, "the last attempt is at the deadline");
        assert_eq!(b.next_attempt(attempts, t0(), deadline, &mut rng), None);
        assert_eq!(
            b.next_attempt(1, t0(), deadline + TimeDelta::seconds(1), &mut rng),
            None
        );
    }

    #[test]
    fn the_first_attempt_is_now() {
        let b = Backoff::default();
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(b.next_attempt(0, t0(), t0(), &mut rng), Some(t0()));
    }

    #[test]
    fn a_shortened_schedule_ends_quickly() {
        let b = Backoff {
            base: Duration::from_millis(10),
            factor: 2.0,
            max_delay: Duration::from_millis(100),
            give_up_after: Duration::from_secs(1),
        };
        let mut rng = StdRng::seed_from_u64(3);
        let late = t0() + TimeDelta::milliseconds(999);
        let next = b.next_attempt(5, t0(), late, &mut rng).unwrap();
        assert!(next <= t0() + TimeDelta::seconds(1));
        assert_eq!(
            b.next_attempt(6, t0(), t0() + TimeDelta::seconds(1), &mut rng),
            None
        );
    }

    #[test]
    fn nonsense_settings_do_not_panic() {
        let b = Backoff {
            base: Duration::MAX,
            factor: f64::NAN,
            max_delay: Duration::MAX,
            give_up_after: Duration::MAX,
        };
        let mut rng = StdRng::seed_from_u64(3);
        assert!(b.next_attempt(3, t0(), t0(), &mut rng).is_some());
        let zero = Backoff {
            base: Duration::ZERO,
            ..Backoff::default()
        };
        assert_eq!(zero.next_attempt(3, t0(), t0(), &mut rng), Some(t0()));
    }
}
