//! The JSON messages of Binance's combined websocket streams and REST depth snapshot, borrowed from
//! the line (prices stay decimal strings until they are parsed into fixed point at the instrument's
//! scale). Fields Kestrel does not use are ignored, so new fields from Binance do not break imports.

use serde::Deserialize;
use serde_json::value::RawValue;

/// `{"stream": "btcusdt@depth@0ms", "data": {...}}`
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    #[serde(borrow)]
    pub stream: &'a str,
    #[serde(borrow)]
    pub data: &'a RawValue,
}

/// A `[price, qty]` pair.
pub type PxQty<'a> = [&'a str; 2];

/// `<symbol>@bookTicker`. Spot carries no exchange time; USDⓈ-M carries `E` and `T`.
#[derive(Debug, Deserialize)]
pub struct BookTicker<'a> {
    pub s: &'a str,
    pub b: &'a str,
    #[serde(rename = "B")]
    pub bid_qty: &'a str,
    pub a: &'a str,
    #[serde(rename = "A")]
    pub ask_qty: &'a str,
    #[serde(rename = "E")]
    pub event_ms: Option<u64>,
    #[serde(rename = "T")]
    pub tx_ms: Option<u64>,
}

/// `<symbol>@trade`. `m` = buyer is maker, so `m == true` means a sell aggressor.
#[derive(Debug, Deserialize)]
pub struct TradeMsg<'a> {
    pub s: &'a str,
    pub t: u64,
    pub p: &'a str,
    pub q: &'a str,
    pub m: bool,
    #[serde(rename = "E")]
    pub event_ms: Option<u64>,
    #[serde(rename = "T")]
    pub tx_ms: Option<u64>,
    /// Spot only ("ignore" field); its presence tells spot from futures.
    #[serde(rename = "M")]
    pub spot_flag: Option<bool>,
}

/// `<symbol>@depth[@100ms|@0ms]`: level changes with absolute new sizes.
#[derive(Debug, Deserialize)]
pub struct DepthUpdate<'a> {
    pub s: &'a str,
    #[serde(rename = "E")]
    pub event_ms: Option<u64>,
    #[serde(rename = "T")]
    pub tx_ms: Option<u64>,
    #[serde(rename = "U")]
    pub first_id: u64,
    #[serde(rename = "u")]
    pub last_id: u64,
    /// USDⓈ-M only: the previous diff's `u`; the chain rule there is `pu == previous u`.
    pub pu: Option<u64>,
    #[serde(borrow)]
    pub b: Vec<PxQty<'a>>,
    #[serde(borrow)]
    pub a: Vec<PxQty<'a>>,
}

/// The REST depth snapshot line: no stream, no symbol.
#[derive(Debug, Deserialize)]
pub struct Snapshot<'a> {
    #[serde(rename = "lastUpdateId")]
    pub last_update_id: u64,
    #[serde(rename = "E")]
    pub event_ms: Option<u64>,
    #[serde(rename = "T")]
    pub tx_ms: Option<u64>,
    #[serde(borrow)]
    pub bids: Vec<PxQty<'a>>,
    #[serde(borrow)]
    pub asks: Vec<PxQty<'a>>,
}

/// What a stream name says about its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamKind {
    Depth,
    BookTicker,
    Trade,
    /// A Binance stream Kestrel knows but does not import (aggTrade, markPrice, kline, partial depth…).
    Unused,
    Unknown,
}

/// Classifies `btcusdt@depth@0ms`, `ethusdt@bookTicker`, … by the part after the first `@`.
pub fn classify(stream: &str) -> StreamKind {
    let Some((_, kind)) = stream.split_once('@') else { return StreamKind::Unknown };
    match kind {
        "bookTicker" => StreamKind::BookTicker,
        "trade" => StreamKind::Trade,
        "depth" | "depth@100ms" | "depth@250ms" | "depth@500ms" | "depth@0ms" => StreamKind::Depth,
        _ if [
            "aggTrade",
            "markPrice",
            "kline",
            "continuousKline",
            "indexPrice",
            "forceOrder",
            "ticker",
            "miniTicker",
            "avgPrice",
            "depth5",
            "depth10",
            "depth20",
            "compositeIndex",
            "contractInfo",
            "rpiDepth",
        ]
        .iter()
        .any(|p| kind.starts_with(p)) =>
        {
            StreamKind::Unused
        }
        _ => StreamKind::Unknown,
    }
}

/// Exchange time in ms: the transaction time `T` where the venue gives it (closest to the matching
/// engine), else the event time `E`.
pub fn exchange_ms(tx_ms: Option<u64>, event_ms: Option<u64>) -> Option<u64> {
    tx_ms.or(event_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_streams() {
        assert_eq!(classify("btcusdt@depth@0ms"), StreamKind::Depth);
        assert_eq!(classify("ethusdt@depth@100ms"), StreamKind::Depth);
        assert_eq!(classify("ethusdt@depth"), StreamKind::Depth);
        assert_eq!(classify("ethusdt@depth20@100ms"), StreamKind::Unused);
        assert_eq!(classify("btcusdt@aggTrade"), StreamKind::Unused);
        assert_eq!(classify("btcusdt@bookTicker"), StreamKind::BookTicker);
        assert_eq!(classify("btcusdt@trade"), StreamKind::Trade);
        assert_eq!(classify("btcusdt@mystery"), StreamKind::Unknown);
        assert_eq!(classify("nostream"), StreamKind::Unknown);
    }
}
