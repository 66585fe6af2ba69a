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
        // The ring holds `max_in_flight` reports and decide never has more orders than that in
        // flight, so it cannot be full; if it were, dropping would desynchronise decide, so fail loud.
        assert!(self.push(report).is_ok(), "report ring full: in-flight bound broken");
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
