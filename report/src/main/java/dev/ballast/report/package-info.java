/**
 * {@code ballast report}: a run's events folded into pictures ({@link dev.ballast.report.ReportData},
 * {@link dev.ballast.report.ReportFold}) and written as one self-contained HTML file
 * ({@link dev.ballast.report.HtmlReport}). Depends on core (the event catalogue, {@code RunFold},
 * {@code PageBitmap}) and on replay only for {@code EventStream}; the command line's wording stays in
 * the cli.
 */
package dev.ballast.report;
