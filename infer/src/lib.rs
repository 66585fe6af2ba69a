//! Models for the engine (DESIGN.md §5): model cards, ONNX files loaded, checked and optimised with
//! `tract`, the [`Scorer`](kestrel_engine::decide::model::Scorer) the decide stage calls, and the ONNX
//! writer for Kestrel's own models.

pub mod card;
