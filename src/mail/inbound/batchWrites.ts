/**
 * The writes of one batch of inbound mail, held in memory and written at the end in a few
 * set-based statements (one per table) instead of several statements per message: on this
 * kind of machine every round trip to PostgreSQL costs more than the row it carries.
 *
 * Rows get their ids up front from the tables' sequences (drawn a batch at a time), so a
 * later row can point at an earlier one before either is written. An update of a row still
 * held is merged into it; an update of a row already written is held as an update. Blobs
 * are hashed here and stored once each. The batch's reads of these tables go through the
 * pipeline's lookups (see mailWork.ts), which see the held rows; any other read of them
 * must `flush()` first.
 */
import type { Knex } from 'knex';
import { type StoredBlob, blobOf, putBlobBuffers } from '../../services/blobs/blobStore';
import { randomTicketNumber } from '../../services/tickets/ticketNumber';

export type Row = Record<string, unknown>;

/** The tables a batch writes, parents first (replies -> inbound_emails is checked at commit). */
const WRITE_ORDER = ['contacts', 'tickets', 'ticket_contacts', 'replies', 'inbound_emails', 'attachments', 'outbound_emails', 'ticket_message_ids'] as const;
export type BatchTable = (typeof WRITE_ORDER)[number];

/** Link tables whose rows may already exist: a repeat is skipped. */
const IGNORE_CONFLICTS: Partial<Record<BatchTable, string[]>> = {
  ticket_contacts: ['ticket_id', 'contact_id'],
  ticket_message_ids: ['message_id', 'ticket_id'],
};

/** Tables whose new rows take an id drawn ahead. */
export type IdTable = 'inbound_emails' | 'tickets' | 'replies' | 'outbound_emails' | 'attachments' | 'contacts';

export class BatchWrites {
  private readonly inserts = new Map<BatchTable, Row[]>();
  /** Rows held for insert, by `table:id`, so an update can be merged into them. */
  private readonly held = new Map<string, Row>();
  private readonly updates = new Map<BatchTable, Map<number, Row>>();
  private readonly blobs = new Map<string, Buffer>();
  private readonly ids = new Map<IdTable, number[]>();
  private numbers: string[] = [];

  constructor(readonly trx: Knex.Transaction) {}

  /** Draws `counts` ids per table and `tickets` free ticket numbers in one statement. */
  async reserve(counts: Partial<Record<IdTable, number>>, tickets = 0): Promise<void> {
    const tables = Object.entries(counts).filter(([, n]) => n! > 0) as [IdTable, number][];
    if (tables.length === 0 && tickets === 0) return;
    const drawn = Array.from({ length: tickets * 2 }, randomTicketNumber);
    const select = [
      ...tables.map(([table, n]) => `(select array_agg(nextval('${table}_id_seq')) from generate_series(1, ${Math.ceil(n)})) as "${table}"`),
      // numbers nobody has yet (a race with another writer fails the batch, which is redone)
      `array(select unnest(?::text[]) except select number from tickets where number = any(?::text[])) as numbers`,
    ];
    const { rows } = await this.trx.raw(`select ${select.join(', ')}`, [drawn, drawn]);
    const row = rows[0] as Record<string, (string | number)[] | null>;
    for (const [table] of tables) this.ids.set(table, [...(this.ids.get(table) ?? []), ...(row[table] ?? []).map(Number)]);
    this.numbers.push(...new Set((row.numbers ?? []) as string[]));
  }

  async id(table: IdTable): Promise<number> {
    if (!this.ids.get(table)?.length) await this.reserve({ [table]: 16 });
    return this.ids.get(table)!.shift()!;
  }

  async ticketNumber(): Promise<string> {
    while (this.numbers.length === 0) await this.reserve({}, 8);
    return this.numbers.shift()!;
  }

  insert(table: BatchTable, row: Row): void {
    const list = this.inserts.get(table) ?? [];
    list.push(row);
    this.inserts.set(table, list);
    if (row.id !== undefined) this.held.set(`${table}:${row.id}`, row);
  }

  update(table: BatchTable, id: number, patch: Row): void {
    const pending = this.held.get(`${table}:${id}`);
    if (pending) {
      Object.assign(pending, patch);
      return;
    }
    const byId = this.updates.get(table) ?? new Map<number, Row>();
    byId.set(id, { ...byId.get(id), ...patch });
    this.updates.set(table, byId);
  }

  /** Stores bytes once by hash (written at flush, before the rows that name them); `sha256` when already known. */
  putBlob(bytes: Buffer, sha256?: string): StoredBlob {
    const blob = blobOf(bytes, sha256);
    if (!this.blobs.has(blob.sha256)) this.blobs.set(blob.sha256, bytes);
    return blob;
  }

  /** Writes everything held, in WRITE_ORDER, then the updates. */
  async flush(): Promise<void> {
    await putBlobBuffers(this.trx, this.blobs);
    this.blobs.clear();
    for (const table of WRITE_ORDER) {
      const conflict = IGNORE_CONFLICTS[table];
      for (const [columns, rows] of byColumns(this.inserts.get(table) ?? [])) {
        const list = columns.map((c) => `"${c}"`).join(', ');
        await this.trx.raw(
          `insert into ${table} (${list}) select ${list} from json_populate_recordset(null::${table}, ?)${conflict ? ` on conflict (${conflict.join(', ')}) do nothing` : ''}`,
          [JSON.stringify(rows)],
        );
      }
    }
    for (const [table, byId] of this.updates) await this.flushUpdates(table, byId);
    this.inserts.clear();
    this.held.clear();
    this.updates.clear();
  }

  /** One statement per set of changed columns: `update ... from json_populate_recordset(...)`. */
  private async flushUpdates(table: BatchTable, byId: Map<number, Row>): Promise<void> {
    for (const [columns, rows] of byColumns([...byId].map(([id, patch]) => ({ ...patch, id })))) {
      const set = columns
        .filter((c) => c !== 'id')
        .map((c) => `"${c}" = v."${c}"`)
        .join(', ');
      await this.trx.raw(`update ${table} as t set ${set} from json_populate_recordset(null::${table}, ?) as v where t.id = v.id`, [JSON.stringify(rows)]);
    }
  }
}

/**
 * Rows grouped by their columns, each group one statement: rows go to PostgreSQL as one
 * JSON parameter (json_populate_recordset types every value by its column, jsonb and
 * arrays included), far cheaper to build and send than a parameter per value.
 */
function byColumns(rows: Row[]): [string[], Row[]][] {
  const groups = new Map<string, [string[], Row[]]>();
  for (const row of rows) {
    const columns = Object.keys(row); // rows made alike list their keys in the same order
    const key = columns.join(',');
    const group = groups.get(key);
    if (group) group[1].push(row);
    else groups.set(key, [columns, [row]]);
  }
  return [...groups.values()];
}
