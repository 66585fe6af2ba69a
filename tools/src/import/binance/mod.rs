//! Importer for Binance websocket captures: lines of `<local_receive_ts> <combined-stream JSON>`,
//! with one REST depth snapshot line, as written by the hftbacktest collector and similar recorders.
//! Spot and USDⓈ-M futures are told apart per symbol by the fields their messages carry.

mod depth_sync;
mod message;

use super::ImportOptions;
use super::driver::{Common, LineFormat, Step};
use super::error::{ImportError, Issue, Location};
use super::sink::{LevelChange, Sink, parse_px, parse_qty};
use depth_sync::{Diff, SyncState, Verdict, judge};
use kestrel_engine::tape::Trade;
use kestrel_engine::types::{Aggressor, BookSide, InstrumentId, UnixNanos};
use message::{BookTicker, DepthUpdate, Envelope, PxQty, Snapshot, StreamKind, TradeMsg, classify, exchange_ms};
use std::collections::HashMap;

struct Symbol {
    id: InstrumentId,
    futures: bool,
    sync: SyncState,
    gap_pending: bool,
}

/// Drives one import: lines in, records out.
pub(super) struct Binance<'a> {
    opts: &'a ImportOptions,
    c: Common,
    symbols: HashMap<String, Symbol>,
}

fn ms(v: Option<u64>) -> UnixNanos {
    v.map_or(UnixNanos::UNKNOWN, UnixNanos::from_millis)
}

fn malformed(e: impl std::fmt::Display) -> Issue {
    Issue::Malformed(e.to_string())
}

impl LineFormat for Binance<'_> {
    fn common(&mut self) -> &mut Common {
        &mut self.c
    }

    fn line(&mut self, text: &str, at: &Location) -> Result<(), Step> {
        self.parse_line(text, at)
    }

    fn end_file(&mut self) -> Result<(), ImportError> {
        Ok(())
    }

    fn end_input(&mut self) -> Result<(), ImportError> {
        self.diffs_without_snapshot()
    }
}

impl<'a> Binance<'a> {
    pub(super) fn new(opts: &'a ImportOptions, sink: Sink) -> Self {
        Binance { opts, c: Common::new(opts, sink), symbols: HashMap::new() }
    }

    pub(super) fn into_parts(self) -> Common {
        self.c
    }

    /// Parses and imports one line. An issue that concerns the whole line comes back for the policy
    /// to skip or stop on; issues found while applying it (gaps, crossed books) go through the
    /// policy here, since the line's records are kept.
    fn parse_line(&mut self, text: &str, at: &Location) -> Result<(), Step> {
        let shape = || Issue::Malformed("expected '<local_timestamp> <json>'".into());
        let (ts_text, json) = text.split_once(' ').ok_or_else(shape)?;
        if ts_text.is_empty() || !ts_text.bytes().all(|b| b.is_ascii_digit()) || !json.trim_start().starts_with('{') {
            return Err(shape().into());
        }
        let local = self.c.ts.to_nanos(ts_text)?;
        self.c.advance(local)?;
        let local = UnixNanos(local);
        match serde_json::from_str::<Envelope>(json) {
            Ok(env) => match classify(env.stream) {
                StreamKind::BookTicker => {
                    let m: BookTicker = serde_json::from_str(env.data.get()).map_err(malformed)?;
                    self.c.stats.count("bookTicker");
                    self.book_ticker(&m, local)
                }
                StreamKind::Trade => {
                    let m: TradeMsg = serde_json::from_str(env.data.get()).map_err(malformed)?;
                    self.c.stats.count("trade");
                    self.trade(&m, local)
                }
                StreamKind::Depth => {
                    let m: DepthUpdate = serde_json::from_str(env.data.get()).map_err(malformed)?;
                    self.c.stats.count("depth");
                    self.depth(&m, local, at)
                }
                StreamKind::Unused => {
                    *self.c.stats.unused_streams.entry(env.stream.to_owned()).or_insert(0) += 1;
                    Ok(())
                }
                StreamKind::Unknown => Err(Issue::UnknownStream(env.stream.to_owned()).into()),
            },
            Err(_) if json.contains("\"lastUpdateId\"") => {
                let snap: Snapshot = serde_json::from_str(json).map_err(malformed)?;
                self.c.stats.count("snapshot");
                self.snapshot(&snap, local, at)
            }
            Err(e) if e.is_eof() => Err(Issue::Malformed(format!("the JSON is cut off ({e})")).into()),
            Err(e) => Err(Issue::Malformed(format!("not a Binance stream message ({e})")).into()),
        }
    }

