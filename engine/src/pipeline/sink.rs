//! Execute's output as a runner wires it: records into the journal, reports onto a ring.

use crate::event::Report;
use crate::execute::ExecSink;
use crate::journal::{JournalError, JournalRecord, JournalWriter};

/// Where reports go: the fused runner's local ring or the threaded runner's link.
pub(crate) trait ReportOut {
    fn push_report(&mut self, report: Report);
}

impl ReportOut for rtrb::Producer<Report> {
    #[inline]
    fn push_report(&mut self, report: Report) {
        // Sized by `report_capacity` for every answer due within one response latency; dropping one
        // would desynchronise decide, so a full ring is a broken bound and fails loud.
        assert!(self.push(report).is_ok(), "report ring full: more venue answers in flight than report_capacity");
    }
}

impl ReportOut for super::link::Sender<Report> {
    #[inline]
    fn push_report(&mut self, report: Report) {
        // Disconnected means decide has finished the tape: nobody will read the report, so it can go.
        let _ = self.send(report);
    }
}

pub(crate) struct Sink<'a, R> {
    pub journal: &'a mut JournalWriter,
    pub reports: &'a mut R,
    pub error: &'a mut Option<JournalError>,
}

impl<R: ReportOut> ExecSink for Sink<'_, R> {
    #[inline]
    fn journal(&mut self, record: JournalRecord) {
        if self.error.is_none()
            && let Err(e) = self.journal.append(record)
        {
            *self.error = Some(e);
        }
    }

    #[inline]
    fn report(&mut self, report: Report) {
        self.reports.push_report(report);
    }
}
