/**
 * One mailbox's poller. It works the mailbox only while it holds the mailbox's advisory
 * lock in PostgreSQL, so with several `imap` processes each mailbox has one worker at a
 * time and another takes over within one poll interval when that process dies. It fetches
 * by UID above the stored cursor (never by \Seen), runs each message through the
 * pipeline, and only after the commit applies the after-import action and moves the
 * cursor: a crash at any moment loses nothing and duplicates nothing. It waits with IDLE
 * (re-checking every poll interval) and backs off with jitter when the server is down.
 */
import type { ImapFlow, SearchObject } from 'imapflow';
import { now } from '../../clock';
import { db } from '../../db/knex';
import { loopTurn } from '../../loopTurns';
import type { SessionLocks } from '../../db/sessionLocks';
import type { Logger } from '../../logger';
import { Mailbox } from '../../models/Mailbox';
import { MAX_ATTEMPTS, countFailure, failuresOf, ingestBatch, ingestOneByOne } from '../inbound/ingest';
import { type PreparedMessage, oversizeLimits, oversizeMessage, prepareMessage, unfetchableMessage } from '../inbound/prepare';
import { imapClient } from './connection';
import { donePrefixCounter, splitIntoLanes } from './lanes';
import { uidSets } from './uidSets';

export interface WorkerOptions {
  locks: SessionLocks;
  pollMs: number;
  backoffMaxMs: number;
  log: Logger;
  /** Largest number of messages and bytes fetched before they are processed. */
  batchMessages?: number;
  batchBytes?: number;
  /** Lanes of unrelated messages ingested at the same time (default 4). */
  lanes?: number;
}

const LOCK_CLASS = 727_003;

/** How long a stop waits for the server before closing the connection (imapflow's own socket timeout is 5 minutes). */
const STOP_GRACE_MS = 10_000;

/** Failed attempts counted per UID (ingest.ts, failuresOf). */
type Failures = Awaited<ReturnType<typeof failuresOf>>;

/** Whether the server failed to send a message MAX_ATTEMPTS times in a row: then it is not asked for again. */
const unfetchableIn = (failures: Failures) => (uid: number) => {
  const counted = failures.get(uid);
  return counted !== undefined && counted.stage === 'fetch' && counted.failures >= MAX_ATTEMPTS;
};

/** A batch's raw messages by UID, and their reading in the CPU pool (begun when they arrived). */
interface FetchedBatch {
  sources: Map<number, Buffer>;
  reads: Map<number, Promise<PreparedMessage>>;
  /** Messages the server would not send (held without their bytes, left on the server). */
  unfetchable: Set<number>;
}

/**
 * The UIDs a UID SEARCH finds. A server that refuses the search (NO, BAD: imapflow answers
 * false) fails the session, which backs off and asks again: read as "nothing found", it
 * would have ended a first import with every unseen message skipped, and no row for any.
 */
export async function uidsMatching(client: ImapFlow, query: SearchObject): Promise<number[]> {
  const found = await client.search(query, { uid: true });
  if (!Array.isArray(found)) throw new Error(`the server refused UID SEARCH ${JSON.stringify(query)}`);
  return found;
}

/** Backoff with full jitter: up to min(max, 1 s x 2^failures). */
export function backoffMs(failures: number, maxMs: number): number {
  return Math.round(Math.random() * Math.min(maxMs, 1000 * 2 ** Math.min(failures, 20)));
}

export class MailboxWorker {
  private stopped = false;
  private client?: ImapFlow;
  private wakeUp?: () => void;
  private pending = false;
  private running?: Promise<void>;

  constructor(
    readonly mailboxId: number,
    private readonly opts: WorkerOptions,
  ) {}

  start(): void {
    this.running ??= this.loop();
  }

  /**
   * Stops taking work, finishes the batch in flight and logs out; a server that does not
   * answer within STOP_GRACE_MS has its connection closed (what was not committed is
   * fetched again by the next session), so a stalled server cannot hold a shutdown.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    const closing = setTimeout(() => this.client?.close(), STOP_GRACE_MS);
    try {
      await this.running;
    } finally {
      clearTimeout(closing);
    }
  }

  /** Ends the current wait now, or the next one at once (new mail, stop, a broken link). */
  private wake(): void {
    this.pending = true;
    this.wakeUp?.();
  }

