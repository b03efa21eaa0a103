//! [`HerdRuntime`]: openraft's async runtime for herd, which is tokio with a seedable random
//! number generator.
//!
//! openraft 0.9.25 takes everything from its `AsyncRuntime`: tasks, sleeps, timeouts, instants
//! (tokio's, so tokio's paused clock drives it in tests) and `thread_rng()`, the generator behind
//! the randomized election timeout (`Config::new_rand_election_timeout`, drawn once per
//! `Raft::new`, so once per [`RaftNode::open`](crate::RaftNode::open)). [`HerdRuntime`] delegates
//! all of it to openraft's `TokioRuntime` except `thread_rng()`: by default that is still the
//! OS-seeded `rand::thread_rng()`, exactly as before (production: `herd agent` never seeds), but a
//! test thread may call [`seed_thread_rng`] and then draws from a splitmix64 stream of that seed,
//! so a simulation replays the same election timeouts. No I/O here.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

use openraft::async_runtime::TokioOneShotSender;
use openraft::{AsyncRuntime, OptionalSend, TokioInstant, TokioRuntime};
use rand_core_06::RngCore;

thread_local! {
    /// The seeded generator state of this thread, when a test seeded it.
    static SEEDED: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Makes openraft's random draws on this thread a pure function of `seed` until the returned
/// guard is dropped (then the OS-seeded generator serves again). For the deterministic
/// simulation: a current-thread tokio runtime runs every node on the calling thread.
#[must_use = "the seed applies only while the guard lives"]
pub fn seed_thread_rng(seed: u64) -> SeededRng {
    let previous = SEEDED.with(|s| s.replace(Some(seed)));
    SeededRng { previous }
}

/// Restores the previous generator of this thread when dropped; see [`seed_thread_rng`].
pub struct SeededRng {
    previous: Option<u64>,
}

impl Drop for SeededRng {
    fn drop(&mut self) {
        SEEDED.with(|s| s.set(self.previous));
    }
}

/// openraft's `AsyncRuntime` for herd: `TokioRuntime` with a seedable `thread_rng()`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct HerdRuntime;

/// The generator [`HerdRuntime::thread_rng`] returns: the thread's seeded stream if a test
/// seeded it, else the OS-seeded `rand::thread_rng()`.
pub struct HerdRng {
    os: Option<<TokioRuntime as AsyncRuntime>::ThreadLocalRng>,
}

impl RngCore for HerdRng {
    fn next_u32(&mut self) -> u32 {
        if let Some(os) = &mut self.os {
            return os.next_u32();
        }
        // The high half: splitmix64's best bits.
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        if let Some(os) = &mut self.os {
            return os.next_u64();
        }
        SEEDED.with(|s| {
            let mut state = s.get().unwrap_or_default();
            let draw = splitmix(&mut state);
            s.set(Some(state));
            draw
        })
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if let Some(os) = &mut self.os {
            return os.fill_bytes(dest);
        }
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core_06::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// splitmix64 (the same tiny generator as `mem_net`).
pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl AsyncRuntime for HerdRuntime {
    type JoinError = <TokioRuntime as AsyncRuntime>::JoinError;
    type JoinHandle<T: OptionalSend + 'static> = <TokioRuntime as AsyncRuntime>::JoinHandle<T>;
    type Sleep = <TokioRuntime as AsyncRuntime>::Sleep;
    type Instant = TokioInstant;
    type TimeoutError = <TokioRuntime as AsyncRuntime>::TimeoutError;
    type Timeout<R, T: Future<Output = R> + OptionalSend> =
        <TokioRuntime as AsyncRuntime>::Timeout<R, T>;
    type ThreadLocalRng = HerdRng;
    type OneshotSender<T: OptionalSend> = TokioOneShotSender<T>;
    type OneshotReceiverError = <TokioRuntime as AsyncRuntime>::OneshotReceiverError;
    type OneshotReceiver<T: OptionalSend> = <TokioRuntime as AsyncRuntime>::OneshotReceiver<T>;

    fn spawn<T>(future: T) -> Self::JoinHandle<T::Output>
    where
        T: Future + OptionalSend + 'static,
        T::Output: OptionalSend + 'static,
    {
        TokioRuntime::spawn(future)
    }

    fn sleep(duration: Duration) -> Self::Sleep {
        TokioRuntime::sleep(duration)
    }

    fn sleep_until(deadline: Self::Instant) -> Self::Sleep {
        TokioRuntime::sleep_until(deadline)
    }

    fn timeout<R, F: Future<Output = R> + OptionalSend>(
        duration: Duration,
        future: F,
    ) -> Self::Timeout<R, F> {
        TokioRuntime::timeout(duration, future)
    }

    fn timeout_at<R, F: Future<Output = R> + OptionalSend>(
        deadline: Self::Instant,
        future: F,
    ) -> Self::Timeout<R, F> {
        TokioRuntime::timeout_at(deadline, future)
    }

    fn is_panic(join_error: &Self::JoinError) -> bool {
        TokioRuntime::is_panic(join_error)
    }

    fn thread_rng() -> Self::ThreadLocalRng {
        let seeded = SEEDED.with(Cell::get).is_some();
        HerdRng {
            os: (!seeded).then(TokioRuntime::thread_rng),
        }
    }

    fn oneshot<T>() -> (Self::OneshotSender<T>, Self::OneshotReceiver<T>)
    where
        T: OptionalSend,
    {
        TokioRuntime::oneshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::Config;

    fn timeouts() -> Vec<u64> {
        let config = Config {
            election_timeout_min: 200,
            election_timeout_max: 300,
            ..Default::default()
        };
        (0..8)
            .map(|_| config.new_rand_election_timeout::<HerdRuntime>())
            .collect()
    }

    #[test]
    fn seeded_thread_draws_the_same_election_timeouts_again() {
        let first = {
            let _seed = seed_thread_rng(7);
            timeouts()
        };
        let again = {
            let _seed = seed_thread_rng(7);
            timeouts()
        };
        let other = {
            let _seed = seed_thread_rng(8);
            timeouts()
        };
        assert_eq!(first, again);
        assert_ne!(first, other);
        assert!(first.iter().all(|t| (200..300).contains(t)), "{first:?}");
    }

    #[test]
    fn unseeded_thread_draws_from_the_os_generator() {
        // 8 draws from 100 values: identical twice only by a 1e-16 chance.
        assert_ne!(timeouts(), timeouts());
        let _seed = seed_thread_rng(1);
        drop(_seed);
        assert_ne!(
            timeouts(),
            timeouts(),
            "the guard restored the OS generator"
        );
    }
}
