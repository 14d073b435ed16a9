/**
 * `GET /v1/ticketing/customer_report`: a customer's PDF report for a period. What the
 * report shows is read on one snapshot, and its fingerprint is the hash of that data. The
 * last PDF made for each (customer, period) is kept (bytes in the blob store, a
 * `customer_reports` row with its fingerprint); a request whose data hashes the same gets
 * those bytes back without a render. Otherwise the data is rendered outside any
 * transaction, and stored in place of the old copy. Requests for the same report at the
 * same moment share one render.
 */
import type { Knex } from 'knex';
import { now } from '../../clock';
import { formatDate, localDate, parseDate } from '../../datetime';
import { db } from '../../db/knex';
import { invalid } from '../../errors';
import { logger } from '../../logger';
import { customerReportHtml } from '../../rendering/customerReportHtml';
import { pdfRenderer } from '../../rendering/pdf';
import { blobOf, putBlobBuffers, readBlobBuffer, registerBlobReference, releaseBlob } from '../blobs/blobStore';
import { getSettings } from '../config/settings';
import { type CustomerReportData, type ReportPeriod, customerReportData, reportFingerprint, reportPeriod } from './customerReportData';

registerBlobReference('customer_reports', 'pdf_sha256');

/** The longest period a report covers (two years and a day, for two full years whatever the leap day). */
export const MAX_PERIOD_DAYS = 731;

export interface CustomerReportRequest {
  customerId: number;
  /** First day (midnight UTC, as the API's `date()` parses `Y-m-d`); default: the first day of `to`'s month. */
  from?: Date;
  /** Last day, included; default: today in the config's time zone. */
  to?: Date;
}

export interface CustomerReport {
  pdf: Buffer;
  /** True when the stored copy was served. */
  cached: boolean;
  /** When this PDF was made. */
  createdAt: Date;
  filename: string;
  period: { from: string; to: string };
}

/** Renders in progress, by report and fingerprint. */
const inFlight = new Map<string, Promise<CustomerReport>>();

const snapshot = <T>(work: (trx: Knex) => Promise<T>) => db().transaction((trx) => work(trx), { isolationLevel: 'repeatable read', readOnly: true });

/** The period asked for, with its defaults; 400 when it is backwards or too long. */
function resolvePeriod(req: CustomerReportRequest, today: string, timezone: string): ReportPeriod {
  const to = req.to ? formatDate(req.to) : today;
  const from = req.from ? formatDate(req.from) : `${to.slice(0, 8)}01`;
  if (from > to) throw invalid({ from: 'must be on or before to' });
  const days = (parseDate(to)!.getTime() - parseDate(from)!.getTime()) / 86_400_000 + 1;
  if (days > MAX_PERIOD_DAYS) throw invalid({ to: `the period may cover at most ${MAX_PERIOD_DAYS} days` });
  return reportPeriod(from, to, timezone);
}

type StoredRow = { fingerprint: string; pdf_sha256: string; created_at: Date };

async function storedReport(customerId: number, p: ReportPeriod): Promise<StoredRow | undefined> {
  return db()('customer_reports').where({ customer_id: customerId, period_from: p.from, period_to: p.to }).first('fingerprint', 'pdf_sha256', 'created_at');
}

/** Keeps `pdf` as the report of (customer, period), releasing the copy it replaces. */
async function storeReport(customerId: number, p: ReportPeriod, fingerprint: string, pdf: Buffer, createdAt: Date): Promise<void> {
  const blob = blobOf(pdf);
  await db().transaction(async (trx) => {
    const old = await trx('customer_reports').where({ customer_id: customerId, period_from: p.from, period_to: p.to }).forUpdate().first('pdf_sha256');
    await putBlobBuffers(trx, new Map([[blob.sha256, pdf]]));
    await trx('customer_reports')
      .insert({
        customer_id: customerId,
        period_from: p.from,
        period_to: p.to,
        fingerprint,
        pdf_sha256: blob.sha256,
        pdf_size: pdf.length,
        created_at: createdAt,
      })
      .onConflict(['customer_id', 'period_from', 'period_to'])
      .merge(['fingerprint', 'pdf_sha256', 'pdf_size', 'created_at']);
    if (old && old.pdf_sha256 !== blob.sha256) await releaseBlob(trx, old.pdf_sha256);
  });
}

async function render(customerId: number, p: ReportPeriod, data: CustomerReportData, fingerprint: string): Promise<CustomerReport> {
  const createdAt = now();
  const started = Date.now();
  const pdf = await pdfRenderer.render(customerReportHtml(data, createdAt), {
    footer: `${data.customer.name}, ${p.from} to ${p.to}`,
  });
  await storeReport(customerId, p, fingerprint, pdf, createdAt);
  logger.info({ customer_id: customerId, from: p.from, to: p.to, bytes: pdf.length, ms: Date.now() - started }, 'customer report rendered');
  return { pdf, cached: false, createdAt, filename: filename(customerId, p), period: { from: p.from, to: p.to } };
}

const filename = (customerId: number, p: ReportPeriod) => `customer-report-${customerId}-${p.from}-${p.to}.pdf`;

/** The report of a customer for a period: the stored copy while it still holds, else a new one. 404 for an unknown customer. */
export async function customerReport(req: CustomerReportRequest): Promise<CustomerReport> {
  const { timezone } = await getSettings();
  const today = localDate(now(), timezone);
  const p = resolvePeriod(req, today, timezone);
  const data = await snapshot((trx) => customerReportData(trx, req.customerId, p, today));
  const fingerprint = reportFingerprint(data);
  const stored = await storedReport(req.customerId, p);
  if (stored?.fingerprint === fingerprint) {
    // the copy may have been replaced (and its bytes released) since: then make it anew
    const pdf = await readBlobBuffer(db(), stored.pdf_sha256).catch(() => undefined);
    if (pdf?.length) {
      return { pdf, cached: true, createdAt: new Date(stored.created_at), filename: filename(req.customerId, p), period: { from: p.from, to: p.to } };
    }
  }
  const key = `${req.customerId}:${p.from}:${p.to}:${fingerprint}`;
  let pending = inFlight.get(key);
  if (!pending) {
    pending = render(req.customerId, p, data, fingerprint).finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

/** Stored reports made longer ago than this are removed by the `report-pruning` job (a request makes them again). */
export const STORED_REPORT_KEEP_DAYS = 30;
const PRUNE_BATCH = 500;

/**
 * Removes the stored reports made before `before` and releases their PDFs' bytes, in
 * batches of PRUNE_BATCH rows, each in a short transaction of its own. Returns how many.
 */
export async function pruneStoredReports(knex: Knex, before: Date): Promise<number> {
  let removed = 0;
  for (;;) {
    const batch = await knex.transaction(async (trx) => {
      const rows: { pdf_sha256: string }[] = await trx('customer_reports')
        .whereIn('id', trx('customer_reports').where('created_at', '<', before).orderBy('id').limit(PRUNE_BATCH).forUpdate().skipLocked().select('id'))
        .delete()
        .returning('pdf_sha256');
      for (const sha256 of new Set(rows.map((r) => r.pdf_sha256))) await releaseBlob(trx, sha256);
      return rows.length;
    });
    removed += batch;
    if (batch < PRUNE_BATCH) return removed;
  }
}
