//! A link between two hot threads: an `rtrb` SPSC ring plus what the ring does not do itself —
//! waiting by a [`WaitStrategy`], waking a parked consumer, and counting back-pressure.
//!
//! A full ring is never a silent drop: the sender waits until the consumer makes room and counts
//! the send as stalled, and the count is reported at the end of the run.

use super::wait::{Idle, WaitStrategy, Waiter};
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;

/// Lets a producer wake a consumer parked by [`WaitStrategy::Park`].
#[derive(Debug, Default)]
struct Doorbell {
    /// Set by the consumer just before it parks.
    sleeping: AtomicBool,
    consumer: OnceLock<Thread>,
    /// Only a parking consumer needs the producer's fence and check on every send.
    parks: bool,
}

impl Doorbell {
    /// Called by the producer after a push.
    #[inline]
    fn ring(&self) {
        if !self.parks {
            return;
        }
        // The consumer stores `sleeping` then re-reads the ring; we stored the ring then read
        // `sleeping`. Without a full fence on both sides each could miss the other's store (a
        // store-load reorder), and the consumer would sleep through our push until PARK_TIMEOUT.
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed)
            && self.sleeping.swap(false, Ordering::AcqRel)
            && let Some(t) = self.consumer.get()
        {
            t.unpark();
        }
    }
}

/// Counters of one link, reported at the end of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LinkStats {
    pub name: &'static str,
    pub capacity: usize,
    pub sent: u64,
    /// Sends that found the ring full and had to wait for the consumer (back-pressure).
    pub full_waits: u64,
}

/// The sending end of a link.
#[derive(Debug)]
pub struct Sender<T> {
    tx: rtrb::Producer<T>,
    bell: Arc<Doorbell>,
    waiter: Waiter,
    stats: LinkStats,
}

/// The receiving end of a link.
#[derive(Debug)]
pub struct Receiver<T> {
    rx: rtrb::Consumer<T>,
    bell: Arc<Doorbell>,
    waiter: Waiter,
}

/// A link of `capacity` slots whose ends wait with `wait`.
pub fn link<T>(name: &'static str, capacity: usize, wait: WaitStrategy) -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = rtrb::RingBuffer::new(capacity);
    let bell = Arc::new(Doorbell { parks: matches!(wait, WaitStrategy::Park { .. }), ..Doorbell::default() });
    let stats = LinkStats { name, capacity, ..LinkStats::default() };
    (
        Sender { tx, bell: bell.clone(), waiter: Waiter::new(wait), stats },
        Receiver { rx, bell, waiter: Waiter::new(wait) },
    )
}

/// The consumer is gone (its thread ended); the value comes back.
#[derive(Debug, PartialEq, Eq)]
pub struct Disconnected<T>(pub T);

impl<T> Sender<T> {
    /// Pushes `value`, waiting while the ring is full.
    #[inline]
    pub fn send(&mut self, value: T) -> Result<(), Disconnected<T>> {
        let mut value = value;
        let mut stalled = false;
        loop {
            match self.tx.push(value) {
                Ok(()) => break,
                Err(rtrb::PushError::Full(v)) => {
                    value = v;
                    if self.tx.is_abandoned() {
                        return Err(Disconnected(value));
                    }
                    if !stalled {
                        stalled = true;
                        self.stats.full_waits += 1;
                    }
                    // A full ring means the consumer is busy, not asleep: no doorbell to wait on,
                    // so a parking strategy only yields or naps here.
                    if self.waiter.idle() == Idle::ShouldPark {
                        self.waiter.park();
                    }
                }
            }
        }
        self.waiter.reset();
        self.stats.sent += 1;
        self.bell.ring();
        Ok(())
    }

    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    /// Wakes a parked consumer without sending: for a producer that also publishes progress the
    /// consumer waits on outside the ring (execute's finished-events count, which decide watches).
    #[inline]
    pub fn notify(&self) {
        self.bell.ring();
    }
}

impl<T> Receiver<T> {
    /// Registers the calling thread as the one a producer wakes. Call it on the consumer's thread
    /// before the first `recv`.
    pub fn bind_to_current_thread(&self) {
        let _ = self.bell.consumer.set(std::thread::current());
    }

