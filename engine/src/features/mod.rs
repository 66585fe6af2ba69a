//! Features: turns each market event into what the strategy reads about its instrument's market.
//!
//! For now that is the touch and the L1 imbalance; the features issue grows this stage into the
//! versioned feature vector shared with offline training. The stage keeps its own [`MarketView`]
//! (a book of fixed size per instrument), so it allocates nothing per event.

use crate::book::MarketView;
use crate::event::{Featured, Features, MarketEvent};
use crate::pipeline::Stage;

#[derive(Clone, Debug)]
pub struct FeatureStage {
    view: MarketView,
}

impl FeatureStage {
    /// `max_levels` bounds each side of each instrument's book.
    pub fn new(instruments: usize, max_levels: usize) -> Self {
        FeatureStage { view: MarketView::new(instruments, max_levels) }
    }

    pub fn market(&self) -> &MarketView {
        &self.view
    }
}

impl Stage for FeatureStage {
    type In = MarketEvent;
    type Out = Featured;

    #[inline]
    fn on_event(&mut self, event: &MarketEvent) -> Featured {
        let mut features = Features { instrument: event.record.header.instrument, ..Features::default() };
        if let Some(id) = self.view.apply(&event.record)
            && let Some(t) = self.view.touch(id)
        {
            let (b, a) = (t.bid.qty.0 as f64, t.ask.qty.0 as f64);
            features = Features {
                instrument: id,
                tradable: true,
                bid_px: t.bid.px,
                bid_qty: t.bid.qty,
                ask_px: t.ask.px,
                ask_qty: t.ask.qty,
                l1_imbalance: (b - a) / (b + a),
            };
        }
        Featured { event: *event, features }
    }
}
