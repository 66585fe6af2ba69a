//! The strategy's own record of positions and of orders it has sent but not heard back about.
//!
//! Fixed memory: the in-flight table has `max_in_flight` slots, and the checks refuse a candidate
//! when it is full, so it never grows.

use crate::event::{Candidate, Outcome, Report};
use crate::types::InstrumentId;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct InFlight {
    order_id: u64,
    instrument: InstrumentId,
    /// Signed: + for a buy.
    qty: i64,
}

#[derive(Clone, Debug)]
pub struct BookKeeping {
    /// Filled position per instrument, signed, in lots of the instrument's qty scale.
    position: Vec<i64>,
    /// Sum of in-flight signed quantities per instrument.
    pending: Vec<i64>,
    slots: Vec<InFlight>,
    /// Slots allowed; an explicit limit, not `slots.capacity()` (a clone's capacity can differ).
    max_slots: usize,
    /// Reports for orders this table does not know (a venue bug, or a restart): counted, ignored.
    unknown_reports: u64,
}

impl BookKeeping {
    pub fn new(instruments: usize, max_in_flight: usize) -> Self {
        BookKeeping {
            position: vec![0; instruments],
            pending: vec![0; instruments],
            slots: Vec::with_capacity(max_in_flight),
            max_slots: max_in_flight,
            unknown_reports: 0,
        }
    }

    /// An approved candidate becomes an in-flight order. Returns `false` (and tracks nothing) when
    /// every slot is taken; decide checks [`BookKeeping::is_full`] first, so that is a bug.
    #[inline]
    pub fn open(&mut self, order_id: u64, c: &Candidate) -> bool {
        if self.is_full() {
            return false;
        }
        let qty = c.side.sign() * c.qty.0;
        self.slots.push(InFlight { order_id, instrument: c.instrument, qty });
        self.pending[c.instrument.index()] += qty;
        true
    }

    pub fn is_full(&self) -> bool {
        self.slots.len() >= self.max_slots
    }

    #[inline]
    pub fn apply(&mut self, r: &Report) {
        let Some(i) = self.slots.iter().position(|s| s.order_id == r.order_id) else {
            self.unknown_reports += 1;
            return;
        };
        let slot = self.slots.swap_remove(i);
        let inst = slot.instrument.index();
        self.pending[inst] -= slot.qty;
        if let Outcome::Filled { qty, .. } = r.outcome {
            self.position[inst] += r.side.sign() * qty.0;
        }
    }

    pub fn in_flight(&self) -> usize {
        self.slots.len()
    }

    /// Position plus everything in flight: what the position would be if every order filled.
    #[inline]
    pub fn exposure(&self, id: InstrumentId) -> i64 {
        self.position[id.index()] + self.pending[id.index()]
    }

    pub fn position(&self, id: InstrumentId) -> i64 {
        self.position[id.index()]
    }

    pub fn unknown_reports(&self) -> u64 {
        self.unknown_reports
    }
}