    /// The next value, waiting for one; `None` once the sender is gone and the ring is drained.
    #[inline]
    pub fn recv(&mut self) -> Option<T> {
        loop {
            if let Ok(v) = self.rx.pop() {
                self.waiter.reset();
                return Some(v);
            }
            if self.rx.is_abandoned() {
                // The producer may have pushed just before it went: drain before saying "closed".
                return self.rx.pop().ok();
            }
            self.idle_unless(|rx| !rx.is_empty() || rx.is_abandoned());
        }
    }

    /// The sender is gone (its thread ended). Values may still wait in the ring.
    #[inline]
    pub fn is_closed(&self) -> bool {
        self.rx.is_abandoned()
    }

    /// Values waiting in the ring now.
    #[inline]
    pub fn len(&self) -> usize {
        self.rx.slots()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// The next value if one is there now.
    #[inline]
    pub fn try_recv(&mut self) -> Option<T> {
        self.rx.pop().ok()
    }

    /// The next value, left in the ring.
    #[inline]
    pub fn peek(&self) -> Option<&T> {
        self.rx.peek().ok()
    }

    /// Waits once by the strategy. When the strategy says park, the thread announces it on the
    /// doorbell and parks unless `woken` says there is something to do after all; the producer rings
    /// the doorbell after every send and every [`Sender::notify`]. Loops that wait on more than this
    /// ring (decide waiting on execute's progress) pass a `woken` that checks that too.
    #[inline]
    pub fn idle_unless(&mut self, woken: impl Fn(&rtrb::Consumer<T>) -> bool) {
        if self.waiter.idle() == Idle::ShouldPark {
            self.bell.sleeping.store(true, Ordering::Relaxed);
            // A full fence between announcing the nap and re-checking: the store must be visible
            // before we read the ring (see Doorbell::ring for the producer's half). A SeqCst store
            // followed by an Acquire load is not enough on every architecture.
            fence(Ordering::SeqCst);
            if !woken(&self.rx) {
                self.waiter.park();
            }
            self.bell.sleeping.store(false, Ordering::Relaxed);
        }
    }

    /// Resets the wait after work was found by a loop that called [`Receiver::idle_unless`].
    #[inline]
    pub fn reset_wait(&mut self) {
        self.waiter.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(wait: WaitStrategy) {
        let (mut tx, mut rx) = link::<u64>("test", 4, wait);
        let consumer = std::thread::spawn(move || {
            rx.bind_to_current_thread();
            let mut got = Vec::new();
            while let Some(v) = rx.recv() {
                got.push(v);
            }
            got
        });
        for i in 0..10_000 {
            tx.send(i).unwrap();
        }
        let stats = tx.stats();
        drop(tx);
        let got = consumer.join().unwrap();
        assert_eq!(got, (0..10_000).collect::<Vec<_>>(), "every value, in order, none lost");
        assert_eq!(stats.sent, 10_000);
    }

    #[test]
    fn every_strategy_delivers_everything_in_order() {
        round_trip(WaitStrategy::SpinYield { spin_ns: 1_000 });
        round_trip(WaitStrategy::Park { spin_ns: 1_000 });
    }

    #[test]
    fn a_full_ring_is_counted_not_dropped() {
        let (mut tx, mut rx) = link::<u32>("test", 2, WaitStrategy::SpinYield { spin_ns: 0 });
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        let consumer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100)); // long enough that the send below finds the ring full
            let mut n = 0;
            while rx.recv().is_some() {
                n += 1;
            }
            n
        });
        tx.send(3).unwrap(); // waits for the sleeping consumer
        assert_eq!(tx.stats().full_waits, 1);
        drop(tx);
        assert_eq!(consumer.join().unwrap(), 3);
    }

    #[test]
    fn sending_to_a_gone_consumer_gives_the_value_back() {
        let (mut tx, rx) = link::<u32>("test", 1, WaitStrategy::SpinYield { spin_ns: 0 });
        tx.send(1).unwrap();
        drop(rx);
        assert_eq!(tx.send(2), Err(Disconnected(2)));
    }
}