    /// The instrument for `symbol`, registered at its first message with scales read off the
    /// decimals that message carries.
    fn symbol(
        &mut self,
        symbol: &str,
        futures: bool,
        sample: &[&str],
        sample_qty: &[&str],
    ) -> Result<&mut Symbol, Step> {
        if !self.symbols.contains_key(symbol) {
            let venue = self
                .opts
                .venue
                .clone()
                .unwrap_or_else(|| if futures { "BINANCE-USDM".into() } else { "BINANCE".into() });
            let id = self.c.sink.add_instrument(symbol, &venue).map_err(Step::Fatal)?;
            self.symbols.insert(
                symbol.to_owned(),
                Symbol { id, futures, sync: SyncState::Waiting(Vec::new()), gap_pending: false },
            );
        }
        let id = self.symbols[symbol].id;
        self.c.sink.settle_scales(id, sample, sample_qty).map_err(Step::Fatal)?;
        Ok(self.symbols.get_mut(symbol).expect("inserted above"))
    }

    fn book_ticker(&mut self, m: &BookTicker, local: UnixNanos) -> Result<(), Step> {
        let futures = m.event_ms.is_some();
        let id = self.symbol(m.s, futures, &[m.b, m.a], &[m.bid_qty, m.ask_qty])?.id;
        let spec = self.c.sink.spec(id);
        let bid = (parse_px(spec, "bid price (b)", m.b)?, parse_qty(spec, "bid size (B)", m.bid_qty, true)?);
        let ask = (parse_px(spec, "ask price (a)", m.a)?, parse_qty(spec, "ask size (A)", m.ask_qty, true)?);
        let exch = ms(exchange_ms(m.tx_ms, m.event_ms));
        self.c.sink.quote(id, local, exch, bid, ask).map_err(Step::Fatal)??;
        Ok(())
    }

    fn trade(&mut self, m: &TradeMsg, local: UnixNanos) -> Result<(), Step> {
        let futures = m.spot_flag.is_none();
        let id = self.symbol(m.s, futures, &[m.p], &[m.q])?.id;
        let spec = self.c.sink.spec(id);
        let px = parse_px(spec, "trade price (p)", m.p)?;
        let qty = parse_qty(spec, "trade size (q)", m.q, false)?;
        let aggressor = if m.m { Aggressor::Sell } else { Aggressor::Buy };
        let exch = ms(exchange_ms(m.tx_ms, m.event_ms));
        self.c.sink.trade(Trade::new(id, local, exch, px, qty, aggressor, m.t)).map_err(Step::Fatal)??;
        Ok(())
    }

    fn changes(&self, id: InstrumentId, bids: &[PxQty], asks: &[PxQty]) -> Result<Vec<LevelChange>, Issue> {
        let spec = self.c.sink.spec(id);
        let mut out = Vec::with_capacity(bids.len() + asks.len());
        for (side, levels) in [(BookSide::Bid, bids), (BookSide::Ask, asks)] {
            for [px, qty] in levels {
                let px = parse_px(spec, "level price", px)?;
                let qty = parse_qty(spec, "level size", qty, true)?;
                out.push(LevelChange { side, px, qty });
            }
        }
        Ok(out)
    }

    fn depth(&mut self, m: &DepthUpdate, local: UnixNanos, at: &Location) -> Result<(), Step> {
        let futures = m.pu.is_some();
        let prices: Vec<&str> = m.b.iter().chain(&m.a).take(4).map(|l| l[0]).collect();
        let qtys: Vec<&str> = m.b.iter().chain(&m.a).take(4).map(|l| l[1]).collect();
        let id = self.symbol(m.s, futures, &prices, &qtys)?.id;
        let diff = Diff {
            at: at.clone(),
            ts_local: local,
            ts_exchange: ms(exchange_ms(m.tx_ms, m.event_ms)),
            first_id: m.first_id,
            last_id: m.last_id,
            prev_id: m.pu,
            changes: self.changes(id, &m.b, &m.a)?,
        };
        let sym = self.symbols.get_mut(m.s).expect("registered above");
        if let SyncState::Waiting(pending) = &mut sym.sync {
            pending.push(diff);
            return Ok(());
        }
        self.apply(m.s, diff)
    }

