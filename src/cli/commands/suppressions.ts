/**
 * `helpdesk suppressions list [ADDRESS]` / `helpdesk suppressions clear ADDRESS`: the
 * suppression list from the shell (see services/suppressions).
 */
import { config } from '../../config';
import { formatDateTime } from '../../datetime';
import { openDatabase } from '../../db/open';
import { clearSuppressionOf, listSuppressions } from '../../services/suppressions/suppressions';
import { UsageError } from '../args';

const USAGE = 'usage: helpdesk suppressions list [ADDRESS] | helpdesk suppressions clear ADDRESS';

export async function suppressionsCommand(argv: string[]): Promise<number> {
  const [sub, address, ...rest] = argv;
  if (rest.length || (sub !== 'list' && sub !== 'clear') || (sub === 'clear' && !address)) throw new UsageError(USAGE);
  const database = await openDatabase(config());
  try {
    if (sub === 'clear') {
      const cleared = await clearSuppressionOf(address!);
      if (!cleared) {
        process.stderr.write(`helpdesk: ${address} is not suppressed\n`);
        return 1;
      }
      process.stdout.write(`cleared ${cleared.address} (${cleared.source}: ${cleared.reason})\n`);
      return 0;
    }
    for (let page = 1; ; page++) {
      const { rows, total } = await listSuppressions({ page: { page, per_page: 500 }, address });
      for (const s of rows) {
        const source = `inbound ${s.inbound_email_id ?? '-'}, outbound ${s.outbound_email_id ?? '-'}`;
        process.stdout.write(`${s.id}\t${s.address}\t${formatDateTime(s.created_at)}\t${s.source}\t${source}\t${s.reason}\n`);
      }
      if (page * 500 >= total) return 0;
    }
  } finally {
    await database.close();
  }
}
