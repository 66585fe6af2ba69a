//! The working orders: a fixed-capacity table looked up by order id.
//!
//! Open addressing with linear probing in a power-of-two array at least twice the capacity (so a
//! probe always meets an empty slot), Fibonacci hashing of the id, and backward-shift deletion (no
//! tombstones, so probes stay short however long the run). Nothing allocates after
//! [`OrderTable::with_capacity`]. Orders leave the table when they reach a terminal state; the
//! [`OrderUpdate`] that ended them carries their last picture.

use super::order_state::{EventKind, FillReport, Order, OrderEvent, OrderState, TransitionError};
use crate::orders::OrderRequest;

/// Why an order could not be added; the request comes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InsertError {
    #[error("order table full ({} working orders): order {} refused", .capacity, .request.order_id)]
    Full { request: OrderRequest, capacity: usize },
    #[error("order id {} is already working", .0.order_id)]
    Duplicate(OrderRequest),
}

/// Why an event could not be applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("{event:?} for order {order_id}, which is not working")]
    Unknown { order_id: u64, event: EventKind },
    #[error(transparent)]
    Refused(#[from] TransitionError),
}

/// What one event did to an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderUpdate {
    /// The order after the event (its last picture when terminal: it has left the table).
    pub order: Order,
    pub state: OrderState,
    /// The fill the event carried, if it was one.
    pub fill: Option<FillReport>,
}

#[derive(Clone, Debug)]
pub struct OrderTable {
    slots: Vec<Option<Order>>,
    mask: usize,
    shift: u32,
    len: usize,
    capacity: usize,
}

impl OrderTable {
    /// Room for `capacity` working orders at once (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let size = (2 * capacity).next_power_of_two().max(2);
        OrderTable { slots: vec![None; size], mask: size - 1, shift: 64 - size.trailing_zeros(), len: 0, capacity }
    }

    fn home(&self, id: u64) -> usize {
        // Fibonacci hashing: sequential ids spread over the table.
        (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    fn find(&self, id: u64) -> Result<usize, usize> {
        let mut i = self.home(id);
        loop {
            match &self.slots[i] {
                None => return Err(i),
                Some(o) if o.id() == id => return Ok(i),
                Some(_) => i = (i + 1) & self.mask,
            }
        }
    }

    /// Adds a new order in state `New`.
    pub fn insert(&mut self, request: OrderRequest) -> Result<(), InsertError> {
        let at = match self.find(request.order_id) {
            Ok(_) => return Err(InsertError::Duplicate(request)),
            Err(_) if self.len == self.capacity => {
                return Err(InsertError::Full { request, capacity: self.capacity });
            }
            Err(at) => at,
        };
        self.slots[at] = Some(Order::new(request));
        self.len += 1;
        Ok(())
    }

    pub fn get(&self, order_id: u64) -> Option<&Order> {
        self.find(order_id).ok().and_then(|i| self.slots[i].as_ref())
    }

    /// Applies one event to a working order; a terminal order leaves the table.
    pub fn apply(&mut self, order_id: u64, event: &OrderEvent) -> Result<OrderUpdate, OrderError> {
        let Ok(at) = self.find(order_id) else {
            return Err(OrderError::Unknown { order_id, event: event.kind() });
        };
        let Some(order) = self.slots[at].as_mut() else {
            unreachable!("find returned an occupied slot");
        };
        let state = order.apply(event)?;
        let update =
            OrderUpdate { order: *order, state, fill: if let OrderEvent::Fill(f) = event { Some(*f) } else { None } };
        if state.is_terminal() {
            self.remove_at(at);
        }
        Ok(update)
    }

    /// Removes the slot at `hole` and shifts later members of its probe run back into it.
    fn remove_at(&mut self, mut hole: usize) {
        self.slots[hole] = None;
        self.len -= 1;
        let mut j = (hole + 1) & self.mask;
        while let Some(o) = &self.slots[j] {
            let home = self.home(o.id());
            // The entry at j may fill the hole if the hole lies on its probe path home..=j.
            if (j.wrapping_sub(home) & self.mask) >= (j.wrapping_sub(hole) & self.mask) {
                self.slots[hole] = self.slots[j].take();
                hole = j;
            }
            j = (j + 1) & self.mask;
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The working orders, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Order> {
        self.slots.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Side;
    use crate::orders::{OrderKind, Purpose, StrategyId, TimeInForce};
    use crate::types::{InstrumentId, Qty, UnixNanos};

    fn req(id: u64) -> OrderRequest {
        OrderRequest {
            order_id: id,
            strategy: StrategyId(0),
            instrument: InstrumentId(0),
            side: Side::Buy,
            qty: Qty(1),
            kind: OrderKind::Market,
            tif: TimeInForce::Ioc,
            purpose: Purpose::Entry,
            created: UnixNanos(1),
        }
    }

    #[test]
    fn full_and_duplicate_give_the_request_back() {
        let mut t = OrderTable::with_capacity(2);
        t.insert(req(1)).unwrap();
        assert_eq!(t.insert(req(1)), Err(InsertError::Duplicate(req(1))));
        t.insert(req(2)).unwrap();
        assert_eq!(t.insert(req(3)), Err(InsertError::Full { request: req(3), capacity: 2 }));
    }

    #[test]
    fn removals_keep_every_other_order_reachable() {
        // Many ids through a small table: collisions and wrap-around exercise the backward shift.
        let mut t = OrderTable::with_capacity(8);
        let mut live: Vec<u64> = Vec::new();
        for id in 1..2_000u64 {
            if live.len() == 8 {
                let gone = live.remove((id as usize * 7) % live.len());
                t.apply(gone, &OrderEvent::Rejected).unwrap();
                assert!(t.get(gone).is_none());
            }
            t.insert(req(id * 13)).unwrap();
            live.push(id * 13);
            for &l in &live {
                assert_eq!(t.get(l).map(|o| o.id()), Some(l), "order {l} lost after inserting {id}");
            }
            assert_eq!(t.len(), live.len());
        }
    }
}
