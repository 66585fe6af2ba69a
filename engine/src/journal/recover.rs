//! Positions and working orders recovered from a journal: what a restart knows before it trades.
//!
//! The journal is execute's record of everything the venue said, so booking its fills in order
//! gives each instrument's position exactly (quantity, cost, realized PnL, fees), and its order
//! records less the terminal ones (filled in full, canceled, expired, rejected) give the orders
//! still working. A restart compares these with the state it rebuilt before it sends anything
//! (see `paper::run` for paper runs; a live gateway reconciles them with the venue's own list).

use super::record::{EntryKind, JournalRecord, Side};
use crate::account::Position;
use crate::orders::Purpose;
use crate::types::{InstrumentId, Price, Qty};

/// An order the journal shows sent and not yet finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkingOrder {
    pub order_id: u64,
    pub instrument: InstrumentId,
    pub side: Side,
    /// Limit price (0 for a market order).
    pub px: Price,
    pub qty: Qty,
    pub filled: Qty,
    pub purpose: Option<Purpose>,
}

/// What a journal says the account held after its last record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Per instrument, in the journal's instrument order.
    pub positions: Vec<Position>,
    /// By order id.
    pub working: Vec<WorkingOrder>,
    pub records: u64,
    /// Index of the last event that wrote a record.
    pub last_event_seq: Option<u64>,
}

impl Recovered {
    pub fn from_records(records: &[JournalRecord], instruments: usize) -> Recovered {
        let mut positions = vec![Position::default(); instruments];
        let mut working: Vec<WorkingOrder> = Vec::new();
        for rec in records {
            let Some(kind) = rec.kind() else { continue };
            let find = |w: &[WorkingOrder]| w.iter().position(|o| o.order_id == rec.order_id);
            match kind {
                EntryKind::Order => {
                    if let Some(side) = rec.side() {
                        working.push(WorkingOrder {
                            order_id: rec.order_id,
                            instrument: rec.instrument,
                            side,
                            px: rec.px,
                            qty: rec.qty,
                            filled: Qty(0),
                            purpose: Purpose::from_u8(rec.aux),
                        });
                    }
                }
                EntryKind::Fill => {
                    if let (Some(side), Some(pos)) = (rec.side(), positions.get_mut(rec.instrument.index())) {
                        pos.apply(side, rec.px, rec.qty, i128::from(rec.value));
                    }
                    if let Some(i) = find(&working) {
                        let o = &mut working[i];
                        o.filled = Qty(o.filled.0 + rec.qty.0);
                        if o.filled >= o.qty {
                            working.remove(i);
                        }
                    }
                }
                EntryKind::Canceled | EntryKind::Expired | EntryKind::Reject => {
                    if let Some(i) = find(&working) {
                        working.remove(i);
                    }
                }
                EntryKind::Decision
                | EntryKind::Blocked
                | EntryKind::Ack
                | EntryKind::CancelRequest
                | EntryKind::CancelReject
                // What the models saw and which model was live: no bearing on positions or orders.
                | EntryKind::Features
                | EntryKind::ModelSwap => {}
            }
        }
        working.sort_by_key(|o| o.order_id);
        Recovered {
            positions,
            working,
            records: records.len() as u64,
            last_event_seq: records.last().map(|r| r.event_seq),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(kind: EntryKind, id: u64, side: Side, px: i64, qty: i64) -> JournalRecord {
        JournalRecord {
            kind: kind as u8,
            order_id: id,
            side: side as u8,
            px: Price(px),
            qty: Qty(qty),
            ..JournalRecord::default()
        }
    }

    #[test]
    fn fills_make_positions_and_terminal_records_retire_orders() {
        let records = [
            rec(EntryKind::Order, 1, Side::Buy, 0, 10),
            rec(EntryKind::Fill, 1, Side::Buy, 100, 4),
            rec(EntryKind::Order, 2, Side::Sell, 105, 5),
            rec(EntryKind::Fill, 1, Side::Buy, 101, 6),
            rec(EntryKind::Order, 3, Side::Buy, 99, 5),
            rec(EntryKind::Canceled, 3, Side::Buy, 0, 5),
            rec(EntryKind::Fill, 2, Side::Sell, 105, 2),
        ];
        let r = Recovered::from_records(&records, 1);
        let p = r.positions[0];
        assert_eq!(p.qty, 8);
        // Bought 4 @ 100 and 6 @ 101 (cost 1006), sold 2 at 105 against an average of 100.6.
        assert_eq!(p.realized, 2 * 105 - 201);
        assert_eq!(r.working.len(), 1, "order 1 filled, order 3 canceled: {:?}", r.working);
        assert_eq!((r.working[0].order_id, r.working[0].filled), (2, Qty(2)));
    }
}