  private sleep(ms: number): Promise<void> {
    if (this.pending || this.stopped) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        this.pending = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  private async loop(): Promise<void> {
    const log = this.opts.log;
    let failures = 0;
    while (!this.stopped) {
      const locked = await this.opts.locks.tryLock(LOCK_CLASS, this.mailboxId).catch((e) => {
        log.warn({ err: e }, 'could not ask for the mailbox lock');
        return false;
      });
      if (!locked) {
        await this.sleep(this.opts.pollMs);
        continue;
      }
      try {
        await this.session();
        failures = 0;
      } catch (e) {
        if (this.stopped) {
          // the connection closed by stop(): not the mailbox's error
          await this.opts.locks.unlock(LOCK_CLASS, this.mailboxId);
          break;
        }
        failures++;
        const wait = backoffMs(failures, this.opts.backoffMaxMs);
        log.warn({ err: e, failures, retry_in_ms: wait }, 'mailbox session failed; backing off');
        await db()('mailboxes')
          .where({ id: this.mailboxId })
          .update({ last_error: String((e as Error).message ?? e).slice(0, 2000) })
          .catch(() => undefined);
        await this.opts.locks.unlock(LOCK_CLASS, this.mailboxId);
        await this.sleep(wait);
        continue;
      }
      await this.opts.locks.unlock(LOCK_CLASS, this.mailboxId);
    }
  }

  /** Throws when the mailbox lock was lost with its connection: another process may work it now. */
  private assertLocked(): void {
    if (!this.opts.locks.isHeld(LOCK_CLASS, this.mailboxId)) throw new Error('lost the mailbox lock');
  }

  /** One connection's life: open, catch up, then wait and drain until stopped or broken. */
  private async session(): Promise<void> {
    const mailbox = await Mailbox.query().findById(this.mailboxId);
    if (!mailbox || !mailbox.active) {
      await this.sleep(this.opts.pollMs);
      return;
    }
    const log = this.opts.log;
    const client = imapClient(mailbox, log);
    this.client = client;
    let broken: Error | undefined;
    client.on('error', (e: Error) => {
      broken = e;
      this.wake();
    });
    client.on('close', () => {
      broken ??= new Error('the IMAP connection closed');
      this.wake();
    });
    client.on('exists', () => this.wake());
    try {
      await client.connect();
      const box = await client.mailboxOpen(mailbox.imap_folder);
      await this.alignCursor(client, mailbox, Number(box.uidValidity), Number(box.uidNext));
      log.info({ folder: mailbox.imap_folder }, 'mailbox open');
      while (!this.stopped) {
        this.assertLocked();
        await this.drain(client, mailbox);
        if (broken) throw broken;
        if (this.stopped) break;
        const idling = client.idle().catch(() => undefined);
        await this.sleep(this.opts.pollMs);
        if (broken) throw broken;
        void idling;
      }
      await client.logout().catch(() => undefined);
    } finally {
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.close();
      this.client = undefined;
    }
  }

  /**
   * Sets the cursor for a new mailbox or a changed UIDVALIDITY, and runs (or resumes) the
   * first `unseen` import. The cursor only ever covers messages that are done: during that
   * import it stands just below the first unseen message not yet stored, and
   * `import_until` remembers where the import ends, so a failure or a stop part-way
   * resumes with the unseen messages that are left (never the mailbox's whole history,
   * never skipping any).
   */
  private async alignCursor(client: ImapFlow, mailbox: Mailbox, uidValidity: number, uidNext: number): Promise<void> {
    const log = this.opts.log;
    if (mailbox.uid_validity === uidValidity && mailbox.last_uid !== null) {
      if (mailbox.import_until === null) return;
      // a first import that was interrupted: resume it (or, if a stop came after its last batch, end it)
      if (mailbox.last_uid < mailbox.import_until) await this.importUnseen(client, mailbox, mailbox.import_until);
      else await this.saveCursor(mailbox, uidValidity, mailbox.last_uid, false, null);
      return;
    }
    if (mailbox.uid_validity !== null && mailbox.uid_validity !== uidValidity) {
      log.warn({ was: mailbox.uid_validity, now: uidValidity }, 'UIDVALIDITY changed: rescanning (stored messages are dropped as duplicates)');
      await this.saveCursor(mailbox, uidValidity, 0, true, null);
      return;
    }
    if (mailbox.import_existing === 'all') {
      await this.saveCursor(mailbox, uidValidity, 0, true);
      return;
    }
    if (mailbox.import_existing === 'unseen') {
      await this.saveCursor(mailbox, uidValidity, 0, true, uidNext - 1);
      await this.importUnseen(client, mailbox, uidNext - 1);
      return;
    }
    await this.saveCursor(mailbox, uidValidity, Math.max(0, uidNext - 1), true);
  }

  /** Imports the unseen messages up to `until`, the cursor following what is done. */
  private async importUnseen(client: ImapFlow, mailbox: Mailbox, until: number): Promise<void> {
    const from = (mailbox.last_uid ?? 0) + 1;
    const unseen =
      from <= until ? (await uidsMatching(client, { seen: false, uid: `${from}:${until}` })).filter((u) => u >= from && u <= until).sort((a, b) => a - b) : [];
    // everything below the first unseen message not yet done is done (read, or imported)
    const doneCount = donePrefixCounter(unseen);
    await this.process(client, mailbox, unseen, (done) => {
      const n = doneCount(done);
      return n < unseen.length ? unseen[n]! - 1 : until;
    });
    if (!this.stopped && unseen.every((u) => u <= (mailbox.last_uid ?? 0))) await this.saveCursor(mailbox, mailbox.uid_validity!, until, false, null);
  }

  /** Moves the cursor up to `lastUid` (or sets it, with `reset`); `importUntil` sets or ends a first import. */
  private async saveCursor(mailbox: Mailbox, uidValidity: number, lastUid: number, reset: boolean, importUntil?: number | null): Promise<void> {
    const q = db()('mailboxes').where({ id: mailbox.id });
    if (!reset) q.where((w) => w.whereNull('last_uid').orWhere('last_uid', '<=', lastUid));
    const patch = {
      uid_validity: uidValidity,
      last_uid: lastUid,
      last_error: null,
      updated_at: now(),
      ...(importUntil !== undefined ? { import_until: importUntil } : {}),
    };
    await q.update(patch);
    // failed attempts counted for messages now behind the cursor (or, on a reset, for UIDs of another UIDVALIDITY) are done with
    const attempts = db()('inbound_attempts').where({ mailbox_id: mailbox.id });
    await (reset ? attempts : attempts.where('imap_uid', '<=', lastUid)).delete();
    mailbox.uid_validity = uidValidity;
    mailbox.last_uid = reset ? lastUid : Math.max(mailbox.last_uid ?? 0, lastUid);
    if (importUntil !== undefined) mailbox.import_until = importUntil;
  }

  /** Everything above the cursor, in UID order. */
  private async drain(client: ImapFlow, mailbox: Mailbox): Promise<void> {
    const last = mailbox.last_uid ?? 0;
    const found = await uidsMatching(client, { uid: `${last + 1}:*` });
    const uids = found.filter((u) => u > last).sort((a, b) => a - b);
    const doneCount = donePrefixCounter(uids);
    // the cursor moves over the UIDs done from the start
    if (uids.length) await this.process(client, mailbox, uids, (done) => uids[doneCount(done) - 1]);
    await db()('mailboxes').where({ id: mailbox.id }).update({ last_polled_at: now() });
  }

  /**
   * Fetches, ingests and acts on `uids` in batches; after each, moves the cursor to
   * `cursorAfter(every UID done so far)` (undefined: not yet). The next batch is fetched
   * while the current one is ingested.
   */
  private async process(client: ImapFlow, mailbox: Mailbox, uids: number[], cursorAfter: (done: Set<number>) => number | undefined): Promise<void> {
    if (uids.length === 0) return;
    const maxMessages = this.opts.batchMessages ?? 400;
    const maxBytes = this.opts.batchBytes ?? 32 * 1024 * 1024;
    // imapflow parses the next response only when the loop asks for it, and responses it
    // already holds settle at once: without turns, thousands of them hold the event loop in one go
    const sizes = new Map<number, number>();
    const failures = await failuresOf(mailbox.id);
    const unfetchable = unfetchableIn(failures);
    const asked = uids.filter((uid) => !unfetchable(uid));
    try {
      for (const set of uidSets(asked)) {
        for await (const m of client.fetch(set, { uid: true, size: true }, { uid: true })) {
          sizes.set(m.uid, m.size ?? 0);
          await loopTurn();
        }
      }
    } catch (e) {
      await this.countFetchFailure(mailbox, asked, (uid) => sizes.has(uid), e);
      throw e;
    }
    const batches: number[][] = [];
    for (let i = 0; i < uids.length;) {
      const batch: number[] = [];
      let bytes = 0;
      while (i < uids.length && batch.length < maxMessages && (batch.length === 0 || bytes + (sizes.get(uids[i]!) ?? 0) <= maxBytes)) {
        bytes += sizes.get(uids[i]!) ?? 0;
        batch.push(uids[i++]!);
      }
      batches.push(batch);
    }
    // a batch is fetched, and handed to the CPU pool to be read, while the one before it is
    // in the database: the pool and the database work at the same time
    const fetchAndRead = (batch: number[]) => this.fetchBatch(client, mailbox, batch, sizes, failures);
    const prefetch = (i: number) => {
      const p = i < batches.length ? fetchAndRead(batches[i]!) : undefined;
      p?.catch(() => undefined); // awaited (and thrown) in its turn
      return p;
    };
    let next = prefetch(0);
    const doneSoFar = new Set<number>();
    try {
      for (let i = 0; i < batches.length && !this.stopped; i++) {
        const fetched = await next!;
        next = prefetch(i + 1);
        this.assertLocked();
        const batch = batches[i]!;
        const done = await this.ingestBatch(mailbox, batch, fetched);
        // a message the server would not send is left there as it is
        const imported = done.filter((uid) => !fetched.unfetchable.has(uid));
        await this.afterImport(client, mailbox, imported);
        for (const uid of done) doneSoFar.add(uid);
        const cursor = cursorAfter(doneSoFar);
        if (cursor !== undefined && cursor > (mailbox.last_uid ?? 0)) await this.saveCursor(mailbox, mailbox.uid_validity!, cursor, false);
      }
    } finally {
      // a batch read ahead and not ingested (a stop, an error) is left for the next session;
      // its reads end on their own (their rejections are caught where they were made)
      await next?.catch(() => undefined);
    }
  }

  /**
   * A FETCH of `asked` (in UID order, as servers answer) failed part-way: counts a failed
   * attempt for the first message it did not answer for, after the last it did. A
   * message the server cannot send fails every FETCH that names it, at the same place.
   */
  private async countFetchFailure(mailbox: Mailbox, asked: number[], answered: (uid: number) => boolean, e: unknown): Promise<void> {
    const last = asked.reduce((max, uid) => (answered(uid) && uid > max ? uid : max), 0);
    const suspect = asked.find((uid) => uid > last && !answered(uid));
    if (suspect === undefined) return;
    await countFailure(db(), mailbox.id, suspect, e, 'fetch').catch((again) =>
      this.opts.log.warn({ err: again, uid: suspect }, 'could not count a failed FETCH'),
    );
  }

  /**
   * Fetches a batch's messages and hands them to the CPU pool. A message over
   * INBOUND_MAX_BYTES is fetched only by its start. A FETCH that fails part-way counts a
   * failed attempt for the first message the server did not send (it sends them in UID
   * order) and throws: the session backs off and tries again. A message that has failed
   * MAX_ATTEMPTS times in a row is not asked for again: it is held without its bytes
   * (unfetchableMessage), and the mailbox moves on past it.
   */
  private async fetchBatch(client: ImapFlow, mailbox: Mailbox, batch: number[], sizes: Map<number, number>, failures: Failures): Promise<FetchedBatch> {
    const { maxBytes: limit, keepBytes } = oversizeLimits();
    const unfetchable = new Set(batch.filter(unfetchableIn(failures)));
    const over = new Set(batch.filter((uid) => !unfetchable.has(uid) && (sizes.get(uid) ?? 0) > limit));
    const whole = batch.filter((uid) => !unfetchable.has(uid) && !over.has(uid));
    const sources = new Map<number, Buffer>();
    let asking: number[] = whole;
    try {
      for (const set of uidSets(whole)) {
        for await (const m of client.fetch(set, { uid: true, source: true }, { uid: true })) {
          if (m.source) sources.set(m.uid, m.source);
          await loopTurn();
        }
      }
      // a message over the limit is held without being read: only its start is fetched
      for (const uid of over) {
        asking = [uid];
        const m = await client.fetchOne(String(uid), { uid: true, source: { start: 0, maxLength: keepBytes } }, { uid: true });
        if (m && m.source) sources.set(uid, m.source);
      }
    } catch (e) {
      await this.countFetchFailure(mailbox, asking, (uid) => sources.has(uid), e);
      throw e;
    }
    const reads = new Map<number, Promise<PreparedMessage>>();
    for (const uid of unfetchable) {
      sources.set(uid, Buffer.alloc(0));
      const at = { uid, uidValidity: mailbox.uid_validity!, size: sizes.get(uid) ?? 0 };
      reads.set(uid, Promise.resolve(unfetchableMessage(mailbox, at, failures.get(uid)!.failures, failures.get(uid)!.lastError, this.opts.log)));
    }
    for (const [uid, raw] of sources) {
      if (unfetchable.has(uid)) continue;
      // the size the server gave is not trusted: bytes over the limit are held by their start too
      const cut = over.has(uid) || raw.length > limit;
      const read = cut
        ? Promise.resolve(oversizeMessage(mailbox, raw, Math.max(raw.length, sizes.get(uid) ?? 0), uid, this.opts.log))
        : prepareMessage(mailbox, raw, uid, this.opts.log);
      read.catch(() => undefined); // awaited (and thrown) in its turn
      reads.set(uid, read);
      await loopTurn();
    }
    return { sources, reads, unfetchable };
  }

  /**
   * A batch is split into lanes of unrelated messages (see lanes.ts). Each lane is parsed,
   * then ingested in one transaction whose rows are written together (see ingestBatch)
   * while the next lane is parsed. If a lane fails (a message breaks a rule nobody
   * expected, or the lane clashes with another), it is rolled back and redone message by
   * message, so that message is recorded as failed and the others still land. Returns the
   * UIDs stored.
   */
  private async ingestBatch(mailbox: Mailbox, batch: number[], { sources, reads }: FetchedBatch): Promise<number[]> {
    const stop = () => this.stopped;
    const runLane = async (lane: number[], messages: PreparedMessage[], oneByOne: boolean): Promise<number[]> => {
      const results = oneByOne
        ? await ingestOneByOne(db(), mailbox, messages, { stop })
        : await db().transaction((trx) => ingestBatch(trx, mailbox, messages, { stop }));
      const stored = new Set(messages.slice(0, results.length).map((m) => m.uid!));
      // an expunged message (no source) is done too
      return lane.filter((uid) => stored.has(uid) || !sources.has(uid));
    };
    const lanes = (await splitIntoLanes(batch, sources, this.opts.lanes ?? 4)).map((uids) => ({ uids, messages: [] as PreparedMessage[] }));
    // settled as they end (a lane failing while the next is parsed is no unhandled rejection)
    const runs: Promise<PromiseSettledResult<number[]>>[] = [];
    // each lane goes to the database as soon as its own messages are read
    for (const lane of lanes) {
      lane.messages.push(...(await Promise.all(lane.uids.flatMap((uid) => reads.get(uid) ?? []))));
      runs.push(
        runLane(lane.uids, lane.messages, false).then(
          (value) => ({ status: 'fulfilled', value }),
          (reason: unknown) => ({ status: 'rejected', reason }),
        ),
      );
    }
    const done = new Set<number>();
    for (const [i, result] of (await Promise.all(runs)).entries()) {
      if (result.status === 'fulfilled') {
        for (const uid of result.value) done.add(uid);
        continue;
      }
      this.opts.log.warn({ err: result.reason }, 'a lane failed; redoing it message by message');
      for (const uid of await runLane(lanes[i]!.uids, lanes[i]!.messages, true)) done.add(uid);
    }
    return batch.filter((uid) => done.has(uid));
  }

  private async afterImport(client: ImapFlow, mailbox: Mailbox, uids: number[]): Promise<void> {
    if (uids.length === 0) return;
    if (mailbox.after_import === 'move' && mailbox.move_to) await client.mailboxCreate(mailbox.move_to).catch(() => undefined);
    for (const range of uidSets(uids)) {
      if (mailbox.after_import === 'move' && mailbox.move_to) await client.messageMove(range, mailbox.move_to, { uid: true });
      else if (mailbox.after_import === 'delete') await client.messageDelete(range, { uid: true });
      // silent: the server does not answer with a FETCH per message (400 of them, parsed in one go)
      else await client.messageFlagsAdd(range, ['\\Seen'], { uid: true, silent: true });
    }
  }
}
