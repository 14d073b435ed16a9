/**
 * A refused UID SEARCH fails the mailbox session (uidsMatching in mailboxWorker.ts):
 * imapflow answers a NO or BAD with `false`, which read as "nothing found" had ended a
 * first import with every unseen message skipped. The client here is a stand-in with only
 * `search`: no IMAP server refuses a well-formed SEARCH on demand.
 */
import type { ImapFlow } from 'imapflow';
import { uidsMatching } from '../../../src/mail/imap/mailboxWorker';

const answering = (answer: unknown) => ({ search: async () => answer }) as unknown as ImapFlow;

describe('uidsMatching', () => {
  it('gives the UIDs found', async () => {
    expect(await uidsMatching(answering([4, 9]), { seen: false })).toEqual([4, 9]);
    expect(await uidsMatching(answering([]), { seen: false })).toEqual([]);
  });

  it('throws, naming the search, when the server refuses it', async () => {
    await expect(uidsMatching(answering(false), { uid: '5:*' })).rejects.toThrow('the server refused UID SEARCH {"uid":"5:*"}');
  });
});