    /// Applies a diff to a synced book, checking the update-id chain.
    fn apply(&mut self, symbol: &str, diff: Diff) -> Result<(), Step> {
        let sym = self.symbols.get_mut(symbol).expect("symbol exists");
        match judge(&sym.sync, &diff, sym.futures) {
            Verdict::Stale => {
                self.c.stats.stale_diffs += 1;
                return Ok(());
            }
            Verdict::Gap(detail) => {
                sym.gap_pending = true;
                self.c.stats.gaps += 1;
                self.c
                    .policy
                    .handle(&diff.at, Issue::SequenceGap { symbol: symbol.to_owned(), detail })
                    .map_err(Step::Fatal)?;
            }
            Verdict::Apply => {}
        }
        let sym = self.symbols.get_mut(symbol).expect("symbol exists");
        let (id, gap) = (sym.id, sym.gap_pending);
        sym.gap_pending = gap && diff.changes.is_empty();
        sym.sync = SyncState::Chained { last_id: diff.last_id };
        self.c.stats.diffs_applied += 1;
        let outcome = self
            .c
            .sink
            .levels(id, diff.ts_local, diff.ts_exchange, &diff.changes, diff.last_id, false, gap)
            .map_err(Step::Fatal)?;
        if let Err(issue) = outcome {
            self.c.stats.crossed_books += 1;
            self.c.policy.handle(&diff.at, issue).map_err(Step::Fatal)?;
        }
        Ok(())
    }

    fn snapshot(&mut self, snap: &Snapshot, local: UnixNanos, at: &Location) -> Result<(), Step> {
        let symbol = self.snapshot_symbol(snap.last_update_id).ok_or_else(|| {
            Step::Issue(Issue::Malformed(format!(
                "a depth snapshot (lastUpdateId {}) that matches no symbol's depth stream; a snapshot line carries no symbol, so it must come with its symbol's diffs",
                snap.last_update_id
            )))
        })?;
        let sym = &self.symbols[&symbol];
        let id = sym.id;
        let changes = self.changes(id, &snap.bids, &snap.asks)?;
        let exch = ms(exchange_ms(snap.tx_ms, snap.event_ms));
        self.c.sink.clear(id, local, exch, snap.last_update_id).map_err(Step::Fatal)?;
        let outcome =
            self.c.sink.levels(id, local, exch, &changes, snap.last_update_id, true, false).map_err(Step::Fatal)?;
        if let Err(issue) = outcome {
            self.c.stats.crossed_books += 1;
            self.c.policy.handle(at, issue).map_err(Step::Fatal)?;
        }
        let sym = self.symbols.get_mut(&symbol).expect("symbol exists");
        let previous = std::mem::replace(&mut sym.sync, SyncState::Snapshot { last_update_id: snap.last_update_id });
        sym.gap_pending = false;
        // Diffs that arrived before the snapshot are released now, at the snapshot's local time.
        if let SyncState::Waiting(pending) = previous {
            for mut diff in pending {
                diff.ts_local = local;
                self.apply(&symbol, diff)?;
            }
        }
        Ok(())
    }

    /// A snapshot line names no symbol: it belongs to the symbol whose buffered diffs bridge its
    /// id, or to the only symbol with a depth stream.
    fn snapshot_symbol(&self, last_update_id: u64) -> Option<String> {
        let bridging = self.symbols.iter().find(|(_, s)| match &s.sync {
            SyncState::Waiting(p) => p.iter().any(|d| d.first_id <= last_update_id + 1 && d.last_id >= last_update_id),
            _ => false,
        });
        if let Some((name, _)) = bridging {
            return Some(name.clone());
        }
        let waiting: Vec<_> =
            self.symbols.iter().filter(|(_, s)| matches!(&s.sync, SyncState::Waiting(p) if !p.is_empty())).collect();
        if waiting.len() == 1 {
            return Some(waiting[0].0.clone());
        }
        (self.symbols.len() == 1).then(|| self.symbols.keys().next().cloned()).flatten()
    }

    /// Diffs still waiting for a snapshot at the end cannot be applied.
    fn diffs_without_snapshot(&mut self) -> Result<(), ImportError> {
        let mut names: Vec<_> = self.symbols.keys().cloned().collect();
        names.sort();
        for name in names {
            if let SyncState::Waiting(pending) = &self.symbols[&name].sync
                && let Some(first) = pending.first()
            {
                let issue = Issue::NoSnapshot { symbol: name.clone(), count: pending.len() as u64 };
                let at = first.at.clone();
                self.c.policy.handle(&at, issue)?;
            }
        }
        Ok(())
    }
}
